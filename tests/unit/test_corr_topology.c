/* Topology correlation: merging connected anomalies, root-cause ranking, severity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../correlator/topology.h"

static const struct corr_topo_params params = {
	.max_hops = 1,
	.slack_ms = 120000,
	.critical_services = 5,
};

/* An event for an anomaly of service at start (seconds), score. */
static void add(struct corr_topology *t, const char *anomaly, const char *service, const char *node,
		int start_s, double score, int resolved_at_s, int *incident, size_t *n_merged,
		bool *created)
{
	struct corr_event ev = { 0 };
	char id[64];
	int merged[8];

	snprintf(id, sizeof(id), "%s%s", anomaly, resolved_at_s ? "f" : "e");
	ev.id = id;
	ev.anomaly_id = (char *)anomaly;
	ev.service = (char *)service;
	ev.node = (char *)node;
	ev.metric = (char *)"latency_p99";
	ev.score = score;
	ev.starts_at_ms = start_s * 1000LL;
	ev.observed_at_ms = ev.starts_at_ms + 60000;
	ev.resolved = resolved_at_s != 0;
	ev.ends_at_ms = resolved_at_s * 1000LL;
	corr_labels_set(&ev.labels, "service", service);
	assert_int_equal(corr_topology_add_event(t, &ev, incident, merged, 8, n_merged, created),
			 0);
	corr_labels_free(&ev.labels);
}

/* frontend -> checkout -> orders -> postgres, and an unrelated batch job. */
static struct corr_topology *chain(void)
{
	struct corr_topology *t = corr_topology_new(&params);

	assert_non_null(t);
	assert_int_equal(corr_topology_add_edge(t, "frontend", "checkout"), 0);
	assert_int_equal(corr_topology_add_edge(t, "checkout", "orders"), 0);
	assert_int_equal(corr_topology_add_edge(t, "orders", "postgres"), 0);
	assert_int_equal(corr_topology_add_edge(t, "reports", "warehouse"), 0);
	return t;
}

static void propagated_fault_is_one_incident(void **state)
{
	struct corr_topology *t = chain();
	int inc[5];
	size_t merged;
	bool created;
	struct corr_incident_view v;

	/* The fault starts at postgres; callers follow; callers' scores are higher (noisier). */
	add(t, "a1", "postgres", "node-1", 1000, 8.0, 0, &inc[0], &merged, &created);
	assert_true(created);
	add(t, "a2", "orders", "node-2", 1020, 11.0, 0, &inc[1], &merged, &created);
	assert_false(created);
	add(t, "a3", "checkout", "node-2", 1030, 12.0, 0, &inc[2], &merged, &created);
	add(t, "a4", "frontend", "node-3", 1045, 6.0, 0, &inc[3], &merged, &created);
	/* Unconnected: its own incident. */
	add(t, "b1", "warehouse", "node-9", 1010, 5.0, 0, &inc[4], &merged, &created);
	assert_true(created);
	assert_int_equal(inc[0], inc[1]);
	assert_int_equal(inc[0], inc[2]);
	assert_int_equal(inc[0], inc[3]);
	assert_int_not_equal(inc[0], inc[4]);
	assert_int_equal(corr_topology_view(t, inc[0], &v), 0);
	assert_string_equal(v.id, "a1");
	assert_int_equal(v.n_services, 4);
	assert_int_equal(v.n_nodes, 3);
	assert_false(v.resolved);
	/* Explained services rank below: postgres first although its score is lowest. */
	assert_string_equal(v.causes[0].service, "postgres");
	assert_false(v.causes[0].explained);
	for (size_t i = 1; i < v.n_causes; i++)
		assert_true(v.causes[i].explained);
	assert_int_equal(v.severity, CORR_SEV_WARNING);
	corr_topology_free(t);
}

