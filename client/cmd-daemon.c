/* cmd-daemon.c: the commands about the daemon itself: status, poll, hooks, ops, metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static void
cmd_daemon_status_endpoints(json_t *tailnets)
{
	static const char *const hdr[] = {"TAILNET", "ENDPOINT", "RESULT", "LAST-POLL",
	                                  "AGE",     "ENTITIES", "ERROR"};
	struct table *t = table_new(7, hdr);
	char last[TSINVCTL_TIMELEN], age[32], ents[32], wait[64];
	json_t *tn, *ep;
	size_t i, j;
	double v;

	json_array_foreach(tailnets, i, tn)
	{
		json_array_foreach(json_object_get(tn, "endpoints"), j, ep)
		{
			snprintf(age, sizeof age, "-");
			if (show_num(ep, "age_s", &v) == 0)
				show_seconds(v, age, sizeof age);
			snprintf(ents, sizeof ents, "-");
			if (show_num(ep, "entities", &v) == 0)
				snprintf(ents, sizeof ents, "%.0f", v);
			/* Unconfirmed deletions are no error, but worth a word. */
			wait[0] = '\0';
			if (show_num(ep, "awaiting_confirmation", &v) == 0 && v > 0)
				snprintf(wait, sizeof wait, "%.0f missing, not confirmed gone yet",
				         v);
			table_add_row(t, show_str(tn, "name"), show_str(ep, "name"),
			              show_str(ep, "result"),
			              show_time(show_str(ep, "last_poll"), last, sizeof last), age,
			              ents, show_str(ep, "error") ?: (wait[0] ? wait : NULL));
		}
	}
	if (table_nrows(t) > 0) {
		fputc('\n', stdout);
		table_print(t, stdout);
	}
	table_free(t);
}

static int
cmd_daemon_status_show(json_t *res, const struct cmd_args *a)
{
	struct table *t = table_new(2, NULL);
	json_t *store = json_object_get(res, "store");
	char buf[256], d[32], when[TSINVCTL_TIMELEN];
	double v, used, map;

	table_add_row(t, "version:", show_str(res, "version"));
	buf[0] = '\0';
	if (show_num(res, "pid", &v) == 0)
		snprintf(buf, sizeof buf, "%.0f", v);
	table_add_row(t, "pid:", buf);
	buf[0] = '\0';
	if (show_num(res, "uptime_s", &v) == 0)
		snprintf(buf, sizeof buf, "%s (since %s)", show_seconds(v, d, sizeof d),
		         show_time(show_str(res, "started"), when, sizeof when));
	table_add_row(t, "uptime:", buf);
	buf[0] = '\0';
	if (show_num(store, "used_bytes", &used) == 0 && show_num(store, "map_bytes", &map) == 0)
		snprintf(buf, sizeof buf, "%.1f MiB used of a %.1f MiB map", used / 1048576,
		         map / 1048576);
	table_add_row(t, "store:", show_str(store, "path"));
	table_add_row(t, "store size:", buf);
	table_print(t, stdout);
	table_free(t);
	cmd_daemon_status_endpoints(json_object_get(res, "tailnets"));
	return 0;
}

static int
cmd_daemon_status(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_daemon_status_show, NULL);
}

static int
cmd_daemon_poll_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"TAILNET", "ENDPOINT", "RESULT",
	                                  "TIME",    "CHANGES",  "ERROR"};
	struct table *t = table_new(6, hdr);
	char when[TSINVCTL_TIMELEN], changes[32];
	json_t *p;
	size_t i;
	double v;

	json_array_foreach(json_object_get(res, "polls"), i, p)
	{
		snprintf(changes, sizeof changes, "-");
		if (show_num(p, "changes", &v) == 0)
			snprintf(changes, sizeof changes, "%.0f", v);
		table_add_row(t, show_str(p, "tailnet"), show_str(p, "endpoint"),
		              show_str(p, "result"),
		              show_time(show_str(p, "time"), when, sizeof when), changes,
		              show_str(p, "error"));
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		puts("no endpoint to poll");
	table_free(t);
	return 0;
}

