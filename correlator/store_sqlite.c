/*
 * The correlator's embedded store (store_backend.h), SQLite in WAL mode.
 * This file: the connection, the schema, events, edges and silences;
 * store_sqlite_delivery.c holds the notification log and the pending
 * notifications.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store_sqlite.h"


static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS events ("
	" seq INTEGER PRIMARY KEY, /* max + 1: arrival order (pruning removes the oldest) */"
	" id TEXT NOT NULL, anomaly_id TEXT NOT NULL,"
	" received_ms INTEGER NOT NULL, resolved INTEGER NOT NULL,"
	" severity INTEGER NOT NULL, service TEXT NOT NULL, node TEXT NOT NULL,"
	" metric TEXT NOT NULL, value REAL, score REAL, threshold REAL,"
	" starts_ms INTEGER, observed_ms INTEGER, ends_ms INTEGER,"
	" labels TEXT NOT NULL, deps TEXT NOT NULL, raw TEXT NOT NULL);"
	/*
	 * Deduplication and the events of an anomaly through one index that
	 * starts with the anomaly's start time: new rows land in its recent
	 * end, so a batch touches a few pages however long the history is (an
	 * index on the random ids alone made every insert touch a random page:
	 * ingest slowed as the store grew). An anomaly id hashes its start
	 * time, so an event id always comes with the same starts_at.
	 */
	"CREATE UNIQUE INDEX IF NOT EXISTS events_identity ON events(starts_ms, anomaly_id, id);"
	"CREATE TABLE IF NOT EXISTS edges ("
	" caller TEXT NOT NULL, callee TEXT NOT NULL, endpoint TEXT NOT NULL,"
	" requests INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
	" PRIMARY KEY (caller, callee, endpoint));"
	"CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS nflog (key TEXT PRIMARY KEY, firing TEXT NOT NULL,"
	" resolved TEXT NOT NULL, ts_ms INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY, receiver TEXT NOT NULL,"
	" integ_index INTEGER NOT NULL, group_key TEXT NOT NULL, nflog_key TEXT NOT NULL,"
	" firing TEXT NOT NULL, resolved TEXT NOT NULL, body TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS pending_nflog ON pending(nflog_key);";

static int bind_all(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int rc = SQLITE_OK;

	for (int i = 0; fmt && fmt[i] && rc == SQLITE_OK; i++) {
		if (fmt[i] == 's')
			rc = sqlite3_bind_text(s, i + 1, va_arg(ap, const char *), -1,
					       SQLITE_STATIC);
		else if (fmt[i] == 'I')
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
		else if (fmt[i] == 'd')
			rc = sqlite3_bind_double(s, i + 1, va_arg(ap, double));
		else
			rc = sqlite3_bind_int(s, i + 1, va_arg(ap, int));
	}
	return rc == SQLITE_OK ? 0 : -1;
}

