/*
 * The PostgreSQL backend of the store (store_backend.h), for two or more
 * correlators sharing one database (docs/correlator.md, "High
 * availability").
 * Long file: the schema, the ops table and the queries the engine runs;
 * delivery and HA queries are in store_pg_delivery.c and store_pg_ha.c.
 * Same tables as the SQLite store, plus:
 *
 * - One sequence numbers every write that replicas must replay (events,
 *   edges, silences, posted alerts). Writers take an exclusive
 *   transaction-level advisory lock (PG_INGEST_LOCK) before they draw a
 *   number and hold it until commit; readers take it shared. So numbers
 *   become visible in order, and a replica that follows "everything after
 *   N" never skips a row committed late with a smaller number.
 * - The dispatch leader holds a session-level advisory lock
 *   (PG_LEADER_LOCK) on its own connection. PostgreSQL drops it when that
 *   session ends (process killed, connection lost), and another replica
 *   takes it.
 * - replicas: one heartbeat row per correlator, for /api/v2/status;
 *   nodes: when any replica last heard from each agent (stale_after).
 *
 * This file: the connection, the schema, events, edges and silences;
 * store_pg_delivery.c and store_pg_ha.c hold the rest.
 */
#include "store_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char schema_sql[] =
	"CREATE SEQUENCE IF NOT EXISTS seismo_seq;"
	"CREATE TABLE IF NOT EXISTS events ("
	" seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, anomaly_id TEXT NOT NULL,"
	" received_ms BIGINT NOT NULL, resolved INTEGER NOT NULL,"
	" severity INTEGER NOT NULL, service TEXT NOT NULL, node TEXT NOT NULL,"
	" metric TEXT NOT NULL, value DOUBLE PRECISION, score DOUBLE PRECISION,"
	" threshold DOUBLE PRECISION, starts_ms BIGINT, observed_ms BIGINT, ends_ms BIGINT,"
	" labels TEXT NOT NULL, deps TEXT NOT NULL, raw TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS events_anomaly ON events(anomaly_id);"
	"CREATE INDEX IF NOT EXISTS events_received ON events(received_ms);"
	"CREATE TABLE IF NOT EXISTS edges ("
	" caller TEXT NOT NULL, callee TEXT NOT NULL, endpoint TEXT NOT NULL,"
	" requests BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL, seq BIGINT NOT NULL,"
	" PRIMARY KEY (caller, callee, endpoint));"
	"CREATE INDEX IF NOT EXISTS edges_seq ON edges(seq);"
	"CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT NOT NULL,"
	" seq BIGINT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS silences_seq ON silences(seq);"
	"CREATE TABLE IF NOT EXISTS posted_alerts (seq BIGINT PRIMARY KEY, body TEXT NOT NULL,"
	" received_ms BIGINT NOT NULL, until_ms BIGINT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS posted_alerts_until ON posted_alerts(until_ms);"
	"CREATE TABLE IF NOT EXISTS nflog (key TEXT PRIMARY KEY, firing TEXT NOT NULL,"
	" resolved TEXT NOT NULL, ts_ms BIGINT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS pending (id BIGSERIAL PRIMARY KEY, receiver TEXT NOT NULL,"
	" integ_index INTEGER NOT NULL, group_key TEXT NOT NULL, nflog_key TEXT NOT NULL,"
	" firing TEXT NOT NULL, resolved TEXT NOT NULL, body TEXT NOT NULL,"
	" created_ms BIGINT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS pending_nflog ON pending(nflog_key);"
	"CREATE TABLE IF NOT EXISTS replicas (name TEXT PRIMARY KEY, address TEXT NOT NULL,"
	" leader BOOLEAN NOT NULL, seen_ms BIGINT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS nodes (name TEXT PRIMARY KEY, seen_ms BIGINT NOT NULL);";

int corr_store_is_url(const char *path)
{
	return !strncmp(path, "postgres://", 11) || !strncmp(path, "postgresql://", 13);
}

const char *corr_store_display(const char *path, char *buf, size_t len)
{
	const char *scheme = strstr(path, "://"), *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;

	if (!corr_store_is_url(path) || !colon)
		return path;
	snprintf(buf, len, "%.*s:***%s", (int)(colon - path), path, at);
	return buf;
}

const char *pg_i64(char *buf, int64_t v)
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

/* --------------------------------------------------- running statements */

/* The connection, usable: reset when it broke (a reset session holds no lock). */
static int ensure_conn(struct pg_store *s)
{
	if (PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	s->leader = 0;
	s->in_tx = 0;
	s->n_prepared = 0;
	PQreset(s->conn);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		snprintf(s->err, sizeof(s->err), "%s", PQerrorMessage(s->conn));
		return -1;
	}
	log_info("store: reconnected to PostgreSQL");
	return 0;
}

