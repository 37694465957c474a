/* The topology read side: ranking root causes, incident views and JSON. */
#include "topology_int.h"

#include <string.h>

#include "util.h"

size_t corr_topology_incident_slots(const struct corr_topology *t)
{
	return t->n_inc;
}

size_t corr_topology_first_slot(const struct corr_topology *t)
{
	return t->inc_base;
}

size_t corr_topology_slots_held(const struct corr_topology *t)
{
	return t->n_inc - t->inc_base;
}

size_t corr_topology_service_count(const struct corr_topology *t)
{
	return t->n_svc;
}

int corr_topology_find(const struct corr_topology *t, const char *id)
{
	for (size_t i = t->inc_base; i < t->n_inc; i++) {
		if (strcmp(incident_at(t, (int)i)->id, id))
			continue;
		/* Merged: into the one that absorbed it, unless that left memory. */
		int idx = (int)i;
		while (incident_at(t, idx)->merged_into >= 0) {
			idx = incident_at(t, idx)->merged_into;
			if ((size_t)idx < t->inc_base)
				return -1;
		}
		return idx;
	}
	return -1;
}

/* Per-service evidence inside one incident. */
struct svc_evidence {
	int service;
	double score;
	int64_t onset_ms;
	int strongest;
};

static int cmp_causes(const void *x, const void *y)
{
	const struct corr_root_cause *a = x, *b = y;

	if (a->explained != b->explained)
		return a->explained ? 1 : -1;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->onset_ms != b->onset_ms)
		return a->onset_ms < b->onset_ms ? -1 : 1;
	return strcmp(a->service, b->service);
}

static int rank(struct corr_topology *t, struct incident *inc)
{
	struct svc_evidence *ev = calloc(inc->anoms.n + 1, sizeof(*ev));
	size_t n = 0;

	if (!ev)
		return -1;
	for (size_t i = 0; i < inc->anoms.n; i++) {
		const struct anomaly *a = &t->an[inc->anoms.v[i]];
		size_t k;
		for (k = 0; k < n && ev[k].service != a->service; k++)
			;
		if (k == n) {
			ev[n++] = (struct svc_evidence){ .service = a->service,
							 .onset_ms = a->start_ms,
							 .strongest = inc->anoms.v[i] };
		}
		if (a->start_ms < ev[k].onset_ms)
			ev[k].onset_ms = a->start_ms;
		if (a->score > ev[k].score) {
			ev[k].score = a->score;
			ev[k].strongest = inc->anoms.v[i];
		}
	}
	free(inc->causes);
	inc->causes = calloc(n + 1, sizeof(*inc->causes));
	if (!inc->causes) {
		free(ev);
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		const struct service *s = &t->svc[ev[k].service];
		bool explained = false;
		for (size_t j = 0; j < n && !explained; j++) {
			if (j == k)
				continue;
			bool depends = intvec_has(&s->callees, ev[j].service);
			/* The agent's own view: it saw this dependency anomalous. */
			for (size_t i = 0; !depends && i < inc->anoms.n; i++) {
				const struct anomaly *a = &t->an[inc->anoms.v[i]];
				depends = a->service == ev[k].service &&
					  intvec_has(&a->dep_services, ev[j].service);
			}
			explained = depends && ev[j].onset_ms <= ev[k].onset_ms + t->p.slack_ms;
		}
		inc->causes[k] = (struct corr_root_cause){
			.service = s->name,
			.score = ev[k].score,
			.onset_ms = ev[k].onset_ms,
			.explained = explained,
			.anomaly = ev[k].strongest,
		};
	}
	qsort(inc->causes, n, sizeof(*inc->causes), cmp_causes);
	inc->n_causes = n;
	free(ev);
	return 0;
}

static size_t count_distinct_nodes(const struct corr_topology *t, const struct incident *inc)
{
	size_t n = 0;

	for (size_t i = 0; i < inc->anoms.n; i++) {
		const char *node = t->an[inc->anoms.v[i]].node;
		size_t j;
		for (j = 0; j < i; j++)
			if (!strcmp(t->an[inc->anoms.v[j]].node, node))
				break;
		n += j == i;
	}
	return n;
}

int corr_topology_view(struct corr_topology *t, int idx, struct corr_incident_view *v)
{
	if (idx < 0 || (size_t)idx < t->inc_base || (size_t)idx >= t->n_inc)
		return -1; /* forgotten, and its slot left the array */
	struct incident *inc = incident_at(t, idx);

	if (inc->merged_into >= 0 || inc->forgotten)
		return -1;
	if (inc->dirty) {
		struct corr_incident_view *w = &inc->view;
		memset(w, 0, sizeof(*w));
		w->id = inc->id;
		w->resolved = true;
		w->start_ms = INT64_MAX;
		for (size_t i = 0; i < inc->anoms.n; i++) {
			const struct anomaly *a = &t->an[inc->anoms.v[i]];
			if (a->start_ms < w->start_ms)
				w->start_ms = a->start_ms;
			if (!a->end_ms)
				w->resolved = false;
			else if (a->end_ms > w->end_ms)
				w->end_ms = a->end_ms;
			if (a->end_ms && a->stale && !w->stale_node)
				w->stale_node = a->node;
			if (a->severity == CORR_SEV_CRITICAL)
				w->severity = CORR_SEV_CRITICAL;
			w->n_events += a->n_events;
		}
		if (!w->resolved) {
			w->end_ms = 0;
			w->stale_node = NULL;
		}
		w->n_anomalies = inc->anoms.n;
		w->n_nodes = count_distinct_nodes(t, inc);
		if (rank(t, inc))
			return -1;
		w->causes = inc->causes;
		w->n_causes = inc->n_causes;
		w->n_services = inc->n_causes;
		if ((int)w->n_services >= t->p.critical_services)
			w->severity = CORR_SEV_CRITICAL;
		inc->dirty = false;
	}
	/* The arrays move when they grow: point into them afresh every time. */
	for (size_t i = 0; i < inc->n_causes; i++)
		inc->causes[i].labels = &t->an[inc->causes[i].anomaly].labels->ls;
	inc->view.id = inc->id;
	inc->view.causes = inc->causes;
	*v = inc->view;
	return 0;
}

