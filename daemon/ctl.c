/* ctl.c: the Unix-socket server: accepts clients, frames request lines, dispatches replies. */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "ctl.h"
#include "log.h"
#include "proto.h"
#include "sbuf.h"

#define CTL_BACKLOG 128
/* Requests served for one client in one go before the others get a turn (memcached's
 * reqs_per_event). */
#define CTL_LINES_PER_TURN 32
/* No further request is read while more than this waits to be sent to a client that does not
 * read its replies. */
#define CTL_OUT_HIGH (256 * 1024)
/* A sliced reply's next part is made once the output is down to this, and is about this big:
 * a turn of the loop spends well under a millisecond on it. */
#define CTL_SLICE (64 * 1024)
/* A line of PROTO_MAX_LINE bytes and its "\r\n": the most a client can make us buffer. */
#define CTL_IN_MAX (PROTO_MAX_LINE + 2)
#define CTL_ACCEPT_PAUSE 1 /* seconds without accept() after EMFILE or ENFILE */
#define CTL_DIR_MODE 0750
#define CTL_PEER_GROUPS 64 /* supplementary groups read at once; more take a second call */
/* Refused connections are logged once per uid, then counted and summed up each minute. */
#define CTL_REFUSED_SLOTS 32
#define CTL_REFUSED_PERIOD 60 /* seconds */

struct ctl_client {
	struct ctl *ctl;
	struct bufferevent *bev; /* NULL once dead */
	struct event *more;      /* serves further buffered lines on the next loop turn */
	/* Replies made while ctl_client_run serves buffered lines, sent together when it ends:
	 * pipelined requests then cost one send() a turn, not one each. Moved in front of any
	 * other output (ctl_out), so that the order of lines is the order they were made. */
	struct evbuffer *pend;
	uid_t uid;
	pid_t pid;
	int may_write;             /* may run PROTO_F_WRITE ops (admin_group) */
	struct ctl_req *req;       /* the request with the handler, if any */
	int running;               /* inside ctl_client_run: a reply then only clears req */
	int eof;                   /* the peer sends nothing more */
	int closing;               /* closed once the output is flushed */
	int dead;                  /* gone while a request was pending: its reply frees us */
	struct ctl_stream *stream; /* events.follow: lines come from the feed, input is ignored */
	struct ctl_slicer *slicer; /* the reply to req being written a slice at a time */
	TAILQ_ENTRY(ctl_client) entry;
};

struct ctl_slicer {
	ctl_slice_fn fn;
	void (*done)(void *);
	void *arg;
};

struct ctl_stream {
	struct ctl_client *client;
	ctl_stream_fn drained, closed;
	void *arg;
};

struct ctl {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *resume; /* re-enables accept() after a pause */
	ctl_dispatch_fn fn;
	void *arg;
	char *path; /* the socket file when ctl created it */
	dev_t dev;
	ino_t ino;
	int max_clients;
	int max_per_uid;
	struct timeval timeout;
	int has_timeout;
	TAILQ_HEAD(, ctl_client) clients;
	size_t nclients;
	TAILQ_HEAD(, ctl_client) dead; /* gone, each waiting for its request's reply */
	ctl_guard_fn guard;            /* asked before each successful reply, or NULL */
	void *guard_arg;
	char *admin_group; /* NULL: every client may write */
	gid_t admin_gid;
	struct ctl_refused {
		uid_t uid;
		unsigned long count; /* refused since the last line about this uid */
	} refused[CTL_REFUSED_SLOTS];
	size_t nrefused;            /* uids refused within the current period */
	unsigned long refused_more; /* refusals of further uids when the slots are full */
	struct event *refused_timer;
	uint64_t accepted, refused_total; /* connections since start, for the metrics */
};

static void ctl_client_run(struct ctl_client *);
static void ctl_client_close(struct ctl_client *);
static void ctl_slicer_run(struct ctl_client *);
static void ctl_req_free(struct ctl_req *);

