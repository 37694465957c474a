/*
 * The SQLite store's delivery log (store_sqlite.h): the notification log
 * and the notifications on their way, in the correlator's own database
 * file (the embedded single-correlator case).
 */
#include <stdlib.h>

#include "store_sqlite.h"

/* ------------------------------------------------- notification log */

/* A row (firing, resolved, time) of s as an entry: 0, 1 when none, -1 on error. */
static int fps_row(sqlite3_stmt *s, uint64_t **firing, size_t *n_firing, uint64_t **resolved,
		   size_t *n_resolved, int64_t *ts_ms)
{
	int rc = 1;

	*firing = *resolved = NULL;
	if (!s)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW) {
		rc = corr_store_entry_parse(sq_text(s, 0), sq_text(s, 1), firing, n_firing,
					    resolved, n_resolved);
		*ts_ms = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return rc;
}

int sq_nflog_get(void *impl, const char *key, uint64_t **firing, size_t *n_firing,
		 uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	return fps_row(sq_stmt(impl, "SELECT firing, resolved, ts_ms FROM nflog WHERE key = ?", "s",
			       key),
		       firing, n_firing, resolved, n_resolved, ts_ms);
}

int sq_nflog_put(void *impl, const char *key, const uint64_t *firing, size_t n_firing,
		 const uint64_t *resolved, size_t n_resolved, int64_t ts_ms)
{
	char *f = corr_store_fps_text(firing, n_firing),
	     *r = corr_store_fps_text(resolved, n_resolved);
	int rc = -1;

	if (f && r)
		rc = sq_done(impl,
			     sq_stmt(impl,
				     "INSERT OR REPLACE INTO nflog (key, firing, resolved, ts_ms)"
				     " VALUES (?, ?, ?, ?)",
				     "sssI", key, f, r, ts_ms));
	free(f);
	free(r);
	return rc < 0 ? -1 : 0;
}

int sq_nflog_prune(void *impl, int64_t before_ms)
{
	return sq_done(impl, sq_stmt(impl, "DELETE FROM nflog WHERE ts_ms < ?", "I", before_ms)) < 0
		       ? -1
		       : 0;
}

/* ------------------------------------------------ pending notifications */

int64_t sq_pending_add(void *impl, const struct corr_pending *p)
{
	struct sq *q = impl;
	char *f = corr_store_fps_text(p->firing, p->n_firing);
	char *r = corr_store_fps_text(p->resolved, p->n_resolved);
	int64_t id = -1;

	if (f && r &&
	    sq_done(q,
		    sq_stmt(q,
			    "INSERT INTO pending (receiver, integ_index, group_key, nflog_key, firing,"
			    " resolved, body, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			    "sIsssssI", p->receiver, (int64_t)p->integ_index, p->group_key,
			    p->nflog_key, f, r, p->body, p->created_ms)) == 1)
		id = sqlite3_last_insert_rowid(q->db);
	free(f);
	free(r);
	return id;
}

int sq_pending_delete(void *impl, int64_t id)
{
	return sq_done(impl, sq_stmt(impl, "DELETE FROM pending WHERE id = ?", "I", id)) < 0 ? -1
											     : 0;
}

int sq_pending_acked(void *impl, const struct corr_pending *p, int64_t acked_ms)
{
	if (sq_begin(impl))
		return -1;
	if ((p->id > 0 && sq_pending_delete(impl, p->id)) ||
	    sq_nflog_put(impl, p->nflog_key, p->firing, p->n_firing, p->resolved, p->n_resolved,
			 acked_ms) ||
	    sq_commit(impl)) {
		sq_rollback(impl);
		return -1;
	}
	return 0;
}

int sq_each_pending(void *impl, corr_store_pending_cb cb, void *arg)
{
	sqlite3_stmt *s = sq_stmt(impl,
				  "SELECT id, receiver, integ_index, group_key, nflog_key, firing,"
				  " resolved, body, created_ms FROM pending ORDER BY id",
				  NULL);
	int rc = 0;

	if (!s)
		return -1;
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		struct corr_pending p = {
			.id = sqlite3_column_int64(s, 0),
			.receiver = sq_text(s, 1),
			.integ_index = (size_t)sqlite3_column_int64(s, 2),
			.group_key = sq_text(s, 3),
			.nflog_key = sq_text(s, 4),
			.body = sq_text(s, 7),
			.created_ms = sqlite3_column_int64(s, 8),
		};
		rc = corr_store_pending_row(&p, sq_text(s, 5), sq_text(s, 6), cb, arg);
	}
	sqlite3_finalize(s);
	return rc;
}

int sq_pending_latest(void *impl, const char *nflog_key, uint64_t **firing, size_t *n_firing,
		      uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms)
{
	return fps_row(
		sq_stmt(impl,
			"SELECT firing, resolved, created_ms FROM pending WHERE nflog_key = ?"
			" ORDER BY id DESC LIMIT 1",
			"s", nflog_key),
		firing, n_firing, resolved, n_resolved, ts_ms);
}
