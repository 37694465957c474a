/* Incidents as Alertmanager-style alerts: built, updated, merged, retired. */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "dispatch.h"
#include "log.h"
#include "topology.h"

static void join_causes(const struct corr_incident_view *v, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < v->n_causes && i < 5 && used < len; i++) {
		if (i > 0 && v->causes[i].explained)
			break;
		used += snprintf(buf + used, len - used, "%s%s (score %.1f)", i ? ", " : "",
				 v->causes[i].service, v->causes[i].score);
	}
}

static int build_alert(const struct corr_incident_view *v, struct corr_alert *a)
{
	char summary[512], causes[400], radius[64];
	const struct corr_root_cause *top = v->n_causes ? &v->causes[0] : NULL;
	static const char *const copied[] = { "cluster", "namespace", "team" };

	memset(a, 0, sizeof(*a));
	join_causes(v, causes, sizeof(causes));
	snprintf(radius, sizeof(radius), "%zu services on %zu nodes", v->n_services, v->n_nodes);
	snprintf(summary, sizeof(summary), "%s incident: root cause %s; %s affected%s%s%s",
		 corr_severity_name(v->severity), top ? top->service : "unknown", radius,
		 v->stale_node ? "; resolved as stale: node " : "",
		 v->stale_node ? v->stale_node : "", v->stale_node ? " fell silent" : "");
	if (corr_labels_set(&a->labels, "alertname", "SeismoIncident") ||
	    corr_labels_set(&a->labels, "incident", v->id) ||
	    corr_labels_set(&a->labels, "severity", corr_severity_name(v->severity)) ||
	    (top && corr_labels_set(&a->labels, "service", top->service)) ||
	    corr_labels_set(&a->annotations, "summary", summary) ||
	    corr_labels_set(&a->annotations, "root_causes", causes) ||
	    corr_labels_set(&a->annotations, "blast_radius", radius))
		goto fail;
	/* How it ended: its anomalies' own resolution, or their node's silence. */
	if (v->resolved &&
	    corr_labels_set(&a->annotations, "resolution", v->stale_node ? "stale" : "resolved"))
		goto fail;
	for (size_t i = 0; top && i < sizeof(copied) / sizeof(copied[0]); i++) {
		const char *val = corr_labels_get(top->labels, copied[i]);
		if (val && corr_labels_set(&a->labels, copied[i], val))
			goto fail;
	}
	a->starts_at_ms = v->start_ms;
	a->ends_at_ms = v->resolved ? v->end_ms : NO_END;
	a->fp = corr_labels_fingerprint(&a->labels);
	/* A larger blast radius is news: the firing notification goes out again. */
	a->revision = v->n_services;
	return 0;
fail:
	corr_alert_free(a);
	return -1;
}

static int same_alert(const struct corr_alert *a, const struct corr_alert *b)
{
	return a->fp == b->fp && a->starts_at_ms == b->starts_at_ms &&
	       a->ends_at_ms == b->ends_at_ms && corr_labels_equal(&a->labels, &b->labels) &&
	       corr_labels_equal(&a->annotations, &b->annotations);
}

int engine_ensure_ia(struct corr_engine *e, size_t n)
{
	if (n <= e->ia_base + e->n_ia)
		return 0;
	n -= e->ia_base;
	struct incident_alert *g = realloc(e->ia, n * sizeof(*g));
	if (!g)
		return -1;
	memset(g + e->n_ia, 0, (n - e->n_ia) * sizeof(*g));
	e->ia = g;
	e->n_ia = n;
	return 0;
}

void engine_drop_forgotten_ia(struct corr_engine *e)
{
	size_t base = corr_topology_first_slot(e->topo), drop;

	if (base <= e->ia_base)
		return;
	drop = base - e->ia_base < e->n_ia ? base - e->ia_base : e->n_ia;
	/* Forgotten already (engine_forget_alert): this is only in case. */
	for (size_t i = 0; i < drop; i++) {
		if (e->ia[i].set)
			corr_alert_free(&e->ia[i].alert);
		free(e->ia[i].absorbed);
	}
	memmove(e->ia, e->ia + drop, (e->n_ia - drop) * sizeof(*e->ia));
	e->n_ia -= drop;
	e->ia_base = base;
	if (!e->n_ia) {
		free(e->ia);
		e->ia = NULL;
		return;
	}
	struct incident_alert *g = realloc(e->ia, e->n_ia * sizeof(*g));
	if (g) /* else it stays larger than needed: no harm */
		e->ia = g;
}

