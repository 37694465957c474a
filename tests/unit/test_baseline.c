/* Baselines: warm-up, robustness to one bad hour, seasonality, bad input, the 7-day reference. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../agent/judge/baseline.h"

#define T0 1700000000.0 /* a Tuesday, 22:13 UTC */

/* Deterministic noise in [-1, 1]. */
static double noise(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return ((*state >> 8) & 0xffff) / 32767.5 - 1.0;
}

static void feed(struct baseline *b, const struct baseline_config *c, double from, double to,
		 double step, double (*value)(double t, unsigned *rng), unsigned *rng)
{
	for (double t = from; t < to; t += step)
		assert_int_equal(baseline_update(b, c, t, value(t, rng)), 0);
}

static double steady(double t, unsigned *rng)
{
	return 100 + 5 * noise(rng);
}

static double daily_square(double t, unsigned *rng)
{
	int hour = (int)fmod(t / 3600, 24);

	return (hour >= 9 && hour < 18 ? 80 : 20) + noise(rng);
}

static void test_warmup(void **state)
{
	struct baseline_config c;
	struct baseline b;
	struct baseline_estimate e;
	unsigned rng = 1;

	baseline_config_default(&c);
	c.warmup_s = 3600;
	c.relative_floor = 0.01; /* the learnt spread, not the floor, is under test */
	baseline_init(&b, BASELINE_SEASONAL_ROBUST);
	baseline_estimate(&b, &c, T0, &e);
	assert_false(e.ready);
	feed(&b, &c, T0, T0 + 600, 60, steady, &rng);
	baseline_estimate(&b, &c, T0 + 600, &e);
	assert_false(e.ready); /* 10 samples, 10 minutes: not yet */
	feed(&b, &c, T0 + 600, T0 + 7200, 60, steady, &rng);
	baseline_estimate(&b, &c, T0 + 7200, &e);
	assert_true(e.ready);
	assert_true(fabs(e.expected - 100) < 3);
	/* uniform noise of half-width 5: standard deviation 2.9 */
	assert_true(e.spread > 1.5 && e.spread < 5);
}

/*
 * An hour at ten times the normal value: the robust baseline moves by a small
 * part of the excess and is back a day later, with a spread of the same order;
 * the seed's 7-day mean and standard deviation carry it for a week.
 */
static void test_one_bad_hour_does_not_poison(void **state)
{
	struct baseline_config c;
	struct baseline robust, seed;
	struct baseline_estimate before, after, seed_after;
	unsigned rng = 2;
	double t = T0;

	baseline_config_default(&c);
	baseline_init(&robust, BASELINE_SEASONAL_ROBUST);
	baseline_init(&seed, BASELINE_ZSCORE_7D);
	for (; t < T0 + 3 * 86400; t += 60) {
		double x = steady(t, &rng);

		baseline_update(&robust, &c, t, x);
		baseline_update(&seed, &c, t, x);
	}
	baseline_estimate(&robust, &c, t, &before);
	for (double end = t + 3600; t < end; t += 60) {
		baseline_update(&robust, &c, t, 1000);
		baseline_update(&seed, &c, t, 1000);
	}
	baseline_estimate(&robust, &c, t, &after);
	assert_true(after.expected - before.expected < 0.1 * 900);
	for (double end = t + 86400; t < end; t += 60) {
		double x = steady(t, &rng);

		baseline_update(&robust, &c, t, x);
		baseline_update(&seed, &c, t, x);
	}
	baseline_estimate(&robust, &c, t, &after);
	baseline_estimate(&seed, &c, t, &seed_after);
	assert_true(fabs(after.expected - 100) < 5);
	assert_true(after.spread < 3 * before.spread);
	assert_true(seed_after.stddev > 4 * after.spread);
}

static void test_daily_seasonality(void **state)
{
	struct baseline_config c;
	struct baseline b;
	struct baseline_estimate e;
	unsigned rng = 3;
	double midnight = floor(T0 / 86400) * 86400 + 86400;
	double day8 = midnight + 7 * 86400, worst_day = 0, worst_night = 0;

	baseline_config_default(&c);
	baseline_init(&b, BASELINE_SEASONAL_ROBUST);
	feed(&b, &c, midnight, day8, 60, daily_square, &rng);
	/* On the eighth day, what it expects just before each value. */
	for (double t = day8; t < day8 + 86400; t += 60) {
		double x = daily_square(t, &rng);
		double hour = fmod(t / 3600, 24);

		baseline_estimate(&b, &c, t, &e);
		assert_true(e.ready);
		if (hour >= 12 && hour < 17 && fabs(x - e.expected) > worst_day)
			worst_day = fabs(x - e.expected);
		if (hour >= 2 && hour < 8 && fabs(x - e.expected) > worst_night)
			worst_night = fabs(x - e.expected);
		baseline_update(&b, &c, t, x);
	}
	/* A step of 60 twice a day; hours after the steps it is within 12 (a non-seasonal mean would be 30 off). */
	assert_true(worst_day < 12);
	assert_true(worst_night < 12);
	/* The step itself is learnt: just after 09:00 it expects far more than the night's 20. */
	baseline_estimate(&b, &c, day8 + 86400 + 9 * 3600 + 60, &e);
	assert_true(e.expected > 35);
}

