/* prom.h: the Prometheus text exposition format (version 0.0.4): families, samples, labels. */
#ifndef TSINV_PROM_H
#define TSINV_PROM_H

#include <stddef.h>

#include "sbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4"
#define PROM_LABELS_MAX 4 /* a sample's labels, not counting a histogram's "le" */

struct prom_label {
	const char *name;
	const char *value; /* any bytes but NUL: escaped on output */
};

/* "# HELP NAME HELP" and "# TYPE NAME TYPE" (counter, gauge, histogram); HELP is escaped. */
void prom_family(struct sbuf *sb, const char *name, const char *type, const char *help);
/* One sample line: NAME{LABELS} VALUE. NLABELS is at most PROM_LABELS_MAX. */
void prom_sample(struct sbuf *sb, const char *name, const struct prom_label *labels, size_t nlabels,
                 double value);
/* A histogram's samples: NAME_bucket for each of the NB upper BOUNDS (CUM: cumulative counts)
 * and +Inf (COUNT), NAME_sum and NAME_count. */
void prom_histogram(struct sbuf *sb, const char *name, const struct prom_label *labels,
                    size_t nlabels, const double *bounds, const unsigned long long *cum, size_t nb,
                    double sum, unsigned long long count);
/* A value as the format writes it: integers without a fraction, NaN, +Inf, -Inf. */
void prom_value(struct sbuf *sb, double v);

#endif
