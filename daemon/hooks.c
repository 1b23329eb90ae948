/* hooks.c: hook scripts run on events: a durable cursor per hook, in order, at least once. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attrib.h"
#include "events.h"
#include "hooks.h"
#include "log.h"
#include "retain.h"
#include "tstime.h"

#define HOOKS_LOOK_BATCH 1000   /* events examined per look before the loop gets a turn */
#define HOOKS_LAG_MAX 10000     /* events examined to count a hook's lag */
#define HOOKS_LOG_MAX 65536     /* bytes of one run's output that are logged */
#define HOOKS_LINE_MAX 1024     /* a longer output line is logged in pieces */
#define HOOKS_PARKED_MAX 100    /* parked seqs kept in a cursor: the newest */
#define HOOKS_ENV_MAX 1024      /* bytes of one environment value */
#define HOOKS_NENV 10           /* variables in a hook's environment */
#define HOOKS_STOP_GRACE_MS 300 /* hooks_free: SIGTERM, then SIGKILL after this */
#define HOOKS_WAIT_POLL_MS 50   /* waitpid on a timer when pidfd_open is not available */

enum hook_state {
	HOOK_IDLE,    /* nothing to deliver, as of the last look */
	HOOK_LOOKING, /* a long scan continues on the next loop turn */
	HOOK_QUEUED,  /* an event is ready; waiting for a free slot */
	HOOK_RUNNING, /* the script runs */
	HOOK_RETRY,   /* the last run failed; the retry timer is armed */
};

/* One run of a script: the child, its pipes and its timers. */
struct hook_run {
	pid_t pid;
	int pidfd; /* -1: exit_ev is a timer that polls waitpid */
	int in_fd, out_fd;
	struct event *exit_ev, *in_ev, *out_ev, *kill_ev;
	size_t in_off;
	char line[HOOKS_LINE_MAX];
	size_t linelen;
	size_t logged;
	int truncated;
	int termed; /* the timeout passed: SIGTERM sent to the group */
};

struct hooks;

struct hook {
	struct hooks *hk;
	const struct config_hook *cf;
	enum hook_state state;
	TAILQ_ENTRY(hook) entry; /* in hk->ready while HOOK_QUEUED */

	/* The cursor: every event up to seq is handled; stored_seq is what the store holds. */
	uint64_t seq, stored_seq;
	int attempts;
	tstime_t last_run;
	int last_exit; /* -1: none yet, or the script could not be started */
	char *last_error;
	uint64_t parked[HOOKS_PARKED_MAX];
	size_t nparked;
	uint64_t parked_total;
	uint64_t runs, failed_runs; /* since the daemon started, for the metrics */

	/* The event being delivered, kept across retries. */
	uint64_t ev_seq;
	json_t *ev;
	char *ev_text; /* the stored JSON and a newline */
	size_t ev_len;
	tstime_t next_retry; /* TSTIME_NONE when no retry is due */
	struct event *timer; /* the retry, or the continuation of a long look */
	struct hook_run *run;
};

struct hooks {
	struct event_base *base;
	const struct config *cf;
	struct store *st;
	struct hook **hooks; /* each allocated alone: events and the ready queue point to it */
	size_t n;
	size_t running;
	int pumping;
	TAILQ_HEAD(, hook) ready;
};

static void hook_look(struct hook *h);
static void hooks_pump(struct hooks *hk);
static void hook_in_cb(evutil_socket_t fd, short what, void *arg);

static const char *
hook_type(const struct hook *h)
{
	const char *t = json_string_value(json_object_get(h->ev, "type"));

	return t != NULL ? t : "?";
}

/* retry_min * 2^(attempts-1), at most retry_max. */
static int64_t
hook_backoff(const struct config_hook *cf, int attempts)
{
	int64_t d = cf->retry_min;

	for (int i = 1; i < attempts && d < cf->retry_max; i++)
		d = d > cf->retry_max / 2 ? cf->retry_max : d * 2;
	return d < cf->retry_max ? d : cf->retry_max;
}

static void
hook_key(const struct hook *h, struct store_key *k)
{
	store_key_init(k);
	store_key_bytes(k, h->cf->name, strlen(h->cf->name));
}

/* The cursor record as stored: compact JSON (malloc'd). */
static char *
hook_cursor_text(const struct hook *h)
{
	char when[TSTIME_STRLEN], *text;
	json_t *j, *parked;

	j = json_pack("{s:I, s:i}", "seq", (json_int_t)h->seq, "attempts", h->attempts);
	if (h->last_run != TSTIME_NONE) {
		tstime_format(h->last_run, when, sizeof when);
		json_object_set_new(j, "last_run", json_string(when));
	}
	if (h->last_exit >= 0)
		json_object_set_new(j, "last_exit", json_integer(h->last_exit));
	if (h->last_error != NULL)
		json_object_set_new(j, "last_error", json_string(h->last_error));
	parked = json_array();
	for (size_t i = 0; i < h->nparked; i++)
		json_array_append_new(parked, json_integer((json_int_t)h->parked[i]));
	json_object_set_new(j, "parked", parked);
	json_object_set_new(j, "parked_total", json_integer((json_int_t)h->parked_total));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		fatalx("cannot encode a hook cursor");
	return text;
}

