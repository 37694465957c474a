/*
 * The row formats both store backends share (store_backend.h): fingerprint
 * lists as comma-separated hex, an event's labels and dependencies as JSON
 * text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_fast.h"
#include "log.h"
#include "store_backend.h"

char *corr_store_fps_text(const uint64_t *fps, size_t n)
{
	char *buf = malloc(n * 17 + 1);
	size_t off = 0;

	if (!buf)
		return NULL;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(buf + off, "%s%016" PRIx64, i ? "," : "", fps[i]);
	return buf;
}

int corr_store_fps_parse(const char *text, uint64_t **out, size_t *n)
{
	size_t cap = 1;

	*n = 0;
	*out = NULL;
	if (!text)
		return -1;
	for (const char *p = text; *p; p++)
		cap += *p == ',';
	*out = calloc(cap + 1, sizeof(**out));
	if (!*out)
		return -1;
	for (const char *p = text; *p;) {
		char *end;
		(*out)[(*n)++] = strtoull(p, &end, 16);
		if (end == p)
			return -1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

int corr_store_entry_parse(const char *firing_text, const char *resolved_text, uint64_t **firing,
			   size_t *n_firing, uint64_t **resolved, size_t *n_resolved)
{
	if (!corr_store_fps_parse(firing_text, firing, n_firing) &&
	    !corr_store_fps_parse(resolved_text, resolved, n_resolved))
		return 0;
	free(*firing);
	free(*resolved);
	*firing = *resolved = NULL;
	return -1;
}

int corr_store_pending_row(struct corr_pending *p, const char *firing_text,
			   const char *resolved_text, corr_store_pending_cb cb, void *arg)
{
	uint64_t *f = NULL, *r = NULL;
	int rc = 0;

	if (corr_store_entry_parse(firing_text, resolved_text, &f, &p->n_firing, &r,
				   &p->n_resolved)) {
		log_warn("store: pending notification %lld unreadable, skipped", (long long)p->id);
		return 0;
	}
	p->firing = f;
	p->resolved = r;
	rc = cb(p, arg);
	free(f);
	free(r);
	return rc;
}

/* The writer's text, handed over to the caller (free()); NULL when a write failed. */
static char *take_text(struct jf_buf *b)
{
	char *t = jf_buf_text(b) ? b->p : NULL;

	if (!t)
		jf_buf_free(b);
	return t;
}

/* Written straight to text (json_fast.h's writer): the ingest's hot path. */
char *corr_store_labels_text(const struct corr_event *ev)
{
	struct jf_buf b = { 0 };

	corr_labels_put_json(&ev->labels, &b);
	return take_text(&b);
}

char *corr_store_deps_text(const struct corr_event *ev)
{
	struct jf_buf b = { 0 };

	corr_event_put_deps_json(ev, &b);
	return take_text(&b);
}

int corr_store_event_parse(struct corr_event *ev, const char *labels_text, const char *deps_text)
{
	json_error_t jerr;
	json_t *labels = labels_text ? json_loads(labels_text, 0, &jerr) : NULL;
	json_t *deps = deps_text ? json_loads(deps_text, 0, &jerr) : NULL;
	char err[128];
	int rc = 0;

	if (!labels || !json_is_array(deps) ||
	    corr_labels_from_json(&ev->labels, labels, "labels", err, sizeof(err)))
		rc = -1;
	ev->deps = rc ? NULL : calloc(json_array_size(deps) + 1, sizeof(*ev->deps));
	if (!rc && !ev->deps)
		rc = -1;
	for (size_t i = 0; !rc && i < json_array_size(deps); i++) {
		json_t *d = json_array_get(deps, i), *svc = json_object_get(d, "service");
		ev->deps[i].service = json_is_string(svc) ? strdup(json_string_value(svc)) : NULL;
		ev->deps[i].anomalous = json_is_true(json_object_get(d, "anomalous"));
		ev->n_deps++;
	}
	json_decref(labels);
	json_decref(deps);
	return rc;
}
