/*
 * The topology correlation's write side: the dependency graph (edges,
 * endpoints), placing each event's anomaly into an incident, and merges.
 * The model is described in topology.h; the other files in topology_int.h.
 */
#include "topology_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

struct corr_topology *corr_topology_new(const struct corr_topo_params *p)
{
	struct corr_topology *t = calloc(1, sizeof(*t));

	if (t)
		t->p = *p;
	return t;
}

void corr_topology_free(struct corr_topology *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_svc; i++) {
		free(t->svc[i].name);
		free(t->svc[i].adj.v);
		free(t->svc[i].callees.v);
		free(t->svc[i].callers.v);
		free(t->svc[i].anoms.v);
	}
	free(t->svc);
	for (size_t i = 0; i < t->n_an; i++) {
		free(t->an[i].id);
		free(t->an[i].node);
		free(t->an[i].dep_services.v);
	}
	free(t->an);
	for (size_t i = 0; i < t->n_lsets; i++)
		if (t->lsets[i]) {
			corr_labels_free(&t->lsets[i]->ls);
			free(t->lsets[i]);
		}
	free(t->lsets);
	free(t->free_lsets.v);
	corr_strmap_free(&t->lset_index);
	for (size_t i = 0; i < t->n_inc - t->inc_base; i++) {
		free(t->inc[i].anoms.v);
		free(t->inc[i].causes);
	}
	free(t->inc);
	corr_strmap_free(&t->svc_index);
	corr_strmap_free(&t->an_index);
	corr_strmap_free(&t->endpoints);
	free(t->queue.v);
	free(t->merged_from.v);
	free(t->merged_into.v);
	free(t->free_an.v);
	free(t);
}

static int service_id(struct corr_topology *t, const char *name)
{
	int id = corr_strmap_get(&t->svc_index, name);

	if (id >= 0)
		return id;
	struct service *g = realloc(t->svc, (t->n_svc + 1) * sizeof(*g));
	if (!g)
		return -1;
	t->svc = g;
	memset(&t->svc[t->n_svc], 0, sizeof(*g));
	t->svc[t->n_svc].name = strdup(name);
	if (!t->svc[t->n_svc].name || corr_strmap_put(&t->svc_index, name, (int)t->n_svc)) {
		free(t->svc[t->n_svc].name);
		return -1;
	}
	return (int)t->n_svc++;
}

int corr_topology_add_endpoint_edge(struct corr_topology *t, const char *caller, const char *callee,
				    const char *endpoint)
{
	if (endpoint && endpoint[0] && callee && strcmp(callee, endpoint)) {
		/* One agent knows which service answers there: remember it. */
		int svc = service_id(t, callee);
		if (svc < 0 || corr_strmap_put(&t->endpoints, endpoint, svc))
			return -1;
	} else if (endpoint && endpoint[0]) {
		/* Another only saw the address: use the name when it is known. */
		int svc = corr_strmap_get(&t->endpoints, endpoint);
		if (svc >= 0)
			callee = t->svc[svc].name;
	}
	return corr_topology_add_edge(t, caller, callee);
}

static void mark_dirty(struct corr_topology *t, int svc)
{
	/* A new edge can change explanations in any incident on this service. */
	for (size_t i = 0; i < t->svc[svc].anoms.n; i++) {
		int inc = resolve_incident(t, t->an[t->svc[svc].anoms.v[i]].incident);
		incident_at(t, inc)->dirty = true;
	}
}

static bool overlaps(const struct corr_topology *t, const struct anomaly *b, int64_t start);
static int merge_into(struct corr_topology *t, int dst, int src);

static bool can_explain(const struct corr_topology *t, int64_t callee_start, int64_t caller_start);

/*
 * A new edge a -> b can connect anomalies that already sit in different
 * incidents: those that overlap in time, where b's could explain a's, now
 * belong together.
 */