struct hook_put {
	struct hook *const *hooks;
	char *const *texts;
	size_t n;
};

static int
hook_put_fn(struct store_txn *txn, void *arg, char **cause)
{
	const struct hook_put *p = arg;
	struct store_key k;

	for (size_t i = 0; i < p->n; i++) {
		hook_key(p->hooks[i], &k);
		if (store_put(txn, STORE_HOOKPOS, &k, p->texts[i], strlen(p->texts[i]), cause) != 0)
			return -1;
	}
	return 0;
}

/* Writes the cursors of HOOKS in one short write transaction. 0, or -1 and *cause. */
static int
hook_save(struct hooks *hk, struct hook **hooks, size_t n, char **cause)
{
	char **texts = xcalloc(n, sizeof *texts);
	struct hook_put p = {hooks, texts, n};
	int rc;

	for (size_t i = 0; i < n; i++)
		texts[i] = hook_cursor_text(hooks[i]);
	rc = store_write(hk->st, hook_put_fn, &p, cause);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	if (rc != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		hooks[i]->stored_seq = hooks[i]->seq;
	return 0;
}

/* A failed write loses no event: the cursor in the store is only ever behind. */
static void
hook_write(struct hook *h)
{
	char *cause = NULL;

	if (hook_save(h->hk, &h, 1, &cause) != 0) {
		log_warnx("hook %s: cannot save its cursor: %s", h->cf->name,
		          cause != NULL ? cause : "store error");
		free(cause);
	}
}

/* Fills H from a stored cursor; -1 when it cannot be read. */
static int
hook_cursor_parse(struct hook *h, const void *data, size_t len)
{
	json_t *j = json_loadb(data, len, 0, NULL), *v, *parked;
	const char *s;
	size_t i;

	v = json_object_get(j, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		json_decref(j);
		return -1;
	}
	h->seq = h->stored_seq = (uint64_t)json_integer_value(v);
	v = json_object_get(j, "attempts");
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < INT32_MAX)
		h->attempts = (int)json_integer_value(v);
	if ((s = json_string_value(json_object_get(j, "last_run"))) != NULL &&
	    tstime_parse_rfc3339(s, &h->last_run) != 0)
		h->last_run = TSTIME_NONE;
	v = json_object_get(j, "last_exit");
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 512)
		h->last_exit = (int)json_integer_value(v);
	if ((s = json_string_value(json_object_get(j, "last_error"))) != NULL)
		h->last_error = xstrdup(s);
	parked = json_object_get(j, "parked");
	json_array_foreach(parked, i, v)
	{
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    h->nparked < HOOKS_PARKED_MAX)
			h->parked[h->nparked++] = (uint64_t)json_integer_value(v);
	}
	v = json_object_get(j, "parked_total");
	h->parked_total = json_is_integer(v) && json_integer_value(v) >= 0
	                      ? (uint64_t)json_integer_value(v)
	                      : h->nparked;
	json_decref(j);
	return 0;
}

static void
hook_drop_event(struct hook *h)
{
	json_decref(h->ev);
	h->ev = NULL;
	free(h->ev_text);
	h->ev_text = NULL;
	h->ev_len = 0;
	h->ev_seq = 0;
}

/* The event is in hand: run it now, or when its retry is due. */
static void
hook_ready(struct hook *h)
{
	tstime_t now = tstime_now();
	struct timeval tv;
	int64_t wait;

	if (h->next_retry != TSTIME_NONE && h->next_retry > now) {
		wait = h->next_retry - now;
		tv.tv_sec = (time_t)(wait / TSTIME_SEC);
		tv.tv_usec = (suseconds_t)(wait % TSTIME_SEC);
		h->state = HOOK_RETRY;
		evtimer_add(h->timer, &tv);
		return;
	}
	h->next_retry = TSTIME_NONE;
	h->state = HOOK_QUEUED;
	TAILQ_INSERT_TAIL(&h->hk->ready, h, entry);
	hooks_pump(h->hk);
}

struct hook_scan {
	struct hook *h;
	uint64_t last;  /* the last event examined */
	size_t skipped; /* events examined that do not match */
	json_t *ev;     /* the match, a new reference */
	char *text;
	size_t len;
};

