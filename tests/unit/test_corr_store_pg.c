/*
 * The PostgreSQL store backend (store_pg.c) through its ops, against a real
 * server: dedup by event id, the one order replicas follow (edges, events
 * and silences merged by number), the notification log, pending
 * notifications (acknowledged = forgotten and logged, atomically), the
 * leader lock (one holder; released with its session), replica heartbeats,
 * node heartbeats (the latest wins), posted alerts in the followed order,
 * and the runbook audit on PostgreSQL (action_store_pg.c: one action row
 * per id, a run claimed by one replica only, the kill switch seen by both).
 * Needs SEISMO_TEST_PG_URL (an empty database): skipped without it;
 * tests/integration/correlator_ha.sh runs it on the cluster it starts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../correlator/action_store.h"
#include "../../correlator/store_backend.h"

static const struct corr_store_ops *ops = &corr_store_pg_ops;
static const char *url;

static void *open_store(void)
{
	char err[512];
	void *s = ops->open(url, 0, err, sizeof(err));

	if (!s)
		fail_msg("%s", err);
	return s;
}

static void make_event(struct corr_event *ev, const char *id, const char *anomaly)
{
	memset(ev, 0, sizeof(*ev));
	ev->id = strdup(id);
	ev->anomaly_id = strdup(anomaly);
	ev->service = strdup("svc");
	ev->node = strdup("node-1");
	ev->metric = strdup("latency_p99");
	ev->score = 7.5;
	ev->starts_at_ms = 1000;
	ev->observed_at_ms = 2000;
	corr_labels_set(&ev->labels, "team", "a");
	/* The text as received: the store keeps it as it is. */
	ev->raw = "{\"schema\":\"seismo.event/v1\"}";
	ev->raw_len = strlen(ev->raw);
}

struct seen {
	char log[512];
};

static int on_edge(const struct corr_edge *e, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->log);
	snprintf(s->log + l, sizeof(s->log) - l, "edge:%s>%s ", e->caller, e->callee);
	return 0;
}

static int on_event(struct corr_event *ev, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->log);
	snprintf(s->log + l, sizeof(s->log) - l, "event:%s(%s) ", ev->id,
		 corr_labels_get(&ev->labels, "team"));
	return 0;
}

static int on_silence(const char *id, const char *body, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->log);
	(void)body;
	snprintf(s->log + l, sizeof(s->log) - l, "silence:%s ", id);
	return 0;
}

static int on_alerts(const char *body, int64_t received_ms, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->log);
	snprintf(s->log + l, sizeof(s->log) - l, "alerts:%s@%lld ", body, (long long)received_ms);
	return 0;
}

static void stored_once_and_followed_in_order(void **state)
{
	void *a = open_store(), *b = open_store();
	struct corr_event e1, e2;
	struct corr_edge edge = { .caller = "web", .callee = "db", .endpoint = "", .requests = 3 };
	int ins;
	int64_t cursor = 0;
	struct seen seen = { "" };
	struct corr_store_follower by = { on_edge, on_event, on_silence, on_alerts, &seen };

	(void)state;
	make_event(&e1, "f1", "a1");
	make_event(&e2, "f2", "a1");
	assert_int_equal(ops->begin(a), 0);
	assert_int_equal(ops->upsert_edge(a, &edge, 5), 0);
	assert_int_equal(ops->insert_event(a, &e1, 10, &ins), 0);
	assert_int_equal(ins, 1);
	assert_int_equal(ops->commit(a), 0);
	assert_int_equal(ops->put_silence(b, "s1", "{\"id\":\"s1\"}"), 0);
	assert_int_equal(ops->post_alerts(a, "[1]", 12, 50), 0);
	/* the same id at the other replica: not stored again */
	assert_int_equal(ops->begin(b), 0);
	assert_int_equal(ops->insert_event(b, &e1, 11, &ins), 0);
	assert_int_equal(ins, 0);
	assert_int_equal(ops->insert_event(b, &e2, 11, &ins), 0);
	assert_int_equal(ins, 1);
	assert_int_equal(ops->commit(b), 0);
	assert_int_equal(ops->count_events(a), 2);

	assert_int_equal(ops->follow(b, &cursor, &by), 0);
	assert_string_equal(seen.log,
			    "edge:web>db event:f1(a) silence:s1 alerts:[1]@12 event:f2(a) ");
	/* caught up: nothing again; a later write only */
	seen.log[0] = 0;
	assert_int_equal(ops->follow(b, &cursor, &by), 0);
	assert_string_equal(seen.log, "");
	assert_int_equal(ops->upsert_edge(a, &edge, 20), 0);
	assert_int_equal(ops->follow(a, &cursor, &by), 0);
	assert_string_equal(seen.log, "edge:web>db ");
	/* a post an hour after the first one ended forgets it (a new replica
	 * starting from 0 does not replay it) */
	assert_int_equal(ops->post_alerts(b, "[2]", 50 + 3600 * 1000 + 1, 3600 * 1000 + 60), 0);
	seen.log[0] = 0;
	cursor = 0;
	assert_int_equal(ops->follow(a, &cursor, &by), 0);
	assert_null(strstr(seen.log, "alerts:[1]"));
	assert_non_null(strstr(seen.log, "alerts:[2]"));

	json_t *arr = json_array();
	assert_int_equal(ops->events_of_anomaly(a, "a1", 1000, arr), 0);
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);
	corr_event_free(&e1);
	corr_event_free(&e2);
	ops->close(a);
	ops->close(b);
}

