/* The detector: persistence, hysteresis, severity, traffic gate, bad input, events, thresholds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/judge/detector.h"
#include "../../agent/event/events.h"

#define T0 1700000000.0
#define STEP 10.0
#ifndef WEEK_SEED
#define WEEK_SEED 11
#endif
#ifndef SPIKE_SEED
#define SPIKE_SEED 7
#endif

struct sink {
	int count;
	json_t *events[16];
};

/* The detector hands out plain structs; the JSON is the event stage's
 * (events_build), as in the agent. */
static void on_event(const struct detector_event *info, void *user)
{
	struct sink *sink = user;

	assert_non_null(info);
	if (sink->count < 16) {
		sink->events[sink->count] = events_build(info);
		assert_non_null(sink->events[sink->count]);
	}
	sink->count++;
}

static void sink_free(struct sink *sink)
{
	for (int i = 0; i < sink->count && i < 16; i++)
		json_decref(sink->events[i]);
	memset(sink, 0, sizeof(*sink));
}

static unsigned rng_state = 7;

static double jitter(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return ((rng_state >> 8) & 0xffff) / 32767.5 - 1.0;
}

/* 100 requests per interval at about 5 ms, or at `latency` when given. */
static struct observation obs_at(double latency)
{
	double p99 = latency * (1 + 0.05 * jitter());

	return (struct observation){ .interval_s = STEP,
				     .requests = 100,
				     .errors = 0,
				     .sum_seconds = 100 * latency * 0.6,
				     .p50 = latency * 0.5,
				     .p99 = p99 };
}

static void config_for_tests(struct detector_config *c)
{
	detector_config_default(c);
	c->node = "node-1";
	c->for_s = 30;
	c->resolve_for_s = 30;
	c->baseline.warmup_s = 600;
}

/* Feeds `seconds` of observations at latency starting at *t; returns events seen. */
static int run(struct detector *det, double *t, double seconds, double latency)
{
	int events = 0;
	struct detector_labels labels = { .team = "payments", .namespace = "prod" };

	for (double end = *t + seconds; *t < end; *t += STEP) {
		struct observation o = obs_at(latency);
		int n = detector_observe(det, "checkout", &labels, *t, &o);

		assert_true(n >= 0);
		events += n;
	}
	return events;
}

static json_t *find_event(struct sink *sink, const char *metric, const char *state)
{
	for (int i = 0; i < sink->count && i < 16; i++) {
		json_t *e = sink->events[i];

		if (!strcmp(json_string_value(json_object_get(e, "metric")), metric) &&
		    !strcmp(json_string_value(json_object_get(e, "state")), state))
			return e;
	}
	return NULL;
}

static void test_step_fires_then_resolves(void **state)
{
	struct detector_config c;
	struct sink sink = { 0 };
	struct detector *det;
	json_t *firing, *resolved, *baseline;
	double t = T0, step_at;

	config_for_tests(&c);
	det = detector_new(&c, on_event, &sink);
	assert_non_null(det);
	assert_int_equal(run(det, &t, 3600, 0.005), 0);
	step_at = t;
	/* Persistence: nothing during the first 30 s of the step. */
	assert_int_equal(run(det, &t, 30, 0.050), 0);
	run(det, &t, 2 * STEP, 0.050);
	firing = find_event(&sink, "latency_p99", "firing");
	assert_non_null(firing);
	assert_string_equal(json_string_value(json_object_get(firing, "schema")),
			    "seismo.event/v1");
	assert_string_equal(json_string_value(json_object_get(firing, "service")), "checkout");
	assert_true(json_real_value(json_object_get(firing, "value")) > 0.04);
	baseline = json_object_get(firing, "baseline");
	assert_string_equal(json_string_value(json_object_get(baseline, "method")),
			    "seasonal-robust");
	assert_true(fabs(json_real_value(json_object_get(baseline, "expected")) - 0.005) < 0.001);
	assert_true(json_real_value(json_object_get(firing, "score")) >= c.warning_score);
	assert_string_equal(json_string_value(json_object_get(firing, "severity")), "critical");
	assert_string_equal(json_string_value(
				    json_object_get(json_object_get(firing, "labels"), "team")),
			    "payments");
	assert_non_null(json_object_get(firing, "starts_at"));
	assert_null(json_object_get(firing, "ends_at"));
	(void)step_at;
	/* Recovery: resolved after the hysteresis time, sharing the anomaly id. */
	run(det, &t, 600, 0.005);
	resolved = find_event(&sink, "latency_p99", "resolved");
	assert_non_null(resolved);
	assert_string_equal(json_string_value(json_object_get(resolved, "anomaly_id")),
			    json_string_value(json_object_get(firing, "anomaly_id")));
	assert_string_not_equal(json_string_value(json_object_get(resolved, "id")),
				json_string_value(json_object_get(firing, "id")));
	assert_non_null(json_object_get(resolved, "ends_at"));
	sink_free(&sink);
	detector_free(det);
}

