/* nbreply.h: NetBox's error answers as people read them. */
#ifndef TSINV_NBREPLY_H
#define TSINV_NBREPLY_H

#include <jansson.h>

/* "HTTP 400 (NetBox refused the data): address: Duplicate ..." for an answer of STATUS with
 * BODY (borrowed; NULL when it was not JSON): DRF's field lists, nested objects (custom
 * fields), a bulk create's list of per-item errors, a 5xx's "error"; cut to 400 bytes and
 * stripped of control characters (malloc'd). */
char *nbreply_error(long status, json_t *body);

#endif
