#include "topology.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

struct intvec {
	int *v;
	size_t n;
	size_t cap;
};

static int intvec_push(struct intvec *iv, int x)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 4;
		int *g = realloc(iv->v, cap * sizeof(*g));
		if (!g)
			return -1;
		iv->v = g;
		iv->cap = cap;
	}
	iv->v[iv->n++] = x;
	return 0;
}

static int intvec_has(const struct intvec *iv, int x)
{
	for (size_t i = 0; i < iv->n; i++)
		if (iv->v[i] == x)
			return 1;
	return 0;
}

struct service {
	char *name;
	struct intvec adj;     /* callers and callees: connectivity */
	struct intvec callees; /* direction: who this service depends on */
	struct intvec callers; /* and who depends on it */
	struct intvec anoms;
	unsigned mark;
};

/*
 * A label set shared by the anomalies that carry it: the anomalies of one
 * service on one node mostly carry the same labels, so one copy of each
 * set is kept, counted (the labels were most of an anomaly's memory).
 */
struct label_set {
	struct corr_labels ls; /* first: a pointer to it is one to the set */
	char key[17];	       /* its fingerprint, the key in lset_index; "" if not there */
	int slot;	       /* in lsets */
	unsigned refs;
};

struct anomaly {
	char *id;
	int service;
	char *node;
	int64_t start_ms;
	int64_t end_ms; /* 0 while firing */
	bool stale;	/* ended because its node fell silent */
	int64_t observed_ms;
	double score;
	enum corr_severity severity;
	int incident;
	size_t n_events;
	struct label_set *labels; /* shared (intern_labels) */
	struct intvec dep_services; /* anomalous dependencies the agent named */
};

struct incident {
	char id[17];
	int merged_into;
	bool forgotten; /* resolved before the retention: only its slot is left */
	struct intvec anoms;
	bool dirty;
	struct corr_root_cause *causes;
	size_t n_causes;
	struct corr_incident_view view;
};

struct corr_topology {
	struct corr_topo_params p;
	struct service *svc;
	size_t n_svc;
	struct corr_strmap svc_index;
	struct anomaly *an;
	size_t n_an;
	struct corr_strmap an_index;
	struct corr_strmap endpoints; /* "addr:port" -> the service answering there */
	struct incident *inc;
	size_t n_inc;
	unsigned mark;
	struct intvec queue; /* BFS scratch */
	int64_t clock_ms;    /* latest observed_at seen: event time, not wall time */
	struct intvec merged_from, merged_into; /* merges not yet taken by the caller */
	struct intvec free_an; /* anomaly slots of forgotten incidents, to reuse */
	struct label_set **lsets; /* the anomalies' label sets, by slot */
	size_t n_lsets;
	struct intvec free_lsets;
	struct corr_strmap lset_index; /* fingerprint -> slot */
	size_t first_live;     /* incidents below this slot are all forgotten or merged */
};

/*
 * Anomalies that ended this long before the latest event can no longer
 * overlap a new one; they leave their service's candidate list (not their
 * incident) so joining stays cheap however long the correlator runs.
 */
