/* conn.c: the connection to tsinvd: connect, send one request, read one reply line, within a
 * timeout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
		fprintf(stderr, "tsinvctl: socket path too long: %s\n", client_opts.socket);
		return TSINVCTL_EXIT_USAGE;
	}
	strcpy(sun.sun_path, client_opts.socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "tsinvctl: socket: %s\n", strerror(errno));
		return TSINVCTL_EXIT_UNREACHABLE;
	}
	/* connect() waits while the daemon's backlog is full; SO_SNDTIMEO bounds that wait. */
	tv.tv_sec = (time_t)(timeout / TSTIME_SEC);
	tv.tv_usec = (suseconds_t)(timeout % TSTIME_SEC);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (conn_reconnecting)
			; /* quiet */
		else if (errno == EAGAIN || errno == EINPROGRESS)
			fprintf(stderr,
			        "tsinvctl: %s: the daemon did not accept the connection within %s "
			        "(busy? see --timeout)\n",
			        client_opts.socket, show_duration(timeout, d, sizeof d));
		else
			fprintf(stderr, "tsinvctl: cannot connect to %s: %s (%s)\n",
			        client_opts.socket, strerror(errno),
			        errno == EACCES ? "is this user in the socket's group?"
			                        : "is tsinvd running? another socket: -s PATH or "
			                          "TSINV_SOCKET");
		close(fd);
		return TSINVCTL_EXIT_UNREACHABLE;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		fprintf(stderr, "tsinvctl: fcntl: %s\n", strerror(errno));
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

	fprintf(stderr, "tsinvctl: no reply from %s within %s (see --timeout)\n",
	        client_opts.socket, show_duration(timeout, d, sizeof d));
	return TSINVCTL_EXIT_UNREACHABLE;
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
			fprintf(stderr, "tsinvctl: %s: %s\n", client_opts.socket, strerror(errno));
			return TSINVCTL_EXIT_UNREACHABLE;
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
			if (in->cap > TSINVCTL_MAX_REPLY) {
				fprintf(stderr, "tsinvctl: the reply is longer than %zu GiB\n",
				        TSINVCTL_MAX_REPLY >> 30);
				return TSINVCTL_EXIT_ERROR;
			}
			in->cap = in->cap * 2 > TSINVCTL_MAX_REPLY + 1 ? TSINVCTL_MAX_REPLY + 1
			                                               : in->cap * 2;
			in->buf = xrealloc(in->buf, in->cap);
		}
		n = recv(fd, in->buf + in->have, in->cap - in->have, 0);
		if (n > 0)
			in->have += (size_t)n;
		else if (n == 0) {
			fprintf(stderr, "tsinvctl: %s: the daemon closed the connection %s\n",
			        client_opts.socket,
			        in->have == 0 ? "without a reply" : "in mid-reply");
			return TSINVCTL_EXIT_UNREACHABLE;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (conn_wait(fd, POLLIN, deadline) != 0)
				return conn_timed_out(timeout);
		} else if (errno != EINTR) {
			fprintf(stderr, "tsinvctl: %s: %s\n", client_opts.socket, strerror(errno));
			return TSINVCTL_EXIT_UNREACHABLE;
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
	fprintf(stderr, "tsinvctl: malformed reply from the daemon: %s\n", s);
	free(s);
	return TSINVCTL_EXIT_ERROR;
}

/* Checks a reply line. On success *RESULT is a new reference; an error reply is printed. */
int
conn_reply(const char *line, size_t len, json_t **result)
{
	json_t *root, *id, *ok, *err;
	json_error_t jerr;
	const char *code, *msg;
	char *ccode, *cmsg;
	int rc;

	/* NUL is allowed: a policy text is printed byte for byte, whatever it holds. */
	if ((root = json_loadb(line, len, JSON_ALLOW_NUL, &jerr)) == NULL)
		return conn_bad_reply(jerr.text);
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
		fprintf(stderr, "tsinvctl: %s: %s\n", ccode, cmsg);
		free(ccode);
		free(cmsg);
		if (code != NULL && strcmp(code, PROTO_E_NOT_FOUND) == 0)
			rc = TSINVCTL_EXIT_NOT_FOUND;
	}
	json_decref(root);
	return rc;
}

/* As conn_call; with PROGRESS, the request asks for progress frames and PROGRESS shows each. */
static int
conn_exchange(const struct cmd_entry *cmd, json_t *args, json_t **result,
              void (*progress)(json_t *))
{
	struct conn_in in = {.cap = 65536};
	int64_t timeout, deadline;
	json_t *req;
	char *text, *line;
	size_t len;
	int fd, rc;

	if (progress != NULL)
		json_object_set_new(args, "progress", json_true());

	req = json_pack("{s:i, s:s, s:o}", "id", TSINVCTL_REQ_ID, "op", proto_ops[cmd->op].name,
	                "args", args);
	if (req == NULL || (text = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("cannot build the request");
	json_decref(req);
	len = strlen(text);
	if (len + 1 > PROTO_MAX_LINE) {
		free(text);
		return tsinvctl_usage_error(cmd, "the request is longer than %d bytes",
		                            PROTO_MAX_LINE);
	}
	text[len++] = '\n'; /* replaces the NUL; the length is what counts from here on */

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

/* Runs CMD with ARGS (stolen, NULL for none) plus the common arguments: 0 and *RESULT (a new
 * reference), or an exit code after printing why. */
int
conn_fetch(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args, json_t **result)
{
	int rc;

	if (args == NULL)
		args = json_object();
	if ((cmd_spec(cmd) & PROTO_A(tailnet)) && client_opts.tailnet != NULL &&
	    (rc = conn_arg_str(cmd, args, "tailnet", client_opts.tailnet)) != 0) {
		json_decref(args);
		return rc;
	}
	if (a->at != NULL)
		json_object_set_new(args, "at", json_string(a->at));
	if (a->history)
		json_object_set_new(args, "history", json_true());
	return conn_exchange(cmd, args, result, progress_wanted(cmd) ? cmd->progress : NULL);
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
	json_decref(result);
	return rc;
}