static int connect_overlapping(struct corr_topology *t, int a, int b)
{
	for (size_t i = 0; i < t->svc[a].anoms.n; i++) {
		for (size_t j = 0; j < t->svc[b].anoms.n; j++) {
			const struct anomaly *x = &t->an[t->svc[a].anoms.v[i]];
			const struct anomaly *y = &t->an[t->svc[b].anoms.v[j]];
			int ix = resolve_incident(t, x->incident),
			    iy = resolve_incident(t, y->incident);
			if (ix == iy ||
			    (!overlaps(t, x, y->start_ms) && !overlaps(t, y, x->start_ms)) ||
			    !can_explain(t, y->start_ms, x->start_ms))
				continue;
			/* The older incident absorbs the younger, as when an anomaly joins. */
			int dst = ix < iy ? ix : iy, src = ix < iy ? iy : ix;
			if (merge_into(t, dst, src) || intvec_push(&t->merged_from, src) ||
			    intvec_push(&t->merged_into, dst))
				return -1;
		}
	}
	return 0;
}

size_t corr_topology_take_merges(struct corr_topology *t, int *from, int *into, size_t max)
{
	size_t n = t->merged_from.n < max ? t->merged_from.n : max;

	if (!n)
		return 0;
	memcpy(from, t->merged_from.v, n * sizeof(*from));
	memcpy(into, t->merged_into.v, n * sizeof(*into));
	memmove(t->merged_from.v, t->merged_from.v + n, (t->merged_from.n - n) * sizeof(int));
	memmove(t->merged_into.v, t->merged_into.v + n, (t->merged_into.n - n) * sizeof(int));
	t->merged_from.n -= n;
	t->merged_into.n -= n;
	return n;
}

int corr_topology_add_edge(struct corr_topology *t, const char *caller, const char *callee)
{
	int a = service_id(t, caller), b = service_id(t, callee);

	if (a < 0 || b < 0)
		return -1;
	if (a == b || intvec_has(&t->svc[a].callees, b))
		return 0;
	if (intvec_push(&t->svc[a].callees, b) || intvec_push(&t->svc[b].callers, a))
		return -1;
	if (!intvec_has(&t->svc[a].adj, b) &&
	    (intvec_push(&t->svc[a].adj, b) || intvec_push(&t->svc[b].adj, a)))
		return -1;
	mark_dirty(t, a);
	return connect_overlapping(t, a, b);
}

/* Does anomaly b (already placed) overlap in time with one starting at start? */
static bool overlaps(const struct corr_topology *t, const struct anomaly *b, int64_t start)
{
	int64_t end = b->end_ms ? b->end_ms : INT64_MAX / 2;

	return start >= b->start_ms - t->p.slack_ms && start <= end + t->p.slack_ms;
}

/*
 * A callee's anomaly can explain its caller's when it started no later than
 * the caller's, within the slack (the rule rank() uses for "explained").
 */
static bool can_explain(const struct corr_topology *t, int64_t callee_start, int64_t caller_start)
{
	return callee_start <= caller_start + t->p.slack_ms;
}

/*
 * Incidents holding an anomaly causally near svc: along call edges in one
 * direction only, within max_hops, overlapping in time. Downstream (svc's
 * callees, their callees...) an anomaly that could explain svc's; upstream
 * (its callers...) one that svc's could explain. So two anomalies that only
 * share a caller stay apart, unless that caller's own anomaly is explained
 * by both: then it joins both and they merge.
 */
static int collect_candidates(struct corr_topology *t, int svc, int64_t start, int dir,
			      struct intvec *out)
{
	struct intvec depth = { 0 };
	int rc = 0;

