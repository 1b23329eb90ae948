/* bench_query.c: ip.at round trips and pipelined throughput over tsinvd's Unix socket, as ratios
 * to a libevent echo server of the same request and reply sizes. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "benchutil.h"
#include "log.h"

#define QUERY_WARMUP 200 /* echo round trips before the measured ones */
#define QUERY_BLOCK 500  /* measured round trips in a row on one server */
#define QUERY_REQ_MAX 200
#define QUERY_DEPTH 32 /* requests in flight when pipelined */

/* A reply line being read: bytes past the line (none in lock-step) are kept for the next. */
struct query_in {
	char *buf;
	size_t len, cap;
};

struct query_stats {
	double p50, p99, mean; /* us */
};

/* The "at" of every request, or NULL for now. */
static const char *query_at;

static size_t
query_request(char *buf, size_t len, size_t i, const struct bench_addrs *ad)
{
	int n;

	if (query_at != NULL)
		n = snprintf(
		    buf, len,
		    "{\"id\":%zu,\"op\":\"ip.at\",\"args\":{\"ip\":\"%s\",\"at\":\"%s\"}}\n", i,
		    ad->a[i % ad->n], query_at);
	else
		n = snprintf(buf, len, "{\"id\":%zu,\"op\":\"ip.at\",\"args\":{\"ip\":\"%s\"}}\n",
		             i, ad->a[i % ad->n]);

	if (n < 0 || (size_t)n >= len)
		fatalx("request %zu too long", i);
	return (size_t)n;
}

static void
query_write_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0) {
		if ((w = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("send");
		}
		p += w;
		len -= (size_t)w;
	}
}

/* Reads up to and including the next '\n'; returns the line's length (newline included), the
 * line itself at in->buf. The previous line is dropped first. 0 at end of stream. */
static size_t
query_read_line(int fd, struct query_in *in, size_t *consumed)
{
	char *nl;
	ssize_t r;

	if (*consumed > 0) {
		memmove(in->buf, in->buf + *consumed, in->len - *consumed);
		in->len -= *consumed;
		*consumed = 0;
	}
	/* (memchr only on a buffer that exists: an empty one is NULL) */
	while (in->len == 0 || (nl = memchr(in->buf, '\n', in->len)) == NULL) {
		if (in->len == in->cap) {
			in->cap = in->cap ? in->cap * 2 : 65536;
			in->buf = xrealloc(in->buf, in->cap);
		}
		if ((r = read(fd, in->buf + in->len, in->cap - in->len)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("read");
		}
		if (r == 0)
			return 0;
		in->len += (size_t)r;
	}
	*consumed = (size_t)(nl - in->buf) + 1;
	return *consumed;
}

static int
query_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
query_cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

static void
query_stats(int64_t *ns, size_t n, struct query_stats *s)
{
	double sum = 0;
	size_t i;

	qsort(ns, n, sizeof(*ns), query_cmp_i64);
	for (i = 0; i < n; i++)
		sum += (double)ns[i];
	s->p50 = (double)ns[n / 2] / 1e3;
	/* nearest rank: the smallest sample with at least 99% of them at or below it */
	s->p99 = (double)ns[(n * 99 + 99) / 100 - 1] / 1e3;
	s->mean = sum / (double)n / 1e3;
}

/* One connection and its partly read input. */
struct query_conn {
	int fd;
	struct query_in in;
	size_t consumed;
};

/* Lock-step round trips for requests FIRST .. FIRST+N-1 on C; latencies into NS, reply lengths
 * into REPLEN (either may be NULL). With CHECK, every reply must say "ok":true. */
static void
query_run(struct query_conn *c, const struct bench_addrs *ad, size_t first, size_t n, int check,
          int64_t *ns, size_t *replen)
{
	char req[QUERY_REQ_MAX];
	size_t i, len, got;
	int64_t t0;

	for (i = 0; i < n; i++) {
		len = query_request(req, sizeof(req), first + i, ad);
		t0 = bench_now_ns();
		query_write_all(c->fd, req, len);
		if ((got = query_read_line(c->fd, &c->in, &c->consumed)) == 0)
			fatalx("the server closed the connection at request %zu", first + i);
		if (ns != NULL)
			ns[i] = bench_now_ns() - t0;
		if (replen != NULL)
			replen[i] = got;
		if (check && memmem(c->in.buf, got, "\"ok\":true", 9) == NULL)
			fatalx("request %zu (%.*s) answered: %.*s", first + i, (int)len - 1, req,
			       (int)(got > 300 ? 300 : got - 1), c->in.buf);
	}
}

/* Pipelined requests FIRST .. FIRST+N-1 on C, QUERY_DEPTH in flight; the elapsed time. */
static int64_t
query_pipeline(struct query_conn *c, const struct bench_addrs *ad, size_t first, size_t n,
               int check)
{
	char req[QUERY_REQ_MAX];
	size_t sent = 0, done, len, got;
	int64_t t0 = bench_now_ns();

	for (done = 0; done < n; done++) {
		while (sent < n && sent - done < QUERY_DEPTH) {
			len = query_request(req, sizeof(req), first + sent, ad);
			query_write_all(c->fd, req, len);
			sent++;
		}
		if ((got = query_read_line(c->fd, &c->in, &c->consumed)) == 0)
			fatalx("the server closed the connection at request %zu", first + done);
		if (check && memmem(c->in.buf, got, "\"ok\":true", 9) == NULL)
			fatalx("request %zu answered: %.*s", first + done,
			       (int)(got > 300 ? 300 : got - 1), c->in.buf);
	}
	return bench_now_ns() - t0;
}

static void
query_connect(struct query_conn *c, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof(*c));
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("connect %s", path);
}

