/* The detector's model parts: count and binomial tails, calibration, change point, escalation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/judge/detector.h"
#include "../../agent/judge/surprise.h"
#include "../../agent/judge/tail.h"

#define T0 1700000000.0

static unsigned rng = 12345;

static double uniform(void)
{
	rng = rng * 1103515245u + 12345u;
	return (((rng >> 8) & 0xffff) + 0.5) / 65536.0;
}

static double gauss(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

/* Poisson and negative binomial tails against sums of their probabilities. */
static void test_count_tails(void **state)
{
	double mean = 2.5, sum = 0, pmf = exp(-mean);

	for (int k = 0; k < 12; k++) {
		assert_float_equal(tail_poisson_lower(k, mean), sum + pmf, 1e-9);
		assert_float_equal(tail_poisson_upper(k, mean), 1 - sum, 1e-9);
		sum += pmf;
		pmf *= mean / (k + 1);
	}
	/* NB with mean 2 and variance 6 (r = 1: geometric, p = 1/3): P(X >= k) = (2/3)^k. */
	for (int k = 0; k < 15; k++)
		assert_float_equal(tail_negbin_upper(k, 2, 6), pow(2.0 / 3, k), 1e-9);
	assert_float_equal(tail_negbin_lower(3, 2, 6), 1 - pow(2.0 / 3, 4), 1e-9);
	/* Overdispersion makes a burst less surprising: the point of the count model. */
	assert_true(tail_negbin_upper(20, 2, 20) > 1000 * tail_poisson_upper(20, 2));
	/* No variance beyond the mean: Poisson. */
	assert_float_equal(tail_negbin_upper(5, 2, 2), tail_poisson_upper(5, 2), 1e-12);
	assert_float_equal(tail_normal_upper(1.959963985), 0.025, 1e-9);
}

/* Binomial: 3 errors of 5 requests at a usual 0.1 % is rare; 1 of 5 is not. */
static void test_binomial_error_ratio(void **state)
{
	double p = 0.001;

	assert_float_equal(tail_binomial_upper(1, 5, p), 1 - pow(1 - p, 5), 1e-12);
	assert_float_equal(tail_binomial_upper(5, 5, p), pow(p, 5), 1e-20);
	assert_true(tail_binomial_upper(1, 5, p) > 1e-3);
	assert_true(tail_binomial_upper(3, 5, p) < 1e-7);
	/* The same ratio (60 %) at high traffic is far rarer still. */
	assert_true(tail_binomial_upper(600, 1000, p) < tail_binomial_upper(3, 5, p));
}

/* The gamma tail against chi-square quantiles: chi2(k dof) is Gamma(k / 2, scale 2). */
static void test_gamma_tail(void **state)
{
	/* chi2 with 10 dof: P(X >= 23.209) = 0.01, P(X >= 15.987) = 0.1. */
	assert_float_equal(tail_gamma_upper(5, 23.2093 / 2), 0.01, 1e-5);
	assert_float_equal(tail_gamma_upper(5, 15.9872 / 2), 0.1, 1e-5);
	/* chi2 with 1 dof: P(X >= 3.841) = 0.05; with 34 dof: P(X >= 56.061) = 0.01. */
	assert_float_equal(tail_gamma_upper(0.5, 3.8415 / 2), 0.05, 1e-5);
	assert_float_equal(tail_gamma_upper(17, 56.0609 / 2), 0.01, 1e-5);
	/* Far in the tail without cancellation; the complement of the lower function near it. */
	assert_true(tail_gamma_upper(5, 200) > 0 && tail_gamma_upper(5, 200) < 1e-70);
	assert_float_equal(tail_gamma_upper(3, 2) + tail_gamma_lower(3, 2), 1, 1e-12);
}

/* Residuals of a series in unit spreads, judged and learnt every 5 minutes. */
static struct surprise_result judge_and_learn(struct surprise_state *st,
					      const struct surprise_config *c,
					      enum surprise_side side, double t, double r)
{
	struct surprise_input in = {
		.value = r, .expected = 0, .spread = 1, .count = NAN, .exposure = 300
	};
	struct surprise_result out;

	surprise_judge(st, c, side, t, &in, &out);
	surprise_learn(st, c, side, t, &in, &out, 1);
	return out;
}