/* The calls between the incident's services (caller -> callee), from the
 * agents' edges: what the console draws. */
static json_t *incident_edges_json(const struct corr_topology *t, const struct incident *inc)
{
	json_t *edges = json_array();
	struct intvec svcs = { 0 };

	for (size_t i = 0; i < inc->anoms.n; i++) {
		int sv = t->an[inc->anoms.v[i]].service;
		if (!intvec_has(&svcs, sv) && intvec_push(&svcs, sv))
			break;
	}
	for (size_t i = 0; i < svcs.n; i++) {
		const struct service *caller = &t->svc[svcs.v[i]];
		for (size_t j = 0; j < caller->callees.n; j++)
			if (intvec_has(&svcs, caller->callees.v[j]))
				json_array_append_new(edges,
						      json_pack("{s:s,s:s}", "caller", caller->name,
								"callee",
								t->svc[caller->callees.v[j]].name));
	}
	free(svcs.v);
	return edges;
}

json_t *corr_topology_incident_json(struct corr_topology *t, int idx, bool detail)
{
	struct corr_incident_view v;
	char starts[32], ends[32];

	if (corr_topology_view(t, idx, &v))
		return NULL;
	corr_time_format(v.start_ms, starts, sizeof(starts));
	corr_time_format(v.end_ms, ends, sizeof(ends));
	json_t *causes = json_array(), *services = json_array(), *nodes = json_array();
	/* services: every anomalous service, in rank order. */
	for (size_t i = 0; i < v.n_causes; i++) {
		char onset[32];
		corr_time_format(v.causes[i].onset_ms, onset, sizeof(onset));
		json_array_append_new(services, json_string(v.causes[i].service));
		if (v.causes[i].explained && i > 0)
			continue;
		json_array_append_new(causes,
				      json_pack("{s:i,s:s,s:f,s:s,s:b}", "rank",
						(int)json_array_size(causes) + 1, "service",
						v.causes[i].service, "score", v.causes[i].score,
						"onset", onset, "explained_by_dependency",
						v.causes[i].explained));
	}
	const struct incident *inc = incident_at(t, idx);
	for (size_t i = 0; i < inc->anoms.n; i++) {
		const char *node = t->an[inc->anoms.v[i]].node;
		size_t j;
		for (j = 0; j < json_array_size(nodes); j++)
			if (!strcmp(json_string_value(json_array_get(nodes, j)), node))
				break;
		if (j == json_array_size(nodes))
			json_array_append_new(nodes, json_string(node));
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:{s:I,s:I,s:o,s:o},s:I,s:I}", "id", v.id,
			      "state", v.resolved ? "resolved" : "firing", "severity",
			      corr_severity_name(v.severity), "starts_at", starts, "ends_at", ends,
			      "root_causes", causes, "blast_radius", "services",
			      (json_int_t)v.n_services, "nodes", (json_int_t)v.n_nodes,
			      "service_names", services, "node_names", nodes, "anomalies",
			      (json_int_t)v.n_anomalies, "events", (json_int_t)v.n_events);
	if (o && detail) {
		json_t *an = json_array();
		for (size_t i = 0; i < inc->anoms.n; i++) {
			const struct anomaly *a = &t->an[inc->anoms.v[i]];
			char s[32], e[32];
			corr_time_format(a->start_ms, s, sizeof(s));
			corr_time_format(a->end_ms, e, sizeof(e));
			json_array_append_new(
				an, json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:s,s:I,s:o}", "anomaly_id",
					      a->id, "service", t->svc[a->service].name, "node",
					      a->node, "starts_at", s, "ends_at", e, "score",
					      a->score, "severity", corr_severity_name(a->severity),
					      "events", (json_int_t)a->n_events, "labels",
					      corr_labels_to_json(&a->labels->ls)));
		}
		json_object_set_new(o, "anomaly_list", an);
		json_object_set_new(o, "edges", incident_edges_json(t, inc));
	}
	return o;
}

size_t corr_topology_anomaly_ids(const struct corr_topology *t, int idx, const char **out,
				 int64_t *starts_ms, size_t max)
{
	size_t n = 0;

	if (idx < 0 || (size_t)idx < t->inc_base || (size_t)idx >= t->n_inc)
		return 0;
	const struct incident *inc = incident_at(t, idx);

	for (size_t i = 0; i < inc->anoms.n && n < max; i++) {
		starts_ms[n] = t->an[inc->anoms.v[i]].start_ms;
		out[n++] = t->an[inc->anoms.v[i]].id;
	}
	return n;
}
