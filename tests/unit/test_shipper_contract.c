/*
 * The event contract between the two halves: what the agent builds
 * (agent/events.c) and ships (agent/shipper.c) is what the correlator's
 * ingest parser accepts, for every metric the detector knows, firing and
 * resolved, with labels, dependencies and exemplars; and the correlator
 * reads the agent's dependencies as evidence.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/event/events.h"
#include "../../correlator/ingest.h"

static json_t *agent_event(enum detector_metric metric, enum detector_transition tr,
			   const struct detector_labels *labels)
{
	struct detector_event ev = {
		.service = "checkout",
		.labels = labels,
		.node = "node-1",
		.cluster = "eu-1",
		.metric = metric,
		.method = BASELINE_SEASONAL_ROBUST,
		.transition = tr,
		.severity = DETECTOR_CRITICAL,
		.value = 0.052,
		.score = 9.3,
		.threshold = 4.0,
		.estimate = { .ready = true,
			      .expected = 0.0049,
			      .spread = 0.0007,
			      .mean = NAN,
			      .stddev = NAN,
			      .samples = 1440 },
		.starts_at = 1795528990.0,
		.observed_at = 1795529110.0,
		.ends_at = 1795529350.0,
	};
	struct detector_dependency deps[] = {
		{ .endpoint = "10.0.0.5:5432",
		  .service = "postgres",
		  .metric = DETECTOR_LATENCY_P99,
		  .value = 0.04,
		  .expected = 0.002,
		  .anomalous = true },
		{ .endpoint = "10.0.0.9:6379",
		  .service = NULL,
		  .metric = DETECTOR_LATENCY_P99,
		  .value = 0.001,
		  .expected = 0.001,
		  .anomalous = false },
	};
	ev.deps = deps;
	ev.ndeps = 2;
	json_t *j = events_build(&ev);
	assert_non_null(j);
	struct events_exemplar ex = { .time = 1795529000.5,
				      .latency_seconds = 0.051,
				      .pid = 123,
				      .comm = "nginx",
				      .local = "10.0.0.1:80",
				      .remote = "10.0.0.9:51234",
				      .method = "GET",
				      .path = "/api/ord",
				      .status = 200 };
	assert_int_equal(events_add_exemplar(j, &ex), 0);
	return j;
}

static void agent_events_pass_the_correlators_parser(void **state)
{
	struct detector_labels labels = { .team = "payments",
					  .app = "checkout",
					  .namespace = "prod",
					  .pod = "checkout-7d9f",
					  .node = "node-1",
					  .cluster = "eu-1" };
	json_t *batch = events_batch_new("node-1", "eu-1", 1795529110.0);

	assert_non_null(batch);
	for (int m = 0; m < DETECTOR_METRICS; m++) {
		assert_int_equal(events_batch_add_event(batch,
							agent_event(m, DETECTOR_FIRED, &labels)),
				 0);
		assert_int_equal(events_batch_add_event(batch,
							agent_event(m, DETECTOR_RESOLVED, NULL)),
				 0);
	}
	assert_int_equal(events_batch_add_edge(batch, "checkout", "postgres", "10.0.0.5:5432",
					       1234),
			 0);
	assert_int_equal(events_batch_add_edge(batch, "checkout", NULL, "10.0.0.9:6379", 10), 0);
	char *text = json_dumps(batch, JSON_COMPACT);
	struct corr_batch b;
	char err[512] = "";

	if (corr_ingest_parse_batch(text, strlen(text), &b, err, sizeof(err)))
		fail_msg("the correlator refuses the agent's batch: %s\n%s", err, text);
	assert_int_equal(b.n_events, 2 * DETECTOR_METRICS);
	for (size_t i = 0; i < b.n_events; i++) {
		const struct corr_event *ev = &b.events[i];
		assert_string_equal(ev->service, "checkout");
		assert_string_equal(ev->node, "node-1");
		assert_int_equal(ev->severity, CORR_SEV_CRITICAL);
		assert_int_equal(ev->resolved, i % 2);
		assert_true(fabs(ev->score - 9.3) < 1e-9);
		assert_int_equal(ev->starts_at_ms, 1795528990000LL);
		/* The agent's own evidence: postgres was anomalous. */
		assert_int_equal(ev->n_deps, 2);
		assert_string_equal(ev->deps[0].service, "postgres");
		assert_true(ev->deps[0].anomalous);
	}
	assert_string_equal(corr_labels_get(&b.events[0].labels, "team"), "payments");
	/* Firing and resolved share the anomaly, not the id. */
	assert_string_equal(b.events[0].anomaly_id, b.events[1].anomaly_id);
	assert_string_not_equal(b.events[0].id, b.events[1].id);
	assert_int_equal(b.n_edges, 2);
	assert_string_equal(b.edges[1].callee, "10.0.0.9:6379");
	corr_batch_free(&b);
	free(text);
	json_decref(batch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(agent_events_pass_the_correlators_parser),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