static void test_short_blip_does_not_fire(void **state)
{
	struct detector_config c;
	struct sink sink = { 0 };
	struct detector *det;
	double t = T0;

	config_for_tests(&c);
	det = detector_new(&c, on_event, &sink);
	run(det, &t, 3600, 0.005);
	/* 20 s of slowness is shorter than for: 30 s. */
	run(det, &t, 20, 0.050);
	run(det, &t, 600, 0.005);
	assert_int_equal(sink.count, 0);
	sink_free(&sink);
	detector_free(det);
}

static void test_low_traffic_is_not_judged(void **state)
{
	struct detector_config c;
	struct sink sink = { 0 };
	struct detector *det;
	double t = T0;

	config_for_tests(&c);
	det = detector_new(&c, on_event, &sink);
	for (; t < T0 + 7200; t += STEP) {
		struct observation o = obs_at(t > T0 + 3600 ? 0.5 : 0.005);

		o.requests = 3; /* below min_requests = 20 */
		o.sum_seconds = 3 * o.p99;
		detector_observe(det, "quiet", NULL, t, &o);
	}
	assert_int_equal(sink.count, 0);
	assert_true(isnan(detector_latency_threshold(det, "quiet")));
	sink_free(&sink);
	detector_free(det);
}

static void test_bad_input_no_false_alarms(void **state)
{
	struct detector_config c;
	struct sink sink = { 0 };
	struct detector *det;
	struct observation o;
	double t = T0;

	config_for_tests(&c);
	det = detector_new(&c, on_event, &sink);
	run(det, &t, 3600, 0.005);
	for (int i = 0; i < 20; i++, t += STEP) {
		o = obs_at(0.005);
		switch (i % 5) {
		case 0: /* counter reset: negative delta */
			o.requests = -1e9;
			break;
		case 1: /* missing quantiles */
			o.p50 = NAN;
			o.p99 = NAN;
			break;
		case 2: /* more errors than requests, negative latency sum */
			o.errors = 1e6;
			o.sum_seconds = -5;
			break;
		case 3: /* zero requests, zero-length interval */
			o.requests = 0;
			o.interval_s = 0;
			break;
		default:
			o.p99 = INFINITY;
			break;
		}
		assert_true(detector_observe(det, "checkout", NULL, t, &o) >= 0);
	}
	/* The clock steps back an hour, then jumps a day forward. */
	o = obs_at(0.005);
	assert_int_equal(detector_observe(det, "checkout", NULL, t - 3600, &o), 0);
	t += 86400;
	run(det, &t, 600, 0.005);
	assert_int_equal(detector_observe(det, "", NULL, t, &o), -1);
	assert_int_equal(detector_observe(det, "checkout", NULL, NAN, &o), -1);
	assert_int_equal(detector_observe(det, "checkout", NULL, t, NULL), -1);
	assert_int_equal(sink.count, 0);
	sink_free(&sink);
	detector_free(det);
}

/*
 * A young series (the agent's test settings: 1 s intervals, 20 s warm-up)
 * whose anomaly pauses for one interval while pending still fires when it
 * resumes: its first anomalous scores must not have made it look familiar.
 */
