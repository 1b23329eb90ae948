/* conn.c: the connection to tsinvd: connect, send one request, read one reply line, within a
 * timeout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define TSINVCTL_MAX_REPLY ((size_t)1 << 30) /* 100k devices make 60 to 100 MB */

/* A follow reconnecting every second says so once, not at each failed connect. */
int conn_reconnecting;

/* The error code a failure without a daemon's own code is given, by exit status. */
static const char *
conn_status_code(int status)
{
	switch (status) {
	case TSINVCTL_EXIT_USAGE:
		return "usage";
	case TSINVCTL_EXIT_UNREACHABLE:
		return "unreachable";
	case TSINVCTL_EXIT_NOT_FOUND:
		return PROTO_E_NOT_FOUND;
	default:
		return "error";
	}
}

/* With --json a script reads stdout: a failure is said there too, as
 * {"error":{"code","message","status"}}, never as an empty answer. */
void
conn_json_error(int status, const char *code, const char *msg)
{
	json_t *o;

	if (!client_opts.json)
		return;
	o = json_pack("{s:{s:s, s:s, s:i}}", "error", "code",
	              code != NULL ? code : conn_status_code(status), "message", msg, "status",
	              status);
	if (o == NULL)
		fatalx("cannot build the error object");
	show_print_json(o);
	json_decref(o);
}

int
conn_fail(int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "tsinvctl: %s\n", msg);
	conn_json_error(status, code, msg);
	free(msg);
	return status;
}

int64_t
conn_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * TSTIME_SEC + ts.tv_nsec / 1000;
}

/* Waits until FD is ready for EVENTS or the deadline passes: 0 ready, -1 timed out. */
static int
conn_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int64_t left;
	int n;

	for (;;) {
		left = deadline - conn_mono();
		if (left <= 0)
			return -1;
		left = (left + 999) / 1000;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0; /* also POLLHUP and POLLERR: the next read or write says what */
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

int
conn_connect(int64_t timeout, int *fdp)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv;
	char d[32];
	int fd;

	if (strlen(client_opts.socket) >= sizeof sun.sun_path) {
		return conn_fail(TSINVCTL_EXIT_USAGE, NULL, "socket path too long: %s",
		                 client_opts.socket);
	}
	strcpy(sun.sun_path, client_opts.socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		return conn_fail(TSINVCTL_EXIT_UNREACHABLE, NULL, "socket: %s", strerror(errno));
	}
	/* connect() waits while the daemon's backlog is full; SO_SNDTIMEO bounds that wait. */
	tv.tv_sec = (time_t)(timeout / TSTIME_SEC);
	tv.tv_usec = (suseconds_t)(timeout % TSTIME_SEC);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (conn_reconnecting)
			; /* quiet */
		else if (errno == EAGAIN || errno == EINPROGRESS)
			conn_fail(
			    TSINVCTL_EXIT_UNREACHABLE, NULL,
			    "%s: the daemon did not accept the connection within %s (busy? see "
			    "--timeout)",
			    client_opts.socket, show_duration(timeout, d, sizeof d));
		else
			conn_fail(TSINVCTL_EXIT_UNREACHABLE, NULL, "cannot connect to %s: %s (%s)",
			          client_opts.socket, strerror(errno),
			          errno == EACCES ? "is this user in the socket's group?"
			                          : "is tsinvd running? another socket: -s PATH or "
			                            "TSINV_SOCKET");
		close(fd);
		return TSINVCTL_EXIT_UNREACHABLE;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		conn_fail(TSINVCTL_EXIT_UNREACHABLE, NULL, "fcntl: %s", strerror(errno));
		close(fd);
		return TSINVCTL_EXIT_UNREACHABLE;
	}
	*fdp = fd;
	return 0;
}

int
conn_timed_out(int64_t timeout)
{
	char d[32];

	return conn_fail(TSINVCTL_EXIT_UNREACHABLE, "timeout",
	                 "no reply from %s within %s (see "
	                 "--timeout)",
	                 client_opts.socket, show_duration(timeout, d, sizeof d));
}

int
conn_send(int fd, const char *buf, size_t len, int64_t deadline, int64_t timeout)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (conn_wait(fd, POLLOUT, deadline) != 0)
				return conn_timed_out(timeout);
		} else if (n == -1 && errno != EINTR) {
			return conn_fail(TSINVCTL_EXIT_UNREACHABLE, NULL, "%s: %s",
			                 client_opts.socket, strerror(errno));
		}
	}
	return 0;
}

