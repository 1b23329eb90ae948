/* cmd-events.c: events: the change log, or with --follow a live stream that survives restarts. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "event-type.h"

#define TSINVCTL_FOLLOW_MAX_LINE ((size_t)16 << 20) /* one event of a follow stream */

/* One event as the cells of a row: SEQ TIME TAILNET TYPE ENTITY ACTOR CHANGE. */
struct cmd_events_evrow {
	char seq[24];
	char time[TSINVCTL_TIMELEN];
	const char *tailnet, *type;
	char *entity; /* malloc'd */
	char *actor;  /* malloc'd, or NULL: who made the change, when the event says */
	char *change; /* malloc'd, or NULL */
};

/* A device's first label; a user's or key's name whole (malloc'd, or NULL). */
static char *
cmd_events_ev_name(json_t *o, const char *kind)
{
	const char *s = show_str(o, "name");

	if (s == NULL || *s == '\0')
		return NULL;
	if (kind != NULL && strcmp(kind, "device") == 0)
		return show_shortname(o);
	return xstrdup(s);
}

/* "old → new", or NULL when neither is known. */
static char *
cmd_events_ev_pair(const char *before, const char *after)
{
	if (before == NULL && after == NULL)
		return NULL;
	return xasprintf("%s \u2192 %s", before != NULL && *before != '\0' ? before : "-",
	                 after != NULL && *after != '\0' ? after : "-");
}

static char *
cmd_events_change_renamed(json_t *ev)
{
	json_t *b = json_object_get(ev, "before"), *a = json_object_get(ev, "after");
	char *bn = cmd_events_ev_name(b, "device"), *an = cmd_events_ev_name(a, "device"), *s;

	/* A hostname-only change keeps the name: show what moved. */
	if (bn != NULL && an != NULL && strcmp(bn, an) == 0)
		s = cmd_events_ev_pair(show_str(b, "hostname"), show_str(a, "hostname"));
	else
		s = cmd_events_ev_pair(bn, an);
	free(bn);
	free(an);
	return s;
}

static char *
cmd_events_change_address(json_t *ev)
{
	const char *addr = show_str(ev, "address");

	return addr != NULL ? xstrdup(addr) : NULL;
}

static char *
cmd_events_change_tags(json_t *ev)
{
	char *b = show_join(json_object_get(json_object_get(ev, "before"), "tags"), ",");
	char *a = show_join(json_object_get(json_object_get(ev, "after"), "tags"), ",");
	char *s = xasprintf("%s \u2192 %s", b != NULL ? b : "none", a != NULL ? a : "none");

	free(b);
	free(a);
	return s;
}

static char *
cmd_events_change_expiry(json_t *ev)
{
	const char *exp = show_str(ev, "expires"), *within = show_str(ev, "threshold");
	char t[TSINVCTL_TIMELEN];

	if (exp == NULL)
		return NULL;
	show_time(exp, t, sizeof t);
	return within != NULL ? xasprintf("expires %s (within %s)", t, within)
	                      : xasprintf("expired %s", t);
}

static char *
cmd_events_change_baseline(json_t *ev)
{
	double n;

	return show_num(ev, "devices", &n) == 0 ? xasprintf("%.0f devices", n) : NULL;
}

/* Any other change: "field: old -> new" for each changed field the event carries both sides
 * of (role, authorized, a setting, ...); NULL when it carries none (then the field names). A
 * creation's or deletion's whole entity is not a change of values. */