/*
 * The variance model: on white noise its nominal tail is close to the truth
 * (a mean of squared residuals is right-skewed; the normal approximation it
 * replaced saw a 1 % rise in about 2 % of values), and its surprise is
 * monotone in the size of the residual that raises it.
 */
static void test_variance_tail(void **state)
{
	struct surprise_config c;
	struct surprise_state st, at;
	struct surprise_result out;
	enum surprise_side sides[] = { SURPRISE_BOTH, SURPRISE_UP };
	double t = T0;
	/* Its own random sequence: the other tests' series stay what they were. */
	unsigned saved = rng;

	rng = 2026;
	surprise_config_default(&c);
	for (size_t k = 0; k < sizeof(sides) / sizeof(sides[0]); k++) {
		int n = 0, beyond = 0;
		double prev;

		surprise_init(&st);
		for (int i = 0; i < 60000; i++, t += 300) {
			out = judge_and_learn(&st, &c, sides[k], t, gauss());
			if (i >= 1000) {
				n++;
				beyond += out.nominal[SURPRISE_VARIANCE] >= 2;
			}
		}
		print_message("variance model, side %d: %.4f of values beyond 1e-2\n", sides[k],
			      (double)beyond / n);
		assert_true(beyond > 0.006 * n && beyond < 0.015 * n);
		prev = -1;
		for (double r = 0; r <= 12; r += 0.01) {
			struct surprise_input in = { .value = r,
						     .expected = 0,
						     .spread = 1,
						     .count = NAN,
						     .exposure = 300 };

			at = st;
			surprise_judge(&at, &c, sides[k], t, &in, &out);
			assert_true(out.nominal[SURPRISE_VARIANCE] >= prev);
			assert_true(out.model_surprise[SURPRISE_VARIANCE] >= 0);
			prev = out.nominal[SURPRISE_VARIANCE];
		}
		assert_true(prev > 1);
	}
	rng = saved;
}

/*
 * At hourly intervals the variance model's hour holds about one value: an
 * ordinary outlier must not be a rarer "noisier series" than the point
 * model finds the outlier itself, and under white noise the model is no
 * more often beyond 1e-2 than 1 in 100.
 */
static void test_variance_model_at_hourly_intervals(void **state)
{
	struct surprise_config c;
	struct surprise_state st, at;
	struct surprise_result out;
	struct surprise_input in = {
		.value = 5, .expected = 0, .spread = 1, .count = NAN, .exposure = 3600
	};
	double t = T0;
	int n = 0, beyond = 0;
	unsigned saved = rng;

	rng = 2027;
	surprise_config_default(&c);
	surprise_init(&st);
	for (int i = 0; i < 20000; i++, t += 3600) {
		out = judge_and_learn(&st, &c, SURPRISE_BOTH, t, gauss());
		if (i >= 100) {
			n++;
			beyond += out.nominal[SURPRISE_VARIANCE] >= 2;
		}
	}
	/* before any assertion: a failure must not change the later tests' series */
	rng = saved;
	print_message("variance model, hourly: %.4f of values beyond 1e-2\n", (double)beyond / n);
	assert_true(beyond < 0.013 * n);
	at = st;
	surprise_judge(&at, &c, SURPRISE_BOTH, t, &in, &out);
	print_message("z 5 hourly: point %.2f variance %.2f\n", out.nominal[SURPRISE_POINT],
		      out.nominal[SURPRISE_VARIANCE]);
	assert_true(out.nominal[SURPRISE_VARIANCE] <= out.nominal[SURPRISE_POINT] + 0.5);
}

/* A calibrated tail is monotone in the nominal surprise, however little or much it has seen. */
static void test_calibration_is_monotone(void **state)
{
	struct surprise_calibrator cal;
	double prev;

	memset(&cal, 0, sizeof(cal));
	for (int round = 0; round < 3; round++) {
		prev = 2;
		for (double s = 0; s < 400; s += 0.01) {
			double p = surprise_calibrated(&cal, s, 0.05, 0.8);

			assert_true(p <= prev + 1e-15);
			assert_true(p >= 0 && p <= 1);
			prev = p;
		}
		/* Teach it a heavy tail: nominal surprises that are often large. */
		for (int i = 0; i < 2000; i++)
			surprise_calibrator_learn(&cal, fabs(gauss()) * (round + 1) * 3, 0.001, 1);
	}
	/* Never-seen surprises still rank: no cap at the memory's size. */
	assert_true(surprise_calibrated(&cal, 200, 0.05, 0.8) <
		    surprise_calibrated(&cal, 60, 0.05, 0.8));
}