/* Ends C's sliced reply, however it ended; its request goes with it. */
static void
ctl_slicer_end(struct ctl_client *c)
{
	struct ctl_slicer *s = c->slicer;

	c->slicer = NULL;
	s->done(s->arg);
	free(s);
	ctl_req_free(c->req);
	c->req = NULL;
	if (c->bev != NULL)
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

/* Creates the socket's directory if missing; refuses one that others could use to swap the
 * socket (tmux's rule: ours, and not writable by group or others). */
static int
ctl_check_dir(const char *path, const gid_t *gid, char **cause)
{
	struct stat st;
	char *dir, *slash;
	int rc = -1;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';

	if (mkdir(dir, CTL_DIR_MODE) == 0) {
		/* The umask may have taken bits we want; the group lets its members reach the
		 * socket. */
		if (chmod(dir, CTL_DIR_MODE) != 0 ||
		    (gid != NULL && chown(dir, (uid_t)-1, *gid) != 0)) {
			*cause = xasprintf("%s: %s", dir, strerror(errno));
			goto out;
		}
		log_info("created socket directory %s", dir);
	} else if (errno != EEXIST) {
		*cause = xasprintf("cannot create socket directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if (stat(dir, &st) != 0) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		*cause = xasprintf("socket directory %s is not a directory", dir);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		*cause = xasprintf("socket directory %s is owned by uid %u, not by us (uid %u)",
		                   dir, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*cause = xasprintf("socket directory %s is writable by group or others (mode %04o)",
		                   dir, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	rc = 0;
out:
	free(dir);
	return rc;
}

/* Removes a socket file left by a daemon that died, but never one a live daemon answers on. */
static int
ctl_clear_stale(const struct sockaddr_un *sun, char **cause)
{
	const char *path = sun->sun_path;
	struct stat st;
	int fd, rc, error;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*cause = xasprintf("%s exists and is not a socket", path);
		return -1;
	}
	/* Non-blocking: a live daemon with a full backlog answers EAGAIN rather than hanging us. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	error = errno;
	close(fd);
	if (rc == 0 || error == EAGAIN || error == EINPROGRESS) {
		*cause = xasprintf("another tsinvd is listening on %s", path);
		return -1;
	}
	if (error != ECONNREFUSED && error != ENOENT) {
		*cause = xasprintf("cannot check existing socket %s: %s", path, strerror(error));
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		*cause = xasprintf("cannot remove stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	log_info("removed stale socket %s", path);
	return 0;
}

/* Binds cf->socket with its final owner group and mode; the socket fd, or -1 and *cause. */
static int
ctl_bind(struct ctl *ctl, const struct config *cf, char **cause)
{
	struct sockaddr_un sun;
	struct group *gr;
	struct stat st;
	gid_t gid = 0;
	mode_t old;
	int fd, have_gid = 0;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (cf->socket == NULL || *cf->socket == '\0') {
		*cause = xasprintf("no socket path");
		return -1;
	}
	if (strlen(cf->socket) >= sizeof sun.sun_path) {
		*cause = xasprintf("socket path too long (at most %zu bytes): %s",
		                   sizeof sun.sun_path - 1, cf->socket);
		return -1;
	}
	strcpy(sun.sun_path, cf->socket);

	if (cf->socket_group != NULL) {
		errno = 0;
		if ((gr = getgrnam(cf->socket_group)) == NULL) {
			*cause = xasprintf("socket_group %s: %s", cf->socket_group,
			                   errno != 0 ? strerror(errno) : "no such group");
			return -1;
		}
		gid = gr->gr_gid;
		have_gid = 1;
	}
	if (ctl_check_dir(sun.sun_path, have_gid ? &gid : NULL, cause) != 0)
		return -1;
	if (ctl_clear_stale(&sun, cause) != 0)
		return -1;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	/* Owner-only from the start: there is no moment when the file is more open than asked. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		umask(old);
		*cause = xasprintf("bind %s: %s", sun.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (lstat(sun.sun_path, &st) != 0) {
		*cause = xasprintf("%s: %s", sun.sun_path, strerror(errno));
		goto fail;
	}
	/* The group before the mode, so that group access never applies to the wrong group; and
	 * only when it differs, as a sandbox may forbid chown() altogether. */
	if (have_gid && st.st_gid != gid && chown(sun.sun_path, (uid_t)-1, gid) != 0) {
		*cause = xasprintf("cannot give %s to group %s: %s", sun.sun_path, cf->socket_group,
		                   strerror(errno));
		goto fail;
	}
	if (chmod(sun.sun_path, cf->socket_mode & 0777) != 0) {
		*cause = xasprintf("chmod %s: %s", sun.sun_path, strerror(errno));
		goto fail;
	}
	ctl->path = xstrdup(sun.sun_path);
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	return fd;
fail:
	unlink(sun.sun_path);
	close(fd);
	return -1;
}

/* Frees the client now; one with a request still pending becomes dead instead, so that the
 * handler's ctl_req stays valid until its reply, which then frees both. */
static void
ctl_client_close(struct ctl_client *c)
{
	struct ctl *ctl = c->ctl;

	if (c->dead)
		return;
	log_debug("client uid=%u pid=%d closed", (unsigned)c->uid, (int)c->pid);
	if (c->stream != NULL) {
		struct ctl_stream *st = c->stream;

		c->stream = NULL;
		st->closed(st->arg);
		free(st);
	}
	/* A sliced reply is ours, not a handler's: it ends here, cut. */
	if (c->slicer != NULL)
		ctl_slicer_end(c);
	TAILQ_REMOVE(&ctl->clients, c, entry);
	ctl->nclients--;
	bufferevent_free(c->bev);
	event_free(c->more);
	evbuffer_free(c->pend);
	c->pend = NULL;
	c->bev = NULL;
	c->more = NULL;
	if (c->req != NULL) {
		c->dead = 1;
		TAILQ_INSERT_TAIL(&ctl->dead, c, entry);
	} else
		free(c);
}

static void
ctl_req_free(struct ctl_req *req)
{
	json_decref(req->id);
	json_decref(req->args);
	free(req);
}

/* What waits to go to C: the bufferevent's output and the replies not yet sent. */
static size_t
ctl_queued(struct ctl_client *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) + evbuffer_get_length(c->pend);
}

/* Queues DATA on the bufferevent behind the replies in pend: every write to the bufferevent
 * goes through here. 0, or -1. */
static int
ctl_out(struct ctl_client *c, const void *data, size_t len)
{
	if (evbuffer_get_length(c->pend) != 0 && bufferevent_write_buffer(c->bev, c->pend) != 0)
		return -1;
	return len == 0 ? 0 : bufferevent_write(c->bev, data, len);
}

/* Sends the pending replies: at once, with send(), what the socket takes when nothing is
 * queued before them, so that a small reply costs one system call and neither the write event
 * nor the read event is switched on and off for it. The rest, or all when the socket is full or
 * failed, goes through the bufferevent, whose callbacks handle it as they always have. */
static void
ctl_client_flush(struct ctl_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (evbuffer_get_length(c->pend) == 0)
		return;
	while (evbuffer_get_length(out) == 0 && !c->closing && evbuffer_get_length(c->pend) != 0) {
		size_t n = evbuffer_get_length(c->pend);
		ssize_t w = send(fd, evbuffer_pullup(c->pend, (ev_ssize_t)n), n,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0)
			evbuffer_drain(c->pend, (size_t)w);
		else if (w < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	if (ctl_out(c, NULL, 0) != 0) {
		log_warnx("client uid=%u pid=%d: cannot queue a reply", (unsigned)c->uid,
		          (int)c->pid);
		c->closing = 1;
	}
}

/* Queues reply LINE (malloc'd; NULL when it could not be made), sent when the serving of
 * buffered lines ends, or now when none is being served. */
static void
ctl_client_write(struct ctl_client *c, char *line, size_t len)
{
	if (line == NULL || evbuffer_add(c->pend, line, len) != 0) {
		log_warnx("client uid=%u pid=%d: cannot queue a reply", (unsigned)c->uid,
		          (int)c->pid);
		c->closing = 1;
	}
	free(line);
	if (!c->running)
		ctl_client_flush(c);
}

/* An error reply that no handler saw: framing and parse errors. */
static void
ctl_client_error(struct ctl_client *c, json_t *id, const char *code, const char *message)
{
	size_t len = 0;
	char *line;

	line = proto_reply_err(id, code, message, &len);
	ctl_client_write(c, line, len);
}

/* One request line (without its end of line): parsed, then handed to the dispatcher. */
static void
ctl_client_request(struct ctl_client *c, const char *line, size_t len)
{
	struct proto_request preq;
	struct ctl_req *req;
	char *cause = NULL;
	int op;

	if (proto_parse_request(line, len, &preq, &cause) != 0) {
		log_debug("client uid=%u pid=%d: bad request: %s", (unsigned)c->uid, (int)c->pid,
		          cause);
		ctl_client_error(c, preq.id, PROTO_E_BAD_REQUEST, cause);
		free(cause);
		proto_request_free(&preq);
		return;
	}
	if ((op = proto_op_find(preq.op)) < 0) {
		ctl_client_error(c, preq.id, PROTO_E_UNKNOWN_OP, "unknown op");
		proto_request_free(&preq);
		return;
	}
	log_debug("client uid=%u pid=%d: %s", (unsigned)c->uid, (int)c->pid, proto_ops[op].name);
	if ((proto_ops[op].flags & PROTO_F_WRITE) && !c->may_write) {
		log_debug("client uid=%u pid=%d: %s forbidden", (unsigned)c->uid, (int)c->pid,
		          proto_ops[op].name);
		cause =
		    xasprintf("%s changes the store: only root, the daemon's user and members of "
		              "group %s (admin_group) may run it, and uid %u is none of them",
		              proto_ops[op].name, c->ctl->admin_group, (unsigned)c->uid);
		ctl_client_error(c, preq.id, PROTO_E_FORBIDDEN, cause);
		free(cause);
		proto_request_free(&preq);
		return;
	}
	/* One check of the args against the op's spec, so that no handler sees a stray member. */
	if (proto_check_args(&proto_ops[op], preq.args, &cause) != 0) {
		ctl_client_error(c, preq.id, PROTO_E_BAD_REQUEST, cause);
		free(cause);
		proto_request_free(&preq);
		return;
	}

	req = xcalloc(1, sizeof *req);
	req->client = c;
	req->op = op;
	req->id = json_incref(preq.id);
	req->args = json_incref(preq.args);
	req->uid = c->uid;
	req->pid = c->pid;
	proto_request_free(&preq);

	c->req = req;
	c->ctl->fn(req, c->ctl->arg);
}

/* Serves the next buffered line if there is one: 1 when input was consumed, else 0. */
static int
ctl_client_line(struct ctl_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr end, eol;
	size_t have, limit, len, skip;
	const char *data;
	char *msg;

	if ((have = evbuffer_get_length(in)) == 0)
		return 0;
	/* The search is bounded by the line limit, so an endless line costs one scan of at most
	 * CTL_IN_MAX bytes (the read watermark keeps the buffer there). */
	limit = have < CTL_IN_MAX ? have : CTL_IN_MAX;
	if (evbuffer_ptr_set(in, &end, limit, EVBUFFER_PTR_SET) != 0)
		fatalx("ctl: evbuffer_ptr_set failed");
	eol = evbuffer_search_range(in, "\n", 1, NULL, &end);
	if (eol.pos >= 0) {
		len = (size_t)eol.pos;
		skip = len + 1;
	} else if (have > PROTO_MAX_LINE + 1)
		goto too_large;
	else if (c->eof) {
		/* The last line may lack its newline: the peer has said all it will. */
		len = skip = have;
	} else
		return 0;

	if ((data = (const char *)evbuffer_pullup(in, (ev_ssize_t)skip)) == NULL)
		fatalx("ctl: evbuffer_pullup failed");
	if (len > 0 && data[len - 1] == '\r')
		len--;
	if (len > PROTO_MAX_LINE)
		goto too_large;
	if (len > 0)
		ctl_client_request(c, data, len);
	evbuffer_drain(in, skip);
	return 1;

too_large:
	log_debug("client uid=%u pid=%d: request line too long", (unsigned)c->uid, (int)c->pid);
	msg = xasprintf("request line longer than %d bytes", PROTO_MAX_LINE);
	ctl_client_error(c, NULL, PROTO_E_TOO_LARGE, msg);
	free(msg);
	evbuffer_drain(in, have);
	c->closing = 1;
	return 1;
}

/* Writes the next slice of C's reply if the client has read most of the last; after the last
 * one, serves its next request. May free c. */
static void
ctl_slicer_run(struct ctl_client *c)
{
	struct ctl_slicer *s = c->slicer;
	struct sbuf sb;
	int rc;

	if (ctl_queued(c) > CTL_SLICE)
		return; /* the write callback comes back when it is down to CTL_SLICE */
	sbuf_init(&sb);
	sbuf_adds(&sb, "");
	rc = s->fn(s->arg, &sb, CTL_SLICE);
	if (rc == -1 || memchr(sb.p, '\n', sb.len) != NULL || memchr(sb.p, '\0', sb.len) != NULL) {
		/* Half a reply is out: only closing says it is cut. */
		log_warnx("client uid=%u pid=%d: %s: the reply could not be written; cut",
		          (unsigned)c->uid, (int)c->pid, proto_ops[c->req->op].name);
		rc = -1;
	} else if (rc == 0)
		sbuf_adds(&sb, "}\n");
	if (rc != -1 && ctl_out(c, sb.p, sb.len) != 0) {
		log_warnx("client uid=%u pid=%d: cannot queue a reply", (unsigned)c->uid,
		          (int)c->pid);
		rc = -1;
	}
	sbuf_free(&sb);
	if (rc == 1)
		return;
	/* Done, or cut: what was queued goes out, then a cut reply's connection is closed (not
	 * here: a caller up the stack may still use c). */
	ctl_slicer_end(c);
	if (rc == -1)
		c->closing = 1;
	ctl_client_run(c);
}

/* Serves buffered lines until a request is pending, the input runs dry or the client's turn
 * ends; then sets what to wait for. May free c. */
static void
ctl_client_run(struct ctl_client *c)
{
	struct evbuffer *out;
	int n = 0;

	if (c->running)
		return;
	if (c->slicer != NULL) {
		ctl_slicer_run(c);
		return;
	}
	if (c->stream != NULL) {
		/* A stream reads nothing more: input is dropped, EOF ends it. */
		struct evbuffer *in = bufferevent_get_input(c->bev);

		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->eof || c->closing)
			ctl_client_close(c);
		return;
	}
	c->running = 1;
	out = bufferevent_get_output(c->bev);
	/* A request that turned the connection into a stream ends the serving of requests. */
	while (c->req == NULL && c->stream == NULL && !c->closing) {
		if (evbuffer_get_length(c->pend) > CTL_SLICE)
			ctl_client_flush(c);
		if (evbuffer_get_length(out) > CTL_OUT_HIGH)
			break; /* ctl_write_cb comes back once it is sent */
		if (n++ == CTL_LINES_PER_TURN) {
			event_active(c->more, EV_TIMEOUT, 1);
			break;
		}
		if (ctl_client_line(c) == 0) {
			if (c->eof)
				c->closing = 1;
			break;
		}
	}
	c->running = 0;
	ctl_client_flush(c);
	if (c->stream != NULL) {
		/* Whatever followed the follow request is ignored; reading stays on to see EOF. */
		struct evbuffer *in = bufferevent_get_input(c->bev);

		evbuffer_drain(in, evbuffer_get_length(in));
		bufferevent_enable(c->bev, EV_READ);
		return;
	}

	/* One request at a time: the next is not even read while one is pending or its reply is
	 * still being sent, so that the read timeout measures idleness alone (the write timeout
	 * covers a client that does not read). */
	if (c->req != NULL || c->closing || c->eof || evbuffer_get_length(out) != 0)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
	if (c->closing && c->req == NULL && evbuffer_get_length(out) == 0)
		ctl_client_close(c);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	ctl_client_run(arg);
}

/* Called when the output has been flushed: a client closing can go, a blocked one continue. */
static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;

	if (c->stream != NULL) {
		c->stream->drained(c->stream->arg);
		return;
	}
	ctl_client_run(c);
}

static void
ctl_more_cb(evutil_socket_t fd, short events, void *arg)
{
	ctl_client_run(arg);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client *c = arg;
	int error = EVUTIL_SOCKET_ERROR();

	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
		/* A half-close: answer what was sent, then close. */
		c->eof = 1;
		ctl_client_run(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("client uid=%u pid=%d: timed out", (unsigned)c->uid, (int)c->pid);
	else if (what & BEV_EVENT_ERROR)
		log_debug("client uid=%u pid=%d: %s", (unsigned)c->uid, (int)c->pid,
		          evutil_socket_error_to_string(error));
	ctl_client_close(c);
}

static size_t
ctl_count_uid(const struct ctl *ctl, uid_t uid)
{
	const struct ctl_client *c;
	size_t n = 0;

	TAILQ_FOREACH(c, &ctl->clients, entry)
	{
		if (c->uid == uid)
			n++;
	}
	return n;
}

/* Whether the peer may run write ops: no admin_group, root, our own uid, or a member by its
 * primary or supplementary groups as the kernel saw them at connect. */
static int
ctl_may_write(const struct ctl *ctl, evutil_socket_t fd, const struct ucred *cred)
{
	gid_t buf[CTL_PEER_GROUPS], *groups = buf;
	socklen_t len = sizeof buf;
	size_t i;
	int ok = 0;

	if (ctl->admin_group == NULL || cred->uid == 0 || cred->uid == geteuid() ||
	    cred->gid == ctl->admin_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
		if (errno != ERANGE) {
			log_warn("getsockopt(SO_PEERGROUPS)");
			return 0;
		}
		groups = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
			log_warn("getsockopt(SO_PEERGROUPS)");
			free(groups);
			return 0;
		}
	}
	for (i = 0; i < len / sizeof *groups; i++)
		if (groups[i] == ctl->admin_gid)
			ok = 1;
	if (groups != buf)
		free(groups);
	return ok;
}

/* A connection refused for too many connections: the first of a uid in a period is logged, the
 * rest are counted and summed up by ctl_refused_cb (a flood made 2,800 lines in 8 s). */
static void
ctl_refused(struct ctl *ctl, const struct ucred *cred)
{
	struct timeval tv = {CTL_REFUSED_PERIOD, 0};
	size_t i;

	ctl->refused_total++;
	for (i = 0; i < ctl->nrefused; i++)
		if (ctl->refused[i].uid == cred->uid) {
			ctl->refused[i].count++;
			return;
		}
	if (ctl->nrefused == CTL_REFUSED_SLOTS) {
		ctl->refused_more++;
		return;
	}
	ctl->refused[ctl->nrefused++] = (struct ctl_refused){.uid = cred->uid};
	log_warnx("client uid=%u pid=%d refused: too many connections (more from uid %u are "
	          "counted for %d s)",
	          (unsigned)cred->uid, (int)cred->pid, (unsigned)cred->uid, CTL_REFUSED_PERIOD);
	if (!evtimer_pending(ctl->refused_timer, NULL))
		evtimer_add(ctl->refused_timer, &tv);
}

/* Each period: one line per uid still being refused, with its count; a uid refused no more is
 * forgotten, so that its next refusal is logged at once. */
static void
ctl_refused_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl *ctl = arg;
	struct timeval tv = {CTL_REFUSED_PERIOD, 0};
	size_t i = 0;

	while (i < ctl->nrefused) {
		struct ctl_refused *r = &ctl->refused[i];

		if (r->count == 0) {
			*r = ctl->refused[--ctl->nrefused];
			continue;
		}
		log_warnx("client uid=%u: %lu more connections refused in %d s: too many "
		          "connections",
		          (unsigned)r->uid, r->count, CTL_REFUSED_PERIOD);
		r->count = 0;
		i++;
	}
	if (ctl->refused_more > 0) {
		log_warnx(
		    "%lu more connections of other uids refused in %d s: too many connections",
		    ctl->refused_more, CTL_REFUSED_PERIOD);
		ctl->refused_more = 0;
	}
	if (ctl->nrefused > 0)
		evtimer_add(ctl->refused_timer, &tv);
}

static void
ctl_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
              void *arg)
{
	struct ctl *ctl = arg;
	struct ctl_client *c;
	struct bufferevent *bev;
	struct ucred cred;
	socklen_t credlen = sizeof cred;
	size_t len = 0;
	char *line;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) != 0) {
		log_warn("getsockopt(SO_PEERCRED)");
		close(fd);
		return;
	}
	if (ctl->nclients >= (size_t)ctl->max_clients ||
	    ctl_count_uid(ctl, cred.uid) >= (size_t)ctl->max_per_uid) {
		ctl_refused(ctl, &cred);
		/* A fresh socket's buffer takes one short line; if not, the close says enough. */
		line = proto_reply_err(NULL, PROTO_E_BUSY, "too many connections", &len);
		if (line != NULL)
			(void)send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(line);
		close(fd);
		return;
	}
	if ((bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("client uid=%u pid=%d: cannot create a bufferevent", (unsigned)cred.uid,
		          (int)cred.pid);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->ctl = ctl;
	c->bev = bev;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->may_write = ctl_may_write(ctl, fd, &cred);
	if ((c->more = event_new(ctl->base, -1, 0, ctl_more_cb, c)) == NULL ||
	    (c->pend = evbuffer_new()) == NULL)
		fatalx("ctl: event_new failed");
	bufferevent_setcb(bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, c);
	bufferevent_setwatermark(bev, EV_READ, 0, CTL_IN_MAX);
	if (ctl->has_timeout)
		bufferevent_set_timeouts(bev, &ctl->timeout, &ctl->timeout);
	bufferevent_enable(bev, EV_READ);
	TAILQ_INSERT_TAIL(&ctl->clients, c, entry);
	ctl->nclients++;
	ctl->accepted++;
	log_debug("client uid=%u pid=%d", (unsigned)c->uid, (int)c->pid);
}

static void
ctl_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct ctl *ctl = arg;
	struct timeval tv = {CTL_ACCEPT_PAUSE, 0};
	int error = EVUTIL_SOCKET_ERROR();

	if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
		/* The pending connection stays queued; retrying at once would spin the loop. */
		log_warnx("accept: %s; not accepting for %d s", strerror(error), CTL_ACCEPT_PAUSE);
		evconnlistener_disable(l);
		evtimer_add(ctl->resume, &tv);
		return;
	}
	log_warnx("accept: %s", strerror(error));
}

