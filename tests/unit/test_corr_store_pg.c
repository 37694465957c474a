/*
 * The PostgreSQL store backend (store_pg.c) through its ops, against a real
 * server: dedup by event id, the one order replicas follow (edges, events
 * and silences merged by number), the notification log, pending
 * notifications (acknowledged = forgotten and logged, atomically), the
 * leader lock (one holder; released with its session), replica heartbeats.
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

static void stored_once_and_followed_in_order(void **state)
{
	void *a = open_store(), *b = open_store();
	struct corr_event e1, e2;
	struct corr_edge edge = { .caller = "web", .callee = "db", .endpoint = "", .requests = 3 };
	int ins;
	int64_t cursor = 0;
	struct seen seen = { "" };

	(void)state;
	make_event(&e1, "f1", "a1");
	make_event(&e2, "f2", "a1");
	assert_int_equal(ops->begin(a), 0);
	assert_int_equal(ops->upsert_edge(a, &edge, 5), 0);
	assert_int_equal(ops->insert_event(a, &e1, 10, &ins), 0);
	assert_int_equal(ins, 1);
	assert_int_equal(ops->commit(a), 0);
	assert_int_equal(ops->put_silence(b, "s1", "{\"id\":\"s1\"}"), 0);
	/* the same id at the other replica: not stored again */
	assert_int_equal(ops->begin(b), 0);
	assert_int_equal(ops->insert_event(b, &e1, 11, &ins), 0);
	assert_int_equal(ins, 0);
	assert_int_equal(ops->insert_event(b, &e2, 11, &ins), 0);
	assert_int_equal(ins, 1);
	assert_int_equal(ops->commit(b), 0);
	assert_int_equal(ops->count_events(a), 2);

	assert_int_equal(ops->follow(b, &cursor, on_edge, on_event, on_silence, &seen), 0);
	assert_string_equal(seen.log, "edge:web>db event:f1(a) silence:s1 event:f2(a) ");
	/* caught up: nothing again; a later write only */
	seen.log[0] = 0;
	assert_int_equal(ops->follow(b, &cursor, on_edge, on_event, on_silence, &seen), 0);
	assert_string_equal(seen.log, "");
	assert_int_equal(ops->upsert_edge(a, &edge, 20), 0);
	assert_int_equal(ops->follow(a, &cursor, on_edge, on_event, on_silence, &seen), 0);
	assert_string_equal(seen.log, "edge:web>db ");

	json_t *arr = json_array();
	assert_int_equal(ops->events_of_anomaly(a, "a1", arr), 0);
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
	struct corr_pending p = { .receiver = "pager", .integ_index = 0, .group_key = "{}:{a=\"1\"}",
				  .nflog_key = "pager/webhook/0:{}:{a=\"1\"}", .firing = firing,
				  .n_firing = 2, .resolved = resolved, .n_resolved = 1,
				  .body = "{\"x\":1}", .created_ms = 100 };
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
	};

	url = getenv("SEISMO_TEST_PG_URL");
	if (!url || !url[0]) {
		printf("SEISMO_TEST_PG_URL is not set: no PostgreSQL to test against"
		       " (correlator_ha.sh runs this test on its own cluster)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
