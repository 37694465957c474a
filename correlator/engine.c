/*
 * The engine: opening and replaying the store, ingest (store, then
 * correlate, then publish, under one lock), retention, the tick and the
 * metrics. Its other jobs are in engine_alerts.c, engine_ha.c,
 * engine_liveness.c, engine_posted.c and engine_api.c (engine_int.h).
 */
#include "engine_int.h"

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

/* ------------------------------------------------------------- replay */

static int replay_edge(const struct corr_edge *edge, void *arg)
{
	struct corr_engine *e = arg;

	/* Edges come back before any event: there is nothing to merge yet. */
	return corr_topology_add_endpoint_edge(e->topo, edge->caller, edge->callee, edge->endpoint);
}

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
	if (strcmp(ev->node, "alertmanager") && engine_node_heard(e, ev->node, corr_now_ms()))
		return -1;
	return engine_correlate(e, ev, corr_now_ms(), &e->replay_touched);
}

int engine_replay_silence(const char *id, const char *text, void *arg)
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

int engine_resume_pending(const struct corr_pending *p, void *arg)
{
	struct corr_engine *e = arg;

	if (!corr_notifier_resume(e->notifier, p)) {
		log_info("engine: resending the notification to %s for group %s kept before the"
			 " restart",
			 p->receiver, p->group_key);
		return 0;
	}
	log_warn("engine: pending notification to %s (integration %zu) dropped: no such"
		 " receiver any more",
		 p->receiver, p->integ_index);
	corr_store_pending_delete(e->nflog_store, p->id);
	return 0;
}

