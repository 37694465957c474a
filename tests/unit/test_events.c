/* Event JSON: ids, times, fields of the v1 contract, exemplars, batches. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/event/events.h"

static struct detector_event sample_event(enum detector_transition transition)
{
	static const struct detector_labels labels = {
		.team = "payments", .app = "checkout", .namespace = "prod", .pod = "checkout-7d9f"
	};
	struct detector_event ev = {
		.service = "checkout",
		.labels = &labels,
		.node = "node-1",
		.cluster = "eu-1",
		.metric = DETECTOR_LATENCY_P99,
		.method = BASELINE_SEASONAL_ROBUST,
		.transition = transition,
		.severity = DETECTOR_CRITICAL,
		.value = 0.052,
		.score = 9.3,
		.threshold = 4,
		.estimate = { .ready = true,
			      .expected = 0.0049,
			      .spread = 0.0007,
			      .mean = 0.0051,
			      .stddev = NAN,
			      .samples = 1440 },
		.starts_at = 1795529000,
		.observed_at = 1795529120,
		.ends_at = 1795529360,
	};
	return ev;
}

static void test_format_time(void **state)
{
	char buf[32];

	assert_int_equal(events_format_time(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(events_format_time(1397114100.7, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2014-04-10T07:15:00Z");
	assert_int_equal(events_format_time(NAN, buf, sizeof(buf)), -1);
	assert_int_equal(events_format_time(-1, buf, sizeof(buf)), -1);
}

static void test_ids(void **state)
{
	char a[EVENTS_ID_HEX], b[EVENTS_ID_HEX], c[EVENTS_ID_HEX], f[EVENTS_ID_HEX],
		r[EVENTS_ID_HEX];

	events_anomaly_id("node-1", "checkout", "latency_p99", 1000, a);
	events_anomaly_id("node-1", "checkout", "latency_p99", 1000, b);
	events_anomaly_id("node-1", "checkout", "latency_p99", 1060, c);
	assert_int_equal(strlen(a), 32);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	events_anomaly_id("node-1", "checkou", "tlatency_p99", 1000, b);
	assert_string_not_equal(a, b);
	events_event_id(a, "firing", f);
	events_event_id(a, "resolved", r);
	assert_string_not_equal(f, r);
	events_event_id(a, "firing", b);
	assert_string_equal(f, b);
}

static void test_build_firing(void **state)
{
	struct detector_event ev = sample_event(DETECTOR_FIRED);
	struct detector_dependency dep = { .endpoint = "10.0.0.5:5432",
					   .service = "postgres",
					   .metric = DETECTOR_LATENCY_P99,
					   .value = 0.04,
					   .expected = 0.002,
					   .anomalous = true };
	struct events_exemplar ex = { .time = 1795529100,
				      .latency_seconds = 0.051,
				      .pid = 123,
				      .comm = "nginx",
				      .local = "10.0.0.1:80",
				      .remote = "10.0.0.9:51234",
				      .method = "GET",
				      .path = "/api/ord",
				      .status = 200 };
	json_t *e, *baseline, *labels, *x;

	ev.deps = &dep;
	ev.ndeps = 1;
	e = events_build(&ev);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "schema")), "seismo.event/v1");
	assert_string_equal(json_string_value(json_object_get(e, "state")), "firing");
	assert_string_equal(json_string_value(json_object_get(e, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(e, "metric")), "latency_p99");
	assert_float_equal(json_real_value(json_object_get(e, "value")), 0.052, 1e-12);
	assert_float_equal(json_real_value(json_object_get(e, "threshold")), 4, 1e-12);
	assert_string_equal(json_string_value(json_object_get(e, "starts_at")),
			    "2026-11-24T14:03:20Z");
	assert_null(json_object_get(e, "ends_at"));
	baseline = json_object_get(e, "baseline");
	assert_string_equal(json_string_value(json_object_get(baseline, "method")),
			    "seasonal-robust");
	assert_float_equal(json_real_value(json_object_get(baseline, "expected")), 0.0049, 1e-12);
	assert_null(json_object_get(baseline, "stddev")); /* unknown: left out, never NaN */
	assert_int_equal(json_integer_value(json_object_get(baseline, "samples")), 1440);
	labels = json_object_get(e, "labels");
	assert_string_equal(json_string_value(json_object_get(labels, "service")), "checkout");
	assert_string_equal(json_string_value(json_object_get(labels, "namespace")), "prod");
	assert_string_equal(json_string_value(json_object_get(labels, "cluster")), "eu-1");
	assert_int_equal(json_array_size(json_object_get(e, "dependencies")), 1);
	assert_int_equal(json_array_size(json_object_get(e, "exemplars")), 0);
	assert_int_equal(events_add_exemplar(e, &ex), 0);
	x = json_array_get(json_object_get(e, "exemplars"), 0);
	assert_int_equal(json_integer_value(json_object_get(x, "pid")), 123);
	assert_string_equal(json_string_value(json_object_get(x, "path")), "/api/ord");
	assert_int_equal(json_integer_value(json_object_get(x, "status")), 200);
	json_decref(e);
	e = json_object(); /* not an event: no exemplars array */
	assert_int_equal(events_add_exemplar(e, &ex), -1);
	json_decref(e);
}