sqlite3_stmt *sq_stmt(struct sq *q, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s = NULL;
	va_list ap;
	int rc;

	if (sqlite3_prepare_v2(q->db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_error("store: cannot prepare '%s': %s", sql, sqlite3_errmsg(q->db));
		return NULL;
	}
	va_start(ap, fmt);
	rc = bind_all(s, fmt, ap);
	va_end(ap);
	if (rc) {
		log_error("store: cannot bind '%s': %s", sql, sqlite3_errmsg(q->db));
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

int sq_done(struct sq *q, sqlite3_stmt *s)
{
	int rc = -1;

	if (!s)
		return -1;
	if (sqlite3_step(s) == SQLITE_DONE)
		rc = sqlite3_changes(q->db);
	else
		log_error("store: '%s': %s", sqlite3_sql(s), sqlite3_errmsg(q->db));
	sqlite3_finalize(s);
	return rc;
}

int sq_exec(struct sq *q, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store: %s: %s", sql, msg ? msg : "failed");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

const char *sq_text(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	return t ? t : "";
}

static void sq_close(void *impl)
{
	struct sq *q = impl;

	sqlite3_finalize(q->insert_event);
	sqlite3_finalize(q->upsert_edge);
	sqlite3_finalize(q->events_of_anomaly);
	sqlite3_close(q->db);
	free(q);
}

static int prepare(struct sq *q, const char *sql, sqlite3_stmt **s)
{
	return sqlite3_prepare_v2(q->db, sql, -1, s, NULL) == SQLITE_OK ? 0 : -1;
}

static void *sq_open(const char *path, int sync_full, char *err, size_t errlen)
{
	struct sq *q = calloc(1, sizeof(*q));

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &q->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", path,
			 q->db ? sqlite3_errmsg(q->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(q->db, 5000);
	/*
	 * WAL: readers never block ingest. synchronous=NORMAL survives a crash
	 * of the process (the contract: a 2xx means stored); FULL also
	 * survives power loss, at one fsync per batch. 32 MiB of page cache:
	 * the recent end of the indexes stays in memory.
	 */
	if (sq_exec(q, "PRAGMA cache_size=-32768; PRAGMA journal_mode=WAL;") ||
	    sq_exec(q, sync_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;") ||
	    sq_exec(q, schema_sql) ||
	    prepare(q,
		    "INSERT OR IGNORE INTO events (id, anomaly_id, received_ms, resolved,"
		    " severity, service, node, metric, value, score, threshold, starts_ms,"
		    " observed_ms, ends_ms, labels, deps, raw)"
		    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		    &q->insert_event) ||
	    prepare(q,
		    "INSERT INTO edges (caller, callee, endpoint, requests, last_seen_ms)"
		    " VALUES (?,?,?,?,?) ON CONFLICT (caller, callee, endpoint) DO UPDATE"
		    " SET requests = requests + excluded.requests,"
		    " last_seen_ms = excluded.last_seen_ms",
		    &q->upsert_edge) ||
	    prepare(q, "SELECT raw FROM events WHERE starts_ms = ? AND anomaly_id = ? ORDER BY seq",
		    &q->events_of_anomaly)) {
		snprintf(err, errlen, "store %s: %s", path, sqlite3_errmsg(q->db));
		goto fail;
	}
	return q;
fail:
	sq_close(q);
	return NULL;
}

static const char *sq_errmsg(void *impl)
{
	return sqlite3_errmsg(((struct sq *)impl)->db);
}

int sq_begin(void *impl)
{
	return sq_exec(impl, "BEGIN IMMEDIATE");
}

int sq_commit(void *impl)
{
	return sq_exec(impl, "COMMIT");
}

void sq_rollback(void *impl)
{
	sq_exec(impl, "ROLLBACK");
}

/* ------------------------------------------------------ events, edges */

/* Runs a statement prepared once: rows changed, or -1. */
static int reuse(struct sq *q, sqlite3_stmt *s, const char *fmt, ...)
{
	va_list ap;
	int rc = -1;

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	va_start(ap, fmt);
	if (!bind_all(s, fmt, ap) && sqlite3_step(s) == SQLITE_DONE)
		rc = sqlite3_changes(q->db);
	va_end(ap);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

static int sq_insert_event(void *impl, const struct corr_event *ev, int64_t received_ms,
			   int *inserted)
{
	struct sq *q = impl;
	char *labels = corr_store_labels_text(ev), *deps = corr_store_deps_text(ev);
	/* The event as received (its compact text from the parser). */
	const char *raw = ev->raw;
	int n = -1;

	if (labels && deps && raw)
		n = reuse(q, q->insert_event, "ssIiisssdddIIIsss", ev->id, ev->anomaly_id,
			  received_ms, (int)ev->resolved, (int)ev->severity, ev->service, ev->node,
			  ev->metric, ev->value, ev->score, ev->threshold, ev->starts_at_ms,
			  ev->observed_at_ms, ev->ends_at_ms, labels, deps, raw);
	if (n < 0)
		log_error("store: inserting event %s: %s", ev->id, sqlite3_errmsg(q->db));
	else
		*inserted = n > 0;
	free(labels);
	free(deps);
	return n < 0 ? -1 : 0;
}

static int sq_upsert_edge(void *impl, const struct corr_edge *e, int64_t now_ms)
{
	struct sq *q = impl;

	if (reuse(q, q->upsert_edge, "sssII", e->caller, e->callee, e->endpoint ? e->endpoint : "",
		  (int64_t)e->requests, now_ms) < 0) {
		log_error("store: edge %s -> %s: %s", e->caller, e->callee, sqlite3_errmsg(q->db));
		return -1;
	}
	return 0;
}

static int sq_each_event(void *impl, corr_store_event_cb cb, void *arg)
{
	struct sq *q = impl;
	sqlite3_stmt *s =
		sq_stmt(q,
			"SELECT id, anomaly_id, resolved, severity, service, node, metric,"
			" value, score, threshold, starts_ms, observed_ms, ends_ms, labels,"
			" deps FROM events ORDER BY seq",
			NULL);
	int rc = 0, step;

	if (!s)
		return -1;
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct corr_event ev = {
			.id = strdup(sq_text(s, 0)),
			.anomaly_id = strdup(sq_text(s, 1)),
			.resolved = sqlite3_column_int(s, 2),
			.severity = sqlite3_column_int(s, 3) ? CORR_SEV_CRITICAL : CORR_SEV_WARNING,
			.service = strdup(sq_text(s, 4)),
			.node = strdup(sq_text(s, 5)),
			.metric = strdup(sq_text(s, 6)),
			.value = sqlite3_column_double(s, 7),
			.score = sqlite3_column_double(s, 8),
			.threshold = sqlite3_column_double(s, 9),
			.starts_at_ms = sqlite3_column_int64(s, 10),
			.observed_at_ms = sqlite3_column_int64(s, 11),
			.ends_at_ms = sqlite3_column_int64(s, 12),
		};
		if (!ev.id || !ev.anomaly_id || !ev.service || !ev.node || !ev.metric ||
		    corr_store_event_parse(&ev, sq_text(s, 13), sq_text(s, 14))) {
			log_error("store: unreadable stored event %s", ev.id ? ev.id : "?");
			rc = -1;
		} else {
			rc = cb(&ev, arg);
		}
		corr_event_free(&ev);
	}
	if (!rc && step != SQLITE_DONE) {
		log_error("store: reading events: %s", sqlite3_errmsg(q->db));
		rc = -1;
	}
	sqlite3_finalize(s);
	return rc;
}

static int sq_each_edge(void *impl, corr_store_edge_cb cb, void *arg)
{
	sqlite3_stmt *s =
		sq_stmt(impl, "SELECT caller, callee, endpoint, requests FROM edges", NULL);
	int rc = 0, step;

	if (!s)
		return -1;
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct corr_edge e = {
			.caller = (char *)sq_text(s, 0),
			.callee = (char *)sq_text(s, 1),
			.endpoint = (char *)sq_text(s, 2),
			.requests = (uint64_t)sqlite3_column_int64(s, 3),
		};
		rc = cb(&e, arg);
	}
	if (!rc && step != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(s);
	return rc;
}

static int sq_events_of_anomaly(void *impl, const char *anomaly_id, int64_t starts_ms, json_t *arr)
{
	struct sq *q = impl;
	sqlite3_stmt *s = q->events_of_anomaly;
	int step;

	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, starts_ms);
	sqlite3_bind_text(s, 2, anomaly_id, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *j = json_loads(sq_text(s, 0), 0, NULL);
		if (j)
			json_array_append_new(arr, j);
	}
	sqlite3_reset(s);
	return step == SQLITE_DONE ? 0 : -1;
}

static int64_t sq_count_events(void *impl)
{
	sqlite3_stmt *s = sq_stmt(impl, "SELECT COUNT(*) FROM events", NULL);
	int64_t n = -1;

	if (s && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static int64_t sq_prune(void *impl, int64_t before_ms)
{
	/*
	 * Rows arrive in seq order, so the old ones are a prefix: find where it
	 * ends (reading only the rows that go) and delete by seq, not by a scan
	 * of the whole table. Run every minute, this keeps the cost per event.
	 */
	return sq_done(impl,
		       sq_stmt(impl,
			       "DELETE FROM events WHERE seq < coalesce((SELECT seq FROM events"
			       " WHERE received_ms >= ?1 ORDER BY seq LIMIT 1),"
			       " (SELECT max(seq) + 1 FROM events WHERE received_ms < ?1), 0)",
			       "I", before_ms));
}

/* ---------------------------------------------------------- silences */

static int sq_put_silence(void *impl, const char *id, const char *json_text)
{
	return sq_done(impl,
		       sq_stmt(impl, "INSERT OR REPLACE INTO silences (id, body) VALUES (?, ?)",
			       "ss", id, json_text)) < 0
		       ? -1
		       : 0;
}

static int sq_delete_silence(void *impl, const char *id)
{
	return sq_done(impl, sq_stmt(impl, "DELETE FROM silences WHERE id = ?", "s", id)) < 0 ? -1
											      : 0;
}

static int sq_each_silence(void *impl, corr_store_silence_cb cb, void *arg)
{
	sqlite3_stmt *s = sq_stmt(impl, "SELECT id, body FROM silences", NULL);
	int rc = 0;

	if (!s)
		return -1;
	while (!rc && sqlite3_step(s) == SQLITE_ROW)
		rc = cb(sq_text(s, 0), sq_text(s, 1), arg);
	sqlite3_finalize(s);
	return rc;
}

const struct corr_store_ops corr_store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.errmsg = sq_errmsg,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.insert_event = sq_insert_event,
	.upsert_edge = sq_upsert_edge,
	.each_event = sq_each_event,
	.each_edge = sq_each_edge,
	.events_of_anomaly = sq_events_of_anomaly,
	.count_events = sq_count_events,
	.prune = sq_prune,
	.put_silence = sq_put_silence,
	.delete_silence = sq_delete_silence,
	.each_silence = sq_each_silence,
	.nflog_get = sq_nflog_get,
	.nflog_put = sq_nflog_put,
	.nflog_prune = sq_nflog_prune,
	.pending_add = sq_pending_add,
	.pending_acked = sq_pending_acked,
	.pending_delete = sq_pending_delete,
	.each_pending = sq_each_pending,
	.pending_latest = sq_pending_latest,
};