static void
ctl_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl *ctl = arg;

	evconnlistener_enable(ctl->listener);
}

struct ctl *
ctl_new(struct event_base *base, const struct config *cf, int listen_fd, ctl_dispatch_fn fn,
        void *arg, char **cause)
{
	struct ctl *ctl;
	int fd, backlog;

	/* writev() to a client that has gone would otherwise kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	ctl = xcalloc(1, sizeof *ctl);
	ctl->base = base;
	ctl->fn = fn;
	ctl->arg = arg;
	ctl->max_clients = cf->max_clients > 0 ? cf->max_clients : 1;
	ctl->max_per_uid = cf->max_clients_per_uid > 0 ? cf->max_clients_per_uid : 1;
	if (cf->client_timeout > 0) {
		ctl->timeout.tv_sec = (time_t)(cf->client_timeout / 1000000);
		ctl->timeout.tv_usec = (suseconds_t)(cf->client_timeout % 1000000);
		ctl->has_timeout = 1;
	}
	TAILQ_INIT(&ctl->clients);
	TAILQ_INIT(&ctl->dead);
	if (cf->admin_group != NULL) {
		struct group *gr;

		errno = 0;
		if ((gr = getgrnam(cf->admin_group)) == NULL) {
			*cause = xasprintf("admin_group %s: %s", cf->admin_group,
			                   errno != 0 ? strerror(errno) : "no such group");
			free(ctl);
			return NULL;
		}
		ctl->admin_gid = gr->gr_gid;
		ctl->admin_group = xstrdup(cf->admin_group);
	}

	if (listen_fd >= 0) {
		fd = listen_fd;
		backlog = 0; /* systemd listens already */
		if (evutil_make_socket_nonblocking(fd) != 0) {
			*cause = xasprintf("listening socket %d: cannot make it non-blocking", fd);
			free(ctl->admin_group);
			free(ctl);
			return NULL;
		}
	} else {
		if ((fd = ctl_bind(ctl, cf, cause)) == -1) {
			free(ctl->admin_group);
			free(ctl);
			return NULL;
		}
		backlog = CTL_BACKLOG;
	}
	ctl->listener = evconnlistener_new(
	    base, ctl_accept_cb, ctl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, backlog, fd);
	if (ctl->listener == NULL) {
		*cause =
		    xasprintf("cannot listen on %s: %s",
		              ctl->path != NULL ? ctl->path : "the passed socket", strerror(errno));
		if (ctl->path != NULL) {
			unlink(ctl->path);
			close(fd);
		}
		free(ctl->path);
		free(ctl->admin_group);
		free(ctl);
		return NULL;
	}
	evconnlistener_set_error_cb(ctl->listener, ctl_accept_error_cb);
	if ((ctl->resume = evtimer_new(base, ctl_resume_cb, ctl)) == NULL ||
	    (ctl->refused_timer = evtimer_new(base, ctl_refused_cb, ctl)) == NULL)
		fatalx("ctl: evtimer_new failed");
	if (ctl->path != NULL)
		log_info("listening on %s", ctl->path);
	else
		log_info("listening on the socket passed by systemd");
	return ctl;
}