/* On noise that matches the nominal law, calibrated p-values are close to nominal. */
static void test_calibration_matches_nominal(void **state)
{
	struct surprise_calibrator cal;

	memset(&cal, 0, sizeof(cal));
	for (int i = 0; i < 20000; i++)
		surprise_calibrator_learn(&cal, -log10(uniform()), 0.0002, 1);
	/* 1 in 10 and 1 in 100 within a factor of 1.5. */
	assert_true(fabs(log10(surprise_calibrated(&cal, 1, 0.05, 0.8)) + 1) < 0.18);
	assert_true(fabs(log10(surprise_calibrated(&cal, 2, 0.01, 0.8)) + 2) < 0.18);
}

/* The detector's score is monotone in the size of the surprise: bigger spike, higher score. */
static void test_score_is_monotone_in_surprise(void **state)
{
	struct detector_config c;
	struct detector_series base, s;
	struct detector_verdict v;
	double t = T0, prev = -1;

	detector_config_default(&c);
	detector_series_init(&base, BASELINE_SEASONAL_ROBUST);
	for (int i = 0; i < 3 * 288; i++, t += 300)
		detector_series_observe(&base, &c, DETECTOR_BOTH, t, 100 + 5 * gauss(), true, &v);
	for (double spike = 0; spike <= 400; spike += 5) {
		s = base;
		detector_series_observe(&s, &c, DETECTOR_BOTH, t, 100 + spike, true, &v);
		assert_true(v.judged);
		assert_true(v.surprise >= prev - 1e-9);
		prev = v.surprise;
	}
	assert_true(prev > 2 * c.warning_score);
}

/* A level shift fires once, and the series adapts to its new level instead of alarming for hours. */
static void test_level_shift_fires_once_then_adapts(void **state)
{
	struct detector_config c;
	struct detector_series s;
	struct detector_verdict v;
	double t = T0;
	int fired = 0, firing_rows = 0;

	detector_config_default(&c);
	c.for_s = 0;
	c.resolve_for_s = 1800;
	detector_series_init(&s, BASELINE_SEASONAL_ROBUST);
	for (int i = 0; i < 3 * 288; i++, t += 300)
		detector_series_observe(&s, &c, DETECTOR_BOTH, t, 32 + 2 * gauss(), true, &v);
	for (int i = 0; i < 2 * 288; i++, t += 300) {
		detector_series_observe(&s, &c, DETECTOR_BOTH, t, 54 + 2 * gauss(), true, &v);
		fired += v.transition == DETECTOR_FIRED;
		firing_rows += s.phase == DETECTOR_FIRING;
		if (i == 0)
			assert_true(v.surprise >= c.warning_score);
	}
	assert_int_equal(fired, 1);
	/* Adapted within hours, not days. */
	assert_true(firing_rows < 6 * 12);
	assert_float_equal(v.estimate.expected, 54, 3);
}

/*
 * Feeds days of 5-minute values from draw() to a fresh series at *t and
 * returns how many anomalies fired after its first two days (false alarms:
 * draw() has none).
 */
static int false_alarms(struct detector_series *s, const struct detector_config *c, double *t,
			int days, double (*draw)(void), struct detector_verdict *v)
{
	int fired = 0;

	detector_series_init(s, BASELINE_SEASONAL_ROBUST);
	for (int i = 0; i < days * 288; i++, *t += 300) {
		detector_series_observe(s, c, DETECTOR_BOTH, *t, draw(), true, v);
		if (i > 2 * 288)
			fired += v->transition == DETECTOR_FIRED;
	}
	assert_true(v->judged);
	return fired;
}