/* For the actions' re-check right before running: 1 resolved, 0 firing, -1 unknown. */
static int incident_state(void *arg, const char *id)
{
	struct corr_engine *e = arg;
	struct corr_incident_view v;
	int rc;

	pthread_mutex_lock(&e->lock);
	/* Merged into another incident: find gives that one, where the trouble goes on.
	 * Forgotten (resolved past the retention), in memory or not: unknown. */
	int idx = corr_topology_find(e->topo, id);
	rc = idx < 0 ? -1 : corr_topology_view(e->topo, idx, &v) ? -1 : v.resolved;
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
	if (!e->topo || !e->notifier || !(e->dispatch = corr_dispatch_new(cfg, e->notifier))) {
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
		struct corr_delivery_ops dops = { delivery_add, delivery_acked, delivery_dropped,
						  e };
		corr_dispatch_set_nflog(e->dispatch, &ops);
		corr_notifier_set_delivery(e->notifier, &dops);
		/* Shared store: only the leader resends, when it takes over (ha_tick). */
		if (!corr_store_shared(e->store) &&
		    corr_store_each_pending(e->nflog_store, engine_resume_pending, e)) {
			snprintf(err, errlen, "store %s: reading pending notifications failed",
				 cfg->db_path);
			goto fail;
		}
	}
	/* Retention: what is older than that neither returns to memory nor stays on disk. */
	if (cfg->retention_ms > 0) {
		int64_t gone = corr_store_prune(e->store, corr_now_ms() - cfg->retention_ms);
		if (gone > 0)
			log_info("engine: dropped %lld events older than the retention",
				 (long long)gone);
	}
	e->shared = corr_store_shared(e->store);
	if (e->shared)
		engine_ha_start(e);
	if (e->shared ? engine_follow_store(e, corr_now_ms()) < 0
		      : corr_store_each_silence(e->store, engine_replay_silence, e) ||
				corr_store_each_edge(e->store, replay_edge, e) ||
				corr_store_each_event(e->store, replay_event, e)) {
		char shown[512];
		snprintf(err, errlen, "store %s: replay failed",
			 corr_store_display(cfg->db_path, shown, sizeof(shown)));
		goto fail;
	}
	engine_publish_touched(e, &e->replay_touched, corr_now_ms());
	if (corr_actions_start(e->actions)) {
		snprintf(err, errlen, "cannot start the action workers");
		goto fail;
	}
	char shown[512];
	log_info("engine: replayed %lld events into %zu incident slots from %s",
		 (long long)e->events_stored, corr_topology_slots_held(e->topo),
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

static void forget_resolved(struct corr_engine *e, int64_t now_ms);

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
	if (b->liveness && engine_node_heard(e, b->node, corr_now_ms()))
		log_error("engine: out of memory noting node %s", b->node);
	/* Shared store: the leader decides staleness on what any replica heard. */
	if (b->liveness && e->shared && corr_store_node_seen(e->store, b->node, corr_now_ms()))
		log_warn("ha: cannot share the heartbeat of node %s", b->node);
	struct touched touched = { 0 };
	/* Shared store: every replica correlates in the store's order, this one too. */
	if (e->shared)
		engine_follow_store(e, now_ms);
	else
		e->events_stored += (int64_t)*accepted;
	for (size_t i = 0; !e->shared && i < b->n_edges; i++)
		if (corr_topology_add_endpoint_edge(e->topo, b->edges[i].caller, b->edges[i].callee,
						    b->edges[i].endpoint) ||
		    engine_take_edge_merges(e, &touched, now_ms))
			log_error("engine: out of memory adding edge %s -> %s", b->edges[i].caller,
				  b->edges[i].callee);
	for (size_t i = 0; !e->shared && i < b->n_events; i++)
		if (fresh[i] && engine_correlate(e, &b->events[i], now_ms, &touched))
			log_error("engine: correlating event %s failed", b->events[i].id);
	engine_publish_touched(e, &touched, now_ms);
	if (now_ms >= e->next_forget_ms)
		forget_resolved(e, now_ms);
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
 * In-memory retention (e->lock held): incidents resolved before the
 * retention leave memory, with their alerts. Run by the ingest itself
 * (at most once a second), so memory follows the retention window even
 * while a burst of old events arrives between two ticks.
 */
static void forget_resolved(struct corr_engine *e, int64_t now_ms)
{
	int gone[256];
	size_t n;

	e->next_forget_ms = now_ms + 1000;
	if (e->cfg->retention_ms <= 0)
		return;
	do {
		n = corr_topology_forget(e->topo, now_ms - e->cfg->retention_ms, gone, 256);
		for (size_t i = 0; i < n; i++)
			if (engine_ia_held(e, gone[i]))
				engine_forget_alert(e, engine_ia_at(e, gone[i]));
		e->forgotten_since_trim += n;
	} while (n == 256);
	engine_drop_forgotten_ia(e);
}

/*
 * Retention, continuously (every 10 s): events received before it leave
 * the store, incidents resolved before it leave memory, with their alerts;
 * the notification log keeps 120 h, as Alertmanager's does.
 */
static void apply_retention(struct corr_engine *e, int64_t now_ms)
{
	int64_t pruned = 0;
	size_t forgotten;

	pthread_mutex_lock(&e->lock);
	if (e->cfg->retention_ms > 0) {
		pruned = corr_store_prune(e->store, now_ms - e->cfg->retention_ms);
		if (pruned > 0)
			e->events_stored -= pruned;
	}
	forget_resolved(e, now_ms);
	forgotten = e->forgotten_since_trim;
	e->forgotten_since_trim = 0;
	pthread_mutex_unlock(&e->lock);
	if (pruned > 0 || forgotten) {
		log_info("engine: retention dropped %lld events and %zu resolved incidents",
			 (long long)(pruned > 0 ? pruned : 0), forgotten);
		/* Many small blocks went: give the pages back, so RSS follows the retention. */
		malloc_trim(0);
	}
	pthread_mutex_lock(&e->delivery_lock);
	corr_store_nflog_prune(e->nflog_store, now_ms - 120 * 3600000LL);
	pthread_mutex_unlock(&e->delivery_lock);
}


json_t *corr_engine_alerts_json(struct corr_engine *e)
{
	return corr_dispatch_alerts_json(e->dispatch, corr_now_ms());
}

int64_t corr_engine_tick(struct corr_engine *e, int64_t now_ms)
{
	if (e->shared)
		engine_ha_tick(e, now_ms);
	/* HA: only the leader decides staleness, on heartbeats any replica received. */
	if (e->cfg->stale_after_ms > 0 && now_ms >= e->next_liveness_ms &&
	    (!e->shared || e->leader)) {
		e->next_liveness_ms = now_ms + 1000;
		engine_check_liveness(e, now_ms);
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
	for (size_t i = corr_topology_first_slot(e->topo);
	     i < corr_topology_incident_slots(e->topo); i++) {
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