void
ctl_free(struct ctl *ctl)
{
	struct ctl_client *c;
	struct stat st;

	if (ctl == NULL)
		return;
	while ((c = TAILQ_FIRST(&ctl->clients)) != NULL)
		ctl_client_close(c);
	/* The loop has stopped: requests still pending die with us, unanswered. */
	while ((c = TAILQ_FIRST(&ctl->dead)) != NULL) {
		TAILQ_REMOVE(&ctl->dead, c, entry);
		ctl_req_free(c->req);
		free(c);
	}
	evconnlistener_free(ctl->listener);
	event_free(ctl->resume);
	event_free(ctl->refused_timer);
	free(ctl->admin_group);
	/* Only our own file: a daemon started since may have replaced it. */
	if (ctl->path != NULL && lstat(ctl->path, &st) == 0 && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino && unlink(ctl->path) != 0)
		log_warn("unlink %s", ctl->path);
	free(ctl->path);
	free(ctl);
}

size_t
ctl_nclients(const struct ctl *ctl)
{
	return ctl->nclients;
}

void
ctl_counts(const struct ctl *ctl, uint64_t *accepted, uint64_t *refused)
{
	*accepted = ctl->accepted;
	*refused = ctl->refused_total;
}

/* Ends REQ with LINE (malloc'd, may be NULL when it could not be built) and moves the client on
 * to its next request, or frees it when it died meanwhile. */
