/* Online per-series baselines: seasonal-robust (default) and the seed's 7-day z-score. */
#include <math.h>
#include <string.h>

#include "baseline.h"

/*
 * Share of the error the hour-of-week slot learns, on top of the
 * hour-of-day slot's full share: weekly slots see one visit a week, so they
 * refine what the daily ones miss rather than compete with them (on NAB, 0
 * costs 4 points, 0.25..0.5 are best, 1 costs 2).
 */
#define WEEKLY_SHARE 0.5

/*
 * A slot starts as if it had seen this many seconds of zero residual. Without
 * it the first value of a slot (gain 1) took the whole error: a daily spike
 * at an hour's first minute then drove that hour's offset to the point where
 * the expected value at the top of the hour was zero.
 */
#define SLOT_PRIOR_S 600.0

/* Memory of the day's level that the seasons learn against. */
#define DAY_LEVEL_HALFLIFE_S (24 * 3600.0)
/*
 * Memory of the week's level that the hours of the week are measured
 * against: the pattern's own period (3.5 days: real-series corpus +0.5,
 * training corpus -0.7 against 7 days' -0.4).
 */
#define WEEK_LEVEL_HALFLIFE_S (7 * 86400.0)
/* Mean absolute deviation to standard deviation for a normal distribution. */
#define MAD_TO_STDDEV 1.2533141373155003

void baseline_config_default(struct baseline_config *config)
{
	*config = (struct baseline_config){
		.method = BASELINE_SEASONAL_ROBUST,
		.level_halflife_s = 3600,
		.spread_halflife_s = 24 * 3600,
		.season_halflife_days = 3,
		.peak_halflife_days = 5,
		.clip_spreads = 5,
		.warmup_s = 12 * 3600,
		.warmup_samples = 30,
		.relative_floor = 0.05,
		.absolute_floor = 1e-9,
		.max_gap_s = 6 * 3600,
	};
}

const char *baseline_method_name(enum baseline_method method)
{
	return method == BASELINE_ZSCORE_7D ? "zscore-7d" : "seasonal-robust";
}

int baseline_method_parse(const char *name)
{
	if (!strcmp(name, "seasonal-robust"))
		return BASELINE_SEASONAL_ROBUST;
	if (!strcmp(name, "zscore-7d"))
		return BASELINE_ZSCORE_7D;
	return -1;
}

void baseline_init(struct baseline *baseline, enum baseline_method method)
{
	memset(baseline, 0, sizeof(*baseline));
	baseline->method = method;
	baseline->mean = NAN;
}

/* Weight of a new observation in an EWMA with the given half-life after dt seconds. */
static double ewma_gain(double dt, double halflife)
{
	if (halflife <= 0)
		return 1;
	return 1 - exp(-dt * M_LN2 / halflife);
}

static int64_t hour_number(double t)
{
	return (int64_t)floor(t / 3600);
}

/* Hour of the day (UTC) and hour of the week (0 = Thursday 00:00 UTC, the epoch's weekday). */
static unsigned daily_slot(double t)
{
	int64_t h = (int64_t)floor(t / BASELINE_SLOT_S) % BASELINE_SLOTS_PER_DAY;
	return (unsigned)(h < 0 ? h + BASELINE_SLOTS_PER_DAY : h);
}

static unsigned weekly_slot(double t)
{
	int64_t h = hour_number(t) % BASELINE_HOURS_PER_WEEK;
	return (unsigned)(h < 0 ? h + BASELINE_HOURS_PER_WEEK : h);
}

/*
 * Whether a value at t continues the visit of its hour of the week that the
 * previous value was part of (values come in time order; a visit ends when
 * the series moves to another hour or falls silent for an hour).
 */
static bool same_week_visit(const struct baseline *b, double t)
{
	return b->samples > 0 && weekly_slot(t) == weekly_slot(b->last_time) &&
	       t - b->last_time < 3600;
}

/*
 * The weekly pattern at t: what the last two visits of this hour of the
 * week agree on (the smaller when both lie on the same side of the week's
 * level, else none: a one-off week teaches nothing). A visit not yet
 * closed, from an earlier week, counts as completed.
 */
static double confirmed_weekly(const struct baseline *b, double t)
{
	const struct baseline_week_slot *w = &b->week[weekly_slot(t)];
	double last = w->last, prev = w->prev;

	if (!same_week_visit(b, t) && w->weight > 0) {
		prev = last;
		last = w->sum / w->weight;
	}
	if ((last > 0) != (prev > 0) || last == 0 || prev == 0)
		return 0;
	return fabs(last) < fabs(prev) ? last : prev;
}