#define PRUNE_AFTER_MS (3600 * 1000LL)

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
	for (size_t i = 0; i < t->n_inc; i++) {
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

int corr_topology_add_endpoint_edge(struct corr_topology *t, const char *caller,
				    const char *callee, const char *endpoint)
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

static int resolve_incident(const struct corr_topology *t, int idx)
{
	while (t->inc[idx].merged_into >= 0)
		idx = t->inc[idx].merged_into;
	return idx;
}

static void mark_dirty(struct corr_topology *t, int svc)
{
	/* A new edge can change explanations in any incident on this service. */
	for (size_t i = 0; i < t->svc[svc].anoms.n; i++)
		t->inc[resolve_incident(t, t->an[t->svc[svc].anoms.v[i]].incident)].dirty = true;
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
			int ix = resolve_incident(t, x->incident), iy = resolve_incident(t, y->incident);
			if (ix == iy || (!overlaps(t, x, y->start_ms) && !overlaps(t, y, x->start_ms)) ||
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
	       collect_candidates(t, svc, start, -1, out) ? -1 : 0;
}

static int new_incident(struct corr_topology *t, const char *anomaly_id)
{
	struct incident *g = realloc(t->inc, (t->n_inc + 1) * sizeof(*g));

	if (!g)
		return -1;
	t->inc = g;
	struct incident *inc = &t->inc[t->n_inc];
	memset(inc, 0, sizeof(*inc));
	inc->merged_into = -1;
	inc->dirty = true;
	/* The first anomaly names the incident: stable across replays. */
	snprintf(inc->id, sizeof(inc->id), "%.16s", anomaly_id);
	return (int)t->n_inc++;
}

static int merge_into(struct corr_topology *t, int dst, int src)
{
	struct incident *s = &t->inc[src];

	for (size_t i = 0; i < s->anoms.n; i++) {
		t->an[s->anoms.v[i]].incident = dst;
		if (intvec_push(&t->inc[dst].anoms, s->anoms.v[i]))
			return -1;
	}
	s->anoms.n = 0;
	s->merged_into = dst;
	t->inc[dst].dirty = true;
	return 0;
}

/* The shared copy of ls (taken over: ls is emptied), or NULL (out of memory). */
static struct label_set *intern_labels(struct corr_topology *t, struct corr_labels *ls)
{
	char key[17];
	int i;

	snprintf(key, sizeof(key), "%016llx", (unsigned long long)corr_labels_fingerprint(ls));
	i = corr_strmap_get(&t->lset_index, key);
	if (i >= 0 && corr_labels_equal(&t->lsets[i]->ls, ls)) {
		t->lsets[i]->refs++;
		corr_labels_free(ls);
		return t->lsets[i];
	}
	struct label_set *set = calloc(1, sizeof(*set));
	if (!set)
		return NULL;
	if (t->free_lsets.n) {
		set->slot = t->free_lsets.v[--t->free_lsets.n];
	} else {
		struct label_set **g = realloc(t->lsets, (t->n_lsets + 1) * sizeof(*g));
		if (!g) {
			free(set);
			return NULL;
		}
		t->lsets = g;
		set->slot = (int)t->n_lsets++;
	}
	/* A fingerprint collision (never seen) just keeps its own copy, unindexed. */
	if (i < 0) {
		if (corr_strmap_put(&t->lset_index, key, set->slot)) {
			intvec_push(&t->free_lsets, set->slot); /* room exists: it was popped */
			free(set);
			return NULL;
		}
		memcpy(set->key, key, sizeof(key));
	}
	set->ls = *ls;
	memset(ls, 0, sizeof(*ls));
	set->refs = 1;
	t->lsets[set->slot] = set;
	return set;
}

static void release_labels(struct corr_topology *t, struct label_set *set)
{
	if (!set || --set->refs)
		return;
	if (set->key[0])
		corr_strmap_del(&t->lset_index, set->key);
	t->lsets[set->slot] = NULL;
	intvec_push(&t->free_lsets, set->slot); /* on failure the slot is lost, not memory */
	corr_labels_free(&set->ls);
	free(set);
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
	    !(a->labels = intern_labels(t, &ls)) ||
	    corr_strmap_put(&t->an_index, ev->anomaly_id, ai)) {
		free(a->id);
		free(a->node);
		corr_labels_free(&ls);
		release_labels(t, a->labels);
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

int corr_topology_add_event(struct corr_topology *t, const struct corr_event *ev,
			    int *incident, int *merged, size_t max_merged,
			    size_t *n_merged, bool *created)
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
		if (intvec_push(&t->inc[target].anoms, ai) ||
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
	t->inc[*incident].dirty = true;
	free(cands.v);
	return 0;
oom:
	free(cands.v);
	return -1;
}

static void intvec_remove(struct intvec *iv, int x)
{
	for (size_t i = 0; i < iv->n; i++)
		if (iv->v[i] == x) {
			iv->v[i] = iv->v[--iv->n];
			return;
		}
}

/* Frees what an anomaly holds and puts its slot up for reuse. */
static void forget_anomaly(struct corr_topology *t, int ai)
{
	struct anomaly *a = &t->an[ai];

	intvec_remove(&t->svc[a->service].anoms, ai);
	corr_strmap_del(&t->an_index, a->id);
	free(a->id);
	free(a->node);
	release_labels(t, a->labels);
	free(a->dep_services.v);
	memset(a, 0, sizeof(*a));
	a->incident = -1;
	if (intvec_push(&t->free_an, ai))
		return; /* the slot is lost, not the memory it held */
}

size_t corr_topology_forget(struct corr_topology *t, int64_t before_ms, int *gone, size_t max)
{
	size_t n = 0;
	bool all_gone = true;

	for (size_t i = t->first_live; i < t->n_inc && n < max; i++) {
		struct incident *inc = &t->inc[i];
		struct corr_incident_view v;
		if (inc->forgotten || inc->merged_into >= 0)
			continue;
		if (corr_topology_view(t, (int)i, &v) || !v.resolved || v.end_ms >= before_ms) {
			all_gone = false;
			continue;
		}
		for (size_t k = 0; k < inc->anoms.n; k++)
			forget_anomaly(t, inc->anoms.v[k]);
		free(inc->anoms.v);
		free(inc->causes);
		memset(&inc->anoms, 0, sizeof(inc->anoms));
		inc->causes = NULL;
		inc->n_causes = 0;
		inc->forgotten = true;
		gone[n++] = (int)i;
		if (all_gone)
			t->first_live = i + 1;
	}
	return n;
}

int corr_topology_each_firing_of_node(const struct corr_topology *t, const char *node,
				      corr_topology_anomaly_cb cb, void *arg)
{
	for (size_t i = 0; i < t->n_an; i++) {
		const struct anomaly *a = &t->an[i];
		if (!a->id || a->end_ms || strcmp(a->node, node))
			continue;
		int rc = cb(a->id, t->svc[a->service].name, a->start_ms, &a->labels->ls, arg);
		if (rc)
			return rc;
	}
	return 0;
}

size_t corr_topology_incident_slots(const struct corr_topology *t)
{
	return t->n_inc;
}

size_t corr_topology_service_count(const struct corr_topology *t)
{
	return t->n_svc;
}

int corr_topology_find(const struct corr_topology *t, const char *id)
{
	for (size_t i = 0; i < t->n_inc; i++)
		if (!strcmp(t->inc[i].id, id))
			return resolve_incident(t, (int)i);
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
	struct incident *inc = &t->inc[idx];

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
				json_array_append_new(edges, json_pack("{s:s,s:s}", "caller", caller->name,
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
	const struct incident *inc = &t->inc[idx];
	for (size_t i = 0; i < inc->anoms.n; i++) {
		const char *node = t->an[inc->anoms.v[i]].node;
		size_t j;
		for (j = 0; j < json_array_size(nodes); j++)
			if (!strcmp(json_string_value(json_array_get(nodes, j)), node))
				break;
		if (j == json_array_size(nodes))
			json_array_append_new(nodes, json_string(node));
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:{s:I,s:I,s:o,s:o},s:I,s:I}", "id",
			      v.id, "state", v.resolved ? "resolved" : "firing", "severity",
			      corr_severity_name(v.severity), "starts_at", starts, "ends_at",
			      ends, "root_causes", causes, "blast_radius", "services",
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
			json_array_append_new(an, json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:s,s:I,s:o}",
							    "anomaly_id", a->id, "service",
							    t->svc[a->service].name, "node", a->node,
							    "starts_at", s, "ends_at", e, "score",
							    a->score, "severity",
							    corr_severity_name(a->severity),
							    "events", (json_int_t)a->n_events,
							    "labels", corr_labels_to_json(&a->labels->ls)));
		}
		json_object_set_new(o, "anomaly_list", an);
		json_object_set_new(o, "edges", incident_edges_json(t, inc));
	}
	return o;
}

size_t corr_topology_anomaly_ids(const struct corr_topology *t, int idx,
				 const char **out, int64_t *starts_ms, size_t max)
{
	const struct incident *inc = &t->inc[idx];
	size_t n = 0;

	for (size_t i = 0; i < inc->anoms.n && n < max; i++) {
		starts_ms[n] = t->an[inc->anoms.v[i]].start_ms;
		out[n++] = t->an[inc->anoms.v[i]].id;
	}
	return n;
}
