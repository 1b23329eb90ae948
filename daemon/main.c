/* main.c: tsinvd's entry point: options, configuration, and wiring the modules to one loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "ctl.h"
#include "log.h"
#include "netbox.h"
#include "notify.h"
#include "ops.h"
#include "poller.h"
#include "reload.h"

#define MAIN_DEFAULT_CONF SYSCONFDIR "/tsinv/tsinvd.conf"

/* A long option without a short one has a value above any char. */
#define MAIN_OPT_CHECK_API 0x100

/* tsinvd's options: one row each, for getopt_long and for the help. */
static const struct main_option {
	const char *name;
	int ch;
	const char *arg; /* NULL: the option takes none */
	const char *help;
} main_options[] = {
    {.name = "config",
     .ch = 'c',
     .arg = "FILE",
     .help = "configuration file (default " MAIN_DEFAULT_CONF ")"},
    {.name = "check",
     .ch = 'n',
     .help = "check the configuration and the files it names, then exit"},
    {.name = "check-api",
     .ch = MAIN_OPT_CHECK_API,
     .help = "with -n: also ask each endpoint once and say which the credential may read "
             "(and the scope it lacks)"},
    {.name = "read-only",
     .ch = 'r',
     .help = "serve the store in state_dir (a backup, last year's copy) for queries only: "
             "nothing is polled, written or run"},
    {.name = "verbose", .ch = 'v', .help = "log debug messages too"},
    {.name = "version", .ch = 'V', .help = "print the version and exit"},
    {.name = "help", .ch = 'h', .help = "print this help and exit"},
};
#define MAIN_NOPTIONS (sizeof main_options / sizeof main_options[0])

static void
main_usage(FILE *f)
{
	char left[32];

	fprintf(f,
	        "usage: tsinvd [-n [--check-api]] [-r] [-v] [-c FILE]\n"
	        "\n"
	        "Keeps the history of Tailscale tailnets: polls the API, records every change in\n"
	        "an LMDB store and answers queries on a Unix socket (see tsinvctl(1)).\n"
	        "\n");
	for (size_t i = 0; i < MAIN_NOPTIONS; i++) {
		const struct main_option *o = &main_options[i];

		if (o->ch < 0x100)
			snprintf(left, sizeof left, "-%c, --%s%s%s", o->ch, o->name,
			         o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
			         o->arg ? o->arg : "");
		fprintf(f, "  %-20s %s\n", left, o->help);
	}
}

/* Builds getopt_long's tables from main_options and returns the next option, as getopt does. */
static int
main_getopt(int argc, char **argv)
{
	static struct option longopts[MAIN_NOPTIONS + 1];
	static char shortopts[2 * MAIN_NOPTIONS + 1];
	size_t i, n = 0;

	if (shortopts[0] == '\0') {
		for (i = 0; i < MAIN_NOPTIONS; i++) {
			longopts[i].name = main_options[i].name;
			longopts[i].has_arg = main_options[i].arg ? required_argument : no_argument;
			longopts[i].val = main_options[i].ch;
			if (main_options[i].ch >= 0x100)
				continue;
			shortopts[n++] = (char)main_options[i].ch;
			if (main_options[i].arg != NULL)
				shortopts[n++] = ':';
		}
	}
	return getopt_long(argc, argv, shortopts, longopts, NULL);
}

/* Prints TEXT (a list of lines, malloc'd or NULL) on stderr and frees it. */
static void
main_print(char *text)
{
	if (text == NULL)
		return;
	fputs(text, stderr);
	if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
		fputc('\n', stderr);
	free(text);
}

/* What a signal needs: the daemon, and how to read its configuration again. */
struct main_ctx {
	struct tsinvd *d;
	const char *path;
	int verbose, read_only;
};

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct main_ctx *m = arg;

	/* A signal is handled on the loop, between two callbacks: no poll is half-applied. */
	if (sig == SIGHUP) {
		reload_run(m->d, m->path, m->verbose, m->read_only);
		return;
	}
	log_notice("signal %d: stopping", (int)sig);
	notify_stopping();
	event_base_loopbreak(m->d->base);
}

