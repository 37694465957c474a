#include "ingest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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
	json_decref(ev->raw);
	memset(ev, 0, sizeof(*ev));
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
	memset(b, 0, sizeof(*b));
}

int corr_ingest_gunzip(const void *in, size_t in_len, size_t max_out, char **out,
		       size_t *out_len, int *too_big, char *err, size_t errlen)
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
		snprintf(err, errlen, "decompressed body exceeds the limit of %zu bytes",
			 max_out);
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

/* A required or optional bounded string field. */
static int get_string(json_t *obj, const char *key, size_t max, int required,
		      const char *where, char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing field \"%s\"", where, key);
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s.%s: must be a string", where, key);
		return -1;
	}
	size_t len = json_string_length(v);
	if ((required && len == 0) || len > max) {
		snprintf(err, errlen, "%s.%s: length must be %s..%zu", where, key,
			 required ? "1" : "0", max);
		return -1;
	}
	if (strlen(json_string_value(v)) != len) {
		snprintf(err, errlen, "%s.%s: contains a NUL byte", where, key);
		return -1;
	}
	*out = strdup(json_string_value(v));
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int get_number(json_t *obj, const char *key, int required, double dflt,
		      const char *where, double *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = dflt;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing field \"%s\"", where, key);
		return -1;
	}
	if (!json_is_number(v) || !isfinite(json_number_value(v))) {
		snprintf(err, errlen, "%s.%s: must be a finite number", where, key);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

static int get_time(json_t *obj, const char *key, int required, const char *where,
		    int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing field \"%s\"", where, key);
		return -1;
	}
	if (!json_is_string(v) || corr_time_parse(json_string_value(v), out)) {
		snprintf(err, errlen, "%s.%s: must be an RFC 3339 timestamp", where, key);
		return -1;
	}
	return 0;
}

static int parse_deps(json_t *arr, struct corr_event *ev, const char *where,
		      char *err, size_t errlen)
{
	size_t i;
	json_t *d;
	char w[96];

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > 1000) {
		snprintf(err, errlen, "%s.dependencies: must be an array of at most 1000 objects",
			 where);
		return -1;
	}
	ev->deps = calloc(json_array_size(arr) + 1, sizeof(*ev->deps));
	if (!ev->deps) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(arr, i, d) {
		snprintf(w, sizeof(w), "%s.dependencies[%zu]", where, i);
		if (!json_is_object(d)) {
			snprintf(err, errlen, "%s: must be an object", w);
			return -1;
		}
		json_t *an = json_object_get(d, "anomalous");
		if (an && !json_is_boolean(an)) {
			snprintf(err, errlen, "%s.anomalous: must be true or false", w);
			return -1;
		}
		struct corr_event_dep *dep = &ev->deps[ev->n_deps];
		if (get_string(d, "service", MAX_NAME, 0, w, &dep->service, err, errlen))
			return -1;
		dep->anomalous = an && json_is_true(an);
		ev->n_deps++;
	}
	return 0;
}

