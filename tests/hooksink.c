/* hooksink.c: a stub webhook endpoint for the example hooks' tests: records each POST /hook. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

/*
 * "hooksink --port-file FILE --out FILE [--fail N]": listens on 127.0.0.1, on a port of the
 * kernel's choosing written to the port file once it listens. Each POST to /hook is answered 500
 * while fewer than N requests came before it, else 200; the body of each one answered 200 is
 * appended to the out file as one line (newlines in it become spaces). Anything else is 404.
 * Every request is logged on stderr. SIGTERM or SIGINT ends it, exit status 0.
 */

struct hooksink {
	struct event_base *base;
	const char *out;
	long fail;     /* requests still to fail */
	long requests; /* requests to /hook so far */
};

static void
hooksink_record(struct hooksink *hs, struct evbuffer *body)
{
	size_t len = evbuffer_get_length(body);
	char *data = malloc(len + 1);
	FILE *f;

	if (data == NULL) {
		perror("hooksink: malloc");
		exit(2);
	}
	evbuffer_copyout(body, data, len);
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' || data[i] == '\r')
			data[i] = ' ';
	data[len] = '\n';
	if ((f = fopen(hs->out, "a")) == NULL || fwrite(data, 1, len + 1, f) != len + 1 ||
	    fclose(f) != 0) {
		fprintf(stderr, "hooksink: %s: %s\n", hs->out, strerror(errno));
		exit(2);
	}
	free(data);
}

static void
hooksink_request_cb(struct evhttp_request *req, void *arg)
{
	struct hooksink *hs = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *reply = evbuffer_new();
	int code;

	if (path == NULL || strcmp(path, "/hook") != 0 ||
	    evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		code = 404;
	} else if (hs->requests++ < hs->fail) {
		code = 500;
	} else {
		hooksink_record(hs, evhttp_request_get_input_buffer(req));
		code = 200;
	}
	fprintf(stderr, "hooksink: %s -> %d\n", path != NULL ? path : "?", code);
	evbuffer_add_printf(reply, "%s\n", code == 200 ? "ok" : "no");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Not OK", reply);
	evbuffer_free(reply);
}

static void
hooksink_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Written whole then renamed, so that a reader never sees half a number. */
static void
hooksink_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "hooksink: %s: %s\n", path, strerror(errno));
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"port-file", required_argument, NULL, 'p'},
	    {"out", required_argument, NULL, 'o'},
	    {"fail", required_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	struct hooksink hs = {0};
	const char *port_file = NULL;
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	struct event *sigs[2];
	struct evhttp *http;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port_file = optarg;
			break;
		case 'o':
			hs.out = optarg;
			break;
		case 'f':
			hs.fail = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || hs.fail < 0) {
				fprintf(stderr, "hooksink: bad --fail %s\n", optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (port_file == NULL || hs.out == NULL || optind != argc) {
		fputs("usage: hooksink --port-file FILE --out FILE [--fail N]\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((hs.base = event_base_new()) == NULL || (http = evhttp_new(hs.base)) == NULL) {
		fputs("hooksink: cannot set up libevent\n", stderr);
		return 2;
	}
	evhttp_set_gencb(http, hooksink_request_cb, &hs);
	if ((bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0)) == NULL) {
		fputs("hooksink: cannot listen on 127.0.0.1\n", stderr);
		return 2;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &len) != 0) {
		perror("hooksink: getsockname");
		return 2;
	}
	hooksink_port_file(port_file, ntohs(sin.sin_port));
	sigs[0] = evsignal_new(hs.base, SIGTERM, hooksink_signal_cb, hs.base);
	sigs[1] = evsignal_new(hs.base, SIGINT, hooksink_signal_cb, hs.base);
	event_add(sigs[0], NULL);
	event_add(sigs[1], NULL);
	event_base_dispatch(hs.base);
	event_free(sigs[0]);
	event_free(sigs[1]);
	evhttp_free(http);
	event_base_free(hs.base);
	unlink(port_file);
	return 0;
}