static void test_pause_while_pending_still_fires(void **state)
{
	struct detector_config c;
	struct sink sink = { 0 };
	struct detector *det;
	double t = T0;
	/* 30 s normal, 2 s slow, 1 s normal, 10 s slow */
	static const struct {
		double seconds, latency;
	} phases[] = { { 30, 0.005 }, { 2, 0.050 }, { 1, 0.005 }, { 10, 0.050 } };

	detector_config_default(&c);
	c.for_s = 3;
	c.resolve_for_s = 3;
	c.min_requests = 5;
	c.baseline.warmup_s = 20;
	c.baseline.warmup_samples = 20;
	det = detector_new(&c, on_event, &sink);
	for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
		for (double end = t + phases[p].seconds; t < end; t += 1) {
			struct observation o = obs_at(phases[p].latency);

			o.interval_s = 1;
			detector_observe(det, "young", NULL, t, &o);
		}
	}
	assert_non_null(find_event(&sink, "latency_p99", "firing"));
	assert_non_null(find_event(&sink, "latency_mean", "firing"));
	sink_free(&sink);
	detector_free(det);
}

/* A clock stepped back an hour: no alarm, and not blind until it catches up. */
static void test_clock_step_back_is_not_blind(void **state)
{
	struct detector_config c;
	struct sink sink = { 0 };
	struct detector *det;
	double t = T0;

	config_for_tests(&c);
	det = detector_new(&c, on_event, &sink);
	run(det, &t, 3600, 0.005);
	t -= 3600;
	run(det, &t, 600, 0.005);
	assert_int_equal(sink.count, 0);
	run(det, &t, c.for_s + 2 * STEP, 0.050);
	assert_non_null(find_event(&sink, "latency_p99", "firing"));
	sink_free(&sink);
	detector_free(det);
}

static void test_latency_threshold(void **state)
{
	struct detector_config c;
	struct detector *det;
	double t = T0, threshold;

	config_for_tests(&c);
	det = detector_new(&c, NULL, NULL);
	assert_true(isnan(detector_latency_threshold(det, "checkout")));
	assert_true(isnan(detector_latency_threshold(det, "nobody")));
	run(det, &t, 3600, 0.005);
	threshold = detector_latency_threshold(det, "checkout");
	assert_true(threshold >= 0.005 * c.sampling_factor * 0.9);
	assert_true(threshold < 0.02);
	assert_int_equal(detector_service_count(det), 1);
	detector_free(det);
}

static void test_rate_drop_fires_down(void **state)
{
	struct detector_config c;
	struct sink sink = { 0 };
	struct detector *det;
	double t = T0;

	config_for_tests(&c);
	det = detector_new(&c, on_event, &sink);
	run(det, &t, 3600, 0.005);
	for (double end = t + 120; t < end; t += STEP) {
		struct observation o = obs_at(0.005);

		o.requests = 0; /* the service stopped answering */
		o.sum_seconds = 0;
		detector_observe(det, "checkout", NULL, t, &o);
	}
	assert_non_null(find_event(&sink, "request_rate", "firing"));
	sink_free(&sink);
	detector_free(det);
}

static void test_anomalous_dependency_is_listed(void **state)
{
	struct detector_config c;
	struct sink sink = { 0 };
	struct detector *det;
	double t = T0;
	json_t *firing, *dep;

	config_for_tests(&c);
	det = detector_new(&c, on_event, &sink);
	for (; t < T0 + 3600 + 120; t += STEP) {
		double slow = t >= T0 + 3600 ? 0.050 : 0.005;
		struct observation db = obs_at(slow * 0.8), own = obs_at(slow);

		detector_observe_dependency(det, "checkout", "10.0.0.5:5432", "postgres", t, &db);
		detector_observe(det, "checkout", NULL, t, &own);
	}
	firing = find_event(&sink, "latency_p99", "firing");
	assert_non_null(firing);
	dep = json_array_get(json_object_get(firing, "dependencies"), 0);
	assert_non_null(dep);
	assert_string_equal(json_string_value(json_object_get(dep, "endpoint")), "10.0.0.5:5432");
	assert_string_equal(json_string_value(json_object_get(dep, "service")), "postgres");
	assert_true(json_is_true(json_object_get(dep, "anomalous")));
	sink_free(&sink);
	detector_free(det);
}

