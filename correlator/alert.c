#include "alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int corr_alert_copy(struct corr_alert *dst, const struct corr_alert *src)
{
	*dst = *src;
	dst->labels = (struct corr_labels){ 0 };
	dst->annotations = (struct corr_labels){ 0 };
	dst->generator_url = NULL;
	if (corr_labels_copy(&dst->labels, &src->labels) ||
	    corr_labels_copy(&dst->annotations, &src->annotations) ||
	    (src->generator_url && !(dst->generator_url = strdup(src->generator_url)))) {
		corr_alert_free(dst);
		return -1;
	}
	return 0;
}

void corr_alert_free(struct corr_alert *a)
{
	corr_labels_free(&a->labels);
	corr_labels_free(&a->annotations);
	free(a->generator_url);
	a->generator_url = NULL;
}

static int opt_time(json_t *o, const char *key, const char *where, int64_t *out, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
		return 0;
	/* Go's zero time (amtool sends it for an unset --start/--end) means unset. */
	if (json_is_string(v) && !strncmp(json_string_value(v), "0001-01-01T00:00:00", 19))
		return 0;
	if (!json_is_string(v) || corr_time_parse(json_string_value(v), out)) {
		snprintf(err, errlen, "%s.%s: must be an RFC 3339 timestamp", where, key);
		return -1;
	}
	return 0;
}

int corr_alert_from_api_json(struct corr_alert *a, json_t *o, int64_t now_ms,
			     int64_t resolve_timeout_ms, const char *where, char *err,
			     size_t errlen)
{
	char w[96];

	memset(a, 0, sizeof(*a));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s: must be an object", where);
		return -1;
	}
	snprintf(w, sizeof(w), "%s.labels", where);
	if (corr_labels_from_json(&a->labels, json_object_get(o, "labels"), w, err, errlen))
		goto fail;
	if (!a->labels.n) {
		snprintf(err, errlen, "%s.labels: at least one label is required", where);
		goto fail;
	}
	json_t *ann = json_object_get(o, "annotations");
	snprintf(w, sizeof(w), "%s.annotations", where);
	if (ann && !json_is_null(ann) &&
	    corr_labels_from_json(&a->annotations, ann, w, err, errlen))
		goto fail;
	if (opt_time(o, "startsAt", where, &a->starts_at_ms, err, errlen) ||
	    opt_time(o, "endsAt", where, &a->ends_at_ms, err, errlen))
		goto fail;
	json_t *gen = json_object_get(o, "generatorURL");
	if (gen && json_is_string(gen) && !(a->generator_url = strdup(json_string_value(gen))))
		goto fail;
	a->updated_at_ms = now_ms;
	if (!a->starts_at_ms)
		a->starts_at_ms = a->ends_at_ms ? a->ends_at_ms : now_ms;
	if (!a->ends_at_ms) {
		a->timeout = true;
		a->ends_at_ms = now_ms + resolve_timeout_ms;
	}
	if (a->ends_at_ms < a->starts_at_ms) {
		snprintf(err, errlen, "%s: endsAt is before startsAt", where);
		goto fail;
	}
	a->fp = corr_labels_fingerprint(&a->labels);
	return 0;
fail:
	corr_alert_free(a);
	return -1;
}

json_t *corr_alert_to_json(const struct corr_alert *a, int64_t now_ms)
{
	char starts[32], ends[32], fp[17];
	bool resolved = corr_alert_resolved(a, now_ms);

	corr_time_format(a->starts_at_ms, starts, sizeof(starts));
	/* Like Alertmanager, an end that has not come yet is not shown. */
	corr_time_format(resolved ? a->ends_at_ms : 0, ends, sizeof(ends));
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)a->fp);
	return json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:s}", "status",
			 resolved ? "resolved" : "firing", "labels",
			 corr_labels_to_json(&a->labels), "annotations",
			 corr_labels_to_json(&a->annotations), "startsAt", starts, "endsAt", ends,
			 "generatorURL", a->generator_url ? a->generator_url : "", "fingerprint",
			 fp);
}

int corr_alert_compare(const struct corr_alert *x, const struct corr_alert *y)
{
	static const char *const first[] = { "job", "instance" };

	for (size_t i = 0; i < 2; i++) {
		const char *a = corr_labels_get(&x->labels, first[i]);
		const char *b = corr_labels_get(&y->labels, first[i]);
		if (!a && !b)
			continue;
		if (!a || !b)
			return a ? -1 : 1;
		int c = strcmp(a, b);
		if (c)
			return c;
	}
	if (corr_labels_before(&x->labels, &y->labels))
		return -1;
	return corr_labels_before(&y->labels, &x->labels) ? 1 : 0;
}
