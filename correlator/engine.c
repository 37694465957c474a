#include "engine.h"

#include <malloc.h>
#include <pthread.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "dispatch.h"
#include "log.h"
#include "notify.h"
#include "store.h"
#include "strmap.h"
#include "topology.h"
#include "util.h"

/* A firing incident alert has no end until its incident resolves. */
#define NO_END (INT64_MAX / 4)

struct incident_alert {
	int set;
	struct corr_alert alert;
	/* Incidents merged into this one: their alerts end when this one does. */
	int *absorbed;
	size_t n_absorbed;
};

/* Incidents touched by a batch, published once when the batch is done. */
struct touched {
	int *v;
	size_t n;
	size_t cap;
};

struct corr_engine {
	const struct corr_config *cfg;
	pthread_mutex_t lock;
	struct corr_store *store;
	struct corr_store *nflog_store; /* own connection: sender threads write it */
	pthread_mutex_t delivery_lock;	/* one transaction at a time on nflog_store */
	struct corr_topology *topo;
	struct corr_notifier *notifier;
	struct corr_dispatch *dispatch;
	struct corr_metrics metrics;
	struct incident_alert *ia; /* by incident index */
	size_t n_ia;
	int64_t events_stored;
	struct touched replay_touched;
	struct corr_actions *actions; /* runbooks (action_engine.c) */
	/* Shared store (PostgreSQL): replicas follow it; the leader dispatches (ha). */
	int shared;
	int leader;
	int64_t follow_seq;
	int64_t next_follow_ms;
	int64_t next_lead_ms;
	uint64_t leader_changes;
	char replica[320];
	int64_t next_retention_ms; /* wall clock of the next retention pass */
	/* Liveness: when each node last sent a batch (its own, even empty). */
	struct corr_strmap node_index;
	struct node_seen *nodes;
	size_t n_nodes;
	int64_t next_liveness_ms;
};

struct node_seen {
	char *name;
	int64_t last_ms; /* wall clock */
	bool stale;	 /* its firing anomalies were resolved as stale */
};

/* ------------------------------------------------- incident -> alert */

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