static void
ctl_req_finish(struct ctl_req *req, char *line, size_t len)
{
	struct ctl_client *c = req->client;

	c->req = NULL;
	ctl_req_free(req);
	if (c->dead) {
		TAILQ_REMOVE(&c->ctl->dead, c, entry);
		free(line);
		free(c);
		return;
	}
	ctl_client_write(c, line, len);
	ctl_client_run(c);
}

void
ctl_set_guard(struct ctl *ctl, ctl_guard_fn fn, void *arg)
{
	ctl->guard = fn;
	ctl->guard_arg = arg;
}

/* The guard's error instead of a successful reply: 1 when it was sent. */
static int
ctl_guarded(struct ctl_req *req)
{
	struct ctl *ctl = req->client->ctl;
	const char *code = NULL;
	char *msg = NULL;
	size_t len = 0;
	char *line;

	if (req->client->dead || ctl->guard == NULL ||
	    ctl->guard(req, ctl->guard_arg, &code, &msg) == 0)
		return 0;
	line = proto_reply_err(req->id, code, msg, &len);
	free(msg);
	ctl_req_finish(req, line, len);
	return 1;
}

void
ctl_reply(struct ctl_req *req, json_t *result)
{
	size_t len = 0;
	char *line = NULL;

	if (ctl_guarded(req)) {
		json_decref(result);
		return;
	}
	if (req->client->dead)
		json_decref(result);
	else
		line = proto_reply_ok(req->id, result, &len);
	ctl_req_finish(req, line, len);
}