static char *
cmd_events_change_values(json_t *ev)
{
	json_t *b = json_object_get(ev, "before"), *a = json_object_get(ev, "after"), *f;
	const char *type = show_str(ev, "type"), *k;
	struct sbuf sb;
	size_t i, n;

	if (type == NULL || (!json_is_object(b) && !json_is_object(a)))
		return NULL;
	n = strlen(type);
	if ((n > 8 && strcmp(type + n - 8, ".created") == 0) ||
	    (n > 8 && strcmp(type + n - 8, ".deleted") == 0))
		return NULL;
	sbuf_init(&sb);
	sbuf_adds(&sb, "");
	json_array_foreach(json_object_get(ev, "changed"), i, f)
	{
		char *o, *nw;

		if ((k = json_string_value(f)) == NULL ||
		    (json_object_get(b, k) == NULL && json_object_get(a, k) == NULL))
			continue;
		o = show_cell_json(json_object_get(b, k));
		nw = show_cell_json(json_object_get(a, k));
		sbuf_addf(&sb, "%s%s: %s \u2192 %s", sb.len ? "; " : "", k, o ? o : "-",
		          nw ? nw : "-");
		free(o);
		free(nw);
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

/* What the CHANGE column shows, by event type; any other type lists the changed fields. */
static const struct {
	const char *type;
	char *(*fn)(json_t *ev);
} cmd_events_changes[] = {
    {"device.renamed", cmd_events_change_renamed},
    {"device.address.added", cmd_events_change_address},
    {"device.address.removed", cmd_events_change_address},
    {"device.tags.changed", cmd_events_change_tags},
    {"device.key.expiring", cmd_events_change_expiry},
    {"device.key.expired", cmd_events_change_expiry},
    {"tailnet.baseline", cmd_events_change_baseline},
};

static void
cmd_events_evrow(json_t *ev, struct cmd_events_evrow *r)
{
	json_t *entity = json_object_get(ev, "entity");
	const char *id = show_str(entity, "id");
	double seq;
	size_t i;

	snprintf(r->seq, sizeof r->seq, "-");
	if (show_num(ev, "seq", &seq) == 0)
		snprintf(r->seq, sizeof r->seq, "%.0f", seq);
	show_time(show_str(ev, "time"), r->time, sizeof r->time);
	r->tailnet = show_str(ev, "tailnet");
	r->type = show_str(ev, "type");
	r->entity = cmd_events_ev_name(entity, show_str(entity, "kind"));
	if (r->entity == NULL)
		r->entity = xstrdup(id != NULL ? id : "-");
	r->actor = cmd_audit_attribution(json_object_get(ev, "attribution"));
	r->change = NULL;
	for (i = 0; i < sizeof cmd_events_changes / sizeof cmd_events_changes[0]; i++)
		if (r->type != NULL && strcmp(r->type, cmd_events_changes[i].type) == 0)
			r->change = cmd_events_changes[i].fn(ev);
	if (r->change == NULL)
		r->change = cmd_events_change_values(ev);
	if (r->change == NULL)
		r->change = show_join(json_object_get(ev, "changed"), ",");
}

static void
cmd_events_evrow_free(struct cmd_events_evrow *r)
{
	free(r->entity);
	free(r->actor);
	free(r->change);
}

static int
cmd_events_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"SEQ",    "TIME",  "TAILNET", "TYPE",
	                                  "ENTITY", "ACTOR", "CHANGE"};
	struct table *t = table_new(7, hdr);
	struct cmd_events_evrow r;
	json_t *ev;
	size_t i;
	double next;

	json_array_foreach(json_object_get(res, "events"), i, ev)
	{
		cmd_events_evrow(ev, &r);
		table_add_row(t, r.seq, r.time, r.tailnet, r.type, r.entity, r.actor, r.change);
		cmd_events_evrow_free(&r);
	}
	if (table_nrows(t) > 0 || table_format != TABLE_TEXT)
		table_print(t, stdout);
	else
		puts("no events");
	table_free(t);
	if (json_is_true(json_object_get(res, "more")) && show_num(res, "next", &next) == 0)
		fprintf(show_notes(), "\nmore: tsinvctl events --since %.0f\n", next);
	return 0;
}

/* The arguments of events.list and events.follow (a new reference), or NULL after a usage
 * error (*RC set). */