static void time_separates_and_resolution(void **state)
{
	struct corr_topology *t = chain();
	int a, b;
	size_t merged;
	bool created;
	struct corr_incident_view v;

	add(t, "a1", "postgres", "n1", 1000, 8.0, 0, &a, &merged, &created);
	add(t, "a1", "postgres", "n1", 1000, 9.0, 1200, &a, &merged, &created);
	assert_int_equal(corr_topology_view(t, a, &v), 0);
	assert_true(v.resolved);
	assert_int_equal(v.end_ms, 1200000);
	assert_int_equal(v.n_events, 2);
	/* An hour later the same neighbour is a new incident. */
	add(t, "a2", "orders", "n1", 5000, 8.0, 0, &b, &merged, &created);
	assert_true(created);
	assert_int_not_equal(a, b);
	corr_topology_free(t);
}

static void bridging_anomaly_merges_incidents(void **state)
{
	struct corr_topology *t = chain();
	int a, b, c;
	size_t merged;
	bool created;
	struct corr_incident_view v;

	add(t, "a1", "postgres", "n1", 1000, 9.0, 0, &a, &merged, &created);
	add(t, "a2", "checkout", "n2", 1010, 7.0, 0, &b, &merged, &created);
	/* Two hops apart with max_hops 1: separate for now. */
	assert_int_not_equal(a, b);
	add(t, "a3", "orders", "n2", 1020, 7.5, 0, &c, &merged, &created);
	assert_int_equal(merged, 1);
	assert_int_equal(c, a);
	assert_int_equal(corr_topology_view(t, b, &v), -1);
	assert_int_equal(corr_topology_find(t, "a2"), a);
	assert_int_equal(corr_topology_view(t, a, &v), 0);
	assert_int_equal(v.n_services, 3);
	assert_string_equal(v.causes[0].service, "postgres");
	corr_topology_free(t);
}

static void unexplained_ranked_by_score_and_severity(void **state)
{
	struct corr_topology *t = corr_topology_new(&params);
	int a;
	size_t merged;
	bool created;
	struct corr_incident_view v;

	/* A hub called by five services, anomalous together: critical by blast radius. */
	const char *callers[] = { "s1", "s2", "s3", "s4" };
	for (int i = 0; i < 4; i++)
		corr_topology_add_edge(t, callers[i], "hub");
	add(t, "h", "hub", "n1", 1000, 5.0, 0, &a, &merged, &created);
	for (int i = 0; i < 4; i++) {
		char id[8];
		snprintf(id, sizeof(id), "c%d", i);
		add(t, id, callers[i], "n2", 1005 + i, 6.0 + i, 0, &a, &merged, &created);
	}
	assert_int_equal(corr_topology_view(t, a, &v), 0);
	assert_int_equal(v.n_services, 5);
	assert_int_equal(v.severity, CORR_SEV_CRITICAL);
	assert_string_equal(v.causes[0].service, "hub");
	/* Nothing explained: the strongest score leads. */
	struct corr_topology *t2 = corr_topology_new(&params);
	int b;
	corr_topology_add_edge(t2, "x", "y");
	corr_topology_add_edge(t2, "x", "z");
	add(t2, "y1", "y", "n", 1000, 4.5, 0, &a, &merged, &created);
	add(t2, "x1", "x", "n", 1010, 3.0, 0, &a, &merged, &created);
	add(t2, "z1", "z", "n", 1050, 20.0, 0, &a, &merged, &created);
	assert_int_equal(corr_topology_view(t2, a, &v), 0);
	assert_int_equal(v.n_services, 3);
	assert_string_equal(v.causes[0].service, "z");
	assert_false(v.causes[0].explained);
	assert_string_equal(v.causes[1].service, "y");
	assert_false(v.causes[1].explained);
	assert_true(v.causes[2].explained);
	/* A callee whose anomaly started 500 s after its caller's cannot explain it. */
	struct corr_topology *t3 = corr_topology_new(&params);
	corr_topology_add_edge(t3, "x", "y");
	add(t3, "x1", "x", "n", 1000, 4.5, 0, &a, &merged, &created);
	add(t3, "y1", "y", "n", 1500, 20.0, 0, &b, &merged, &created);
	assert_true(created);
	assert_int_not_equal(a, b);
	corr_topology_free(t3);
	corr_topology_free(t);
	corr_topology_free(t2);
}

