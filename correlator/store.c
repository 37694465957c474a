/*
 * The public store API: every call goes to the backend the path chose
 * (store_backend.h): SQLite (store_sqlite.c) for a file or ":memory:",
 * PostgreSQL (store_pg*.c) for a postgres:// URL. The calls only a shared
 * backend has answer as a single correlator would on the embedded one.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"

struct corr_store {
	const struct corr_store_ops *ops;
	void *impl;
};

struct corr_store *corr_store_open(const char *path, int sync_full, char *err, size_t errlen)
{
	struct corr_store *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->ops = corr_store_is_url(path) ? &corr_store_pg_ops : &corr_store_sqlite_ops;
	st->impl = st->ops->open(path, sync_full, err, errlen);
	if (!st->impl) {
		free(st);
		return NULL;
	}
	return st;
}

void corr_store_close(struct corr_store *st)
{
	if (!st)
		return;
	st->ops->close(st->impl);
	free(st);
}

const char *corr_store_errmsg(struct corr_store *st)
{
	return st->ops->errmsg(st->impl);
}

int corr_store_begin(struct corr_store *st)
{
	return st->ops->begin(st->impl);
}

int corr_store_commit(struct corr_store *st)
{
	return st->ops->commit(st->impl);
}

void corr_store_rollback(struct corr_store *st)
{
	st->ops->rollback(st->impl);
}

int corr_store_insert_event(struct corr_store *st, const struct corr_event *ev, int64_t received_ms,
			    int *inserted)
{
	return st->ops->insert_event(st->impl, ev, received_ms, inserted);
}

int corr_store_upsert_edge(struct corr_store *st, const struct corr_edge *e, int64_t now_ms)
{
	return st->ops->upsert_edge(st->impl, e, now_ms);
}

int corr_store_each_event(struct corr_store *st, corr_store_event_cb cb, void *arg)
{
	return st->ops->each_event(st->impl, cb, arg);
}

int corr_store_each_edge(struct corr_store *st, corr_store_edge_cb cb, void *arg)
{
	return st->ops->each_edge(st->impl, cb, arg);
}

int corr_store_events_of_anomaly(struct corr_store *st, const char *anomaly_id, int64_t starts_ms,
				 json_t *arr)
{
	return st->ops->events_of_anomaly(st->impl, anomaly_id, starts_ms, arr);
}

int64_t corr_store_count_events(struct corr_store *st)
{
	return st->ops->count_events(st->impl);
}

int64_t corr_store_prune(struct corr_store *st, int64_t before_ms)
{
	return st->ops->prune(st->impl, before_ms);
}

int corr_store_put_silence(struct corr_store *st, const char *id, const char *json_text)
{
	return st->ops->put_silence(st->impl, id, json_text);
}

int corr_store_delete_silence(struct corr_store *st, const char *id)
{
	return st->ops->delete_silence(st->impl, id);
}

int corr_store_each_silence(struct corr_store *st, corr_store_silence_cb cb, void *arg)
{
	return st->ops->each_silence(st->impl, cb, arg);
}

int corr_store_nflog_get(struct corr_store *st, const char *key, uint64_t **firing,
			 size_t *n_firing, uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	return st->ops->nflog_get(st->impl, key, firing, n_firing, resolved, n_resolved, ts_ms);
}

int corr_store_nflog_put(struct corr_store *st, const char *key, const uint64_t *firing,
			 size_t n_firing, const uint64_t *resolved, size_t n_resolved,
			 int64_t ts_ms)
{
	return st->ops->nflog_put(st->impl, key, firing, n_firing, resolved, n_resolved, ts_ms);
}

int corr_store_nflog_prune(struct corr_store *st, int64_t before_ms)
{
	return st->ops->nflog_prune(st->impl, before_ms);
}

int64_t corr_store_pending_add(struct corr_store *st, const struct corr_pending *p)
{
	return st->ops->pending_add(st->impl, p);
}

int corr_store_pending_acked(struct corr_store *st, const struct corr_pending *p, int64_t acked_ms)
{
	return st->ops->pending_acked(st->impl, p, acked_ms);
}

int corr_store_pending_delete(struct corr_store *st, int64_t id)
{
	return st->ops->pending_delete(st->impl, id);
}

int corr_store_each_pending(struct corr_store *st, corr_store_pending_cb cb, void *arg)
{
	return st->ops->each_pending(st->impl, cb, arg);
}

int corr_store_pending_latest(struct corr_store *st, const char *nflog_key, uint64_t **firing,
			      size_t *n_firing, uint64_t **resolved, size_t *n_resolved,
			      int64_t *ts_ms)
{
	return st->ops->pending_latest(st->impl, nflog_key, firing, n_firing, resolved, n_resolved,
				       ts_ms);
}

/* ------------------------------------------- shared stores (HA) */

int corr_store_shared(struct corr_store *st)
{
	return st->ops->follow != NULL;
}

int corr_store_follow(struct corr_store *st, int64_t *cursor, const struct corr_store_follower *f)
{
	return st->ops->follow ? st->ops->follow(st->impl, cursor, f) : -1;
}

int corr_store_lead(struct corr_store *st, int *leader)
{
	*leader = 1; /* an embedded store has one correlator: it leads */
	return st->ops->lead ? st->ops->lead(st->impl, leader) : 0;
}

int corr_store_heartbeat(struct corr_store *st, const char *name, const char *address, int leader,
			 int64_t now_ms)
{
	return st->ops->heartbeat ? st->ops->heartbeat(st->impl, name, address, leader, now_ms) : 0;
}

int corr_store_each_replica(struct corr_store *st, int64_t seen_since_ms, corr_store_replica_cb cb,
			    void *arg)
{
	return st->ops->each_replica ? st->ops->each_replica(st->impl, seen_since_ms, cb, arg) : 0;
}

int corr_store_post_alerts(struct corr_store *st, const char *json_text, int64_t received_ms,
			   int64_t until_ms)
{
	return st->ops->post_alerts
		       ? st->ops->post_alerts(st->impl, json_text, received_ms, until_ms)
		       : 0;
}

int corr_store_node_seen(struct corr_store *st, const char *node, int64_t seen_ms)
{
	return st->ops->node_seen ? st->ops->node_seen(st->impl, node, seen_ms) : 0;
}

int corr_store_each_node(struct corr_store *st, corr_store_node_cb cb, void *arg)
{
	return st->ops->each_node ? st->ops->each_node(st->impl, cb, arg) : 0;
}