static void test_cardinality_cap(void **state)
{
	struct detector_config c;
	struct detector *det;
	struct observation o = obs_at(0.005);
	char name[32];

	config_for_tests(&c);
	c.max_services = 5;
	det = detector_new(&c, NULL, NULL);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "svc-%d", i);
		assert_int_equal(detector_observe(det, name, NULL, T0, &o), 0);
	}
	assert_int_equal(detector_service_count(det), 5);
	detector_free(det);
}

static void test_series_core_warning_vs_critical(void **state)
{
	struct detector_config c;
	struct detector_series s;
	struct detector_verdict v;
	double t = T0;

	config_for_tests(&c);
	c.for_s = 0;
	c.critical_score = 1e9; /* nothing is that bad: warning */
	detector_series_init(&s, BASELINE_SEASONAL_ROBUST);
	for (; t < T0 + 3600; t += STEP)
		detector_series_observe(&s, &c, DETECTOR_UP, t, 10 + jitter(), true, &v);
	/* Down is the good side for latency: no anomaly. */
	detector_series_observe(&s, &c, DETECTOR_UP, t, 1, true, &v);
	assert_true(v.judged);
	assert_false(v.anomalous);
	t += STEP;
	detector_series_observe(&s, &c, DETECTOR_UP, t, 40, true, &v);
	assert_true(v.anomalous);
	assert_int_equal(v.transition, DETECTOR_FIRED);
	assert_int_equal(v.severity, DETECTOR_WARNING);
	assert_true(v.score > c.warning_score);
}

