/* netbox.h: the IPAM export op and the NetBox sync: periodic and on demand, over the REST API. */
#ifndef TSINV_NETBOX_H
#define TSINV_NETBOX_H

#include <event2/event.h>

#include "config.h"
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

/* For "tsinvd -n": the token file can be read. 0, or -1 and *cause (never the token). */
int netbox_check(const struct config *cf, char **cause);

/* "netbox.sync" {dry_run}: runs the sync now (or after the run in flight) and answers with its
 * plan, counts and errors. */
void netbox_op_sync(struct netbox *nb, struct ctl_req *req);

/* "ipam.export" {tailnet, at, window}: every address of one tailnet (or of all) held at AT, and
 * those released in WINDOW before it (default deprecated_window), as plain rows, with the
 * mapping the client needs to write NetBox's formats. */
void netbox_op_export(struct netbox *nb, struct ctl_req *req);

#endif
