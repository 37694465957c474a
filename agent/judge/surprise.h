/*
 * How surprising one value of a series is: a calibrated tail probability
 * from a small ensemble of simple models, each watching a different time
 * scale, in constant memory per series (struct surprise_state, 2,568 bytes).
 *
 * Every model turns the new value into a nominal p-value under its own
 * textbook assumption:
 *   point    - this value against the baseline's expectation: a normal tail
 *              of (value - expected) / spread; for low-rate integer counts a
 *              negative binomial tail (Poisson when not overdispersed); for a
 *              ratio with known trials (errors of requests) a binomial tail;
 *   shift    - the mean of the last minutes' residuals (EWMA, half-life
 *              shift_halflife_s): a level shift or a burst of small errors;
 *              for counts, the decayed sum of counts against that of their
 *              expected counts (at least three values), negative binomial;
 *   drift    - the last hour's deseasonalised level against the last day's
 *              (drift_fast_halflife_s, drift_slow_halflife_s): slow failures;
 *   variance - the mean of the last hour's squared residuals: the series got
 *              noisier (a distribution change, not a change of level).
 * The nominal p-values are wrong on real data (autocorrelation, heavy tails),
 * so each is calibrated against that model's own history on the series: a
 * decayed histogram of -log10 p (half-life calibration_halflife_s) gives the
 * empirical tail, and beyond its 95th percentile a generalised Pareto tail
 * (peaks over threshold; the point model's shape learnt over a week, so
 * heavy-tailed noise gets a heavy tail) extends it, so a surprise never
 * seen before still ranks by how far out it is. A prior of a few
 * pseudo-observations that follow the nominal law keeps a young series sane;
 * calibration only ever makes a p larger than the model's own.
 * The result is min over models of the calibrated p, times the number of
 * models (Bonferroni), reported as surprise = -log10 p: 4 means "1 in 10,000
 * of this series' values is this unusual", whatever the series.
 *
 * A recurrence memory keeps, per 15 minutes of the day and 5 minutes of the
 * hour, how far out the series went on each of the last two visits: a value
 * no further out than both (a cron job, a nightly batch) is the series' own
 * pattern and every model sees it as an ordinary value; a one-off burst
 * never teaches it, and the first two occurrences of a new job still fire.
 */
#ifndef SEISMO_SURPRISE_H
#define SEISMO_SURPRISE_H

#include <stdbool.h>
#include <stdint.h>

#define SURPRISE_BINS 40
#define SURPRISE_MODELS 4

enum surprise_model {
	SURPRISE_POINT = 0,
	SURPRISE_SHIFT = 1,
	SURPRISE_DRIFT = 2,
	SURPRISE_VARIANCE = 3,
};

/* Which side of normal is trouble (the detector's direction, as bits). */
enum surprise_side {
	SURPRISE_UP = 1,
	SURPRISE_DOWN = 2,
	SURPRISE_BOTH = 3,
};

struct surprise_config {
	double shift_halflife_s;       /* point -> minutes: the level-shift model's memory */
	double drift_fast_halflife_s;  /* the drift model compares this level ... */
	double drift_slow_halflife_s;  /* ... with this one */
	double variance_halflife_s;    /* memory of the variance model */
	double calibration_halflife_s; /* memory of each model's own distribution */
	double count_max_mean;	       /* integer series up to this mean use the count model */
	double tail_share;	       /* the empirical tail is trusted down to this share (5 %) */
	double tail_max_shape; /* heaviest generalised Pareto shape the fitted tail may take */
	/*
	 * After an anomaly of the series ends, a new one within this time
	 * opens only if more surprising than the last one's peak (one alert
	 * per incident, not one per wobble; the detector's state machine).
	 */
	double refractory_s;
};

/*
 * Decayed histogram of one model's -log10 nominal p, on a log1p scale, and
 * the long memory of its tail's shape: over a week, the surprises beyond
 * the histogram's tail threshold u, as decayed sums of 1, log(S/u) and
 * log(S/u)^2 (Dekkers, Einmahl and de Haan's moment estimator).
 */
struct surprise_calibrator {
	float hist[SURPRISE_BINS];
	float weight;	 /* sum of hist */
	float tail_n;	 /* decayed number of values beyond u */
	float tail_log;	 /* their decayed sum of log(S / u) */
	float tail_log2; /* and of its square */
};

/*
 * Recurrence memory: per slot of the day (15 minutes) and of the hour (5
 * minutes), the largest |residual| (in spreads) of its last two visits. A
 * value no further out than this slot reached on both of the last two days
 * (hours) is a recurring pattern (a cron job), not news; a burst that
 * happened to hit a slot once, or two visits apart, excuses nothing.
 */
#define SURPRISE_DAY_SLOTS 96
#define SURPRISE_HOUR_SLOTS 12

struct surprise_recurrence {
	float previous[2]; /* largest |residual| of the last and the one-but-last visit */
	float current;	   /* largest |residual| of the visit in progress */
	uint32_t visit;	   /* number of the visit in progress (time / period) */
};