static void
query_close(struct query_conn *c)
{
	close(c->fd);
	free(c->in.buf);
}

static void
query_pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(pid, sizeof(set), &set) == -1)
		fatal("sched_setaffinity cpu %d", cpu);
}

/* The CPU the server behind FD is pinned to, or -1 if it may run on several. */
static int
query_server_cpu(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	cpu_set_t set;
	int cpu;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    sched_getaffinity(cred.pid, sizeof(set), &set) == -1 || CPU_COUNT(&set) != 1)
		return -1;
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	return cpu;
}

/* The echo child: a libevent server, as the daemon's socket is, on one connection; each line is
 * answered with itself padded with spaces to REPLY_LEN bytes (newline included). */
struct query_echo_state {
	size_t reply_len;
	char *out;
	int failed;
};

static void
query_echo_read_cb(struct bufferevent *bev, void *arg)
{
	struct query_echo_state *st = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t got;
	char *line;

	while ((line = evbuffer_readln(in, &got, EVBUFFER_EOL_LF)) != NULL) {
		if (got + 1 >= st->reply_len) {
			bufferevent_write(bev, line, got);
			bufferevent_write(bev, "\n", 1);
		} else {
			memcpy(st->out, line, got);
			memset(st->out + got, ' ', st->reply_len - got - 1);
			st->out[st->reply_len - 1] = '\n';
			bufferevent_write(bev, st->out, st->reply_len);
		}
		free(line);
	}
}

static void
query_echo_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct query_echo_state *st = arg;

	if (what & BEV_EVENT_ERROR)
		st->failed = 1;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		event_base_loopexit(bufferevent_get_base(bev), NULL);
}

