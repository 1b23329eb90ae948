/* follow.c: live event streams: each follower sends the log from its cursor, paced by its reader.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include "events.h"
#include "follow.h"
#include "log.h"
#include "retain.h"

/* A follower reads more of the log only while less than this waits to be sent to it. */
#define FOLLOW_HIGH (256 * 1024)
#define FOLLOW_BATCH 512
/* At most this many events are looked at per loop turn, matching or not: a rare filter on a
 * long log must not stall the loop. */
#define FOLLOW_SCAN_TURN 8192

struct follower {
	struct follow *fw;
	struct ctl_stream *st;
	struct event *more; /* continues a long scan on the next loop turn */
	uint64_t cursor;    /* the last event looked at */
	char *types;
	char *tailnet;
	TAILQ_ENTRY(follower) entry;
};

struct follow {
	struct event_base *base;
	struct store *st;
	TAILQ_HEAD(, follower) list;
	size_t n;
};

struct follow *
follow_new(struct event_base *base, struct store *st)
{
	struct follow *fw = xcalloc(1, sizeof(*fw));

	fw->base = base;
	fw->st = st;
	TAILQ_INIT(&fw->list);
	return fw;
}

static void
follow_remove(struct follower *fl)
{
	TAILQ_REMOVE(&fl->fw->list, fl, entry);
	fl->fw->n--;
	event_free(fl->more);
	free(fl->types);
	free(fl->tailnet);
	free(fl);
}

void
follow_free(struct follow *fw)
{
	struct follower *fl;

	if (fw == NULL)
		return;
	while ((fl = TAILQ_FIRST(&fw->list)) != NULL) {
		ctl_stream_close(fl->st);
		follow_remove(fl);
	}
	free(fw);
}

struct follow_batch {
	struct follower *fl;
	size_t seen;
	int failed;
};

/* Sends one event if the follower wants it; the cursor moves past it either way. */
static int
follow_event_cb(uint64_t seq, const char *text, size_t len, void *arg)
{
	struct follow_batch *b = arg;
	struct follower *fl = b->fl;
	json_t *ev = NULL;
	int want = 1;

	b->seen++;
	if (fl->types != NULL || fl->tailnet != NULL) {
		ev = json_loadb(text, len, 0, NULL);
		if (fl->types != NULL)
			want = event_match_list(
			    fl->types, json_string_value(json_object_get(ev, "type")) ?: "");
		if (want && fl->tailnet != NULL)
			want = strcmp(json_string_value(json_object_get(ev, "tailnet")) ?: "",
			              fl->tailnet) == 0;
		json_decref(ev);
	}
	if (want && ctl_stream_write(fl->st, text, len) == -1) {
		b->failed = 1;
		return 1;
	}
	fl->cursor = seq;
	return ctl_stream_queued(fl->st) > FOLLOW_HIGH;
}

/* Sends what the follower has not seen, until caught up or its reader falls behind. Returns -1
 * when the follower was dropped. */
static int
follow_pump(struct follower *fl)
{
	struct follow_batch b = {.fl = fl};
	size_t examined = 0;
	char *cause = NULL, *gap;

	/* A reader so slow that retention pruned what it had not read: it is told, not skipped
	 * past in silence. Its client reconnects from its last event and gets the error. */
	if ((gap = retain_events_gap(fl->fw->st, fl->cursor, NULL)) != NULL) {
		log_warnx("event follower dropped after seq %llu: %s",
		          (unsigned long long)fl->cursor, gap);
		free(gap);
		ctl_stream_close(fl->st);
		follow_remove(fl);
		return -1;
	}
	do {
		b.seen = 0;
		if (event_scan(fl->fw->st, fl->cursor, FOLLOW_BATCH, follow_event_cb, &b, &cause) ==
		        -1 ||
		    b.failed) {
			log_warnx("event follower dropped: %s",
			          cause ? cause : "cannot queue output");
			free(cause);
			ctl_stream_close(fl->st);
			follow_remove(fl);
			return -1;
		}
		examined += b.seen;
	} while (b.seen == FOLLOW_BATCH && ctl_stream_queued(fl->st) <= FOLLOW_HIGH &&
	         examined < FOLLOW_SCAN_TURN);
	if (b.seen == FOLLOW_BATCH && examined >= FOLLOW_SCAN_TURN &&
	    ctl_stream_queued(fl->st) <= FOLLOW_HIGH)
		event_active(fl->more, EV_TIMEOUT, 0);
	return 0;
}

static void
follow_drained_cb(void *arg)
{
	follow_pump(arg);
}

static void
follow_more_cb(evutil_socket_t fd, short what, void *arg)
{
	follow_pump(arg);
}

static void
follow_closed_cb(void *arg)
{
	follow_remove(arg);
}

void
follow_start(struct follow *fw, struct ctl_req *req, uint64_t since, const char *types,
             const char *tailnet)
{
	struct follower *fl = xcalloc(1, sizeof(*fl));
	json_t *result = json_pack("{s:b, s:I}", "following", 1, "since", (json_int_t)since);

	fl->fw = fw;
	fl->more = evtimer_new(fw->base, follow_more_cb, fl);
	fl->cursor = since;
	fl->types = types != NULL ? xstrdup(types) : NULL;
	fl->tailnet = tailnet != NULL ? xstrdup(tailnet) : NULL;
	TAILQ_INSERT_TAIL(&fw->list, fl, entry);
	fw->n++;
	if ((fl->st = ctl_stream_start(req, result, follow_drained_cb, follow_closed_cb, fl)) ==
	    NULL) {
		follow_remove(fl);
		return;
	}
	follow_pump(fl);
}

void
follow_wake(struct follow *fw)
{
	struct follower *fl, *next;

	for (fl = TAILQ_FIRST(&fw->list); fl != NULL; fl = next) {
		next = TAILQ_NEXT(fl, entry);
		if (ctl_stream_queued(fl->st) <= FOLLOW_HIGH)
			follow_pump(fl);
	}
}

size_t
follow_count(const struct follow *fw)
{
	return fw->n;
}