/* Counts of mean ~0.6, and in 1 % of the values a burst of 10 to 30. */
static double bursty_count(void)
{
	double x = uniform() < 0.6 ? 0 : floor(uniform() * 4);

	if (uniform() < 0.01)
		x += 10 + floor(uniform() * 20);
	return x;
}

/* Bursty low counts: the usual bursts are not anomalies, a sustained rise is. */
static void test_bursty_counts(void **state)
{
	struct detector_config c;
	struct detector_series s;
	struct detector_verdict v;
	double t = T0;

	detector_config_default(&c);
	c.for_s = 0;
	/* At most two false alarms in four days (the seed's detector: ~1.4 a day). */
	assert_true(false_alarms(&s, &c, &t, 6, bursty_count, &v) <= 2);
	/* A burst far beyond the usual ones still fires. */
	detector_series_observe(&s, &c, DETECTOR_BOTH, t, 400, true, &v);
	assert_true(v.surprise >= c.warning_score);
}

/*
 * An integer gauge (a CPU percentage near 50, +-2) is not a count of
 * events: a Poisson tail of mean 50 (standard deviation 7) would hide a
 * spike of six of its own standard deviations.
 */
static double cpu_percent(void)
{
	return round(50 + 2 * gauss());
}

static void test_integer_gauge_is_not_a_count(void **state)
{
	struct detector_config c;
	struct detector_series s;
	struct detector_verdict v;
	double t = T0;

	detector_config_default(&c);
	c.for_s = 0;
	c.min_relative_change = 0;
	assert_true(false_alarms(&s, &c, &t, 4, cpu_percent, &v) <= 2);
	detector_series_observe(&s, &c, DETECTOR_BOTH, t, 62, true, &v);
	assert_true(v.surprise >= c.warning_score);
}

/* Errors at low traffic: 1 of 5 requests failing is noise at a usual 0.1 %, 4 of 5 is not. */
static void test_error_ratio_at_low_traffic(void **state)
{
	struct detector_config c;
	struct detector_series s, probe;
	struct detector_verdict v;
	double t = T0;

	detector_config_default(&c);
	c.for_s = 0;
	detector_series_init(&s, BASELINE_SEASONAL_ROBUST);
	for (int i = 0; i < 2 * 8640; i++, t += 10) {
		/* 200 requests an interval, an error now and then (0.1 %) */
		double errors = uniform() < 0.2 ? 1 : 0;
		struct detector_sample x = { .value = errors / 200,
					     .count = errors,
					     .trials = 200 };

		detector_series_observe_sample(&s, &c, DETECTOR_UP, t, &x, true, &v);
	}
	assert_true(v.judged);
	probe = s;
	detector_series_observe_sample(&probe, &c, DETECTOR_UP, t,
				       &(struct detector_sample){
					       .value = 0.2, .count = 1, .trials = 5 },
				       true, &v);
	assert_true(v.surprise < c.warning_score);
	probe = s;
	detector_series_observe_sample(&probe, &c, DETECTOR_UP, t,
				       &(struct detector_sample){
					       .value = 0.8, .count = 4, .trials = 5 },
				       true, &v);
	assert_true(v.surprise >= c.warning_score);
}

/* warning -> critical while an anomaly lasts is an event of its own. */
static void test_escalation(void **state)
{
	struct detector_config c;
	struct detector_series s;
	struct detector_verdict v;
	double t = T0;
	int escalated = 0, fired = 0;

	detector_config_default(&c);
	c.for_s = 0;
	detector_series_init(&s, BASELINE_SEASONAL_ROBUST);
	for (int i = 0; i < 3 * 288; i++, t += 300)
		detector_series_observe(&s, &c, DETECTOR_UP, t, 100 + 5 * gauss(), true, &v);
	/* Place critical between what the first value and the later, far worse one score. */
	{
		struct detector_series probe = s;

		detector_series_observe(&probe, &c, DETECTOR_UP, t, 140, true, &v);
		assert_true(v.surprise >= c.warning_score);
		c.critical_score = v.surprise + 1;
	}
	for (int i = 0; i < 4; i++, t += 300) {
		detector_series_observe(&s, &c, DETECTOR_UP, t, i < 2 ? 140 : 5000, true, &v);
		if (v.transition == DETECTOR_FIRED) {
			fired++;
			assert_int_equal(v.severity, DETECTOR_WARNING);
		}
		if (v.transition == DETECTOR_ESCALATED) {
			escalated++;
			assert_int_equal(v.severity, DETECTOR_CRITICAL);
			assert_true(v.surprise >= c.critical_score);
		}
	}
	assert_int_equal(fired, 1);
	assert_int_equal(escalated, 1);
	assert_string_equal(detector_transition_name(DETECTOR_ESCALATED), "escalated");
}