/* Names sql's prepared statement on this session, preparing it the first
 * time: 1, or 0 when it cannot be (then it runs unprepared). */
static int prepared(struct pg_store *s, const char *sql, int n, char *name, size_t len)
{
	snprintf(name, len, "q%p", (const void *)sql);
	for (int i = 0; i < s->n_prepared; i++)
		if (s->prepared[i] == sql)
			return 1;
	if (s->n_prepared == PG_MAX_PREPARED)
		return 0;
	PGresult *r = PQprepare(s->conn, name, sql, n, NULL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (ok)
		s->prepared[s->n_prepared++] = sql;
	return ok;
}

PGresult *pg_run(struct pg_store *s, const char *sql, int n, const char *const *params)
{
	char name[32];
	PGresult *r;

	if (!s->in_tx && ensure_conn(s))
		return NULL;
	/* Without parameters: the simple protocol, which takes several statements. */
	if (!n)
		r = PQexec(s->conn, sql);
	else if (prepared(s, sql, n, name, sizeof(name)))
		r = PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
	else
		r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	snprintf(s->err, sizeof(s->err), "%s", PQresultErrorMessage(r));
	/* Newlines in libpq messages: keep the log one line. */
	for (char *p = s->err; *p; p++)
		if (*p == '\n')
			*p = ' ';
	log_error("store: %.60s...: %s", sql, s->err);
	PQclear(r);
	return NULL;
}

int pg_run_ok(struct pg_store *s, const char *sql, int n, const char *const *params)
{
	PGresult *r = pg_run(s, sql, n, params);

	PQclear(r);
	return r ? 0 : -1;
}

PGresult *pg_query(struct pg_store *s, const char *sql, int n, const char *const *params)
{
	pthread_mutex_lock(&s->lock);
	PGresult *r = pg_run(s, sql, n, params);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int pg_do(struct pg_store *s, const char *sql, int n, const char *const *params)
{
	PGresult *r = pg_query(s, sql, n, params);

	PQclear(r);
	return r ? 0 : -1;
}

/* ------------------------------------------------------ open and close */

static void *pg_open(const char *url, int sync_full, char *err, size_t errlen)
{
	struct pg_store *s = calloc(1, sizeof(*s));
	char key[24];
	const char *p[] = { pg_i64(key, PG_SCHEMA_LOCK) };

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->conn = PQconnectdb(url);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "PostgreSQL: %s", PQerrorMessage(s->conn));
		goto fail;
	}
	/* Quiet NOTICEs ("relation already exists, skipping"). */
	pg_run_ok(s, "SET client_min_messages = warning", 0, NULL);
	/* Durability is the server's (synchronous_commit): fsync is SQLite's knob. */
	(void)sync_full;
	/* Two replicas starting together must not race on CREATE ... IF NOT EXISTS. */
	if (pg_run_ok(s, "SELECT pg_advisory_lock($1::bigint)", 1, p) ||
	    pg_run_ok(s, schema_sql, 0, NULL) ||
	    pg_run_ok(s, "SELECT pg_advisory_unlock($1::bigint)", 1, p)) {
		snprintf(err, errlen, "PostgreSQL schema: %s", s->err);
		goto fail;
	}
	return s;
fail:
	PQfinish(s->conn);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

static void pg_close(void *impl)
{
	struct pg_store *s = impl;

	PQfinish(s->conn);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const char *pg_errmsg(void *impl)
{
	return ((struct pg_store *)impl)->err;
}

/* --------------------------------------------------------- transactions */

/* Ingest holds the lock across begin..commit: the engine calls them in one
 * thread, under its own lock. */
int pg_begin(void *impl)
{
	struct pg_store *s = impl;
	char key[24];
	const char *p[] = { pg_i64(key, PG_INGEST_LOCK) };

	pthread_mutex_lock(&s->lock);
	if (pg_run_ok(s, "BEGIN", 0, NULL)) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	s->in_tx = 1;
	if (pg_run_ok(s, "SELECT pg_advisory_xact_lock($1::bigint)", 1, p)) {
		pg_run_ok(s, "ROLLBACK", 0, NULL);
		s->in_tx = 0;
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	return 0;
}

int pg_commit(void *impl)
{
	struct pg_store *s = impl;
	int rc = pg_run_ok(s, "COMMIT", 0, NULL);

	/* A failed COMMIT ends the transaction too: the caller's rollback is a no-op. */
	s->in_tx = 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void pg_rollback(void *impl)
{
	struct pg_store *s = impl;

	/* After a failed commit the lock was released there. */
	if (!s->in_tx)
		return;
	pg_run_ok(s, "ROLLBACK", 0, NULL);
	s->in_tx = 0;
	pthread_mutex_unlock(&s->lock);
}

int pg_numbered(struct pg_store *s, const char *sql, int n, const char *const *params)
{
	if (pg_begin(s))
		return -1;
	if (pg_run_ok(s, sql, n, params)) {
		pg_rollback(s);
		return -1;
	}
	return pg_commit(s);
}

/* ------------------------------------------------------ events, edges */

static int pg_insert_event(void *impl, const struct corr_event *ev, int64_t received_ms,
			   int *inserted)
{
	char rcv[24], res[24], sev[24], val[32], score[32], thr[32], st[24], ob[24], en[24];
	char *labels = corr_store_labels_text(ev), *deps = corr_store_deps_text(ev);
	/* The event as received (its compact text from the parser). */
	const char *raw = ev->raw;
	int rc = -1;

	snprintf(val, sizeof(val), "%.17g", ev->value);
	snprintf(score, sizeof(score), "%.17g", ev->score);
	snprintf(thr, sizeof(thr), "%.17g", ev->threshold);
	const char *p[] = {
		ev->id,
		ev->anomaly_id,
		pg_i64(rcv, received_ms),
		pg_i64(res, ev->resolved),
		pg_i64(sev, ev->severity),
		ev->service,
		ev->node,
		ev->metric,
		val,
		score,
		thr,
		pg_i64(st, ev->starts_at_ms),
		pg_i64(ob, ev->observed_at_ms),
		pg_i64(en, ev->ends_at_ms),
		labels,
		deps,
		raw,
	};
	if (labels && deps && raw) {
		/* Under pg_begin's lock (ingest). */
		PGresult *r =
			pg_run(impl,
			       "INSERT INTO events (seq, id, anomaly_id, received_ms, resolved,"
			       " severity, service, node, metric, value, score, threshold,"
			       " starts_ms, observed_ms, ends_ms, labels, deps, raw)"
			       " VALUES (nextval('seismo_seq'), $1, $2, $3, $4, $5, $6, $7, $8,"
			       " $9, $10, $11, $12, $13, $14, $15, $16, $17)"
			       " ON CONFLICT (id) DO NOTHING",
			       17, p);
		if (r) {
			*inserted = atoi(PQcmdTuples(r)) > 0;
			rc = 0;
		}
		PQclear(r);
	}
	free(labels);
	free(deps);
	return rc;
}

static int pg_upsert_edge(void *impl, const struct corr_edge *e, int64_t now_ms)
{
	char req[24], now[24];
	const char *p[] = { e->caller, e->callee, e->endpoint ? e->endpoint : "",
			    pg_i64(req, (int64_t)e->requests), pg_i64(now, now_ms) };

	return pg_run_ok(impl,
			 "INSERT INTO edges (caller, callee, endpoint, requests, last_seen_ms, seq)"
			 " VALUES ($1, $2, $3, $4, $5, nextval('seismo_seq'))"
			 " ON CONFLICT (caller, callee, endpoint) DO UPDATE"
			 " SET requests = edges.requests + excluded.requests,"
			 " last_seen_ms = excluded.last_seen_ms, seq = excluded.seq",
			 5, p);
}

int pg_event_row(PGresult *r, int row, corr_store_event_cb cb, void *arg)
{
#define COL(c) PQgetvalue(r, row, c)
	struct corr_event ev = {
		.id = strdup(COL(1)),
		.anomaly_id = strdup(COL(2)),
		.resolved = atoi(COL(3)) != 0,
		.severity = atoi(COL(4)) ? CORR_SEV_CRITICAL : CORR_SEV_WARNING,
		.service = strdup(COL(5)),
		.node = strdup(COL(6)),
		.metric = strdup(COL(7)),
		.value = strtod(COL(8), NULL),
		.score = strtod(COL(9), NULL),
		.threshold = strtod(COL(10), NULL),
		.starts_at_ms = strtoll(COL(11), NULL, 10),
		.observed_at_ms = strtoll(COL(12), NULL, 10),
		.ends_at_ms = strtoll(COL(13), NULL, 10),
	};
	int rc;

	if (!ev.id || !ev.anomaly_id || !ev.service || !ev.node || !ev.metric ||
	    corr_store_event_parse(&ev, COL(14), COL(15))) {
		log_error("store: unreadable stored event %s", ev.id ? ev.id : "?");
		rc = -1;
	} else {
		rc = cb(&ev, arg);
	}
#undef COL
	corr_event_free(&ev);
	return rc;
}

static int pg_each_event(void *impl, corr_store_event_cb cb, void *arg)
{
	PGresult *r =
		pg_query(impl, "SELECT " PG_EVENT_COLUMNS " FROM events ORDER BY seq", 0, NULL);
	int rc = r ? 0 : -1;

	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = pg_event_row(r, i, cb, arg);
	PQclear(r);
	return rc;
}

int pg_edge_row(PGresult *r, int row, corr_store_edge_cb cb, void *arg)
{
	struct corr_edge e = {
		.caller = PQgetvalue(r, row, 1),
		.callee = PQgetvalue(r, row, 2),
		.endpoint = PQgetvalue(r, row, 3),
		.requests = strtoull(PQgetvalue(r, row, 4), NULL, 10),
	};
	return cb(&e, arg);
}

static int pg_each_edge(void *impl, corr_store_edge_cb cb, void *arg)
{
	PGresult *r = pg_query(impl, "SELECT seq, caller, callee, endpoint, requests FROM edges", 0,
			       NULL);
	int rc = r ? 0 : -1;

	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = pg_edge_row(r, i, cb, arg);
	PQclear(r);
	return rc;
}

static int pg_events_of_anomaly(void *impl, const char *anomaly_id, int64_t starts_ms, json_t *arr)
{
	const char *p[] = { anomaly_id };
	PGresult *r =
		pg_query(impl, "SELECT raw FROM events WHERE anomaly_id = $1 ORDER BY seq", 1, p);

	(void)starts_ms; /* the anomaly id is indexed here */
	for (int i = 0; r && i < PQntuples(r); i++) {
		json_t *j = json_loads(PQgetvalue(r, i, 0), 0, NULL);
		if (j)
			json_array_append_new(arr, j);
	}
	PQclear(r);
	return r ? 0 : -1;
}

/* One number: a one-row query's first column, or the rows changed; -1 on error. */
static int64_t scalar(struct pg_store *s, const char *sql, int n, const char *const *p)
{
	PGresult *r = pg_query(s, sql, n, p);
	int64_t v = -1;

	if (r && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else if (r && PQcmdTuples(r)[0])
		v = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return v;
}

static int64_t pg_count_events(void *impl)
{
	return scalar(impl, "SELECT COUNT(*) FROM events", 0, NULL);
}

static int64_t pg_prune(void *impl, int64_t before_ms)
{
	char b[24];
	const char *p[] = { pg_i64(b, before_ms) };

	return scalar(impl, "DELETE FROM events WHERE received_ms < $1", 1, p);
}

/* ---------------------------------------------------------- silences */

static int pg_put_silence(void *impl, const char *id, const char *json_text)
{
	const char *p[] = { id, json_text };

	/* Numbered like ingest, so followers see it in order. */
	return pg_numbered(impl,
			   "INSERT INTO silences (id, body, seq)"
			   " VALUES ($1, $2, nextval('seismo_seq')) ON CONFLICT (id)"
			   " DO UPDATE SET body = excluded.body, seq = excluded.seq",
			   2, p);
}

static int pg_delete_silence(void *impl, const char *id)
{
	const char *p[] = { id };

	return pg_do(impl, "DELETE FROM silences WHERE id = $1", 1, p);
}

static int pg_each_silence(void *impl, corr_store_silence_cb cb, void *arg)
{
	PGresult *r = pg_query(impl, "SELECT id, body FROM silences ORDER BY seq", 0, NULL);
	int rc = r ? 0 : -1;

	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = cb(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), arg);
	PQclear(r);
	return rc;
}

const struct corr_store_ops corr_store_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.insert_event = pg_insert_event,
	.upsert_edge = pg_upsert_edge,
	.each_event = pg_each_event,
	.each_edge = pg_each_edge,
	.events_of_anomaly = pg_events_of_anomaly,
	.count_events = pg_count_events,
	.prune = pg_prune,
	.put_silence = pg_put_silence,
	.delete_silence = pg_delete_silence,
	.each_silence = pg_each_silence,
	.nflog_get = pg_nflog_get,
	.nflog_put = pg_nflog_put,
	.nflog_prune = pg_nflog_prune,
	.pending_add = pg_pending_add,
	.pending_acked = pg_pending_acked,
	.pending_delete = pg_pending_delete,
	.each_pending = pg_each_pending,
	.pending_latest = pg_pending_latest,
	.follow = pg_follow,
	.lead = pg_lead,
	.heartbeat = pg_heartbeat,
	.each_replica = pg_each_replica,
	.node_seen = pg_node_seen,
	.each_node = pg_each_node,
	.post_alerts = pg_post_alerts,
};
