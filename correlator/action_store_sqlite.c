/* The runbook audit in SQLite (action_store.h), beside the embedded store. */
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "action_store.h"
#include "log.h"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS actions ("
	" seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, incident TEXT NOT NULL,"
	" runbook TEXT NOT NULL, mode TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,"
	" target TEXT NOT NULL, dry_run INTEGER NOT NULL, labels TEXT NOT NULL,"
	" plan TEXT NOT NULL, results TEXT, created_ms INTEGER NOT NULL, expires_ms INTEGER,"
	" decided_by TEXT, decided_ms INTEGER, comment TEXT, started_ms INTEGER,"
	" finished_ms INTEGER, verify_within_ms INTEGER NOT NULL, verified INTEGER,"
	" resolved_ms INTEGER, escalated INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS actions_incident ON actions(incident);"
	"CREATE INDEX IF NOT EXISTS actions_state ON actions(state);"
	"CREATE INDEX IF NOT EXISTS actions_started ON actions(runbook, started_ms);"
	"CREATE TABLE IF NOT EXISTS action_runbooks (name TEXT PRIMARY KEY,"
	" breaker_open INTEGER NOT NULL, failures INTEGER NOT NULL,"
	" unresolved INTEGER NOT NULL, opened_ms INTEGER, reason TEXT);"
	"CREATE TABLE IF NOT EXISTS action_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

static void sq_close(void *impl)
{
	sqlite3_close(impl);
}

static void *sq_open(const char *path, int sync_full, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "action store %s: %s", path,
			 db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	/* FULL: an approval or a "running" mark must survive power loss too. */
	const char *pragmas = sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
					: "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
	if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "action store %s: %s", path, msg ? msg : "schema failed");
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int bind(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int rc = SQLITE_OK;

	for (int i = 0; fmt && fmt[i] && rc == SQLITE_OK; i++) {
		if (fmt[i] == 's') {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(s, i + 1, v, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, i + 1);
		} else if (fmt[i] == 'I') {
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
		} else {
			rc = sqlite3_bind_int(s, i + 1, va_arg(ap, int));
		}
	}
	return rc == SQLITE_OK ? 0 : -1;
}

static int sq_run(void *impl, const char *sql, const char *fmt, va_list ap, astore_row_fn row,
		  void *arg)
{
	sqlite3 *db = impl;
	sqlite3_stmt *s = NULL;
	int step, rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK || bind(s, fmt, ap)) {
		log_error("actions: '%s': %s", sql, sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return -1;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *cols[ASTORE_MAX_COLS];
		int n = sqlite3_column_count(s);
		for (int c = 0; c < n && c < ASTORE_MAX_COLS; c++)
			cols[c] = (const char *)sqlite3_column_text(s, c);
		if (row)
			row(cols, n < ASTORE_MAX_COLS ? n : ASTORE_MAX_COLS, arg);
	}
	if (step == SQLITE_DONE)
		rc = sqlite3_changes(db);
	else
		log_error("actions: '%s': %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc;
}

const struct astore_ops astore_sqlite_ops = {
	.open = sq_open,
	.close = sq_close,
	.run = sq_run,
};
