/*
 * Label sets in Alertmanager's model: name/value pairs kept sorted by name,
 * with Prometheus' FNV-1a fingerprint so alert identities match
 * Alertmanager's own.
 */
#ifndef CORR_LABELS_H
#define CORR_LABELS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct corr_label {
	char *name;
	char *value;
};

struct corr_labels {
	struct corr_label *v;
	size_t n;
};

/* Sets (adds or replaces) one label; keeps the set sorted. 0 or -1. */
int corr_labels_set(struct corr_labels *ls, const char *name, const char *value);
const char *corr_labels_get(const struct corr_labels *ls, const char *name);
int corr_labels_copy(struct corr_labels *dst, const struct corr_labels *src);
void corr_labels_free(struct corr_labels *ls);
int corr_labels_equal(const struct corr_labels *a, const struct corr_labels *b);
/* Prometheus' model.LabelSet.Fingerprint(). */
uint64_t corr_labels_fingerprint(const struct corr_labels *ls);
json_t *corr_labels_to_json(const struct corr_labels *ls);
/*
 * Reads a JSON object of string values. On a wrongly shaped object, writes
 * a message naming the offending key into err and returns -1.
 */
int corr_labels_from_json(struct corr_labels *ls, json_t *obj, const char *what, char *err,
			  size_t errlen);
struct jf_value;
struct jf_buf;
/* The same for the ingest parser's tree (json_fast.h); obj NULL: not an object. */
int corr_labels_from_jf(struct corr_labels *ls, const struct jf_value *obj, const char *what,
			char *err, size_t errlen);
/* Appends the set as a JSON object ({"a":"1","b":"2"}), as corr_labels_to_json dumps it. */
void corr_labels_put_json(const struct corr_labels *ls, struct jf_buf *out);
/* {a="1", b="2"}: the form Alertmanager uses in group keys. */
char *corr_labels_string(const struct corr_labels *ls);
/*
 * Prometheus' model.LabelSet.Before: fewer labels first; else the first
 * name of the sorted union that one set lacks puts that set first, or the
 * first differing value decides. 0 when equal.
 */
int corr_labels_before(const struct corr_labels *x, const struct corr_labels *y);
/* A label name as Prometheus allows it: [a-zA-Z_][a-zA-Z0-9_]*. */
int corr_label_name_valid(const char *name);

#endif
