/* nbplan.h: the NetBox reconcile planner: which records to create, update, reassign, retire. */
#ifndef TSINV_NBPLAN_H
#define TSINV_NBPLAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ipam.h"

/* A record NetBox holds with the owner tag. Only rec is set by the caller; the rest is read
 * from it by nbplan_rec_init and borrowed from it. */
struct nbplan_rec {
	json_t *rec; /* as NetBox's GET gave it (borrowed) */
	int64_t id;
	int64_t vrf_id; /* 0: the global table */
	const char *address, *vrf_name, *node_id, *tailnet, *status;
};

/* A tag NetBox has (strings borrowed). */
struct nbplan_tag {
	const char *slug, *name, *description;
};

/* The description of the tags tsinv creates: it marks them as tsinv's to remove. */
#define NBPLAN_TAG_DESCRIPTION "Tailscale tag, managed by tsinvd"

/* A record tsinv wants. */
struct nbplan_want {
	json_t *obj;         /* as ipam_netbox_object made it, "vrf" the id or null (borrowed) */
	const char *tailnet; /* borrowed */
	const char *vrf;     /* the VRF's name, NULL for the global table */
	int64_t vrf_id;      /* 0: the global table */
};

struct nbplan_in {
	const struct ipam_map *m; /* custom field names and the owner tag; vrf unused */
	int64_t slack;            /* last_seen_slack (us) */
	const struct nbplan_rec *recs;
	size_t nrecs;
	/* Only the wants of the tailnets this run writes. */
	const struct nbplan_want *wants;
	size_t nwants;
	/* Configured tailnets this run leaves out: their records are neither written nor
	 * retired. A record of a tailnet no longer configured is retired. */
	const char *const *held;
	size_t nheld;
	/* The tags NetBox has. */
	const struct nbplan_tag *tags;
	size_t ntags;
	/* The server takes add_tags and remove_tags (NetBox 4.6+); else a PATCH sends the whole
	 * tag set, the tags tsinv does not manage included. */
	int tag_ops;
};

#define NBPLAN_ACTIONS(X)                                                                          \
	X(CREATE, "create")                                                                        \
	X(UPDATE, "update")                                                                        \
	X(REASSIGN, "reassign")                                                                    \
	X(DEPRECATE, "deprecate")

enum nbplan_action {
#define NBPLAN_ENUM(sym, name) NBPLAN_##sym,
	NBPLAN_ACTIONS(NBPLAN_ENUM)
#undef NBPLAN_ENUM
};

struct nbplan_step {
	enum nbplan_action action;
	const struct nbplan_want *want; /* NULL: a record no one wants any more */
	const struct nbplan_rec *rec;   /* NULL: a create */
	/* Owned: the object to POST, or the fields to PATCH with "id"; both carry a
	 * changelog_message. */
	json_t *body;
};

struct nbplan {
	struct nbplan_step *steps; /* the writes in the order they were planned */
	size_t nsteps;
	size_t unchanged; /* records that already are as wanted (retired ones included) */
	char **new_tags;  /* owned: the slugs the writes name that NetBox lacks, once each */
	size_t nnew_tags;
};

/* Which tags on a record of ours tsinv may remove: the owner tag, those under a non-empty
 * tag_prefix, and those it created (NBPLAN_TAG_DESCRIPTION). Tags people add are kept. */
int nbplan_tag_managed(const struct nbplan_in *in, const char *slug);

#define NBPLAN_CHANGELOG_MAX 200 /* characters: NetBox's limit on changelog_message */

/* The tags a record of ours should carry, as [{"slug"}] (new reference): WANT's (an object as
 * ipam_netbox_object makes it), and those on HAVE that tsinv does not manage. Only IN's m and
 * tags are read. */
json_t *nbplan_tag_set(const struct nbplan_in *in, json_t *have, json_t *want);

/* The record among RECS holding ADDRESS in VRF (0: the global table): NODE's own, else any
 * other's. NULL for none. */
const struct nbplan_rec *nbplan_find(const struct nbplan_rec *recs, size_t n, const char *node,
                                     const char *address, int64_t vrf);

/* Reads R->rec's id, address, VRF, custom fields and status into R. */
void nbplan_rec_init(struct nbplan_rec *r, const struct ipam_map *m);

/* Plans the writes that make NetBox hold IN's wants: a record matches a want by node id,
 * address and VRF; an address that passed to another node takes the record no one wants as
 * it is; a record no longer wanted is deprecated, never deleted. A wanted tag is NetBox's tag
 * of that slug, else its tag of that name (names are unique too), else a new tag. Tags are
 * merged: tsinv adds what it wants and removes only what it manages. Fills OUT (zeroed
 * first). */
void nbplan_make(const struct nbplan_in *in, struct nbplan *out);
void nbplan_free(struct nbplan *p);

const char *nbplan_action_name(enum nbplan_action a);

/* A step as a sync's answer shows it (new reference): {"action","address","vrf","tailnet",
 * "node_id"}, and for a PATCH the record's "id" and the "fields" it sets (custom fields as
 * "cf_NAME", add_tags/remove_tags as "tags"). */
json_t *nbplan_step_json(const struct nbplan_step *s, const struct ipam_map *m);

/* "tsinvd: ACTION ADDRESS (tailnet T, node N)", cut to NetBox's 200 characters (not bytes:
 * a UTF-8 sequence is never split). */
json_t *nbplan_changelog(const char *action, const char *address, const char *tailnet,
                         const char *node);

#endif