void
ctl_reply_raw(struct ctl_req *req, const char *result_json, size_t rlen)
{
	size_t len = 0;
	char *line = NULL;

	if (ctl_guarded(req))
		return;
	if (!req->client->dead)
		line = proto_reply_ok_raw(req->id, result_json, rlen, &len);
	ctl_req_finish(req, line, len);
}

void
ctl_reply_sliced(struct ctl_req *req, ctl_slice_fn fn, void (*done)(void *), void *arg)
{
	struct ctl_client *c = req->client;
	struct ctl_slicer *s;
	struct sbuf sb;

	if (ctl_guarded(req)) {
		done(arg);
		return;
	}
	if (c->dead) {
		done(arg);
		ctl_req_finish(req, NULL, 0);
		return;
	}
	/* The reply's head as proto_reply_ok_raw writes it; the slices follow. */
	sbuf_init(&sb);
	sbuf_adds(&sb, "{\"id\":");
	if (req->id == NULL)
		sbuf_adds(&sb, "null");
	else {
		char *id = json_dumps(req->id, JSON_COMPACT | JSON_ENCODE_ANY);

		sbuf_adds(&sb, id != NULL ? id : "null");
		free(id);
	}
	sbuf_adds(&sb, ",\"ok\":true,\"result\":");
	if (ctl_out(c, sb.p, sb.len) != 0) {
		sbuf_free(&sb);
		done(arg);
		ctl_req_finish(req, NULL, 0);
		return;
	}
	sbuf_free(&sb);
	s = xcalloc(1, sizeof *s);
	s->fn = fn;
	s->done = done;
	s->arg = arg;
	c->slicer = s;
	/* The write callback asks for the next slice whenever the output is down to CTL_SLICE. */
	bufferevent_setwatermark(c->bev, EV_WRITE, CTL_SLICE, 0);
	ctl_slicer_run(c);
}

