/*
 * The PostgreSQL backend of the store (store_backend.h), for two or more
 * correlators sharing one database (docs/correlator.md, "High
 * availability"). Same tables as the SQLite store, plus:
 *
 * - One sequence numbers every write that replicas must replay (events,
 *   edges, silences). Writers take an exclusive transaction-level advisory
 *   lock (INGEST_LOCK) before they draw a number and hold it until commit;
 *   readers take it shared. So numbers become visible in order, and a
 *   replica that follows "everything after N" never skips a row committed
 *   late with a smaller number.
 * - The dispatch leader holds a session-level advisory lock (LEADER_LOCK)
 *   on its own connection. PostgreSQL drops it when that session ends
 *   (process killed, connection lost), and another replica takes it.
 * - replicas: one heartbeat row per correlator, for /api/v2/status.
 *
 * One connection per store handle, used by one caller at a time (a mutex);
 * a broken connection is reset before the next statement.
 */
#include "store_backend.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"

/* Advisory lock keys: "seismo" in the high bits, then the purpose. */
#define SCHEMA_LOCK 0x736569736d6f0001LL
#define INGEST_LOCK 0x736569736d6f0002LL
#define LEADER_LOCK 0x736569736d6f0003LL
/* Parameterised statements are prepared once per session (parsed and
 * planned once: ingest runs one per event). */
#define MAX_PREPARED 48
/* Rows a follow call reads at most, so one call stays short. */
#define FOLLOW_BATCH 2000

struct pg_store {
	PGconn *conn;
	pthread_mutex_t lock;
	int leader;
	int in_tx;
	char err[256];
	/* Statements prepared on this session (by their SQL, all literals). */
	const char *prepared[MAX_PREPARED];
	int n_prepared;
};

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
	"CREATE TABLE IF NOT EXISTS nflog (key TEXT PRIMARY KEY, firing TEXT NOT NULL,"
	" resolved TEXT NOT NULL, ts_ms BIGINT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS pending (id BIGSERIAL PRIMARY KEY, receiver TEXT NOT NULL,"
	" integ_index INTEGER NOT NULL, group_key TEXT NOT NULL, nflog_key TEXT NOT NULL,"
	" firing TEXT NOT NULL, resolved TEXT NOT NULL, body TEXT NOT NULL,"
	" created_ms BIGINT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS pending_nflog ON pending(nflog_key);"
	"CREATE TABLE IF NOT EXISTS replicas (name TEXT PRIMARY KEY, address TEXT NOT NULL,"
	" leader BOOLEAN NOT NULL, seen_ms BIGINT NOT NULL);";

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

/* The connection, usable: reset when it broke (a reset session holds no lock).
 */
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
	if (s->n_prepared == MAX_PREPARED)
		return 0;
	PGresult *r = PQprepare(s->conn, name, sql, n, NULL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (ok)
		s->prepared[s->n_prepared++] = sql;
	return ok;
}

/* Runs sql with text parameters; the result when it succeeded, else NULL. */
static PGresult *run(struct pg_store *s, const char *sql, int n, const char *const *params)
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

static int run_ok(struct pg_store *s, const char *sql, int n, const char *const *params)
{
	PGresult *r = run(s, sql, n, params);

	PQclear(r);
	return r ? 0 : -1;
}

