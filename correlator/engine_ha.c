/* High availability: replicas follow a shared store, one leads (dispatches). */
#include "engine_int.h"

#include <string.h>
#include <unistd.h>

#include "action.h"
#include "dispatch.h"
#include "log.h"
#include "store.h"
#include "topology.h"
#include "util.h"

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
	return engine_take_edge_merges(f->e, &f->touched, f->now_ms);
}

static int follow_event(struct corr_event *ev, void *arg)
{
	struct follow_ctx *f = arg;

	f->e->events_stored++;
	ev->stale = !strncmp(ev->id, "stale-", 6);
	if (strcmp(ev->node, "alertmanager") && engine_node_heard(f->e, ev->node, corr_now_ms()))
		return -1;
	return engine_correlate(f->e, ev, f->now_ms, &f->touched);
}

static int follow_silence(const char *id, const char *text, void *arg)
{
	struct follow_ctx *f = arg;

	return engine_replay_silence(id, text, f->e);
}

/* Alerts posted to any replica (POST /api/v2/alerts): into this dispatcher. */
static int follow_alerts(const char *text, int64_t received_ms, void *arg)
{
	struct follow_ctx *f = arg;
	json_t *body = json_loads(text, 0, NULL);
	char err[256];

	if (engine_put_alerts(f->e, body, received_ms, f->now_ms, 1, NULL, err, sizeof(err)) == -1)
		log_warn("ha: stored posted alerts unreadable (%s), skipped", err);
	json_decref(body);
	return 0;
}

/*
 * Correlates everything any replica stored since the last call, in the
 * store's order: the same events in the same order give every replica the
 * same incidents, ids and alerts. e->lock held (or not yet shared).
 */
int engine_follow_store(struct corr_engine *e, int64_t now_ms)
{
	struct follow_ctx f = { .e = e, .now_ms = now_ms };
	struct corr_store_follower by = { follow_edge, follow_event, follow_silence, follow_alerts,
					  &f };
	int rc;

	do
		rc = corr_store_follow(e->store, &e->follow_seq, &by);
	while (rc == 1);
	engine_publish_touched(e, &f.touched, now_ms);
	if (rc < 0)
		log_warn("ha: reading the shared store failed at #%lld: %s",
			 (long long)e->follow_seq, corr_store_errmsg(e->store));
	return rc;
}

/* A follower until the first leadership check says otherwise. */
void engine_ha_start(struct corr_engine *e)
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
void engine_ha_tick(struct corr_engine *e, int64_t now_ms)
{
	int leader = 0;

	if (now_ms >= e->next_follow_ms) {
		pthread_mutex_lock(&e->lock);
		engine_follow_store(e, now_ms);
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
			engine_follow_store(e, now_ms);
			pthread_mutex_unlock(&e->lock);
		}
		/* What the old leader left pending goes out first, once. */
		if (leader && corr_store_each_pending(e->nflog_store, engine_resume_pending, e))
			log_error("ha: reading pending notifications failed");
		corr_dispatch_set_passive(e->dispatch, !leader, now_ms);
		corr_actions_set_leader(e->actions, leader);
		__atomic_store_n(&e->leader, leader, __ATOMIC_RELAXED);
		__atomic_add_fetch(&e->leader_changes, 1, __ATOMIC_RELAXED);
		log_info("ha: %s %s the leader: it %s", e->replica,
			 leader ? "is now" : "is no longer",
			 leader ? "dispatches notifications" : "only follows");
	}
	corr_store_heartbeat(e->nflog_store, e->replica, e->cfg->listen, leader, now_ms);
}

static int add_peer(const char *name, const char *address, int leader, int64_t seen_ms, void *arg)
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