static json_t *
cmd_events_args(const struct cmd_entry *cmd, const struct cmd_args *a, int *rc)
{
	json_t *args = json_object();

	if (a->since != NULL)
		json_object_set(args, "since", a->since);
	if (a->until != NULL)
		json_object_set_new(args, "until", json_string(a->until));
	if (a->types != NULL && (*rc = conn_arg_str(cmd, args, "type", a->types)) != 0) {
		json_decref(args);
		return NULL;
	}
	if (a->limit > 0)
		json_object_set_new(args, "limit", json_integer(a->limit));
	return args;
}

static volatile sig_atomic_t cmd_events_stopped;

static void
cmd_events_stop_handler(int sig)
{
	cmd_events_stopped = 1;
}

/* A line reader over the stream of events.follow. */
struct cmd_events_lines {
	char *buf;
	size_t len, cap, skip; /* skip: the line handed out last, dropped on the next call */
};

enum { TSINVCTL_LINE_OK, TSINVCTL_LINE_EOF, TSINVCTL_LINE_STOP, TSINVCTL_LINE_ERROR };

/* The next line (without its newline, valid until the next call); waits until DEADLINE (0: for
 * ever), or until SIGINT/SIGTERM. */
static int
cmd_events_lines_next(struct cmd_events_lines *lr, int fd, int64_t deadline, char **line,
                      size_t *len)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int64_t left;
	char *nl;
	ssize_t n;
	int ms;

	if (lr->skip > 0) {
		memmove(lr->buf, lr->buf + lr->skip, lr->len - lr->skip);
		lr->len -= lr->skip;
		lr->skip = 0;
	}
	for (;;) {
		if (lr->len > 0 && (nl = memchr(lr->buf, '\n', lr->len)) != NULL) {
			*line = lr->buf;
			*len = (size_t)(nl - lr->buf);
			lr->skip = *len + 1;
			return TSINVCTL_LINE_OK;
		}
		if (cmd_events_stopped)
			return TSINVCTL_LINE_STOP;
		if (lr->len == lr->cap) {
			if (lr->cap >= TSINVCTL_FOLLOW_MAX_LINE) {
				fprintf(stderr, "tsinvctl: an event longer than %zu MiB\n",
				        TSINVCTL_FOLLOW_MAX_LINE >> 20);
				return TSINVCTL_LINE_ERROR;
			}
			lr->cap = lr->cap == 0 ? 65536 : lr->cap * 2;
			lr->buf = xrealloc(lr->buf, lr->cap);
		}
		n = recv(fd, lr->buf + lr->len, lr->cap - lr->len, 0);
		if (n > 0) {
			lr->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return TSINVCTL_LINE_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return TSINVCTL_LINE_EOF; /* ECONNRESET: the daemon went away */
		ms = -1;
		if (deadline != 0) {
			if ((left = deadline - conn_mono()) <= 0) {
				conn_timed_out(client_opts.timeout ? client_opts.timeout
				                                   : TSINVCTL_TIMEOUT);
				return TSINVCTL_LINE_ERROR;
			}
			ms = (int)((left + 999) / 1000);
		}
		if (poll(&pfd, 1, ms) == -1 && errno != EINTR)
			return TSINVCTL_LINE_EOF;
	}
}

/* One streamed event: printed unless seen already (a resumed stream starts after *LAST). */
static void
cmd_events_follow_event(const char *line, size_t len, uint64_t *last)
{
	struct cmd_events_evrow r;
	json_t *ev = json_loadb(line, len, 0, NULL), *seq = json_object_get(ev, "seq");
	char *cells[7];
	size_t i;

	if (!json_is_integer(seq)) {
		conn_bad_reply("a streamed line is not an event");
		json_decref(ev);
		return;
	}
	if ((uint64_t)json_integer_value(seq) <= *last) {
		json_decref(ev);
		return;
	}
	*last = (uint64_t)json_integer_value(seq);
	if (client_opts.json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		cmd_events_evrow(ev, &r);
		cells[0] = table_clean(r.seq);
		cells[1] = table_clean(r.time);
		cells[2] = table_clean(r.tailnet != NULL ? r.tailnet : "-");
		cells[3] = table_clean(r.type != NULL ? r.type : "-");
		cells[4] = table_clean(r.entity);
		cells[5] = table_clean(r.actor != NULL ? r.actor : "-");
		cells[6] = table_clean(r.change != NULL ? r.change : "-");
		printf("%-6s  %-20s  %-10s  %-26s  %-20s  %-20s  %s\n", cells[0], cells[1],
		       cells[2], cells[3], cells[4], cells[5], cells[6]);
		for (i = 0; i < 7; i++)
			free(cells[i]);
		cmd_events_evrow_free(&r);
	}
	fflush(stdout);
	json_decref(ev);
}