/* What has been received and not yet handed out: a progress frame and the reply after it may
 * come in one read. */
struct conn_in {
	char *buf;
	size_t cap, have; /* its size, the bytes received into it */
	size_t used;      /* the bytes of the line handed out last */
};

/* Reads one line, without its newline, into *LINE (inside IN, valid until the next call) and
 * *LEN. */
static int
conn_recv(int fd, struct conn_in *in, int64_t deadline, int64_t timeout, char **line, size_t *len)
{
	size_t scanned = 0;
	char *nl;
	ssize_t n;

	if (in->used > 0) {
		memmove(in->buf, in->buf + in->used, in->have - in->used);
		in->have -= in->used;
		in->used = 0;
	}
	for (;;) {
		if ((nl = memchr(in->buf + scanned, '\n', in->have - scanned)) != NULL) {
			*line = in->buf;
			*len = (size_t)(nl - in->buf);
			in->used = *len + 1;
			return 0;
		}
		scanned = in->have;
		if (in->have == in->cap) {
			/* The buffer holds at most TSINVCTL_MAX_REPLY bytes and the newline. */
			if (in->cap > TSINVCTL_MAX_REPLY)
				return conn_fail(TSINVCTL_EXIT_ERROR, "bad_reply",
				                 "the reply is longer than %zu GiB",
				                 TSINVCTL_MAX_REPLY >> 30);
			in->cap = in->cap * 2 > TSINVCTL_MAX_REPLY + 1 ? TSINVCTL_MAX_REPLY + 1
			                                               : in->cap * 2;
			in->buf = xrealloc(in->buf, in->cap);
		}
		n = recv(fd, in->buf + in->have, in->cap - in->have, 0);
		if (n > 0)
			in->have += (size_t)n;
		else if (n == 0) {
			return conn_fail(TSINVCTL_EXIT_UNREACHABLE, NULL,
			                 "%s: the daemon closed the connection %s",
			                 client_opts.socket,
			                 in->have == 0 ? "without a reply" : "in mid-reply");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (conn_wait(fd, POLLIN, deadline) != 0)
				return conn_timed_out(timeout);
		} else if (errno != EINTR) {
			return conn_fail(TSINVCTL_EXIT_UNREACHABLE, NULL, "%s: %s",
			                 client_opts.socket, strerror(errno));
		}
	}
}

/* A progress frame {"id":1,"progress":{...}} (and no "ok") is shown by SHOW: 1; anything else
 * is the reply: 0. */
static int
conn_frame(const char *line, size_t len, void (*show)(json_t *))
{
	json_t *root = json_loadb(line, len, 0, NULL), *p;
	int frame;

	p = json_object_get(root, "progress");
	frame = json_is_object(p) && json_object_get(root, "ok") == NULL &&
	        json_integer_value(json_object_get(root, "id")) == TSINVCTL_REQ_ID;
	if (frame)
		show(p);
	json_decref(root);
	return frame;
}

int
conn_bad_reply(const char *why)
{
	char *p, *s = xstrdup(why);

	/* jansson's message may quote the bad input, which need not even be UTF-8. */
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	conn_fail(TSINVCTL_EXIT_ERROR, "bad_reply", "malformed reply from the daemon: %s", s);
	free(s);
	return TSINVCTL_EXIT_ERROR;
}

/* The devices an ambiguous name or address may mean, on stderr: id, name, state, bounds. */
static void
conn_candidates(json_t *list)
{
	static const char *const hdr[] = {"NODE", "NAME", "STATE", "FROM", "TO"};
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8];
	struct table *t;
	json_t *c;
	size_t i;

	if (json_array_size(list) == 0)
		return;
	t = table_new(5, hdr);
	json_array_foreach(list, i, c)
	{
		const char *name = show_str(c, "name");

		show_bounds(c, from, to, sizeof from);
		table_add_row(t, show_str(c, "nodeId"),
		              name != NULL ? name : show_str(c, "hostname"), show_str(c, "state"),
		              from, to);
	}
	table_print(t, stderr);
	table_free(t);
}

