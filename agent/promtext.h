/* Prometheus text exposition (format 0.0.4), written in one place: the
 * agent's own metrics, the registry's histograms and the shipper's counters
 * all go through these, so every family has its HELP and TYPE lines and
 * every label value is escaped the same way.
 *
 *	prom_family(out, "seismo_series", "gauge", "Histogram series the agent holds.");
 *	prom_u64(out, "seismo_series", NULL, n);
 *	prom_escape_label(service, esc, sizeof(esc));
 *	snprintf(labels, sizeof(labels), "service=\"%s\"", esc);
 *	prom_double(out, "seismo_x_seconds", labels, 0.25, 9);
 */
#ifndef SEISMO_PROMTEXT_H
#define SEISMO_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void prom_family(FILE *out, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. labels NULL or "" for none; already escaped. */
void prom_u64(FILE *out, const char *name, const char *labels, uint64_t value);
/* The same with a fixed number of decimals ("%.*f"). */
void prom_double(FILE *out, const char *name, const char *labels, double value, int decimals);
/* A label value with \, " and newline escaped; truncated to fit size. */
void prom_escape_label(const char *in, char *out, size_t size);

#endif