/* One connection of a follow: the request, its reply, then events until the stream ends.
 * *LAST is the last seq printed (or the daemon's starting point); *STARTED says whether a
 * stream was ever opened. Returns an exit code, or -1 when the connection ended and the caller
 * should reconnect. */
static int
cmd_events_follow_once(json_t *args, uint64_t *last, int *started)
{
	int64_t timeout = client_opts.timeout != 0 ? client_opts.timeout : TSINVCTL_TIMEOUT;
	struct cmd_events_lines lr = {0};
	json_t *req, *result = NULL, *since;
	char *text, *line;
	size_t len;
	int fd, rc;

	if (*started)
		json_object_set_new(args, "since", json_integer((json_int_t)*last));
	req = json_pack("{s:i, s:s, s:O}", "id", TSINVCTL_REQ_ID, "op",
	                proto_ops[PROTO_OP_events_follow].name, "args", args);
	if (req == NULL || (text = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("cannot build the request");
	json_decref(req);
	len = strlen(text);
	text[len++] = '\n';
	if ((rc = conn_connect(timeout, &fd)) != 0) {
		free(text);
		return *started ? -1 : rc;
	}
	rc = conn_send(fd, text, len, conn_mono() + timeout, timeout);
	free(text);
	if (rc == 0) {
		rc = cmd_events_lines_next(&lr, fd, conn_mono() + timeout, &line, &len);
		if (rc == TSINVCTL_LINE_OK)
			rc = conn_reply(line, len, &result);
		else if (rc == TSINVCTL_LINE_STOP)
			rc = TSINVCTL_EXIT_OK;
		else if (rc == TSINVCTL_LINE_EOF)
			rc = *started ? -1 : TSINVCTL_EXIT_UNREACHABLE;
		else
			rc = TSINVCTL_EXIT_UNREACHABLE;
	} else if (*started)
		rc = -1;
	if (result != NULL) {
		since = json_object_get(result, "since");
		if (!*started && json_is_integer(since) && json_integer_value(since) >= 0)
			*last = (uint64_t)json_integer_value(since);
		*started = 1;
		json_decref(result);
		/* The stream: until the daemon goes, or a signal. */
		while ((rc = cmd_events_lines_next(&lr, fd, 0, &line, &len)) == TSINVCTL_LINE_OK)
			cmd_events_follow_event(line, len, last);
		rc = rc == TSINVCTL_LINE_STOP    ? TSINVCTL_EXIT_OK
		     : rc == TSINVCTL_LINE_ERROR ? TSINVCTL_EXIT_ERROR
		                                 : -1;
	}
	free(lr.buf);
	close(fd);
	return rc;
}

/* events --follow: streams, and reconnects every second while the daemon is away, resuming
 * after the last event printed so that nothing is skipped or repeated. SIGINT and SIGTERM end
 * it with status 0. */
static int
cmd_events_follow(json_t *args)
{
	struct sigaction sa = {.sa_handler = cmd_events_stop_handler};
	struct timespec ts = {1, 0};
	uint64_t last = 0;
	int started = 0, noted = 0, rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll() must return */
	sigaction(SIGTERM, &sa, NULL);
	while ((rc = cmd_events_follow_once(args, &last, &started)) == -1) {
		if (!noted) {
			fprintf(stderr,
			        "tsinvctl: the daemon went away after event %llu; reconnecting "
			        "every second\n",
			        (unsigned long long)last);
			noted = 1;
		}
		conn_reconnecting = 1;
		while (!cmd_events_stopped && nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		ts.tv_sec = 1;
		ts.tv_nsec = 0;
		if (cmd_events_stopped) {
			rc = TSINVCTL_EXIT_OK;
			break;
		}
	}
	json_decref(args);
	return rc;
}

/* events with --tag, --user or --os: the page the daemon sends, keeping the events of devices
 * that match as they are now (a deleted one as its creation or deletion event shows it), and
 * with --user the user's own events. "more" and "next" still page through the log. */
static int
cmd_events_filtered(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args)
{
	json_t *devices, *result, *keep, *ev, *ent, *dev;
	char *key;
	size_t i;
	int rc;

	if ((rc = cmd_devices_map(NULL, &devices)) != 0) {
		json_decref(args);
		return rc;
	}
	if ((rc = conn_fetch(cmd, a, args, &result)) != 0) {
		json_decref(devices);
		return rc;
	}
	keep = json_array();
	json_array_foreach(json_object_get(result, "events"), i, ev)
	{
		ent = json_object_get(ev, "entity");
		key = xasprintf("%s\t%s", show_str(ev, "tailnet") ?: "", show_str(ent, "id") ?: "");
		dev = json_object_get(devices, key);
		free(key);
		if (dev == NULL)
			dev = json_is_object(json_object_get(ev, "after")) &&
			              show_is(ev, "type", "device.created")
			          ? json_object_get(ev, "after")
			      : show_is(ev, "type", "device.deleted")
			          ? json_object_get(ev, "before")
			          : NULL;
		if (show_str(ent, "kind") != NULL &&
		    cmd_entity_wanted(show_str(ent, "kind"), show_str(ent, "name"), dev, a))
			json_array_append(keep, ev);
	}
	json_object_set_new(result, "events", keep);
	if (client_opts.json)
		show_print_json(result);
	else
		rc = cmd_events_show(result, a);
	json_decref(result);
	json_decref(devices);
	return rc;
}

static int
cmd_events_exec(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	json_t *args;
	int rc = 0;

	if (a->follow && (a->tag != NULL || a->user != NULL || a->os != NULL))
		return tsinvctl_usage_error(cmd,
		                            "events: --tag, --user and --os list recorded events; "
		                            "not with --follow");
	if ((args = cmd_events_args(cmd, a, &rc)) == NULL)
		return rc;
	if (!a->follow && (a->tag != NULL || a->user != NULL || a->os != NULL))
		return cmd_events_filtered(cmd, a, args);
	if (!a->follow)
		return conn_query(cmd, a, args, cmd_events_show, NULL);
	if (client_opts.tailnet != NULL &&
	    (rc = conn_arg_str(cmd, args, "tailnet", client_opts.tailnet)) != 0) {
		json_decref(args);
		return rc;
	}
	return cmd_events_follow(args);
}

/* The event types, from the table the daemon records them by. */
void
cmd_events_print_types(FILE *f)
{
	int w = 0;
	size_t i;

	for (i = 0; i < event_ntypes; i++)
		if ((int)strlen(event_types[i].name) > w)
			w = (int)strlen(event_types[i].name);
	fputs("\nevent types (a type marked * is only matched by its full name):\n", f);
	for (i = 0; i < event_ntypes; i++)
		fprintf(f, "  %-*s %c %s\n", w, event_types[i].name, event_types[i].off ? '*' : ' ',
		        event_types[i].trigger);
}

void
cmd_events_type_words(struct sbuf *sb)
{
	size_t i;

	for (i = 0; i < event_ntypes; i++)
		sbuf_addf(sb, "%s%s", i > 0 ? " " : "", event_types[i].name);
}

const struct cmd_entry cmd_events_entry = {
    .name = "events",
    .op = PROTO_OP_events_list,
    .flags = CMD_F_FOLLOW | CMD_F_LIST | CMD_F_FILTER,
    .help = "recorded change events, oldest first; with --follow, new ones as they happen",
    .exec = cmd_events_exec,
};
