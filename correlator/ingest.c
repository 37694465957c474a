#include "ingest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ingest_int.h"
#include "json_fast.h"
#include "util.h"

#define MAX_NAME 256
#define MAX_ID 128

static const char *const known_metrics[] = {
	"latency_p99", "latency_p50", "latency_mean", "request_rate", "error_ratio",
};

const char *corr_severity_name(enum corr_severity s)
{
	return s == CORR_SEV_CRITICAL ? "critical" : "warning";
}

void corr_event_free(struct corr_event *ev)
{
	free(ev->id);
	free(ev->anomaly_id);
	free(ev->service);
	free(ev->node);
	free(ev->metric);
	corr_labels_free(&ev->labels);
	for (size_t i = 0; i < ev->n_deps; i++)
		free(ev->deps[i].service);
	free(ev->deps);
	memset(ev, 0, sizeof(*ev));
}

void corr_event_put_deps_json(const struct corr_event *ev, struct jf_buf *out)
{
	jf_buf_put(out, "[", 1);
	for (size_t i = 0; i < ev->n_deps; i++) {
		jf_buf_put(out, i ? ",{\"service\":" : "{\"service\":", i ? 12 : 11);
		if (ev->deps[i].service)
			jf_buf_put_string(out, ev->deps[i].service);
		else
			jf_buf_put(out, "null", 4);
		if (ev->deps[i].anomalous)
			jf_buf_put(out, ",\"anomalous\":true}", 18);
		else
			jf_buf_put(out, ",\"anomalous\":false}", 19);
	}
	jf_buf_put(out, "]", 1);
}

void corr_edge_free(struct corr_edge *e)
{
	free(e->caller);
	free(e->callee);
	free(e->endpoint);
	memset(e, 0, sizeof(*e));
}

void corr_batch_free(struct corr_batch *b)
{
	for (size_t i = 0; i < b->n_events; i++)
		corr_event_free(&b->events[i]);
	free(b->events);
	for (size_t i = 0; i < b->n_edges; i++)
		corr_edge_free(&b->edges[i]);
	free(b->edges);
	free(b->node);
	free(b->cluster);
	jf_arena_free(&b->mem);
	memset(b, 0, sizeof(*b));
}

int corr_ingest_gunzip(const void *in, size_t in_len, size_t max_out, char **out, size_t *out_len,
		       int *too_big, char *err, size_t errlen)
{
	z_stream zs = { 0 };
	size_t cap = in_len * 4 + 1024, used = 0;
	char *buf;
	int rc;

	*too_big = 0;
	if (cap > max_out + 1)
		cap = max_out + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* 15 + 32: accept gzip and zlib headers. */
	if (inflateInit2(&zs, 15 + 32) != Z_OK) {
		free(buf);
		snprintf(err, errlen, "cannot initialise zlib");
		return -1;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)in_len;
	for (;;) {
		if (used == cap) {
			if (cap > max_out) {
				*too_big = 1;
				snprintf(err, errlen,
					 "decompressed body exceeds the limit of %zu bytes",
					 max_out);
				goto fail;
			}
			size_t ncap = cap * 2 > max_out + 1 ? max_out + 1 : cap * 2;
			char *g = realloc(buf, ncap + 1);
			if (!g) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = g;
			cap = ncap;
		}
		zs.next_out = (Bytef *)buf + used;
		zs.avail_out = (uInt)(cap - used);
		rc = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
			snprintf(err, errlen, "gzip body is truncated");
			goto fail;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			snprintf(err, errlen, "gzip body is corrupt: %s",
				 zs.msg ? zs.msg : "inflate failed");
			goto fail;
		}
	}
	if (used > max_out) {
		*too_big = 1;
		snprintf(err, errlen, "decompressed body exceeds the limit of %zu bytes", max_out);
		goto fail;
	}
	inflateEnd(&zs);
	buf[used] = 0;
	*out = buf;
	*out_len = used;
	return 0;
fail:
	inflateEnd(&zs);
	free(buf);
	return -1;
}