/* Standard normal from the test's deterministic generator (Box-Muller). */
static double gauss(void)
{
	double u = (jitter() + 1.0001) / 2.0002, v = (jitter() + 1.0001) / 2.0002;

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

struct week_sink {
	int fired;
	double first_fired_at;
	enum detector_metric first_metric;
};

static void on_week_event(const struct detector_event *info, void *user)
{
	struct week_sink *w = user;

	if (info->transition == DETECTOR_FIRED) {
		if (w->fired++ == 0) {
			w->first_fired_at = info->observed_at;
			w->first_metric = info->metric;
		}
	}
}

/* One interval of a service whose load follows the day (10..90 req/s) with noisy latency. */
static struct observation seasonal_interval(double t, double latency_factor)
{
	double hour = fmod(t / 3600, 24), load = 50 + 40 * sin(2 * M_PI * hour / 24);
	double requests = load * STEP + gauss() * sqrt(load * STEP);
	double latency = latency_factor * 0.005 * (1 + 0.3 * load / 90) * exp(0.2 * gauss());

	return (struct observation){ .interval_s = STEP,
				     .requests = requests,
				     /* 0.1 % errors, Poisson-like noise */
				     .errors = fmax(0, round(requests * 0.001 +
							     gauss() * sqrt(requests * 0.001))),
				     .sum_seconds = requests * latency * 0.7,
				     .p50 = latency * 0.6,
				     .p99 = latency };
}

/*
 * The defaults (for: 5m and all) on a week of 10 s intervals of daily-seasonal,
 * noisy traffic: not one false alarm; then a tenfold latency step fires within
 * the persistence time plus two intervals.
 */
static void test_noisy_week_then_step(void **state)
{
	struct detector_config c;
	struct week_sink sink = { 0 };
	struct detector *det;
	double t = T0, step_at;

	rng_state = (unsigned)(uintptr_t)*state;
	detector_config_default(&c);
	det = detector_new(&c, on_week_event, &sink);
	for (; t < T0 + 7 * 86400; t += STEP) {
		struct observation o = seasonal_interval(t, 1);

		detector_observe(det, "svc", NULL, t, &o);
	}
	assert_int_equal(sink.fired, 0);
	step_at = t;
	for (; t < step_at + 900; t += STEP) {
		struct observation o = seasonal_interval(t, 10);

		detector_observe(det, "svc", NULL, t, &o);
	}
	assert_true(sink.fired >= 1);
	assert_true(sink.first_fired_at - step_at <= c.for_s + 2 * STEP);
	detector_free(det);
}

/*
 * A nightly batch at 03:00 makes p99 spike every day: after a few days it is
 * part of what the series does (each day's first spike value is remembered
 * by the calibration) and stops firing. A far larger spike at that hour
 * still fires. Its repeat the next day is judged against a history that now
 * holds one such value in a day's memory: it may or may not fire (the
 * calibrated tail says about 1 in 10,000), so only the first is required.
 */
static void test_daily_spike_is_learnt_but_not_excused_beyond(void **state)
{
	struct detector_config c;
	struct week_sink sink = { 0 };
	struct detector *det;
	double midnight = floor(T0 / 86400) * 86400 + 86400;
	int fired_late_days = 0, fired_big = 0;

	rng_state = (unsigned)(uintptr_t)*state;
	detector_config_default(&c);
	c.for_s = 60; /* shorter than the 2-minute spike, longer than one noisy interval */
	c.resolve_for_s = 60;
	det = detector_new(&c, on_week_event, &sink);
	for (int day = 0; day < 12; day++) {
		int before = sink.fired;

		for (double t = midnight + day * 86400; t < midnight + (day + 1) * 86400;
		     t += STEP) {
			double into = fmod(t - midnight, 86400);
			/* 5 ms, 20 ms for two minutes at 03:00, 200 ms then on days 10 and 11 */
			double spike = day >= 10 ? 40 : 4;
			struct observation o =
				seasonal_interval(t, into >= 3 * 3600 && into < 3 * 3600 + 120
							     ? spike
							     : 1);

			detector_observe(det, "svc", NULL, t, &o);
		}
		if (day >= 5 && day < 10 && sink.fired > before)
			fired_late_days++;
		if (day >= 10 && sink.fired > before)
			fired_big++;
	}
	assert_int_equal(fired_late_days, 0);
	assert_true(fired_big >= 1);
	detector_free(det);
}

/*
 * A weekly step (weekends at half the weekdays' level, 5-minute values)
 * is new in its first two weeks and fires; from the third week on the
 * hours of the week know it and it fires no more. Before the weekly slots
 * learnt against the week's level, every weekend's start re-anchored the
 * level and the slots never learnt the step: it fired twice a week, every
 * week.
 */
static void test_weekly_step_is_learnt_in_two_weeks(void **state)
{
	struct detector_config c;
	struct detector_series s;
	struct detector_verdict v;
	double monday =
		floor(T0 / (7 * 86400.0)) * 7 * 86400 + 4 * 86400; /* the epoch was a Thursday */
	int fired[6] = { 0 };

	rng_state = 3;
	detector_config_default(&c);
	c.for_s = 0;
	detector_series_init(&s, BASELINE_SEASONAL_ROBUST);
	for (double t = monday; t < monday + 6 * 7 * 86400; t += 300) {
		int week = (int)((t - monday) / (7 * 86400)),
		    weekday = (int)fmod((t - monday) / 86400, 7);
		double value = (weekday >= 5 ? 50 : 100) + 2 * gauss();

		detector_series_observe(&s, &c, DETECTOR_BOTH, t, value, true, &v);
		if (v.transition == DETECTOR_FIRED)
			fired[week]++;
	}
	assert_true(fired[0] + fired[1] >= 2);
	for (int week = 3; week < 6; week++)
		assert_int_equal(fired[week], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_fires_then_resolves),
		cmocka_unit_test(test_short_blip_does_not_fire),
		cmocka_unit_test(test_low_traffic_is_not_judged),
		cmocka_unit_test(test_bad_input_no_false_alarms),
		cmocka_unit_test(test_pause_while_pending_still_fires),
		cmocka_unit_test(test_clock_step_back_is_not_blind),
		cmocka_unit_test(test_latency_threshold),
		cmocka_unit_test(test_rate_drop_fires_down),
		cmocka_unit_test(test_anomalous_dependency_is_listed),
		cmocka_unit_test(test_cardinality_cap),
		cmocka_unit_test(test_series_core_warning_vs_critical),
		cmocka_unit_test_prestate(test_noisy_week_then_step, (void *)(uintptr_t)WEEK_SEED),
		cmocka_unit_test_prestate(test_daily_spike_is_learnt_but_not_excused_beyond,
					  (void *)(uintptr_t)SPIKE_SEED),
		cmocka_unit_test(test_weekly_step_is_learnt_in_two_weeks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