/* Plain data, no pointers: saved as it is in the state file. */
struct surprise_state {
	struct surprise_recurrence day[SURPRISE_DAY_SLOTS];
	struct surprise_recurrence hour[SURPRISE_HOUR_SLOTS];
	struct surprise_calibrator cal[SURPRISE_MODELS];
	double last_time;	 /* of the last learnt value; 0 before any */
	double calibrated_since; /* first value the calibrators learnt; 0 before any */
	double shift_mean;	 /* EWMA of residuals in spreads */
	double shift_var;	 /* variance factor of that EWMA under white noise */
	double fast_level;	 /* EWMAs of the deseasonalised value */
	double slow_level;
	double fast_var;    /* variance factor of fast_level's EWMA */
	double square_mean; /* EWMA of squared residuals in spreads */
	double square_var;  /* variance factor of that EWMA */
	double dispersion;  /* count series: EWMA of (value - mean)^2 / mean */
	double shift_norm; /* typical squared shift, drift and variance statistics on this series */
	double drift_norm;
	double variance_norm;
	/*
	 * Count series: decayed sums (half-life shift_halflife_s, at least
	 * three values) of the counts, of their expected counts, and of the
	 * expected counts with squared weights (how many values the sums
	 * stand for): the shift model's evidence over several values.
	 */
	double count_observed;
	double count_expected;
	double count_expected_sq;
	uint32_t samples;     /* learnt values, capped */
	uint32_t non_integer; /* a non-integer or negative value was seen: not a count series */
};

/* What the detector knows about the value being judged. */
struct surprise_input {
	double value;
	double expected; /* the baseline's expectation at this time */
	double level;	 /* the baseline's deseasonalised level (expected - seasonal offset) */
	double spread;	 /* the baseline's scale, > 0 */
	double count;	 /* the count behind value (value = count / exposure), NaN if none */
	double exposure; /* rate: interval seconds; a count series: 1 */
	double trials;	 /* ratio: value = count / trials (errors of requests); 0 if not a ratio */
};

struct surprise_result {
	double surprise;			/* -log10 of the corrected p, >= 0 */
	double model_surprise[SURPRISE_MODELS]; /* each model's calibrated -log10 p */
	double z;	  /* signed residual in spreads (count series: NB standard deviations) */
	double raw_z;	  /* z before the recurrence memory excused it */
	double recurring; /* what this slot reached on two earlier visits (spreads); 0 if nothing */
	double nominal[SURPRISE_MODELS]; /* each model's uncalibrated -log10 p (what is learnt) */
	double scale;			 /* the standard deviation residuals were measured in */
	double shift_z, drift_z;	 /* the shift and drift statistics under white noise */
	double variance_z;		 /* the variance statistic's standardised excess over 1 */
	enum surprise_model model;	 /* the one that decided */
	bool count_model;		 /* point judged by the count or binomial tail */
};

void surprise_config_default(struct surprise_config *config);
void surprise_init(struct surprise_state *state);
/* Judges in against the state without changing it. */
void surprise_judge(const struct surprise_state *state, const struct surprise_config *config,
		    enum surprise_side side, double t, const struct surprise_input *in,
		    struct surprise_result *out);
/*
 * Learns the value judged at t. calibrate is the weight the calibrators give
 * it: 1 normally, 0 while an anomaly is open (so it cannot make itself look
 * normal), a fraction for the value that opened one (a pattern that recurs
 * is learnt over a few occurrences, not after one).
 */
void surprise_learn(struct surprise_state *state, const struct surprise_config *config,
		    enum surprise_side side, double t, const struct surprise_input *in,
		    const struct surprise_result *judged, double calibrate);
/*
 * Adds the nominal surprises of one past value to the calibrators: the value
 * that opened an anomaly, remembered once the anomaly is over, so that a
 * pattern that recurs (a nightly batch) stops being rare after a few
 * occurrences while an open anomaly never calms itself.
 */
void surprise_remember(struct surprise_state *state, const double nominal[SURPRISE_MODELS]);
/*
 * After a level shift was reported: the short and long memories restart from
 * level (the new deseasonalised level), so the shift fires once and the
 * series adapts.
 */
void surprise_reanchor(struct surprise_state *state, double level);
/* The calibrated p of a nominal surprise (-log10 p) for one model: exposed for tests. */
double surprise_calibrated(const struct surprise_calibrator *cal, double nominal, double tail_share,
			   double max_shape);
void surprise_calibrator_learn(struct surprise_calibrator *cal, double nominal, double gain,
			       double weight);
/*
 * The tail's shape learns one value (before the histogram does): its sums
 * decay by shape_gain, and take the value with this weight when it lies
 * beyond the histogram's tail threshold (where tail_share of the mass
 * remains, as in surprise_calibrated).
 */
void surprise_shape_learn(struct surprise_calibrator *cal, double nominal, double tail_share,
			  double shape_gain, double weight);
/* The generalised Pareto shape of the calibrator's tail, learnt over its long memory (>= 0). */
double surprise_tail_shape(const struct surprise_calibrator *cal);

#endif