static double daily_sine(double t, unsigned *rng)
{
	return 100 + 30 * sin(2 * M_PI * t / 86400) + noise(rng);
}

/*
 * A smooth daily swing belongs to the seasons, not to the level: a level
 * with a half-life of an hour follows most of a sine of a day, and seasons
 * that learnt only what it left over kept a fraction of the pattern while
 * the level swung with it every day, hiding drifts behind that swing.
 */
static void test_daily_swing_is_learnt_by_the_seasons(void **state)
{
	struct baseline_config c;
	struct baseline b;
	struct baseline_estimate e;
	unsigned rng = 5;
	double midnight = floor(T0 / 86400) * 86400 + 86400;
	double day7 = midnight + 6 * 86400, low = INFINITY, high = -INFINITY;
	double season_low = INFINITY, season_high = -INFINITY;

	baseline_config_default(&c);
	baseline_init(&b, BASELINE_SEASONAL_ROBUST);
	feed(&b, &c, midnight, day7, 300, daily_sine, &rng);
	for (double t = day7; t < day7 + 86400; t += 300) {
		baseline_estimate(&b, &c, t, &e);
		low = fmin(low, e.level);
		high = fmax(high, e.level);
		season_low = fmin(season_low, e.expected - e.level);
		season_high = fmax(season_high, e.expected - e.level);
		assert_true(fabs(e.expected - daily_sine(t, &rng)) < 8);
		baseline_update(&b, &c, t, daily_sine(t, &rng));
	}
	/* The swing is 60 from trough to peak: the seasons hold most of it, the level little. */
	assert_true(season_high - season_low > 45);
	assert_true(high - low < 15);
}

/* Weekdays at 100, weekends at 50 (the week starts on a Monday); a one-off bump when asked. */
static int one_off_week = -1;

static double weekly_step(double t, unsigned *rng)
{
	double monday = floor(T0 / (7 * 86400.0)) * 7 * 86400 + 4 * 86400;
	int week = (int)floor((t - monday) / (7 * 86400)),
	    weekday = (int)fmod((t - monday) / 86400, 7);
	double hour = fmod(t / 3600, 24);

	if (one_off_week >= 0)
		return 100 + noise(rng) * 2 +
		       (week == one_off_week && weekday == 5 && hour >= 10 && hour < 14 ? 40 : 0);
	return (weekday >= 5 ? 50 : 100) + 2 * noise(rng);
}

/*
 * A weekend is the hours of the week's pattern, measured against the
 * week's level (the day's level follows most of a weekend): what both of
 * the last two weeks showed is expected from the third on.
 */
static void test_weekly_pattern_is_learnt_from_two_weeks(void **state)
{
	struct baseline_config c;
	struct baseline b;
	struct baseline_estimate e;
	unsigned rng = 7;
	double monday = floor(T0 / (7 * 86400.0)) * 7 * 86400 + 4 * 86400 + 7 * 86400;
	double week3 = monday + 3 * 7 * 86400;

	one_off_week = -1;
	baseline_config_default(&c);
	baseline_init(&b, BASELINE_SEASONAL_ROBUST);
	feed(&b, &c, monday, week3 + 5 * 86400 + 1800, 300, weekly_step, &rng);
	baseline_estimate(&b, &c, week3 + 5 * 86400 + 1800, &e); /* Saturday 00:30 */
	assert_true(fabs(e.expected - 50) < 5);
	feed(&b, &c, week3 + 5 * 86400 + 1800, week3 + 7 * 86400 + 1800, 300, weekly_step, &rng);
	baseline_estimate(&b, &c, week3 + 7 * 86400 + 1800, &e); /* Monday 00:30 */
	assert_true(fabs(e.expected - 100) < 5);
}

/* One Saturday's four hours at +40 are a one-off: the weeks after do not expect them. */
static void test_one_off_week_is_not_a_pattern(void **state)
{
	struct baseline_config c;
	struct baseline b;
	struct baseline_estimate e;
	unsigned rng = 8;
	double monday = floor(T0 / (7 * 86400.0)) * 7 * 86400 + 4 * 86400;

	one_off_week = 1;
	baseline_config_default(&c);
	baseline_init(&b, BASELINE_SEASONAL_ROBUST);
	for (int week = 2; week < 4; week++) {
		double saturday11 = monday + week * 7 * 86400 + 5 * 86400 + 11 * 3600;

		feed(&b, &c, week == 2 ? monday : saturday11 - 7 * 86400, saturday11, 300,
		     weekly_step, &rng);
		baseline_estimate(&b, &c, saturday11, &e);
		/* the hour-of-week offset keeps a few of the 40 for some weeks; a learnt pattern would be 20 or more */
		assert_true(e.expected - 100 < 8);
	}
	one_off_week = -1;
}