/* A required or optional bounded string field, copied out of the batch. */
int ingest_get_string(const struct jf_value *obj, const char *key, size_t max, int required,
		      const char *where, char **out, char *err, size_t errlen)
{
	const struct jf_value *v = jf_get(obj, key);

	*out = NULL;
	if (!v || v->type == JF_NULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing field \"%s\"", where, key);
		return -1;
	}
	if (v->type != JF_STRING) {
		snprintf(err, errlen, "%s.%s: must be a string", where, key);
		return -1;
	}
	if ((required && v->len == 0) || v->len > max) {
		snprintf(err, errlen, "%s.%s: length must be %s..%zu", where, key,
			 required ? "1" : "0", max);
		return -1;
	}
	*out = malloc(v->len + 1);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(*out, v->str, v->len + 1);
	return 0;
}

/* The same, for a field only looked at: the text stays in the batch. */
int ingest_peek_string(const struct jf_value *obj, const char *key, size_t max, const char *where,
		       const char **out, char *err, size_t errlen)
{
	const struct jf_value *v = jf_get(obj, key);

	if (!v || v->type == JF_NULL) {
		snprintf(err, errlen, "%s: missing field \"%s\"", where, key);
		return -1;
	}
	if (v->type != JF_STRING) {
		snprintf(err, errlen, "%s.%s: must be a string", where, key);
		return -1;
	}
	if (v->len == 0 || v->len > max) {
		snprintf(err, errlen, "%s.%s: length must be 1..%zu", where, key, max);
		return -1;
	}
	*out = v->str;
	return 0;
}

static int get_number(const struct jf_value *obj, const char *key, int required, double dflt,
		      const char *where, double *out, char *err, size_t errlen)
{
	const struct jf_value *v = jf_get(obj, key);

	*out = dflt;
	if (!v || v->type == JF_NULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing field \"%s\"", where, key);
		return -1;
	}
	/* The parser refuses reals that overflow: every number is finite. */
	if (!jf_is_number(v)) {
		snprintf(err, errlen, "%s.%s: must be a finite number", where, key);
		return -1;
	}
	*out = jf_number(v);
	return 0;
}

int ingest_get_time(const struct jf_value *obj, const char *key, int required, const char *where,
		    int64_t *out, char *err, size_t errlen)
{
	const struct jf_value *v = jf_get(obj, key);

	*out = 0;
	if (!v || v->type == JF_NULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing field \"%s\"", where, key);
		return -1;
	}
	if (v->type != JF_STRING || corr_time_parse(v->str, out)) {
		snprintf(err, errlen, "%s.%s: must be an RFC 3339 timestamp", where, key);
		return -1;
	}
	return 0;
}

static int parse_deps(const struct jf_value *arr, struct corr_event *ev, const char *where,
		      char *err, size_t errlen)
{
	char w[96];

	if (!arr || arr->type == JF_NULL)
		return 0;
	if (arr->type != JF_ARRAY || arr->n > 1000) {
		snprintf(err, errlen, "%s.dependencies: must be an array of at most 1000 objects",
			 where);
		return -1;
	}
	ev->deps = calloc(arr->n + 1, sizeof(*ev->deps));
	if (!ev->deps) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < arr->n; i++) {
		const struct jf_value *d = &arr->items[i];
		if (d->type != JF_OBJECT) {
			snprintf(w, sizeof(w), "%s.dependencies[%u]", where, i);
			snprintf(err, errlen, "%s: must be an object", w);
			return -1;
		}
		const struct jf_value *an = jf_get(d, "anomalous");
		if (an && an->type != JF_TRUE && an->type != JF_FALSE) {
			snprintf(w, sizeof(w), "%s.dependencies[%u]", where, i);
			snprintf(err, errlen, "%s.anomalous: must be true or false", w);
			return -1;
		}
		struct corr_event_dep *dep = &ev->deps[ev->n_deps];
		snprintf(w, sizeof(w), "%s.dependencies[%u]", where, i);
		if (ingest_get_string(d, "service", MAX_NAME, 0, w, &dep->service, err, errlen))
			return -1;
		dep->anomalous = an && an->type == JF_TRUE;
		ev->n_deps++;
	}
	return 0;
}

static int is_known_metric(const char *m)
{
	for (size_t k = 0; k < sizeof(known_metrics) / sizeof(known_metrics[0]); k++)
		if (!strcmp(m, known_metrics[k]))
			return 1;
	return 0;
}