/* A poll that was not "ok" (failed, or held back as a suspicious shrink) fails the command. */
static int
cmd_daemon_poll_verdict(json_t *res)
{
	size_t i, bad = 0;
	json_t *p, *polls = json_object_get(res, "polls");

	json_array_foreach(polls, i, p)
	{
		if (!show_is(p, "result", "ok"))
			bad++;
	}
	if (bad == 0)
		return TSINVCTL_EXIT_OK;
	fprintf(stderr, "tsinvctl: %zu of %zu polls did not succeed\n", bad,
	        json_array_size(polls));
	return TSINVCTL_EXIT_ERROR;
}

static int
cmd_daemon_poll(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_daemon_poll_show, cmd_daemon_poll_verdict);
}

/* "12, 15, 20" of the newest parked seqs; "40 (12 more)" when some are left out. */
static char *
cmd_daemon_parked(json_t *h)
{
	json_t *parked = json_object_get(h, "parked");
	size_t n = json_array_size(parked), i, from = n > 5 ? n - 5 : 0;
	struct sbuf sb = {0};
	double total = (double)n;

	if (n == 0)
		return NULL;
	show_num(h, "parked_total", &total);
	for (i = from; i < n; i++) {
		json_t *v = json_array_get(parked, i);

		if (json_is_integer(v))
			sbuf_addf(&sb, "%s%lld", sb.len > 0 ? "," : "",
			          (long long)json_integer_value(v));
	}
	if (total > (double)(n - from))
		sbuf_addf(&sb, " (%.0f more)", total - (double)(n - from));
	return sbuf_steal(&sb);
}

static int
cmd_daemon_hooks_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"NAME",     "CURSOR",    "LAG",      "RUNNING",
	                                  "LAST-RUN", "EXIT",      "ATTEMPTS", "NEXT-RETRY",
	                                  "PARKED",   "LAST-ERROR"};
	struct table *t = table_new(10, hdr);
	char cursor[24], lag[24], running[40], exitc[16], attempts[16];
	char last[TSINVCTL_TIMELEN], next[TSINVCTL_TIMELEN], *parked;
	json_t *h;
	size_t i;
	double v, ev;

	json_array_foreach(json_object_get(res, "hooks"), i, h)
	{
		snprintf(cursor, sizeof cursor, "-");
		if (show_num(h, "cursor", &v) == 0)
			snprintf(cursor, sizeof cursor, "%.0f", v);
		snprintf(lag, sizeof lag, "-");
		if (show_num(h, "lag", &v) == 0)
			snprintf(lag, sizeof lag, "%.0f%s", v,
			         json_is_true(json_object_get(h, "lag_capped")) ? "+" : "");
		snprintf(running, sizeof running, "no");
		if (json_is_true(json_object_get(h, "running"))) {
			if (show_num(h, "event", &ev) == 0)
				snprintf(running, sizeof running, "yes (%.0f)", ev);
			else
				snprintf(running, sizeof running, "yes");
		}
		snprintf(exitc, sizeof exitc, "-");
		if (show_num(h, "last_exit", &v) == 0)
			snprintf(exitc, sizeof exitc, "%.0f", v);
		snprintf(attempts, sizeof attempts, "-");
		if (show_num(h, "attempts", &v) == 0)
			snprintf(attempts, sizeof attempts, "%.0f", v);
		parked = cmd_daemon_parked(h);
		table_add_row(t, show_str(h, "name"), cursor, lag, running,
		              show_time(show_str(h, "last_run"), last, sizeof last), exitc,
		              attempts, show_time(show_str(h, "next_retry"), next, sizeof next),
		              parked, show_str(h, "last_error"));
		free(parked);
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		puts("no hooks configured");
	table_free(t);
	return 0;
}

static int
cmd_daemon_hooks(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_daemon_hooks_show, NULL);
}

static int
cmd_daemon_ops_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"OP", "ARGS", "HELP"};
	struct table *t = table_new(3, hdr);
	const char *version = show_str(res, "version");
	char *cv;
	json_t *op;
	size_t i;
	double proto = 0;

	cv = table_clean(version != NULL ? version : "?");
	show_num(res, "protocol", &proto);
	printf("tsinvd %s, protocol %.0f\n\n", cv, proto);
	free(cv);
	if (proto != PROTO_VERSION)
		fprintf(stderr,
		        "tsinvctl: warning: the daemon speaks protocol %.0f, this client %d\n",
		        proto, PROTO_VERSION);
	json_array_foreach(json_object_get(res, "ops"), i, op)
	{
		table_add_row(t, show_str(op, "name"), show_str(op, "args"), show_str(op, "help"));
	}
	table_print(t, stdout);
	table_free(t);
	return 0;
}