/*
 * A job that spikes at the same time every day fires on the first days,
 * then is the series' own pattern; the same spike at another hour, and a
 * one-off burst that once hit that slot, still fire.
 */
static void test_recurring_spike_is_learnt(void **state)
{
	struct detector_config c;
	struct detector_series s;
	struct detector_verdict v;
	double t = T0 - fmod(T0, 86400);
	int fired_on_day[8] = { 0 };

	detector_config_default(&c);
	c.for_s = 0;
	detector_series_init(&s, BASELINE_SEASONAL_ROBUST);
	for (int i = 0; i < 8 * 288; i++, t += 300) {
		/* 03:30 every day: ten times the noise on top */
		double x = 100 + 5 * gauss() + (i % 288 == 42 ? 60 : 0);

		detector_series_observe(&s, &c, DETECTOR_BOTH, t, x, true, &v);
		fired_on_day[i / 288] += v.transition == DETECTOR_FIRED;
	}
	/* Judged from day two on (warm-up); learnt after two occurrences. */
	assert_true(fired_on_day[1] + fired_on_day[2] + fired_on_day[3] >= 1);
	for (int d = 4; d < 8; d++)
		assert_int_equal(fired_on_day[d], 0);
	/* The same spike at 11:30 is news. */
	for (int i = 0; i < 138; i++, t += 300)
		detector_series_observe(&s, &c, DETECTOR_BOTH, t, 100 + 5 * gauss(), true, &v);
	detector_series_observe(&s, &c, DETECTOR_BOTH, t, 160, true, &v);
	assert_true(v.surprise >= c.warning_score);
}

/* A burst that hit a slot on one day only, or two days apart, excuses nothing. */
static void test_one_off_is_not_recurring(void **state)
{
	struct detector_config c;
	struct detector_series s;
	struct detector_verdict v;
	double t = T0 - fmod(T0, 86400);
	double before = 0, after = 0;

	detector_config_default(&c);
	c.for_s = 0;
	detector_series_init(&s, BASELINE_SEASONAL_ROBUST);
	for (int i = 0; i < 6 * 288; i++, t += 300) {
		/* 03:30 on days 2 and 4 only */
		bool burst = i % 288 == 42 && (i / 288 == 2 || i / 288 == 4);

		detector_series_observe(&s, &c, DETECTOR_BOTH, t,
					100 + 5 * gauss() + (burst ? 60 : 0), true, &v);
		if (burst && i / 288 == 2)
			before = v.surprise;
		if (burst && i / 288 == 4)
			after = v.surprise;
	}
	assert_true(before >= c.warning_score);
	assert_true(after >= c.warning_score);
}

