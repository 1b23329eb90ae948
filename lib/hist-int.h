/* hist-int.h: the history core (hist.c) as the files of each kind use it: hist-devices.c,
 * hist-query.c and the entity files. */
#ifndef TSINV_HIST_INT_H
#define TSINV_HIST_INT_H

#include <stdint.h>
#include <jansson.h>

#include "attrib.h"
#include "endpoint.h"
#include "hist.h"
#include "sbuf.h"
#include "store.h"
#include "tstime.h"

/* The devices endpoint's row: its name and the kind byte of its records. */
#define HIST_DEVICES (&endpoints[ENDPOINT_devices])

/* The start of a version (or address interval) is exact: it came from the API's own time. */
#define HIST_F_EXACT_FROM 0x1
/* A device version that began because tsinv began to version a field an earlier release kept
 * apart (updateAvailable), not because the device changed: its window says when tsinv first
 * recorded the value, not when the value came to be. */
#define HIST_F_ADOPTED 0x2
/* Never stored (hist_bounds_put drops them): the audit log pins the start at pin_from, the end
 * at pin_to (pin.c's pin_apply sets them when a reader asks). */
#define HIST_F_PIN_FROM 0x100
#define HIST_F_PIN_TO 0x200
#define HIST_F_PINS (HIST_F_PIN_FROM | HIST_F_PIN_TO)

/* A version's or an address interval's bounds, as stored (4 x i64 big-endian, then u32 flags),
 * and the pins a reader applied (valid only under their flags). */
struct hist_bounds {
	tstime_t from_lo, from_hi, to_lo, to_hi;
	uint32_t flags;
	tstime_t pin_from, pin_to;
};
#define HIST_BOUNDS_LEN 36
/* The end of a version or address interval that the credential stopped showing (shared-in
 * devices under an OAuth token): after to_lo nothing is known, so every later time is "maybe". */
#define HIST_UNSEEN_END INT64_MAX
#define HIST_UNSEEN_WHY "unknown: not visible to this credential"
/* The end of a version (or address interval) whose entity a list left out and nothing has
 * confirmed gone yet: after to_lo every time is "maybe" until a confirmation sets the real end
 * or a refutation opens it again. */
#define HIST_PENDING_END (INT64_MAX - 1)
#define HIST_PENDING_WHY "unknown: missing from a list, not confirmed gone yet"

/* The fixed head of a "cur" value: from_lo, from_hi of the open version, flags, stable length. */
#define HIST_CUR_HEAD 24

enum hist_state { HIST_NO, HIST_HELD, HIST_MAYBE };
extern const char *const hist_state_names[];

/* A "cur" value taken apart: the open version's bounds, its stable and volatile JSON. */
struct hist_cur {
	struct hist_bounds b;
	const char *stable, *vol;
	size_t stable_len, vol_len;
};

void hist_bounds_put(uint8_t *p, const struct hist_bounds *b);
void hist_bounds_get(const uint8_t *p, struct hist_bounds *b);
/* 0, or -1 when the value is damaged. */
int hist_cur_decode(const struct store_val *val, struct hist_cur *c);
/* A cur value: the open version's start, its stable and volatile JSON. malloc'd, *len set. */
uint8_t *hist_cur_encode(const struct hist_bounds *b, const char *stable, size_t stable_len,
                         const char *vol, size_t vol_len, size_t *len);

/* What an answer does to one entity's current record. */
enum hist_action { HIST_A_NEW, HIST_A_CHANGE, HIST_A_VOL, HIST_A_GONE };

/* One entity of an answer as the merge sees it. A NULL stable: its bytes are those its current
 * record was made from (nothing to compare: unchanged). */
struct hist_item_view {
	const char *id, *stable, *vol;
	size_t stable_len, vol_len;
};
typedef void (*hist_item_fn)(size_t i, void *arg, struct hist_item_view *out);
/* One change: I is the answer's index (not for GONE), CUR the current record (not for NEW). */
typedef void (*hist_change_fn)(enum hist_action act, const char *id, size_t i,
                               const struct hist_cur *cur, void *arg);

/* Walks the current records of TAILNET's KIND and the N entities of an answer (sorted by id,
 * each seen through ITEM) side by side, and calls CHANGE for each entity that is new, gone, or
 * whose stable or volatile part differs. *ncur counts the current records. 0, or -1. */