static int
hook_scan_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
	struct hook_scan *sc = arg;
	json_t *ev = json_loadb(json, len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));

	sc->last = seq;
	if (type == NULL) {
		log_warnx("hook %s: event %" PRIu64 " cannot be read; skipped", sc->h->cf->name,
		          seq);
		json_decref(ev);
		sc->skipped++;
		return 0;
	}
	if (!event_match_list(sc->h->cf->events, type)) {
		json_decref(ev);
		sc->skipped++;
		return 0;
	}
	sc->ev = ev;
	sc->text = xmalloc(len + 1);
	memcpy(sc->text, json, len);
	sc->text[len] = '\n';
	sc->len = len + 1;
	return 1;
}

/* A cursor behind the retention horizon: the events it never had are gone. Said loudly (the
 * log, last_error in tsinvctl hooks), and delivery goes on from the first event kept. */
static void
hook_pruned(struct hook *h)
{
	uint64_t first = 0;
	char *gap = retain_events_gap(h->hk->st, h->seq, &first);

	if (gap == NULL)
		return;
	log_warnx("hook %s: %s: events %" PRIu64 " to %" PRIu64 " were never delivered to it",
	          h->cf->name, gap, h->seq + 1, first - 1);
	free(h->last_error);
	h->last_error = xasprintf("%s: events %" PRIu64 " to %" PRIu64 " never delivered", gap,
	                          h->seq + 1, first - 1);
	free(gap);
	h->seq = first - 1;
	hook_write(h);
}

/* How long the event EV must still wait for its attribution (wait_attribution): 0 when it has
 * one, is no change the audit log can explain, or has waited long enough. */
static int64_t
hook_attrib_wait(const struct hook *h, json_t *ev)
{
	tstime_t t, now;

	if (h->cf->wait_attribution <= 0 || json_object_get(ev, "attribution") != NULL ||
	    !attrib_event_type(json_string_value(json_object_get(ev, "type"))) ||
	    tstime_parse_rfc3339(json_string_value(json_object_get(ev, "time")) ?: "", &t) == -1)
		return 0;
	now = tstime_now();
	return t + h->cf->wait_attribution > now ? t + h->cf->wait_attribution - now : 0;
}

/* Finds the hook's next matching event after its cursor. Events that do not match move the
 * cursor on in memory; it is written with the next delivery, or here when nothing matched. */
static void
hook_look(struct hook *h)
{
	struct hook_scan sc = {.h = h};
	char *cause = NULL;
	struct timeval now = {0, 0};
	int64_t wait;

	h->state = HOOK_IDLE;
	hook_pruned(h);
	if (event_scan(h->hk->st, h->seq, HOOKS_LOOK_BATCH, hook_scan_cb, &sc, &cause) != 0) {
		/* The next wake tries again. */
		log_warnx("hook %s: cannot read events: %s", h->cf->name,
		          cause != NULL ? cause : "store error");
		free(cause);
		return;
	}
	/* The failing event is always the first after the cursor; skipped, it no longer matches
	 * (the globs changed), and its failures do not count against the next one. */
	if (sc.skipped > 0 && h->attempts > 0) {
		h->attempts = 0;
		h->next_retry = TSTIME_NONE;
	}
	if (sc.ev != NULL && (wait = hook_attrib_wait(h, sc.ev)) > 0) {
		/* Not yet: looked at again when a poll commits (hooks_wake), or when the wait ends;
		 * the event stays after the cursor. */
		struct timeval tv = {(time_t)(wait / TSTIME_SEC), (suseconds_t)(wait % TSTIME_SEC)};

		json_decref(sc.ev);
		free(sc.text);
		h->seq = sc.last - 1;
		evtimer_add(h->timer, &tv);
		return;
	}
	if (sc.ev != NULL) {
		h->seq = sc.last - 1;
		h->ev_seq = sc.last;
		h->ev = sc.ev;
		h->ev_text = sc.text;
		h->ev_len = sc.len;
		hook_ready(h);
		return;
	}
	if (sc.last > h->seq)
		h->seq = sc.last;
	if (h->seq != h->stored_seq)
		hook_write(h);
	if (sc.skipped == HOOKS_LOOK_BATCH) {
		h->state = HOOK_LOOKING;
		evtimer_add(h->timer, &now);
	}
}

static void
hook_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;

	if (h->state == HOOK_LOOKING || h->state == HOOK_IDLE) /* IDLE: a wait for attribution */
		hook_look(h);
	else if (h->state == HOOK_RETRY) {
		h->next_retry = TSTIME_NONE;
		hook_ready(h);
	}
}

