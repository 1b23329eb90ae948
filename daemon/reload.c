/* reload.c: SIGHUP: the configuration read again and applied without a restart. */
#include <stdlib.h>
#include <string.h>

#include "config-diff.h"
#include "log.h"
#include "notify.h"
#include "reload.h"

/* Configurations that a module may still point into after a reload failed half-way and could
 * not be undone: kept until exit rather than freed under it. */
static struct config **reload_kept;
static size_t reload_nkept;

/* Logs each line of TEXT (malloc'd or NULL, freed) with PREFIX. */
static void
reload_log_lines(char *text, const char *prefix)
{
	char *line, *save = NULL;

	if (text == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		log_warnx("%s%s", prefix, line);
	free(text);
}

/* Applies CF to the modules that act (the poller, the hooks, the NetBox sync), each all or
 * nothing. 0; or -1 after undoing what was applied, with the reason logged. */
static int
reload_apply(struct tsinvd *d, struct config *cf)
{
	char *cause = NULL, *undo = NULL;
	int step = 0, rc = 0;

	/* Each step reads what it needs (a token, a secret, the hooks' cursors) before it
	 * changes anything. */
	if (d->nb != NULL && netbox_reconfigure(d->nb, cf, &cause) == -1)
		goto fail;
	step++;
	if (d->hk != NULL && hooks_reconfigure(d->hk, cf, &cause) == -1)
		goto fail;
	step++;
	if (d->pl != NULL && poller_reconfigure(d->pl, cf, &cause) == -1)
		goto fail;
	return 0;

fail:
	log_warnx("reload refused: %s; the old configuration keeps running", cause);
	free(cause);
	/* The same files were read a moment ago: undoing cannot fail but by a race. */
	if (step > 1 && d->hk != NULL && hooks_reconfigure(d->hk, d->cf, &undo) == -1)
		rc = -1;
	if (step > 0 && d->nb != NULL && rc == 0 && netbox_reconfigure(d->nb, d->cf, &undo) == -1)
		rc = -1;
	if (rc == -1) {
		log_warnx("reload: cannot go back to the old configuration either (%s): both are "
		          "kept, some settings of the new one apply",
		          undo);
		free(undo);
		reload_kept = xrealloc(reload_kept, (reload_nkept + 1) * sizeof(*reload_kept));
		reload_kept[reload_nkept++] = cf;
		return -2;
	}
	return -1;
}

int
reload_run(struct tsinvd *d, const char *path, int verbose, int read_only)
{
	char *errors = NULL, *warnings = NULL, *restart, *summary;
	struct config *cf, *old = d->cf;
	int rc;

	notify_reloading();
	log_notice("SIGHUP: reloading %s", path);
	cf = read_only ? config_load(path, &errors) : config_load_checked(path, &errors, &warnings);
	reload_log_lines(warnings, "reload: ");
	if (cf == NULL) {
		reload_log_lines(errors, "reload: ");
		log_warnx("reload refused: %s has errors; the old configuration keeps running",
		          path);
		notify_ready();
		return -1;
	}
	cf->read_only |= read_only;
	summary = config_diff_summary(old, cf);
	if ((rc = reload_apply(d, cf)) != 0) {
		if (rc == -1)
			config_free(cf);
		free(summary);
		notify_ready();
		return -1;
	}
	if ((restart = config_diff_restart(old, cf)) != NULL) {
		log_warnx("reload: %s changed: restart tsinvd to apply", restart);
		free(restart);
		/* What runs stays what the daemon says it runs (no module reads these keys). */
		config_keep_restart(cf, old);
	}
	log_setverbose(verbose || cf->verbose);
	d->cf = cf;
	config_free(old);
	log_notice("reloaded: %s", summary);
	free(summary);
	notify_ready();
	return 0;
}

void
reload_free(void)
{
	for (size_t i = 0; i < reload_nkept; i++)
		config_free(reload_kept[i]);
	free(reload_kept);
	reload_kept = NULL;
	reload_nkept = 0;
}
