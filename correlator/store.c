#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "json_fast.h"
#include "log.h"
#include "store_backend.h"

struct corr_store {
	/* Set when a backend other than SQLite (store_backend.h) holds the data. */
	const struct corr_store_ops *ops;
	void *impl;
	sqlite3 *db;
	sqlite3_stmt *insert_event;
	sqlite3_stmt *upsert_edge;
	sqlite3_stmt *events_of_anomaly;
};

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

static int prepare(struct corr_store *st, const char *sql, sqlite3_stmt **stmt)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK) {
		log_error("store: cannot prepare '%s': %s", sql, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

struct corr_store *corr_store_open(const char *path, int sync_full, char *err,
				   size_t errlen)
{
	struct corr_store *st = calloc(1, sizeof(*st));
	char *msg = NULL;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (corr_store_is_url(path)) {
		st->ops = &corr_store_pg_ops;
		st->impl = st->ops->open(path, sync_full, err, errlen);
		if (!st->impl) {
			free(st);
			return NULL;
		}
		return st;
	}
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	/*
	 * WAL: readers never block ingest. synchronous=NORMAL survives a crash
	 * of the process (the contract: a 2xx means stored); FULL also
	 * survives power loss, at one fsync per batch.
	 */
	const char *pragmas = sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
					: "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
	/* 32 MiB of page cache: the recent end of the indexes stays in memory. */
	if (sqlite3_exec(st->db, "PRAGMA cache_size=-32768;", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", path, msg ? msg : "cache_size failed");
		sqlite3_free(msg);
		goto fail;
	}
	if (sqlite3_exec(st->db, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", path, msg ? msg : "schema failed");
		sqlite3_free(msg);
		goto fail;
	}
	if (prepare(st,
		    "INSERT OR IGNORE INTO events (id, anomaly_id, received_ms, resolved,"
		    " severity, service, node, metric, value, score, threshold, starts_ms,"
		    " observed_ms, ends_ms, labels, deps, raw)"
		    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		    &st->insert_event) ||
	    prepare(st,
		    "INSERT INTO edges (caller, callee, endpoint, requests, last_seen_ms)"
		    " VALUES (?,?,?,?,?) ON CONFLICT (caller, callee, endpoint) DO UPDATE"
		    " SET requests = requests + excluded.requests,"
		    " last_seen_ms = excluded.last_seen_ms",
		    &st->upsert_edge) ||
	    prepare(st, "SELECT raw FROM events WHERE starts_ms = ? AND anomaly_id = ? ORDER BY seq",
		    &st->events_of_anomaly)) {
		snprintf(err, errlen, "store %s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	return st;
fail:
	corr_store_close(st);
	return NULL;
}

void corr_store_close(struct corr_store *st)
{
	if (!st)
		return;
	if (st->ops)
		st->ops->close(st->impl);
	sqlite3_finalize(st->insert_event);
	sqlite3_finalize(st->upsert_edge);
	sqlite3_finalize(st->events_of_anomaly);
	sqlite3_close(st->db);
	free(st);
}

const char *corr_store_errmsg(struct corr_store *st)
{
	if (st->ops)
		return st->ops->errmsg(st->impl);
	return sqlite3_errmsg(st->db);
}

static int exec(struct corr_store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store: %s: %s", sql, msg ? msg : "failed");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int corr_store_begin(struct corr_store *st)
{
	if (st->ops)
		return st->ops->begin(st->impl);
	return exec(st, "BEGIN IMMEDIATE");
}

int corr_store_commit(struct corr_store *st)
{
	if (st->ops)
		return st->ops->commit(st->impl);
	return exec(st, "COMMIT");
}

void corr_store_rollback(struct corr_store *st)
{
	if (st->ops) {
		st->ops->rollback(st->impl);
		return;
	}
	exec(st, "ROLLBACK");
}

int corr_store_insert_event(struct corr_store *st, const struct corr_event *ev,
			    int64_t received_ms, int *inserted)
{
	sqlite3_stmt *s = st->insert_event;
	/* Labels and dependencies written straight to text, the event as received. */
	struct jf_buf labels = { 0 }, deps = { 0 };
	int rc = -1;

	if (st->ops)
		return st->ops->insert_event(st->impl, ev, received_ms, inserted);
	corr_labels_put_json(&ev->labels, &labels);
	corr_event_put_deps_json(ev, &deps);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	sqlite3_bind_text(s, 1, ev->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ev->anomaly_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, received_ms);
	sqlite3_bind_int(s, 4, ev->resolved);
	sqlite3_bind_int(s, 5, ev->severity);
	sqlite3_bind_text(s, 6, ev->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, ev->node, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, ev->metric, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 9, ev->value);
	sqlite3_bind_double(s, 10, ev->score);
	sqlite3_bind_double(s, 11, ev->threshold);
	sqlite3_bind_int64(s, 12, ev->starts_at_ms);
	sqlite3_bind_int64(s, 13, ev->observed_at_ms);
	sqlite3_bind_int64(s, 14, ev->ends_at_ms);
	if (!jf_buf_text(&labels) || !jf_buf_text(&deps) || !ev->raw ||
	    sqlite3_bind_text(s, 15, labels.p, (int)labels.len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 16, deps.p, (int)deps.len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 17, ev->raw, (int)ev->raw_len, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE) {
		log_error("store: inserting event %s: %s", ev->id, sqlite3_errmsg(st->db));
		goto out;
	}
	*inserted = sqlite3_changes(st->db) > 0;
	rc = 0;
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	jf_buf_free(&labels);
	jf_buf_free(&deps);
	return rc;
}

int corr_store_upsert_edge(struct corr_store *st, const struct corr_edge *e,
			   int64_t now_ms)
{
	sqlite3_stmt *s = st->upsert_edge;
	int rc = 0;

	if (st->ops)
		return st->ops->upsert_edge(st->impl, e, now_ms);
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, e->caller, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, e->callee, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, e->endpoint ? e->endpoint : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)e->requests);
	sqlite3_bind_int64(s, 5, now_ms);
	if (sqlite3_step(s) != SQLITE_DONE) {
		log_error("store: edge %s -> %s: %s", e->caller, e->callee,
			  sqlite3_errmsg(st->db));
		rc = -1;
	}
	sqlite3_reset(s);
	return rc;
}

static char *column_strdup(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return strdup(t ? (const char *)t : "");
}

static int row_to_event(sqlite3_stmt *s, struct corr_event *ev)
{
	json_error_t jerr;

	memset(ev, 0, sizeof(*ev));
	ev->id = column_strdup(s, 0);
	ev->anomaly_id = column_strdup(s, 1);
	ev->resolved = sqlite3_column_int(s, 2);
	ev->severity = sqlite3_column_int(s, 3) ? CORR_SEV_CRITICAL : CORR_SEV_WARNING;
	ev->service = column_strdup(s, 4);
	ev->node = column_strdup(s, 5);
	ev->metric = column_strdup(s, 6);
	ev->value = sqlite3_column_double(s, 7);
	ev->score = sqlite3_column_double(s, 8);
	ev->threshold = sqlite3_column_double(s, 9);
	ev->starts_at_ms = sqlite3_column_int64(s, 10);
	ev->observed_at_ms = sqlite3_column_int64(s, 11);
	ev->ends_at_ms = sqlite3_column_int64(s, 12);
	json_t *labels = json_loads((const char *)sqlite3_column_text(s, 13), 0, &jerr);
	json_t *deps = json_loads((const char *)sqlite3_column_text(s, 14), 0, &jerr);
	char err[128];
	int rc = 0;
	if (!ev->id || !ev->anomaly_id || !ev->service || !ev->node || !ev->metric ||
	    !labels || !deps || corr_labels_from_json(&ev->labels, labels, "labels", err, sizeof(err)))
		rc = -1;
	if (!rc && json_is_array(deps)) {
		size_t i;
		json_t *d;
		ev->deps = calloc(json_array_size(deps) + 1, sizeof(*ev->deps));
		if (!ev->deps)
			rc = -1;
		json_array_foreach(deps, i, d) {
			if (rc)
				break;
			json_t *svc = json_object_get(d, "service");
			ev->deps[i].service = json_is_string(svc) ? strdup(json_string_value(svc)) : NULL;
			ev->deps[i].anomalous = json_is_true(json_object_get(d, "anomalous"));
			ev->n_deps++;
		}
	}
	json_decref(labels);
	json_decref(deps);
	return rc;
}

int corr_store_each_event(struct corr_store *st, corr_store_event_cb cb, void *arg)
{
	sqlite3_stmt *s;
	int rc = 0, step;

	if (st->ops)
		return st->ops->each_event(st->impl, cb, arg);
	if (prepare(st,
		    "SELECT id, anomaly_id, resolved, severity, service, node, metric,"
		    " value, score, threshold, starts_ms, observed_ms, ends_ms, labels, deps"
		    " FROM events ORDER BY seq",
		    &s))
		return -1;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct corr_event ev;
		if (row_to_event(s, &ev)) {
			log_error("store: unreadable stored event %s", ev.id ? ev.id : "?");
			corr_event_free(&ev);
			rc = -1;
			break;
		}
		rc = cb(&ev, arg);
		corr_event_free(&ev);
		if (rc)
			break;
	}
	if (!rc && step != SQLITE_DONE) {
		log_error("store: reading events: %s", sqlite3_errmsg(st->db));
		rc = -1;
	}
	sqlite3_finalize(s);
	return rc;
}

int corr_store_each_edge(struct corr_store *st, corr_store_edge_cb cb, void *arg)
{
	sqlite3_stmt *s;
	int rc = 0, step;

	if (st->ops)
		return st->ops->each_edge(st->impl, cb, arg);
	if (prepare(st, "SELECT caller, callee, endpoint, requests FROM edges", &s))
		return -1;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct corr_edge e = {
			.caller = (char *)sqlite3_column_text(s, 0),
			.callee = (char *)sqlite3_column_text(s, 1),
			.endpoint = (char *)sqlite3_column_text(s, 2),
			.requests = (uint64_t)sqlite3_column_int64(s, 3),
		};
		rc = cb(&e, arg);
		if (rc)
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(s);
	return rc;
}

int corr_store_events_of_anomaly(struct corr_store *st, const char *anomaly_id,
				 int64_t starts_ms, json_t *arr)
{
	sqlite3_stmt *s = st->events_of_anomaly;
	int step, rc = 0;

	if (st->ops)
		return st->ops->events_of_anomaly(st->impl, anomaly_id, arr);
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, starts_ms);
	sqlite3_bind_text(s, 2, anomaly_id, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		json_error_t jerr;
		json_t *j = json_loads((const char *)sqlite3_column_text(s, 0), 0, &jerr);
		if (j)
			json_array_append_new(arr, j);
	}
	if (step != SQLITE_DONE)
		rc = -1;
	sqlite3_reset(s);
	return rc;
}

int64_t corr_store_count_events(struct corr_store *st)
{
	sqlite3_stmt *s;
	int64_t n = -1;

	if (st->ops)
		return st->ops->count_events(st->impl);
	if (prepare(st, "SELECT COUNT(*) FROM events", &s))
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

int64_t corr_store_prune(struct corr_store *st, int64_t before_ms)
{
	sqlite3_stmt *s;
	int64_t n = -1;

	if (st->ops)
		return st->ops->prune(st->impl, before_ms);
	/*
	 * Rows arrive in seq order, so the old ones are a prefix: find where it
	 * ends (reading only the rows that go) and delete by seq, not by a scan
	 * of the whole table. Run every minute, this keeps the cost per event.
	 */
	if (prepare(st, "DELETE FROM events WHERE seq < coalesce((SELECT seq FROM events"
			" WHERE received_ms >= ?1 ORDER BY seq LIMIT 1),"
			" (SELECT max(seq) + 1 FROM events WHERE received_ms < ?1), 0)", &s))
		return -1;
	sqlite3_bind_int64(s, 1, before_ms);
	if (sqlite3_step(s) == SQLITE_DONE)
		n = sqlite3_changes(st->db);
	else
		log_error("store: pruning events: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return n;
}

int corr_store_put_silence(struct corr_store *st, const char *id, const char *json_text)
{
	sqlite3_stmt *s;
	int rc = 0;

	if (st->ops)
		return st->ops->put_silence(st->impl, id, json_text);
	if (prepare(st, "INSERT OR REPLACE INTO silences (id, body) VALUES (?, ?)", &s))
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, json_text, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		log_error("store: silence %s: %s", id, sqlite3_errmsg(st->db));
		rc = -1;
	}
	sqlite3_finalize(s);
	return rc;
}

int corr_store_delete_silence(struct corr_store *st, const char *id)
{
	sqlite3_stmt *s;
	int rc = 0;

	if (st->ops)
		return st->ops->delete_silence(st->impl, id);
	if (prepare(st, "DELETE FROM silences WHERE id = ?", &s))
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(s);
	return rc;
}

int corr_store_each_silence(struct corr_store *st, corr_store_silence_cb cb, void *arg)
{
	sqlite3_stmt *s;
	int rc = 0;

	if (st->ops)
		return st->ops->each_silence(st->impl, cb, arg);
	if (prepare(st, "SELECT id, body FROM silences", &s))
		return -1;
	while (sqlite3_step(s) == SQLITE_ROW) {
		rc = cb((const char *)sqlite3_column_text(s, 0),
			(const char *)sqlite3_column_text(s, 1), arg);
		if (rc)
			break;
	}
	sqlite3_finalize(s);
	return rc;
}

/* Fingerprints as comma-separated hex: small, readable in sqlite3. */
static char *fps_text(const uint64_t *fps, size_t n)
{
	char *buf = malloc(n * 17 + 1);

	if (!buf)
		return NULL;
	buf[0] = 0;
	for (size_t i = 0, off = 0; i < n; i++)
		off += (size_t)sprintf(buf + off, "%s%016llx", i ? "," : "", (unsigned long long)fps[i]);
	return buf;
}

static int fps_parse(const char *text, uint64_t **out, size_t *n)
{
	size_t cap = 1;

	for (const char *p = text; *p; p++)
		cap += *p == ',';
	*out = calloc(cap + 1, sizeof(**out));
	*n = 0;
	if (!*out)
		return -1;
	for (const char *p = text; *p;) {
		char *end;
		(*out)[(*n)++] = strtoull(p, &end, 16);
		if (end == p)
			return -1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

int corr_store_nflog_get(struct corr_store *st, const char *key, uint64_t **firing,
			 size_t *n_firing, uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	sqlite3_stmt *s;
	int rc = 1;

	if (st->ops)
		return st->ops->nflog_get(st->impl, key, firing, n_firing, resolved, n_resolved,
					  ts_ms);
	*firing = *resolved = NULL;
	if (prepare(st, "SELECT firing, resolved, ts_ms FROM nflog WHERE key = ?", &s))
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		rc = fps_parse((const char *)sqlite3_column_text(s, 0), firing, n_firing) ||
		     fps_parse((const char *)sqlite3_column_text(s, 1), resolved, n_resolved) ? -1 : 0;
		*ts_ms = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	if (rc) {
		free(*firing);
		free(*resolved);
		*firing = *resolved = NULL;
	}
	return rc;
}

int corr_store_nflog_put(struct corr_store *st, const char *key, const uint64_t *firing,
			 size_t n_firing, const uint64_t *resolved, size_t n_resolved, int64_t ts_ms)
{
	if (st->ops)
		return st->ops->nflog_put(st->impl, key, firing, n_firing, resolved, n_resolved,
					  ts_ms);
	sqlite3_stmt *s;
	char *f = fps_text(firing, n_firing), *r = fps_text(resolved, n_resolved);
	int rc = -1;

	if (f && r && !prepare(st, "INSERT OR REPLACE INTO nflog (key, firing, resolved, ts_ms)"
				   " VALUES (?, ?, ?, ?)", &s)) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, f, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, r, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, ts_ms);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
		if (rc)
			log_error("store: notification log %s: %s", key, sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
	}
	free(f);
	free(r);
	return rc;
}

int corr_store_nflog_prune(struct corr_store *st, int64_t before_ms)
{
	sqlite3_stmt *s;
	int rc;

	if (st->ops)
		return st->ops->nflog_prune(st->impl, before_ms);
	if (prepare(st, "DELETE FROM nflog WHERE ts_ms < ?", &s))
		return -1;
	sqlite3_bind_int64(s, 1, before_ms);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(s);
	return rc;
}

/* ------------------------------------------------ pending notifications */

int64_t corr_store_pending_add(struct corr_store *st, const struct corr_pending *p)
{
	if (st->ops)
		return st->ops->pending_add(st->impl, p);
	sqlite3_stmt *s;
	char *f = fps_text(p->firing, p->n_firing), *r = fps_text(p->resolved, p->n_resolved);
	int64_t id = -1;

	if (f && r && !prepare(st, "INSERT INTO pending (receiver, integ_index, group_key,"
				   " nflog_key, firing, resolved, body, created_ms)"
				   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &s)) {
		sqlite3_bind_text(s, 1, p->receiver, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)p->integ_index);
		sqlite3_bind_text(s, 3, p->group_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, p->nflog_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, f, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, r, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, p->body, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 8, p->created_ms);
		if (sqlite3_step(s) == SQLITE_DONE)
			id = sqlite3_last_insert_rowid(st->db);
		else
			log_error("store: pending notification: %s", sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
	}
	free(f);
	free(r);
	return id;
}

int corr_store_pending_delete(struct corr_store *st, int64_t id)
{
	if (st->ops)
		return st->ops->pending_delete(st->impl, id);
	sqlite3_stmt *s;
	int rc;

	if (prepare(st, "DELETE FROM pending WHERE id = ?", &s))
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(s);
	return rc;
}

int corr_store_pending_acked(struct corr_store *st, const struct corr_pending *p,
			     int64_t acked_ms)
{
	if (st->ops)
		return st->ops->pending_acked(st->impl, p, acked_ms);
	if (corr_store_begin(st))
		return -1;
	if ((p->id > 0 && corr_store_pending_delete(st, p->id)) ||
	    corr_store_nflog_put(st, p->nflog_key, p->firing, p->n_firing, p->resolved,
				 p->n_resolved, acked_ms) ||
	    corr_store_commit(st)) {
		corr_store_rollback(st);
		return -1;
	}
	return 0;
}

int corr_store_each_pending(struct corr_store *st, corr_store_pending_cb cb, void *arg)
{
	if (st->ops)
		return st->ops->each_pending(st->impl, cb, arg);
	sqlite3_stmt *s;
	int rc = 0;

	if (prepare(st, "SELECT id, receiver, integ_index, group_key, nflog_key, firing,"
			" resolved, body, created_ms FROM pending ORDER BY id", &s))
		return -1;
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		uint64_t *f = NULL, *r = NULL;
		struct corr_pending p = {
			.id = sqlite3_column_int64(s, 0),
			.receiver = (const char *)sqlite3_column_text(s, 1),
			.integ_index = (size_t)sqlite3_column_int64(s, 2),
			.group_key = (const char *)sqlite3_column_text(s, 3),
			.nflog_key = (const char *)sqlite3_column_text(s, 4),
			.body = (const char *)sqlite3_column_text(s, 7),
			.created_ms = sqlite3_column_int64(s, 8),
		};
		if (fps_parse((const char *)sqlite3_column_text(s, 5), &f, &p.n_firing) ||
		    fps_parse((const char *)sqlite3_column_text(s, 6), &r, &p.n_resolved)) {
			log_warn("store: pending notification %lld unreadable, skipped",
				 (long long)p.id);
		} else {
			p.firing = f;
			p.resolved = r;
			rc = cb(&p, arg);
		}
		free(f);
		free(r);
	}
	sqlite3_finalize(s);
	return rc;
}

int corr_store_pending_latest(struct corr_store *st, const char *nflog_key, uint64_t **firing,
			      size_t *n_firing, uint64_t **resolved, size_t *n_resolved,
			      int64_t *ts_ms)
{
	if (st->ops)
		return st->ops->pending_latest(st->impl, nflog_key, firing, n_firing, resolved,
					       n_resolved, ts_ms);
	sqlite3_stmt *s;
	int rc = 1;

	*firing = *resolved = NULL;
	if (prepare(st, "SELECT firing, resolved, created_ms FROM pending WHERE nflog_key = ?"
			" ORDER BY id DESC LIMIT 1", &s))
		return -1;
	sqlite3_bind_text(s, 1, nflog_key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		rc = fps_parse((const char *)sqlite3_column_text(s, 0), firing, n_firing) ||
		     fps_parse((const char *)sqlite3_column_text(s, 1), resolved, n_resolved) ? -1 : 0;
		*ts_ms = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	if (rc) {
		free(*firing);
		free(*resolved);
		*firing = *resolved = NULL;
	}
	return rc;
}

/* ------------------------------------------- shared stores (HA) */

int corr_store_shared(struct corr_store *st)
{
	return st->ops && st->ops->follow;
}

int corr_store_follow(struct corr_store *st, int64_t *cursor, corr_store_edge_cb edge,
		      corr_store_event_cb event, corr_store_silence_cb silence, void *arg)
{
	return corr_store_shared(st) ? st->ops->follow(st->impl, cursor, edge, event, silence, arg)
				     : -1;
}

int corr_store_lead(struct corr_store *st, int *leader)
{
	*leader = 1; /* an embedded store has one correlator: it leads */
	return corr_store_shared(st) ? st->ops->lead(st->impl, leader) : 0;
}

int corr_store_heartbeat(struct corr_store *st, const char *name, const char *address,
			 int leader, int64_t now_ms)
{
	return corr_store_shared(st) ? st->ops->heartbeat(st->impl, name, address, leader, now_ms)
				     : 0;
}

int corr_store_each_replica(struct corr_store *st, int64_t seen_since_ms,
			    corr_store_replica_cb cb, void *arg)
{
	return corr_store_shared(st) ? st->ops->each_replica(st->impl, seen_since_ms, cb, arg) : 0;
}
