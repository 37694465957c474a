/*
 * The correlator's store: events deduplicated by id, dependency edges,
 * silences, the notification log and the notifications still on their way
 * (pending). SQLite (WAL) is the embedded default; a postgres:// URL shares
 * one PostgreSQL database between replicas (store_backend.h). Incidents
 * are derived state: on start the engine replays the stored events in
 * arrival order, so the same events give the same incidents with the same
 * ids.
 */
#ifndef CORR_STORE_H
#define CORR_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct corr_store;

/* path ":memory:" works for tests; a postgres:// URL opens PostgreSQL
 * (store_pg.c). sync_full: fsync every commit (SQLite). */
struct corr_store *corr_store_open(const char *path, int sync_full, char *err, size_t errlen);
void corr_store_close(struct corr_store *st);

int corr_store_begin(struct corr_store *st);
int corr_store_commit(struct corr_store *st);
void corr_store_rollback(struct corr_store *st);

/* Inserts unless the id is known; *inserted says which. 0 or -1. */
int corr_store_insert_event(struct corr_store *st, const struct corr_event *ev, int64_t received_ms,
			    int *inserted);
int corr_store_upsert_edge(struct corr_store *st, const struct corr_edge *e, int64_t now_ms);

typedef int (*corr_store_event_cb)(struct corr_event *ev, void *arg);
typedef int (*corr_store_edge_cb)(const struct corr_edge *e, void *arg);
/* Calls cb for every stored event in arrival order (cb owns nothing). */
int corr_store_each_event(struct corr_store *st, corr_store_event_cb cb, void *arg);
int corr_store_each_edge(struct corr_store *st, corr_store_edge_cb cb, void *arg);
/* Raw events of one anomaly, oldest first, appended to arr. */
int corr_store_events_of_anomaly(struct corr_store *st, const char *anomaly_id, int64_t starts_ms,
				 json_t *arr);
int64_t corr_store_count_events(struct corr_store *st);
/* Deletes events received before before_ms; returns how many, or -1. */
int64_t corr_store_prune(struct corr_store *st, int64_t before_ms);

int corr_store_put_silence(struct corr_store *st, const char *id, const char *json_text);
int corr_store_delete_silence(struct corr_store *st, const char *id);
typedef int (*corr_store_silence_cb)(const char *id, const char *json_text, void *arg);
int corr_store_each_silence(struct corr_store *st, corr_store_silence_cb cb, void *arg);

/* The notification log (see corr_nflog_ops): fingerprint lists and a time. */
int corr_store_nflog_get(struct corr_store *st, const char *key, uint64_t **firing,
			 size_t *n_firing, uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms);
int corr_store_nflog_put(struct corr_store *st, const char *key, const uint64_t *firing,
			 size_t n_firing, const uint64_t *resolved, size_t n_resolved,
			 int64_t ts_ms);
/* Forgets entries older than before_ms (Alertmanager keeps 120 h). */
int corr_store_nflog_prune(struct corr_store *st, int64_t before_ms);

/*
 * A notification on its way, as the delivery log keeps it: enough to send
 * it again after a restart (the body as built; the URL is resolved again
 * from the configuration) and to log it as told when it is acknowledged.
 */
struct corr_pending {
	int64_t id; /* given by the delivery log */
	const char *receiver;
	size_t integ_index;
	const char *group_key;
	const char *nflog_key;
	const uint64_t *firing;
	size_t n_firing;
	const uint64_t *resolved;
	size_t n_resolved;
	const char *body;
	int64_t created_ms; /* on the dispatcher's clock */
};

/* Keeps a notification before it is queued; its id (> 0), or -1. */
int64_t corr_store_pending_add(struct corr_store *st, const struct corr_pending *p);
/* Acknowledged: forgets p and logs it in the notification log, in one transaction. */
int corr_store_pending_acked(struct corr_store *st, const struct corr_pending *p, int64_t acked_ms);
int corr_store_pending_delete(struct corr_store *st, int64_t id);
typedef int (*corr_store_pending_cb)(const struct corr_pending *p, void *arg);
/* Every pending notification, oldest first. */
int corr_store_each_pending(struct corr_store *st, corr_store_pending_cb cb, void *arg);
/*
 * The newest pending notification under a notification log key, read as an
 * entry (what the receiver is being told): 0, 1 when none, -1 on error.
 */
int corr_store_pending_latest(struct corr_store *st, const char *nflog_key, uint64_t **firing,
			      size_t *n_firing, uint64_t **resolved, size_t *n_resolved,
			      int64_t *ts_ms);

const char *corr_store_errmsg(struct corr_store *st);

/*
 * Shared stores (path a postgres:// URL; store_pg.c): several correlators
 * on one database. corr_store_shared says whether st is one.
 */
int corr_store_shared(struct corr_store *st);
/* path for logs: a URL's password as ***; buf when it had one, else path. */
const char *corr_store_display(const char *path, char *buf, size_t len);
/* A POST /api/v2/alerts body as validated (JSON text) and when it came. */
typedef int (*corr_store_alerts_cb)(const char *json_text, int64_t received_ms, void *arg);
/* What a replica replays, in the store's one order. */
struct corr_store_follower {
	corr_store_edge_cb edge;
	corr_store_event_cb event;
	corr_store_silence_cb silence;
	corr_store_alerts_cb alerts;
	void *arg;
};
/*
 * Calls back, in the store's one order, every edge, event, silence and
 * posted alert any replica wrote after *cursor, advancing it: 1 when more
 * are waiting (a call reads a bounded batch), 0 when caught up, -1 on error.
 */
int corr_store_follow(struct corr_store *st, int64_t *cursor, const struct corr_store_follower *f);
/*
 * Alerts pushed to one replica's POST /api/v2/alerts, shared so every
 * replica's dispatcher holds them (and the leader notifies them once).
 * until_ms: the latest endsAt among them; a row ended an hour before a
 * newer one is forgotten. A no-op (0) on an embedded store.
 */
int corr_store_post_alerts(struct corr_store *st, const char *json_text, int64_t received_ms,
			   int64_t until_ms);
/* A node's heartbeat (or batch) reached this replica; kept as the latest
 * per node across replicas. A no-op (0) on an embedded store. */
int corr_store_node_seen(struct corr_store *st, const char *node, int64_t seen_ms);
typedef int (*corr_store_node_cb)(const char *node, int64_t seen_ms, void *arg);
/* Every node any replica heard from, with when it last did. */
int corr_store_each_node(struct corr_store *st, corr_store_node_cb cb, void *arg);
/* Takes or keeps the dispatch leadership, held by this connection's session:
 * *leader 1 or 0 (always 1 for an embedded store); -1 when unreachable. */
int corr_store_lead(struct corr_store *st, int *leader);
/* This replica is alive (for /api/v2/status); and the replicas seen since. */
int corr_store_heartbeat(struct corr_store *st, const char *name, const char *address, int leader,
			 int64_t now_ms);
typedef int (*corr_store_replica_cb)(const char *name, const char *address, int leader,
				     int64_t seen_ms, void *arg);
int corr_store_each_replica(struct corr_store *st, int64_t seen_since_ms, corr_store_replica_cb cb,
			    void *arg);

#endif