/* Refractory: soon after an anomaly ended, only a worse one opens; later any does. */
static void test_refractory(void **state)
{
	struct detector_config c;
	struct detector_series s, probe;
	struct detector_verdict v;
	double t = T0, peak;

	detector_config_default(&c);
	c.for_s = 0;
	c.resolve_for_s = 600;
	detector_series_init(&s, BASELINE_SEASONAL_ROBUST);
	for (int i = 0; i < 3 * 288; i++, t += 300)
		detector_series_observe(&s, &c, DETECTOR_UP, t, 100 + 5 * gauss(), true, &v);
	detector_series_observe(&s, &c, DETECTOR_UP, t, 250, true, &v);
	assert_int_equal(v.transition, DETECTOR_FIRED);
	peak = s.peak_score;
	for (int i = 0; i < 6 && s.phase != DETECTOR_NORMAL; i++) {
		t += 300;
		detector_series_observe(&s, &c, DETECTOR_UP, t, 100 + 5 * gauss(), true, &v);
	}
	assert_int_equal(s.phase, DETECTOR_NORMAL);
	t += 300;
	/* A second, weaker spike minutes later: the same incident, no new alert. */
	{
		bool tried = false;

		for (double x = 110; x < 400 && !tried; x += 2) {
			probe = s;
			detector_series_observe(&probe, &c, DETECTOR_UP, t, x, true, &v);
			if (v.surprise < c.warning_score || v.surprise > peak)
				continue;
			tried = true;
			assert_int_equal(v.transition, DETECTOR_NONE);
			assert_int_equal(probe.phase, DETECTOR_NORMAL);
		}
		assert_true(tried);
	}
	/* A worse one is news. */
	probe = s;
	detector_series_observe(&probe, &c, DETECTOR_UP, t, 1000, true, &v);
	assert_int_equal(v.transition, DETECTOR_FIRED);
	/* After the refractory time a weaker one fires again. */
	for (double end = t + c.surprise.refractory_s; t < end; t += 300)
		detector_series_observe(&s, &c, DETECTOR_UP, t, 100 + 5 * gauss(), true, &v);
	detector_series_observe(&s, &c, DETECTOR_UP, t, 160, true, &v);
	assert_int_equal(v.transition, DETECTOR_FIRED);
}

/*
 * An overdispersed count series at mean 1.5 (1 % bursts of 10 to 29),
 * learnt through the surprise models alone: what the count shift model is
 * judged on below.
 */
static void learn_bursty_counts(struct surprise_state *st, const struct surprise_config *cfg,
				double *t)
{
	struct surprise_result r;

	surprise_init(st);
	for (int i = 0; i < 4 * 288; i++, *t += 300) {
		/* Poisson counts of mean 1.5 (Knuth's product of uniforms), plus the bursts. */
		double x = 0;

		for (double product = uniform(); product > exp(-1.5); product *= uniform())
			x++;
		struct surprise_input in = {
			.expected = 1.5, .level = 1.5, .spread = 1.5, .exposure = 1
		};

		if (uniform() < 0.01)
			x += 10 + floor(uniform() * 20);
		in.value = in.count = x;
		surprise_judge(st, cfg, SURPRISE_UP, *t, &in, &r);
		surprise_learn(st, cfg, SURPRISE_UP, *t, &in, &r, 1);
	}
}

/*
 * Counts judged over several values: one count of 6 at a usual 1.5 is
 * within the series' bursts, ten of them are overwhelming evidence (the
 * shift model sums counts against expected counts); the evidence grows
 * with the excess; a series that is not a count series keeps the shift
 * model of residuals.
 */
static void test_count_evidence_over_several_values(void **state)
{
	struct surprise_config cfg;
	struct surprise_state base, st;
	struct surprise_result r;
	struct surprise_input in = { .expected = 1.5, .level = 1.5, .spread = 1.5, .exposure = 1 };
	double t = T0, previous = -1, single, single_nominal, sustained = 0, sustained_nominal = 0;

	surprise_config_default(&cfg);
	learn_bursty_counts(&base, &cfg, &t);
	assert_true(base.dispersion > 1.2);
	in.value = in.count = 6;
	surprise_judge(&base, &cfg, SURPRISE_UP, t, &in, &r);
	single = r.surprise;
	single_nominal = fmax(r.nominal[SURPRISE_POINT], r.nominal[SURPRISE_SHIFT]);
	assert_true(r.count_model);
	assert_true(single < 2 && single_nominal < 2);
	for (double count = 2; count <= 12; count++) {
		double u = t;

		st = base;
		in.value = in.count = count;
		/* An open anomaly calibrates nothing: calibrate 0, as the detector does. */
		for (int i = 0; i < 10; i++, u += 300) {
			surprise_judge(&st, &cfg, SURPRISE_UP, u, &in, &r);
			surprise_learn(&st, &cfg, SURPRISE_UP, u, &in, &r, 0);
		}
		assert_true(r.nominal[SURPRISE_SHIFT] >= previous - 1e-9);
		previous = r.nominal[SURPRISE_SHIFT];
		if (count == 6) {
			sustained = r.surprise;
			sustained_nominal = r.nominal[SURPRISE_SHIFT];
		}
		if (count == 10)
			assert_true(r.surprise >= 4);
	}
	/*
	 * Ten at 4x: about 1e-6.6 by the count law, the series' bursts (which
	 * fill the sum now and then) make it about 1e-2.3 once calibrated.
	 */
	assert_true(sustained_nominal >= 6);
	assert_true(sustained > single + 0.5);

	/* Not a count series: no count sums, the shift model's normal tail as before. */
	surprise_init(&st);
	t = T0;
	for (int i = 0; i < 2 * 288; i++, t += 300) {
		struct surprise_input g = {
			.expected = 100, .level = 100, .spread = 5, .exposure = 1
		};

		g.value = g.count = 100 + 5 * gauss();
		surprise_judge(&st, &cfg, SURPRISE_UP, t, &g, &r);
		surprise_learn(&st, &cfg, SURPRISE_UP, t, &g, &r, 1);
	}
	in = (struct surprise_input){ .value = 112.5,
				      .count = 112.5,
				      .expected = 100,
				      .level = 100,
				      .spread = 5,
				      .exposure = 1 };
	surprise_judge(&st, &cfg, SURPRISE_UP, t, &in, &r);
	assert_false(r.count_model);
	assert_true(st.count_expected == 0 && st.count_observed == 0);
	assert_float_equal(r.nominal[SURPRISE_SHIFT],
			   -log10(tail_normal_upper(r.shift_z / sqrt(fmax(st.shift_norm, 1)))),
			   1e-9);
}

