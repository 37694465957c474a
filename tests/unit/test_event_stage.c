/* The event stage (agent/event/event_stage.c) and the sinks it feeds: a
 * struct detector_event becomes seismo.event/v1 JSON with the kernel
 * samples of its service as exemplars (only those since the anomaly began,
 * newest first, at most EVENT_EXEMPLARS), is kept in the bounded
 * recent-events list, and counted; and the Prometheus text writer
 * (agent/promtext.c) that every /metrics line goes through. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../agent/event/event_stage.h"
#include "../../agent/event/events.h"
#include "../../agent/event/sampler.h"
#include "../../agent/promtext.h"
#include "../../agent/sinks/recent_events.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct seismo_sample slow_request(uint64_t time_ns, uint32_t pid)
{
	struct seismo_sample s = {
		.time_ns = time_ns,
		.latency_ns = 250000000,
		.pid = pid,
		.status = 200,
		.role = SEISMO_ROLE_SERVER,
		.method = 1,
		.local_port = 8080,
		.remote_port = 40000,
	};
	s.local_addr[10] = s.local_addr[11] = 0xff;
	s.local_addr[12] = 127;
	s.local_addr[15] = 1;
	memcpy(s.remote_addr, s.local_addr, 16);
	memcpy(s.comm, "checkout", 8);
	memcpy(s.path, "/pay", 4);
	return s;
}

static struct detector_event firing(const char *service, double starts_at)
{
	static const struct detector_labels labels = { .team = "payments" };
	return (struct detector_event){
		.service = service,
		.labels = &labels,
		.node = "node-1",
		.metric = DETECTOR_LATENCY_P99,
		.transition = DETECTOR_FIRED,
		.severity = DETECTOR_CRITICAL,
		.value = 0.25,
		.score = 9,
		.threshold = 4,
		.estimate = { .ready = true,
			      .expected = 0.01,
			      .spread = 0.002,
			      .mean = NAN,
			      .stddev = NAN,
			      .samples = 100 },
		.starts_at = starts_at,
		.observed_at = starts_at + 30,
	};
}

static json_t *recent_list(const struct recent_events *r)
{
	char *body = recent_events_body(r);
	json_error_t error;
	json_t *doc = body ? json_loads(body, 0, &error) : NULL;

	free(body);
	assert_non_null(doc);
	return doc;
}

static void test_exemplars_and_fan_out(void **state)
{
	struct sampler *sampler = sampler_new();
	struct recent_events *recent = recent_events_new(2);
	struct event_stage stage = { .sampler = sampler, .recent = recent, .exemplar_slack_s = 10 };
	uint64_t now = mono_ns();
	double now_epoch = sampler_epoch_of(now);
	struct detector_event ev = firing("checkout", now_epoch - 5);
	json_t *doc, *events, *last, *exemplars;

	assert_non_null(sampler);
	assert_non_null(recent);
	/* cart: one sample long before its anomaly began, so no exemplar;
	 * checkout: seven during it, of which the newest five. */
	struct seismo_sample old = slow_request(now - 120ULL * 1000000000ULL, 1);
	sampler_add(sampler, "cart", &old);
	for (uint32_t i = 0; i < 7; i++) {
		struct seismo_sample s = slow_request(now - (7 - i) * 1000000000ULL, 100 + i);
		sampler_add(sampler, "checkout", &s);
	}
	event_stage_emit(&ev, &stage);
	ev.service = "cart";
	event_stage_emit(&ev, &stage);
	ev.service = "checkout";
	ev.transition = DETECTOR_RESOLVED;
	ev.ends_at = now_epoch;
	event_stage_emit(&ev, &stage);
	assert_int_equal(stage.emitted, 3);

	doc = recent_list(recent);
	events = json_object_get(doc, "events");
	assert_int_equal(json_array_size(events), 2); /* bounded: the oldest went */
	assert_string_equal(json_string_value(
				    json_object_get(json_array_get(events, 0), "service")),
			    "cart");
	assert_int_equal(json_array_size(json_object_get(json_array_get(events, 0), "exemplars")),
			 0);
	last = json_array_get(events, 1);
	assert_string_equal(json_string_value(json_object_get(last, "state")), "resolved");
	exemplars = json_object_get(last, "exemplars");
	assert_int_equal(json_array_size(exemplars), EVENT_EXEMPLARS);
	/* newest first */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(exemplars, 0), "pid")),
			 106);
	assert_string_equal(json_string_value(
				    json_object_get(json_array_get(exemplars, 0), "path")),
			    "/pay");
	json_decref(doc);
	recent_events_free(recent);
	sampler_free(sampler);
}

/* Without sinks (no correlator, no list) an event is still built and counted. */
static void test_no_sinks(void **state)
{
	struct event_stage stage = { 0 };
	struct detector_event ev = firing("checkout", 1795529000);

	event_stage_emit(&ev, &stage);
	assert_int_equal(stage.emitted, 1);
}

static char *written(void (*fn)(FILE *out))
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	fn(out);
	fclose(out);
	return text;
}

static void write_sample_family(FILE *out)
{
	char esc[64], labels[96];

	prom_family(out, "seismo_x_seconds", "gauge", "A test family.");
	prom_escape_label("a\"b\\c\nd", esc, sizeof(esc));
	snprintf(labels, sizeof(labels), "service=\"%s\"", esc);
	prom_double(out, "seismo_x_seconds", labels, 0.25, 9);
	prom_u64(out, "seismo_x_total", NULL, 18446744073709551615ULL);
	prom_u64(out, "seismo_x_total", "", 0);
}

static void test_promtext(void **state)
{
	char *text = written(write_sample_family);
	char small[6];

	assert_string_equal(text, "# HELP seismo_x_seconds A test family.\n"
				  "# TYPE seismo_x_seconds gauge\n"
				  "seismo_x_seconds{service=\"a\\\"b\\\\c\\nd\"} 0.250000000\n"
				  "seismo_x_total 18446744073709551615\n"
				  "seismo_x_total 0\n");
	free(text);
	/* Truncated to fit, never cut inside an escape. */
	prom_escape_label("ab\"cd", small, sizeof(small));
	assert_string_equal(small, "ab\\\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exemplars_and_fan_out),
		cmocka_unit_test(test_no_sinks),
		cmocka_unit_test(test_promtext),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
