/*
 * Calibrated surprise: four simple models, each calibrated on the series' own
 * history, and the recurrence memory.
 * Long file: the models share one judged/learnt state and the calibration
 * they all use; the count and ratio tails live in tail.c.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "surprise.h"
#include "tail.h"

/* Histogram of x = log1p(nominal surprise): 40 bins of 0.15 reach a nominal 1e-400. */
#define BIN_WIDTH 0.15
/* Pseudo-observations of the nominal law (P(S >= s) = 10^-s) mixed into every calibrator. */
#define PRIOR_WEIGHT 10.0
/* Smallest scale of the fitted tail, in bins: a calibrator that has seen one value only. */
#define MIN_TAIL_SCALE (1 / M_LN10)
/* Heaviest tail shape a configuration may allow: 0.8 keeps the fitted tail's mean finite. */
#define MAX_TAIL_SHAPE 0.8
/* A squared statistic counts at most this many times its current unit (3 sigma) towards it: the bulk is learnt, one excursion moves it little. */
#define NORM_CLIP 9.0
/*
 * The calibration's memory holds at least this many values (a day at 5
 * minutes): an hourly series would otherwise calibrate on 24 values.
 */
#define MIN_MEMORY_VALUES 288
/*
 * The tail's shape is learnt over this many times the calibration's memory
 * (a week): a day holds ~15 tail values, far too few for a shape.
 */
#define SHAPE_MEMORY 7.0
/*
 * A value's log(S / u) counts towards the shape at most this many times
 * their mean so far (never below SHAPE_MEAN_FLOOR, about the nominal law's
 * at its 95th percentile), and S at most 10 u: one spike on a normal
 * series must not make its tail heavy for a week (with the 10 u cap alone,
 * one among 26 tail values moved the shape by about 0.3); on a power-law
 * tail the mean settles where few values reach the cap.
 */
#define SHAPE_CLIP_MEANS 4.0
#define SHAPE_MEAN_FLOOR 0.25
/* Values a calibrator must have seen before its model votes (the point model always does). */
#define MIN_CALIBRATED 30
/* Residuals enter the shift, drift and variance models clipped at this many spreads. */
#define RESIDUAL_CLIP 8.0
/* Nominal surprises are capped here (a p-value of 1e-300 is already beyond any threshold). */
#define MAX_NOMINAL 300.0
/* Smallest expected count and error ratio the count and binomial models assume. */
#define MIN_COUNT_MEAN 0.1
#define MIN_ERROR_RATIO 1e-4
/*
 * A count series' dispersion learns a deviation up to this many of its
 * standard deviations: beyond is a burst, which the tail (and the
 * calibration) must judge rather than widen. At 8, bursts of 1 % of the
 * values made the negative binomial so heavy (dispersion ~7 at a mean of
 * 1.5) that an hour at 5x the mean stayed inside its tail.
 */
#define DISPERSION_CLIP 4.0
/*
 * Integers that vary less than half as much as a Poisson count of their
 * mean would (a CPU percentage, a temperature in whole degrees, a queue
 * held near a level) are a gauge, not a count of events: their spread is
 * their own, and a Poisson tail several times too wide would hide a spike
 * of ten of their standard deviations. They are judged like any value.
 */
#define UNDERDISPERSED 0.5
/*
 * ... told only where the mean is large enough for it to show: below it
 * the expected count is floored (MIN_COUNT_MEAN) and a series that is
 * mostly zero looks underdispersed against the floor.
 */
#define UNDERDISPERSED_MIN_MEAN 4.0
/* The count shift statistic remembers at least this many values (half-life). */
#define COUNT_SHIFT_VALUES 3.0
/*
 * A slot's past peaks excuse a value only when they were spikes (beyond 3
 * spreads): the ordinary noise of a slot must not hide a small shift.
 */
#define RECUR_MIN_Z 3.0
/* A recurring peak varies by the series' own noise: it excuses this many spreads more. */
#define RECUR_SLACK 3.0
/* An excused value counts as one this many spreads out at most: ordinary noise. */
#define RECUR_ORDINARY 2.0

void surprise_config_default(struct surprise_config *config)
{
	*config = (struct surprise_config){
		.shift_halflife_s = 5 * 60,
		.drift_fast_halflife_s = 3600,
		.drift_slow_halflife_s = 24 * 3600,
		.variance_halflife_s = 3600,
		.calibration_halflife_s = 24 * 3600,
		.count_max_mean = 100,
		.tail_share = 0.05,
		/*
		 * The point model's tail shape is learnt over a week (0 on a
		 * normal series, ~0.4 on Student t(3) noise); this only caps it.
		 */
		.tail_max_shape = MAX_TAIL_SHAPE,
		.refractory_s = 3600,
	};
}