	t->mark++;
	t->queue.n = 0;
	if (intvec_push(&t->queue, svc) || intvec_push(&depth, 0))
		goto oom;
	t->svc[svc].mark = t->mark;
	for (size_t head = 0; head < t->queue.n; head++) {
		int s = t->queue.v[head], d = depth.v[head];
		struct service *sv = &t->svc[s];
		size_t keep = 0;
		for (size_t i = 0; i < sv->anoms.n; i++) {
			const struct anomaly *b = &t->an[sv->anoms.v[i]];
			if (b->end_ms && b->end_ms + t->p.slack_ms + PRUNE_AFTER_MS < t->clock_ms)
				continue;
			sv->anoms.v[keep++] = sv->anoms.v[i];
			/* svc itself is found by the downstream pass. */
			if ((d == 0 && dir < 0) || !overlaps(t, b, start))
				continue;
			if (d > 0 && !(dir > 0 ? can_explain(t, b->start_ms, start)
					       : can_explain(t, start, b->start_ms)))
				continue;
			int inc = resolve_incident(t, b->incident);
			if (!intvec_has(out, inc) && intvec_push(out, inc))
				goto oom;
		}
		sv->anoms.n = keep;
		if (d >= t->p.max_hops)
			continue;
		const struct intvec *next = dir > 0 ? &sv->callees : &sv->callers;
		for (size_t i = 0; i < next->n; i++) {
			int n = next->v[i];
			if (t->svc[n].mark == t->mark)
				continue;
			t->svc[n].mark = t->mark;
			if (intvec_push(&t->queue, n) || intvec_push(&depth, d + 1))
				goto oom;
		}
	}
	goto out;
oom:
	rc = -1;
out:
	free(depth.v);
	return rc;
}

static int find_candidates(struct corr_topology *t, int svc, int64_t start, struct intvec *out)
{
	return collect_candidates(t, svc, start, +1, out) ||
			       collect_candidates(t, svc, start, -1, out)
		       ? -1
		       : 0;
}

static int new_incident(struct corr_topology *t, const char *anomaly_id)
{
	struct incident *g = realloc(t->inc, (t->n_inc - t->inc_base + 1) * sizeof(*g));

	if (!g)
		return -1;
	t->inc = g;
	struct incident *inc = &t->inc[t->n_inc - t->inc_base];
	memset(inc, 0, sizeof(*inc));
	inc->merged_into = -1;
	inc->dirty = true;
	/* The first anomaly names the incident: stable across replays. */
	snprintf(inc->id, sizeof(inc->id), "%.16s", anomaly_id);
	return (int)t->n_inc++;
}

static int merge_into(struct corr_topology *t, int dst, int src)
{
	struct incident *s = incident_at(t, src);

	for (size_t i = 0; i < s->anoms.n; i++) {
		t->an[s->anoms.v[i]].incident = dst;
		if (intvec_push(&incident_at(t, dst)->anoms, s->anoms.v[i]))
			return -1;
	}
	s->anoms.n = 0;
	s->merged_into = dst;
	incident_at(t, dst)->dirty = true;
	return 0;
}

static int new_anomaly(struct corr_topology *t, const struct corr_event *ev, int svc)
{
	struct corr_labels ls = { 0 };
	int ai;

	if (t->free_an.n) {
		ai = t->free_an.v[--t->free_an.n];
	} else {
		struct anomaly *g = realloc(t->an, (t->n_an + 1) * sizeof(*g));
		if (!g)
			return -1;
		t->an = g;
		ai = (int)t->n_an;
	}
	struct anomaly *a = &t->an[ai];
	memset(a, 0, sizeof(*a));
	a->id = strdup(ev->anomaly_id);
	a->node = strdup(ev->node);
	a->service = svc;
	a->start_ms = ev->starts_at_ms;
	a->incident = -1;
	/* metric joins the labels so runbooks can match on it (the anomaly's own). */
	if (!a->id || !a->node || corr_labels_copy(&ls, &ev->labels) ||
	    (ev->metric && !corr_labels_get(&ls, "metric") &&
	     corr_labels_set(&ls, "metric", ev->metric)) ||
	    !(a->labels = topo_intern_labels(t, &ls)) ||
	    corr_strmap_put(&t->an_index, ev->anomaly_id, ai)) {
		free(a->id);
		free(a->node);
		corr_labels_free(&ls);
		topo_release_labels(t, a->labels);
		memset(a, 0, sizeof(*a));
		if (ai < (int)t->n_an)
			intvec_push(&t->free_an, ai); /* it came from there: room exists */
		return -1;
	}
	if (ai == (int)t->n_an)
		t->n_an++;
	return ai;
}