static int parse_event(const struct jf_value *o, size_t index, struct corr_batch *b,
		       struct corr_event *ev, char *err, size_t errlen)
{
	const char *schema, *state, *severity;
	char where[48];

	snprintf(where, sizeof(where), "events[%zu]", index);
	if (o->type != JF_OBJECT) {
		snprintf(err, errlen, "%s: must be an object", where);
		return -1;
	}
	if (ingest_peek_string(o, "schema", 64, where, &schema, err, errlen))
		return -1;
	if (strcmp(schema, CORR_EVENT_SCHEMA)) {
		snprintf(err, errlen, "%s.schema: \"%.64s\" is not \"%s\"", where, schema,
			 CORR_EVENT_SCHEMA);
		return -1;
	}
	if (ingest_get_string(o, "id", MAX_ID, 1, where, &ev->id, err, errlen) ||
	    ingest_get_string(o, "anomaly_id", MAX_ID, 1, where, &ev->anomaly_id, err, errlen))
		return -1;
	if (!corr_is_hex(ev->id, MAX_ID) || !corr_is_hex(ev->anomaly_id, MAX_ID)) {
		snprintf(err, errlen, "%s: id and anomaly_id must be hex strings", where);
		return -1;
	}
	if (ingest_peek_string(o, "state", 16, where, &state, err, errlen) ||
	    ingest_peek_string(o, "severity", 16, where, &severity, err, errlen))
		return -1;
	if (strcmp(state, "firing") && strcmp(state, "resolved")) {
		snprintf(err, errlen, "%s.state: \"%.16s\" is not firing or resolved", where,
			 state);
		return -1;
	}
	ev->resolved = !strcmp(state, "resolved");
	if (strcmp(severity, "warning") && strcmp(severity, "critical")) {
		snprintf(err, errlen, "%s.severity: \"%.16s\" is not warning or critical", where,
			 severity);
		return -1;
	}
	ev->severity = strcmp(severity, "critical") ? CORR_SEV_WARNING : CORR_SEV_CRITICAL;
	if (ingest_get_string(o, "service", MAX_NAME, 1, where, &ev->service, err, errlen) ||
	    ingest_get_string(o, "metric", 64, 1, where, &ev->metric, err, errlen))
		return -1;
	if (!is_known_metric(ev->metric)) {
		snprintf(err, errlen, "%s.metric: unknown metric \"%.64s\"", where, ev->metric);
		return -1;
	}
	if (get_number(o, "value", 1, 0, where, &ev->value, err, errlen) ||
	    get_number(o, "score", 1, 0, where, &ev->score, err, errlen) ||
	    get_number(o, "threshold", 0, 0, where, &ev->threshold, err, errlen))
		return -1;
	if (ingest_get_time(o, "starts_at", 1, where, &ev->starts_at_ms, err, errlen) ||
	    ingest_get_time(o, "observed_at", 1, where, &ev->observed_at_ms, err, errlen) ||
	    ingest_get_time(o, "ends_at", ev->resolved, where, &ev->ends_at_ms, err, errlen))
		return -1;
	if (!ev->resolved)
		ev->ends_at_ms = 0;
	const struct jf_value *labels = jf_get(o, "labels");
	if (labels && labels->type != JF_NULL) {
		char w[96];
		snprintf(w, sizeof(w), "%s.labels", where);
		if (corr_labels_from_jf(&ev->labels, labels, w, err, errlen))
			return -1;
	}
	const struct jf_value *ex = jf_get(o, "exemplars");
	if (ex && ex->type != JF_NULL && ex->type != JF_ARRAY) {
		snprintf(err, errlen, "%s.exemplars: must be an array", where);
		return -1;
	}
	const struct jf_value *bl = jf_get(o, "baseline");
	if (bl && bl->type != JF_NULL && bl->type != JF_OBJECT) {
		snprintf(err, errlen, "%s.baseline: must be an object", where);
		return -1;
	}
	if (parse_deps(jf_get(o, "dependencies"), ev, where, err, errlen))
		return -1;
	/* The batch says where the event came from when the event does not. */
	if (!corr_labels_get(&ev->labels, "node") && corr_labels_set(&ev->labels, "node", b->node))
		goto oom;
	if (b->cluster && !corr_labels_get(&ev->labels, "cluster") &&
	    corr_labels_set(&ev->labels, "cluster", b->cluster))
		goto oom;
	if (corr_labels_set(&ev->labels, "service", ev->service))
		goto oom;
	ev->node = strdup(corr_labels_get(&ev->labels, "node"));
	if (!ev->node)
		goto oom;
	/* Its text as received, for the store: nothing to serialise again. */
	ev->raw_len = o->text_len;
	if (!(ev->raw = jf_strndup(&b->mem, o->text, o->text_len)))
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int parse_edges(const struct jf_value *arr, struct corr_batch *b, char *err, size_t errlen)
{
	char w[64];

	if (!arr || arr->type == JF_NULL)
		return 0;
	if (arr->type != JF_ARRAY) {
		snprintf(err, errlen, "edges: must be an array");
		return -1;
	}
	if (arr->n > CORR_INGEST_MAX_EDGES) {
		snprintf(err, errlen, "edges: more than %d in one batch", CORR_INGEST_MAX_EDGES);
		return -1;
	}
	b->edges = calloc(arr->n + 1, sizeof(*b->edges));
	if (!b->edges) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < arr->n; i++) {
		const struct jf_value *e = &arr->items[i];
		struct corr_edge *edge = &b->edges[b->n_edges];
		snprintf(w, sizeof(w), "edges[%u]", i);
		if (e->type != JF_OBJECT) {
			snprintf(err, errlen, "%s: must be an object", w);
			return -1;
		}
		b->n_edges++;
		if (ingest_get_string(e, "caller", MAX_NAME, 1, w, &edge->caller, err, errlen) ||
		    ingest_get_string(e, "callee", MAX_NAME, 0, w, &edge->callee, err, errlen) ||
		    ingest_get_string(e, "endpoint", MAX_NAME, 0, w, &edge->endpoint, err, errlen))
			return -1;
		/* An empty callee counts as none: the endpoint must name the peer then. */
		if ((!edge->callee || !edge->callee[0]) &&
		    (!edge->endpoint || !edge->endpoint[0])) {
			snprintf(err, errlen, "%s: needs \"callee\" or \"endpoint\"", w);
			return -1;
		}
		if (!edge->callee || !edge->callee[0]) {
			free(edge->callee);
			edge->callee = strdup(edge->endpoint);
			if (!edge->callee) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
		const struct jf_value *r = jf_get(e, "requests");
		if (r && r->type != JF_NULL) {
			if (r->type != JF_INT || r->integer < 0) {
				snprintf(err, errlen, "%s.requests: must be a non-negative integer",
					 w);
				return -1;
			}
			edge->requests = (uint64_t)r->integer;
		}
	}
	return 0;
}

int corr_ingest_parse_batch(const char *body, size_t len, struct corr_batch *b, char *err,
			    size_t errlen)
{
	const struct jf_value *events;
	struct jf_value *root;
	int64_t sent;

	memset(b, 0, sizeof(*b));
	if (jf_parse(body, len, &b->mem, &root, err, errlen))
		goto fail;
	if (root->type != JF_OBJECT) {
		snprintf(err, errlen, "body: must be a JSON object with \"node\" and \"events\"");
		goto fail;
	}
	if (ingest_get_string(root, "node", MAX_NAME, 1, "body", &b->node, err, errlen) ||
	    ingest_get_string(root, "cluster", MAX_NAME, 0, "body", &b->cluster, err, errlen) ||
	    ingest_get_time(root, "sent_at", 0, "body", &sent, err, errlen))
		goto fail;
	events = jf_get(root, "events");
	if (!events || events->type != JF_ARRAY) {
		snprintf(err, errlen, "body.events: missing or not an array");
		goto fail;
	}
	if (events->n > CORR_INGEST_MAX_EVENTS) {
		snprintf(err, errlen, "body.events: more than %d events in one batch",
			 CORR_INGEST_MAX_EVENTS);
		goto fail;
	}
	b->events = calloc(events->n + 1, sizeof(*b->events));
	if (!b->events) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < events->n; i++) {
		b->n_events++;
		if (parse_event(&events->items[i], i, b, &b->events[i], err, errlen))
			goto fail;
	}
	if (parse_edges(jf_get(root, "edges"), b, err, errlen))
		goto fail;
	b->liveness = true;
	return 0;
fail:
	corr_batch_free(b);
	return -1;
}