void surprise_init(struct surprise_state *state)
{
	memset(state, 0, sizeof(*state));
	state->square_mean = 1;
	state->dispersion = 1;
	state->shift_norm = 1;
	state->drift_norm = 1;
	state->variance_norm = 1;
}

static double gain_of(double dt, double halflife)
{
	if (halflife <= 0 || dt <= 0)
		return 1;
	return 1 - exp(-dt * M_LN2 / halflife);
}

/* -log10 P(Z >= z), accurate far into the tail where erfc underflows. */
static double normal_surprise(double z)
{
	double p;

	if (z < 30) {
		p = tail_normal_upper(z);
		return p > 0 ? -log10(p) : MAX_NOMINAL;
	}
	return (z * z / 2 + log(z * sqrt(2 * M_PI))) / M_LN10;
}

/* Nominal surprise of a standard-normal statistic on the bad side(s). */
static double sided_surprise(double z, enum surprise_side side)
{
	double s;

	switch (side) {
	case SURPRISE_UP:
		s = normal_surprise(z);
		break;
	case SURPRISE_DOWN:
		s = normal_surprise(-z);
		break;
	default:
		s = normal_surprise(fabs(z)) - log10(2);
		break;
	}
	if (s < 0)
		s = 0;
	return s > MAX_NOMINAL ? MAX_NOMINAL : s;
}

/*
 * The z with P(Z >= z) = 10^-surprise (Abramowitz and Stegun 26.2.23,
 * error below 5e-4; asymptotic beyond), 0 for a surprise of log10 2 or less.
 */
