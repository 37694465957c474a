/*
 * What the SQLite store's files share (store_sqlite.c: connection, schema,
 * events, edges, silences; store_sqlite_delivery.c: the notification log
 * and pending notifications). Not for use outside correlator/store_sqlite*.c.
 *
 * Statements bind their arguments from a format string: s = text,
 * i = int, I = int64_t, d = double.
 */
#ifndef CORR_STORE_SQLITE_H
#define CORR_STORE_SQLITE_H

#include <sqlite3.h>

#include "store_backend.h"

struct sq {
	sqlite3 *db;
	/* Per event or edge: prepared once. */
	sqlite3_stmt *insert_event;
	sqlite3_stmt *upsert_edge;
	sqlite3_stmt *events_of_anomaly;
};

/* sql prepared, its arguments bound from fmt; NULL (logged) on error. */
sqlite3_stmt *sq_stmt(struct sq *q, const char *sql, const char *fmt, ...);
/* Steps s to its end and finalizes it: rows changed, or -1 (logged). */
int sq_done(struct sq *q, sqlite3_stmt *s);
/* Statements without arguments (several allowed); 0 or -1 (logged). */
int sq_exec(struct sq *q, const char *sql);
/* A column's text, "" for NULL. */
const char *sq_text(sqlite3_stmt *s, int col);
int sq_begin(void *impl);
int sq_commit(void *impl);
void sq_rollback(void *impl);

/* store_sqlite_delivery.c */
int sq_nflog_get(void *impl, const char *key, uint64_t **firing, size_t *n_firing,
		 uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms);
int sq_nflog_put(void *impl, const char *key, const uint64_t *firing, size_t n_firing,
		 const uint64_t *resolved, size_t n_resolved, int64_t ts_ms);
int sq_nflog_prune(void *impl, int64_t before_ms);
int64_t sq_pending_add(void *impl, const struct corr_pending *p);
int sq_pending_acked(void *impl, const struct corr_pending *p, int64_t acked_ms);
int sq_pending_delete(void *impl, int64_t id);
int sq_each_pending(void *impl, corr_store_pending_cb cb, void *arg);
int sq_pending_latest(void *impl, const char *nflog_key, uint64_t **firing, size_t *n_firing,
		      uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms);

#endif