static int ensure_ia(struct corr_engine *e, size_t n)
{
	if (n <= e->n_ia)
		return 0;
	struct incident_alert *g = realloc(e->ia, n * sizeof(*g));
	if (!g)
		return -1;
	memset(g + e->n_ia, 0, (n - e->n_ia) * sizeof(*g));
	e->ia = g;
	e->n_ia = n;
	return 0;
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
	char *text = corr_actions_on_incident(e->actions, v->id, v->resolved, v->end_ms, &ls, now_ms);
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
	struct incident_alert *src = &e->ia[from], *dst = &e->ia[into];

	if (corr_topology_view(e->topo, into, &v))
		return;
	if (absorb_slot(dst, from))
		log_error("engine: out of memory recording a merge");
	mark_merged(e, src, v.id, now_ms);
	for (size_t i = 0; i < src->n_absorbed; i++) {
		if (absorb_slot(dst, src->absorbed[i]))
			log_error("engine: out of memory recording a merge");
		mark_merged(e, &e->ia[src->absorbed[i]], v.id, now_ms);
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
		struct incident_alert *m = &e->ia[ia->absorbed[i]];
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

	if (ensure_ia(e, corr_topology_incident_slots(e->topo)))
		return -1;
	if (corr_topology_view(e->topo, idx, &v) || build_alert(&v, &a))
		return -1;
	propose_actions(e, &v, &a, now_ms);
	struct incident_alert *ia = &e->ia[idx];
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
static int take_edge_merges(struct corr_engine *e, struct touched *touched, int64_t now_ms)
{
	int from[64], into[64];
	size_t n;

	if (ensure_ia(e, corr_topology_incident_slots(e->topo)))
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
static int correlate(struct corr_engine *e, const struct corr_event *ev, int64_t now_ms,
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
	if (ensure_ia(e, corr_topology_incident_slots(e->topo)))
		return -1;
	for (size_t i = 0; i < n_merged; i++)
		absorb(e, merged[i], incident, now_ms);
	/* Edges named by the event can connect other incidents too. */
	if (take_edge_merges(e, touched, now_ms))
		return -1;
	return touch(touched, incident);
}

static void publish_touched(struct corr_engine *e, struct touched *t, int64_t now_ms)
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

/* ------------------------------------------------------------- replay */

static int replay_edge(const struct corr_edge *edge, void *arg)
{
	struct corr_engine *e = arg;

	/* Edges come back before any event: there is nothing to merge yet. */
	return corr_topology_add_endpoint_edge(e->topo, edge->caller, edge->callee, edge->endpoint);
}

static int node_heard(struct corr_engine *e, const char *node, int64_t now_ms);

static int replay_event(struct corr_event *ev, void *arg)
{
	struct corr_engine *e = arg;

	e->events_stored++;
	/* The correlator's own stale resolutions (see resolve_stale). */
	ev->stale = !strncmp(ev->id, "stale-", 6);
	/*
	 * Nodes of the replayed events are watched from the start: one that
	 * died before the restart goes stale stale_after from now. Alerts
	 * from Alertmanager's webhook come from no node that could fall silent.
	 */
	if (strcmp(ev->node, "alertmanager") && node_heard(e, ev->node, corr_now_ms()))
		return -1;
	return correlate(e, ev, corr_now_ms(), &e->replay_touched);
}

static int replay_silence(const char *id, const char *text, void *arg)
{
	struct corr_engine *e = arg;
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	char got[37], err[256];

	if (!j || corr_dispatch_add_silence(e->dispatch, j, corr_now_ms(), got, err, sizeof(err)))
		log_warn("engine: stored silence %s unreadable (%s), skipped", id,
			 j ? err : jerr.text);
	json_decref(j);
	return 0;
}

/*
 * What a receiver integration knows of a group: a notification still
 * pending (kept before a crash, resent at start) counts as told, so the
 * replay does not queue it a second time; else the acknowledged log.
 */
static int nflog_load(void *arg, const char *key, uint64_t **firing, size_t *nf,
		      uint64_t **resolved, size_t *nr, int64_t *ts)
{
	struct corr_engine *e = arg;

	pthread_mutex_lock(&e->delivery_lock);
	int rc = corr_store_pending_latest(e->nflog_store, key, firing, nf, resolved, nr, ts);
	if (rc == 1)
		rc = corr_store_nflog_get(e->nflog_store, key, firing, nf, resolved, nr, ts);
	pthread_mutex_unlock(&e->delivery_lock);
	return rc;
}

static int64_t delivery_add(void *arg, const struct corr_pending *p)
{
	struct corr_engine *e = arg;

	pthread_mutex_lock(&e->delivery_lock);
	int64_t id = corr_store_pending_add(e->nflog_store, p);
	pthread_mutex_unlock(&e->delivery_lock);
	return id;
}

static void delivery_acked(void *arg, const struct corr_pending *p, int64_t acked_ms)
{
	struct corr_engine *e = arg;

	pthread_mutex_lock(&e->delivery_lock);
	/* If this fails the notification is sent again after a restart: at least once. */
	if (corr_store_pending_acked(e->nflog_store, p, acked_ms))
		log_error("engine: cannot log the notification of %s as delivered", p->group_key);
	pthread_mutex_unlock(&e->delivery_lock);
}

static void delivery_dropped(void *arg, int64_t id)
{
	struct corr_engine *e = arg;

	pthread_mutex_lock(&e->delivery_lock);
	corr_store_pending_delete(e->nflog_store, id);
	pthread_mutex_unlock(&e->delivery_lock);
}

static int resume_pending(const struct corr_pending *p, void *arg)
{
	struct corr_engine *e = arg;

	if (!corr_notifier_resume(e->notifier, p)) {
		log_info("engine: resending the notification to %s for group %s kept before the"
			 " restart", p->receiver, p->group_key);
		return 0;
	}
	log_warn("engine: pending notification to %s (integration %zu) dropped: no such"
		 " receiver any more", p->receiver, p->integ_index);
	corr_store_pending_delete(e->nflog_store, p->id);
	return 0;
}

/* ------------------------------------------------ high availability */

/* How often a replica reads what others stored, and checks the leadership. */
#define FOLLOW_EVERY_MS 100
#define LEAD_EVERY_MS 500
/* A replica not heard from for this long is no longer listed as a peer. */
#define PEER_TIMEOUT_MS 10000

struct follow_ctx {
	struct corr_engine *e;
	int64_t now_ms;
	struct touched touched;
};

static int follow_edge(const struct corr_edge *edge, void *arg)
{
	struct follow_ctx *f = arg;

	if (corr_topology_add_endpoint_edge(f->e->topo, edge->caller, edge->callee, edge->endpoint))
		return -1;
	return take_edge_merges(f->e, &f->touched, f->now_ms);
}

static int follow_event(struct corr_event *ev, void *arg)
{
	struct follow_ctx *f = arg;

	f->e->events_stored++;
	ev->stale = !strncmp(ev->id, "stale-", 6);
	if (strcmp(ev->node, "alertmanager") && node_heard(f->e, ev->node, corr_now_ms()))
		return -1;
	return correlate(f->e, ev, f->now_ms, &f->touched);
}

static int follow_silence(const char *id, const char *text, void *arg)
{
	struct follow_ctx *f = arg;

	return replay_silence(id, text, f->e);
}

static int put_alerts(struct corr_engine *e, json_t *body, int64_t received_ms, int64_t now_ms,
		      int dispatch, int64_t *until_ms, char *err, size_t errlen);

/* Alerts posted to any replica (POST /api/v2/alerts): into this dispatcher. */
static int follow_alerts(const char *text, int64_t received_ms, void *arg)
{
	struct follow_ctx *f = arg;
	json_t *body = json_loads(text, 0, NULL);
	char err[256];

	if (put_alerts(f->e, body, received_ms, f->now_ms, 1, NULL, err, sizeof(err)) == -1)
		log_warn("ha: stored posted alerts unreadable (%s), skipped", err);
	json_decref(body);
	return 0;
}

/*
 * Correlates everything any replica stored since the last call, in the
 * store's order: the same events in the same order give every replica the
 * same incidents, ids and alerts. e->lock held (or not yet shared).
 */
static int follow_store(struct corr_engine *e, int64_t now_ms)
{
	struct follow_ctx f = { .e = e, .now_ms = now_ms };
	struct corr_store_follower by = { follow_edge, follow_event, follow_silence, follow_alerts,
					  &f };
	int rc;

	do
		rc = corr_store_follow(e->store, &e->follow_seq, &by);
	while (rc == 1);
	publish_touched(e, &f.touched, now_ms);
	if (rc < 0)
		log_warn("ha: reading the shared store failed at #%lld: %s",
			 (long long)e->follow_seq, corr_store_errmsg(e->store));
	return rc;
}

/* A follower until the first leadership check says otherwise. */
static void ha_start(struct corr_engine *e)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	snprintf(e->replica, sizeof(e->replica), "%s/%s", host, e->cfg->listen);
	corr_dispatch_set_passive(e->dispatch, 1, corr_now_ms());
	log_info("ha: replica %s follows the shared store", e->replica);
}

/*
 * The leadership is a session-level advisory lock held by the connection
 * of the notification log: a leader whose session dies (killed, cut off)
 * loses it with the session, and its log writes fail with it.
 */
static void ha_tick(struct corr_engine *e, int64_t now_ms)
{
	int leader = 0;

	if (now_ms >= e->next_follow_ms) {
		pthread_mutex_lock(&e->lock);
		follow_store(e, now_ms);
		pthread_mutex_unlock(&e->lock);
		e->next_follow_ms = now_ms + FOLLOW_EVERY_MS;
	}
	if (now_ms < e->next_lead_ms)
		return;
	e->next_lead_ms = now_ms + LEAD_EVERY_MS;
	if (corr_store_lead(e->nflog_store, &leader))
		leader = 0;
	if (leader != e->leader) {
		if (leader) {
			/* Everything stored so far, before flushing as the leader. */
			pthread_mutex_lock(&e->lock);
			follow_store(e, now_ms);
			pthread_mutex_unlock(&e->lock);
		}
		/* What the old leader left pending goes out first, once. */
		if (leader && corr_store_each_pending(e->nflog_store, resume_pending, e))
			log_error("ha: reading pending notifications failed");
		corr_dispatch_set_passive(e->dispatch, !leader, now_ms);
		corr_actions_set_leader(e->actions, leader);
		__atomic_store_n(&e->leader, leader, __ATOMIC_RELAXED);
		__atomic_add_fetch(&e->leader_changes, 1, __ATOMIC_RELAXED);
		log_info("ha: %s %s the leader: it %s", e->replica, leader ? "is now" : "is no longer",
			 leader ? "dispatches notifications" : "only follows");
	}
	corr_store_heartbeat(e->nflog_store, e->replica, e->cfg->listen, leader, now_ms);
}

static int add_peer(const char *name, const char *address, int leader, int64_t seen_ms,
		    void *arg)
{
	(void)leader;
	(void)seen_ms;
	return json_array_append_new(arg, json_pack("{s:s,s:s}", "name", name, "address", address));
}

json_t *corr_engine_cluster_json(struct corr_engine *e)
{
	json_t *peers;

	if (!e->shared || !(peers = json_array()))
		return NULL;
	corr_store_each_replica(e->nflog_store, corr_now_ms() - PEER_TIMEOUT_MS, add_peer, peers);
	return json_pack("{s:s,s:s,s:o}", "name", e->replica, "status",
			 json_array_size(peers) ? "ready" : "settling", "peers", peers);
}

/* For the actions' re-check right before running: 1 resolved, 0 firing, -1 unknown. */
static int incident_state(void *arg, const char *id)
{
	struct corr_engine *e = arg;
	struct corr_incident_view v;
	int rc;

	pthread_mutex_lock(&e->lock);
	int idx = corr_topology_find(e->topo, id);
	/* Merged into another incident: the trouble goes on there. */
	rc = idx < 0 ? -1 : corr_topology_view(e->topo, idx, &v) ? 0 : v.resolved;
	pthread_mutex_unlock(&e->lock);
	return rc;
}

struct corr_engine *corr_engine_new(const struct corr_config *cfg, char *err, size_t errlen)
{
	struct corr_engine *e = calloc(1, sizeof(*e));
	struct corr_topo_params tp = {
		.max_hops = cfg->max_hops,
		.slack_ms = cfg->correlation_slack_ms,
		.critical_services = cfg->critical_services,
	};

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->cfg = cfg;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->delivery_lock, NULL);
	e->store = corr_store_open(cfg->db_path, cfg->sync_full, err, errlen);
	if (!e->store)
		goto fail;
	/* Notification log: its own connection, kept 120 h like Alertmanager's. */
	e->nflog_store = corr_store_open(cfg->db_path, cfg->sync_full, err, errlen);
	if (!e->nflog_store)
		goto fail;
	corr_store_nflog_prune(e->nflog_store, corr_now_ms() - 120 * 3600000LL);
	e->topo = corr_topology_new(&tp);
	e->notifier = corr_notifier_new(cfg, &e->metrics);
	if (!e->topo || !e->notifier ||
	    !(e->dispatch = corr_dispatch_new(cfg, e->notifier))) {
		snprintf(err, errlen, "out of memory or threads");
		goto fail;
	}
	e->actions = corr_actions_new(cfg, e->notifier, incident_state, e, err, errlen);
	if (!e->actions)
		goto fail;
	/* An in-memory database is private to its connection: nothing to share. */
	if (strcmp(cfg->db_path, ":memory:")) {
		/* Saved with the pending queue, in one transaction, when acknowledged. */
		struct corr_nflog_ops ops = { nflog_load, NULL, e };
		struct corr_delivery_ops dops = { delivery_add, delivery_acked, delivery_dropped, e };
		corr_dispatch_set_nflog(e->dispatch, &ops);
		corr_notifier_set_delivery(e->notifier, &dops);
		/* Shared store: only the leader resends, when it takes over (ha_tick). */
		if (!corr_store_shared(e->store) &&
		    corr_store_each_pending(e->nflog_store, resume_pending, e)) {
			snprintf(err, errlen, "store %s: reading pending notifications failed",
				 cfg->db_path);
			goto fail;
		}
	}
	/* Retention: what is older than that neither returns to memory nor stays on disk. */
	if (cfg->retention_ms > 0) {
		int64_t gone = corr_store_prune(e->store, corr_now_ms() - cfg->retention_ms);
		if (gone > 0)
			log_info("engine: dropped %lld events older than the retention", (long long)gone);
	}
	e->shared = corr_store_shared(e->store);
	if (e->shared)
		ha_start(e);
	if (e->shared ? follow_store(e, corr_now_ms()) < 0
		      : corr_store_each_silence(e->store, replay_silence, e) ||
				corr_store_each_edge(e->store, replay_edge, e) ||
				corr_store_each_event(e->store, replay_event, e)) {
		char shown[512];
		snprintf(err, errlen, "store %s: replay failed",
			 corr_store_display(cfg->db_path, shown, sizeof(shown)));
		goto fail;
	}
	publish_touched(e, &e->replay_touched, corr_now_ms());
	if (corr_actions_start(e->actions)) {
		snprintf(err, errlen, "cannot start the action workers");
		goto fail;
	}
	char shown[512];
	log_info("engine: replayed %lld events into %zu incident slots from %s",
		 (long long)e->events_stored, corr_topology_incident_slots(e->topo),
		 corr_store_display(cfg->db_path, shown, sizeof(shown)));
	return e;
fail:
	corr_engine_free(e);
	return NULL;
}

void corr_engine_free(struct corr_engine *e)
{
	if (!e)
		return;
	/* Actions first: their workers ask the engine and escalate through the notifier. */
	corr_actions_free(e->actions);
	/* The notifier goes first: its thread must stop before what it reads. */
	corr_notifier_free(e->notifier);
	corr_dispatch_free(e->dispatch);
	corr_topology_free(e->topo);
	corr_store_close(e->store);
	corr_store_close(e->nflog_store);
	pthread_mutex_destroy(&e->delivery_lock);
	for (size_t i = 0; i < e->n_ia; i++) {
		if (e->ia[i].set)
			corr_alert_free(&e->ia[i].alert);
		free(e->ia[i].absorbed);
	}
	free(e->ia);
	free(e->replay_touched.v);
	for (size_t i = 0; i < e->n_nodes; i++)
		free(e->nodes[i].name);
	free(e->nodes);
	corr_strmap_free(&e->node_index);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* ------------------------------------------------------------- ingest */

int corr_engine_ingest(struct corr_engine *e, const struct corr_batch *b, int64_t now_ms,
		       size_t *accepted, size_t *duplicates)
{
	char *fresh = calloc(b->n_events + 1, 1);
	int rc = -1;

	*accepted = *duplicates = 0;
	if (!fresh)
		return -1;
	pthread_mutex_lock(&e->lock);
	if (corr_store_begin(e->store))
		goto out;
	for (size_t i = 0; i < b->n_events; i++) {
		int inserted;
		if (corr_store_insert_event(e->store, &b->events[i], now_ms, &inserted))
			goto rollback;
		fresh[i] = (char)inserted;
		*accepted += inserted;
		*duplicates += !inserted;
	}
	for (size_t i = 0; i < b->n_edges; i++)
		if (corr_store_upsert_edge(e->store, &b->edges[i], now_ms))
			goto rollback;
	if (corr_store_commit(e->store))
		goto rollback;
	/* Stored: from here on the batch counts as delivered. */
	if (!e->shared)
		e->events_stored += (int64_t)*accepted;
	if (b->liveness && node_heard(e, b->node, corr_now_ms()))
		log_error("engine: out of memory noting node %s", b->node);
	/* Shared store: the leader decides staleness on what any replica heard. */
	if (b->liveness && e->shared && corr_store_node_seen(e->store, b->node, corr_now_ms()))
		log_warn("ha: cannot share the heartbeat of node %s", b->node);
	struct touched touched = { 0 };
	/* Shared store: every replica correlates in the store's order, this one too. */
	if (e->shared)
		follow_store(e, now_ms);
	else
		e->events_stored += (int64_t)*accepted;
	for (size_t i = 0; !e->shared && i < b->n_edges; i++)
		if (corr_topology_add_endpoint_edge(e->topo, b->edges[i].caller, b->edges[i].callee,
						    b->edges[i].endpoint) ||
		    take_edge_merges(e, &touched, now_ms))
			log_error("engine: out of memory adding edge %s -> %s",
				  b->edges[i].caller, b->edges[i].callee);
	for (size_t i = 0; !e->shared && i < b->n_events; i++)
		if (fresh[i] && correlate(e, &b->events[i], now_ms, &touched))
			log_error("engine: correlating event %s failed", b->events[i].id);
	publish_touched(e, &touched, now_ms);
	corr_metrics_add(&e->metrics.events_accepted, *accepted);
	corr_metrics_add(&e->metrics.events_duplicate, *duplicates);
	corr_metrics_add(&e->metrics.edges_received, b->n_edges);
	rc = 0;
	goto out;
rollback:
	corr_store_rollback(e->store);
	*accepted = *duplicates = 0;
out:
	pthread_mutex_unlock(&e->lock);
	free(fresh);
	return rc;
}

/*
 * An Alertmanager-style alerts body into the dispatcher, received at
 * received_ms: all validated first (a bad alert rejects the request,
 * nothing kept). 0, -1 (err: invalid), -2 (out of memory). *until_ms, when
 * given: the latest end among them.
 */
static int put_alerts(struct corr_engine *e, json_t *body, int64_t received_ms, int64_t now_ms,
		      int dispatch, int64_t *until_ms, char *err, size_t errlen)
{
	size_t i, n;
	json_t *it;
	char where[32];

	if (!json_is_array(body)) {
		snprintf(err, errlen, "body: must be a JSON array of alerts");
		return -1;
	}
	n = json_array_size(body);
	struct corr_alert *alerts = calloc(n + 1, sizeof(*alerts));
	if (!alerts) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	json_array_foreach(body, i, it) {
		snprintf(where, sizeof(where), "[%zu]", i);
		if (corr_alert_from_api_json(&alerts[i], it, received_ms,
					     e->cfg->resolve_timeout_ms, where, err, errlen)) {
			for (size_t j = 0; j < i; j++)
				corr_alert_free(&alerts[j]);
			free(alerts);
			return -1;
		}
	}
	int rc = 0;
	for (i = 0; i < n; i++) {
		if (until_ms && alerts[i].ends_at_ms > *until_ms)
			*until_ms = alerts[i].ends_at_ms;
		if (dispatch && corr_dispatch_put(e->dispatch, &alerts[i], now_ms))
			rc = -2;
		corr_alert_free(&alerts[i]);
	}
	free(alerts);
	if (rc)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int corr_engine_post_alerts(struct corr_engine *e, json_t *body, int64_t now_ms,
			    char *err, size_t errlen)
{
	int64_t until = now_ms;
	int rc;

	if (!e->shared) {
		rc = put_alerts(e, body, now_ms, now_ms, 1, NULL, err, errlen);
	} else {
		/* Shared store: stored once, then every replica's dispatcher (this
		 * one too) takes them by following; the leader notifies. */
		rc = put_alerts(e, body, now_ms, now_ms, 0, &until, err, errlen);
		char *text = rc ? NULL : json_dumps(body, JSON_COMPACT);
		if (!rc && (!text || corr_store_post_alerts(e->store, text, now_ms, until))) {
			snprintf(err, errlen, "cannot store the alerts");
			rc = -2;
		}
		free(text);
		if (!rc) {
			pthread_mutex_lock(&e->lock);
			follow_store(e, now_ms);
			pthread_mutex_unlock(&e->lock);
		}
	}
	if (rc != -1)
		corr_metrics_add(&e->metrics.alerts_received, json_array_size(body));
	return rc;
}

/* ---------------------------------------------------------------- API */

json_t *corr_engine_incidents_json(struct corr_engine *e, const char *state, size_t limit,
				   bool detail)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&e->lock);
	size_t slots = corr_topology_incident_slots(e->topo);
	/* Newest first. */
	for (size_t i = slots; arr && i-- > 0 && json_array_size(arr) < limit;) {
		struct corr_incident_view v;
		if (corr_topology_view(e->topo, (int)i, &v))
			continue;
		if (state && strcmp(state, v.resolved ? "resolved" : "firing"))
			continue;
		json_t *j = corr_topology_incident_json(e->topo, (int)i, detail);
		if (!j) {
			log_error("engine: cannot render incident %s", v.id);
			continue;
		}
		json_array_append_new(arr, j);
	}
	pthread_mutex_unlock(&e->lock);
	return arr;
}

json_t *corr_engine_incident_json(struct corr_engine *e, const char *id)
{
	json_t *j = NULL;

	pthread_mutex_lock(&e->lock);
	int idx = corr_topology_find(e->topo, id);
	if (idx >= 0)
		j = corr_topology_incident_json(e->topo, idx, true);
	if (j) {
		size_t max = 4096;
		const char **ids = calloc(max, sizeof(*ids));
		int64_t *starts = calloc(max, sizeof(*starts));
		json_t *events = json_array();
		size_t n = ids && starts ? corr_topology_anomaly_ids(e->topo, idx, ids, starts, max) : 0;
		for (size_t i = 0; i < n; i++)
			if (corr_store_events_of_anomaly(e->store, ids[i], starts[i], events))
				log_error("engine: reading events of anomaly %s: %s", ids[i],
					  corr_store_errmsg(e->store));
		free(ids);
		free(starts);
		json_object_set_new(j, "event_list", events);
		json_object_set_new(j, "actions", corr_actions_incident_json(e->actions, id));
	}
	pthread_mutex_unlock(&e->lock);
	return j;
}

/* Writes a silence as the dispatcher now holds it (its status is derived at
 * read time, so not stored). 0, or -1 when it could not be stored. */
static int persist_silence(struct corr_engine *e, const char *id, int64_t now)
{
	json_t *stored = corr_dispatch_silence_json(e->dispatch, id, now);
	char *text;
	int rc;

	json_object_del(stored, "status");
	text = stored ? json_dumps(stored, JSON_COMPACT) : NULL;
	json_decref(stored);
	pthread_mutex_lock(&e->lock);
	rc = text ? corr_store_put_silence(e->store, id, text) : -1;
	pthread_mutex_unlock(&e->lock);
	free(text);
	return rc ? -1 : 0;
}

int corr_engine_add_silence(struct corr_engine *e, json_t *body, char *id, char *err,
			    size_t errlen)
{
	int64_t now = corr_now_ms();
	json_t *given = json_object_get(body, "id");

	/* Alertmanager: updating an expired silence creates a new one. */
	if (json_is_string(given)) {
		json_t *old = corr_dispatch_silence_json(e->dispatch, json_string_value(given), now);
		const char *state = json_string_value(json_object_get(json_object_get(old, "status"),
									 "state"));
		if (state && !strcmp(state, "expired"))
			json_object_del(body, "id");
		json_decref(old);
	}
	/* Derived fields: the state is computed, the update time is now. */
	json_object_del(body, "status");
	json_object_del(body, "updatedAt");
	if (corr_dispatch_add_silence(e->dispatch, body, now, id, err, errlen))
		return -1;
	if (persist_silence(e, id, now)) {
		snprintf(err, errlen, "cannot store the silence");
		return -2;
	}
	return 0;
}

int corr_engine_expire_silence(struct corr_engine *e, const char *id)
{
	int64_t now = corr_now_ms();

	if (corr_dispatch_expire_silence(e->dispatch, id, now))
		return -1;
	return persist_silence(e, id, now) ? -2 : 0;
}

json_t *corr_engine_silences_json(struct corr_engine *e)
{
	return corr_dispatch_silences_json(e->dispatch, corr_now_ms());
}

/* An incident left memory: so do its alert and those of what it absorbed. */
static void forget_alert(struct corr_engine *e, struct incident_alert *ia)
{
	for (size_t i = 0; i < ia->n_absorbed; i++)
		forget_alert(e, &e->ia[ia->absorbed[i]]);
	free(ia->absorbed);
	ia->absorbed = NULL;
	ia->n_absorbed = 0;
	if (ia->set)
		corr_alert_free(&ia->alert);
	ia->set = 0;
}

/*
 * Retention, continuously (every 10 s): events received before it leave
 * the store, incidents resolved before it leave memory, with their alerts;
 * the notification log keeps 120 h, as Alertmanager's does.
 */
static void apply_retention(struct corr_engine *e, int64_t now_ms)
{
	int gone[256];
	size_t n, total = 0;
	int64_t pruned = 0;

	pthread_mutex_lock(&e->lock);
	if (e->cfg->retention_ms > 0) {
		pruned = corr_store_prune(e->store, now_ms - e->cfg->retention_ms);
		if (pruned > 0)
			e->events_stored -= pruned;
		do {
			n = corr_topology_forget(e->topo, now_ms - e->cfg->retention_ms, gone, 256);
			for (size_t i = 0; i < n; i++)
				if ((size_t)gone[i] < e->n_ia)
					forget_alert(e, &e->ia[gone[i]]);
			total += n;
		} while (n == 256);
	}
	pthread_mutex_unlock(&e->lock);
	if (pruned > 0 || total) {
		log_info("engine: retention dropped %lld events and %zu resolved incidents",
			 (long long)(pruned > 0 ? pruned : 0), total);
		/* Many small blocks went: give the pages back, so RSS follows the retention. */
		malloc_trim(0);
	}
	pthread_mutex_lock(&e->delivery_lock);
	corr_store_nflog_prune(e->nflog_store, now_ms - 120 * 3600000LL);
	pthread_mutex_unlock(&e->delivery_lock);
}

/* ------------------------------------------------------------ liveness */

/* Node sent something now: it is alive (under the lock). 0 or -1. */
static int node_heard(struct corr_engine *e, const char *node, int64_t now_ms)
{
	int i = corr_strmap_get(&e->node_index, node);

	if (i < 0) {
		struct node_seen *g = realloc(e->nodes, (e->n_nodes + 1) * sizeof(*g));
		if (!g)
			return -1;
		e->nodes = g;
		g[e->n_nodes] = (struct node_seen){ .name = strdup(node) };
		if (!g[e->n_nodes].name ||
		    corr_strmap_put(&e->node_index, node, (int)e->n_nodes)) {
			free(g[e->n_nodes].name);
			return -1;
		}
		i = (int)e->n_nodes++;
	}
	e->nodes[i].last_ms = now_ms;
	e->nodes[i].stale = false;
	return 0;
}

struct stale_ctx {
	struct corr_engine *e;
	const struct node_seen *node;
	int64_t now_ms;
	struct touched *touched;
	size_t resolved;
};

/*
 * Resolves one firing anomaly of a silent node: a resolved event of the
 * correlator's own (id "stale-<anomaly>", ended when the node was last
 * heard from) is stored, so a restart replays it, and correlated.
 */
static int resolve_one_stale(const char *anomaly_id, const char *service, int64_t start_ms,
			     const struct corr_labels *labels, void *arg)
{
	struct stale_ctx *c = arg;
	struct corr_event ev = { 0 };
	char id[160], starts[32], ends[32], observed[32];
	int inserted = 0, rc = -1;

	snprintf(id, sizeof(id), "stale-%s", anomaly_id);
	corr_time_format(start_ms, starts, sizeof(starts));
	corr_time_format(c->node->last_ms, ends, sizeof(ends));
	corr_time_format(c->now_ms, observed, sizeof(observed));
	ev.id = id;
	ev.anomaly_id = (char *)anomaly_id;
	ev.resolved = true;
	ev.stale = true;
	ev.service = (char *)service;
	ev.node = c->node->name;
	ev.metric = (char *)"liveness";
	ev.starts_at_ms = start_ms;
	ev.observed_at_ms = c->now_ms;
	ev.ends_at_ms = c->node->last_ms;
	if (corr_labels_copy(&ev.labels, labels))
		return -1;
	ev.raw = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "schema",
			   "seismo.event/v1", "id", id, "anomaly_id", anomaly_id, "state",
			   "resolved", "resolution", "stale", "service", service, "node",
			   c->node->name, "starts_at", starts, "observed_at", observed, "ends_at",
			   ends);
	if (!ev.raw)
		goto out;
	if (corr_store_insert_event(c->e->store, &ev, c->now_ms, &inserted))
		goto out;
	rc = 0;
	/* Shared store: every replica (this one too) correlates it by following. */
	if (inserted && c->e->shared)
		c->resolved++;
	else if (inserted) {
		c->e->events_stored++;
		c->resolved++;
		rc = correlate(c->e, &ev, c->now_ms, c->touched);
	}
out:
	corr_labels_free(&ev.labels);
	json_decref(ev.raw);
	return rc;
}

