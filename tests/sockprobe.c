/* sockprobe.c: sends stdin verbatim to a Unix socket and prints the reply, for malformed-request
 * tests. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/*
 * "sockprobe [-n LINES] [-k] [-t SECONDS] SOCKET": connects, writes all of stdin, half-closes
 * (unless -k), and copies every byte received to stdout until EOF, or until LINES reply lines
 * (-n), or the timeout (default 10 s). Exit 0; 2 usage or local error; 3 cannot connect;
 * 4 timeout. A peer that closes early (EPIPE on write, ECONNRESET on read) is an end, not an
 * error: that is what a daemon refusing an oversized line does.
 */

#define SOCKPROBE_EXIT_USAGE 2
#define SOCKPROBE_EXIT_CONNECT 3
#define SOCKPROBE_EXIT_TIMEOUT 4

struct sockprobe_buf {
	char *data;
	size_t len;
	size_t cap;
};

static void
sockprobe_die(const char *what)
{
	fprintf(stderr, "sockprobe: %s: %s\n", what, strerror(errno));
	exit(SOCKPROBE_EXIT_USAGE);
}

static void
sockprobe_usage(void)
{
	fprintf(stderr, "usage: sockprobe [-n LINES] [-k] [-t SECONDS] SOCKET < request\n");
	exit(SOCKPROBE_EXIT_USAGE);
}

static void
sockprobe_read_all(int fd, struct sockprobe_buf *b)
{
	for (;;) {
		ssize_t n;

		if (b->cap - b->len < 4096) {
			b->cap = b->cap * 2 + 65536;
			b->data = realloc(b->data, b->cap);
			if (b->data == NULL)
				sockprobe_die("realloc");
		}
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			sockprobe_die("stdin");
		if (n == 0)
			return;
		b->len += (size_t)n;
	}
}

static int
sockprobe_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sockprobe: %s: path too long\n", path);
		exit(SOCKPROBE_EXIT_CONNECT);
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		sockprobe_die("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "sockprobe: %s: %s\n", path, strerror(errno));
		exit(SOCKPROBE_EXIT_CONNECT);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		sockprobe_die("fcntl");
	return fd;
}

static long long
sockprobe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes the bytes of BUF up to and including the LINES-th newline (all when LINES is 0); returns
 * 1 once that many lines have been written. */
static int
sockprobe_emit(const char *buf, size_t len, long lines, long *seen)
{
	size_t i, upto = len;
	int done = 0;

	if (lines > 0) {
		for (i = 0; i < len; i++) {
			if (buf[i] == '\n' && ++*seen == lines) {
				upto = i + 1;
				done = 1;
				break;
			}
		}
	}
	if (fwrite(buf, 1, upto, stdout) != upto)
		sockprobe_die("stdout");
	return done;
}

int
main(int argc, char **argv)
{
	struct sockprobe_buf in = {NULL, 0, 0};
	size_t sent = 0;
	long lines = 0, seen = 0;
	long timeout_s = 10;
	long long deadline;
	int keep_open = 0, writing = 1, rc = 0;
	int c, fd;
	char *end;

	while ((c = getopt(argc, argv, "kn:t:")) != -1) {
		switch (c) {
		case 'k':
			keep_open = 1;
			break;
		case 'n':
			lines = strtol(optarg, &end, 10);
			if (*end != '\0' || lines <= 0)
				sockprobe_usage();
			break;
		case 't':
			timeout_s = strtol(optarg, &end, 10);
			if (*end != '\0' || timeout_s <= 0)
				sockprobe_usage();
			break;
		default:
			sockprobe_usage();
		}
	}
	if (argc - optind != 1)
		sockprobe_usage();
	signal(SIGPIPE, SIG_IGN);
	sockprobe_read_all(STDIN_FILENO, &in);
	fd = sockprobe_connect(argv[optind]);
	deadline = sockprobe_now_ms() + timeout_s * 1000;
	if (in.len == 0) {
		writing = 0;
		if (!keep_open)
			shutdown(fd, SHUT_WR);
	}
	for (;;) {
		struct pollfd pfd = {fd, POLLIN | (writing ? POLLOUT : 0), 0};
		long long left = deadline - sockprobe_now_ms();
		char buf[65536];
		ssize_t n;
		int r;

		if (left <= 0) {
			fprintf(stderr, "sockprobe: timeout after %ld s\n", timeout_s);
			rc = SOCKPROBE_EXIT_TIMEOUT;
			break;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			sockprobe_die("poll");
		if (r == 0)
			continue;
		if (writing && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(fd, in.data + sent, in.len - sent);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* the peer stopped reading; what it said is still to be read */
				fprintf(stderr, "sockprobe: write: %s\n", strerror(errno));
				writing = 0;
			} else if (n > 0) {
				sent += (size_t)n;
				if (sent == in.len) {
					writing = 0;
					if (!keep_open)
						shutdown(fd, SHUT_WR);
				}
			}
		}
		if (!(pfd.revents & (POLLIN | POLLERR | POLLHUP)))
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && errno == ECONNRESET) {
			fprintf(stderr, "sockprobe: read: %s\n", strerror(errno));
			break;
		}
		if (n < 0)
			sockprobe_die("read");
		if (n == 0)
			break;
		if (sockprobe_emit(buf, (size_t)n, lines, &seen))
			break;
	}
	close(fd);
	free(in.data);
	if (fflush(stdout) != 0)
		sockprobe_die("stdout");
	return rc;
}
