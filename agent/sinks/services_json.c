/* Per-service summaries as the JSON of /api/v1/services. */
#include <jansson.h>

#include "services_json.h"

static json_t *summary_json(const struct summary *s, double interval)
{
	json_t *o = json_object();

	json_object_set_new(o, "service", json_string(s->service));
	json_object_set_new(o, "role",
			    json_string(s->role == SEISMO_ROLE_SERVER ? "server" : "client"));
	if (s->peer[0])
		json_object_set_new(o, "peer", json_string(s->peer));
	if (s->peer_service[0])
		json_object_set_new(o, "peer_service", json_string(s->peer_service));
	if (s->id->namespace_[0])
		json_object_set_new(o, "namespace", json_string(s->id->namespace_));
	if (s->id->pod[0])
		json_object_set_new(o, "pod", json_string(s->id->pod));
	if (s->id->team[0])
		json_object_set_new(o, "team", json_string(s->id->team));
	json_object_set_new(o, "requests", json_integer((json_int_t)s->requests));
	json_object_set_new(o, "errors", json_integer((json_int_t)s->errors));
	json_object_set_new(o, "rate", json_real((double)s->requests / interval));
	json_object_set_new(o, "error_ratio",
			    json_real(s->requests ? (double)s->errors / (double)s->requests : 0));
	if (s->requests) {
		json_object_set_new(o, "mean",
				    json_real((double)s->sum_ns / 1e9 / (double)s->requests));
		json_object_set_new(o, "p50", json_real(s->p50));
		json_object_set_new(o, "p90", json_real(s->p90));
		json_object_set_new(o, "p99", json_real(s->p99));
	}
	return o;
}

char *services_json_body(const char *node, const struct summary *sums, int n, double interval)
{
	json_t *doc = json_object(), *list = json_array();
	char *text;

	for (int i = 0; i < n; i++)
		json_array_append_new(list, summary_json(&sums[i], interval));
	json_object_set_new(doc, "node", json_string(node));
	json_object_set_new(doc, "interval_seconds", json_real(interval));
	json_object_set_new(doc, "services", list);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}