/* A heartbeat another replica received (shared store), if newer than ours. */
static int node_heard_elsewhere(const char *node, int64_t seen_ms, void *arg)
{
	struct corr_engine *e = arg;
	int i = corr_strmap_get(&e->node_index, node);

	if (i >= 0 && e->nodes[i].last_ms >= seen_ms)
		return 0;
	return node_heard(e, node, seen_ms);
}

/* Nodes silent for stale_after: their firing anomalies resolve as stale. */
static void check_liveness(struct corr_engine *e, int64_t now_ms)
{
	struct touched touched = { 0 };

	pthread_mutex_lock(&e->lock);
	if (e->shared && corr_store_each_node(e->store, node_heard_elsewhere, e))
		log_warn("ha: cannot read the nodes' heartbeats: %s", corr_store_errmsg(e->store));
	for (size_t i = 0; i < e->n_nodes; i++) {
		struct node_seen *n = &e->nodes[i];
		if (n->stale || now_ms - n->last_ms < e->cfg->stale_after_ms)
			continue;
		struct stale_ctx c = { e, n, now_ms, &touched, 0 };
		if (corr_store_begin(e->store))
			break;
		if (corr_topology_each_firing_of_node(e->topo, n->name, resolve_one_stale, &c) ||
		    corr_store_commit(e->store)) {
			corr_store_rollback(e->store);
			log_error("engine: cannot resolve the anomalies of silent node %s", n->name);
			continue; /* tried again at the next check */
		}
		n->stale = true;
		if (c.resolved)
			log_warn("engine: node %s silent for %lld s: %zu anomalies resolved as stale",
				 n->name, (long long)((now_ms - n->last_ms) / 1000), c.resolved);
	}
	publish_touched(e, &touched, now_ms);
	pthread_mutex_unlock(&e->lock);
}