static void endpoints_resolve_to_services(void **state)
{
	struct corr_topology *t = corr_topology_new(&params);
	int a, b;
	size_t merged;
	bool created;

	/* node-1's agent knows 10.0.0.5:5432 is postgres; node-2's only sees the address. */
	assert_int_equal(corr_topology_add_endpoint_edge(t, "billing", "postgres", "10.0.0.5:5432"),
			 0);
	assert_int_equal(corr_topology_add_endpoint_edge(t, "orders", "10.0.0.5:5432",
							 "10.0.0.5:5432"),
			 0);
	add(t, "p1", "postgres", "n1", 1000, 9.0, 0, &a, &merged, &created);
	add(t, "o1", "orders", "n2", 1010, 6.0, 0, &b, &merged, &created);
	assert_int_equal(a, b);
	corr_topology_free(t);
}

static void late_edge_merges_incidents(void **state)
{
	struct corr_topology *t = corr_topology_new(&params);
	int a, b, from[4], into[4];
	size_t merged;
	bool created;
	struct corr_incident_view v;

	add(t, "p1", "postgres", "n1", 1000, 9.0, 0, &a, &merged, &created);
	add(t, "o1", "orders", "n2", 1010, 6.0, 0, &b, &merged, &created);
	assert_int_not_equal(a, b); /* nothing connects them yet */
	assert_int_equal(corr_topology_take_merges(t, from, into, 4), 0);
	/* The edge arrives later: the incidents become one, the older absorbing. */
	assert_int_equal(corr_topology_add_edge(t, "orders", "postgres"), 0);
	assert_int_equal(corr_topology_take_merges(t, from, into, 4), 1);
	assert_int_equal(from[0], b);
	assert_int_equal(into[0], a);
	assert_int_equal(corr_topology_view(t, b, &v), -1);
	assert_int_equal(corr_topology_view(t, a, &v), 0);
	assert_int_equal(v.n_services, 2);
	assert_string_equal(v.causes[0].service, "postgres");
	assert_true(v.causes[1].explained);
	/* An event naming its dependency is placed with it at once. */
	struct corr_topology *t2 = corr_topology_new(&params);
	add(t2, "q1", "db", "n1", 1000, 9.0, 0, &a, &merged, &created);
	struct corr_event ev = { 0 };
	struct corr_event_dep dep = { .service = (char *)"db", .anomalous = true };
	ev.id = (char *)"x";
	ev.anomaly_id = (char *)"w1";
	ev.service = (char *)"web";
	ev.node = (char *)"n2";
	ev.metric = (char *)"latency_p99";
	ev.score = 5;
	ev.starts_at_ms = 1005000;
	ev.deps = &dep;
	ev.n_deps = 1;
	int m[4];
	assert_int_equal(corr_topology_add_event(t2, &ev, &b, m, 4, &merged, &created), 0);
	assert_false(created);
	assert_int_equal(a, b);
	corr_topology_free(t);
	corr_topology_free(t2);
}

/*
 * The case (max_hops 1): frontend calls catalog and payments.
 * payments fails, frontend follows; catalog fails on its own 400 s later.
 * Sharing a caller does not make catalog part of the payments incident, in
 * whatever order the agents' events arrive; only a caller whose own
 * anomaly both could explain joins (and merges) them.
 */