/* While set (conn_call_quiet), an error reply is kept here instead of printed. */
static int conn_quiet;
static json_t *conn_quiet_err;

/* Checks a reply line. On success *RESULT is a new reference; an error reply is printed. */
int
conn_reply(const char *line, size_t len, json_t **result)
{
	json_error_t jerr;
	json_t *root;

	/* NUL is allowed: a policy text is printed byte for byte, whatever it holds. */
	if ((root = json_loadb(line, len, JSON_ALLOW_NUL, &jerr)) == NULL)
		return conn_bad_reply(jerr.text);
	return conn_reply_json(root, result);
}

int
conn_reply_json(json_t *root, json_t **result)
{
	json_t *id, *ok, *err;
	const char *code, *msg;
	char *ccode, *cmsg;
	int rc;

	rc = TSINVCTL_EXIT_ERROR;
	id = json_object_get(root, "id");
	ok = json_object_get(root, "ok");
	if (!json_is_object(root))
		conn_bad_reply("not an object");
	else if (!json_is_integer(id) || json_integer_value(id) != TSINVCTL_REQ_ID)
		conn_bad_reply("wrong id");
	else if (!json_is_boolean(ok))
		conn_bad_reply("no \"ok\"");
	else if (json_is_true(ok)) {
		/* Every op answers with an object; anything else is not a daemon we understand. */
		if (!json_is_object(*result = json_object_get(root, "result")))
			conn_bad_reply("no \"result\" object");
		else {
			json_incref(*result);
			rc = TSINVCTL_EXIT_OK;
		}
	} else {
		err = json_object_get(root, "error");
		code = json_string_value(json_object_get(err, "code"));
		msg = json_string_value(json_object_get(err, "message"));
		ccode = table_clean(code != NULL ? code : "error");
		cmsg = table_clean(msg != NULL ? msg : "(no message)");
		if (code != NULL && strcmp(code, PROTO_E_NOT_FOUND) == 0)
			rc = TSINVCTL_EXIT_NOT_FOUND;
		else if (code != NULL && strcmp(code, PROTO_E_AMBIGUOUS) == 0)
			rc = TSINVCTL_EXIT_AMBIGUOUS;
		else if (code != NULL && strcmp(code, PROTO_E_TAILNET_REQUIRED) == 0)
			rc = TSINVCTL_EXIT_USAGE; /* the command line must name a tailnet */
		if (conn_quiet) {
			free(ccode);
			free(cmsg);
			conn_quiet_err = json_is_object(err) ? json_incref(err) : json_object();
			json_decref(root);
			return rc;
		}
		/* The terminal gets them clean; --json passes the daemon's error object on whole.
		 */
		fprintf(stderr, "tsinvctl: %s: %s\n", ccode, cmsg);
		conn_candidates(json_object_get(err, "candidates"));
		if (client_opts.json && json_is_object(err)) {
			json_t *o = json_pack("{s:O}", "error", err);

			json_object_set_new(json_object_get(o, "error"), "status",
			                    json_integer(rc));
			show_print_json(o);
			json_decref(o);
		} else if (client_opts.json)
			conn_json_error(rc, "error", "(no error object)");
		free(ccode);
		free(cmsg);
	}
	json_decref(root);
	return rc;
}

int conn_keep_raw;
char *conn_raw;

/* CMD's request line with ARGS (stolen), its newline included, in *TEXT (malloc'd) and *LEN;
 * or an exit code after saying why. */