static double seasonal_offset(const struct baseline *b, double t)
{
	return b->daily[daily_slot(t)].slot.offset + b->weekly[weekly_slot(t)].offset +
	       confirmed_weekly(b, t);
}

/*
 * A value that starts a new visit of its hour of the week closes the
 * slot's previous one, whatever becomes of the value (learnt, or not
 * while an anomaly is open or after a gap).
 */
static void close_week_visit(struct baseline *b, double t)
{
	struct baseline_week_slot *w = &b->week[weekly_slot(t)];

	if (same_week_visit(b, t) || !(w->weight > 0))
		return;
	w->prev = w->last;
	w->last = w->sum / w->weight;
	w->sum = 0;
	w->weight = 0;
}

/* The larger of the overall spread and this hour's own, once the hour has a day of history. */
static double seasonal_spread(const struct baseline *b, double t)
{
	const struct baseline_slot *slot = &b->daily[daily_slot(t)].slot;

	if (slot->weight >= BASELINE_SLOT_S && slot->spread > b->spread)
		return slot->spread;
	return b->spread;
}

/* The spread with its floors: never zero, so a flat series still scores finitely. */
static double floored_spread(const struct baseline_config *config, double spread, double magnitude)
{
	double floor_value = config->relative_floor * magnitude;

	if (floor_value < config->absolute_floor)
		floor_value = config->absolute_floor;
	return spread > floor_value ? spread : floor_value;
}

static void hourly_stats(const struct baseline *b, double *mean, double *stddev)
{
	double sum = 0, sum_sq = 0;
	uint32_t n = b->hourly_count;

	*mean = NAN;
	*stddev = NAN;
	if (n == 0)
		return;
	for (uint32_t i = 0; i < n; i++)
		sum += b->hourly[i];
	*mean = sum / n;
	if (n < 2)
		return;
	for (uint32_t i = 0; i < n; i++)
		sum_sq += (b->hourly[i] - *mean) * (b->hourly[i] - *mean);
	*stddev = sqrt(sum_sq / (n - 1));
}

static void estimate_zscore_7d(const struct baseline *b, const struct baseline_config *config,
			       double t, struct baseline_estimate *out)
{
	double warm_hours = ceil(config->warmup_s / 3600);

	hourly_stats(b, &out->mean, &out->stddev);
	out->expected = out->mean;
	out->level = out->mean;
	out->spread = isnan(out->stddev) ? NAN
					 : floored_spread(config, out->stddev, fabs(out->mean));
	out->ready = b->hourly_count >= 2 && b->hourly_count >= warm_hours &&
		     b->samples >= config->warmup_samples;
}

/* The recent peak error of this hour and its neighbours, which tolerates a spike that drifts. */
static double seasonal_peak(const struct baseline *b, double t)
{
	unsigned h = daily_slot(t);
	double peak = 0;

	for (unsigned d = BASELINE_SLOTS_PER_DAY - 1; d <= BASELINE_SLOTS_PER_DAY + 1; d++) {
		const struct baseline_daily_slot *daily =
			&b->daily[(h + d) % BASELINE_SLOTS_PER_DAY];

		if (daily->peak > peak)
			peak = daily->peak;
	}
	return peak;
}

static void estimate_seasonal(const struct baseline *b, const struct baseline_config *config,
			      double t, struct baseline_estimate *out)
{
	double variance = b->mean_square - b->mean * b->mean;

	out->expected = b->level + seasonal_offset(b, t);
	out->level = b->level;
	out->spread = floored_spread(config, seasonal_spread(b, t), b->magnitude);
	out->mean = b->mean;
	out->stddev = sqrt(variance > 0 ? variance : 0);
	out->seasonal_peak = seasonal_peak(b, t);
	out->ready = b->samples >= config->warmup_samples &&
		     b->last_time - b->first_time >= config->warmup_s &&
		     t - b->last_time <= config->max_gap_s;
}

void baseline_estimate(const struct baseline *baseline, const struct baseline_config *config,
		       double t, struct baseline_estimate *out)
{
	memset(out, 0, sizeof(*out));
	out->samples = baseline->samples;
	out->mean = NAN;
	out->stddev = NAN;
	if (baseline->samples == 0) {
		out->expected = NAN;
		out->spread = NAN;
		return;
	}
	if (baseline->method == BASELINE_ZSCORE_7D)
		estimate_zscore_7d(baseline, config, t, out);
	else
		estimate_seasonal(baseline, config, t, out);
}

