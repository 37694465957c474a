/* seismo.event/v1 JSON: events, their ids, exemplars and the batch body. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "hash.h"
#include "timefmt.h"

/* Each field followed by a 0 byte, so ("ab","c") and ("a","bc") differ. */
static fnv128_t fnv128_field(fnv128_t h, const char *s)
{
	if (!s)
		s = "";
	return fnv1a128(h, s, strlen(s) + 1);
}

static void fnv128_hex(fnv128_t h, char out[EVENTS_ID_HEX])
{
	snprintf(out, EVENTS_ID_HEX, "%016llx%016llx", (unsigned long long)(h >> 64),
		 (unsigned long long)h);
}

int events_format_time(double t, char *buf, size_t len)
{
	if (!isfinite(t) || t < 0 || t > 253402300799.0)
		return -1;
	return timefmt_rfc3339((int64_t)floor(t) * 1000, false, buf, len);
}

void events_anomaly_id(const char *node, const char *service, const char *metric, double starts_at,
		       char out[EVENTS_ID_HEX])
{
	char start[32];
	fnv128_t h = fnv1a128_offset();

	snprintf(start, sizeof(start), "%.3f", starts_at);
	h = fnv128_field(h, node);
	h = fnv128_field(h, service);
	h = fnv128_field(h, metric);
	h = fnv128_field(h, start);
	fnv128_hex(h, out);
}

void events_event_id(const char *anomaly_id, const char *state, char out[EVENTS_ID_HEX])
{
	fnv128_t h = fnv1a128_offset();

	h = fnv128_field(h, anomaly_id);
	h = fnv128_field(h, state);
	fnv128_hex(h, out);
}

/* json_object_set_new that reports failure, including a NULL value from a failed constructor. */
static int set(json_t *obj, const char *key, json_t *value)
{
	if (!value)
		return -1;
	return json_object_set_new(obj, key, value);
}

static int set_number(json_t *obj, const char *key, double value)
{
	/* JSON has no NaN: an unknown figure is left out. */
	if (!isfinite(value))
		return 0;
	return set(obj, key, json_real(value));
}

static int set_time(json_t *obj, const char *key, double t)
{
	char buf[32];

	if (events_format_time(t, buf, sizeof(buf)))
		return 0;
	return set(obj, key, json_string(buf));
}

static int set_string(json_t *obj, const char *key, const char *value)
{
	if (!value || !*value)
		return 0;
	return set(obj, key, json_string(value));
}