static void *pg_open(const char *url, int sync_full, char *err, size_t errlen)
{
	struct pg_store *s = calloc(1, sizeof(*s));

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
	run_ok(s, "SET client_min_messages = warning", 0, NULL);
	/* Durability is the server's (synchronous_commit): fsync is SQLite's knob. */
	(void)sync_full;
	/* Two replicas starting together must not race on CREATE ... IF NOT EXISTS.
	 */
	char key[32];
	snprintf(key, sizeof(key), "%lld", SCHEMA_LOCK);
	const char *p[] = { key };
	if (run_ok(s, "SELECT pg_advisory_lock($1::bigint)", 1, p) ||
	    run_ok(s, schema_sql, 0, NULL) ||
	    run_ok(s, "SELECT pg_advisory_unlock($1::bigint)", 1, p)) {
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
static int pg_begin(void *impl)
{
	struct pg_store *s = impl;
	char key[32];
	const char *p[] = { key };

	snprintf(key, sizeof(key), "%lld", INGEST_LOCK);
	pthread_mutex_lock(&s->lock);
	if (run_ok(s, "BEGIN", 0, NULL)) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	s->in_tx = 1;
	if (run_ok(s, "SELECT pg_advisory_xact_lock($1::bigint)", 1, p)) {
		run_ok(s, "ROLLBACK", 0, NULL);
		s->in_tx = 0;
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	return 0;
}

static int pg_commit(void *impl)
{
	struct pg_store *s = impl;
	int rc = run_ok(s, "COMMIT", 0, NULL);

	/* A failed COMMIT ends the transaction too: the caller's rollback is a no-op.
	 */
	s->in_tx = 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void pg_rollback(void *impl)
{
	struct pg_store *s = impl;

	/* After a failed commit the lock was released there. */
	if (!s->in_tx)
		return;
	run_ok(s, "ROLLBACK", 0, NULL);
	s->in_tx = 0;
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------ events, edges */

static char *json_text(json_t *j)
{
	char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return t;
}

static json_t *deps_json(const struct corr_event *ev)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < ev->n_deps; i++)
		json_array_append_new(arr, json_pack("{s:s?,s:b}", "service", ev->deps[i].service,
						     "anomalous", ev->deps[i].anomalous));
	return arr;
}

static int pg_insert_event(void *impl, const struct corr_event *ev, int64_t received_ms,
			   int *inserted)
{
	struct pg_store *s = impl;
	char rcv[24], res[4], sev[4], val[32], score[32], thr[32], st[24], ob[24], en[24];
	char *labels = json_text(corr_labels_to_json(&ev->labels));
	char *deps = json_text(deps_json(ev));
	char *raw = ev->raw ? strdup(ev->raw) : NULL;
	int rc = -1;

	snprintf(rcv, sizeof(rcv), "%" PRId64, received_ms);
	snprintf(res, sizeof(res), "%d", ev->resolved ? 1 : 0);
	snprintf(sev, sizeof(sev), "%d", (int)ev->severity);
	snprintf(val, sizeof(val), "%.17g", ev->value);
	snprintf(score, sizeof(score), "%.17g", ev->score);
	snprintf(thr, sizeof(thr), "%.17g", ev->threshold);
	snprintf(st, sizeof(st), "%" PRId64, ev->starts_at_ms);
	snprintf(ob, sizeof(ob), "%" PRId64, ev->observed_at_ms);
	snprintf(en, sizeof(en), "%" PRId64, ev->ends_at_ms);
	const char *p[] = {
		ev->id, ev->anomaly_id, rcv, res, sev, ev->service, ev->node, ev->metric,
		val,	score,		thr, st,  ob,  en,	    labels,   deps,
		raw
	};
	if (labels && deps && raw) {
		PGresult *r = run(s,
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
	free(raw);
	return rc;
}

static int pg_upsert_edge(void *impl, const struct corr_edge *e, int64_t now_ms)
{
	char req[24], now[24];
	const char *p[] = { e->caller, e->callee, e->endpoint ? e->endpoint : "", req, now };

	snprintf(req, sizeof(req), "%" PRIu64, e->requests);
	snprintf(now, sizeof(now), "%" PRId64, now_ms);
	return run_ok(impl,
		      "INSERT INTO edges (caller, callee, endpoint, requests, last_seen_ms, seq)"
		      " VALUES ($1, $2, $3, $4, $5, nextval('seismo_seq'))"
		      " ON CONFLICT (caller, callee, endpoint) DO UPDATE"
		      " SET requests = edges.requests + excluded.requests,"
		      " last_seen_ms = excluded.last_seen_ms, seq = excluded.seq",
		      5, p);
}

#define EVENT_COLUMNS                                                                   \
	"seq, id, anomaly_id, resolved, severity, service, node, metric, value, score," \
	" threshold, starts_ms, observed_ms, ends_ms, labels, deps"

static char *col(PGresult *r, int row, int c)
{
	return strdup(PQgetvalue(r, row, c));
}

/* A row of EVENT_COLUMNS as an event (the caller frees it). */
static int row_to_event(PGresult *r, int row, struct corr_event *ev)
{
	json_error_t jerr;
	char err[128];
	int rc = 0;

	memset(ev, 0, sizeof(*ev));
	ev->id = col(r, row, 1);
	ev->anomaly_id = col(r, row, 2);
	ev->resolved = atoi(PQgetvalue(r, row, 3)) != 0;
	ev->severity = atoi(PQgetvalue(r, row, 4)) ? CORR_SEV_CRITICAL : CORR_SEV_WARNING;
	ev->service = col(r, row, 5);
	ev->node = col(r, row, 6);
	ev->metric = col(r, row, 7);
	ev->value = strtod(PQgetvalue(r, row, 8), NULL);
	ev->score = strtod(PQgetvalue(r, row, 9), NULL);
	ev->threshold = strtod(PQgetvalue(r, row, 10), NULL);
	ev->starts_at_ms = strtoll(PQgetvalue(r, row, 11), NULL, 10);
	ev->observed_at_ms = strtoll(PQgetvalue(r, row, 12), NULL, 10);
	ev->ends_at_ms = strtoll(PQgetvalue(r, row, 13), NULL, 10);
	json_t *labels = json_loads(PQgetvalue(r, row, 14), 0, &jerr);
	json_t *deps = json_loads(PQgetvalue(r, row, 15), 0, &jerr);
	if (!ev->id || !ev->anomaly_id || !ev->service || !ev->node || !ev->metric || !labels ||
	    !json_is_array(deps) ||
	    corr_labels_from_json(&ev->labels, labels, "labels", err, sizeof(err)))
		rc = -1;
	ev->deps = rc ? NULL : calloc(json_array_size(deps) + 1, sizeof(*ev->deps));
	if (!rc && !ev->deps)
		rc = -1;
	for (size_t i = 0; !rc && i < json_array_size(deps); i++) {
		json_t *d = json_array_get(deps, i), *svc = json_object_get(d, "service");
		ev->deps[i].service = json_is_string(svc) ? strdup(json_string_value(svc)) : NULL;
		ev->deps[i].anomalous = json_is_true(json_object_get(d, "anomalous"));
		ev->n_deps++;
	}
	json_decref(labels);
	json_decref(deps);
	return rc;
}

static int event_rows(PGresult *r, int row, corr_store_event_cb cb, void *arg)
{
	struct corr_event ev;
	int rc;

	if (row_to_event(r, row, &ev)) {
		log_error("store: unreadable stored event %s", ev.id ? ev.id : "?");
		corr_event_free(&ev);
		return -1;
	}
	rc = cb(&ev, arg);
	corr_event_free(&ev);
	return rc;
}

static int pg_each_event(void *impl, corr_store_event_cb cb, void *arg)
{
	struct pg_store *s = impl;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	PGresult *r = run(s, "SELECT " EVENT_COLUMNS " FROM events ORDER BY seq", 0, NULL);
	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = event_rows(r, i, cb, arg);
	pthread_mutex_unlock(&s->lock);
	if (!r)
		rc = -1;
	PQclear(r);
	return rc;
}

static int edge_row(PGresult *r, int row, corr_store_edge_cb cb, void *arg)
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
	struct pg_store *s = impl;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	PGresult *r = run(s, "SELECT seq, caller, callee, endpoint, requests FROM edges", 0, NULL);
	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = edge_row(r, i, cb, arg);
	pthread_mutex_unlock(&s->lock);
	if (!r)
		rc = -1;
	PQclear(r);
	return rc;
}

static int pg_events_of_anomaly(void *impl, const char *anomaly_id, json_t *arr)
{
	struct pg_store *s = impl;
	const char *p[] = { anomaly_id };

	pthread_mutex_lock(&s->lock);
	PGresult *r = run(s, "SELECT raw FROM events WHERE anomaly_id = $1 ORDER BY seq", 1, p);
	for (int i = 0; r && i < PQntuples(r); i++) {
		json_error_t jerr;
		json_t *j = json_loads(PQgetvalue(r, i, 0), 0, &jerr);
		if (j)
			json_array_append_new(arr, j);
	}
	pthread_mutex_unlock(&s->lock);
	PQclear(r);
	return r ? 0 : -1;
}

/* One number from a one-row query, or -1. */
static int64_t scalar(struct pg_store *s, const char *sql, int n, const char *const *p)
{
	int64_t v = -1;

	pthread_mutex_lock(&s->lock);
	PGresult *r = run(s, sql, n, p);
	if (r && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else if (r && PQcmdTuples(r)[0])
		v = strtoll(PQcmdTuples(r), NULL, 10);
	pthread_mutex_unlock(&s->lock);
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
	const char *p[] = { b };

	snprintf(b, sizeof(b), "%" PRId64, before_ms);
	return scalar(impl, "DELETE FROM events WHERE received_ms < $1", 1, p);
}

/* ---------------------------------------------------------- silences */

static int pg_put_silence(void *impl, const char *id, const char *json_text)
{
	struct pg_store *s = impl;
	char key[32];
	const char *lk[] = { key }, *p[] = { id, json_text };
	int rc = -1;

	/* Numbered like ingest (under its lock), so followers see it in order. */
	snprintf(key, sizeof(key), "%lld", INGEST_LOCK);
	pthread_mutex_lock(&s->lock);
	if (!run_ok(s, "BEGIN", 0, NULL)) {
		s->in_tx = 1;
		if (!run_ok(s, "SELECT pg_advisory_xact_lock($1::bigint)", 1, lk) &&
		    !run_ok(s,
			    "INSERT INTO silences (id, body, seq)"
			    " VALUES ($1, $2, nextval('seismo_seq')) ON CONFLICT (id)"
			    " DO UPDATE SET body = excluded.body, seq = excluded.seq",
			    2, p))
			rc = run_ok(s, "COMMIT", 0, NULL);
		else
			run_ok(s, "ROLLBACK", 0, NULL);
		s->in_tx = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int pg_delete_silence(void *impl, const char *id)
{
	struct pg_store *s = impl;
	const char *p[] = { id };

	pthread_mutex_lock(&s->lock);
	int rc = run_ok(s, "DELETE FROM silences WHERE id = $1", 1, p);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int pg_each_silence(void *impl, corr_store_silence_cb cb, void *arg)
{
	struct pg_store *s = impl;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	PGresult *r = run(s, "SELECT id, body FROM silences ORDER BY seq", 0, NULL);
	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = cb(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), arg);
	pthread_mutex_unlock(&s->lock);
	if (!r)
		rc = -1;
	PQclear(r);
	return rc;
}

/* ------------------------------------------------- notification log */

/* Fingerprints as comma-separated hex, the SQLite store's format. */
static char *fps_text(const uint64_t *fps, size_t n)
{
	char *buf = malloc(n * 17 + 1);
	size_t off = 0;

	if (!buf)
		return NULL;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(buf + off, "%s%016" PRIx64, i ? "," : "", fps[i]);
	return buf;
}

static int fps_parse(const char *text, uint64_t **out, size_t *n)
{
	size_t cap = 1;

	for (const char *p = text; *p; p++)
		cap += *p == ',';
	*n = 0;
	*out = calloc(cap + 1, sizeof(**out));
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

static int pg_nflog_get(void *impl, const char *key, uint64_t **firing, size_t *n_firing,
			uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	struct pg_store *s = impl;
	const char *p[] = { key };
	int rc = 1;

	*firing = *resolved = NULL;
	pthread_mutex_lock(&s->lock);
	PGresult *r = run(s, "SELECT firing, resolved, ts_ms FROM nflog WHERE key = $1", 1, p);
	if (!r)
		rc = -1;
	else if (PQntuples(r) == 1) {
		rc = fps_parse(PQgetvalue(r, 0, 0), firing, n_firing) ||
				     fps_parse(PQgetvalue(r, 0, 1), resolved, n_resolved)
			     ? -1
			     : 0;
		*ts_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	}
	pthread_mutex_unlock(&s->lock);
	PQclear(r);
	if (rc) {
		free(*firing);
		free(*resolved);
		*firing = *resolved = NULL;
	}
	return rc;
}

static int pg_nflog_put(void *impl, const char *key, const uint64_t *firing, size_t n_firing,
			const uint64_t *resolved, size_t n_resolved, int64_t ts_ms)
{
	struct pg_store *s = impl;
	char *f = fps_text(firing, n_firing), *r = fps_text(resolved, n_resolved), ts[24];
	const char *p[] = { key, f, r, ts };
	int rc = -1;

	snprintf(ts, sizeof(ts), "%" PRId64, ts_ms);
	if (f && r) {
		pthread_mutex_lock(&s->lock);
		rc = run_ok(s,
			    "INSERT INTO nflog (key, firing, resolved, ts_ms)"
			    " VALUES ($1, $2, $3, $4)"
			    " ON CONFLICT (key) DO UPDATE SET firing = excluded.firing,"
			    " resolved = excluded.resolved, ts_ms = excluded.ts_ms",
			    4, p);
		pthread_mutex_unlock(&s->lock);
	}
	free(f);
	free(r);
	return rc;
}

static int pg_nflog_prune(void *impl, int64_t before_ms)
{
	struct pg_store *s = impl;
	char b[24];
	const char *p[] = { b };

	snprintf(b, sizeof(b), "%" PRId64, before_ms);
	pthread_mutex_lock(&s->lock);
	int rc = run_ok(s, "DELETE FROM nflog WHERE ts_ms < $1", 1, p);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* -------------------------------------------- pending notifications */

/*
 * A notification kept before it is queued, logged as told when the
 * receiver acknowledged it. On the leader's connection, so a leader whose
 * session died can neither add nor acknowledge: the next leader resends
 * what is pending (at least once, never lost).
 */
static int64_t pg_pending_add(void *impl, const struct corr_pending *p)
{
	struct pg_store *s = impl;
	char *f = fps_text(p->firing, p->n_firing), *r = fps_text(p->resolved, p->n_resolved);
	char idx[24], created[24];
	const char *v[] = { p->receiver, idx, p->group_key, p->nflog_key, f, r, p->body, created };
	int64_t id = -1;

	snprintf(idx, sizeof(idx), "%zu", p->integ_index);
	snprintf(created, sizeof(created), "%" PRId64, p->created_ms);
	if (f && r) {
		pthread_mutex_lock(&s->lock);
		PGresult *res =
			run(s,
			    "INSERT INTO pending (receiver, integ_index, group_key, nflog_key,"
			    " firing, resolved, body, created_ms)"
			    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
			    8, v);
		if (res && PQntuples(res) == 1)
			id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		pthread_mutex_unlock(&s->lock);
		PQclear(res);
	}
	free(f);
	free(r);
	return id;
}

static int pg_pending_delete(void *impl, int64_t id)
{
	struct pg_store *s = impl;
	char sid[24];
	const char *p[] = { sid };

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	pthread_mutex_lock(&s->lock);
	int rc = run_ok(s, "DELETE FROM pending WHERE id = $1", 1, p);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int pg_pending_acked(void *impl, const struct corr_pending *p, int64_t acked_ms)
{
	struct pg_store *s = impl;
	char *f = fps_text(p->firing, p->n_firing), *r = fps_text(p->resolved, p->n_resolved);
	char sid[24], ts[24];
	const char *del[] = { sid }, *put[] = { p->nflog_key, f, r, ts };
	int rc = -1;

	snprintf(sid, sizeof(sid), "%" PRId64, p->id);
	snprintf(ts, sizeof(ts), "%" PRId64, acked_ms);
	pthread_mutex_lock(&s->lock);
	if (f && r && !run_ok(s, "BEGIN", 0, NULL)) {
		s->in_tx = 1;
		if ((p->id <= 0 || !run_ok(s, "DELETE FROM pending WHERE id = $1", 1, del)) &&
		    !run_ok(s,
			    "INSERT INTO nflog (key, firing, resolved, ts_ms)"
			    " VALUES ($1, $2, $3, $4)"
			    " ON CONFLICT (key) DO UPDATE SET firing = excluded.firing,"
			    " resolved = excluded.resolved, ts_ms = excluded.ts_ms",
			    4, put))
			rc = run_ok(s, "COMMIT", 0, NULL);
		else
			run_ok(s, "ROLLBACK", 0, NULL);
		s->in_tx = 0;
	}
	pthread_mutex_unlock(&s->lock);
	free(f);
	free(r);
	return rc;
}

static int pg_each_pending(void *impl, corr_store_pending_cb cb, void *arg)
{
	struct pg_store *s = impl;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	PGresult *res = run(s,
			    "SELECT id, receiver, integ_index, group_key, nflog_key, firing,"
			    " resolved, body, created_ms FROM pending ORDER BY id",
			    0, NULL);
	pthread_mutex_unlock(&s->lock);
	/* Called back without the lock: the callback may delete what it cannot
	 * resend. */
	for (int i = 0; res && !rc && i < PQntuples(res); i++) {
		uint64_t *f = NULL, *r = NULL;
		struct corr_pending p = {
			.id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
			.receiver = PQgetvalue(res, i, 1),
			.integ_index = strtoull(PQgetvalue(res, i, 2), NULL, 10),
			.group_key = PQgetvalue(res, i, 3),
			.nflog_key = PQgetvalue(res, i, 4),
			.body = PQgetvalue(res, i, 7),
			.created_ms = strtoll(PQgetvalue(res, i, 8), NULL, 10),
		};
		if (fps_parse(PQgetvalue(res, i, 5), &f, &p.n_firing) ||
		    fps_parse(PQgetvalue(res, i, 6), &r, &p.n_resolved)) {
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
	if (!res)
		rc = -1;
	PQclear(res);
	return rc;
}

static int pg_pending_latest(void *impl, const char *nflog_key, uint64_t **firing, size_t *n_firing,
			     uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	struct pg_store *s = impl;
	const char *p[] = { nflog_key };
	int rc = 1;

	*firing = *resolved = NULL;
	pthread_mutex_lock(&s->lock);
	PGresult *r = run(s,
			  "SELECT firing, resolved, created_ms FROM pending WHERE nflog_key = $1"
			  " ORDER BY id DESC LIMIT 1",
			  1, p);
	if (!r)
		rc = -1;
	else if (PQntuples(r) == 1) {
		rc = fps_parse(PQgetvalue(r, 0, 0), firing, n_firing) ||
				     fps_parse(PQgetvalue(r, 0, 1), resolved, n_resolved)
			     ? -1
			     : 0;
		*ts_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	}
	pthread_mutex_unlock(&s->lock);
	PQclear(r);
	if (rc) {
		free(*firing);
		free(*resolved);
		*firing = *resolved = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------ replicas */

static int64_t seq_of(PGresult *r, int row)
{
	return row < PQntuples(r) ? strtoll(PQgetvalue(r, row, 0), NULL, 10) : INT64_MAX;
}

/*
 * Everything numbered after *cursor, merged in number order. Under the
 * ingest lock taken shared, no writer is between drawing a number and
 * committing it, so what is read is a prefix of the final order.
 */
static int pg_follow(void *impl, int64_t *cursor, corr_store_edge_cb edge,
		     corr_store_event_cb event, corr_store_silence_cb silence, void *arg)
{
	struct pg_store *s = impl;
	char cur[24], hi[24], key[32], lim[16];
	const char *lk[] = { key }, *p[] = { cur, lim }, *p2[] = { cur, hi };
	PGresult *ev = NULL, *ed = NULL, *si = NULL;
	int rc = -1, more = 0;

	snprintf(cur, sizeof(cur), "%" PRId64, *cursor);
	snprintf(key, sizeof(key), "%lld", INGEST_LOCK);
	snprintf(lim, sizeof(lim), "%d", FOLLOW_BATCH);
	pthread_mutex_lock(&s->lock);
	if (run_ok(s, "BEGIN", 0, NULL))
		goto out;
	s->in_tx = 1;
	if (run_ok(s, "SELECT pg_advisory_xact_lock_shared($1::bigint)", 1, lk))
		goto rollback;
	ev = run(s, "SELECT " EVENT_COLUMNS " FROM events WHERE seq > $1 ORDER BY seq LIMIT $2", 2,
		 p);
	if (!ev)
		goto rollback;
	/* A full batch: the others only up to its last number, the rest next time. */
	more = PQntuples(ev) == FOLLOW_BATCH;
	snprintf(hi, sizeof(hi), "%" PRId64, more ? seq_of(ev, FOLLOW_BATCH - 1) : INT64_MAX);
	ed = run(s,
		 "SELECT seq, caller, callee, endpoint, requests FROM edges"
		 " WHERE seq > $1 AND seq <= $2 ORDER BY seq",
		 2, p2);
	si = ed ? run(s,
		      "SELECT seq, id, body FROM silences WHERE seq > $1 AND seq <= $2"
		      " ORDER BY seq",
		      2, p2)
		: NULL;
	if (!si)
		goto rollback;
	run_ok(s, "COMMIT", 0, NULL);
	s->in_tx = 0;
	pthread_mutex_unlock(&s->lock);

	rc = 0;
	for (int a = 0, b = 0, c = 0; !rc;) {
		int64_t sa = seq_of(ev, a), sb = seq_of(ed, b), sc = seq_of(si, c);
		if (sa == INT64_MAX && sb == INT64_MAX && sc == INT64_MAX)
			break;
		if (sb <= sa && sb <= sc) {
			rc = edge_row(ed, b++, edge, arg);
			*cursor = sb;
		} else if (sc <= sa) {
			rc = silence(PQgetvalue(si, c, 1), PQgetvalue(si, c, 2), arg);
			c++;
			*cursor = sc;
		} else {
			rc = event_rows(ev, a++, event, arg);
			*cursor = sa;
		}
	}
	PQclear(ev);
	PQclear(ed);
	PQclear(si);
	return rc ? -1 : more;
rollback:
	run_ok(s, "ROLLBACK", 0, NULL);
	s->in_tx = 0;
out:
	pthread_mutex_unlock(&s->lock);
	PQclear(ev);
	PQclear(ed);
	PQclear(si);
	return rc;
}

static int pg_lead(void *impl, int *leader)
{
	struct pg_store *s = impl;
	char key[32];
	const char *p[] = { key };
	int rc = 0;

	snprintf(key, sizeof(key), "%lld", LEADER_LOCK);
	pthread_mutex_lock(&s->lock);
	if (s->leader) {
		/* Still our session? A reset one has lost the lock with it. */
		PGresult *r = run(s,
				  "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
				  " AND pid = pg_backend_pid()"
				  " AND ((classid::bigint << 32) | objid::bigint) = $1::bigint",
				  1, p);
		s->leader = r && PQntuples(r) == 1;
		rc = r ? 0 : -1;
		PQclear(r);
	} else {
		PGresult *r = run(s, "SELECT pg_try_advisory_lock($1::bigint)", 1, p);
		s->leader = r && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
		rc = r ? 0 : -1;
		PQclear(r);
	}
	*leader = s->leader;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int pg_heartbeat(void *impl, const char *name, const char *address, int leader,
			int64_t now_ms)
{
	struct pg_store *s = impl;
	char now[24];
	const char *p[] = { name, address, leader ? "true" : "false", now };

	snprintf(now, sizeof(now), "%" PRId64, now_ms);
	pthread_mutex_lock(&s->lock);
	int rc = run_ok(s,
			"INSERT INTO replicas (name, address, leader, seen_ms)"
			" VALUES ($1, $2, $3, $4)"
			" ON CONFLICT (name) DO UPDATE SET address = excluded.address,"
			" leader = excluded.leader, seen_ms = excluded.seen_ms",
			4, p);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int pg_each_replica(void *impl, int64_t seen_since_ms, corr_store_replica_cb cb, void *arg)
{
	struct pg_store *s = impl;
	char since[24];
	const char *p[] = { since };
	int rc = 0;

	snprintf(since, sizeof(since), "%" PRId64, seen_since_ms);
	pthread_mutex_lock(&s->lock);
	PGresult *r = run(s,
			  "SELECT name, address, leader, seen_ms FROM replicas WHERE seen_ms >= $1"
			  " ORDER BY name",
			  1, p);
	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = cb(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)[0] == 't',
			strtoll(PQgetvalue(r, i, 3), NULL, 10), arg);
	pthread_mutex_unlock(&s->lock);
	if (!r)
		rc = -1;
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
};