/* Closes the hour being accumulated into the 168-entry ring when t is in a later hour. */
static void update_hourly(struct baseline *b, double t, double value)
{
	int64_t hour = hour_number(t);

	if (b->hour_count > 0 && hour != b->hour) {
		b->hourly[b->hourly_next] = (float)(b->hour_sum / b->hour_count);
		b->hourly_next = (b->hourly_next + 1) % BASELINE_HOURS_PER_WEEK;
		if (b->hourly_count < BASELINE_HOURS_PER_WEEK)
			b->hourly_count++;
		b->hour_sum = 0;
		b->hour_count = 0;
	}
	b->hour = hour;
	b->hour_sum += value;
	b->hour_count++;
}

/*
 * Folds the previous visit's peak into the average when the hour comes round
 * again (a running mean for the first visits, then an EWMA over visits), then
 * keeps this visit's largest error.
 */
static void update_peak(struct baseline_daily_slot *daily, const struct baseline_config *config,
			double t, double raw_error)
{
	float hour = (float)hour_number(t);

	if (daily->visit_hour != hour) {
		double gain = ewma_gain(1, config->peak_halflife_days);

		if (daily->visit_hour != 0) {
			if (gain < 1 / (daily->visits + 1))
				gain = 1 / (daily->visits + 1);
			daily->peak += (float)(gain * (daily->peak_now - daily->peak));
			if (daily->visits < 1000)
				daily->visits++;
		}
		daily->peak_now = 0;
		daily->visit_hour = hour;
	}
	if (raw_error > daily->peak_now)
		daily->peak_now = (float)raw_error;
}

/*
 * A slot learns like a running mean (after a prior of SLOT_PRIOR_S) until it
 * holds season_halflife_days of history, then like an EWMA with that
 * half-life: one visit of an hour slot lasts 3600 s per day (daily) or per
 * week (weekly).
 */
static void update_slot(struct baseline_slot *slot, double dt, double halflife_days,
			double residual, double abs_error, double slot_s)
{
	double horizon = halflife_days * slot_s;
	double gain = ewma_gain(dt, horizon);

	if (slot->weight < horizon) {
		double running = dt / (slot->weight + dt + SLOT_PRIOR_S);

		if (running > gain)
			gain = running;
		slot->weight += (float)dt;
	}
	slot->offset += (float)(gain * residual);
	slot->spread += (float)(gain * (abs_error * MAD_TO_STDDEV - slot->spread));
}

/* While anomalous: the level follows unclipped; seasons, peaks and spread are left alone. */
static void update_level_only(struct baseline *b, const struct baseline_config *config, double t,
			      double dt, double value)
{
	double error = value - (b->level + seasonal_offset(b, t));
	double limit =
		config->clip_spreads * floored_spread(config, seasonal_spread(b, t), b->magnitude);

	/*
	 * Clipped as usual: a spike must not drag the level (the values after
	 * it would look like dips); a real shift is taken over by the
	 * detector's re-anchoring once the shift model confirms it.
	 */
	if (limit > 0)
		error = error > limit ? limit : error < -limit ? -limit : error;
	b->level += ewma_gain(dt, config->level_halflife_s) * error;
}

/* Until the spread is known (warm), clipping would freeze the levels on noise. */
static double clip_error(double error, double limit, bool warm)
{
	if (warm || !(limit > 0))
		return error;
	return error > limit ? limit : error < -limit ? -limit : error;
}

/* An EWMA's gain, but a running mean while young, so the first values do not dominate. */
static double young_gain(double gain, uint64_t samples, bool warm)
{
	double running = 1.0 / (double)(samples + 1);

	return warm && gain < running ? running : gain;
}

/*
 * The hour of the week learns the value against the week's level: the fast
 * level (which follows a sustained change, weekend or not, within the hour,
 * or at once when a level shift re-anchors it) plus this value's error
 * clipped like every update (a lone spike teaches it little), less the
 * week's level. Measured against the day's level instead, the day's level
 * follows most of a weekend, and the fast level re-anchored at every
 * weekend's start left the weekly slots nothing to learn: a weekly step
 * fired twice a week, every week.
 */
static void learn_week(struct baseline *b, double t, double dt, double deseasonalised)
{
	struct baseline_week_slot *w = &b->week[weekly_slot(t)];
	double signal = deseasonalised + confirmed_weekly(b, t) - b->week_level;
	double gain = ewma_gain(dt, WEEK_LEVEL_HALFLIFE_S);
	double age = t - b->first_time;

	w->sum += (float)(fmin(dt, 3600) * signal);
	w->weight += (float)fmin(dt, 3600);
	/* a running mean for its first week */
	if (age > 0 && dt / age > gain)
		gain = dt / age;
	b->week_level += gain * (deseasonalised - b->week_level);
}