static int note_dependencies(struct corr_topology *t, struct anomaly *a, int svc,
			     const struct corr_event *ev)
{
	for (size_t i = 0; i < ev->n_deps; i++) {
		if (!ev->deps[i].service || !ev->deps[i].service[0])
			continue;
		/* What the agent saw calling is an edge, whether anomalous or not. */
		if (corr_topology_add_edge(t, t->svc[svc].name, ev->deps[i].service))
			return -1;
		int d = service_id(t, ev->deps[i].service);
		if (d < 0)
			return -1;
		if (ev->deps[i].anomalous && !intvec_has(&a->dep_services, d) &&
		    intvec_push(&a->dep_services, d))
			return -1;
	}
	return 0;
}

int corr_topology_add_event(struct corr_topology *t, const struct corr_event *ev, int *incident,
			    int *merged, size_t max_merged, size_t *n_merged, bool *created)
{
	int svc = service_id(t, ev->service), ai;
	struct intvec cands = { 0 };

	*n_merged = 0;
	*created = false;
	if (svc < 0)
		return -1;
	if (ev->observed_at_ms > t->clock_ms)
		t->clock_ms = ev->observed_at_ms;
	ai = corr_strmap_get(&t->an_index, ev->anomaly_id);
	if (ai < 0) {
		ai = new_anomaly(t, ev, svc);
		if (ai < 0)
			return -1;
		/* The edges this event names count for its own placement. */
		if (note_dependencies(t, &t->an[ai], svc, ev) ||
		    find_candidates(t, svc, ev->starts_at_ms, &cands))
			goto oom;
		int target;
		if (!cands.n) {
			target = new_incident(t, ev->anomaly_id);
			if (target < 0)
				goto oom;
			*created = true;
		} else {
			/* The oldest incident absorbs the others. */
			target = cands.v[0];
			for (size_t i = 1; i < cands.n; i++)
				if (cands.v[i] < target)
					target = cands.v[i];
			for (size_t i = 0; i < cands.n; i++) {
				if (cands.v[i] == target)
					continue;
				if (merge_into(t, target, cands.v[i]))
					goto oom;
				if (*n_merged < max_merged)
					merged[(*n_merged)++] = cands.v[i];
			}
		}
		t->an[ai].incident = target;
		if (intvec_push(&incident_at(t, target)->anoms, ai) ||
		    intvec_push(&t->svc[svc].anoms, ai))
			goto oom;
	}
	struct anomaly *a = &t->an[ai];
	a->n_events++;
	if (fabs(ev->score) > a->score)
		a->score = fabs(ev->score);
	if (ev->severity > a->severity)
		a->severity = ev->severity;
	if (ev->observed_at_ms > a->observed_ms)
		a->observed_ms = ev->observed_at_ms;
	if (ev->resolved) {
		a->end_ms = ev->ends_at_ms > a->start_ms ? ev->ends_at_ms : a->start_ms + 1;
		a->stale = ev->stale;
	} else if (a->stale && ev->observed_at_ms > a->end_ms) {
		/* Its node is back and it still fires: it was not over. */
		a->end_ms = 0;
		a->stale = false;
	}
	if (note_dependencies(t, a, svc, ev))
		goto oom;
	a = &t->an[ai];
	*incident = resolve_incident(t, a->incident);
	incident_at(t, *incident)->dirty = true;
	free(cands.v);
	return 0;
oom:
	free(cands.v);
	return -1;
}