int hist_merge(struct store_txn *txn, const char *tailnet, uint8_t kind, size_t n,
               hist_item_fn item, hist_change_fn change, void *arg, uint64_t *ncur, char **cause);
/* A new version of entity ID starting at B->from_hi, and the closing of the one that started at
 * FROM_HI. 0, or -1 with *cause. */
int hist_version_open(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                      const struct hist_bounds *b, const char *stable, size_t stable_len,
                      char **cause);
int hist_version_close(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                       tstime_t from_hi, tstime_t to_lo, tstime_t to_hi, char **cause);
/* A current record's stable JSON as a NUL-terminated copy. */
char *hist_cur_stable_dup(const struct hist_cur *c);

/* The ids of KIND that LISTED (an object whose keys are the listed ids; borrowed) leaves out,
 * as hist_confirm_plan. */
int hist_confirm_plan_set(struct store *st, const char *tailnet, uint8_t kind, json_t *listed,
                          json_t **ids, char **cause);

/* An entity missing from a list: what confirms or refutes its deletion. GONE: the API answered
 * 404 for it, or a list at least confirm_delay after the first that left it out leaves it out
 * too; THERE: the API answered it by id (or a later list shows it); WAIT: nothing yet. */
enum hist_confirm { HIST_CONFIRM_GONE, HIST_CONFIRM_THERE, HIST_CONFIRM_WAIT };

/* What confirms the deletion of entity ID of KIND missing from the list of the poll at T: the
 * per-item answers in ANS (its IDMEMBER names the id in a fetched object; ANS NULL: the caller
 * confirms every absence) and the mark of its first absence (*marked, and its window in *to_lo,
 * *to_hi). -1 with *cause. */
int hist_confirm_check(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                       const struct endpoint_answer *ans, const char *idmember, tstime_t t,
                       const struct hist_policy *pol, int *marked, tstime_t *to_lo, tstime_t *to_hi,
                       char **cause);
/* The first absence of ID: its window (the last poll that listed it, the first that did not)
 * kept until its deletion is confirmed or refuted; its version ends provisionally. */
int hist_confirm_wait(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                      tstime_t from_hi, tstime_t to_lo, tstime_t to_hi, char **cause);
/* A refuted absence: ID's version (from FROM_HI) is open again and the mark goes. */
int hist_confirm_refute(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                        tstime_t from_hi, char **cause);
/* The mark goes (a confirmed deletion). */
int hist_confirm_done(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                      char **cause);
/* The current record of ID of KIND when ID carries a mark of absence: 1 (and *cur, borrowed
 * from TXN), 0 without one, -1. */
int hist_confirm_marked(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                        struct hist_cur *cur, char **cause);
/* The ids of KIND the list LIST (its items' IDMEMBER; JSON null: empty) leaves out, to fetch
 * one by one: none when more than HIST_CONFIRM_MAX are missing (then a second list confirms) or
 * when LIST is no list. *ids is new. */
int hist_confirm_plan(struct store *st, const char *tailnet, uint8_t kind, json_t *list,
                      const char *idmember, json_t **ids, char **cause);
#define HIST_CONFIRM_MAX 50

/* Where a version stands at T, given the last successful poll of its endpoint and whether polls
 * cover T (across a gap even what was there at both ends is only a maybe). */
enum hist_state hist_state_cov(const struct hist_bounds *b, tstime_t t, tstime_t last_ok,
                               int covered);

json_t *hist_time_json(tstime_t t);
void hist_sbuf_time(struct sbuf *sb, tstime_t t);
void hist_bounds_json(json_t *obj, const struct hist_bounds *b);
/* The pins hist_bounds_json wrote into V ("exact_from_by", "exact_to_by": the side collapsed to
 * its moment) set again on B, whose four bounds were read back from V. */
void hist_bounds_pins_json(json_t *v, struct hist_bounds *b);
/* The same members as JSON text: "from_lo":...,"exact_from":true, no braces. */
void hist_bounds_sbuf(struct sbuf *sb, const struct hist_bounds *b);

/* tailnet, kind[, id]: the prefix of an entity's cur and ver keys (ID NULL: of the kind). */
void hist_key_kind(struct store_key *k, const char *tailnet, uint8_t kind, const char *id);
/* The same for a device. */
void hist_key_device(struct store_key *k, const char *tailnet, const char *id);
/* tailnet, address: the prefix of an address's intervals. */
void hist_key_addr(struct store_key *k, const char *tailnet, const struct tsaddr *a);
/* tailnet, lower-cased name: the prefix of a name's index rows. */
void hist_key_name(struct store_key *k, const char *tailnet, const char *name);
/* Sets the one-shot mark WHAT of entity ID of KIND at T: 1 if it was set already, 0 now set,
 * -1 error. */
