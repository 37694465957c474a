/*
 * What the PostgreSQL store's files share (store_pg.c: connection, schema,
 * events, edges, silences; store_pg_delivery.c: the notification log and
 * pending notifications; store_pg_ha.c: what only replicas need). Not for
 * use outside correlator/store_pg*.c.
 *
 * One connection per store handle, used by one caller at a time (lock); a
 * broken connection is reset before the next statement. Parameters travel
 * as text (pg_i64 formats a number).
 */
#ifndef CORR_STORE_PG_H
#define CORR_STORE_PG_H

#include <pthread.h>

#include <libpq-fe.h>

#include "store_backend.h"

/* Advisory lock keys: "seismo" in the high bits, then the purpose. */
#define PG_SCHEMA_LOCK 0x736569736d6f0001LL
#define PG_INGEST_LOCK 0x736569736d6f0002LL
#define PG_LEADER_LOCK 0x736569736d6f0003LL
/* Parameterised statements are prepared once per session (parsed and
 * planned once: ingest runs one per event). */
#define PG_MAX_PREPARED 64

struct pg_store {
	PGconn *conn;
	pthread_mutex_t lock;
	int leader;
	int in_tx;
	char err[256];
	/* Statements prepared on this session (by their SQL, all literals). */
	const char *prepared[PG_MAX_PREPARED];
	int n_prepared;
};

/* A number as a parameter: formatted into buf (24 bytes), which it returns. */
const char *pg_i64(char *buf, int64_t v);
/* Runs sql with n text parameters, s->lock held by the caller: the result
 * when it succeeded, else NULL (the error in s->err, logged). */
PGresult *pg_run(struct pg_store *s, const char *sql, int n, const char *const *params);
int pg_run_ok(struct pg_store *s, const char *sql, int n, const char *const *params);
/* The same, taking s->lock around it (the result outlives the lock). */
PGresult *pg_query(struct pg_store *s, const char *sql, int n, const char *const *params);
int pg_do(struct pg_store *s, const char *sql, int n, const char *const *params);

/*
 * A transaction that numbers rows replicas replay (seismo_seq): it holds
 * the ingest lock exclusively from begin to commit, so numbers become
 * visible in order (store_pg.c explains). pg_numbered runs one statement so.
 */
int pg_begin(void *impl);
int pg_commit(void *impl);
void pg_rollback(void *impl);
int pg_numbered(struct pg_store *s, const char *sql, int n, const char *const *params);

/* SELECT ... of an event, seq first (EVENT_COLUMNS), as an event for cb. */
#define PG_EVENT_COLUMNS                                                                \
	"seq, id, anomaly_id, resolved, severity, service, node, metric, value, score," \
	" threshold, starts_ms, observed_ms, ends_ms, labels, deps"
int pg_event_row(PGresult *r, int row, corr_store_event_cb cb, void *arg);
int pg_edge_row(PGresult *r, int row, corr_store_edge_cb cb, void *arg);

/* store_pg_delivery.c */
int pg_nflog_get(void *impl, const char *key, uint64_t **firing, size_t *n_firing,
		 uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms);
int pg_nflog_put(void *impl, const char *key, const uint64_t *firing, size_t n_firing,
		 const uint64_t *resolved, size_t n_resolved, int64_t ts_ms);
int pg_nflog_prune(void *impl, int64_t before_ms);
int64_t pg_pending_add(void *impl, const struct corr_pending *p);
int pg_pending_acked(void *impl, const struct corr_pending *p, int64_t acked_ms);
int pg_pending_delete(void *impl, int64_t id);
int pg_each_pending(void *impl, corr_store_pending_cb cb, void *arg);
int pg_pending_latest(void *impl, const char *nflog_key, uint64_t **firing, size_t *n_firing,
		      uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms);

/* store_pg_ha.c */
int pg_follow(void *impl, int64_t *cursor, const struct corr_store_follower *f);
int pg_lead(void *impl, int *leader);
int pg_heartbeat(void *impl, const char *name, const char *address, int leader, int64_t now_ms);
int pg_each_replica(void *impl, int64_t seen_since_ms, corr_store_replica_cb cb, void *arg);
int pg_node_seen(void *impl, const char *node, int64_t seen_ms);
int pg_each_node(void *impl, corr_store_node_cb cb, void *arg);
int pg_post_alerts(void *impl, const char *json_text, int64_t received_ms, int64_t until_ms);

#endif
