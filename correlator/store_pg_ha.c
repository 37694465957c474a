/*
 * What only replicas need of the PostgreSQL store (store_pg.h): following
 * what the others wrote in the one numbered order, the leader lock,
 * replica heartbeats, node liveness and alerts posted to any replica.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "store_pg.h"

/* Rows a follow call reads at most, so one call stays short. */
#define FOLLOW_BATCH 2000
#define STR(x) #x
#define XSTR(x) STR(x)

/* The numbered streams a replica replays; each query's first column is seq. */
enum {
	S_EVENTS,
	S_EDGES,
	S_SILENCES,
	S_ALERTS,
	N_STREAMS
};
static const char *const stream_sql[N_STREAMS] = {
	[S_EVENTS] = "SELECT " PG_EVENT_COLUMNS " FROM events WHERE seq > $1 AND seq <= $2"
		     " ORDER BY seq LIMIT " XSTR(FOLLOW_BATCH),
	[S_EDGES] = "SELECT seq, caller, callee, endpoint, requests FROM edges"
		    " WHERE seq > $1 AND seq <= $2 ORDER BY seq",
	[S_SILENCES] = "SELECT seq, id, body FROM silences WHERE seq > $1 AND seq <= $2"
		       " ORDER BY seq",
	[S_ALERTS] = "SELECT seq, body, received_ms FROM posted_alerts"
		     " WHERE seq > $1 AND seq <= $2 ORDER BY seq",
};

static int64_t seq_of(PGresult *r, int row)
{
	return row < PQntuples(r) ? strtoll(PQgetvalue(r, row, 0), NULL, 10) : INT64_MAX;
}

static int call_back(int stream, PGresult *r, int row, const struct corr_store_follower *f)
{
	switch (stream) {
	case S_EVENTS:
		return pg_event_row(r, row, f->event, f->arg);
	case S_EDGES:
		return pg_edge_row(r, row, f->edge, f->arg);
	case S_SILENCES:
		return f->silence(PQgetvalue(r, row, 1), PQgetvalue(r, row, 2), f->arg);
	default:
		return f->alerts(PQgetvalue(r, row, 1), strtoll(PQgetvalue(r, row, 2), NULL, 10),
				 f->arg);
	}
}

/* The streams after *cursor, read in one transaction under the ingest lock
 * taken shared: no writer is between drawing a number and committing it,
 * so what is read is a prefix of the final order. 1 when the events filled
 * a batch (the others were read only as far), 0, or -1. */
