/* tstime.h: time as microseconds since the Unix epoch (UTC); RFC 3339, relative times, durations.
 */
#ifndef TSINV_TSTIME_H
#define TSINV_TSTIME_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t tstime_t;

#define TSTIME_STRLEN 40
#define TSTIME_SEC INT64_C(1000000)
#define TSTIME_NONE INT64_MIN /* no such time: an open bound, a poll that never happened */

tstime_t tstime_now(void);

/* Strict RFC 3339: "2026-11-20T14:05:00Z", optional fraction (up to 9 digits, kept to the
 * microsecond), "Z"/"z" or "+hh:mm"/"-hh:mm". Returns 0, or -1 on anything else. */
int tstime_parse_rfc3339(const char *s, tstime_t *out);

/* What users type for TIME: RFC 3339, "now", or a relative time in the past: "-90m", "90m",
 * "3d", "1h30m" (all mean that long before now). Returns 0, or -1 with *cause (malloc'd). */
int tstime_parse(const char *s, tstime_t now, tstime_t *out, char **cause);
/* The same forms, a time later than NOW included: the daemon reads a client's times with it,
 * since its own clock may be the one that is wrong (a step back: "clock unreliable"). */
int tstime_parse_any(const char *s, tstime_t now, tstime_t *out, char **cause);

/* "90s", "5m", "1h30m", "7d", "2w", "250ms"; a bare number is seconds. Returns 0 or -1 + *cause. */
int tstime_parse_duration(const char *s, int64_t *us, char **cause);

/* RFC 3339 in UTC: "2026-11-20T14:05:00Z", with ".ffffff" only when the fraction is not zero. */
void tstime_format(tstime_t t, char *buf, size_t len);

/* "3d4h", "12m5s", "850ms": a short human duration. */
void tstime_format_duration(int64_t us, char *buf, size_t len);

/* T as an RFC 3339 JSON string, or JSON null for TSTIME_NONE: a new reference. The one
 * time-to-JSON of the tree. */
struct json_t;
struct json_t *tstime_json(tstime_t t);

#endif