/*
 * Ends the alert an incident had because its labels changed (a new root
 * cause, an escalation): Alertmanager's model makes that a new alert, so
 * the old one resolves, saying why (the incident itself goes on).
 */
static void retire_alert(struct corr_engine *e, struct incident_alert *ia,
			 const struct corr_alert *next, int64_t now_ms)
{
	char why[256];

	if (!ia->set)
		return;
	if (!corr_alert_resolved(&ia->alert, now_ms)) {
		const char *svc = corr_labels_get(&next->labels, "service");
		const char *sev = corr_labels_get(&next->labels, "severity");
		snprintf(why, sizeof(why), "the incident goes on as a new alert: root cause %s, %s",
			 svc ? svc : "unknown", sev ? sev : "warning");
		corr_labels_set(&ia->alert.annotations, "superseded_by", why);
		ia->alert.ends_at_ms = now_ms;
		ia->alert.updated_at_ms = now_ms;
		if (corr_dispatch_put(e->dispatch, &ia->alert, now_ms))
			log_error("engine: cannot resolve a superseded incident alert");
	}
	corr_alert_free(&ia->alert);
	ia->set = 0;
}

/* Runbooks match the alert's labels plus the root cause's own (node, pod,
 * metric...) and root_cause; what they propose shows in the annotations. */
static void propose_actions(struct corr_engine *e, const struct corr_incident_view *v,
			    struct corr_alert *a, int64_t now_ms)
{
	const struct corr_root_cause *top = v->n_causes ? &v->causes[0] : NULL;
	struct corr_labels ls;

	if (!e->actions || corr_labels_copy(&ls, &a->labels))
		return;
	for (size_t i = 0; top && top->labels && i < top->labels->n; i++)
		if (!corr_labels_get(&ls, top->labels->v[i].name))
			corr_labels_set(&ls, top->labels->v[i].name, top->labels->v[i].value);
	if (top)
		corr_labels_set(&ls, "root_cause", top->service);
	char *text =
		corr_actions_on_incident(e->actions, v->id, v->resolved, v->end_ms, &ls, now_ms);
	if (text && corr_labels_set(&a->annotations, "actions", text))
		log_error("engine: out of memory annotating incident %s", v->id);
	free(text);
	corr_labels_free(&ls);
}

static int absorb_slot(struct incident_alert *into, int slot)
{
	int *g = realloc(into->absorbed, (into->n_absorbed + 1) * sizeof(*g));

	if (!g)
		return -1;
	into->absorbed = g;
	into->absorbed[into->n_absorbed++] = slot;
	return 0;
}

/* Marks an absorbed incident's alert as merged into id, still firing. */
static void mark_merged(struct corr_engine *e, struct incident_alert *ia, const char *id,
			int64_t now_ms)
{
	char summary[128];

	if (!ia->set || corr_alert_resolved(&ia->alert, now_ms))
		return;
	snprintf(summary, sizeof(summary), "merged into incident %s", id);
	if (corr_labels_set(&ia->alert.annotations, "merged_into", id) ||
	    corr_labels_set(&ia->alert.annotations, "summary", summary))
		log_error("engine: out of memory marking a merged incident");
	/* News for its receivers, once: it is now part of another incident. */
	ia->alert.revision |= 1ULL << 40;
	ia->alert.updated_at_ms = now_ms;
	if (corr_dispatch_put(e->dispatch, &ia->alert, now_ms))
		log_error("engine: cannot update the alert of a merged incident");
}

/*
 * Incident from was merged into incident into. Its alert is not resolved
 * (the trouble goes on): it stays firing, annotated merged_into, and ends
 * when the incident that absorbed it does. What from had absorbed moves too.
 */
static void absorb(struct corr_engine *e, int from, int into, int64_t now_ms)
{
	struct corr_incident_view v;
	struct incident_alert *src = engine_ia_at(e, from), *dst = engine_ia_at(e, into);

	if (corr_topology_view(e->topo, into, &v))
		return;
	if (absorb_slot(dst, from))
		log_error("engine: out of memory recording a merge");
	mark_merged(e, src, v.id, now_ms);
	for (size_t i = 0; i < src->n_absorbed; i++) {
		if (absorb_slot(dst, src->absorbed[i]))
			log_error("engine: out of memory recording a merge");
		mark_merged(e, engine_ia_at(e, src->absorbed[i]), v.id, now_ms);
	}
	free(src->absorbed);
	src->absorbed = NULL;
	src->n_absorbed = 0;
}