static void update_seasonal(struct baseline *b, const struct baseline_config *config, double t,
			    double dt, double value)
{
	double spread = floored_spread(config, seasonal_spread(b, t), b->magnitude);
	double raw_error = value - (b->level + seasonal_offset(b, t));
	double limit = config->clip_spreads * spread;
	bool warm = b->samples < config->warmup_samples;
	double error = clip_error(raw_error, limit, warm), season_error;
	double level_gain = ewma_gain(dt, config->level_halflife_s);
	double spread_gain = young_gain(ewma_gain(dt, config->spread_halflife_s), b->samples, warm);
	double day_gain = young_gain(ewma_gain(dt, DAY_LEVEL_HALFLIFE_S), b->samples, warm);
	double deseasonalised = b->level + error; /* clipped, as the level learns it */

	b->level += level_gain * error;
	/*
	 * The seasons learn what the value is against the day's level, not
	 * against the fast level: a level with a half-life of an hour follows
	 * most of a daily swing, and slots that learnt only what it left
	 * over kept a fraction of the pattern while the level swung with it
	 * every day (hiding drifts and pattern changes behind a wide unit).
	 */
	season_error = clip_error(value - (b->day_level + seasonal_offset(b, t)), limit, warm);
	b->day_level += day_gain * season_error;
	update_peak(&b->daily[daily_slot(t)], config, t, fabs(raw_error));
	update_slot(&b->daily[daily_slot(t)].slot, fmin(dt, BASELINE_SLOT_S),
		    config->season_halflife_days, season_error, fabs(error), BASELINE_SLOT_S);
	update_slot(&b->weekly[weekly_slot(t)], fmin(dt, 3600), config->season_halflife_days,
		    season_error * WEEKLY_SHARE, fabs(error), 3600);
	b->spread += spread_gain * (fabs(error) * MAD_TO_STDDEV - b->spread);
	b->magnitude += spread_gain * (fabs(value) - b->magnitude);
	b->mean += spread_gain * (value - b->mean);
	b->mean_square += spread_gain * (value * value - b->mean_square);
	/*
	 * Last: once the open visit holds a value, confirmed_weekly() at this t
	 * would take it for an earlier week's (update() closed the old one).
	 */
	learn_week(b, t, dt, deseasonalised);
}

static void start_series(struct baseline *b, double t, double value)
{
	b->first_time = t;
	b->level = value;
	b->day_level = value;
	b->week_level = value;
	b->spread = 0;
	b->magnitude = fabs(value);
	b->mean = value;
	b->mean_square = value * value;
}

static int update(struct baseline *baseline, const struct baseline_config *config, double t,
		  double value, bool anomalous)
{
	double dt;

	if (!isfinite(value) || !isfinite(t))
		return -1;
	if (baseline->samples == 0) {
		start_series(baseline, t, value);
		goto learnt;
	}
	dt = t - baseline->last_time;
	if (dt < 0) {
		/*
		 * The clock stepped back: re-anchor on the new time without
		 * learning, so the step costs one value instead of leaving the
		 * series blind until the clock catches up.
		 */
		baseline->last_time = t;
		return -1;
	}
	close_week_visit(baseline, t);
	if (dt > config->max_gap_s) {
		/* Seasons and spread stay valid across an outage; the level does not. */
		baseline->level = value - seasonal_offset(baseline, t);
		baseline->day_level = baseline->level;
		goto learnt;
	}
	if (anomalous && baseline->method == BASELINE_SEASONAL_ROBUST)
		update_level_only(baseline, config, t, dt, value);
	else
		update_seasonal(baseline, config, t, dt, value);
learnt:
	update_hourly(baseline, t, value);
	baseline->last_time = t;
	baseline->samples++;
	return 0;
}

int baseline_update(struct baseline *baseline, const struct baseline_config *config, double t,
		    double value)
{
	return update(baseline, config, t, value, false);
}

int baseline_update_anomalous(struct baseline *baseline, const struct baseline_config *config,
			      double t, double value)
{
	return update(baseline, config, t, value, true);
}

void baseline_reanchor(struct baseline *baseline, double t, double value)
{
	if (baseline->method != BASELINE_SEASONAL_ROBUST || baseline->samples == 0 ||
	    !isfinite(value))
		return;
	baseline->level = value - seasonal_offset(baseline, t);
	baseline->day_level = baseline->level;
}
