/*
 * The PostgreSQL store's delivery log (store_pg.h): the notification log
 * and the notifications on their way. Both are written on the leader's
 * connection (the one holding the leader lock), so a leader whose session
 * died can neither add nor acknowledge: the next leader resends what is
 * pending (at least once, never lost).
 */
#include <stdlib.h>

#include "log.h"
#include "store_pg.h"

static const char nflog_upsert[] =
	"INSERT INTO nflog (key, firing, resolved, ts_ms) VALUES ($1, $2, $3, $4)"
	" ON CONFLICT (key) DO UPDATE SET firing = excluded.firing,"
	" resolved = excluded.resolved, ts_ms = excluded.ts_ms";

/* The one row of sql (firing, resolved, time) for key as an entry: 0, 1 when none, -1. */
static int fps_row(struct pg_store *s, const char *sql, const char *key, uint64_t **firing,
		   size_t *n_firing, uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	const char *p[] = { key };
	PGresult *r = pg_query(s, sql, 1, p);
	int rc = r ? 1 : -1;

	*firing = *resolved = NULL;
	if (r && PQntuples(r) == 1) {
		rc = corr_store_entry_parse(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), firing,
					    n_firing, resolved, n_resolved);
		*ts_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	}
	PQclear(r);
	return rc;
}

int pg_nflog_get(void *impl, const char *key, uint64_t **firing, size_t *n_firing,
		 uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	return fps_row(impl, "SELECT firing, resolved, ts_ms FROM nflog WHERE key = $1", key,
		       firing, n_firing, resolved, n_resolved, ts_ms);
}

int pg_nflog_put(void *impl, const char *key, const uint64_t *firing, size_t n_firing,
		 const uint64_t *resolved, size_t n_resolved, int64_t ts_ms)
{
	char *f = corr_store_fps_text(firing, n_firing),
	     *r = corr_store_fps_text(resolved, n_resolved);
	char ts[24];
	const char *p[] = { key, f, r, pg_i64(ts, ts_ms) };
	int rc = f && r ? pg_do(impl, nflog_upsert, 4, p) : -1;

	free(f);
	free(r);
	return rc;
}

int pg_nflog_prune(void *impl, int64_t before_ms)
{
	char b[24];
	const char *p[] = { pg_i64(b, before_ms) };

	return pg_do(impl, "DELETE FROM nflog WHERE ts_ms < $1", 1, p);
}

int64_t pg_pending_add(void *impl, const struct corr_pending *p)
{
	char *f = corr_store_fps_text(p->firing, p->n_firing);
	char *r = corr_store_fps_text(p->resolved, p->n_resolved);
	char idx[24], created[24];
	const char *v[] = {
		p->receiver, pg_i64(idx, (int64_t)p->integ_index), p->group_key, p->nflog_key, f, r,
		p->body,     pg_i64(created, p->created_ms)
	};
	PGresult *res = NULL;
	int64_t id = -1;

	if (f && r)
		res = pg_query(impl,
			       "INSERT INTO pending (receiver, integ_index, group_key, nflog_key,"
			       " firing, resolved, body, created_ms)"
			       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
			       8, v);
	if (res && PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	free(f);
	free(r);
	return id;
}

int pg_pending_delete(void *impl, int64_t id)
{
	char sid[24];
	const char *p[] = { pg_i64(sid, id) };

	return pg_do(impl, "DELETE FROM pending WHERE id = $1", 1, p);
}

/* Forgotten as pending and logged as told, in one transaction. */
int pg_pending_acked(void *impl, const struct corr_pending *p, int64_t acked_ms)
{
	struct pg_store *s = impl;
	char *f = corr_store_fps_text(p->firing, p->n_firing);
	char *r = corr_store_fps_text(p->resolved, p->n_resolved);
	char sid[24], ts[24];
	const char *del[] = { pg_i64(sid, p->id) },
		   *put[] = { p->nflog_key, f, r, pg_i64(ts, acked_ms) };
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	if (f && r && !pg_run_ok(s, "BEGIN", 0, NULL)) {
		s->in_tx = 1;
		if ((p->id <= 0 || !pg_run_ok(s, "DELETE FROM pending WHERE id = $1", 1, del)) &&
		    !pg_run_ok(s, nflog_upsert, 4, put))
			rc = pg_run_ok(s, "COMMIT", 0, NULL);
		else
			pg_run_ok(s, "ROLLBACK", 0, NULL);
		s->in_tx = 0;
	}
	pthread_mutex_unlock(&s->lock);
	free(f);
	free(r);
	return rc;
}

int pg_each_pending(void *impl, corr_store_pending_cb cb, void *arg)
{
	PGresult *res = pg_query(impl,
				 "SELECT id, receiver, integ_index, group_key, nflog_key, firing,"
				 " resolved, body, created_ms FROM pending ORDER BY id",
				 0, NULL);
	int rc = res ? 0 : -1;

	/* Called back without the lock: the callback may delete what it cannot resend. */
	for (int i = 0; res && !rc && i < PQntuples(res); i++) {
		struct corr_pending p = {
			.id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
			.receiver = PQgetvalue(res, i, 1),
			.integ_index = strtoull(PQgetvalue(res, i, 2), NULL, 10),
			.group_key = PQgetvalue(res, i, 3),
			.nflog_key = PQgetvalue(res, i, 4),
			.body = PQgetvalue(res, i, 7),
			.created_ms = strtoll(PQgetvalue(res, i, 8), NULL, 10),
		};
		rc = corr_store_pending_row(&p, PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), cb,
					    arg);
	}
	PQclear(res);
	return rc;
}

int pg_pending_latest(void *impl, const char *nflog_key, uint64_t **firing, size_t *n_firing,
		      uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	return fps_row(impl,
		       "SELECT firing, resolved, created_ms FROM pending WHERE nflog_key = $1"
		       " ORDER BY id DESC LIMIT 1",
		       nflog_key, firing, n_firing, resolved, n_resolved, ts_ms);
}