/* One daemon per store: an exclusive lock on STATE_DIR/tsinvd.lock, held until exit (the fd is
 * kept open on purpose), holding our pid for the message of the next one. 0, or -1 and *cause. */
static int
main_lock(const char *dir, char **cause)
{
	char path[4096], pid[32] = "";
	ssize_t n;
	int fd;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		*cause = xasprintf("state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(path, sizeof path, "%s/tsinvd.lock", dir) >= sizeof path) {
		*cause = xasprintf("state_dir %s: too long a path", dir);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int err = errno;

		if ((n = pread(fd, pid, sizeof pid - 1, 0)) > 0)
			pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		if (err == EWOULDBLOCK)
			*cause = xasprintf("another tsinvd%s%s%s uses the store in %s (locked: %s)",
			                   *pid ? " (pid " : "", pid, *pid ? ")" : "", dir, path);
		else
			*cause = xasprintf("%s: cannot lock: %s", path, strerror(err));
		return -1;
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("%s: cannot write our pid", path);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = MAIN_DEFAULT_CONF;
	struct tsinvd d = {0};
	struct main_ctx m = {.d = &d};
	struct event *sigs[3];
	const int signums[3] = {SIGTERM, SIGINT, SIGHUP};
	char *errors = NULL, *warnings = NULL, *cause = NULL;
	int ch, check = 0, check_api = 0, verbose = 0, read_only = 0, listen_fd;

	log_init("tsinvd", 0);
	while ((ch = main_getopt(argc, argv)) != -1) {
		switch (ch) {
		case MAIN_OPT_CHECK_API:
			check_api = 1;
			break;
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'r':
			read_only = 1;
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
	/* Every problem at once: the file's own, then the secrets, state_dir and hooks it names. */
	d.cf =
	    read_only ? config_load(path, &errors) : config_load_checked(path, &errors, &warnings);
	main_print(errors);
	main_print(warnings);
	if (d.cf == NULL)
		return 1;
	d.cf->read_only |= read_only;
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
	/* libevent's own warnings would go to stderr without our priority prefix. */
	_Static_assert(EVENT_LOG_DEBUG == 0 && EVENT_LOG_ERR == 3, "log_libevent_cb's severities");
	event_set_log_callback(log_libevent_cb);
	if ((d.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	d.started = tstime_now();
	/* A read-only daemon may serve a store a writer uses: LMDB lets readers be. */
	if (!d.cf->read_only && main_lock(d.cf->state_dir, &cause) == -1)
		fatalx("%s", cause);
	if ((d.cf->read_only
	         ? store_open_ro(d.cf->state_dir, &d.st, &cause)
	         : store_open(d.cf->state_dir, d.cf->map_size_max, &d.st, &cause)) == -1)
		fatalx("%s", cause);
	d.fw = follow_new(d.base, d.st);
	/* Read-only: queries only; the poller, the hooks and the NetBox sync all write. */
	if (!d.cf->read_only && (d.hk = hooks_new(d.base, d.cf, d.st, &cause)) == NULL)
		fatalx("%s", cause);
	if ((d.ctl = ctl_new(d.base, d.cf, listen_fd, ops_dispatch, &d, &cause)) == NULL)
		fatalx("%s", cause);
	ctl_set_guard(d.ctl, ops_guard, &d);
	if (!d.cf->read_only &&
	    (d.pl = poller_new(d.base, d.cf, d.st, ops_committed, &d, &cause)) == NULL)
		fatalx("%s", cause);
	if (!d.cf->read_only && (d.nb = netbox_new(d.base, d.cf, d.st, &cause)) == NULL)
		fatalx("%s", cause);
	m.path = path;
	m.verbose = verbose;
	m.read_only = read_only;
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(d.base, signums[i], main_signal_cb, &m);
		event_add(sigs[i], NULL);
	}
	notify_watchdog_start(d.base);
	log_info("tsinvd %s: %zu tailnet(s), store %s%s, socket %s", PACKAGE_VERSION,
	         d.cf->ntailnets, d.cf->state_dir, d.cf->read_only ? " (read-only)" : "",
	         d.cf->socket);
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
	reload_free();
	log_info("stopped");
	return 0;
}
