/* ctl.h: the Unix-socket server: accepts clients, reads request lines, dispatches, writes replies.
 */
#ifndef TSINV_CTL_H
#define TSINV_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <event2/event.h>
#include <jansson.h>

#include "config.h"

struct ctl;
struct ctl_client;

/* One request in flight. The handler answers it exactly once, at once or later (async), with one
 * of the ctl_reply* calls; that call frees the request. A reply to a client that has gone away is
 * dropped. A client's next request is not read until the current one is answered. */
struct ctl_req {
	struct ctl_client *client;
	int op;       /* index into proto_ops */
	json_t *id;   /* new reference */
	json_t *args; /* new reference, always an object */
	uid_t uid;    /* the peer's uid at connect time */
	pid_t pid;
	uint64_t mark; /* the dispatcher's, for the reply guard (ops: damaged reads before it) */
};

typedef void (*ctl_dispatch_fn)(struct ctl_req *req, void *arg);

/* Listens on LISTEN_FD when it is >= 0 (socket activation), else creates cf->socket itself (its
 * directory 0750 if missing, socket mode cf->socket_mode, group cf->socket_group), replacing a
 * stale socket file but refusing to steal one a live daemon answers on. With cf->admin_group,
 * PROTO_F_WRITE ops are refused ("forbidden") to clients that are not root, the daemon's user or
 * in the group. Connections over the limits are refused, and logged once per uid and minute.
 * NULL and *cause on error. */
struct ctl *ctl_new(struct event_base *base, const struct config *cf, int listen_fd,
                    ctl_dispatch_fn fn, void *arg, char **cause);
/* Closes every client and the listener; removes the socket file if ctl created it. Requests
 * still pending are freed unanswered: their handlers must drop them without a reply. */
void ctl_free(struct ctl *ctl);
size_t ctl_nclients(const struct ctl *ctl);
/* Connections accepted and refused (over the limits) since the daemon started. */
void ctl_counts(const struct ctl *ctl, uint64_t *accepted, uint64_t *refused);

/* A guard asked before every successful reply: -1 and *code and *msg (malloc'd) turn it into that
 * error (the daemon fails an answer that met a damaged record, never sends it short). */
typedef int (*ctl_guard_fn)(struct ctl_req *req, void *arg, const char **code, char **msg);
void ctl_set_guard(struct ctl *ctl, ctl_guard_fn fn, void *arg);

void ctl_reply(struct ctl_req *req, json_t *result); /* result stolen */
void ctl_reply_raw(struct ctl_req *req, const char *result_json, size_t len);
/* Writes the next part of a result into SB, stopping once SB holds MAX bytes or more: 1 while
 * more is to come, 0 after the last part, -1 when it cannot go on. */
struct sbuf;
typedef int (*ctl_slice_fn)(void *arg, struct sbuf *sb, size_t max);
/* Ends REQ with a successful reply whose result FN writes a slice at a time, the next one only
 * once the client has read most of the last, so that a big answer neither stalls the loop nor
 * piles up in memory. Bytes already sent cannot be taken back: a failure of FN, or a newline
 * or NUL in what it wrote, cuts the reply (the connection is closed). DONE(ARG) is called when
 * the reply ends, however it ends. */
void ctl_reply_sliced(struct ctl_req *req, ctl_slice_fn fn, void (*done)(void *), void *arg);
/* An error whose error object also carries DATA's members (borrowed), e.g. "candidates". */
void ctl_reply_err_data(struct ctl_req *req, const char *code, json_t *data, const char *msg);
void ctl_reply_err(struct ctl_req *req, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends PROGRESS (stolen) as a frame {"id":ID,"progress":PROGRESS} ahead of REQ's reply, if REQ
 * asked for frames ("progress": true in its args): old clients never see one. Dropped for a
 * client that has gone or has more than a few replies' worth unread. REQ stays pending. */
void ctl_progress(struct ctl_req *req, json_t *progress);

/* A streaming connection (events.follow): after its one reply, the connection carries lines
 * written by the feed; what the client sends is ignored, its EOF ends the stream. */
struct ctl_stream;
typedef void (*ctl_stream_fn)(void *arg);

/* Answers REQ with RESULT (stolen) and turns its connection into a stream. DRAINED runs when
 * queued output has been sent; CLOSED when the client goes (the stream is freed after it). NULL
 * when the client has gone already (REQ is then freed). */
struct ctl_stream *ctl_stream_start(struct ctl_req *req, json_t *result, ctl_stream_fn drained,
                                    ctl_stream_fn closed, void *arg);
/* Queues LINE and a newline. 0, or -1 when it cannot be queued. */
int ctl_stream_write(struct ctl_stream *st, const char *line, size_t len);
size_t ctl_stream_queued(const struct ctl_stream *st);
/* Ends the stream from the feed's side (no CLOSED callback); the connection closes once flushed. */
void ctl_stream_close(struct ctl_stream *st);

#endif