/* Student t noise with dof degrees of freedom (a normal over the root of a scaled chi-square). */
static double student_t(int dof)
{
	double chi2 = 0;

	for (int i = 0; i < dof; i++) {
		double g = gauss();

		chi2 += g * g;
	}
	return gauss() / sqrt(chi2 / dof);
}

/*
 * The tail's shape is learnt over a long memory: 0 when the surprises
 * follow the nominal law (an exponential in the surprise), positive when
 * they have a power-law tail, and one huge value among a normal series'
 * surprises does not make its tail heavy.
 */
static void test_tail_shape_is_learnt(void **state)
{
	struct surprise_calibrator nominal, heavy;
	unsigned saved = rng;
	double after_spike;

	rng = 77;
	memset(&nominal, 0, sizeof(nominal));
	memset(&heavy, 0, sizeof(heavy));
	for (int i = 0; i < 20000; i++) {
		/* P(S >= s) = 10^-s, and a power law with shape 0.5 beyond the same scale. */
		double s = -log10(uniform()), u = uniform();

		surprise_shape_learn(&nominal, s, 0.05, 0.0003, 1);
		surprise_calibrator_learn(&nominal, s, 0.0002, 1);
		s = (pow(u, -0.5) - 1) / (0.5 * M_LN10);
		surprise_shape_learn(&heavy, s, 0.05, 0.0003, 1);
		surprise_calibrator_learn(&heavy, s, 0.0002, 1);
	}
	rng = saved;
	print_message("learnt shapes: nominal %.3f, Pareto 0.5 %.3f\n",
		      surprise_tail_shape(&nominal), surprise_tail_shape(&heavy));
	assert_true(surprise_tail_shape(&nominal) < 0.05);
	/* Below 0.5: each value counts at most 4 times the mean log excess. */
	assert_true(surprise_tail_shape(&heavy) > 0.25 && surprise_tail_shape(&heavy) < 0.6);
	/* One spike among a normal series' surprises (incidents are not learnt; should one be). */
	surprise_shape_learn(&nominal, 200, 0.05, 0, 1);
	after_spike = surprise_tail_shape(&nominal);
	print_message("after one spike: %.3f\n", after_spike);
	assert_true(after_spike < 0.05);
}

/*
 * Two weeks of noise at 5 minutes through the surprise models; the point
 * model's calibrated surprise at spikes of sds[i] standard deviations of
 * the noise after it. Returns the point model's learnt tail shape.
 */