static int parse_event(json_t *o, const char *where, const char *node,
		       const char *cluster, struct corr_event *ev, char *err,
		       size_t errlen)
{
	char *schema = NULL, *state = NULL, *severity = NULL;
	int rc = -1;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s: must be an object", where);
		return -1;
	}
	if (get_string(o, "schema", 64, 1, where, &schema, err, errlen))
		goto out;
	if (strcmp(schema, CORR_EVENT_SCHEMA)) {
		snprintf(err, errlen, "%s.schema: \"%.64s\" is not \"%s\"", where,
			 schema, CORR_EVENT_SCHEMA);
		goto out;
	}
	if (get_string(o, "id", MAX_ID, 1, where, &ev->id, err, errlen) ||
	    get_string(o, "anomaly_id", MAX_ID, 1, where, &ev->anomaly_id, err, errlen))
		goto out;
	if (!corr_is_hex(ev->id, MAX_ID) || !corr_is_hex(ev->anomaly_id, MAX_ID)) {
		snprintf(err, errlen, "%s: id and anomaly_id must be hex strings", where);
		goto out;
	}
	if (get_string(o, "state", 16, 1, where, &state, err, errlen) ||
	    get_string(o, "severity", 16, 1, where, &severity, err, errlen))
		goto out;
	if (strcmp(state, "firing") && strcmp(state, "resolved")) {
		snprintf(err, errlen, "%s.state: \"%.16s\" is not firing or resolved",
			 where, state);
		goto out;
	}
	ev->resolved = !strcmp(state, "resolved");
	if (strcmp(severity, "warning") && strcmp(severity, "critical")) {
		snprintf(err, errlen, "%s.severity: \"%.16s\" is not warning or critical",
			 where, severity);
		goto out;
	}
	ev->severity = strcmp(severity, "critical") ? CORR_SEV_WARNING : CORR_SEV_CRITICAL;
	if (get_string(o, "service", MAX_NAME, 1, where, &ev->service, err, errlen) ||
	    get_string(o, "metric", 64, 1, where, &ev->metric, err, errlen))
		goto out;
	size_t k;
	for (k = 0; k < sizeof(known_metrics) / sizeof(known_metrics[0]); k++)
		if (!strcmp(ev->metric, known_metrics[k]))
			break;
	if (k == sizeof(known_metrics) / sizeof(known_metrics[0])) {
		snprintf(err, errlen, "%s.metric: unknown metric \"%.64s\"", where, ev->metric);
		goto out;
	}
	if (get_number(o, "value", 1, 0, where, &ev->value, err, errlen) ||
	    get_number(o, "score", 1, 0, where, &ev->score, err, errlen) ||
	    get_number(o, "threshold", 0, 0, where, &ev->threshold, err, errlen))
		goto out;
	if (get_time(o, "starts_at", 1, where, &ev->starts_at_ms, err, errlen) ||
	    get_time(o, "observed_at", 1, where, &ev->observed_at_ms, err, errlen) ||
	    get_time(o, "ends_at", ev->resolved, where, &ev->ends_at_ms, err, errlen))
		goto out;
	if (!ev->resolved)
		ev->ends_at_ms = 0;
	json_t *labels = json_object_get(o, "labels");
	if (labels && !json_is_null(labels)) {
		char w[96];
		snprintf(w, sizeof(w), "%s.labels", where);
		if (corr_labels_from_json(&ev->labels, labels, w, err, errlen))
			goto out;
	}
	json_t *ex = json_object_get(o, "exemplars");
	if (ex && !json_is_null(ex) && !json_is_array(ex)) {
		snprintf(err, errlen, "%s.exemplars: must be an array", where);
		goto out;
	}
	json_t *bl = json_object_get(o, "baseline");
	if (bl && !json_is_null(bl) && !json_is_object(bl)) {
		snprintf(err, errlen, "%s.baseline: must be an object", where);
		goto out;
	}
	if (parse_deps(json_object_get(o, "dependencies"), ev, where, err, errlen))
		goto out;
	/* The batch says where the event came from when the event does not. */
	const char *ev_node = corr_labels_get(&ev->labels, "node");
	if (!ev_node && corr_labels_set(&ev->labels, "node", node))
		goto oom;
	if (cluster && !corr_labels_get(&ev->labels, "cluster") &&
	    corr_labels_set(&ev->labels, "cluster", cluster))
		goto oom;
	if (corr_labels_set(&ev->labels, "service", ev->service))
		goto oom;
	ev->node = strdup(corr_labels_get(&ev->labels, "node"));
	if (!ev->node)
		goto oom;
	ev->raw = json_incref(o);
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(schema);
	free(state);
	free(severity);
	return rc;
}

