/* main.c: tsinvd's entry point: options, configuration, and wiring the modules to one loop. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "ctl.h"
#include "log.h"
#include "netbox.h"
#include "notify.h"
#include "ops.h"
#include "poller.h"

#define MAIN_DEFAULT_CONF SYSCONFDIR "/tsinv/tsinvd.conf"

static void
main_usage(FILE *f)
{
	fprintf(f,
	        "usage: tsinvd [-n [--check-api]] [-v] [-c FILE]\n"
	        "\n"
	        "Keeps the history of Tailscale tailnets: polls the API, records every change in\n"
	        "an LMDB store and answers queries on a Unix socket (see tsinvctl(1)).\n"
	        "\n"
	        "  -c FILE   configuration file (default %s)\n"
	        "  -n        check the configuration and the secrets it names, then exit\n"
	        "  --check-api  with -n: also ask each endpoint once and say which the\n"
	        "            credential may read (and the scope it lacks)\n"
	        "  -v        log debug messages too\n"
	        "  -V        print the version and exit\n"
	        "  -h        this help\n",
	        MAIN_DEFAULT_CONF);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct tsinvd *d = arg;

	if (sig == SIGHUP) {
		log_notice("SIGHUP: reloading the configuration is not supported yet; restart "
		           "tsinvd to apply changes");
		return;
	}
	log_notice("signal %d: stopping", (int)sig);
	notify_stopping();
	event_base_loopbreak(d->base);
}

/* Checks that every secret the configuration names can be read; never prints one. */
static int
main_check_secrets(const struct config *cf)
{
	char *cause = NULL;
	int bad = 0;

	for (size_t i = 0; i < cf->ntailnets; i++) {
		const struct config_tailnet *tn = &cf->tailnets[i];
		const char *file =
		    tn->api_key_file ? tn->api_key_file : tn->oauth_client_secret_file;
		char *secret = NULL;

		if (config_read_secret(file, &secret, &cause) == -1) {
			fprintf(stderr, "%s:%d: [tailnet %s]: %s\n", cf->path, tn->line, tn->name,
			        cause);
			free(cause);
			bad = 1;
			continue;
		}
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	if (netbox_check(cf, &cause) == -1) {
		fprintf(stderr, "%s:%d: %s\n", cf->path, cf->netbox.line, cause);
		free(cause);
		bad = 1;
	}
	return bad ? -1 : 0;
}

int
main(int argc, char **argv)
{
	const char *path = MAIN_DEFAULT_CONF;
	struct tsinvd d = {0};
	struct event *sigs[3];
	const int signums[3] = {SIGTERM, SIGINT, SIGHUP};
	char *errors = NULL, *cause = NULL;
	static const struct option longopts[] = {{"check-api", no_argument, NULL, 'A'},
	                                         {NULL, 0, NULL, 0}};
	int ch, check = 0, check_api = 0, verbose = 0, listen_fd;

	log_init("tsinvd", 0);
	while ((ch = getopt_long(argc, argv, "c:nvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			check_api = 1;
			break;
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("tsinvd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tsinvd: unexpected argument \"%s\"\n", argv[optind]);
		main_usage(stderr);
		return 2;
	}
	if ((d.cf = config_load(path, &errors)) == NULL) {
		fputs(errors, stderr);
		if (errors[0] != '\0' && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		return 1;
	}
	if (main_check_secrets(d.cf) == -1) {
		config_free(d.cf);
		return 1;
	}
	if (config_check_hooks(d.cf, &errors) == -1) {
		fprintf(stderr, "%s\n", errors);
		free(errors);
		config_free(d.cf);
		return 1;
	}
	if (check_api && !check) {
		fprintf(stderr, "tsinvd: --check-api goes with -n\n");
		config_free(d.cf);
		return 2;
	}
	if (check) {
		int rc = 0;

		/* An explicit online check: -n alone never touches the network. */
		if (check_api) {
			if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
				fatalx("cannot initialise libcurl");
			rc = poller_check_api(d.cf, stdout) == -1 ? 1 : 0;
			curl_global_cleanup();
		}
		config_free(d.cf);
		return rc;
	}
	log_setverbose(verbose || d.cf->verbose);
	signal(SIGPIPE, SIG_IGN);
	/* Hooks are reaped by waitid: an inherited SIG_IGN would reap them behind our back. */
	signal(SIGCHLD, SIG_DFL);
	listen_fd = notify_listen_fd();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("cannot initialise libcurl");
	if ((d.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	d.started = tstime_now();
	if (store_open(d.cf->state_dir, d.cf->map_size_max, &d.st, &cause) == -1)
		fatalx("%s", cause);
	d.fw = follow_new(d.base, d.st);
	if ((d.hk = hooks_new(d.base, d.cf, d.st, &cause)) == NULL)
		fatalx("%s", cause);
	if ((d.ctl = ctl_new(d.base, d.cf, listen_fd, ops_dispatch, &d, &cause)) == NULL)
		fatalx("%s", cause);
	if ((d.pl = poller_new(d.base, d.cf, d.st, ops_committed, &d, &cause)) == NULL)
		fatalx("%s", cause);
	if ((d.nb = netbox_new(d.base, d.cf, d.st, &cause)) == NULL)
		fatalx("%s", cause);
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(d.base, signums[i], main_signal_cb, &d);
		event_add(sigs[i], NULL);
	}
	notify_watchdog_start(d.base);
	log_info("tsinvd %s: %zu tailnet(s), store %s, socket %s", PACKAGE_VERSION, d.cf->ntailnets,
	         d.cf->state_dir, d.cf->socket);
	notify_ready();
	event_base_dispatch(d.base);

	/* Streams end before their connections, polls before the hooks that wait on them. */
	follow_free(d.fw);
	ctl_free(d.ctl);
	poller_free(d.pl);
	netbox_free(d.nb);
	hooks_free(d.hk);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	notify_free();
	store_close(d.st);
	event_base_free(d.base);
	curl_global_cleanup();
	config_free(d.cf);
	log_info("stopped");
	return 0;
}