static int read_streams(struct pg_store *s, int64_t cursor, PGresult **res)
{
	char cur[24], hi[24], key[24];
	const char *lk[] = { pg_i64(key, PG_INGEST_LOCK) }, *p[] = { pg_i64(cur, cursor), hi };
	int rc = -1, more = 0;

	pg_i64(hi, INT64_MAX);
	pthread_mutex_lock(&s->lock);
	if (pg_run_ok(s, "BEGIN", 0, NULL))
		goto out;
	s->in_tx = 1;
	if (pg_run_ok(s, "SELECT pg_advisory_xact_lock_shared($1::bigint)", 1, lk))
		goto end;
	for (int k = 0; k < N_STREAMS; k++) {
		if (!(res[k] = pg_run(s, stream_sql[k], 2, p)))
			goto end;
		/* A full batch of events: the others only up to its last number. */
		if (k == S_EVENTS && (more = PQntuples(res[k]) == FOLLOW_BATCH))
			pg_i64(hi, seq_of(res[k], FOLLOW_BATCH - 1));
	}
	rc = more;
end:
	pg_run_ok(s, rc < 0 ? "ROLLBACK" : "COMMIT", 0, NULL);
	s->in_tx = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Everything numbered after *cursor, merged in number order. */
int pg_follow(void *impl, int64_t *cursor, const struct corr_store_follower *f)
{
	PGresult *res[N_STREAMS] = { 0 };
	int pos[N_STREAMS] = { 0 };
	int rc = read_streams(impl, *cursor, res), more = rc;

	while (rc >= 0) {
		int next = -1;
		int64_t lowest = INT64_MAX;
		for (int k = 0; k < N_STREAMS; k++)
			if (seq_of(res[k], pos[k]) < lowest)
				lowest = seq_of(res[k], pos[k]), next = k;
		if (next < 0)
			break;
		if (call_back(next, res[next], pos[next]++, f))
			rc = -1;
		*cursor = lowest;
	}
	for (int k = 0; k < N_STREAMS; k++)
		PQclear(res[k]);
	return rc < 0 ? -1 : more;
}

int pg_lead(void *impl, int *leader)
{
	struct pg_store *s = impl;
	char key[24];
	const char *p[] = { pg_i64(key, PG_LEADER_LOCK) };
	PGresult *r;

	pthread_mutex_lock(&s->lock);
	if (s->leader) {
		/* Still our session? A reset one has lost the lock with it. */
		r = pg_run(s,
			   "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
			   " AND pid = pg_backend_pid()"
			   " AND ((classid::bigint << 32) | objid::bigint) = $1::bigint",
			   1, p);
		s->leader = r && PQntuples(r) == 1;
	} else {
		r = pg_run(s, "SELECT pg_try_advisory_lock($1::bigint)", 1, p);
		s->leader = r && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	}
	*leader = s->leader;
	pthread_mutex_unlock(&s->lock);
	PQclear(r);
	return r ? 0 : -1;
}

int pg_heartbeat(void *impl, const char *name, const char *address, int leader, int64_t now_ms)
{
	char now[24];
	const char *p[] = { name, address, leader ? "true" : "false", pg_i64(now, now_ms) };

	return pg_do(impl,
		     "INSERT INTO replicas (name, address, leader, seen_ms) VALUES ($1, $2, $3, $4)"
		     " ON CONFLICT (name) DO UPDATE SET address = excluded.address,"
		     " leader = excluded.leader, seen_ms = excluded.seen_ms",
		     4, p);
}

int pg_each_replica(void *impl, int64_t seen_since_ms, corr_store_replica_cb cb, void *arg)
{
	char since[24];
	const char *p[] = { pg_i64(since, seen_since_ms) };
	PGresult *r = pg_query(impl,
			       "SELECT name, address, leader, seen_ms FROM replicas"
			       " WHERE seen_ms >= $1 ORDER BY name",
			       1, p);
	int rc = r ? 0 : -1;

	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = cb(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)[0] == 't',
			strtoll(PQgetvalue(r, i, 3), NULL, 10), arg);
	PQclear(r);
	return rc;
}

/* The latest time any replica heard from the node (clocks of replicas are
 * assumed NTP-close, as the notification log already assumes). */
int pg_node_seen(void *impl, const char *node, int64_t seen_ms)
{
	char seen[24];
	const char *p[] = { node, pg_i64(seen, seen_ms) };

	return pg_do(impl,
		     "INSERT INTO nodes (name, seen_ms) VALUES ($1, $2) ON CONFLICT (name)"
		     " DO UPDATE SET seen_ms = GREATEST(nodes.seen_ms, excluded.seen_ms)",
		     2, p);
}

int pg_each_node(void *impl, corr_store_node_cb cb, void *arg)
{
	PGresult *r = pg_query(impl, "SELECT name, seen_ms FROM nodes", 0, NULL);
	int rc = r ? 0 : -1;

	for (int i = 0; r && !rc && i < PQntuples(r); i++)
		rc = cb(PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 1), NULL, 10), arg);
	PQclear(r);
	return rc;
}

/*
 * Numbered like events, so every replica's dispatcher gets them in the one
 * order. What ended an hour before this post goes: a replica starting
 * later has nothing left to tell about it (the leader told it).
 */
int pg_post_alerts(void *impl, const char *json_text, int64_t received_ms, int64_t until_ms)
{
	char rcv[24], until[24], old[24];
	const char *p[] = { json_text, pg_i64(rcv, received_ms), pg_i64(until, until_ms) };
	const char *prune[] = { pg_i64(old, received_ms - 3600 * 1000) };

	if (pg_begin(impl))
		return -1;
	if (pg_run_ok(impl,
		      "INSERT INTO posted_alerts (seq, body, received_ms, until_ms)"
		      " VALUES (nextval('seismo_seq'), $1, $2, $3)",
		      3, p) ||
	    pg_run_ok(impl, "DELETE FROM posted_alerts WHERE until_ms < $1", 1, prune)) {
		pg_rollback(impl);
		return -1;
	}
	return pg_commit(impl);
}