static int parse_edges(json_t *arr, struct corr_batch *b, char *err, size_t errlen)
{
	size_t i;
	json_t *e;
	char w[64];

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "edges: must be an array");
		return -1;
	}
	if (json_array_size(arr) > CORR_INGEST_MAX_EDGES) {
		snprintf(err, errlen, "edges: more than %d in one batch", CORR_INGEST_MAX_EDGES);
		return -1;
	}
	b->edges = calloc(json_array_size(arr) + 1, sizeof(*b->edges));
	if (!b->edges) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(arr, i, e) {
		struct corr_edge *edge = &b->edges[b->n_edges];
		snprintf(w, sizeof(w), "edges[%zu]", i);
		if (!json_is_object(e)) {
			snprintf(err, errlen, "%s: must be an object", w);
			return -1;
		}
		b->n_edges++;
		if (get_string(e, "caller", MAX_NAME, 1, w, &edge->caller, err, errlen) ||
		    get_string(e, "callee", MAX_NAME, 0, w, &edge->callee, err, errlen) ||
		    get_string(e, "endpoint", MAX_NAME, 0, w, &edge->endpoint, err, errlen))
			return -1;
		/* An empty callee counts as none: the endpoint must name the peer then. */
		if ((!edge->callee || !edge->callee[0]) && (!edge->endpoint || !edge->endpoint[0])) {
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
		json_t *r = json_object_get(e, "requests");
		if (r && !json_is_null(r)) {
			if (!json_is_integer(r) || json_integer_value(r) < 0) {
				snprintf(err, errlen, "%s.requests: must be a non-negative integer", w);
				return -1;
			}
			edge->requests = (uint64_t)json_integer_value(r);
		}
	}
	return 0;
}

static json_t *load_json(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	/* Duplicate keys are refused: they make a batch ambiguous. */
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root)
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
	return root;
}

int corr_ingest_parse_batch(const char *body, size_t len, struct corr_batch *b,
			    char *err, size_t errlen)
{
	json_t *root = load_json(body, len, err, errlen), *events, *ev;
	size_t i;
	char where[48];

	memset(b, 0, sizeof(*b));
	if (!root)
		return -1;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "body: must be a JSON object with \"node\" and \"events\"");
		goto fail;
	}
	if (get_string(root, "node", MAX_NAME, 1, "body", &b->node, err, errlen) ||
	    get_string(root, "cluster", MAX_NAME, 0, "body", &b->cluster, err, errlen))
		goto fail;
	int64_t sent;
	if (get_time(root, "sent_at", 0, "body", &sent, err, errlen))
		goto fail;
	events = json_object_get(root, "events");
	if (!json_is_array(events)) {
		snprintf(err, errlen, "body.events: missing or not an array");
		goto fail;
	}
	if (json_array_size(events) > CORR_INGEST_MAX_EVENTS) {
		snprintf(err, errlen, "body.events: more than %d events in one batch",
			 CORR_INGEST_MAX_EVENTS);
		goto fail;
	}
	b->events = calloc(json_array_size(events) + 1, sizeof(*b->events));
	if (!b->events) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_array_foreach(events, i, ev) {
		snprintf(where, sizeof(where), "events[%zu]", i);
		b->n_events++;
		if (parse_event(ev, where, b->node, b->cluster, &b->events[i], err, errlen))
			goto fail;
	}
	if (parse_edges(json_object_get(root, "edges"), b, err, errlen))
		goto fail;
	b->liveness = true;
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	corr_batch_free(b);
	return -1;
}