json_t *corr_engine_alerts_json(struct corr_engine *e)
{
	return corr_dispatch_alerts_json(e->dispatch, corr_now_ms());
}

int64_t corr_engine_tick(struct corr_engine *e, int64_t now_ms)
{
	if (e->shared)
		ha_tick(e, now_ms);
	/* HA: only the leader decides staleness, on heartbeats any replica received. */
	if (e->cfg->stale_after_ms > 0 && now_ms >= e->next_liveness_ms &&
	    (!e->shared || e->leader)) {
		e->next_liveness_ms = now_ms + 1000;
		check_liveness(e, now_ms);
	}
	if (now_ms >= e->next_retention_ms) {
		e->next_retention_ms = now_ms + 10000;
		apply_retention(e, now_ms);
	}
	return corr_dispatch_tick(e->dispatch, now_ms);
}

int corr_engine_drain(struct corr_engine *e, int64_t timeout_ms)
{
	return corr_notifier_drain(e->notifier, timeout_ms);
}

struct corr_actions *corr_engine_actions(struct corr_engine *e)
{
	return e->actions;
}

struct corr_dispatch *corr_engine_dispatch(struct corr_engine *e)
{
	return e->dispatch;
}

struct corr_metrics *corr_engine_metrics(struct corr_engine *e)
{
	return &e->metrics;
}