static double normal_score(double surprise)
{
	double t;

	if (surprise <= M_LOG10E * M_LN2)
		return 0;
	t = sqrt(2 * M_LN10 * surprise);
	return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
			   (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
}

static double p_to_surprise(double p)
{
	if (!(p > 0))
		return MAX_NOMINAL;
	if (p >= 1)
		return 0;
	return fmin(-log10(p), MAX_NOMINAL);
}

/* ---- calibration -------------------------------------------------------------- */

/*
 * P(S >= e^x - 1) under the nominal law, at every bin edge; filled on first
 * use. Filling it twice (two threads at once) writes the same values, and
 * prior_tail[0] = 1 is written last.
 */
static double prior_tail[SURPRISE_BINS + 1];

static void prior_init(void)
{
	if (prior_tail[0] == 1)
		return;
	for (int b = SURPRISE_BINS; b >= 0; b--)
		prior_tail[b] = exp(-M_LN10 * expm1(b * BIN_WIDTH));
}

static double edge_surprise(int b)
{
	return expm1(b * BIN_WIDTH);
}

void surprise_calibrator_learn(struct surprise_calibrator *cal, double nominal, double gain,
			       double weight)
{
	double x = log1p(fmax(nominal, 0)) / BIN_WIDTH;
	int b = x >= SURPRISE_BINS ? SURPRISE_BINS - 1 : (int)x;

	if (gain > 0 && gain < 1) {
		for (int i = 0; i < SURPRISE_BINS; i++)
			cal->hist[i] *= (float)(1 - gain);
		cal->weight *= (float)(1 - gain);
	}
	cal->hist[b] += (float)weight;
	cal->weight += (float)weight;
}

/*
 * The surprise beyond which tail_share of the calibrator's mass (data plus
 * prior) lies: the threshold of the fitted tail.
 */
static double tail_threshold(const struct surprise_calibrator *cal, double tail_share)
{
	double total = cal->weight + PRIOR_WEIGHT, tail = 0;

	prior_init();
	for (int b = SURPRISE_BINS - 1; b >= 0; b--) {
		tail += cal->hist[b] + PRIOR_WEIGHT * (prior_tail[b] - prior_tail[b + 1]);
		if (tail / total > tail_share)
			return edge_surprise(b + 1);
	}
	return 0;
}

void surprise_shape_learn(struct surprise_calibrator *cal, double nominal, double tail_share,
			  double shape_gain, double weight)
{
	double u = tail_threshold(cal, tail_share), l;

	if (shape_gain > 0 && shape_gain < 1) {
		cal->tail_n *= (float)(1 - shape_gain);
		cal->tail_log *= (float)(1 - shape_gain);
		cal->tail_log2 *= (float)(1 - shape_gain);
	}
	if (!(u > 0) || !(nominal > u) || !(weight > 0))
		return;
	l = fmin(log(fmin(nominal / u, 10)),
		 SHAPE_CLIP_MEANS *
			 fmax(cal->tail_n > 0 ? cal->tail_log / cal->tail_n : 0, SHAPE_MEAN_FLOOR));
	cal->tail_n += (float)weight;
	cal->tail_log += (float)(weight * l);
	cal->tail_log2 += (float)(weight * l * l);
}

/*
 * Dekkers, Einmahl and de Haan's moment estimator from the first two
 * moments of log(S / u) beyond u: 0 for an exponential tail in the surprise
 * (a normal series judged as normal), about 0.6 for Student t(3) noise
 * judged as normal (0.4 for t(5)), whatever the scale. Less its standard
 * error at a normal series (about 1 / sqrt(n) for n values beyond u): a
 * shape that noise could give is none, so a normal series keeps its
 * exponential tail and a young series its nominal law. Never negative (a
 * lighter tail than exponential is no reason to make a model's p smaller).
 */
double surprise_tail_shape(const struct surprise_calibrator *cal)
{
	double n = cal->tail_n, m1, m2, shape;

	if (!(n > 0))
		return 0;
	m1 = cal->tail_log / n;
	m2 = cal->tail_log2 / n;
	if (!(m1 > 0) || !(m2 > m1 * m1))
		return 0;
	shape = m1 + 1 - 0.5 / (1 - m1 * m1 / m2) - 1 / sqrt(n);
	return shape > 0 ? shape : 0;
}

/*
 * P(S >= nominal) on this series: the histogram's tail (data plus prior),
 * interpolated within a bin; past the point where tail_share of the mass
 * remains, at least a generalised Pareto tail fitted to the mass beyond
 * (peaks over threshold), so a value beyond anything seen still ranks by
 * distance. Monotone non-increasing in nominal (test_surprise.c).
 */
double surprise_calibrated(const struct surprise_calibrator *cal, double nominal, double tail_share,
			   double max_shape)
{
	double x = log1p(fmax(nominal, 0)) / BIN_WIDTH, total, tail = 0, at_x = 0;
	double u_tail = -1, u_s = 0, half_s = 0, shape, scale, p, fitted;
	int bx = x >= SURPRISE_BINS ? SURPRISE_BINS : (int)x, u = -1;
	double mass_of[SURPRISE_BINS];

	prior_init();
	total = cal->weight + PRIOR_WEIGHT;
	/* Walk down from the top bin, accumulating the tail mass above each edge. */
	for (int b = SURPRISE_BINS - 1; b >= 0; b--) {
		double prior_mass = PRIOR_WEIGHT * (prior_tail[b] - prior_tail[b + 1]);

		mass_of[b] = cal->hist[b] + prior_mass;
		if (b == bx) /* the part of this bin above x */
			at_x = tail + cal->hist[b] * (b + 1 - x) +
			       PRIOR_WEIGHT *
				       (exp(-M_LN10 * expm1(x * BIN_WIDTH)) - prior_tail[b + 1]);
		if ((tail + mass_of[b]) / total > tail_share && u < 0) {
			u = b + 1;
			u_tail = tail;
			u_s = edge_surprise(u);
		}
		tail += mass_of[b];
	}
	if (bx >= SURPRISE_BINS)
		at_x = PRIOR_WEIGHT * exp(-M_LN10 * fmin(nominal, MAX_NOMINAL));
	/* weight and the bins are summed in float separately: their rounding may differ. */
	p = fmin(1, at_x / total);
	if (u < 0 || u_tail <= 0 || nominal <= u_s)
		return p;
	/*
	 * Beyond u, a generalised Pareto tail (peaks over threshold). Shape 0
	 * is an exponential in the nominal surprise (a power of the nominal p,
	 * right for a model that is off by a factor), a positive shape a power
	 * law in it (right when the real tail is heavier than the model's, as
	 * Student t noise judged as normal). The shape is learnt over a week
	 * (surprise_tail_shape; Pickands' estimator from the day's ~15 tail
	 * values was too noisy to trust); the scale follows from it and the
	 * surprise that half of the day's tail mass exceeds, and is never
	 * below the nominal law's.
	 */
	tail = 0;
	for (int b = SURPRISE_BINS - 1; b >= u; b--) {
		if (tail + mass_of[b] >= u_tail / 2) {
			half_s = expm1((b + 1 - (u_tail / 2 - tail) / mass_of[b]) * BIN_WIDTH);
			break;
		}
		tail += mass_of[b];
	}
	shape = surprise_tail_shape(cal);
	max_shape = fmin(max_shape, MAX_TAIL_SHAPE);
	shape = shape < 0 ? 0 : shape > max_shape ? max_shape : shape;
	scale = shape < 1e-6 ? (half_s - u_s) / M_LN2 : shape * (half_s - u_s) / (exp2(shape) - 1);
	if (!(scale >= MIN_TAIL_SCALE))
		scale = MIN_TAIL_SCALE;
	nominal = fmin(nominal, MAX_NOMINAL) - u_s;
	if (shape < 1e-6)
		fitted = u_tail / total * exp(-nominal / scale);
	else
		fitted = u_tail / total * pow(1 + shape * nominal / scale, -1 / shape);
	return fmax(p, fitted);
}

/* ---- recurrence ---------------------------------------------------------------- */

static struct surprise_recurrence *recurrence_slot(struct surprise_recurrence *slots, int count,
						   double period, double t, uint32_t *visit)
{
	double cycles = floor(t / period);
	int k = (int)((t - cycles * period) / (period / count));

	*visit = (uint32_t)fmod(cycles, 4294967296.0);
	return &slots[k < 0 ? 0 : k >= count ? count - 1 : k];
}

/*
 * The peaks of this slot's last two visits before the one in progress at
 * visit (0 for a visit without values): out[0] the latest.
 */
static void previous_peaks(const struct surprise_recurrence *slot, uint32_t visit, double out[2])
{
	uint32_t behind = visit - slot->visit;

	out[0] = out[1] = 0;
	if (behind == 0) {
		out[0] = slot->previous[0];
		out[1] = slot->previous[1];
	} else if (behind == 1) {
		out[0] = slot->current;
		out[1] = slot->previous[0];
	} else if (behind == 2) {
		out[1] = slot->current;
	}
}

/*
 * How far out the residual may be and still be the series' own recurring
 * pattern: what this slot (of the day: or a neighbour, a job that runs at
 * about the same time, +-15 minutes) reached on two earlier
 * days or hours, plus the series' noise; 0 when those were no spikes.
 */
static double recurring_tolerance(const struct surprise_state *st, double t)
{
	static const struct {
		size_t offset;
		int count;
		double period;
		int reach;
	} memories[] = {
		{ offsetof(struct surprise_state, day), SURPRISE_DAY_SLOTS, 86400, 1 },
		{ offsetof(struct surprise_state, hour), SURPRISE_HOUR_SLOTS, 3600, 0 },
	};
	double tolerance = 0, values, dt = st->last_time > 0 ? t - st->last_time : 0;

	for (size_t m = 0; m < sizeof(memories) / sizeof(memories[0]); m++) {
		struct surprise_recurrence *slots =
			(struct surprise_recurrence *)((char *)st + memories[m].offset);
		double width = memories[m].period / memories[m].count, peak[2] = { 0, 0 };

		/* Both of the last two days (hours) reached it, each in this slot or a neighbour. */
		for (int d = -memories[m].reach; d <= memories[m].reach; d++) {
			uint32_t visit;
			const struct surprise_recurrence *slot =
				recurrence_slot(slots, memories[m].count, memories[m].period,
						t + d * width, &visit);
			double p[2];

			previous_peaks(slot, visit, p);
			peak[0] = fmax(peak[0], p[0]);
			peak[1] = fmax(peak[1], p[1]);
		}
		/*
		 * A spike is beyond what noise reaches in one visit: the largest
		 * of n normal values is about sqrt(2 ln n) (a 15-minute slot holds
		 * 3 values at 5 minutes, 90 at 10 seconds) plus one spread, and
		 * never below RECUR_MIN_Z.
		 */
		values = dt > 0 ? fmax(1, width / dt) : 1;
		if (fmin(peak[0], peak[1]) >= fmax(RECUR_MIN_Z, sqrt(2 * log(values)) + 1))
			tolerance = fmax(tolerance, fmin(peak[0], peak[1]) + RECUR_SLACK);
	}
	return tolerance;
}

static void recurrence_learn(struct surprise_recurrence *slots, int count, double period, double t,
			     double peak)
{
	uint32_t visit;
	struct surprise_recurrence *slot = recurrence_slot(slots, count, period, t, &visit);

	if (slot->visit != visit) {
		/* The visit in progress is over: it becomes the latest past one. */
		double p[2];

		previous_peaks(slot, visit, p);
		slot->previous[0] = (float)p[0];
		slot->previous[1] = (float)p[1];
		slot->current = 0;
		slot->visit = visit;
	}
	if (peak > slot->current)
		slot->current = (float)peak;
}

/* ---- the models ---------------------------------------------------------------- */

static bool is_count(double v)
{
	return isfinite(v) && v >= 0 && v == floor(v);
}

/* The expected count and its variance under the count model; false when it does not apply. */
static bool count_model(const struct surprise_state *st, const struct surprise_config *config,
			const struct surprise_input *in, double *mean, double *variance)
{
	if (in->trials > 0 || st->non_integer || !is_count(in->count) || !(in->exposure > 0))
		return false;
	*mean = fmax(in->expected * in->exposure, MIN_COUNT_MEAN);
	if (*mean > config->count_max_mean)
		return false;
	if (st->samples >= MIN_CALIBRATED && *mean >= UNDERDISPERSED_MIN_MEAN &&
	    st->dispersion < UNDERDISPERSED)
		return false;
	*variance = *mean * fmax(st->dispersion, 1);
	return true;
}

/* Nominal surprise of k counts against a negative binomial, on the bad side(s). */
static double negbin_surprise(double k, double mean, double variance, enum surprise_side side)
{
	if ((side & SURPRISE_UP) && k > mean)
		return p_to_surprise(tail_negbin_upper(k, mean, variance));
	if ((side & SURPRISE_DOWN) && k < mean)
		return p_to_surprise(tail_negbin_lower(k, mean, variance));
	return 0;
}

/*
 * The point model's nominal surprise, the residual in standard deviations
 * and that standard deviation in the value's unit (what the other models
 * measure residuals in).
 */
static double point_nominal(const struct surprise_state *st, const struct surprise_config *config,
			    enum surprise_side side, const struct surprise_input *in, double *z,
			    double *scale, bool *counted)
{
	double mean, variance;

	*counted = false;
	*scale = in->spread;
	*z = (in->value - in->expected) / in->spread;
	if (in->trials > 0 && isfinite(in->count) && in->count >= 0) {
		/* k errors of n requests, against the usual error ratio. */
		double q = fmin(fmax(in->expected, MIN_ERROR_RATIO), 1);

		*counted = true;
		*scale = fmax(sqrt(q * (1 - q) / in->trials), in->spread);
		*z = (in->value - q) / *scale;
		return side & SURPRISE_UP
			       ? p_to_surprise(tail_binomial_upper(in->count, in->trials, q))
			       : 0;
	}
	if (count_model(st, config, in, &mean, &variance)) {
		*counted = true;
		/* Never narrower than the baseline's own spread: a mean floored near zero is a guess. */
		*scale = fmax(sqrt(variance) / in->exposure, in->spread);
		*z = (in->count - mean) / sqrt(variance);
		return negbin_surprise(in->count, mean, variance, side);
	}
	return sided_surprise(*z, side);
}

static double clip(double v, double limit)
{
	return v > limit ? limit : v < -limit ? -limit : v;
}

/* The moving parts after learning the value at t (shared by judge and learn). */
struct moved {
	double shift_mean, shift_var, fast_level, fast_var, square_mean, square_var;
	double square_weight; /* the newest square's weight in square_mean */
	double count_observed, count_expected, count_expected_sq;
	bool counted; /* the count sums took this value */
};

/*
 * Half-life of the count sums: the shift model's, but never under
 * COUNT_SHIFT_VALUES values (at 5-minute intervals the shift model's 5
 * minutes would hold about one count, which alone is no evidence of a rise).
 */
static double count_halflife(const struct surprise_config *config, double dt)
{
	return fmax(config->shift_halflife_s, COUNT_SHIFT_VALUES * dt);
}

/*
 * The expected count the count sums are judged against: the expectation
 * at this time with the day's level instead of the hour's. The hour's
 * level follows a sustained rise within 45 minutes (it is clipped, not
 * frozen), and a sum judged against what follows it hides the rise; the
 * day's level moves by a few percent in that time.
 */
static double count_reference(const struct surprise_state *st, const struct surprise_input *in,
			      double mean)
{
	if (!st->samples)
		return mean;
	return fmax((in->expected - in->level + st->slow_level) * in->exposure, MIN_COUNT_MEAN);
}

/*
 * The count shift model's nominal surprise: the decayed sum of counts
 * against the decayed sum of their expected counts. A sum whose weights
 * are w stands for fewer values than its terms: in units of
 * c = sum w^2 mu / sum w mu it has the mean and variance of a negative
 * binomial with mean sum w mu / c and the series' own dispersion (exact for
 * one value, where it is the point model; a moment match for more).
 */
static double count_shift_surprise(const struct moved *m, double dispersion,
				   enum surprise_side side, double *z)
{
	double unit, k, mean, s;

	*z = 0;
	if (!(m->count_expected > 0) || !(m->count_expected_sq > 0))
		return 0;
	unit = m->count_expected_sq / m->count_expected;
	k = m->count_observed / unit;
	mean = m->count_expected / unit;
	s = negbin_surprise(k, mean, mean * fmax(dispersion, 1), side);
	*z = k >= mean ? normal_score(s) : -normal_score(s);
	return s;
}

/*
 * The variance model watches the bad side only: r^2 of residuals on that
 * side, scaled so that its mean is 1 under unit normal noise (one side:
 * E = 1/2, Var = 5/4; both: E = 1, Var = 2). A latency that gets noisier
 * only downwards is not a problem.
 */
static double side_square(double r, enum surprise_side side)
{
	if (side == SURPRISE_UP)
		return r > 0 ? 2 * r * r : 0;
	if (side == SURPRISE_DOWN)
		return r < 0 ? 2 * r * r : 0;
	return r * r;
}

static double side_square_variance(enum surprise_side side)
{
	return side == SURPRISE_BOTH ? 2 : 5;
}

/*
 * Nominal surprise of the variance model: P(S >= square_mean) where S, the
 * EWMA of squared residuals, is a weighted sum of independent terms of mean
 * 1 and variance side_square_variance (a chi-square with one degree of
 * freedom, or twice its half on one side). Such a sum is right-skewed: a
 * gamma law with its mean (1) and variance (v = that variance times
 * square_var, the sum of squared weights) approximates it (Satterthwaite's
 * approximation; shape 1/v, about half the effective degrees of freedom
 * 1/square_var). The normal approximation it replaces made a moderate rise
 * look far rarer than it is (square_mean 2.5 at square_var 0.029: 1e-9.5
 * against about 1e-6) and a fall below 1 impossible.
 */
static double variance_surprise(double square_mean, double square_var, double newest_weight,
				enum surprise_side side)
{
	double v = side_square_variance(side) * square_var, shape, alone, gamma;

	if (!(v > 0) || !(square_mean > 0))
		return 0;
	shape = 1 / v;
	gamma = p_to_surprise(tail_gamma_upper(shape, shape * square_mean));
	if (!(newest_weight > 0))
		return gamma;
	/*
	 * The sum is never below its newest term, so P(S >= s) is at least
	 * P(newest square >= s / its weight): where the memory holds few
	 * values (an hour at hourly intervals) the gamma law's light tail
	 * would make one ordinary outlier a rarer "noisier series" than the
	 * point model finds the outlier itself.
	 */
	alone = square_mean / newest_weight;
	alone = side == SURPRISE_BOTH ? sided_surprise(sqrt(alone), side)
				      : normal_surprise(sqrt(alone / 2));
	return fmin(gamma, alone);
}

/* The count sums after the value at t (a count series only; otherwise they stay as they are). */
static void move_counts(const struct surprise_state *st, const struct surprise_config *config,
			const struct surprise_input *in, double dt, bool excused, struct moved *m)
{
	double mean, variance, reference, keep, count;

	m->count_observed = st->count_observed;
	m->count_expected = st->count_expected;
	m->count_expected_sq = st->count_expected_sq;
	m->counted = false;
	if (!count_model(st, config, in, &mean, &variance))
		return;
	reference = count_reference(st, in, mean);
	keep = st->samples ? 1 - gain_of(dt, count_halflife(config, dt)) : 0;
	/* Clipped like the residuals; a recurring value counts as an ordinary one. */
	count = fmin(in->count, reference + (excused ? RECUR_ORDINARY : RESIDUAL_CLIP) *
						    sqrt(reference * fmax(st->dispersion, 1)));
	m->count_observed = keep * st->count_observed + count;
	m->count_expected = keep * st->count_expected + reference;
	m->count_expected_sq = keep * keep * st->count_expected_sq + reference;
	m->counted = true;
}

static void move(const struct surprise_state *st, const struct surprise_config *config,
		 enum surprise_side side, double t, const struct surprise_input *in, double z,
		 double scale, bool excused, struct moved *m)
{
	double dt = st->last_time > 0 ? t - st->last_time : 0;
	double gs = st->samples ? gain_of(dt, config->shift_halflife_s) : 1;
	double gf = st->samples ? gain_of(dt, config->drift_fast_halflife_s) : 1;
	double gv = st->samples ? gain_of(dt, config->variance_halflife_s) : 1;
	double r = clip(z, RESIDUAL_CLIP);
	/* A recurring value counts as an ordinary one for the level too. */
	double deseasonal = in->level + clip(in->value - in->expected,
					     (excused ? RECUR_ORDINARY : RESIDUAL_CLIP) * scale);

	m->shift_mean = (1 - gs) * st->shift_mean + gs * r;
	m->shift_var = (1 - gs) * (1 - gs) * st->shift_var + gs * gs;
	m->fast_level = (1 - gf) * st->fast_level + gf * deseasonal;
	m->fast_var = (1 - gf) * (1 - gf) * st->fast_var + gf * gf;
	m->square_mean = (1 - gv) * st->square_mean + gv * side_square(r, side);
	m->square_var = (1 - gv) * (1 - gv) * st->square_var + gv * gv;
	m->square_weight = gv;
	move_counts(st, config, in, dt, excused, m);
}

/* How long a model's calibrator must have been learning before the model votes. */
static double model_memory(const struct surprise_config *config, int model)
{
	switch (model) {
	case SURPRISE_SHIFT:
		return config->shift_halflife_s;
	case SURPRISE_DRIFT:
		return config->drift_slow_halflife_s;
	case SURPRISE_VARIANCE:
		return config->variance_halflife_s;
	default:
		return 0;
	}
}

void surprise_judge(const struct surprise_state *st, const struct surprise_config *config,
		    enum surprise_side side, double t, const struct surprise_input *in,
		    struct surprise_result *out)
{
	double nominal[SURPRISE_MODELS], z, scale, best = 1;
	struct moved m;
	bool counted;

	memset(out, 0, sizeof(*out));
	nominal[SURPRISE_POINT] = point_nominal(st, config, side, in, &z, &scale, &counted);
	/*
	 * A count or a few errors are far from normal: the other models see
	 * the normal score with the same tail probability instead (one error
	 * in five requests is z 2.6 at a usual 0.1 %, not 14).
	 */
	if (counted)
		z = z >= 0 ? normal_score(nominal[SURPRISE_POINT])
			   : -normal_score(nominal[SURPRISE_POINT]);
	out->raw_z = z;
	out->recurring = recurring_tolerance(st, t);
	if (out->recurring > 0 && fabs(z) <= out->recurring) {
		/*
		 * No further out than this slot went on the last two days: the
		 * series' own pattern, which every model sees as an ordinary
		 * value (its excess beyond RECUR_ORDINARY spreads removed; values
		 * within that are untouched, so the models keep their noise).
		 */
		z = clip(z, RECUR_ORDINARY);
		nominal[SURPRISE_POINT] = fmin(nominal[SURPRISE_POINT], sided_surprise(z, side));
	}
	out->z = z;
	out->count_model = counted;
	/* The other models see the residual in the same standard deviations. */
	if (!isfinite(scale) || scale <= 0)
		scale = in->spread;
	move(st, config, side, t, in, z, scale,
	     out->recurring > 0 && fabs(out->raw_z) <= out->recurring, &m);
	out->shift_z = m.shift_mean / sqrt(m.shift_var);
	out->drift_z = (m.fast_level - st->slow_level) / (scale * sqrt(m.fast_var + 1e-9));
	/*
	 * Residuals are not white noise (a level that lags a daily slope,
	 * minute-to-minute correlation): the averages' own typical size on
	 * this series, when larger than white noise would give, is their unit.
	 */
	if (m.counted) {
		/*
		 * A count series: the shift model judges the counts of several
		 * values together (ten values at 4x the mean are overwhelming
		 * evidence, each alone is within an overdispersed tail).
		 */
		double s = count_shift_surprise(&m, st->dispersion, side, &out->shift_z);

		nominal[SURPRISE_SHIFT] = st->samples ? s : 0;
	} else {
		nominal[SURPRISE_SHIFT] =
			st->samples
				? sided_surprise(out->shift_z / sqrt(fmax(st->shift_norm, 1)), side)
				: 0;
	}
	nominal[SURPRISE_DRIFT] =
		st->samples ? sided_surprise(out->drift_z / sqrt(fmax(st->drift_norm, 1)), side)
			    : 0;
	/*
	 * Likewise the variance statistic: at 10-second intervals an hour's
	 * mean of squares looks like a thousand independent values under
	 * white noise, but autocorrelated residuals (a baseline that lags a
	 * daily slope) make it swing far more; its own typical squared
	 * excess on this series, when larger than white noise would give,
	 * widens the gamma law (fewer effective degrees of freedom).
	 */
	out->variance_z =
		(m.square_mean - 1) / sqrt(side_square_variance(side) * m.square_var + 1e-12);
	nominal[SURPRISE_VARIANCE] =
		st->samples ? variance_surprise(m.square_mean,
						m.square_var * fmax(st->variance_norm, 1),
						m.square_weight, side)
			    : 0;
	for (int i = 0; i < SURPRISE_MODELS; i++) {
		/*
		 * Calibration makes a model's p larger where the series' tail is
		 * heavier than the model says, never smaller: a history that has
		 * not yet reached a region (a discrete count that rarely moves)
		 * is no evidence that it is rarer than the model's own law.
		 */
		double p = fmax(surprise_calibrated(&st->cal[i], nominal[i], config->tail_share,
						    config->tail_max_shape),
				pow(10, -nominal[i]));

		out->model_surprise[i] = p_to_surprise(p);
		/*
		 * The shift, drift and variance models rest on minutes to a day
		 * of memory: until their calibrators have seen MIN_CALIBRATED
		 * values over that long they do not vote (the point model,
		 * which needs none, judges a young series on its own).
		 */
		if (i != SURPRISE_POINT && (st->cal[i].weight < MIN_CALIBRATED ||
					    t - st->calibrated_since < model_memory(config, i)))
			continue;
		if (p < best) {
			best = p;
			out->model = i;
		}
	}
	out->surprise = p_to_surprise(fmin(1, best * SURPRISE_MODELS));
	out->scale = scale;
	memcpy(out->nominal, nominal, sizeof(nominal));
}

/*
 * A statistic's unit (its typical square on this series) learns one more
 * square, winsorised at NORM_CLIP times the current unit: the bulk is
 * learnt, one excursion moves it little.
 */
static void learn_norm(double *norm, double gain, double square)
{
	*norm += gain * (fmin(square, NORM_CLIP * fmax(*norm, 1)) - *norm);
}

void surprise_learn(struct surprise_state *st, const struct surprise_config *config,
		    enum surprise_side side, double t, const struct surprise_input *in,
		    const struct surprise_result *judged, double calibrate)
{
	double dt = st->last_time > 0 ? t - st->last_time : 0;
	bool excused = judged->recurring > 0 && fabs(judged->raw_z) <= judged->recurring;
	double deseasonal =
		in->level + clip(in->value - in->expected,
				 (excused ? RECUR_ORDINARY : RESIDUAL_CLIP) * judged->scale);
	double gain = fmin(gain_of(dt, config->calibration_halflife_s), 1.0 / MIN_MEMORY_VALUES);
	struct moved m;

	if (!isfinite(judged->z) || !isfinite(judged->scale))
		return;
	if (!is_count(in->count))
		st->non_integer = 1;
	if (calibrate > 0 && st->samples) {
		double shape_gain = fmin(gain_of(dt, SHAPE_MEMORY * config->calibration_halflife_s),
					 1.0 / (SHAPE_MEMORY * MIN_MEMORY_VALUES));

		if (st->calibrated_since == 0)
			st->calibrated_since = t;
		surprise_shape_learn(&st->cal[SURPRISE_POINT], judged->nominal[SURPRISE_POINT],
				     config->tail_share, shape_gain, calibrate);
		for (int i = 0; i < SURPRISE_MODELS; i++)
			surprise_calibrator_learn(&st->cal[i], judged->nominal[i], gain, calibrate);
		if (calibrate >= 1) {
			/* A running mean while young, so the unit is the series' own from the start. */
			double gs = fmax(gain, 1 / (st->cal[SURPRISE_SHIFT].weight + 1));
			double gd = fmax(gain, 1 / (st->cal[SURPRISE_DRIFT].weight + 1));
			double gv = fmax(gain, 1 / (st->cal[SURPRISE_VARIANCE].weight + 1));
			/* Only a rise is judged: a series whose squares sit below 1 keeps its edge. */
			double vz = fmax(judged->variance_z, 0);

			learn_norm(&st->shift_norm, gs, judged->shift_z * judged->shift_z);
			learn_norm(&st->drift_norm, gd, judged->drift_z * judged->drift_z);
			learn_norm(&st->variance_norm, gv, 2 * vz * vz);
		}
	}
	move(st, config, side, t, in, judged->z, judged->scale, excused, &m);
	/* Learnt whether or not an anomaly is open: a cron job fires twice, then is known. */
	recurrence_learn(st->day, SURPRISE_DAY_SLOTS, 86400, t, fabs(judged->raw_z));
	recurrence_learn(st->hour, SURPRISE_HOUR_SLOTS, 3600, t, fabs(judged->raw_z));
	if (st->samples == 0) {
		m.fast_level = deseasonal;
		st->slow_level = deseasonal;
	} else {
		double gs = gain_of(dt, config->drift_slow_halflife_s);

		st->slow_level += gs * (deseasonal - st->slow_level);
	}
	if (calibrate >= 1 && is_count(in->count) && in->exposure > 0) {
		double mean = fmax(in->expected * in->exposure, MIN_COUNT_MEAN);
		double d = (in->count - mean) * (in->count - mean) / mean;
		double g = st->samples ? gain_of(dt, config->drift_slow_halflife_s) : 1;

		/* Clipped: a burst (or one huge one) must not make every later one look usual. */
		if (d > DISPERSION_CLIP * DISPERSION_CLIP * fmax(st->dispersion, 1))
			d = DISPERSION_CLIP * DISPERSION_CLIP * fmax(st->dispersion, 1);
		st->dispersion += g * (d - st->dispersion);
	}
	st->shift_mean = m.shift_mean;
	st->shift_var = m.shift_var;
	st->fast_level = m.fast_level;
	st->fast_var = m.fast_var;
	st->square_mean = m.square_mean;
	st->square_var = m.square_var;
	st->count_observed = m.count_observed;
	st->count_expected = m.count_expected;
	st->count_expected_sq = m.count_expected_sq;
	st->last_time = t;
	if (st->samples < UINT32_MAX)
		st->samples++;
}

void surprise_remember(struct surprise_state *st, const double nominal[SURPRISE_MODELS])
{
	for (int i = 0; i < SURPRISE_MODELS; i++)
		surprise_calibrator_learn(&st->cal[i], nominal[i], 0, 1);
}

void surprise_reanchor(struct surprise_state *st, double level)
{
	st->shift_mean = 0;
	st->fast_level = level;
	st->slow_level = level;
	st->square_mean = 1;
	st->count_observed = 0;
	st->count_expected = 0;
	st->count_expected_sq = 0;
}