/* Alertmanager alert -> event. Ids are hashes of what identifies it. */
static int am_alert_to_event(json_t *a, const char *where, struct corr_event *ev,
			     char *err, size_t errlen)
{
	char *status = NULL, idbuf[17];
	const char *service;
	int rc = -1;

	if (!json_is_object(a)) {
		snprintf(err, errlen, "%s: must be an object", where);
		return -1;
	}
	char w[96];
	snprintf(w, sizeof(w), "%s.labels", where);
	if (corr_labels_from_json(&ev->labels, json_object_get(a, "labels"), w, err, errlen))
		goto out;
	json_t *ann = json_object_get(a, "annotations");
	if (ann && !json_is_object(ann)) {
		snprintf(err, errlen, "%s.annotations: must be an object", where);
		goto out;
	}
	if (get_string(a, "status", 16, 1, where, &status, err, errlen))
		goto out;
	if (strcmp(status, "firing") && strcmp(status, "resolved")) {
		snprintf(err, errlen, "%s.status: \"%.16s\" is not firing or resolved",
			 where, status);
		goto out;
	}
	ev->resolved = !strcmp(status, "resolved");
	if (get_time(a, "startsAt", 1, where, &ev->starts_at_ms, err, errlen))
		goto out;
	int64_t ends = 0;
	json_t *endsv = json_object_get(a, "endsAt");
	/* "0001-01-01T00:00:00Z" is Alertmanager's "not set". */
	if (endsv && json_is_string(endsv) &&
	    strncmp(json_string_value(endsv), "0001-", 5) &&
	    get_time(a, "endsAt", 0, where, &ends, err, errlen))
		goto out;
	ev->ends_at_ms = ev->resolved ? (ends ? ends : corr_now_ms()) : 0;
	ev->observed_at_ms = ev->resolved ? ev->ends_at_ms : corr_now_ms();
	if (ev->observed_at_ms < ev->starts_at_ms)
		ev->observed_at_ms = ev->starts_at_ms;
	service = corr_labels_get(&ev->labels, "service");
	if (!service)
		service = corr_labels_get(&ev->labels, "job");
	if (!service)
		service = corr_labels_get(&ev->labels, "alertname");
	if (!service || !*service) {
		snprintf(err, errlen, "%s.labels: needs service, job or alertname", where);
		goto out;
	}
	const char *sev = corr_labels_get(&ev->labels, "severity");
	ev->severity = sev && !strcmp(sev, "critical") ? CORR_SEV_CRITICAL : CORR_SEV_WARNING;
	uint64_t lfp = corr_labels_fingerprint(&ev->labels);
	uint64_t aid = corr_fnv1a(lfp, &ev->starts_at_ms, sizeof(ev->starts_at_ms));
	uint64_t id = corr_fnv1a(aid, status, strlen(status));
	snprintf(idbuf, sizeof(idbuf), "%016llx", (unsigned long long)aid);
	ev->anomaly_id = strdup(idbuf);
	snprintf(idbuf, sizeof(idbuf), "%016llx", (unsigned long long)id);
	ev->id = strdup(idbuf);
	ev->service = strdup(service);
	ev->metric = strdup("alert");
	const char *node = corr_labels_get(&ev->labels, "node");
	if (!node)
		node = corr_labels_get(&ev->labels, "instance");
	ev->node = strdup(node ? node : "alertmanager");
	if (ev->node && !corr_labels_get(&ev->labels, "node") &&
	    corr_labels_set(&ev->labels, "node", ev->node))
		goto out;
	/* An alert has no score: it counts as just over a default threshold. */
	ev->threshold = 4.0;
	ev->score = ev->severity == CORR_SEV_CRITICAL ? 8.0 : 4.0;
	if (!ev->anomaly_id || !ev->id || !ev->service || !ev->metric || !ev->node) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ev->raw = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "schema",
			    CORR_EVENT_SCHEMA, "id", ev->id, "anomaly_id",
			    ev->anomaly_id, "state", status, "severity",
			    corr_severity_name(ev->severity), "service", ev->service,
			    "metric", "alert", "alertmanager", a);
	rc = ev->raw ? 0 : -1;
out:
	free(status);
	return rc;
}

int corr_ingest_parse_am_webhook(const char *body, size_t len,
				 struct corr_batch *b, char *err, size_t errlen)
{
	json_t *root = load_json(body, len, err, errlen), *alerts, *a;
	size_t i;
	char where[48];

	memset(b, 0, sizeof(*b));
	if (!root)
		return -1;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "body: must be an Alertmanager webhook object");
		goto fail;
	}
	json_t *ver = json_object_get(root, "version");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "4")) {
		snprintf(err, errlen, "body.version: must be \"4\" (Alertmanager webhook)");
		goto fail;
	}
	alerts = json_object_get(root, "alerts");
	if (!json_is_array(alerts) || json_array_size(alerts) > CORR_INGEST_MAX_EVENTS) {
		snprintf(err, errlen, "body.alerts: missing, not an array, or more than %d",
			 CORR_INGEST_MAX_EVENTS);
		goto fail;
	}
	b->node = strdup("alertmanager");
	b->events = calloc(json_array_size(alerts) + 1, sizeof(*b->events));
	if (!b->node || !b->events) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_array_foreach(alerts, i, a) {
		snprintf(where, sizeof(where), "alerts[%zu]", i);
		b->n_events++;
		if (am_alert_to_event(a, where, &b->events[i], err, errlen))
			goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	corr_batch_free(b);
	return -1;
}
