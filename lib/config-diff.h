/* config-diff.h: what changed between two loaded configurations, as a reload applies it. */
#ifndef TSINV_CONFIG_DIFF_H
#define TSINV_CONFIG_DIFF_H

#include "config.h"

/* Do A and B differ in anything but the line numbers? */
int config_tailnet_equal(const struct config_tailnet *a, const struct config_tailnet *b);
int config_hook_equal(const struct config_hook *a, const struct config_hook *b);
int config_netbox_equal(const struct config_netbox *a, const struct config_netbox *b);

/* Must the poller set the tailnet up afresh (another server, tailnet, credential or set of
 * endpoints), rather than keep its timers and transfers and take the new settings in place? */
int config_tailnet_rebuild(const struct config_tailnet *a, const struct config_tailnet *b);

/* The [daemon] keys that changed and only a restart applies, as "state_dir, socket" (malloc'd),
 * or NULL when there are none. */
char *config_diff_restart(const struct config *old, const struct config *new);

/* Gives NEW the values OLD runs with of the keys that only a restart applies, and OLD NEW's
 * (they are swapped: each config frees what it holds), so that NEW says what runs. */
void config_keep_restart(struct config *new, struct config *old);

/* What a reload from OLD to NEW changes, one phrase per change joined by ", ": "tailnet corp
 * removed, hook mail added, tailnet test: poll_interval changed, log_level changed"; "no
 * change" when there is none (malloc'd). Keys that need a restart are not in it. */
char *config_diff_summary(const struct config *old, const struct config *new);

#endif
