/*
 * The store's narrow backend interface. store.c is the public corr_store_*
 * API and forwards every call to the backend the path chose: the embedded
 * SQLite store (store_sqlite.c) or, for a postgres:// (or postgresql://)
 * URL, PostgreSQL (store_pg*.c). The engine does not know which one it
 * has. A new store function is one more op here, one line in store.c
 * forwarding to it, and its implementation in each backend.
 *
 * The last group exists only in a shared backend (NULL in SQLite's):
 * several correlators on one store (docs/correlator.md, "High
 * availability").
 */
#ifndef CORR_STORE_BACKEND_H
#define CORR_STORE_BACKEND_H

#include "store.h"

struct corr_store_ops {
	const char *name;
	void *(*open)(const char *url, int sync_full, char *err, size_t errlen);
	void (*close)(void *impl);
	const char *(*errmsg)(void *impl);

	int (*begin)(void *impl);
	int (*commit)(void *impl);
	void (*rollback)(void *impl);
	int (*insert_event)(void *impl, const struct corr_event *ev, int64_t received_ms,
			    int *inserted);
	int (*upsert_edge)(void *impl, const struct corr_edge *e, int64_t now_ms);
	int (*each_event)(void *impl, corr_store_event_cb cb, void *arg);
	int (*each_edge)(void *impl, corr_store_edge_cb cb, void *arg);
	int (*events_of_anomaly)(void *impl, const char *anomaly_id, int64_t starts_ms,
				 json_t *arr);
	int64_t (*count_events)(void *impl);
	int64_t (*prune)(void *impl, int64_t before_ms);

	int (*put_silence)(void *impl, const char *id, const char *json_text);
	int (*delete_silence)(void *impl, const char *id);
	int (*each_silence)(void *impl, corr_store_silence_cb cb, void *arg);

	int (*nflog_get)(void *impl, const char *key, uint64_t **firing, size_t *n_firing,
			 uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms);
	int (*nflog_put)(void *impl, const char *key, const uint64_t *firing, size_t n_firing,
			 const uint64_t *resolved, size_t n_resolved, int64_t ts_ms);
	int (*nflog_prune)(void *impl, int64_t before_ms);

	/* Notifications on their way (corr_store_pending_*). */
	int64_t (*pending_add)(void *impl, const struct corr_pending *p);
	int (*pending_acked)(void *impl, const struct corr_pending *p, int64_t acked_ms);
	int (*pending_delete)(void *impl, int64_t id);
	int (*each_pending)(void *impl, corr_store_pending_cb cb, void *arg);
	int (*pending_latest)(void *impl, const char *nflog_key, uint64_t **firing,
			      size_t *n_firing, uint64_t **resolved, size_t *n_resolved,
			      int64_t *ts_ms);

	/* Shared backends only. */
	int (*follow)(void *impl, int64_t *cursor, const struct corr_store_follower *f);
	int (*lead)(void *impl, int *leader);
	int (*heartbeat)(void *impl, const char *name, const char *address, int leader,
			 int64_t now_ms);
	int (*each_replica)(void *impl, int64_t seen_since_ms, corr_store_replica_cb cb, void *arg);
	int (*node_seen)(void *impl, const char *node, int64_t seen_ms);
	int (*each_node)(void *impl, corr_store_node_cb cb, void *arg);
	int (*post_alerts)(void *impl, const char *json_text, int64_t received_ms,
			   int64_t until_ms);
};

/* True for a URL a backend (not SQLite) opens. */
int corr_store_is_url(const char *path);

extern const struct corr_store_ops corr_store_sqlite_ops;
extern const struct corr_store_ops corr_store_pg_ops;

/*
 * The row formats both backends share (store_row.c), so a database written
 * by one reads the same in the other's tools.
 */
/* Fingerprints as comma-separated hex ("" for none): small, readable in psql/sqlite3. */
char *corr_store_fps_text(const uint64_t *fps, size_t n);
/* *out allocated (freed by the caller, also on error); 0 or -1. */
int corr_store_fps_parse(const char *text, uint64_t **out, size_t *n);
/* An event's labels and dependencies as stored: JSON text (free), NULL on error. */
char *corr_store_labels_text(const struct corr_event *ev);
char *corr_store_deps_text(const struct corr_event *ev);
/* A notification log entry's two lists from their text: 0, or -1 (both NULL). */
int corr_store_entry_parse(const char *firing_text, const char *resolved_text, uint64_t **firing,
			   size_t *n_firing, uint64_t **resolved, size_t *n_resolved);
/* p's lists from their text, then cb(p, arg); an unreadable row is logged and
 * skipped (0). cb's answer otherwise. */
int corr_store_pending_row(struct corr_pending *p, const char *firing_text,
			   const char *resolved_text, corr_store_pending_cb cb, void *arg);
/* The stored labels and dependencies back into ev (its strings owned by ev); 0 or -1. */
int corr_store_event_parse(struct corr_event *ev, const char *labels_text, const char *deps_text);

#endif
