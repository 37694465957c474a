#include "action_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "util.h"

struct astore {
	sqlite3 *db;
};

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

struct astore *astore_open(const char *path, int sync_full, char *err, size_t errlen)
{
	struct astore *st = calloc(1, sizeof(*st));
	char *msg = NULL;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* With the shared PostgreSQL store (HA) the runbook audit is not shared
	 * yet: each replica keeps it in a local SQLite file in its working
	 * directory (a known gap, docs/runbooks.md). */
	if (!strncmp(path, "postgres://", 11) || !strncmp(path, "postgresql://", 13))
		path = "seismo-actions.db";
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "action store %s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	/* FULL: an approval or a "running" mark must survive power loss too. */
	const char *pragmas = sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
					: "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
	if (sqlite3_exec(st->db, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "action store %s: %s", path, msg ? msg : "schema failed");
		sqlite3_free(msg);
		goto fail;
	}
	return st;
fail:
	astore_close(st);
	return NULL;
}

void astore_close(struct astore *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

static sqlite3_stmt *prepare(struct astore *st, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_error("actions: cannot prepare '%s': %s", sql, sqlite3_errmsg(st->db));
		return NULL;
	}
	for (int i = 0; fmt && fmt[i]; i++) {
		int rc;
		if (fmt[i] == 's') {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(s, i + 1, v, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, i + 1);
		} else if (fmt[i] == 'I') {
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
		} else {
			rc = sqlite3_bind_int(s, i + 1, va_arg(ap, int));
		}
		if (rc != SQLITE_OK) {
			log_error("actions: bind %d of '%s' failed", i + 1, sql);
			sqlite3_finalize(s);
			return NULL;
		}
	}
	return s;
}

int astore_exec(struct astore *st, const char *sql, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sqlite3_stmt *s = prepare(st, sql, fmt, ap);
	va_end(ap);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		log_error("actions: '%s': %s", sql, sqlite3_errmsg(st->db));
		return -1;
	}
	return sqlite3_changes(st->db);
}

int64_t astore_int(struct astore *st, int64_t dflt, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int64_t v = dflt;

	va_start(ap, fmt);
	sqlite3_stmt *s = prepare(st, sql, fmt, ap);
	va_end(ap);
	if (!s)
		return dflt;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

json_t *astore_strings(struct astore *st, const char *sql, const char *fmt, ...)
{
	va_list ap;
	json_t *arr = json_array();

	va_start(ap, fmt);
	sqlite3_stmt *s = prepare(st, sql, fmt, ap);
	va_end(ap);
	if (!s)
		return arr;
	while (sqlite3_step(s) == SQLITE_ROW)
		json_array_append_new(arr, json_string((const char *)sqlite3_column_text(s, 0)));
	sqlite3_finalize(s);
	return arr;
}

#define ACTION_COLUMNS                                                                      \
	"id, incident, runbook, mode, state, reason, target, dry_run, labels, plan, results," \
	" created_ms, expires_ms, decided_by, decided_ms, comment, started_ms, finished_ms,"  \
	" verify_within_ms, verified, resolved_ms, escalated"

static json_t *text_or_null(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	return t ? json_string((const char *)t) : json_null();
}

static json_t *time_or_null(sqlite3_stmt *s, int col)
{
	char buf[32];

	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return json_null();
	corr_time_format(sqlite3_column_int64(s, col), buf, sizeof(buf));
	return json_string(buf);
}

static json_t *json_col(sqlite3_stmt *s, int col, json_t *dflt)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	json_t *j = t ? json_loads(t, 0, NULL) : NULL;

	if (!j)
		return dflt;
	json_decref(dflt);
	return j;
}

/* The API form of one row (docs/runbooks.md documents it). */
static json_t *row_json(sqlite3_stmt *s)
{
	json_t *verified = json_null();
	int64_t finished = sqlite3_column_type(s, 17) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 17);
	int64_t within = sqlite3_column_int64(s, 18);
	char deadline[32];

	if (sqlite3_column_type(s, 19) != SQLITE_NULL)
		verified = json_boolean(sqlite3_column_int(s, 19));
	corr_time_format(finished + within, deadline, sizeof(deadline));
	json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o}",
			      "id", text_or_null(s, 0), "incident", text_or_null(s, 1),
			      "runbook", text_or_null(s, 2), "mode", text_or_null(s, 3),
			      "state", text_or_null(s, 4), "reason", text_or_null(s, 5),
			      "target", text_or_null(s, 6), "dry_run", sqlite3_column_int(s, 7),
			      "incident_labels", json_col(s, 8, json_object()),
			      "plan", json_col(s, 9, json_array()),
			      "results", json_col(s, 10, json_array()));
	if (!o)
		return NULL;
	json_object_set_new(o, "created_at", time_or_null(s, 11));
	json_object_set_new(o, "approval_expires_at", time_or_null(s, 12));
	json_object_set_new(o, "decided_by", text_or_null(s, 13));
	json_object_set_new(o, "decided_at", time_or_null(s, 14));
	json_object_set_new(o, "comment", text_or_null(s, 15));
	json_object_set_new(o, "started_at", time_or_null(s, 16));
	json_object_set_new(o, "finished_at", time_or_null(s, 17));
	json_object_set_new(o, "verification",
			    json_pack("{s:f,s:o,s:o,s:o}", "verify_within_seconds",
				      (double)within / 1000.0, "deadline",
				      finished ? json_string(deadline) : json_null(), "resolved",
				      verified, "incident_resolved_at", time_or_null(s, 20)));
	json_object_set_new(o, "escalated", json_boolean(sqlite3_column_int(s, 21)));
	return o;
}

json_t *astore_actions(struct astore *st, const char *where, const char *fmt, ...)
{
	va_list ap;
	char *sql = NULL;
	json_t *arr = json_array();

	if (asprintf(&sql, "SELECT " ACTION_COLUMNS " FROM actions %s", where) < 0)
		return arr;
	va_start(ap, fmt);
	sqlite3_stmt *s = prepare(st, sql, fmt, ap);
	va_end(ap);
	free(sql);
	if (!s)
		return arr;
	while (sqlite3_step(s) == SQLITE_ROW) {
		json_t *o = row_json(s);
		if (o)
			json_array_append_new(arr, o);
	}
	sqlite3_finalize(s);
	return arr;
}

json_t *astore_action(struct astore *st, const char *id)
{
	json_t *arr = astore_actions(st, "WHERE id = ?", "s", id);
	json_t *o = json_array_size(arr) ? json_incref(json_array_get(arr, 0)) : NULL;

	json_decref(arr);
	return o;
}

int astore_setting_get(struct astore *st, const char *key, char *out, size_t len)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM action_settings WHERE key = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW) {
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int astore_setting_put(struct astore *st, const char *key, const char *value)
{
	return astore_exec(st,
			   "INSERT INTO action_settings (key, value) VALUES (?, ?)"
			   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			   "ss", key, value) < 0 ? -1 : 0;
}