void
ctl_reply_err(struct ctl_req *req, const char *code, const char *fmt, ...)
{
	va_list ap;
	size_t len = 0;
	char *line = NULL, *msg;

	if (!req->client->dead) {
		va_start(ap, fmt);
		msg = xvasprintf(fmt, ap);
		va_end(ap);
		line = proto_reply_err(req->id, code, msg, &len);
		free(msg);
	}
	ctl_req_finish(req, line, len);
}

void
ctl_reply_err_data(struct ctl_req *req, const char *code, json_t *data, const char *msg)
{
	size_t len = 0;
	char *line = NULL;

	if (!req->client->dead)
		line = proto_reply_err_data(req->id, code, msg, data, &len);
	ctl_req_finish(req, line, len);
}

void
ctl_progress(struct ctl_req *req, json_t *progress)
{
	struct ctl_client *c = req->client;
	size_t len = 0;
	char *line;

	if (c->dead || !json_is_true(json_object_get(req->args, "progress")) ||
	    ctl_queued(c) > CTL_OUT_HIGH) {
		json_decref(progress);
		return;
	}
	if ((line = proto_progress(req->id, progress, &len)) == NULL)
		return;
	if (ctl_out(c, line, len) != 0)
		log_debug("client uid=%u pid=%d: cannot queue a progress frame", (unsigned)c->uid,
		          (int)c->pid);
	free(line);
}