static void siblings_stay_apart(void **state)
{
	for (int order = 0; order < 2; order++) {
		struct corr_topology *t = corr_topology_new(&params);
		int p, f, c;
		size_t merged;
		bool created;
		corr_topology_add_edge(t, "frontend", "catalog");
		corr_topology_add_edge(t, "frontend", "payments");
		if (order == 0) {
			add(t, "p1", "payments", "n1", 1000, 9.0, 0, &p, &merged, &created);
			add(t, "f1", "frontend", "n2", 1010, 6.0, 0, &f, &merged, &created);
			add(t, "c1", "catalog", "n3", 1400, 14.0, 0, &c, &merged, &created);
		} else {
			add(t, "c1", "catalog", "n3", 1400, 14.0, 0, &c, &merged, &created);
			add(t, "p1", "payments", "n1", 1000, 9.0, 0, &p, &merged, &created);
			add(t, "f1", "frontend", "n2", 1010, 6.0, 0, &f, &merged, &created);
		}
		assert_int_equal(merged, 0);
		assert_int_equal(f, p);
		assert_int_not_equal(c, p);
		struct corr_incident_view v;
		assert_int_equal(corr_topology_view(t, p, &v), 0);
		assert_int_equal(v.n_services, 2);
		assert_string_equal(v.causes[0].service, "payments");
		assert_int_equal(corr_topology_view(t, c, &v), 0);
		assert_int_equal(v.n_services, 1);
		assert_string_equal(v.causes[0].service, "catalog");
		corr_topology_free(t);
	}
	/* Both fail together and frontend follows both: one incident, two causes. */
	struct corr_topology *t = corr_topology_new(&params);
	int p, f, c;
	size_t merged;
	bool created;
	corr_topology_add_edge(t, "frontend", "catalog");
	corr_topology_add_edge(t, "frontend", "payments");
	add(t, "p1", "payments", "n1", 1000, 9.0, 0, &p, &merged, &created);
	add(t, "c1", "catalog", "n3", 1005, 14.0, 0, &c, &merged, &created);
	assert_int_not_equal(c, p);
	add(t, "f1", "frontend", "n2", 1010, 6.0, 0, &f, &merged, &created);
	assert_int_equal(merged, 1);
	assert_int_equal(f, p); /* the older absorbs */
	struct corr_incident_view v;
	assert_int_equal(corr_topology_view(t, f, &v), 0);
	assert_int_equal(v.n_services, 3);
	assert_false(v.causes[0].explained);
	assert_false(v.causes[1].explained);
	assert_true(v.causes[2].explained);
	corr_topology_free(t);
}

/*
 * A long uptime: every hour a fault (postgres, then orders) and a frontend
 * anomaly that opens its own incident until checkout's joins both (a
 * merge), all resolved; the retention forgets what ended two hours ago.
 * The slots held stay bounded while slot numbers and ids keep growing,
 * distinct: a forgotten incident's number is never given to a new one.
 */
static void forgotten_incidents_leave_memory(void **state)
{
	struct corr_topology *t = chain();
	const int rounds = 5000;
	int incident, last_slot = -1, gone[256];
	size_t n_merged, max_held = 0;
	bool created;
	char id[4][32];

	(void)state;
	for (int r = 0; r < rounds; r++) {
		int at = r * 3600 + 100000;
		snprintf(id[0], sizeof(id[0]), "pg-%d", r);
		snprintf(id[1], sizeof(id[1]), "or-%d", r);
		snprintf(id[2], sizeof(id[2]), "fe-%d", r);
		snprintf(id[3], sizeof(id[3]), "co-%d", r);
		add(t, id[0], "postgres", "n1", at, 6, 0, &incident, &n_merged, &created);
		assert_true(created);
		assert_true(incident > last_slot); /* creation order, never reused */
		int fault = last_slot = incident;
		add(t, id[1], "orders", "n1", at + 10, 5, 0, &incident, &n_merged, &created);
		assert_int_equal(incident, fault);
		add(t, id[2], "frontend", "n2", at + 20, 4, 0, &incident, &n_merged, &created);
		assert_true(created);
		assert_true(incident > last_slot);
		last_slot = incident;
		add(t, id[3], "checkout", "n1", at + 30, 4, 0, &incident, &n_merged, &created);
		assert_int_equal(incident, fault);
		assert_int_equal(n_merged, 1);
		for (int k = 0; k < 4; k++)
			add(t, id[k],
			    k == 0   ? "postgres"
			    : k == 1 ? "orders"
			    : k == 2 ? "frontend"
				     : "checkout",
			    k == 2 ? "n2" : "n1", at + 10 * k, 5, at + 600, &incident, &n_merged,
			    &created);
		/* The merged incident's id leads to the one that absorbed it. */
		assert_int_equal(corr_topology_find(t, id[2]), fault);
		struct corr_incident_view v;
		assert_int_equal(corr_topology_view(t, fault, &v), 0);
		assert_string_equal(v.id, id[0]);
		assert_int_equal(v.n_anomalies, 4);
		while (corr_topology_forget(t, (at - 7200) * 1000LL, gone, 256) == 256)
			;
		if (corr_topology_slots_held(t) > max_held)
			max_held = corr_topology_slots_held(t);
	}
	/* Two slots an hour, every one numbered, but only the recent ones held. */
	assert_int_equal(corr_topology_incident_slots(t), 2 * rounds);
	assert_true(max_held <= 200);
	assert_true(corr_topology_first_slot(t) > 2 * rounds - 200);
	/* Forgotten: not found, and its old slot views as gone, not as another incident. */
	struct corr_incident_view v;
	assert_int_equal(corr_topology_find(t, "pg-0"), -1);
	assert_int_equal(corr_topology_find(t, "fe-0"), -1);
	assert_int_not_equal(corr_topology_view(t, 0, &v), 0);
	assert_int_not_equal(corr_topology_view(t, 1, &v), 0);
	assert_null(corr_topology_incident_json(t, 0, true));
	const char *ids[4];
	int64_t starts[4];
	assert_int_equal(corr_topology_anomaly_ids(t, 0, ids, starts, 4), 0);
	/* The newest is still there, under its own id. */
	assert_int_equal(corr_topology_find(t, "pg-4999"), last_slot - 1);
	corr_topology_free(t);
}