/* "KEY=value" (malloc'd) with control characters replaced and the length bounded. */
static char *
hook_env(const char *key, const char *value)
{
	char *s = xasprintf("%s=%.*s", key, HOOKS_ENV_MAX, value != NULL ? value : "");

	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* The child's whole environment: built here, nothing inherited (no secret, no NOTIFY_SOCKET). */
static void
hook_envp(const struct hook *h, char **envp)
{
	json_t *entity = json_object_get(h->ev, "entity");
	char seq[32];
	int n = 0;

	snprintf(seq, sizeof seq, "%" PRIu64, h->ev_seq);
	envp[n++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	envp[n++] = xstrdup("LANG=C.UTF-8");
	envp[n++] = hook_env("TSINV_HOOK", h->cf->name);
	envp[n++] = hook_env("TSINV_EVENT_SEQ", seq);
	envp[n++] = hook_env("TSINV_EVENT_TYPE", hook_type(h));
	envp[n++] = hook_env("TSINV_EVENT_TIME", json_string_value(json_object_get(h->ev, "time")));
	envp[n++] = hook_env("TSINV_TAILNET", json_string_value(json_object_get(h->ev, "tailnet")));
	envp[n++] =
	    hook_env("TSINV_ENTITY_KIND", json_string_value(json_object_get(entity, "kind")));
	envp[n++] = hook_env("TSINV_ENTITY_ID", json_string_value(json_object_get(entity, "id")));
	envp[n++] =
	    hook_env("TSINV_ENTITY_NAME", json_string_value(json_object_get(entity, "name")));
	envp[n] = NULL;
}

/* Starts the script: its own session and process group, default signals, an empty mask, the
 * event on stdin, stdout and stderr into one pipe, nothing else open. 0, or errno. */
static int
hook_spawn(struct hook *h, struct hook_run *r)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err = 0;
	char *argv[2] = {h->cf->exec, NULL}, *envp[HOOKS_NENV + 1];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1) {
		err = errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	/* Every signal back to its default: the daemon ignores SIGPIPE and catches others. */
	sigfillset(&all);
	posix_spawnattr_setsigdefault(&attr, &all);
	hook_envp(h, envp);
	err = posix_spawn(&r->pid, h->cf->exec, &fa, &attr, argv, envp);
	for (int i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0)
		goto out;
	r->in_fd = in[1];
	r->out_fd = out[0];
	in[1] = out[0] = -1;
	if (fcntl(r->in_fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(r->out_fd, F_SETFL, O_NONBLOCK) == -1)
		log_warn("hook %s: fcntl",
		         h->cf->name); /* reads and writes may then block briefly */
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
	}
	return err;
}

static void
hook_log_line(struct hook *h)
{
	struct hook_run *r = h->run;
	size_t n = r->linelen;

	r->linelen = 0;
	if (n > 0 && r->line[n - 1] == '\r')
		n--;
	if (r->truncated)
		return;
	if (r->logged + n > HOOKS_LOG_MAX) {
		log_info("hook %s: output truncated", h->cf->name);
		r->truncated = 1;
		return;
	}
	r->logged += n;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r->line[i] < 0x20 || r->line[i] == 0x7f)
			r->line[i] = '?';
	log_info("hook %s: %.*s", h->cf->name, (int)n, r->line);
}

static void
hook_close_out(struct hook_run *r)
{
	if (r->out_ev != NULL)
		event_free(r->out_ev);
	r->out_ev = NULL;
	if (r->out_fd != -1)
		close(r->out_fd);
	r->out_fd = -1;
}

static void
hook_close_in(struct hook_run *r)
{
	if (r->in_ev != NULL)
		event_free(r->in_ev);
	r->in_ev = NULL;
	if (r->in_fd != -1)
		close(r->in_fd);
	r->in_fd = -1;
}

/* Reads what the script wrote, up to 64 KiB a call so that a chatty script cannot hold the
 * loop; logs it line by line. */
static void
hook_read_out(struct hook *h)
{
	struct hook_run *r = h->run;
	char buf[4096];
	ssize_t n;

	for (int reads = 0; r->out_fd != -1 && reads < 16; reads++) {
		n = read(r->out_fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (r->linelen > 0)
				hook_log_line(h);
			hook_close_out(r);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				hook_log_line(h);
				continue;
			}
			r->line[r->linelen++] = buf[i];
			if (r->linelen == sizeof r->line)
				hook_log_line(h);
		}
	}
}

static void
hook_out_cb(evutil_socket_t fd, short what, void *arg)
{
	hook_read_out(arg);
}

/* Writes the event to the script's stdin as far as the pipe takes it; EV_WRITE for the rest. A
 * script that does not read it, or exits first, is not an error. */
static void
hook_write_in(struct hook *h)
{
	struct hook_run *r = h->run;
	ssize_t n;

	while (r->in_off < h->ev_len) {
		n = write(r->in_fd, h->ev_text + r->in_off, h->ev_len - r->in_off);
		if (n > 0) {
			r->in_off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (r->in_ev == NULL) {
				r->in_ev = event_new(h->hk->base, r->in_fd, EV_WRITE | EV_PERSIST,
				                     hook_in_cb, h);
				event_add(r->in_ev, NULL);
			}
			return;
		}
		break; /* EPIPE: the script closed its stdin */
	}
	hook_close_in(r);
}