static int
cmd_daemon_ops(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_daemon_ops_show, NULL);
}

/* The daemon's Prometheus text as it sent it: a textfile collector takes it from stdout. */
static int
cmd_daemon_metrics_show(json_t *res, const struct cmd_args *a)
{
	json_t *text = json_object_get(res, "text");

	if (!json_is_string(text))
		return conn_bad_reply("no \"text\" in the metrics");
	fwrite(json_string_value(text), 1, json_string_length(text), stdout);
	return 0;
}

static int
cmd_daemon_metrics(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_daemon_metrics_show, NULL);
}

#define CMD_VERSION_TIMEOUT (5 * TSTIME_SEC) /* --version does not wait for a busy daemon */

int
cmd_daemon_version(void)
{
	json_t *res = NULL;
	const char *dv;
	char *cv;
	double proto = 0;
	int rc, json_mode;

	if (client_opts.timeout == 0)
		client_opts.timeout = CMD_VERSION_TIMEOUT;
	/* The connection's own message on stderr says why the daemon did not answer; no JSON error
	 * object on stdout: a daemon that does not answer is part of the answer here. */
	json_mode = client_opts.json;
	client_opts.json = 0;
	rc = conn_call(&cmd_ops_entry, json_object(), &res);
	client_opts.json = json_mode;
	if (rc != 0) {
		if (client_opts.json) {
			json_t *j = json_pack("{s:s, s:i, s:n}", "client", PACKAGE_VERSION,
			                      "protocol", PROTO_VERSION, "daemon");

			show_print_json(j);
			json_decref(j);
		} else
			printf("tsinvctl %s (protocol %d)\ntsinvd: no answer on %s\n",
			       PACKAGE_VERSION, PROTO_VERSION, client_opts.socket);
		return TSINVCTL_EXIT_OK;
	}
	dv = show_str(res, "version");
	show_num(res, "protocol", &proto);
	if (client_opts.json) {
		json_t *j = json_pack("{s:s, s:i, s:{s:s?, s:O?}}", "client", PACKAGE_VERSION,
		                      "protocol", PROTO_VERSION, "daemon", "version", dv,
		                      "protocol", json_object_get(res, "protocol"));

		show_print_json(j);
		json_decref(j);
	} else {
		cv = table_clean(dv != NULL ? dv : "?");
		printf("tsinvctl %s (protocol %d)\ntsinvd %s (protocol %.0f) on %s\n",
		       PACKAGE_VERSION, PROTO_VERSION, cv, proto, client_opts.socket);
		free(cv);
	}
	if (proto != PROTO_VERSION)
		fprintf(stderr,
		        "tsinvctl: warning: the daemon speaks protocol %.0f, this client %d\n",
		        proto, PROTO_VERSION);
	json_decref(res);
	return TSINVCTL_EXIT_OK;
}

const struct cmd_entry cmd_status_entry = {
    .name = "status",
    .op = PROTO_OP_status,
    .exec = cmd_daemon_status,
};

const struct cmd_entry cmd_poll_entry = {
    .name = "poll",
    .op = PROTO_OP_poll,
    .flags = CMD_F_SLOW,
    .exec = cmd_daemon_poll,
    .progress = progress_poll,
};

const struct cmd_entry cmd_hooks_entry = {
    .name = "hooks",
    .op = PROTO_OP_hooks,
    .flags = CMD_F_LIST,
    .exec = cmd_daemon_hooks,
};

const struct cmd_entry cmd_ops_entry = {
    .name = "ops",
    .op = PROTO_OP_hello,
    .help = "the operations the daemon knows, from its hello",
    .exec = cmd_daemon_ops,
};

const struct cmd_entry cmd_metrics_entry = {
    .name = "metrics",
    .op = PROTO_OP_metrics,
    .help = "the daemon's counters and gauges in Prometheus's text format (a node_exporter "
            "textfile collector reads them)",
    .exec = cmd_daemon_metrics,
};