static void test_resolved_shares_anomaly_id(void **state)
{
	struct detector_event fe = sample_event(DETECTOR_FIRED),
			      re = sample_event(DETECTOR_RESOLVED);
	json_t *f = events_build(&fe), *r = events_build(&re);
	json_t *again = events_build(&fe);

	assert_string_equal(json_string_value(json_object_get(f, "anomaly_id")),
			    json_string_value(json_object_get(r, "anomaly_id")));
	assert_string_not_equal(json_string_value(json_object_get(f, "id")),
				json_string_value(json_object_get(r, "id")));
	/* A resend of the same event has the same id (the correlator drops it). */
	assert_string_equal(json_string_value(json_object_get(f, "id")),
			    json_string_value(json_object_get(again, "id")));
	assert_string_equal(json_string_value(json_object_get(r, "ends_at")),
			    "2026-11-24T14:09:20Z");
	json_decref(f);
	json_decref(r);
	json_decref(again);
}

/* An escalation: the same anomaly firing again, critical, with its own id and where it came from. */
static void test_escalation_event(void **state)
{
	struct detector_event fe = sample_event(DETECTOR_FIRED),
			      ee = sample_event(DETECTOR_ESCALATED);
	json_t *f, *e;

	fe.severity = DETECTOR_WARNING;
	f = events_build(&fe);
	e = events_build(&ee);
	assert_non_null(f);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "state")), "firing");
	assert_string_equal(json_string_value(json_object_get(e, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(e, "escalated_from")), "warning");
	assert_null(json_object_get(f, "escalated_from"));
	assert_string_equal(json_string_value(json_object_get(e, "anomaly_id")),
			    json_string_value(json_object_get(f, "anomaly_id")));
	assert_string_not_equal(json_string_value(json_object_get(e, "id")),
				json_string_value(json_object_get(f, "id")));
	assert_null(json_object_get(e, "ends_at"));
	json_decref(f);
	json_decref(e);
}

static void test_batch(void **state)
{
	struct detector_event fe = sample_event(DETECTOR_FIRED);
	json_t *batch = events_batch_new("node-1", "eu-1", 1795529400);
	json_t *edge;

	assert_non_null(batch);
	assert_int_equal(events_batch_add_event(batch, events_build(&fe)), 0);
	assert_int_equal(events_batch_add_edge(batch, "checkout", "postgres", "10.0.0.5:5432",
					       1234),
			 0);
	assert_string_equal(json_string_value(json_object_get(batch, "sent_at")),
			    "2026-11-24T14:10:00Z");
	assert_int_equal(json_array_size(json_object_get(batch, "events")), 1);
	edge = json_array_get(json_object_get(batch, "edges"), 0);
	assert_int_equal(json_integer_value(json_object_get(edge, "requests")), 1234);
	json_decref(batch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_time),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_build_firing),
		cmocka_unit_test(test_resolved_shares_anomaly_id),
		cmocka_unit_test(test_escalation_event),
		cmocka_unit_test(test_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
