/* bench_openloop.c: ip.at (or audit.list) latency from an open-loop client (a request every
 * millisecond), idle or while a command (a poll, an export) runs; latency counts from the
 * scheduled send time. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "log.h"
#include "xmalloc.h"

#define OL_REQ_MAX 200
#define OL_PERIOD_NS 1000000 /* one request per millisecond */
#define OL_DRAIN_NS ((int64_t)60 * 1000000000)
#define OL_MAX_REQUESTS 10000000

struct ol_buf {
	char *p;
	size_t len, cap;
};

struct ol {
	int fd;
	const struct bench_addrs *ad;
	const char *at;  /* the request's "at", or NULL */
	int audit;       /* ask audit.list (its first entries) instead of ip.at */
	int64_t t0;      /* when request 0 was due */
	int64_t *sched;  /* due time of each request */
	int64_t *lat;    /* corrected latency, -1 until answered */
	size_t cap;      /* room in sched and lat */
	size_t sent;     /* requests scheduled (queued or written) */
	size_t answered; /* replies read */
	struct ol_buf out, in;
};

static void
ol_append(struct ol_buf *b, const char *p, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 65536;
		while (b->cap < b->len + len)
			b->cap *= 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
ol_consume(struct ol_buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/* Queues every request that is due by NOW (a stalled daemon makes them pile up here or in the
 * socket: their wait counts, since latency runs from the due time). */
static void
ol_schedule(struct ol *o, int64_t now)
{
	char req[OL_REQ_MAX];
	int n;

	while (o->t0 + (int64_t)o->sent * OL_PERIOD_NS <= now) {
		if (o->sent == o->cap) {
			if (o->cap >= OL_MAX_REQUESTS)
				fatalx("more than %d requests", OL_MAX_REQUESTS);
			o->cap = o->cap ? o->cap * 2 : 8192;
			o->sched = xrealloc(o->sched, o->cap * sizeof(*o->sched));
			o->lat = xrealloc(o->lat, o->cap * sizeof(*o->lat));
		}
		if (o->audit)
			n = snprintf(req, sizeof(req),
			             "{\"id\":%zu,\"op\":\"audit.list\",\"args\":{\"limit\":10}}\n",
			             o->sent);
		else if (o->at != NULL)
			n = snprintf(req, sizeof(req),
			             "{\"id\":%zu,\"op\":\"ip.at\",\"args\":{\"ip\":\"%s\",\"at\":"
			             "\"%s\"}}\n",
			             o->sent, o->ad->a[o->sent % o->ad->n], o->at);
		else
			n = snprintf(req, sizeof(req),
			             "{\"id\":%zu,\"op\":\"ip.at\",\"args\":{\"ip\":\"%s\"}}\n",
			             o->sent, o->ad->a[o->sent % o->ad->n]);
		if (n < 0 || (size_t)n >= sizeof(req))
			fatalx("request %zu too long", o->sent);
		ol_append(&o->out, req, (size_t)n);
		o->sched[o->sent] = o->t0 + (int64_t)o->sent * OL_PERIOD_NS;
		o->lat[o->sent] = -1;
		o->sent++;
	}
}

static void
ol_write(struct ol *o)
{
	ssize_t w;

	while (o->out.len > 0) {
		w = send(o->fd, o->out.p, o->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			fatal("send");
		}
		ol_consume(&o->out, (size_t)w);
	}
}

/* Reads what has arrived; each whole reply line is matched to its request by id. */
static void
ol_read(struct ol *o)
{
	char *nl, *end;
	unsigned long long id;
	size_t len;
	ssize_t r;
	int64_t now;

	for (;;) {
		if (o->in.cap - o->in.len < 65536) {
			o->in.cap = o->in.cap ? o->in.cap * 2 : 262144;
			o->in.p = xrealloc(o->in.p, o->in.cap);
		}
		r = recv(o->fd, o->in.p + o->in.len, o->in.cap - o->in.len, MSG_DONTWAIT);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			fatal("recv");
		}
		if (r == 0)
			fatalx("the daemon closed the connection after %zu replies", o->answered);
		o->in.len += (size_t)r;
	}
	now = bench_now_ns();
	while (o->in.len > 0 && (nl = memchr(o->in.p, '\n', o->in.len)) != NULL) {
		len = (size_t)(nl - o->in.p);
		if (len < 7 || memcmp(o->in.p, "{\"id\":", 6) != 0)
			fatalx("unexpected reply: %.*s", (int)(len > 200 ? 200 : len), o->in.p);
		errno = 0;
		id = strtoull(o->in.p + 6, &end, 10);
		if (errno != 0 || end == o->in.p + 6 || id >= o->sent || o->lat[id] != -1)
			fatalx("reply with an unknown id: %.*s", (int)(len > 200 ? 200 : len),
			       o->in.p);
		if (memmem(o->in.p, len, "\"ok\":true", 9) == NULL)
			fatalx("request %llu answered: %.*s", id, (int)(len > 300 ? 300 : len),
			       o->in.p);
		o->lat[id] = now - o->sched[id];
		o->answered++;
		ol_consume(&o->in, len + 1);
	}
}

static void
ol_connect(struct ol *o, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if ((o->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(o->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("connect %s", path);
}

/* Runs the command with its output thrown away; its pid. */
static pid_t
ol_spawn(char **argv)
{
	pid_t pid;
	int fd;

	fflush(NULL);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) == -1 || dup2(fd, 1) == -1)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* One turn: queue what is due, send, wait for the socket at most until the next request is
 * due (or 1 ms when not sending), read. */
static void
ol_turn(struct ol *o, int sending)
{
	struct pollfd p = {.fd = o->fd, .events = POLLIN};
	int64_t now = bench_now_ns(), next;
	struct timespec ts = {0, 1000000};

	if (sending)
		ol_schedule(o, now);
	ol_write(o);
	if (o->out.len > 0)
		p.events |= POLLOUT;
	if (sending) {
		/* to the nanosecond: poll's milliseconds would make the client itself late */
		next = o->t0 + (int64_t)o->sent * OL_PERIOD_NS - bench_now_ns();
		ts.tv_nsec = next <= 0 ? 0 : (long)next;
	}
	if (ppoll(&p, 1, &ts, NULL) == -1 && errno != EINTR)
		fatal("ppoll");
	if (p.revents & (POLLIN | POLLHUP | POLLERR))
		ol_read(o);
}

static int
ol_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
ol_usage(void)
{
	fprintf(stderr, "usage: bench_openloop [-q ip|audit] [-a AT] [-t SECONDS] [-m MARGIN_MS] "
	                "SOCKET ADDRFILE [COMMAND [ARG...]]\n");
	exit(2);
}

static long
ol_number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		ol_usage();
	return v;
}

int
main(int argc, char **argv)
{
	struct ol o = {.fd = -1};
	struct bench_addrs ad;
	long secs = 3, margin = 300;
	int64_t cmd_start = 0, cmd_end = 0, stop, deadline, *lat;
	size_t i, n = 0, late;
	pid_t pid = -1;
	int ch, status = 0;

	log_init("bench_openloop", 0);
	while ((ch = getopt(argc, argv, "+a:q:t:m:")) != -1) {
		switch (ch) {
		case 'q':
			if (strcmp(optarg, "audit") != 0 && strcmp(optarg, "ip") != 0)
				ol_usage();
			o.audit = strcmp(optarg, "audit") == 0;
			break;
		case 'a':
			if (strlen(optarg) > 40 || strpbrk(optarg, "\"\\") != NULL)
				ol_usage();
			o.at = optarg;
			break;
		case 't':
			secs = ol_number(optarg, 1, 3600);
			break;
		case 'm':
			margin = ol_number(optarg, 0, 60000);
			break;
		default:
			ol_usage();
		}
	}
	if (argc - optind < 2)
		ol_usage();
	bench_read_addrs(argv[optind + 1], &ad);
	o.ad = &ad;
	ol_connect(&o, argv[optind]);
	signal(SIGPIPE, SIG_IGN);

	/* Load first, then the command (if any) under it, then a margin after it ends. */
	o.t0 = bench_now_ns();
	if (argc - optind > 2) {
		while (bench_now_ns() < o.t0 + margin * 1000000)
			ol_turn(&o, 1);
		cmd_start = bench_now_ns();
		pid = ol_spawn(argv + optind + 2);
		for (;;) {
			ol_turn(&o, 1);
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
		}
		cmd_end = bench_now_ns();
		stop = cmd_end + margin * 1000000;
	} else
		stop = o.t0 + secs * 1000000000;
	while (bench_now_ns() < stop)
		ol_turn(&o, 1);
	deadline = bench_now_ns() + OL_DRAIN_NS;
	while (o.answered < o.sent && bench_now_ns() < deadline)
		ol_turn(&o, 0);

	/* A request never answered counts with the wait it had when we gave up. */
	lat = xcalloc(o.sent, sizeof(*lat));
	for (i = 0, late = 0; i < o.sent; i++) {
		if (o.lat[i] == -1) {
			late++;
			lat[n++] = deadline - o.sched[i];
		} else
			lat[n++] = o.lat[i];
	}
	qsort(lat, n, sizeof(*lat), ol_cmp);
	if (pid != -1) {
		printf("command: %s, ran %.1f ms, %s %d\n", argv[optind + 2],
		       (double)(cmd_end - cmd_start) / 1e6, WIFEXITED(status) ? "exit" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	printf("requests: %zu sent at 1 per ms, %zu answered, %zu unanswered\n", o.sent, o.answered,
	       late);
	printf("corrected latency: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
	       (double)lat[n / 2] / 1e6, (double)lat[(n * 99 + 99) / 100 - 1] / 1e6,
	       (double)lat[(n * 999 + 999) / 1000 - 1] / 1e6, (double)lat[n - 1] / 1e6);
	printf("RESULT requests=%zu unanswered=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	       "command_ms=%.1f command_status=%d\n",
	       o.sent, late, (double)lat[n / 2] / 1e6, (double)lat[(n * 99 + 99) / 100 - 1] / 1e6,
	       (double)lat[n - 1] / 1e6, (double)(cmd_end - cmd_start) / 1e6,
	       pid == -1 ? 0 : (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
	free(lat);
	free(o.sched);
	free(o.lat);
	free(o.out.p);
	free(o.in.p);
	free(ad.a);
	close(o.fd);
	return pid != -1 && status != 0 ? 1 : 0;
}