static void pending_then_acknowledged(void **state)
{
	void *s = open_store();
	uint64_t firing[] = { 0xabc, 0xdef }, resolved[] = { 0x1 };
	struct corr_pending p = { .receiver = "pager",
				  .integ_index = 0,
				  .group_key = "{}:{a=\"1\"}",
				  .nflog_key = "pager/webhook/0:{}:{a=\"1\"}",
				  .firing = firing,
				  .n_firing = 2,
				  .resolved = resolved,
				  .n_resolved = 1,
				  .body = "{\"x\":1}",
				  .created_ms = 100 };
	uint64_t *f, *r;
	size_t nf, nr;
	int64_t ts;

	(void)state;
	assert_int_equal(ops->nflog_get(s, p.nflog_key, &f, &nf, &r, &nr, &ts), 1);
	p.id = ops->pending_add(s, &p);
	assert_true(p.id > 0);
	assert_int_equal(ops->pending_latest(s, p.nflog_key, &f, &nf, &r, &nr, &ts), 0);
	assert_int_equal(nf, 2);
	assert_int_equal(f[1], 0xdef);
	assert_int_equal(nr, 1);
	assert_int_equal(ts, 100);
	free(f);
	free(r);
	assert_int_equal(ops->pending_acked(s, &p, 150), 0);
	assert_int_equal(ops->pending_latest(s, p.nflog_key, &f, &nf, &r, &nr, &ts), 1);
	assert_int_equal(ops->nflog_get(s, p.nflog_key, &f, &nf, &r, &nr, &ts), 0);
	assert_int_equal(nf, 2);
	assert_int_equal(f[0], 0xabc);
	assert_int_equal(ts, 150);
	free(f);
	free(r);
	/* one left pending, then dropped */
	p.id = ops->pending_add(s, &p);
	assert_int_equal(ops->pending_delete(s, p.id), 0);
	assert_int_equal(ops->pending_latest(s, p.nflog_key, &f, &nf, &r, &nr, &ts), 1);
	assert_int_equal(ops->nflog_prune(s, 200), 0);
	assert_int_equal(ops->nflog_get(s, p.nflog_key, &f, &nf, &r, &nr, &ts), 1);
	ops->close(s);
}

static int count_replica(const char *name, const char *address, int leader, int64_t seen_ms,
			 void *arg)
{
	(void)address;
	(void)seen_ms;
	if (!strcmp(name, "r1") && leader)
		++*(int *)arg;
	return 0;
}

static void one_leader_until_its_session_ends(void **state)
{
	void *a = open_store(), *b = open_store();
	int la, lb, n = 0;

	(void)state;
	assert_int_equal(ops->lead(a, &la), 0);
	assert_int_equal(ops->lead(b, &lb), 0);
	assert_int_equal(la + lb, 1);
	void *holder = la ? a : b, *other = la ? b : a;
	assert_int_equal(ops->lead(holder, &la), 0); /* kept */
	assert_int_equal(la, 1);
	assert_int_equal(ops->heartbeat(holder, "r1", "127.0.0.1:1", 1, 1000), 0);
	assert_int_equal(ops->each_replica(other, 500, count_replica, &n), 0);
	assert_int_equal(n, 1);
	ops->close(holder);
	/* The server frees the lock when the closed session's backend has exited,
	 * which happens after close() returns: ask again until it has (bounded). */
	lb = 0;
	for (int tries = 0; tries < 500 && !lb; tries++) {
		assert_int_equal(ops->lead(other, &lb), 0);
		if (!lb)
			usleep(10000);
	}
	assert_int_equal(lb, 1);
	ops->close(other);
}

struct node_seen {
	int64_t n1;
	int count;
};

static int on_node(const char *node, int64_t seen_ms, void *arg)
{
	struct node_seen *n = arg;
	if (!strcmp(node, "n1"))
		n->n1 = seen_ms;
	n->count++;
	return 0;
}

/* Heartbeats at either replica: the latest one counts, an older one late does not. */
static void node_heartbeats_shared(void **state)
{
	void *a = open_store(), *b = open_store();
	struct node_seen n = { 0 };

	(void)state;
	assert_int_equal(ops->node_seen(a, "n1", 1000), 0);
	assert_int_equal(ops->node_seen(b, "n1", 3000), 0);
	assert_int_equal(ops->node_seen(a, "n1", 2000), 0);
	assert_int_equal(ops->node_seen(b, "n2", 10), 0);
	assert_int_equal(ops->each_node(a, on_node, &n), 0);
	assert_int_equal(n.n1, 3000);
	assert_int_equal(n.count, 2);
	ops->close(a);
	ops->close(b);
}