const struct corr_config *corr_engine_config(struct corr_engine *e)
{
	return e->cfg;
}

void corr_engine_render_metrics(struct corr_engine *e, FILE *out)
{
	size_t groups, alerts, firing = 0, total = 0, services;
	int64_t stored;

	corr_metrics_render(&e->metrics, out);
	corr_actions_render_metrics(e->actions, out);
	corr_dispatch_counts(e->dispatch, &groups, &alerts);
	pthread_mutex_lock(&e->lock);
	stored = e->events_stored;
	services = corr_topology_service_count(e->topo);
	for (size_t i = 0; i < corr_topology_incident_slots(e->topo); i++) {
		struct corr_incident_view v;
		if (corr_topology_view(e->topo, (int)i, &v))
			continue;
		total++;
		firing += !v.resolved;
	}
	pthread_mutex_unlock(&e->lock);
	fprintf(out,
		"# HELP seismo_correlator_events_stored Events in the store.\n"
		"# TYPE seismo_correlator_events_stored gauge\n"
		"seismo_correlator_events_stored %lld\n"
		"# HELP seismo_correlator_incidents Incidents, by state.\n"
		"# TYPE seismo_correlator_incidents gauge\n"
		"seismo_correlator_incidents{state=\"firing\"} %zu\n"
		"seismo_correlator_incidents{state=\"resolved\"} %zu\n"
		"# HELP seismo_correlator_services Services known to the topology.\n"
		"# TYPE seismo_correlator_services gauge\n"
		"seismo_correlator_services %zu\n"
		"# HELP seismo_correlator_alert_groups Alertmanager-style aggregation groups.\n"
		"# TYPE seismo_correlator_alert_groups gauge\n"
		"seismo_correlator_alert_groups %zu\n"
		"# HELP seismo_correlator_alerts Alerts known to the dispatcher.\n"
		"# TYPE seismo_correlator_alerts gauge\n"
		"seismo_correlator_alerts %zu\n",
		(long long)stored, firing, total - firing, services, groups, alerts);
	if (e->shared)
		fprintf(out,
			"# HELP seismo_correlator_leader 1 when this replica dispatches notifications"
			" (HA on a shared store).\n"
			"# TYPE seismo_correlator_leader gauge\n"
			"seismo_correlator_leader %d\n"
			"# HELP seismo_correlator_leader_changes_total Times this replica took or lost"
			" the leadership.\n"
			"# TYPE seismo_correlator_leader_changes_total counter\n"
			"seismo_correlator_leader_changes_total %llu\n",
			__atomic_load_n(&e->leader, __ATOMIC_RELAXED),
			(unsigned long long)__atomic_load_n(&e->leader_changes, __ATOMIC_RELAXED));
}
