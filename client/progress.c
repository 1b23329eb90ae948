/* progress.c: the daemon's progress frames on a terminal: a poll endpoint by endpoint, a NetBox
 * sync's records planned and written. Asked for only when both stdout and stderr are terminals
 * and the output is not --json, so that scripts and pipes see exactly what they saw before. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client.h"

int
progress_wanted(const struct cmd_entry *cmd)
{
	return cmd->progress != NULL && !client_opts.json && isatty(STDOUT_FILENO) &&
	       isatty(STDERR_FILENO);
}

/* "poll [3/7] test/devices: ok, 2 changes", one line an endpoint. */
void
progress_poll(json_t *p)
{
	char *tn = table_clean(show_str(p, "tailnet") ?: "?");
	char *ep = table_clean(show_str(p, "endpoint") ?: "?");
	char *res = table_clean(show_str(p, "result") ?: "?");
	double n = 0, total = 0, changes = 0;

	show_num(p, "n", &n);
	show_num(p, "total", &total);
	fprintf(stderr, "poll [%.0f/%.0f] %s/%s: %s", n, total, tn, ep, res);
	if (show_str(p, "error") != NULL) {
		char *e = table_clean(show_str(p, "error"));

		fprintf(stderr, ": %s", e);
		free(e);
	} else if (show_num(p, "changes", &changes) == 0)
		fprintf(stderr, ", %.0f change%s", changes, changes == 1 ? "" : "s");
	fputc('\n', stderr);
	free(tn);
	free(ep);
	free(res);
}

/* The plan on one line, then the writes counted up on another, rewritten in place. */
void
progress_netbox(json_t *p)
{
	double v[7] = {0};

	if (show_is(p, "phase", "plan")) {
		static const char *const k[] = {"read",      "create", "update", "deprecate",
		                                "unchanged", "tags",   "writes"};

		for (size_t i = 0; i < 7; i++)
			show_num(p, k[i], &v[i]);
		fprintf(
		    stderr,
		    "netbox: %.0f records of ours read; planned: %.0f to create, %.0f to update, "
		    "%.0f to deprecate, %.0f unchanged, %.0f new tags\n",
		    v[0], v[1], v[2], v[3], v[4], v[5]);
	} else if (show_is(p, "phase", "write")) {
		show_num(p, "done", &v[0]);
		show_num(p, "total", &v[1]);
		show_num(p, "errors", &v[2]);
		fprintf(stderr, "\rnetbox: written %.0f of %.0f (%.0f errors)\033[K%s", v[0], v[1],
		        v[2], v[0] >= v[1] ? "\n" : "");
	}
}