/* The absorbing incident resolved: the alerts of what it absorbed end with it. */
static void end_absorbed(struct corr_engine *e, struct incident_alert *ia, int64_t end_ms,
			 int64_t now_ms)
{
	for (size_t i = 0; i < ia->n_absorbed; i++) {
		struct incident_alert *m = engine_ia_at(e, ia->absorbed[i]);
		if (!m->set || corr_alert_resolved(&m->alert, now_ms))
			continue;
		m->alert.ends_at_ms = end_ms;
		m->alert.updated_at_ms = now_ms;
		if (corr_dispatch_put(e->dispatch, &m->alert, now_ms))
			log_error("engine: cannot resolve the alert of a merged incident");
	}
}

static int publish_incident(struct corr_engine *e, int idx, int64_t now_ms)
{
	struct corr_incident_view v;
	struct corr_alert a;

	if (engine_ensure_ia(e, corr_topology_incident_slots(e->topo)))
		return -1;
	if (corr_topology_view(e->topo, idx, &v) || build_alert(&v, &a))
		return -1;
	propose_actions(e, &v, &a, now_ms);
	struct incident_alert *ia = engine_ia_at(e, idx);
	if (ia->set && same_alert(&ia->alert, &a)) {
		corr_alert_free(&a);
		return 0;
	}
	/* A new label set is a new alert for Alertmanager: end the old one. */
	if (ia->set && ia->alert.fp != a.fp)
		retire_alert(e, ia, &a, now_ms);
	a.updated_at_ms = now_ms;
	int rc = corr_dispatch_put(e->dispatch, &a, now_ms);
	if (v.resolved)
		end_absorbed(e, ia, a.ends_at_ms, now_ms);
	if (ia->set)
		corr_alert_free(&ia->alert);
	ia->alert = a;
	ia->set = 1;
	return rc;
}

static int touch(struct touched *t, int idx)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i] == idx)
			return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		int *g = realloc(t->v, cap * sizeof(*g));
		if (!g)
			return -1;
		t->v = g;
		t->cap = cap;
	}
	t->v[t->n++] = idx;
	return 0;
}

/* Incidents merged because a new edge connected them: like merges on join. */
int engine_take_edge_merges(struct corr_engine *e, struct touched *touched, int64_t now_ms)
{
	int from[64], into[64];
	size_t n;

	if (engine_ensure_ia(e, corr_topology_incident_slots(e->topo)))
		return -1;
	while ((n = corr_topology_take_merges(e->topo, from, into, 64)) > 0) {
		corr_metrics_add(&e->metrics.incidents_merged, n);
		for (size_t i = 0; i < n; i++) {
			absorb(e, from[i], into[i], now_ms);
			if (touch(touched, into[i]))
				return -1;
		}
	}
	return 0;
}

/* Feeds one stored event to the correlation; merged incidents lose their alert. */
int engine_correlate(struct corr_engine *e, const struct corr_event *ev, int64_t now_ms,
		     struct touched *touched)
{
	int incident, merged[64];
	size_t n_merged;
	bool created;

	if (corr_topology_add_event(e->topo, ev, &incident, merged, 64, &n_merged, &created))
		return -1;
	if (created)
		corr_metrics_add(&e->metrics.incidents_created, 1);
	corr_metrics_add(&e->metrics.incidents_merged, n_merged);
	if (engine_ensure_ia(e, corr_topology_incident_slots(e->topo)))
		return -1;
	for (size_t i = 0; i < n_merged; i++)
		absorb(e, merged[i], incident, now_ms);
	/* Edges named by the event can connect other incidents too. */
	if (engine_take_edge_merges(e, touched, now_ms))
		return -1;
	return touch(touched, incident);
}

void engine_publish_touched(struct corr_engine *e, struct touched *t, int64_t now_ms)
{
	for (size_t i = 0; i < t->n; i++) {
		struct corr_incident_view v;
		/* It may have been merged later in the same batch. */
		if (corr_topology_view(e->topo, t->v[i], &v))
			continue;
		if (publish_incident(e, t->v[i], now_ms))
			log_error("engine: cannot publish incident %s", v.id);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}


/* An incident left memory: so do its alert and those of what it absorbed. */
void engine_forget_alert(struct corr_engine *e, struct incident_alert *ia)
{
	for (size_t i = 0; i < ia->n_absorbed; i++)
		if (engine_ia_held(e, ia->absorbed[i]))
			engine_forget_alert(e, engine_ia_at(e, ia->absorbed[i]));
	free(ia->absorbed);
	ia->absorbed = NULL;
	ia->n_absorbed = 0;
	if (ia->set)
		corr_alert_free(&ia->alert);
	ia->set = 0;
}