static void
hook_in_cb(evutil_socket_t fd, short what, void *arg)
{
	hook_write_in(arg);
}

static void
hook_run_free(struct hook_run *r)
{
	if (r == NULL)
		return;
	hook_close_in(r);
	hook_close_out(r);
	if (r->exit_ev != NULL)
		event_free(r->exit_ev);
	if (r->kill_ev != NULL)
		event_free(r->kill_ev);
	if (r->pidfd != -1)
		close(r->pidfd);
	free(r);
}

/* Gives up on the event in hand after max_attempts failures: recorded, then skipped. */
static void
hook_park(struct hook *h)
{
	log_warnx("hook %s: event %" PRIu64 " (%s) parked after %d failed attempts: %s",
	          h->cf->name, h->ev_seq, hook_type(h), h->attempts, h->last_error);
	if (h->nparked == HOOKS_PARKED_MAX) {
		memmove(h->parked, h->parked + 1, (HOOKS_PARKED_MAX - 1) * sizeof *h->parked);
		h->nparked--;
	}
	h->parked[h->nparked++] = h->ev_seq;
	h->parked_total++;
	h->seq = h->ev_seq;
	h->attempts = 0;
}

/* The run is over: acknowledge, park, or schedule the retry; then go on. ERROR is NULL on
 * success, else why (stolen); CODE the exit status (128 + N for signal N), or -1. */
static void
hook_finish(struct hook *h, int code, char *error)
{
	struct hooks *hk = h->hk;
	char d[32], of[32] = "";
	int64_t wait;

	hook_run_free(h->run);
	h->run = NULL;
	hk->running--;
	h->runs++;
	h->failed_runs += error != NULL;
	free(h->last_error);
	h->last_error = error;
	h->last_exit = code;
	if (error == NULL) {
		log_debug("hook %s: event %" PRIu64 " (%s) delivered", h->cf->name, h->ev_seq,
		          hook_type(h));
		h->seq = h->ev_seq;
		h->attempts = 0;
	} else if (++h->attempts >= h->cf->max_attempts && h->cf->max_attempts > 0) {
		hook_park(h);
	} else {
		wait = hook_backoff(h->cf, h->attempts);
		h->next_retry = tstime_now() + wait;
		tstime_format_duration(wait, d, sizeof d);
		if (h->cf->max_attempts > 0)
			snprintf(of, sizeof of, " of %d", h->cf->max_attempts);
		log_warnx("hook %s: event %" PRIu64 " (%s): %s; attempt %d%s, retry in %s",
		          h->cf->name, h->ev_seq, hook_type(h), error, h->attempts, of, d);
	}
	hook_write(h);
	if (h->attempts > 0)
		hook_ready(h);
	else {
		hook_drop_event(h);
		h->next_retry = TSTIME_NONE;
		hook_look(h);
	}
	hooks_pump(hk);
}

/* Has the leader of R exited (without reaping it, so that its id keeps naming the group)? */
static int
hooks_exited(const struct hook_run *r)
{
	siginfo_t si = {0};

	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return 1;
	return si.si_pid != 0;
}

static void
hook_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	struct hook_run *r = h->run;
	struct timeval tv = {0, HOOKS_WAIT_POLL_MS * 1000};
	char d[32], *error = NULL;
	int status, code = -1, err;
	pid_t pid;

	if (!hooks_exited(r)) {
		event_add(r->exit_ev, r->pidfd == -1 ? &tv : NULL);
		return;
	}
	/* What is left of a run that overran dies with it: the leader, exited but not yet
	 * reaped, still holds the group's id. */
	if (r->termed)
		kill(-r->pid, SIGKILL);
	do
		pid = waitpid(r->pid, &status, WNOHANG);
	while (pid == -1 && errno == EINTR);
	err = errno;
	hook_read_out(h);
	if (r->linelen > 0)
		hook_log_line(h);
	if (pid <= 0)
		error = xasprintf("lost track of process %d: %s", (int)r->pid, strerror(err));
	else if (r->termed) {
		tstime_format_duration(h->cf->timeout, d, sizeof d);
		error = xasprintf("timed out after %s", d);
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	} else if (WIFEXITED(status)) {
		code = WEXITSTATUS(status);
		if (code != 0)
			error = xasprintf("exited %d", code);
	} else if (WIFSIGNALED(status)) {
		code = 128 + WTERMSIG(status);
		error = xasprintf("killed by SIG%s", sigabbrev_np(WTERMSIG(status)) != NULL
		                                         ? sigabbrev_np(WTERMSIG(status))
		                                         : "?");
	} else
		error = xasprintf("stopped with status %#x", (unsigned)status);
	hook_finish(h, code, error);
}

