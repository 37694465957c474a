/*
 * The runbook audit in the shared PostgreSQL database (action_store.h):
 * every replica reads and writes the same actions, rate-limit counts,
 * circuit breakers and kill switch, and the conditional UPDATEs that make
 * an action run at most once (state = 'queued' -> 'running') decide
 * between replicas as they do between workers. Statements are written with
 * SQLite's `?` and numbered ($1, $2...) here; their arguments are typed
 * from the format (text, int8, int4).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "action_store.h"
#include "log.h"

/* Types of the arguments (pg_type.h; stable OIDs). */
#define TEXTOID 25
#define INT8OID 20
#define INT4OID 23
#define MAX_ARGS 16
/* The schema is created under the store's schema lock (store_pg.c). */
#define SCHEMA_LOCK "8315168231487635457" /* 0x736569736d6f0001, PG_SCHEMA_LOCK */

struct apg {
	PGconn *conn;
	pthread_mutex_t lock;
};

static const char schema_sql[] =
	"SET client_min_messages = warning;"
	"SELECT pg_advisory_lock(" SCHEMA_LOCK ");"
	"CREATE TABLE IF NOT EXISTS actions ("
	" seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, incident TEXT NOT NULL,"
	" runbook TEXT NOT NULL, mode TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,"
	" target TEXT NOT NULL, dry_run INTEGER NOT NULL, labels TEXT NOT NULL,"
	" plan TEXT NOT NULL, results TEXT, created_ms BIGINT NOT NULL, expires_ms BIGINT,"
	" decided_by TEXT, decided_ms BIGINT, comment TEXT, started_ms BIGINT,"
	" finished_ms BIGINT, verify_within_ms BIGINT NOT NULL, verified INTEGER,"
	" resolved_ms BIGINT, escalated INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS actions_incident ON actions(incident);"
	"CREATE INDEX IF NOT EXISTS actions_state ON actions(state);"
	"CREATE INDEX IF NOT EXISTS actions_started ON actions(runbook, started_ms);"
	"CREATE TABLE IF NOT EXISTS action_runbooks (name TEXT PRIMARY KEY,"
	" breaker_open INTEGER NOT NULL, failures INTEGER NOT NULL,"
	" unresolved INTEGER NOT NULL, opened_ms BIGINT, reason TEXT);"
	"CREATE TABLE IF NOT EXISTS action_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"SELECT pg_advisory_unlock(" SCHEMA_LOCK ");";

static void apg_close(void *impl)
{
	struct apg *p = impl;

	PQfinish(p->conn);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static void *apg_open(const char *url, int sync_full, char *err, size_t errlen)
{
	struct apg *p = calloc(1, sizeof(*p));

	(void)sync_full; /* durability is the server's */
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->conn = PQconnectdb(url);
	PGresult *r = PQstatus(p->conn) == CONNECTION_OK ? PQexec(p->conn, schema_sql) : NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "action store (PostgreSQL): %s", PQerrorMessage(p->conn));
		PQclear(r);
		apg_close(p);
		return NULL;
	}
	PQclear(r);
	return p;
}

/* sql with `?` numbered as $1, $2... (outside quoted literals); NULL if too long. */
static char *numbered(const char *sql)
{
	size_t len = strlen(sql), o = 0;
	char *out = malloc(len * 3 + 1);
	int n = 0, quoted = 0;

	for (size_t i = 0; out && i < len; i++) {
		if (sql[i] == '\'')
			quoted = !quoted;
		if (sql[i] == '?' && !quoted)
			o += (size_t)sprintf(out + o, "$%d", ++n);
		else
			out[o++] = sql[i];
	}
	if (out)
		out[o] = 0;
	return out;
}

static int apg_run(void *impl, const char *sql, const char *fmt, va_list ap, astore_row_fn row,
		   void *arg)
{
	struct apg *p = impl;
	char nums[MAX_ARGS][24];
	const char *values[MAX_ARGS];
	unsigned int types[MAX_ARGS];
	int n = fmt ? (int)strlen(fmt) : 0, rc = -1;
	char *text = numbered(sql);

	if (!text || n > MAX_ARGS) {
		log_error("actions: '%s': cannot be sent", sql);
		free(text);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (fmt[i] == 's') {
			types[i] = TEXTOID;
			values[i] = va_arg(ap, const char *);
		} else if (fmt[i] == 'I') {
			types[i] = INT8OID;
			snprintf(nums[i], sizeof(nums[i]), "%" PRId64, va_arg(ap, int64_t));
			values[i] = nums[i];
		} else {
			types[i] = INT4OID;
			snprintf(nums[i], sizeof(nums[i]), "%d", va_arg(ap, int));
			values[i] = nums[i];
		}
	}
	pthread_mutex_lock(&p->lock);
	/* A broken connection is reset before the statement (a restarted server). */
	if (PQstatus(p->conn) != CONNECTION_OK)
		PQreset(p->conn);
	PGresult *r = PQexecParams(p->conn, text, n, types, values, NULL, NULL, 0);
	pthread_mutex_unlock(&p->lock);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		int cols = PQnfields(r) < ASTORE_MAX_COLS ? PQnfields(r) : ASTORE_MAX_COLS;
		for (int i = 0; row && i < PQntuples(r); i++) {
			const char *v[ASTORE_MAX_COLS];
			for (int c = 0; c < cols; c++)
				v[c] = PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
			row(v, cols, arg);
		}
		rc = atoi(PQcmdTuples(r));
	} else {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
		msg[strcspn(msg, "\n")] = 0;
		log_error("actions: '%s': %s", sql, msg);
	}
	PQclear(r);
	free(text);
	return rc;
}

const struct astore_ops astore_pg_ops = {
	.open = apg_open,
	.close = apg_close,
	.run = apg_run,
};