int hist_mark(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
              const char *what, tstime_t t, char **cause);
/* Is ID a device hidden from an earlier credential (a shared-in device an OAuth token does not
 * list)? 1 (and its last version's from_hi and to_lo), 0, or -1 with *cause. */
int hist_hidden_get(struct store_txn *txn, const char *tailnet, const char *id, tstime_t *from_hi,
                    tstime_t *to_lo, char **cause);

int hist_ep_read(struct store_txn *txn, const char *tailnet, const char *endpoint,
                 struct hist_endpoint *ep, char **cause);
int hist_ep_write(struct store_txn *txn, const char *tailnet, const char *endpoint,
                  const struct hist_endpoint *ep, char **cause);
/* Applying one poll of ENDPOINT in a write transaction, in three steps. Begin reads the
 * endpoint's state into *EP and checks *T against its last poll (poll times strictly increase:
 * they are keys): when the clock is unreliable (POL says why, or *T is not after the last
 * poll), the span since the last poll is a gap and *T is placed by the monotonic time elapsed
 * or the API's Date:; with neither it is -1 (the poll is not recorded), never a 1 us step. Hold
 * holds back a mass disappearance (GONE of NCUR records, WHAT names them) until a second poll
 * confirms it: 1 when held (EP written), 0 to go on, -1. End writes the coverage row and the
 * endpoint's state for a successful poll of COUNT entities. EP is the caller's to free. */
int hist_poll_begin(struct store_txn *txn, const char *tailnet, const char *endpoint, tstime_t *t,
                    struct hist_endpoint *ep, const struct hist_policy *pol, char **cause);
int hist_poll_hold(struct store_txn *txn, const char *tailnet, const char *endpoint,
                   const char *what, struct hist_endpoint *ep, size_t gone, uint64_t ncur,
                   const struct hist_policy *pol, struct hist_poll_result *res, char **cause);
int hist_poll_end(struct store_txn *txn, const char *tailnet, const char *endpoint,
                  struct hist_endpoint *ep, tstime_t t, size_t count, const struct hist_policy *pol,
                  char **cause);
/* After hist_poll_end, in the same transaction: the attribution joins, then POL's after step
 * (PREV_OK: the endpoint's last successful poll before this one). */
static inline int
hist_poll_after(struct store_txn *txn, const char *tailnet, tstime_t prev_ok, tstime_t t,
                const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	/* The attribution joins of the versions and audit entries this poll recorded. */
	if (attrib_flush(txn, tailnet, t, pol->attribution_events, &res->events, cause) == -1)
		return -1;
	if (pol->after == NULL)
		return 0;
	return pol->after(txn, tailnet, prev_ok, t, res->created + res->changed + res->deleted > 0,
	                  pol->after_arg, &res->events, cause);
}
/* A coverage row for a successful poll at T; PREV is the one before it. CLOCK: the wall clock
 * was unreliable over the span (a gap, however short). */
int hist_put_cover(struct store_txn *txn, const char *tailnet, const char *endpoint, tstime_t t,
                   tstime_t prev, int span_ok, uint64_t count, int oauth, int clock, char **cause);
/* tailnet, endpoint: the prefix of an endpoint's coverage rows (key: + poll time; value starts
 * with the start of the span the poll covers). */
void hist_key_cover(struct store_key *k, const char *tailnet, const char *endpoint);
/* Is T covered by polls of ENDPOINT? If not, *reason (malloc'd) says why. */
int hist_covered(struct store_txn *txn, const char *tailnet, const char *endpoint, tstime_t t,
                 char **reason);
/* Sorts N records of SIZE bytes at BASE by the id at ID_OFF (a char array), the first listed
 * first (ORDER_OFF: its size_t position in the answer), and drops later duplicates with a
 * warning naming them WHAT: DROP frees one. Slots left over are zeroed. Returns how many are
 * kept. */
size_t hist_sort_unique(void *base, size_t n, size_t size, size_t id_off, size_t order_off,
                        const char *tailnet, const char *what, void (*drop)(void *));
/* The fields whose values differ between two objects (either may be NULL), sorted. */
json_t *hist_changed_fields(json_t *prev, json_t *cur);

#endif