/* The timeout: SIGTERM to the whole group, then SIGKILL after kill_grace. */
static void
hook_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	struct hook_run *r = h->run;
	struct timeval tv;
	char d[32];

	if (!r->termed) {
		r->termed = 1;
		tstime_format_duration(h->cf->timeout, d, sizeof d);
		log_warnx("hook %s: event %" PRIu64 ": still running after %s; SIGTERM to its "
		          "process group",
		          h->cf->name, h->ev_seq, d);
		kill(-r->pid, SIGTERM);
		tv.tv_sec = (time_t)(h->cf->kill_grace / TSTIME_SEC);
		tv.tv_usec = (suseconds_t)(h->cf->kill_grace % TSTIME_SEC);
		evtimer_add(r->kill_ev, &tv);
		return;
	}
	log_warnx("hook %s: event %" PRIu64 ": SIGKILL to its process group", h->cf->name,
	          h->ev_seq);
	kill(-r->pid, SIGKILL);
}

static void
hook_start(struct hook *h)
{
	struct hooks *hk = h->hk;
	struct hook_run *r = xcalloc(1, sizeof *r);
	struct timeval tv = {0, HOOKS_WAIT_POLL_MS * 1000};
	int err;

	h->state = HOOK_RUNNING;
	h->run = r;
	h->last_run = tstime_now();
	hk->running++;
	r->in_fd = r->out_fd = r->pidfd = -1;
	if ((err = hook_spawn(h, r)) != 0) {
		hook_finish(h, -1, xasprintf("cannot run %s: %s", h->cf->exec, strerror(err)));
		return;
	}
	log_debug("hook %s: event %" PRIu64 " (%s): started %s, pid %d", h->cf->name, h->ev_seq,
	          hook_type(h), h->cf->exec, (int)r->pid);
	/* A pidfd says when the child exits without a SIGCHLD handler, and cannot be fooled by
	 * pid reuse; without one (an old kernel), waitpid is polled. */
	if ((r->pidfd = pidfd_open(r->pid, 0)) != -1) {
		r->exit_ev = event_new(hk->base, r->pidfd, EV_READ, hook_exit_cb, h);
		event_add(r->exit_ev, NULL);
	} else {
		r->exit_ev = evtimer_new(hk->base, hook_exit_cb, h);
		event_add(r->exit_ev, &tv);
	}
	r->out_ev = event_new(hk->base, r->out_fd, EV_READ | EV_PERSIST, hook_out_cb, h);
	event_add(r->out_ev, NULL);
	r->kill_ev = evtimer_new(hk->base, hook_kill_cb, h);
	tv.tv_sec = (time_t)(h->cf->timeout / TSTIME_SEC);
	tv.tv_usec = (suseconds_t)(h->cf->timeout % TSTIME_SEC);
	evtimer_add(r->kill_ev, &tv);
	hook_write_in(h);
}

/* Starts queued hooks while slots are free. Not re-entered: a hook that fails at once and
 * queues again is taken by the loop below, not by a deeper call. */
static void
hooks_pump(struct hooks *hk)
{
	struct hook *h;

	if (hk->pumping)
		return;
	hk->pumping = 1;
	while (hk->running < (size_t)hk->cf->hook_concurrency &&
	       (h = TAILQ_FIRST(&hk->ready)) != NULL) {
		TAILQ_REMOVE(&hk->ready, h, entry);
		hook_start(h);
	}
	hk->pumping = 0;
}

/* A hook of configuration CF, not yet started: its cursor is read by hooks_cursors. */
static struct hook *
hook_new(struct hooks *hk, const struct config_hook *cf)
{
	struct hook *h = xcalloc(1, sizeof *h);

	h->hk = hk;
	h->cf = cf;
	h->last_run = h->next_retry = TSTIME_NONE;
	h->last_exit = -1;
	h->timer = evtimer_new(hk->base, hook_timer_cb, h);
	return h;
}

/* Frees H, whose script no longer runs (hooks_stop). */
static void
hook_free(struct hook *h)
{
	if (h == NULL)
		return;
	if (h->state == HOOK_QUEUED)
		TAILQ_REMOVE(&h->hk->ready, h, entry);
	if (h->run != NULL)
		h->hk->running--;
	hook_run_free(h->run);
	if (h->timer != NULL)
		event_free(h->timer);
	hook_drop_event(h);
	free(h->last_error);
	free(h);
}

/* Reads the cursors of the N hooks in LIST from the store; a hook without one starts at the
 * newest event (it is not handed the whole past), and that is written. 0, or -1 and *cause. */