static void test_bad_input_and_clock(void **state)
{
	struct baseline_config c;
	struct baseline b;
	struct baseline_estimate e;
	unsigned rng = 4;
	uint64_t n;

	baseline_config_default(&c);
	c.warmup_s = 3600;
	baseline_init(&b, BASELINE_SEASONAL_ROBUST);
	feed(&b, &c, T0, T0 + 7200, 60, steady, &rng);
	n = b.samples;
	assert_int_equal(baseline_update(&b, &c, T0 + 7200, NAN), -1);
	assert_int_equal(baseline_update(&b, &c, T0 + 7200, INFINITY), -1);
	assert_int_equal(baseline_update(&b, &c, NAN, 1), -1);
	assert_int_equal(baseline_update(&b, &c, T0 + 100, 1e9), -1); /* clock stepped back */
	assert_int_equal(b.samples, n);
	baseline_estimate(&b, &c, T0 + 7200, &e);
	assert_true(isfinite(e.expected) && fabs(e.expected - 100) < 3);
	/* A jump forward past max_gap: not ready at first, the level restarts from the new value. */
	baseline_estimate(&b, &c, T0 + 7200 + c.max_gap_s + 60, &e);
	assert_false(e.ready);
	assert_int_equal(baseline_update(&b, &c, T0 + 7200 + c.max_gap_s + 60, 500), 0);
	baseline_estimate(&b, &c, T0 + 7200 + c.max_gap_s + 120, &e);
	assert_true(e.ready);
	assert_true(fabs(e.expected - 500) < 50);
}

static void test_flat_series_has_a_floor(void **state)
{
	struct baseline_config c;
	struct baseline b;
	struct baseline_estimate e;

	baseline_config_default(&c);
	c.warmup_s = 3600;
	baseline_init(&b, BASELINE_SEASONAL_ROBUST);
	for (double t = T0; t < T0 + 7200; t += 60)
		baseline_update(&b, &c, t, 45);
	baseline_estimate(&b, &c, T0 + 7200, &e);
	assert_true(e.ready);
	assert_true(e.spread >= 45 * c.relative_floor * 0.99);
}

static void test_zscore_7d_reference(void **state)
{
	struct baseline_config c;
	struct baseline b;
	struct baseline_estimate e;
	double hour0 = floor(T0 / 3600) * 3600;

	baseline_config_default(&c);
	baseline_init(&b, BASELINE_ZSCORE_7D);
	/* Hours with means 1..4 (two samples each), then one sample to close the 4th hour. */
	for (int h = 0; h < 4; h++) {
		baseline_update(&b, &c, hour0 + h * 3600 + 10, h + 0.5);
		baseline_update(&b, &c, hour0 + h * 3600 + 20, h + 1.5);
	}
	baseline_update(&b, &c, hour0 + 4 * 3600 + 10, 100);
	assert_int_equal(b.hourly_count, 4);
	baseline_estimate(&b, &c, hour0 + 4 * 3600 + 20, &e);
	assert_float_equal(e.mean, 2.5, 1e-9);
	assert_float_equal(e.stddev, sqrt(5.0 / 3.0), 1e-9);
	assert_float_equal(e.expected, 2.5, 1e-9);
	/* Ring of 168 hours: after 200 hours it holds exactly the last 168. */
	for (int h = 5; h < 205; h++)
		baseline_update(&b, &c, hour0 + h * 3600, h);
	assert_int_equal(b.hourly_count, BASELINE_HOURS_PER_WEEK);
	baseline_estimate(&b, &c, hour0 + 205 * 3600, &e);
	assert_float_equal(e.mean, (36 + 203) / 2.0, 1e-9);
	assert_true(e.ready);
}

static void test_method_names(void **state)
{
	assert_int_equal(baseline_method_parse("seasonal-robust"), BASELINE_SEASONAL_ROBUST);
	assert_int_equal(baseline_method_parse("zscore-7d"), BASELINE_ZSCORE_7D);
	assert_int_equal(baseline_method_parse("ewma"), -1);
	assert_string_equal(baseline_method_name(BASELINE_ZSCORE_7D), "zscore-7d");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warmup),
		cmocka_unit_test(test_one_bad_hour_does_not_poison),
		cmocka_unit_test(test_daily_seasonality),
		cmocka_unit_test(test_daily_swing_is_learnt_by_the_seasons),
		cmocka_unit_test(test_weekly_pattern_is_learnt_from_two_weeks),
		cmocka_unit_test(test_one_off_week_is_not_a_pattern),
		cmocka_unit_test(test_bad_input_and_clock),
		cmocka_unit_test(test_flat_series_has_a_floor),
		cmocka_unit_test(test_zscore_7d_reference),
		cmocka_unit_test(test_method_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
