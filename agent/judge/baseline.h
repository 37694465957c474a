/*
 * What is normal for one series (one metric of one service): a baseline
 * learnt online from (time, value) pairs, in constant memory.
 *
 * Two methods:
 *  - BASELINE_SEASONAL_ROBUST (default): a deseasonalised level plus
 *    hour-of-day and hour-of-week offsets (additive Holt-Winters), learnt from
 *    residuals clipped at a few spreads so that one bad hour cannot poison
 *    it; the spread is a clipped mean absolute deviation scaled to a standard
 *    deviation. Rates are per second of time, so the baseline behaves the
 *    same at 10 s and 5 min intervals.
 *  - BASELINE_ZSCORE_7D: the seed's reference, the mean and standard deviation
 *    of the last 168 hourly values (each the mean of that hour).
 *
 * A baseline is a plain struct with no pointers so that state.c can write it
 * to disk as it is.
 */
#ifndef SEISMO_BASELINE_H
#define SEISMO_BASELINE_H

#include <stdbool.h>
#include <stdint.h>

#define BASELINE_HOURS_PER_WEEK 168
#define BASELINE_HOURS_PER_DAY 24
/* Daily seasonal slots: 15 minutes each, fine enough for a daily step or batch. */
#define BASELINE_SLOT_S 900
#define BASELINE_SLOTS_PER_DAY 96

enum baseline_method {
	BASELINE_SEASONAL_ROBUST = 0,
	BASELINE_ZSCORE_7D = 1,
};

struct baseline_config {
	enum baseline_method method;
	double level_halflife_s;     /* how fast the deseasonalised level follows */
	double spread_halflife_s;    /* how fast the spread follows */
	double season_halflife_days; /* how many days of a slot's history count half */
	double peak_halflife_days;   /* half-life, in days, of an hour's average peak error */
	double clip_spreads;	     /* residuals are clipped at this many spreads when learning */
	double warmup_s;	     /* no judgement before this much history ... */
	uint32_t warmup_samples;     /* ... and this many samples */
	double relative_floor; /* the spread is at least this fraction of the typical magnitude */
	double absolute_floor; /* and at least this, in the metric's unit */
	double max_gap_s;      /* a gap longer than this restarts the level (clock jump, outage) */
};

/* The baseline's view of a point in time, before it has seen the value. */
struct baseline_estimate {
	bool ready;	      /* warm-up done */
	double expected;      /* centre used for the score */
	double level;	      /* expected less the seasonal offsets: the deseasonalised level */
	double spread;	      /* scale used for the score, floors applied, > 0 when ready */
	double mean;	      /* plain mean of recent values, NaN when unknown */
	double stddev;	      /* plain standard deviation of recent values, NaN when unknown */
	double seasonal_peak; /* largest recent |error| around this hour of past days; 0 when unknown */
	uint64_t samples;
};

/* Floats: 192 slots per series, and a slot's figures need no more than 7 digits. */
struct baseline_slot {
	float offset; /* learnt residual of this hour over the level */
	float spread; /* typical error in this hour: some hours are noisier */
	float weight; /* seconds of history learnt into this slot, capped */
};

/*
 * An hour of the day also remembers its usual largest error (the daily cron
 * spike): an average of past days' peaks, so one bad day raises it by a
 * fraction only. Only past days count: the current visit's peak joins when
 * the hour comes round again, so an anomaly never excuses itself.
 */
struct baseline_daily_slot {
	struct baseline_slot slot;
	float peak;	  /* average largest |error| of previous visits */
	float peak_now;	  /* largest |error| of the current visit */
	float visit_hour; /* hour number (time / 3600) of the current visit; exact in a float */
	float visits;	  /* visits folded into peak, capped */
};

/*
 * An hour of the week remembers, for its last two visits, the mean of the
 * value against the week's level (daily pattern and the learnt weekly
 * offset taken out): a weekly pattern is what both visits showed.
 */
struct baseline_week_slot {
	float sum;    /* over the current visit: value less the week's level, times seconds */
	float weight; /* seconds learnt in the current visit */
	float last;   /* mean of the last closed visit */
	float prev;   /* mean of the visit before */
};

/* Constant size: 8,184 bytes per series. */
struct baseline {
	uint32_t method;
	uint32_t reserved;
	uint64_t samples;
	double first_time;
	double last_time;
	/* seasonal-robust */
	double level;
	double spread;
	double magnitude; /* EWMA of |value|: the scale of the spread's floor */
	double mean;	  /* EWMA of value and of its square: plain stats */
	double mean_square;
	/*
	 * EWMA of the deseasonalised value over a day: the reference the
	 * seasonal slots learn against, so the fast level cannot take the
	 * daily pattern away from them.
	 */
	double day_level;
	/*
	 * EWMA of the deseasonalised value over a week: the reference the
	 * hour-of-week slots measure against; a weekend is not the day's level
	 * moving. Never re-anchored by a level shift.
	 */
	double week_level;
	struct baseline_week_slot week[BASELINE_HOURS_PER_WEEK];
	struct baseline_daily_slot daily[BASELINE_SLOTS_PER_DAY];
	struct baseline_slot weekly[BASELINE_HOURS_PER_WEEK];
	/* zscore-7d */
	int64_t hour; /* hour number (time / 3600) being accumulated */
	double hour_sum;
	uint32_t hour_count;
	uint32_t hourly_count; /* valid entries in hourly[] */
	uint32_t hourly_next;  /* ring position for the next hourly value */
	uint32_t reserved2;
	float hourly[BASELINE_HOURS_PER_WEEK];
};

/* The defaults (seasonal-robust, 1 h level, 6 h spread, 3 day seasons). */
void baseline_config_default(struct baseline_config *config);
const char *baseline_method_name(enum baseline_method method);
/* Parses "seasonal-robust" or "zscore-7d"; -1 on anything else. */
int baseline_method_parse(const char *name);

void baseline_init(struct baseline *baseline, enum baseline_method method);
/* What the baseline expects at time t (seconds since the epoch). */
void baseline_estimate(const struct baseline *baseline, const struct baseline_config *config,
		       double t, struct baseline_estimate *out);
/*
 * Learns value at time t. Non-finite values are ignored (-1). A time before
 * the previous one (a clock stepped back) is not learnt (-1) but becomes the
 * new reference time, so the series resumes at the next value. A gap longer
 * than max_gap_s keeps seasons and spread but lets the level restart from the
 * new value (and the estimate across the gap is not ready).
 */
int baseline_update(struct baseline *baseline, const struct baseline_config *config, double t,
		    double value);
/*
 * The same while the series is anomalous: the level follows the value
 * without clipping (a lasting change is adapted to within a level
 * half-life), while the seasonal slots and the spread learn nothing, so an
 * anomaly never becomes the normal of its hour and never widens the spread.
 */
int baseline_update_anomalous(struct baseline *baseline, const struct baseline_config *config,
			      double t, double value);
/* A level shift was detected: the level restarts from value (seasons and spread are kept). */
void baseline_reanchor(struct baseline *baseline, double t, double value);

#endif