static int
hooks_cursors(struct hooks *hk, struct hook **list, size_t n, char **cause)
{
	struct hook *h, **fresh;
	struct store_txn *txn;
	struct store_key k;
	struct store_val v;
	uint64_t last = 0;
	size_t nfresh = 0;
	int rc;

	if (n == 0)
		return 0;
	if (event_last_seq(hk->st, &last, cause) != 0)
		return -1;
	if (store_read_begin(hk->st, &txn, cause) != 0)
		return -1;
	fresh = xcalloc(n, sizeof *fresh);
	for (size_t i = 0; i < n; i++) {
		h = list[i];
		hook_key(h, &k);
		rc = store_get(txn, STORE_HOOKPOS, &k, &v, cause);
		if (rc == -1) {
			store_read_end(txn);
			free(fresh);
			return -1;
		}
		if (rc == 0 && hook_cursor_parse(h, v.data, v.len) == 0) {
			if (h->attempts > 0 && h->last_run != TSTIME_NONE)
				h->next_retry = h->last_run + hook_backoff(h->cf, h->attempts);
			continue;
		}
		if (rc == 0)
			log_warnx(
			    "hook %s: its cursor cannot be read; starting after event %" PRIu64,
			    h->cf->name, last);
		else
			log_info("hook %s: new; starting after event %" PRIu64, h->cf->name, last);
		h->seq = last;
		h->stored_seq = UINT64_MAX;
		fresh[nfresh++] = h;
	}
	store_read_end(txn);
	rc = nfresh > 0 ? hook_save(hk, fresh, nfresh, cause) : 0;
	free(fresh);
	return rc != 0 ? -1 : 0;
}

struct hooks *
hooks_new(struct event_base *base, const struct config *cf, struct store *st, char **cause)
{
	struct hooks *hk = xcalloc(1, sizeof *hk);

	hk->base = base;
	hk->cf = cf;
	hk->st = st;
	TAILQ_INIT(&hk->ready);
	hk->n = cf->nhooks;
	hk->hooks = xcalloc(hk->n + 1, sizeof *hk->hooks);
	for (size_t i = 0; i < hk->n; i++)
		hk->hooks[i] = hook_new(hk, &cf->hooks[i]);
	if (hooks_cursors(hk, hk->hooks, hk->n, cause) != 0) {
		hooks_free(hk);
		return NULL;
	}
	for (size_t i = 0; i < hk->n; i++)
		hook_look(hk->hooks[i]);
	return hk;
}

void
hooks_wake(struct hooks *hk)
{
	for (size_t i = 0; i < hk->n; i++) {
		if (hk->hooks[i]->state == HOOK_IDLE)
			hook_look(hk->hooks[i]);
	}
}

/* Stops the scripts of the N hooks in LIST that run: SIGTERM to each group, a short grace,
 * SIGKILL to each group, then reaps. Cursors stay where they are: the event is delivered again
 * when the hook next starts. */
static void
hooks_stop(struct hook **list, size_t n)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	int left = 0;

	for (size_t i = 0; i < n; i++) {
		if (list[i]->run != NULL && list[i]->run->pid > 0) {
			log_info("hook %s: stopping its run of event %" PRIu64, list[i]->cf->name,
			         list[i]->ev_seq);
			kill(-list[i]->run->pid, SIGTERM);
			left++;
		}
	}
	for (int ms = 0; left > 0 && ms < HOOKS_STOP_GRACE_MS; ms += 10) {
		left = 0;
		for (size_t i = 0; i < n; i++)
			if (list[i]->run != NULL && list[i]->run->pid > 0 &&
			    !hooks_exited(list[i]->run))
				left++;
		if (left > 0)
			nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		struct hook_run *r = list[i]->run;

		if (r == NULL || r->pid <= 0)
			continue;
		kill(-r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
}

void
hooks_free(struct hooks *hk)
{
	if (hk == NULL)
		return;
	hooks_stop(hk->hooks, hk->n);
	for (size_t i = 0; i < hk->n; i++)
		hook_free(hk->hooks[i]);
	free(hk->hooks);
	free(hk);
}

/* A kept hook takes its new configuration CF. An event in hand that its new globs no longer
 * match is let go unless it runs (the run's end acknowledges it), and the next is looked for. */
static void
hook_retune(struct hook *h, const struct config_hook *cf)
{
	h->cf = cf;
	if (h->ev == NULL || h->state == HOOK_RUNNING || event_match_list(cf->events, hook_type(h)))
		return;
	if (h->state == HOOK_QUEUED)
		TAILQ_REMOVE(&h->hk->ready, h, entry);
	evtimer_del(h->timer);
	hook_drop_event(h);
	h->attempts = 0;
	h->next_retry = TSTIME_NONE;
	h->state = HOOK_IDLE;
	hook_look(h);
}

int
hooks_reconfigure(struct hooks *hk, const struct config *cf, char **cause)
{
	size_t n = cf->nhooks, nadded = 0, ngone = 0;
	struct hook **list = xcalloc(n + 1, sizeof *list), **added = xcalloc(n + 1, sizeof *added);
	struct hook **gone = xcalloc(hk->n + 1, sizeof *gone);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < hk->n; j++)
			if (strcmp(hk->hooks[j]->cf->name, cf->hooks[i].name) == 0)
				list[i] = hk->hooks[j];
		if (list[i] == NULL)
			list[i] = added[nadded++] = hook_new(hk, &cf->hooks[i]);
	}
	/* A new hook resumes from its cursor of an earlier life, as a restart would. */
	if (hooks_cursors(hk, added, nadded, cause) != 0) {
		for (size_t i = 0; i < nadded; i++)
			hook_free(added[i]);
		free(list);
		free(added);
		free(gone);
		return -1;
	}
	for (size_t j = 0; j < hk->n; j++)
		if (config_hook_find(cf, hk->hooks[j]->cf->name) == NULL)
			gone[ngone++] = hk->hooks[j];
	/* A removed hook stops as at shutdown; what it skipped over is remembered. */
	hooks_stop(gone, ngone);
	for (size_t j = 0; j < ngone; j++) {
		log_info("hook %s: removed; its cursor stays at event %" PRIu64, gone[j]->cf->name,
		         gone[j]->seq);
		if (gone[j]->seq != gone[j]->stored_seq)
			hook_write(gone[j]);
		hook_free(gone[j]);
	}
	for (size_t i = 0; i < n; i++)
		hook_retune(list[i], &cf->hooks[i]);
	free(hk->hooks);
	hk->hooks = list;
	hk->n = n;
	hk->cf = cf;
	for (size_t i = 0; i < nadded; i++)
		hook_look(added[i]);
	/* hook_concurrency may have grown. */
	hooks_pump(hk);
	free(added);
	free(gone);
	return 0;
}