static int
conn_request_line(const struct cmd_entry *cmd, json_t *args, char **text, size_t *len)
{
	json_t *req;

	req = json_pack("{s:i, s:s, s:o}", "id", TSINVCTL_REQ_ID, "op", proto_ops[cmd->op].name,
	                "args", args);
	if (req == NULL || (*text = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("cannot build the request");
	json_decref(req);
	*len = strlen(*text);
	if (*len + 1 > PROTO_MAX_LINE) {
		free(*text);
		return tsinvctl_usage_error(cmd, "the request is longer than %d bytes",
		                            PROTO_MAX_LINE);
	}
	(*text)[(*len)++] = '\n'; /* replaces the NUL; the length is what counts from here on */
	return 0;
}

/* As conn_call; with PROGRESS, the request asks for progress frames and PROGRESS shows each. */
static int
conn_exchange(const struct cmd_entry *cmd, json_t *args, json_t **result,
              void (*progress)(json_t *))
{
	struct conn_in in = {.cap = 65536};
	int64_t timeout, deadline;
	char *text, *line = NULL;
	size_t len;
	int fd, rc;

	if (progress != NULL)
		json_object_set_new(args, "progress", json_true());
	if ((rc = conn_request_line(cmd, args, &text, &len)) != 0)
		return rc;

	timeout = client_opts.timeout;
	if (timeout == 0)
		timeout = (cmd->flags & CMD_F_SLOW) ? TSINVCTL_SLOW_TIMEOUT : TSINVCTL_TIMEOUT;
	deadline = conn_mono() + timeout;
	if ((rc = conn_connect(timeout, &fd)) != 0) {
		free(text);
		return rc;
	}
	rc = conn_send(fd, text, len, deadline, timeout);
	free(text);
	in.buf = xmalloc(in.cap);
	while (rc == 0 && (rc = conn_recv(fd, &in, deadline, timeout, &line, &len)) == 0) {
		if (progress != NULL && conn_frame(line, len, progress))
			continue;
		rc = conn_reply(line, len, result);
		if (rc == 0 && conn_keep_raw) {
			free(conn_raw);
			conn_raw = xmalloc(len + 1);
			memcpy(conn_raw, line, len);
			conn_raw[len] = '\0';
		}
		break;
	}
	free(in.buf);
	close(fd);
	return rc;
}

int
conn_call(const struct cmd_entry *cmd, json_t *args, json_t **result)
{
	return conn_exchange(cmd, args, result, NULL);
}

int
conn_call_quiet(const struct cmd_entry *cmd, json_t *args, json_t **result, json_t **err)
{
	int rc;

	conn_quiet = 1;
	conn_quiet_err = NULL;
	rc = conn_call(cmd, args, result);
	conn_quiet = 0;
	*err = conn_quiet_err;
	conn_quiet_err = NULL;
	return rc;
}

/* Prints an error object kept by conn_call_quiet as conn_reply would have; returns RC. */
int
conn_print_err(json_t *err, int rc)
{
	const char *code = show_str(err, "code"), *msg = show_str(err, "message");
	char *ccode = table_clean(code != NULL ? code : "error");
	char *cmsg = table_clean(msg != NULL ? msg : "(no message)");

	fprintf(stderr, "tsinvctl: %s: %s\n", ccode, cmsg);
	conn_candidates(json_object_get(err, "candidates"));
	if (client_opts.json) {
		json_t *o = json_pack("{s:O}", "error", err);

		json_object_set_new(json_object_get(o, "error"), "status", json_integer(rc));
		show_print_json(o);
		json_decref(o);
	}
	free(ccode);
	free(cmsg);
	return rc;
}

/*
 * Runs CMD for the tailnet --tailnet names, the daemon's default, or its only one; when the
 * daemon keeps several and none is named, for every one of them. SHOW prints one tailnet's
 * result (after a "tailnet NAME:" line when there are several); with --json the results are
 * {"tailnets":[{"tailnet","result"|"error"}]}. Exit status: 0 when some tailnet answered, else
 * the first error's.
 */
int
conn_query_tailnets(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args,
                    conn_show_fn show)
{
	json_t *result = NULL, *err = NULL, *names, *out, *one, *name;
	int rc, first = 0, answered = 0, ambiguous = 0;
	size_t i;

	if (client_opts.tailnet != NULL)
		return conn_query(cmd, a, args, show, NULL);
	rc = conn_fetch_quiet(cmd, a, json_deep_copy(args), &result, &err);
	if (err == NULL || !show_is(err, "code", PROTO_E_TAILNET_REQUIRED) ||
	    !json_is_array(names = json_object_get(err, "tailnets"))) {
		json_decref(args);
		if (err != NULL) {
			rc = conn_print_err(err, rc);
			json_decref(err);
			return rc;
		}
		if (rc != 0)
			return rc;
		if (client_opts.json)
			show_print_json(result);
		else
			rc = show(result, a);
		json_decref(result);
		return rc;
	}
	out = json_array();
	json_array_foreach(names, i, name)
	{
		json_t *targs = json_deep_copy(args);

		json_object_set(targs, "tailnet", name);
		result = NULL;
		rc = conn_fetch_quiet(cmd, a, targs, &result, &one);
		if (one != NULL) {
			json_array_append_new(
			    out, json_pack("{s:O, s:o}", "tailnet", name, "error", one));
			if (first == 0)
				first = rc;
			ambiguous |= rc == TSINVCTL_EXIT_AMBIGUOUS;
			continue;
		}
		if (rc != 0) {
			json_decref(out);
			json_decref(err);
			json_decref(args);
			return rc;
		}
		answered = 1;
		if (!client_opts.json) {
			printf("%stailnet %s:\n", i > 0 ? "\n" : "", json_string_value(name));
			show(result, a);
		}
		json_array_append_new(out,
		                      json_pack("{s:O, s:o}", "tailnet", name, "result", result));
	}
	if (client_opts.json) {
		json_t *o = json_pack("{s:o}", "tailnets", out);

		show_print_json(o);
		json_decref(o);
	} else {
		/* Where it was not found, or may mean several, says so after the answers. */
		json_array_foreach(out, i, one)
		{
			json_t *e = json_object_get(one, "error");

			if (e != NULL)
				conn_print_err(e, 0);
		}
		json_decref(out);
	}
	json_decref(err);
	json_decref(args);
	/* An ambiguity anywhere is never hidden by an answer elsewhere. */
	return ambiguous ? TSINVCTL_EXIT_AMBIGUOUS : answered ? 0 : first;
}

/* Adds KEY: S to ARGS; argv may hold anything, but JSON strings must be UTF-8. */
int
conn_arg_str(const struct cmd_entry *cmd, json_t *args, const char *key, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL)
		return tsinvctl_usage_error(cmd, "%s: not valid UTF-8", key);
	json_object_set_new(args, key, v);
	return 0;
}

/* ARGS (stolen, NULL for none) with the common arguments (a new reference), or NULL after
 * saying why in *RC. */
static json_t *
conn_common_args(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args, int *rc)
{
	if (args == NULL)
		args = json_object();
	if ((cmd_spec(cmd) & PROTO_A(tailnet)) && client_opts.tailnet != NULL &&
	    (*rc = conn_arg_str(cmd, args, "tailnet", client_opts.tailnet)) != 0) {
		json_decref(args);
		return NULL;
	}
	if (a->at != NULL)
		json_object_set_new(args, "at", json_string(a->at));
	if (a->history)
		json_object_set_new(args, "history", json_true());
	return args;
}

int
conn_request(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args, char **text,
             size_t *len)
{
	int rc = 0;

	if ((args = conn_common_args(cmd, a, args, &rc)) == NULL)
		return rc;
	return conn_request_line(cmd, args, text, len);
}

/* Runs CMD with ARGS (stolen, NULL for none) plus the common arguments: 0 and *RESULT (a new
 * reference), or an exit code after printing why. */
int
conn_fetch(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args, json_t **result)
{
	int rc = 0;

	if ((args = conn_common_args(cmd, a, args, &rc)) == NULL)
		return rc;
	return conn_exchange(cmd, args, result, progress_wanted(cmd) ? cmd->progress : NULL);
}

int
conn_fetch_quiet(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args,
                 json_t **result, json_t **err)
{
	int rc;

	conn_quiet = 1;
	conn_quiet_err = NULL;
	rc = conn_fetch(cmd, a, args, result);
	conn_quiet = 0;
	*err = conn_quiet_err;
	conn_quiet_err = NULL;
	return rc;
}

/* Runs CMD with ARGS (stolen) plus the common arguments, then shows the result: as JSON with
 * --json, else through SHOW. VERDICT, when set, turns a successful result into an exit code. */
int
conn_query(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args, conn_show_fn show,
           int (*verdict)(json_t *))
{
	json_t *result;
	int rc;

	if ((rc = conn_fetch(cmd, a, args, &result)) != 0)
		return rc;
	if (client_opts.json)
		show_print_json(result);
	else
		rc = show(result, a);
	if (rc == 0 && verdict != NULL)
		rc = verdict(result);
	/* An answer about a time no poll covered was printed as "unknown"; its status says so too,
	 * so that a script never takes it for an empty list. */
	if (rc == 0 && show_is(result, "coverage", "unknown"))
		rc = TSINVCTL_EXIT_UNKNOWN;
	json_decref(result);
	return rc;
}