static double point_tail(int dof, const double *sds, int n, double *surprise)
{
	struct surprise_config c;
	struct surprise_state st;
	struct surprise_result out;
	struct surprise_input in = { .expected = 0, .spread = 1, .count = NAN, .exposure = 300 };
	/* The baseline's spread is a mean absolute deviation scaled to a normal's sd. */
	double t = T0, spread = dof == 3 ? 1.2533 * 2 * sqrt(3) / M_PI : 1;

	surprise_config_default(&c);
	surprise_init(&st);
	for (int i = 0; i < 14 * 288; i++, t += 300)
		judge_and_learn(&st, &c, SURPRISE_BOTH, t,
				(dof ? student_t(dof) : gauss()) / spread);
	for (int i = 0; i < n; i++) {
		in.value = sds[i] * (dof ? sqrt(dof / (dof - 2.0)) : 1) / spread;
		surprise_judge(&st, &c, SURPRISE_BOTH, t, &in, &out);
		surprise[i] = out.model_surprise[SURPRISE_POINT];
	}
	return surprise_tail_shape(&st.cal[SURPRISE_POINT]);
}

/*
 * Heavy-tailed noise (Student t(3), as latencies and request counts are):
 * beyond the values a day's histogram has seen, the point model's tail
 * follows the series' learnt power law, not an exponential, so a value of
 * 20 or 30 standard deviations is about as rare as it really is (-log10 of
 * the two-sided t(3) tail: 4.28 and 4.80; an exponential tail said 29 and
 * 62: false alarms), still rare, and ranked by size. Normal noise learns
 * no shape and keeps its sensitivity.
 */
static void test_heavy_tailed_noise(void **state)
{
	static const double heavy_sds[] = { 10, 20, 30 }, truth[] = { 3.38, 4.28, 4.80 };
	static const double normal_sds[] = { 6 };
	unsigned saved = rng;
	double heavy[3][3], normal[3], heavy_shape[3], normal_shape[3];

	for (int seed = 0; seed < 3; seed++) {
		rng = 1001 + seed;
		heavy_shape[seed] = point_tail(3, heavy_sds, 3, heavy[seed]);
		normal_shape[seed] = point_tail(0, normal_sds, 1, &normal[seed]);
	}
	rng = saved;
	for (int seed = 0; seed < 3; seed++) {
		print_message("t(3): shape %.2f, 10/20/30 sd: %.1f %.1f %.1f; normal: shape %.2f, "
			      "6 sd: %.1f\n",
			      heavy_shape[seed], heavy[seed][0], heavy[seed][1], heavy[seed][2],
			      normal_shape[seed], normal[seed]);
		assert_true(heavy_shape[seed] > 0.2);
		for (int i = 0; i < 3; i++) {
			assert_true(heavy[seed][i] > 3);
			assert_true(heavy[seed][i] < truth[i] + 3);
			if (i)
				assert_true(heavy[seed][i] > heavy[seed][i - 1]);
		}
		assert_true(normal_shape[seed] == 0);
		assert_true(normal[seed] > 6);
	}
}

/* Memory per series is constant: a fixed-size struct, whatever the history. */
static void test_constant_memory(void **state)
{
	assert_int_equal(sizeof(struct surprise_state), 2568);
	assert_int_equal(sizeof(struct detector_series), 10856);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_tails),
		cmocka_unit_test(test_binomial_error_ratio),
		cmocka_unit_test(test_calibration_is_monotone),
		cmocka_unit_test(test_calibration_matches_nominal),
		cmocka_unit_test(test_score_is_monotone_in_surprise),
		cmocka_unit_test(test_level_shift_fires_once_then_adapts),
		cmocka_unit_test(test_bursty_counts),
		cmocka_unit_test(test_error_ratio_at_low_traffic),
		cmocka_unit_test(test_escalation),
		cmocka_unit_test(test_recurring_spike_is_learnt),
		cmocka_unit_test(test_one_off_is_not_recurring),
		cmocka_unit_test(test_refractory),
		cmocka_unit_test(test_constant_memory),
		cmocka_unit_test(test_tail_shape_is_learnt),
		cmocka_unit_test(test_heavy_tailed_noise),
		cmocka_unit_test(test_gamma_tail),
		cmocka_unit_test(test_variance_tail),
		cmocka_unit_test(test_variance_model_at_hourly_intervals),
		cmocka_unit_test(test_count_evidence_over_several_values),
		/* last: it draws from the shared generator the tests above were written against */
		cmocka_unit_test(test_integer_gauge_is_not_a_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
