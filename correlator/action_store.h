/*
 * The audit of runbook actions (tables actions, action_runbooks,
 * action_settings in the correlator's database, on a connection of their
 * own): SQLite beside the embedded store, or the shared PostgreSQL
 * database with a postgres:// store (HA: every replica sees the same
 * actions, rate limits, breakers and kill switch). Every state change is
 * committed before the correlator acts on it, which is what makes restarts
 * lose no approval and run nothing twice.
 * Queries are written once for both (`?` placeholders; no engine-specific
 * SQL) and bind their arguments from a format string: s = text (NULL ok),
 * I = int64_t, i = int.
 */
#ifndef CORR_ACTION_STORE_H
#define CORR_ACTION_STORE_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct astore;

struct astore *astore_open(const char *path, int sync_full, char *err, size_t errlen);
void astore_close(struct astore *st);
/* Shared with other correlators (PostgreSQL): 1, else 0. */
int astore_shared(const struct astore *st);

/* INSERT/UPDATE: rows changed, or -1 (logged). */
int astore_exec(struct astore *st, const char *sql, const char *fmt, ...);
/* The first column of the first row as an integer; dflt when no row or NULL. */
int64_t astore_int(struct astore *st, int64_t dflt, const char *sql, const char *fmt, ...);
/* Actions (as API JSON, oldest first) matching a WHERE clause. */
json_t *astore_actions(struct astore *st, const char *where, const char *fmt, ...);
/* One action as API JSON; NULL when unknown. */
json_t *astore_action(struct astore *st, const char *id);
/* The first column of every row, as a JSON array of strings. */
json_t *astore_strings(struct astore *st, const char *sql, const char *fmt, ...);

int astore_setting_get(struct astore *st, const char *key, char *out, size_t len);
int astore_setting_put(struct astore *st, const char *key, const char *value);

/*
 * A backend: action_store_sqlite.c or action_store_pg.c. run executes sql
 * with its arguments, calls row (when given) with each row's columns as
 * text (NULL for SQL NULL) and returns the rows changed, or -1 (logged).
 */
typedef int (*astore_row_fn)(const char *const *cols, int n, void *arg);
struct astore_ops {
	void *(*open)(const char *path, int sync_full, char *err, size_t errlen);
	void (*close)(void *impl);
	int (*run)(void *impl, const char *sql, const char *fmt, va_list ap, astore_row_fn row,
		   void *arg);
};
extern const struct astore_ops astore_sqlite_ops;
extern const struct astore_ops astore_pg_ops;
/* Columns a row may have at most (the actions table's). */
#define ASTORE_MAX_COLS 24

#endif