/* The runbook audit on PostgreSQL: what makes an action run once across replicas. */
static void action_audit_shared(void **state)
{
	char err[256], buf[64];
	struct astore *a = astore_open(url, 0, err, sizeof(err)), *b;

	(void)state;
	assert_non_null(a);
	b = astore_open(url, 0, err, sizeof(err));
	assert_non_null(b);
	assert_true(astore_shared(a));
	static const char insert[] =
		"INSERT INTO actions (id, incident, runbook, mode, state, reason, target, dry_run,"
		" labels, plan, created_ms, expires_ms, verify_within_ms)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,NULLIF(?, 0),?) ON CONFLICT (id) DO NOTHING";
	/* proposed by both replicas: one row */
	for (int i = 0; i < 2; i++)
		assert_int_equal(astore_exec(i ? b : a, insert, "sssssssissIII", "act1", "inc1",
					     "rb", "auto", "queued", NULL, "t", 0, "{}", "[]",
					     (int64_t)1764000000000, (int64_t)0, (int64_t)60000),
				 i ? 0 : 1);
	/* claimed by one replica only (the at-most-once commit) */
	static const char claim[] = "UPDATE actions SET state = 'running', started_ms = ?"
				    " WHERE id = ? AND state = 'queued'";
	assert_int_equal(astore_exec(b, claim, "Is", (int64_t)1764000000500, "act1"), 1);
	assert_int_equal(astore_exec(a, claim, "Is", (int64_t)1764000000600, "act1"), 0);
	assert_int_equal(astore_int(a, -1,
				    "SELECT COUNT(*) FROM actions WHERE runbook = ?"
				    " AND started_ms >= ?",
				    "sI", "rb", (int64_t)1764000000000),
			 1);
	json_t *row = astore_action(a, "act1");
	assert_non_null(row);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "running");
	assert_true(json_is_null(json_object_get(row, "reason")));
	json_decref(row);
	/* the kill switch set through one is read through the other */
	assert_int_equal(astore_setting_put(b, "kill_switch", "{\"engaged\":true}"), 0);
	assert_int_equal(astore_setting_get(a, "kill_switch", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"engaged\":true}");
	assert_int_equal(astore_setting_get(a, "nothing", buf, sizeof(buf)), -1);
	/* a breaker saved by one replica (the upsert of action_guard.c) is read by the other */
	static const char save[] =
		"INSERT INTO action_runbooks (name, breaker_open, failures, unresolved,"
		" opened_ms, reason) VALUES (?,?,?,?,?,?) ON CONFLICT (name) DO UPDATE SET"
		" breaker_open = excluded.breaker_open, failures = excluded.failures,"
		" unresolved = excluded.unresolved,"
		" opened_ms = COALESCE(excluded.opened_ms, action_runbooks.opened_ms),"
		" reason = COALESCE(excluded.reason, action_runbooks.reason)";
	for (int i = 0; i < 2; i++)
		assert_int_equal(astore_exec(a, save, "siiiIs", "rb", 1, 2 + i, 0,
					     (int64_t)1764000000000, i ? NULL : "2 failed"),
				 1);
	json_t *rows = astore_strings(b,
				      "SELECT name || ' ' || breaker_open || ' ' || failures"
				      " || ' ' || unresolved || ' ' || reason FROM action_runbooks",
				      NULL);
	assert_int_equal(json_array_size(rows), 1);
	assert_string_equal(json_string_value(json_array_get(rows, 0)), "rb 1 3 0 2 failed");
	json_decref(rows);
	/* a bad statement is an error, not a crash */
	assert_int_equal(astore_exec(a, "UPDATE nosuchtable SET x = ?", "i", 1), -1);
	astore_close(a);
	astore_close(b);
}

static void urls_are_shown_without_password(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(corr_store_display("postgres://u:secret@h:5/db", buf, sizeof(buf)),
			    "postgres://u:***@h:5/db");
	assert_string_equal(corr_store_display("postgres://u@h/db", buf, sizeof(buf)),
			    "postgres://u@h/db");
	assert_string_equal(corr_store_display("/var/lib/x.db", buf, sizeof(buf)), "/var/lib/x.db");
	assert_true(corr_store_is_url("postgresql://h/db"));
	assert_false(corr_store_is_url(":memory:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(urls_are_shown_without_password),
		cmocka_unit_test(stored_once_and_followed_in_order),
		cmocka_unit_test(pending_then_acknowledged),
		cmocka_unit_test(one_leader_until_its_session_ends),
		cmocka_unit_test(node_heartbeats_shared),
		cmocka_unit_test(action_audit_shared),
	};

	url = getenv("SEISMO_TEST_PG_URL");
	if (!url || !url[0]) {
		printf("SEISMO_TEST_PG_URL is not set: no PostgreSQL to test against"
		       " (correlator_ha.sh runs this test on its own cluster)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