struct ctl_stream *
ctl_stream_start(struct ctl_req *req, json_t *result, ctl_stream_fn drained, ctl_stream_fn closed,
                 void *arg)
{
	struct ctl_client *c = req->client;
	struct ctl_stream *st;
	struct timeval *wr;
	size_t len = 0;
	char *line;

	if (c->dead || c->stream != NULL) {
		/* Gone, or a stream already (cannot happen: a stream serves no request). */
		json_decref(result);
		ctl_req_finish(req, NULL, 0);
		return NULL;
	}
	line = proto_reply_ok(req->id, result, &len);
	c->req = NULL;
	ctl_req_free(req);
	st = xcalloc(1, sizeof(*st));
	st->client = c;
	st->drained = drained;
	st->closed = closed;
	st->arg = arg;
	c->stream = st;
	ctl_client_write(c, line, len);
	/* A follower may be quiet for days: only the write side keeps its timeout. */
	wr = c->ctl->has_timeout ? &c->ctl->timeout : NULL;
	bufferevent_set_timeouts(c->bev, NULL, wr);
	bufferevent_enable(c->bev, EV_READ);
	return st;
}

int
ctl_stream_write(struct ctl_stream *st, const char *line, size_t len)
{
	struct ctl_client *c = st->client;

	if (ctl_out(c, line, len) != 0 || ctl_out(c, "\n", 1) != 0)
		return -1;
	return 0;
}

size_t
ctl_stream_queued(const struct ctl_stream *st)
{
	return ctl_queued(st->client);
}

void
ctl_stream_close(struct ctl_stream *st)
{
	struct ctl_client *c = st->client;

	/* Closed by the feed (shutdown, a slow reader): no closed callback back into it. */
	c->stream = NULL;
	free(st);
	c->closing = 1;
	if (ctl_out(c, NULL, 0) != 0 || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		ctl_client_close(c);
}