struct hook_lag {
	const struct hook *h;
	size_t n, seen;
};

static int
hook_lag_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
	struct hook_lag *l = arg;
	json_t *ev = json_loadb(json, len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));

	l->seen++;
	if (type != NULL && event_match_list(l->h->cf->events, type))
		l->n++;
	json_decref(ev);
	return 0;
}

static json_t *
hook_status(const struct hook *h)
{
	struct hook_lag lag = {.h = h};
	char *cause = NULL;
	json_t *j, *parked;

	if (event_scan(h->hk->st, h->seq, HOOKS_LAG_MAX, hook_lag_cb, &lag, &cause) != 0) {
		log_warnx("hook %s: cannot count its lag: %s", h->cf->name,
		          cause != NULL ? cause : "store error");
		free(cause);
	}
	parked = json_array();
	for (size_t i = 0; i < h->nparked; i++)
		json_array_append_new(parked, json_integer((json_int_t)h->parked[i]));
	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:o, s:o, s:o, s:i, s:o, s:o, s:I}",
	              "name", h->cf->name, "exec", h->cf->exec, "events", h->cf->events, "cursor",
	              (json_int_t)h->seq, "lag", (json_int_t)lag.n, "lag_capped",
	              lag.seen >= HOOKS_LAG_MAX, "running", h->state == HOOK_RUNNING, "last_run",
	              tstime_json(h->last_run), "last_exit",
	              h->last_exit >= 0 ? json_integer(h->last_exit) : json_null(), "last_error",
	              h->last_error != NULL ? json_string(h->last_error) : json_null(), "attempts",
	              h->attempts, "next_retry",
	              tstime_json(h->state == HOOK_RETRY ? h->next_retry : TSTIME_NONE), "parked",
	              parked, "parked_total", (json_int_t)h->parked_total);
	/* The event in hand: running, queued for a slot, or waiting for its retry. */
	if (h->ev != NULL)
		json_object_set_new(j, "event", json_integer((json_int_t)h->ev_seq));
	if (h->run != NULL)
		json_object_set_new(j, "pid", json_integer(h->run->pid));
	return j;
}

json_t *
hooks_status(struct hooks *hk)
{
	json_t *list = json_array();
	uint64_t last = 0;
	char *cause = NULL;

	for (size_t i = 0; i < hk->n; i++)
		json_array_append_new(list, hook_status(hk->hooks[i]));
	if (event_last_seq(hk->st, &last, &cause) != 0) {
		log_warnx("hooks: cannot read the last event: %s", cause != NULL ? cause : "?");
		free(cause);
	}
	return json_pack("{s:o, s:I}", "hooks", list, "last_seq", (json_int_t)last);
}

void
hooks_stats(struct hooks *hk, hooks_stat_fn fn, void *arg)
{
	for (size_t i = 0; hk != NULL && i < hk->n; i++) {
		const struct hook *h = hk->hooks[i];
		struct hooks_stat st = {.name = h->cf->name,
		                        .cursor = h->seq,
		                        .runs = h->runs,
		                        .failed_runs = h->failed_runs,
		                        .parked_total = h->parked_total,
		                        .running = h->state == HOOK_RUNNING};

		fn(arg, &st);
	}
}
