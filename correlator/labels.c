#include "labels.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_fast.h"
#include "util.h"

static size_t lower_bound(const struct corr_labels *ls, const char *name, int *found)
{
	size_t lo = 0, hi = ls->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(ls->v[mid].name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int corr_labels_set(struct corr_labels *ls, const char *name, const char *value)
{
	int found;
	size_t at = lower_bound(ls, name, &found);
	char *v = strdup(value);

	if (!v)
		return -1;
	if (found) {
		free(ls->v[at].value);
		ls->v[at].value = v;
		return 0;
	}
	char *n = strdup(name);
	struct corr_label *grown = realloc(ls->v, (ls->n + 1) * sizeof(*grown));
	if (!n || !grown) {
		free(n);
		free(v);
		if (grown)
			ls->v = grown;
		return -1;
	}
	ls->v = grown;
	memmove(&ls->v[at + 1], &ls->v[at], (ls->n - at) * sizeof(*grown));
	ls->v[at].name = n;
	ls->v[at].value = v;
	ls->n++;
	return 0;
}

const char *corr_labels_get(const struct corr_labels *ls, const char *name)
{
	int found;
	size_t at = lower_bound(ls, name, &found);

	return found ? ls->v[at].value : NULL;
}

int corr_labels_copy(struct corr_labels *dst, const struct corr_labels *src)
{
	dst->v = NULL;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		if (corr_labels_set(dst, src->v[i].name, src->v[i].value)) {
			corr_labels_free(dst);
			return -1;
		}
	return 0;
}

void corr_labels_free(struct corr_labels *ls)
{
	for (size_t i = 0; i < ls->n; i++) {
		free(ls->v[i].name);
		free(ls->v[i].value);
	}
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}

int corr_labels_equal(const struct corr_labels *a, const struct corr_labels *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) || strcmp(a->v[i].value, b->v[i].value))
			return 0;
	return 1;
}

uint64_t corr_labels_fingerprint(const struct corr_labels *ls)
{
	static const unsigned char sep = 0xff;
	uint64_t h = CORR_FNV_OFFSET;

	for (size_t i = 0; i < ls->n; i++) {
		h = corr_fnv1a(h, ls->v[i].name, strlen(ls->v[i].name));
		h = corr_fnv1a(h, &sep, 1);
		h = corr_fnv1a(h, ls->v[i].value, strlen(ls->v[i].value));
		h = corr_fnv1a(h, &sep, 1);
	}
	return h;
}

json_t *corr_labels_to_json(const struct corr_labels *ls)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < ls->n; i++)
		json_object_set_new(o, ls->v[i].name, json_string(ls->v[i].value));
	return o;
}

int corr_label_name_valid(const char *name)
{
	if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return 0;
	for (const char *p = name + 1; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_'))
			return 0;
	return 1;
}

int corr_labels_from_json(struct corr_labels *ls, json_t *obj, const char *what, char *err,
			  size_t errlen)
{
	const char *key;
	json_t *val;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "%s: must be an object of strings", what);
		return -1;
	}
	json_object_foreach(obj, key, val) {
		if (!corr_label_name_valid(key)) {
			snprintf(err, errlen, "%s: invalid label name '%.64s'", what, key);
			return -1;
		}
		if (!json_is_string(val)) {
			snprintf(err, errlen, "%s.%.64s: must be a string", what, key);
			return -1;
		}
		if (json_string_length(val) > 4096) {
			snprintf(err, errlen, "%s.%.64s: longer than 4096 bytes", what, key);
			return -1;
		}
		if (corr_labels_set(ls, key, json_string_value(val))) {
			snprintf(err, errlen, "%s: out of memory", what);
			return -1;
		}
	}
	return 0;
}

int corr_labels_from_jf(struct corr_labels *ls, const struct jf_value *obj, const char *what,
			char *err, size_t errlen)
{
	if (!obj || obj->type != JF_OBJECT) {
		snprintf(err, errlen, "%s: must be an object of strings", what);
		return -1;
	}
	for (uint32_t i = 0; i < obj->n; i++) {
		const char *key = obj->members[i].key;
		const struct jf_value *val = &obj->members[i].value;
		if (!corr_label_name_valid(key)) {
			snprintf(err, errlen, "%s: invalid label name '%.64s'", what, key);
			return -1;
		}
		if (val->type != JF_STRING) {
			snprintf(err, errlen, "%s.%.64s: must be a string", what, key);
			return -1;
		}
		if (val->len > 4096) {
			snprintf(err, errlen, "%s.%.64s: longer than 4096 bytes", what, key);
			return -1;
		}
		if (corr_labels_set(ls, key, val->str)) {
			snprintf(err, errlen, "%s: out of memory", what);
			return -1;
		}
	}
	return 0;
}

void corr_labels_put_json(const struct corr_labels *ls, struct jf_buf *out)
{
	jf_buf_put(out, "{", 1);
	for (size_t i = 0; i < ls->n; i++) {
		if (i)
			jf_buf_put(out, ",", 1);
		jf_buf_put_string(out, ls->v[i].name);
		jf_buf_put(out, ":", 1);
		jf_buf_put_string(out, ls->v[i].value);
	}
	jf_buf_put(out, "}", 1);
}

char *corr_labels_string(const struct corr_labels *ls)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputc('{', f);
	for (size_t i = 0; i < ls->n; i++) {
		fprintf(f, "%s%s=\"", i ? ", " : "", ls->v[i].name);
		for (const char *p = ls->v[i].value; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputc('"', f);
	}
	fputc('}', f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int corr_labels_before(const struct corr_labels *x, const struct corr_labels *y)
{
	if (x->n != y->n)
		return x->n < y->n;
	/* Both sorted by name: walking them together walks the sorted union. */
	for (size_t i = 0; i < x->n; i++) {
		int c = strcmp(x->v[i].name, y->v[i].name);
		if (c)
			return c > 0; /* the set lacking the smaller name is before */
		c = strcmp(x->v[i].value, y->v[i].value);
		if (c)
			return c < 0;
	}
	return 0;
}