static void __attribute__((noreturn)) query_echo_child(int lfd, size_t reply_len, int cpu)
{
	struct query_echo_state st = {.reply_len = reply_len, .out = xmalloc(reply_len)};
	struct event_base *base;
	struct bufferevent *bev;
	int fd;

	if (cpu >= 0)
		query_pin(0, cpu);
	if ((fd = accept(lfd, NULL, NULL)) == -1) {
		log_warn("echo: accept");
		_exit(1);
	}
	close(lfd);
	if ((base = event_base_new()) == NULL ||
	    (bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("echo: cannot set up libevent");
		_exit(1);
	}
	bufferevent_setcb(bev, query_echo_read_cb, NULL, query_echo_event_cb, &st);
	bufferevent_enable(bev, EV_READ);
	event_base_dispatch(base);
	bufferevent_free(bev);
	event_base_free(base);
	free(st.out);
	_exit(st.failed);
}

/* The baseline server: a forked echo on a Unix socket in a temporary directory. */
struct query_echo {
	char dir[PATH_MAX];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pid_t pid;
};

static void
query_echo_start(struct query_echo *e, size_t reply_len, int cpu, struct query_conn *c)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *tmp = getenv("TMPDIR");
	int lfd;

	snprintf(e->dir, sizeof(e->dir), "%s/tsinv-bench-echo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(e->dir) == NULL)
		fatal("mkdtemp %s", e->dir);
	if ((size_t)snprintf(e->path, sizeof(e->path), "%s/echo.sock", e->dir) >= sizeof(e->path))
		fatalx("temporary directory path too long: %s", e->dir);
	strcpy(sun.sun_path, e->path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(lfd, 1) == -1)
		fatal("echo socket %s", e->path);
	fflush(NULL);
	if ((e->pid = fork()) == -1)
		fatal("fork");
	if (e->pid == 0)
		query_echo_child(lfd, reply_len, cpu);
	close(lfd);
	query_connect(c, e->path);
}

static void
query_echo_stop(struct query_echo *e, struct query_conn *c)
{
	int status;

	query_close(c); /* the child sees the end of the stream and exits */
	if (waitpid(e->pid, &status, 0) == -1)
		fatal("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fatalx("the echo server failed (status %d)", status);
	if (unlink(e->path) == -1 || rmdir(e->dir) == -1)
		log_warn("cannot remove %s", e->dir);
}

static void
query_usage(void)
{
	fprintf(stderr, "usage: bench_query [-a AT] [-n REQUESTS] SOCKET ADDRFILE\n");
	exit(2);
}

/* Where the client runs relative to the two servers, which share one CPU when tsinvd is pinned:
 * a wake-up on the same CPU and one across CPUs cost very differently in a VM. */
struct query_pass {
	char name[64];
	int client_cpu; /* -1: left to the scheduler */
	struct query_stats d, e;
};

/* Measures one pass: the same requests in alternating blocks on the two servers. */
static void
query_measure(struct query_pass *p, struct query_conn *cd, struct query_conn *ce,
              const struct bench_addrs *ad, size_t n, int64_t *nsd, int64_t *nse)
{
	size_t i, m;

	if (p->client_cpu >= 0)
		query_pin(0, p->client_cpu);
	query_run(cd, ad, 0, QUERY_WARMUP < n ? QUERY_WARMUP : n, 1, NULL, NULL);
	query_run(ce, ad, 0, QUERY_WARMUP < n ? QUERY_WARMUP : n, 0, NULL, NULL);
	for (i = 0; i < n; i += m) {
		m = n - i < QUERY_BLOCK ? n - i : QUERY_BLOCK;
		query_run(cd, ad, i, m, 1, nsd + i, NULL);
		query_run(ce, ad, i, m, 0, nse + i, NULL);
	}
	query_stats(nsd, n, &p->d);
	query_stats(nse, n, &p->e);
}

int
main(int argc, char **argv)
{
	struct bench_addrs ad;
	struct query_conn cd, ce;
	struct query_echo echo;
	struct query_pass pass[2];
	size_t n = 10000, *replen, reply_len, i, np = 0, reqbytes = 0;
	char req[QUERY_REQ_MAX], *end;
	int64_t *nsd, *nse, tput_d = 0, tput_e = 0;
	cpu_set_t mine;
	int ch, cpu, other = -1;

	log_init("bench_query", 0);
	while ((ch = getopt(argc, argv, "a:n:")) != -1) {
		switch (ch) {
		case 'a':
			if (strlen(optarg) > 40 || strpbrk(optarg, "\"\\") != NULL)
				query_usage();
			query_at = optarg;
			break;
		case 'n':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || n < 4 || n > 100000000)
				query_usage();
			break;
		default:
			query_usage();
		}
	}
	if (argc - optind != 2)
		query_usage();
	bench_read_addrs(argv[optind + 1], &ad);
	nsd = xcalloc(n, sizeof(*nsd));
	nse = xcalloc(n, sizeof(*nse));
	replen = xcalloc(n, sizeof(*replen));
	for (i = 0; i < n; i++)
		reqbytes += query_request(req, sizeof(req), i, &ad);

	/* An unmeasured pass over every request warms the daemon (and the store's pages) and
	 * gives the reply length the echo pads to. */
	query_connect(&cd, argv[optind]);
	query_run(&cd, &ad, 0, n, 1, NULL, replen);
	qsort(replen, n, sizeof(*replen), query_cmp_size);
	reply_len = replen[n / 2];

	/* We can only follow tsinvd onto its CPU if we may run there. */
	cpu = query_server_cpu(cd.fd);
	if (sched_getaffinity(0, sizeof(mine), &mine) == -1 || (cpu >= 0 && !CPU_ISSET(cpu, &mine)))
		cpu = -1;
	if (cpu >= 0)
		for (i = 0; i < CPU_SETSIZE && other < 0; i++)
			if ((int)i != cpu && CPU_ISSET(i, &mine))
				other = (int)i;
	if (cpu < 0) {
		log_warnx("tsinvd is not pinned to one CPU we may use: its round trips will depend "
		          "on where the scheduler puts it (start it under taskset -c N)");
		pass[np++] = (struct query_pass){.name = "unpinned", .client_cpu = -1};
	} else {
		pass[np] = (struct query_pass){.client_cpu = cpu};
		snprintf(pass[np++].name, sizeof(pass[0].name),
		         "same CPU (client and servers on cpu %d)", cpu);
		if (other >= 0) {
			pass[np] = (struct query_pass){.client_cpu = other};
			snprintf(pass[np++].name, sizeof(pass[0].name),
			         "across CPUs (client on cpu %d)", other);
		}
	}
	query_echo_start(&echo, reply_len, cpu, &ce);
	for (i = 0; i < np; i++)
		query_measure(&pass[i], &cd, &ce, &ad, n, nsd, nse);
	/* Throughput: the last placement (across CPUs when pinned), blocks alternating. */
	for (i = 0; i < 4; i++) {
		size_t m = n / 4;

		tput_d += query_pipeline(&cd, &ad, i * m, m, 1);
		tput_e += query_pipeline(&ce, &ad, i * m, m, 0);
	}
	query_echo_stop(&echo, &ce);
	query_close(&cd);

	printf("requests: %zu lock-step round trips to each server per placement, one connection "
	       "each, alternating blocks of %d; %zu addresses\n",
	       n, QUERY_BLOCK, ad.n);
	printf("sizes: request %.1f bytes on average; reply %zu bytes (median; min %zu, max %zu)\n",
	       (double)reqbytes / (double)n, reply_len, replen[0], replen[n - 1]);
	for (i = 0; i < np; i++) {
		printf("\n%s\n", pass[i].name);
		printf("  %-34s %9s %9s %9s\n", "what", "p50 us", "p99 us", "mean us");
		printf("  %-34s %9.1f %9.1f %9.1f\n", "tsinvd ip.at", pass[i].d.p50, pass[i].d.p99,
		       pass[i].d.mean);
		printf("  %-34s %9.1f %9.1f %9.1f\n", "bare echo, same sizes (baseline)",
		       pass[i].e.p50, pass[i].e.p99, pass[i].e.mean);
		printf("  %-34s %8.2fx %8.2fx %8.2fx\n", "ratio", pass[i].d.p50 / pass[i].e.p50,
		       pass[i].d.p99 / pass[i].e.p99, pass[i].d.mean / pass[i].e.mean);
	}
	printf(
	    "\npipelined, %d in flight, %s: tsinvd %.0f requests/s, echo %.0f requests/s: %.2f\n",
	    QUERY_DEPTH, pass[np - 1].name, (double)(n / 4 * 4) / ((double)tput_d / 1e9),
	    (double)(n / 4 * 4) / ((double)tput_e / 1e9), (double)tput_e / (double)tput_d);
	printf("RESULT throughput throughput_ratio=%.2f\n", (double)tput_e / (double)tput_d);
	/* Machine-readable lines for bench/run's summary: the first pass is the headline. */
	for (i = 0; i < np; i++)
		printf("RESULT pass=%zu query_p50_ratio=%.2f query_mean_ratio=%.2f p50_us=%.1f "
		       "echo_p50_us=%.1f\n",
		       i, pass[i].d.p50 / pass[i].e.p50, pass[i].d.mean / pass[i].e.mean,
		       pass[i].d.p50, pass[i].e.p50);
	free(nsd);
	free(nse);
	free(replen);
	free(ad.a);
	return 0;
}