/*
 * A firing incident holds the slots after it; one of those merged into an
 * older incident that was forgotten: its id no longer leads anywhere.
 */
static void merged_into_forgotten_is_not_found(void **state)
{
	struct corr_topology *t = chain();
	int incident, gone[256];
	size_t n_merged;
	bool created;
	char id[32];

	(void)state;
	for (int r = 0; r < 100; r++) {
		snprintf(id, sizeof(id), "old-%d", r);
		add(t, id, "postgres", "n1", 1000 + r * 3600, 6, 1000 + r * 3600 + 60, &incident,
		    &n_merged, &created);
	}
	int at = 1000 + 100 * 3600;
	add(t, "x-a", "orders", "n1", at, 6, 0, &incident, &n_merged, &created);
	int survivor = incident;
	add(t, "x-b", "warehouse", "n3", at + 5, 3, 0, &incident, &n_merged, &created);
	int firing = incident;
	add(t, "x-c", "frontend", "n2", at + 20, 4, 0, &incident, &n_merged, &created);
	assert_true(created);
	add(t, "x-d", "checkout", "n1", at + 30, 4, 0, &incident, &n_merged, &created);
	assert_int_equal(incident, survivor);
	assert_int_equal(n_merged, 1);
	assert_int_equal(corr_topology_find(t, "x-c"), survivor);
	add(t, "x-a", "orders", "n1", at, 6, at + 600, &incident, &n_merged, &created);
	add(t, "x-c", "frontend", "n2", at + 20, 4, at + 600, &incident, &n_merged, &created);
	add(t, "x-d", "checkout", "n1", at + 30, 4, at + 600, &incident, &n_merged, &created);
	while (corr_topology_forget(t, (at + 700) * 1000LL, gone, 256) == 256)
		;
	/* Everything below the firing incident left memory. */
	assert_int_equal(corr_topology_first_slot(t), firing);
	assert_int_equal(corr_topology_find(t, "x-c"), -1);
	assert_int_equal(corr_topology_find(t, "x-a"), -1);
	assert_int_equal(corr_topology_find(t, "x-b"), firing);
	struct corr_incident_view v;
	assert_int_not_equal(corr_topology_view(t, survivor, &v), 0);
	assert_int_equal(corr_topology_view(t, firing, &v), 0);
	assert_false(v.resolved);
	/* New incidents get new numbers still. */
	add(t, "y-a", "postgres", "n1", at + 4000, 6, 0, &incident, &n_merged, &created);
	assert_true(created);
	assert_int_equal(incident, firing + 2);
	corr_topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(propagated_fault_is_one_incident),
		cmocka_unit_test(time_separates_and_resolution),
		cmocka_unit_test(bridging_anomaly_merges_incidents),
		cmocka_unit_test(unexplained_ranked_by_score_and_severity),
		cmocka_unit_test(endpoints_resolve_to_services),
		cmocka_unit_test(late_edge_merges_incidents),
		cmocka_unit_test(siblings_stay_apart),
		cmocka_unit_test(forgotten_incidents_leave_memory),
		cmocka_unit_test(merged_into_forgotten_is_not_found),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
