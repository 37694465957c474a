/* Liveness: nodes heard from, and the anomalies of silent ones resolved as stale. */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "topology.h"
#include "util.h"

/* Node sent something now: it is alive (under the lock). 0 or -1. */
int engine_node_heard(struct corr_engine *e, const char *node, int64_t now_ms)
{
	int i = corr_strmap_get(&e->node_index, node);

	if (i < 0) {
		struct node_seen *g = realloc(e->nodes, (e->n_nodes + 1) * sizeof(*g));
		if (!g)
			return -1;
		e->nodes = g;
		g[e->n_nodes] = (struct node_seen){ .name = strdup(node) };
		if (!g[e->n_nodes].name || corr_strmap_put(&e->node_index, node, (int)e->n_nodes)) {
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
	char id[160], starts[32], ends[32], observed[32], *text = NULL;
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
	json_t *raw = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "schema",
				"seismo.event/v1", "id", id, "anomaly_id", anomaly_id, "state",
				"resolved", "resolution", "stale", "service", service, "node",
				c->node->name, "starts_at", starts, "observed_at", observed,
				"ends_at", ends);
	text = raw ? json_dumps(raw, JSON_COMPACT) : NULL;
	json_decref(raw);
	if (!text)
		goto out;
	ev.raw = text;
	ev.raw_len = strlen(text);
	if (corr_store_insert_event(c->e->store, &ev, c->now_ms, &inserted))
		goto out;
	rc = 0;
	/* Shared store: every replica (this one too) correlates it by following. */
	if (inserted && c->e->shared)
		c->resolved++;
	else if (inserted) {
		c->e->events_stored++;
		c->resolved++;
		rc = engine_correlate(c->e, &ev, c->now_ms, c->touched);
	}
out:
	corr_labels_free(&ev.labels);
	free(text);
	return rc;
}

/* A heartbeat another replica received (shared store), if newer than ours. */
static int node_heard_elsewhere(const char *node, int64_t seen_ms, void *arg)
{
	struct corr_engine *e = arg;
	int i = corr_strmap_get(&e->node_index, node);

	if (i >= 0 && e->nodes[i].last_ms >= seen_ms)
		return 0;
	return engine_node_heard(e, node, seen_ms);
}

/* Nodes silent for stale_after: their firing anomalies resolve as stale. */
void engine_check_liveness(struct corr_engine *e, int64_t now_ms)
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
			log_error("engine: cannot resolve the anomalies of silent node %s",
				  n->name);
			continue; /* tried again at the next check */
		}
		n->stale = true;
		if (c.resolved)
			log_warn(
				"engine: node %s silent for %lld s: %zu anomalies resolved as stale",
				n->name, (long long)((now_ms - n->last_ms) / 1000), c.resolved);
	}
	engine_publish_touched(e, &touched, now_ms);
	pthread_mutex_unlock(&e->lock);
}
