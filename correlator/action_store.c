/*
 * The runbook audit's queries (action_store.h), written once: the backend
 * (SQLite or the shared PostgreSQL) runs them and hands back rows as text.
 */
#include "action_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct astore {
	const struct astore_ops *ops;
	void *impl;
};

struct astore *astore_open(const char *path, int sync_full, char *err, size_t errlen)
{
	struct astore *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* With the shared store (HA) the audit is shared too: one truth for
	 * every replica's guards (docs/runbooks.md). */
	st->ops = !strncmp(path, "postgres://", 11) || !strncmp(path, "postgresql://", 13)
			  ? &astore_pg_ops
			  : &astore_sqlite_ops;
	st->impl = st->ops->open(path, sync_full, err, errlen);
	if (!st->impl) {
		free(st);
		return NULL;
	}
	return st;
}

void astore_close(struct astore *st)
{
	if (!st)
		return;
	st->ops->close(st->impl);
	free(st);
}

int astore_shared(const struct astore *st)
{
	return st->ops == &astore_pg_ops;
}

/* Runs sql; row (when given) gets every row. Rows changed, or -1. */
static int query(struct astore *st, astore_row_fn row, void *arg, const char *sql, const char *fmt,
		 ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = st->ops->run(st->impl, sql, fmt, ap, row, arg);
	va_end(ap);
	return rc;
}

static int run(struct astore *st, const char *sql, const char *fmt, va_list ap, astore_row_fn row,
	       void *arg)
{
	return st->ops->run(st->impl, sql, fmt, ap, row, arg);
}

int astore_exec(struct astore *st, const char *sql, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = run(st, sql, fmt, ap, NULL, NULL);
	va_end(ap);
	return rc;
}

struct first_int {
	int64_t v;
	int seen;
};

static int first_int_row(const char *const *cols, int n, void *arg)
{
	struct first_int *f = arg;

	if (!f->seen && n > 0 && cols[0])
		f->v = strtoll(cols[0], NULL, 10);
	f->seen = 1;
	return 0;
}

int64_t astore_int(struct astore *st, int64_t dflt, const char *sql, const char *fmt, ...)
{
	struct first_int f = { dflt, 0 };
	va_list ap;

	va_start(ap, fmt);
	run(st, sql, fmt, ap, first_int_row, &f);
	va_end(ap);
	return f.v;
}

static int string_row(const char *const *cols, int n, void *arg)
{
	return n > 0 && cols[0] ? json_array_append_new(arg, json_string(cols[0])) : 0;
}

json_t *astore_strings(struct astore *st, const char *sql, const char *fmt, ...)
{
	json_t *arr = json_array();
	va_list ap;

	va_start(ap, fmt);
	run(st, sql, fmt, ap, string_row, arr);
	va_end(ap);
	return arr;
}

#define ACTION_COLUMNS                                                                        \
	"id, incident, runbook, mode, state, reason, target, dry_run, labels, plan, results," \
	" created_ms, expires_ms, decided_by, decided_ms, comment, started_ms, finished_ms,"  \
	" verify_within_ms, verified, resolved_ms, escalated"
#define N_ACTION_COLUMNS 22

static json_t *text_or_null(const char *t)
{
	return t ? json_string(t) : json_null();
}

static json_t *time_or_null(const char *t)
{
	char buf[32];

	if (!t)
		return json_null();
	corr_time_format(strtoll(t, NULL, 10), buf, sizeof(buf));
	return json_string(buf);
}

static json_t *json_col(const char *t, json_t *dflt)
{
	json_t *j = t ? json_loads(t, 0, NULL) : NULL;

	if (!j)
		return dflt;
	json_decref(dflt);
	return j;
}

static int64_t int_col(const char *t)
{
	return t ? strtoll(t, NULL, 10) : 0;
}

/* The API form of one row (docs/runbooks.md documents it), appended to arg. */
static int action_row(const char *const *c, int n, void *arg)
{
	int64_t finished = int_col(c[17]), within = int_col(c[18]);
	char deadline[32];

	if (n < N_ACTION_COLUMNS)
		return 0;
	corr_time_format(finished + within, deadline, sizeof(deadline));
	json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o}", "id",
			      text_or_null(c[0]), "incident", text_or_null(c[1]), "runbook",
			      text_or_null(c[2]), "mode", text_or_null(c[3]), "state",
			      text_or_null(c[4]), "reason", text_or_null(c[5]), "target",
			      text_or_null(c[6]), "dry_run", (int)int_col(c[7]), "incident_labels",
			      json_col(c[8], json_object()), "plan", json_col(c[9], json_array()),
			      "results", json_col(c[10], json_array()));
	if (!o)
		return 0;
	json_object_set_new(o, "created_at", time_or_null(c[11]));
	json_object_set_new(o, "approval_expires_at", time_or_null(c[12]));
	json_object_set_new(o, "decided_by", text_or_null(c[13]));
	json_object_set_new(o, "decided_at", time_or_null(c[14]));
	json_object_set_new(o, "comment", text_or_null(c[15]));
	json_object_set_new(o, "started_at", time_or_null(c[16]));
	json_object_set_new(o, "finished_at", time_or_null(c[17]));
	json_object_set_new(o, "verification",
			    json_pack("{s:f,s:o,s:o,s:o}", "verify_within_seconds",
				      (double)within / 1000.0, "deadline",
				      finished ? json_string(deadline) : json_null(), "resolved",
				      c[19] ? json_boolean(int_col(c[19])) : json_null(),
				      "incident_resolved_at", time_or_null(c[20])));
	json_object_set_new(o, "escalated", json_boolean(int_col(c[21])));
	return json_array_append_new(arg, o);
}

json_t *astore_actions(struct astore *st, const char *where, const char *fmt, ...)
{
	char *sql = NULL;
	json_t *arr = json_array();
	va_list ap;

	if (asprintf(&sql, "SELECT " ACTION_COLUMNS " FROM actions %s", where) < 0)
		return arr;
	va_start(ap, fmt);
	run(st, sql, fmt, ap, action_row, arr);
	va_end(ap);
	free(sql);
	return arr;
}

json_t *astore_action(struct astore *st, const char *id)
{
	json_t *arr = astore_actions(st, "WHERE id = ?", "s", id);
	json_t *o = json_array_size(arr) ? json_incref(json_array_get(arr, 0)) : NULL;

	json_decref(arr);
	return o;
}

struct setting {
	char *out;
	size_t len;
	int found;
};

static int setting_row(const char *const *cols, int n, void *arg)
{
	struct setting *s = arg;

	if (n > 0 && cols[0]) {
		snprintf(s->out, s->len, "%s", cols[0]);
		s->found = 1;
	}
	return 0;
}

int astore_setting_get(struct astore *st, const char *key, char *out, size_t len)
{
	struct setting s = { out, len, 0 };

	if (query(st, setting_row, &s, "SELECT value FROM action_settings WHERE key = ?", "s",
		  key) < 0)
		return -1;
	return s.found ? 0 : -1;
}

int astore_setting_put(struct astore *st, const char *key, const char *value)
{
	return astore_exec(st,
			   "INSERT INTO action_settings (key, value) VALUES (?, ?)"
			   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			   "ss", key, value) < 0
		       ? -1
		       : 0;
}
