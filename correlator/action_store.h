/*
 * The audit of runbook actions in SQLite (tables actions, action_runbooks,
 * action_settings in the correlator's database, on a connection of their
 * own). Every state change is committed before the correlator acts on
 * it, which is what makes restarts lose no approval and run nothing twice.
 * Queries bind their arguments from a format string: s = text (NULL ok),
 * I = int64_t, i = int.
 */
#ifndef CORR_ACTION_STORE_H
#define CORR_ACTION_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct astore;

struct astore *astore_open(const char *path, int sync_full, char *err, size_t errlen);
void astore_close(struct astore *st);

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

#endif