static json_t *labels_json(const struct detector_event *ev)
{
	const struct detector_labels *l = ev->labels;
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (set_string(obj, "service", ev->service) ||
	    (l && (set_string(obj, "team", l->team) || set_string(obj, "app", l->app) ||
		   set_string(obj, "namespace", l->namespace) || set_string(obj, "pod", l->pod))) ||
	    set_string(obj, "node", ev->node) || set_string(obj, "cluster", ev->cluster)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *baseline_json(const struct detector_event *ev)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (set(obj, "method", json_string(baseline_method_name(ev->method))) ||
	    set_number(obj, "expected", ev->estimate.expected) ||
	    set_number(obj, "spread", ev->estimate.spread) ||
	    set_number(obj, "mean", ev->estimate.mean) ||
	    set_number(obj, "stddev", ev->estimate.stddev) ||
	    set(obj, "samples", json_integer((json_int_t)ev->estimate.samples))) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *dependencies_json(const struct detector_dependency *deps, size_t ndeps)
{
	json_t *array = json_array();

	if (!array)
		return NULL;
	for (size_t i = 0; i < ndeps; i++) {
		json_t *dep = json_object();

		if (!dep || json_array_append_new(array, dep) ||
		    set_string(dep, "endpoint", deps[i].endpoint) ||
		    set_string(dep, "service", deps[i].service) ||
		    set(dep, "metric", json_string(detector_metric_name(deps[i].metric))) ||
		    set_number(dep, "value", deps[i].value) ||
		    set_number(dep, "expected", deps[i].expected) ||
		    set(dep, "anomalous", json_boolean(deps[i].anomalous))) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

json_t *events_build(const struct detector_event *ev)
{
	const char *state = ev->transition == DETECTOR_RESOLVED ? "resolved" : "firing";
	const char *metric = detector_metric_name(ev->metric);
	char anomaly_id[EVENTS_ID_HEX], id[EVENTS_ID_HEX];
	json_t *event = json_object();

	if (!event)
		return NULL;
	events_anomaly_id(ev->node, ev->service, metric, ev->starts_at, anomaly_id);
	/* An escalation is the same anomaly firing again, critical now: its own id. */
	events_event_id(anomaly_id, ev->transition == DETECTOR_ESCALATED ? "escalated" : state, id);
	if (set(event, "schema", json_string(EVENTS_SCHEMA)) || set(event, "id", json_string(id)) ||
	    set(event, "anomaly_id", json_string(anomaly_id)) ||
	    set(event, "state", json_string(state)) ||
	    set(event, "severity",
		json_string(ev->severity == DETECTOR_CRITICAL ? "critical" : "warning")) ||
	    set(event, "service", json_string(ev->service)) ||
	    set(event, "labels", labels_json(ev)) || set(event, "metric", json_string(metric)) ||
	    set_number(event, "value", ev->value) || set(event, "baseline", baseline_json(ev)) ||
	    set_number(event, "score", ev->score) ||
	    set_number(event, "threshold", ev->threshold) ||
	    set_time(event, "starts_at", ev->starts_at) ||
	    set_time(event, "observed_at", ev->observed_at) ||
	    (ev->transition == DETECTOR_RESOLVED && set_time(event, "ends_at", ev->ends_at)) ||
	    (ev->transition == DETECTOR_ESCALATED &&
	     set(event, "escalated_from", json_string("warning"))) ||
	    set(event, "exemplars", json_array()) ||
	    set(event, "dependencies", dependencies_json(ev->deps, ev->ndeps))) {
		json_decref(event);
		return NULL;
	}
	return event;
}

int events_add_exemplar(json_t *event, const struct events_exemplar *ex)
{
	json_t *array = json_object_get(event, "exemplars");
	json_t *obj;

	if (!json_is_array(array))
		return -1;
	obj = json_object();
	if (!obj || json_array_append_new(array, obj))
		return -1;
	if (set_time(obj, "time", ex->time) ||
	    set_number(obj, "latency_seconds", ex->latency_seconds) ||
	    (ex->pid > 0 && set(obj, "pid", json_integer(ex->pid))) ||
	    set_string(obj, "comm", ex->comm) || set_string(obj, "local", ex->local) ||
	    set_string(obj, "remote", ex->remote) || set_string(obj, "method", ex->method) ||
	    set_string(obj, "path", ex->path) ||
	    (ex->status > 0 && set(obj, "status", json_integer(ex->status))))
		return -1;
	return 0;
}

json_t *events_batch_new(const char *node, const char *cluster, double sent_at)
{
	json_t *batch = json_object();

	if (!batch)
		return NULL;
	if (set_string(batch, "node", node) || set_string(batch, "cluster", cluster) ||
	    set_time(batch, "sent_at", sent_at) || set(batch, "events", json_array()) ||
	    set(batch, "edges", json_array())) {
		json_decref(batch);
		return NULL;
	}
	return batch;
}

int events_batch_add_event(json_t *batch, json_t *event)
{
	json_t *events = json_object_get(batch, "events");

	if (!json_is_array(events)) {
		json_decref(event);
		return -1;
	}
	return json_array_append_new(events, event);
}

int events_batch_add_edge(json_t *batch, const char *caller, const char *callee,
			  const char *endpoint, double requests)
{
	json_t *edges = json_object_get(batch, "edges");
	json_t *edge;

	if (!json_is_array(edges))
		return -1;
	edge = json_object();
	if (!edge || json_array_append_new(edges, edge))
		return -1;
	if (set_string(edge, "caller", caller) || set_string(edge, "callee", callee) ||
	    set_string(edge, "endpoint", endpoint) ||
	    set(edge, "requests", json_integer((json_int_t)(requests > 0 ? requests : 0))))
		return -1;
	return 0;
}
