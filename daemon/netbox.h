/* netbox.h: the NetBox sync: periodic and on demand, over the REST API. */
#ifndef TSINV_NETBOX_H
#define TSINV_NETBOX_H

#include <event2/event.h>

#include "config.h"
#include "ipam.h"
#include "ctl.h"
#include "store.h"

struct netbox;

/* Reads the token and arms the periodic sync when [netbox] has a url (and an interval); without
 * one, only the export works. NULL and *cause when the token cannot be read. */
struct netbox *netbox_new(struct event_base *base, const struct config *cf, struct store *st,
                          char **cause);
/* Stops a run in flight; requests waiting on it are dropped unanswered (the socket server frees
 * them). */
void netbox_free(struct netbox *nb);
/* A reload: CF (which outlives NB, as the first did) replaces the configuration; the token is
 * read again. When [netbox] or the token changed, a run in flight stops with an error for its
 * waiters and the timer restarts. -1 and *cause, nothing changed, when the token cannot be
 * read. */
int netbox_reconfigure(struct netbox *nb, const struct config *cf, char **cause);

/* Runs a sync (DRY: a dry run) now, or after the run in flight, and answers REQ with its plan,
 * counts and errors. [netbox] must have a url. */
void netbox_request(struct netbox *nb, struct ctl_req *req, int dry);

/* Reads NetBox's ids of the rows of RES, an ipam.export answer (stolen): each row NetBox holds
 * gets "netbox_id" and "netbox_tags"; then answers REQ with RES. [netbox] must have a url. */
void netbox_export_ids(struct netbox *nb, struct ctl_req *req, json_t *res);

/* How the [netbox] section maps a tailnet's addresses (in VRF, borrowed) to records. */
void netbox_map(const struct config_netbox *nc, const char *vrf, struct ipam_map *m);

#endif
