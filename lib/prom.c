/* prom.c: the Prometheus text exposition format: what must be escaped, and how numbers look. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "prom.h"

/* Escapes a backslash and a newline, and with QUOTE a double quote (a label value). */
static void
prom_escaped(struct sbuf *sb, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			sbuf_adds(sb, "\\\\");
		else if (*s == '\n')
			sbuf_adds(sb, "\\n");
		else if (*s == '"' && quote)
			sbuf_adds(sb, "\\\"");
		else
			sbuf_addc(sb, *s);
	}
}

void
prom_family(struct sbuf *sb, const char *name, const char *type, const char *help)
{
	sbuf_addf(sb, "# HELP %s ", name);
	prom_escaped(sb, help, 0);
	sbuf_addf(sb, "\n# TYPE %s %s\n", name, type);
}

void
prom_value(struct sbuf *sb, double v)
{
	if (isnan(v))
		sbuf_adds(sb, "NaN");
	else if (isinf(v))
		sbuf_adds(sb, v > 0 ? "+Inf" : "-Inf");
	else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
		sbuf_addf(sb, "%.0f", v);
	else
		sbuf_addf(sb, "%.16g", v);
}

static void
prom_labels(struct sbuf *sb, const struct prom_label *labels, size_t n, const char *le)
{
	size_t i;

	if (n == 0 && le == NULL)
		return;
	sbuf_addc(sb, '{');
	for (i = 0; i < n; i++) {
		sbuf_addf(sb, "%s%s=\"", i > 0 ? "," : "", labels[i].name);
		prom_escaped(sb, labels[i].value, 1);
		sbuf_addc(sb, '"');
	}
	if (le != NULL)
		sbuf_addf(sb, "%sle=\"%s\"", n > 0 ? "," : "", le);
	sbuf_addc(sb, '}');
}

void
prom_sample(struct sbuf *sb, const char *name, const struct prom_label *labels, size_t nlabels,
            double value)
{
	sbuf_adds(sb, name);
	prom_labels(sb, labels, nlabels, NULL);
	sbuf_addc(sb, ' ');
	prom_value(sb, value);
	sbuf_addc(sb, '\n');
}

void
prom_histogram(struct sbuf *sb, const char *name, const struct prom_label *labels, size_t nlabels,
               const double *bounds, const unsigned long long *cum, size_t nb, double sum,
               unsigned long long count)
{
	struct sbuf le = {0};
	size_t i;

	for (i = 0; i <= nb; i++) {
		le.len = 0;
		if (i < nb)
			prom_value(&le, bounds[i]);
		else
			sbuf_adds(&le, "+Inf");
		sbuf_addf(sb, "%s_bucket", name);
		prom_labels(sb, labels, nlabels, le.p);
		sbuf_addc(sb, ' ');
		prom_value(sb, (double)(i < nb ? cum[i] : count));
		sbuf_addc(sb, '\n');
	}
	sbuf_free(&le);
	sbuf_addf(sb, "%s_sum", name);
	prom_labels(sb, labels, nlabels, NULL);
	sbuf_addc(sb, ' ');
	prom_value(sb, sum);
	sbuf_addf(sb, "\n%s_count", name);
	prom_labels(sb, labels, nlabels, NULL);
	sbuf_addc(sb, ' ');
	prom_value(sb, (double)count);
	sbuf_addc(sb, '\n');
}
