/*
 * Long file: the per-series core (state machine, adaptation) and the service
 * table that feeds it change together; the models live in surprise.c.
 * Per-service judgement: scores, anomaly state machines and events.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "hash.h"
#include "log.h"

#define DETECTOR_MAX_EDGES 64
/* A request this many spreads above the expected p99 is worth a kernel sample. */
#define SAMPLING_SPREADS 4
/* A value this close (in spreads) to the last hour's level is where a drift has got to. */
#define REANCHOR_SPREADS 3

struct service_labels {
	char *team, *app, *namespace, *pod, *node, *cluster;
};

struct edge {
	char *endpoint;
	char *callee;
	struct detector_series p99;
	struct detector_verdict last;
	struct edge *next;
};

struct service {
	char *name;
	struct service_labels labels;
	struct detector_series series[DETECTOR_METRICS];
	struct edge *edges;
	unsigned nedges;
	struct service *next; /* hash chain */
};

struct detector {
	struct detector_config config;
	char *node;
	char *cluster;
	detector_event_fn on_event;
	void *user;
	struct service **buckets;
	unsigned nbuckets;
	unsigned count;
	bool warned_cap;
};

static const char *const metric_names[] = {
	[DETECTOR_LATENCY_P99] = "latency_p99",	  [DETECTOR_LATENCY_P50] = "latency_p50",
	[DETECTOR_LATENCY_MEAN] = "latency_mean", [DETECTOR_REQUEST_RATE] = "request_rate",
	[DETECTOR_ERROR_RATIO] = "error_ratio",	  [DETECTOR_VALUE] = "value",
};

void detector_config_default(struct detector_config *config)
{
	*config = (struct detector_config){
		.warning_score = 4,
		.critical_score = 8,
		.resolve_score = 2,
		.for_s = 300,
		.resolve_for_s = 300,
		.min_relative_change = 0.1,
		.min_requests = 20,
		.sampling_factor = 1.5,
		.max_services = 4096,
	};
	baseline_config_default(&config->baseline);
	surprise_config_default(&config->surprise);
}

const char *detector_transition_name(enum detector_transition transition)
{
	switch (transition) {
	case DETECTOR_FIRED:
		return "firing";
	case DETECTOR_RESOLVED:
		return "resolved";
	case DETECTOR_ESCALATED:
		return "escalated";
	default:
		return "none";
	}
}

const char *detector_metric_name(enum detector_metric metric)
{
	if ((unsigned)metric > DETECTOR_VALUE)
		return "unknown";
	return metric_names[metric];
}

/* Slower or failing is trouble; traffic is trouble both when it vanishes and when it floods. */
enum detector_direction detector_metric_direction(enum detector_metric metric)
{
	switch (metric) {
	case DETECTOR_REQUEST_RATE:
	case DETECTOR_VALUE:
		return DETECTOR_BOTH;
	default:
		return DETECTOR_UP;
	}
}

void detector_series_init(struct detector_series *series, enum baseline_method method)
{
	memset(series, 0, sizeof(*series));
	baseline_init(&series->baseline, method);
	surprise_init(&series->surprise);
	series->calm_since = NAN;
	series->pending_since = NAN;
	series->last_score = NAN;
	series->last_expected = NAN;
	series->last_value = NAN;
}

/* Too small to matter: within the relative change floor of the expected value. */
static bool small_change(const struct detector_config *config, double value,
			 const struct baseline_estimate *est)
{
	return fabs(value - est->expected) < config->min_relative_change * fabs(est->expected);
}

static enum detector_severity severity_of(const struct detector_config *config, double surprise)
{
	return surprise >= config->critical_score ? DETECTOR_CRITICAL : DETECTOR_WARNING;
}

/*
 * NORMAL -> PENDING when the surprise reaches warning_score; PENDING ->
 * FIRING after for_s of it; FIRING -> NORMAL after resolve_for_s below
 * resolve_score. A firing warning that reaches critical_score escalates.
 */
static void advance_state(struct detector_series *s, const struct detector_config *config, double t,
			  double surprise, bool anomalous, struct detector_verdict *out)
{
	switch (s->phase) {
	case DETECTOR_NORMAL:
		if (!anomalous)
			break;
		/* Refractory: soon after an anomaly ended, only a worse one opens. */
		if (!isnan(s->calm_since) && t - s->calm_since < config->surprise.refractory_s &&
		    surprise <= s->peak_score)
			break;
		s->phase = DETECTOR_PENDING;
		s->pending_since = t;
		s->peak_score = surprise;
		/* With no persistence time it fires at once. */
		__attribute__((fallthrough));
	case DETECTOR_PENDING:
		if (!anomalous) {
			s->phase = DETECTOR_NORMAL;
			s->pending_since = NAN;
			break;
		}
		if (surprise > s->peak_score)
			s->peak_score = surprise;
		if (t - s->pending_since < config->for_s)
			break;
		s->phase = DETECTOR_FIRING;
		s->severity = severity_of(config, s->peak_score);
		s->calm_since = NAN;
		out->transition = DETECTOR_FIRED;
		break;
	case DETECTOR_FIRING:
		if (surprise > s->peak_score)
			s->peak_score = surprise;
		if (s->severity == DETECTOR_WARNING && anomalous &&
		    severity_of(config, surprise) == DETECTOR_CRITICAL) {
			s->severity = DETECTOR_CRITICAL;
			out->transition = DETECTOR_ESCALATED;
		}
		if (surprise >= config->resolve_score) {
			s->calm_since = NAN;
			break;
		}
		if (isnan(s->calm_since))
			s->calm_since = t;
		if (t - s->calm_since < config->resolve_for_s)
			break;
		out->transition = DETECTOR_RESOLVED;
		out->ends_at = t;
		s->phase = DETECTOR_NORMAL;
		break;
	}
	out->severity = s->severity;
	out->starts_at = s->pending_since;
}

static enum surprise_side side_of(enum detector_direction direction)
{
	return direction == DETECTOR_UP	    ? SURPRISE_UP
	       : direction == DETECTOR_DOWN ? SURPRISE_DOWN
					    : SURPRISE_BOTH;
}

/*
 * While an anomaly fires, a value that is still far off (point model) while
 * the last minutes' mean is too (shift model) means the level has moved:
 * the baseline and the shift and drift models restart from the new level,
 * so a level shift fires once and the series adapts within minutes instead
 * of alarming for hours. A lone spike never moves the level (the value
 * after it is normal again). An anomaly that lasted long enough for the
 * fast level to settle restarts the drift model from there when it resolves.
 */
static void adapt(struct detector_series *s, double t, double value,
		  const struct detector_verdict *v, const struct surprise_result *judged,
		  const struct detector_config *config)
{
	double seasonal = v->estimate.expected - v->estimate.level;

	if (v->transition == DETECTOR_FIRED && v->model == SURPRISE_DRIFT) {
		/*
		 * The level moved: the value is the new normal when it agrees
		 * with the last hour's level (a drift) or is itself far off (a
		 * jump); a lone burst within the series' usual tail that tipped
		 * the drift model over is not, and the last hour's level is used.
		 */
		double level = s->surprise.fast_level;

		if (fabs(value - seasonal - level) <= REANCHOR_SPREADS * judged->scale ||
		    judged->model_surprise[SURPRISE_POINT] >= config->warning_score)
			level = value - seasonal;
		baseline_reanchor(&s->baseline, t, level + seasonal);
		surprise_reanchor(&s->surprise, level);
	} else if (s->phase == DETECTOR_FIRING && v->transition != DETECTOR_FIRED &&
		   t - s->pending_since >= config->surprise.shift_halflife_s &&
		   judged->model_surprise[SURPRISE_SHIFT] >= config->warning_score) {
		/*
		 * Still off for longer than the shift model's memory: the level
		 * has moved to here (a spike of a minute or two has not).
		 */
		baseline_reanchor(&s->baseline, t, value);
		surprise_reanchor(&s->surprise, value - seasonal);
	} else if (v->transition == DETECTOR_RESOLVED &&
		   t - v->starts_at >= config->surprise.drift_fast_halflife_s) {
		surprise_reanchor(&s->surprise, s->surprise.fast_level);
	}
}

void detector_series_observe_sample(struct detector_series *s, const struct detector_config *config,
				    enum detector_direction direction, double t,
				    const struct detector_sample *sample, bool judge,
				    struct detector_verdict *out)
{
	double value = sample->value;
	struct surprise_input in;
	struct surprise_result judged;
	bool open;

	memset(out, 0, sizeof(*out));
	out->value = value;
	out->score = NAN;
	out->starts_at = NAN;
	out->ends_at = NAN;
	out->estimate.expected = NAN;
	out->estimate.spread = NAN;
	/* Broken input: neither judged nor learnt. */
	if (!isfinite(t) || !isfinite(value))
		return;
	/* The clock stepped back: re-anchor on it, judge again from the next interval. */
	if (s->last_time > 0 && t < s->last_time) {
		s->last_time = t;
		s->surprise.last_time = t;
		baseline_update(&s->baseline, &config->baseline, t, value);
		return;
	}
	s->last_time = t;
	s->last_value = value;
	s->last_judged = 0;
	s->last_anomalous = 0;
	if (!judge)
		return;
	baseline_estimate(&s->baseline, &config->baseline, t, &out->estimate);
	if (!(isfinite(out->estimate.expected) && out->estimate.spread > 0)) {
		baseline_update(&s->baseline, &config->baseline, t, value);
		return;
	}
	in = (struct surprise_input){
		.value = value,
		.expected = out->estimate.expected,
		.level = out->estimate.level,
		.spread = out->estimate.spread,
		.count = sample->count,
		.exposure = sample->exposure,
		.trials = sample->trials,
	};
	surprise_judge(&s->surprise, &config->surprise, side_of(direction), t, &in, &judged);
	out->score = (value - out->estimate.expected) / out->estimate.spread;
	if (out->estimate.ready) {
		/* A change too small to matter counts as calm, however surprising. */
		double surprise = small_change(config, value, &out->estimate) ? 0 : judged.surprise;

		out->judged = true;
		out->surprise = judged.surprise;
		out->model = judged.model;
		out->anomalous = surprise >= config->warning_score;
		advance_state(s, config, t, surprise, out->anomalous, out);
		s->last_score = out->score;
		s->last_expected = out->estimate.expected;
		s->last_judged = 1;
		s->last_anomalous = out->anomalous;
	}
	/*
	 * An open anomaly teaches neither the calibration nor the seasons;
	 * the value that opened it is remembered once it is over, so a
	 * pattern that recurs every day stops being rare after a few days.
	 */
	open = s->phase != DETECTOR_NORMAL || out->transition == DETECTOR_RESOLVED;
	if (out->transition == DETECTOR_FIRED)
		memcpy(s->opened_nominal, judged.nominal, sizeof(s->opened_nominal));
	if (out->transition == DETECTOR_RESOLVED)
		surprise_remember(&s->surprise, s->opened_nominal);
	surprise_learn(&s->surprise, &config->surprise, side_of(direction), t, &in, &judged,
		       out->estimate.ready && !open ? 1 : 0);
	if (open)
		baseline_update_anomalous(&s->baseline, &config->baseline, t, value);
	else
		baseline_update(&s->baseline, &config->baseline, t, value);
	if (out->judged)
		adapt(s, t, value, out, &judged, config);
}

void detector_series_observe(struct detector_series *s, const struct detector_config *config,
			     enum detector_direction direction, double t, double value, bool judge,
			     struct detector_verdict *out)
{
	/* A bare series: a count series when its values are non-negative integers. */
	struct detector_sample sample = { .value = value, .count = value, .exposure = 1 };

	detector_series_observe_sample(s, config, direction, t, &sample, judge, out);
}

/* ---- the service table ------------------------------------------------------ */

static uint64_t hash_name(const char *name)
{
	return fnv1a64_str(name);
}

static void free_labels(struct service_labels *l)
{
	free(l->team);
	free(l->app);
	free(l->namespace);
	free(l->pod);
	free(l->node);
	free(l->cluster);
	memset(l, 0, sizeof(*l));
}

static void free_service(struct service *s)
{
	struct edge *e, *next;

	for (e = s->edges; e; e = next) {
		next = e->next;
		free(e->endpoint);
		free(e->callee);
		free(e);
	}
	free_labels(&s->labels);
	free(s->name);
	free(s);
}

struct detector *detector_new(const struct detector_config *config, detector_event_fn on_event,
			      void *user)
{
	struct detector *det = calloc(1, sizeof(*det));

	if (!det)
		return NULL;
	det->config = *config;
	det->on_event = on_event;
	det->user = user;
	det->nbuckets = 1024;
	det->buckets = calloc(det->nbuckets, sizeof(*det->buckets));
	det->node = config->node ? strdup(config->node) : NULL;
	det->cluster = config->cluster ? strdup(config->cluster) : NULL;
	if (!det->buckets || (config->node && !det->node) || (config->cluster && !det->cluster)) {
		detector_free(det);
		return NULL;
	}
	det->config.node = det->node;
	det->config.cluster = det->cluster;
	return det;
}

void detector_free(struct detector *det)
{
	struct service *s, *next;

	if (!det)
		return;
	for (unsigned i = 0; det->buckets && i < det->nbuckets; i++) {
		for (s = det->buckets[i]; s; s = next) {
			next = s->next;
			free_service(s);
		}
	}
	free(det->buckets);
	free(det->node);
	free(det->cluster);
	free(det);
}

unsigned detector_service_count(const struct detector *det)
{
	return det->count;
}

static struct service *find_service(const struct detector *det, const char *name)
{
	struct service *s = det->buckets[hash_name(name) % det->nbuckets];

	for (; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static struct service *get_service(struct detector *det, const char *name)
{
	struct service *s = find_service(det, name);
	unsigned bucket;

	if (s)
		return s;
	if (det->count >= det->config.max_services) {
		if (!det->warned_cap)
			log_warn(
				"detector: %u services already, ignoring '%s' and any further ones",
				det->count, name);
		det->warned_cap = true;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name))) {
		log_error("detector: adding service '%s': %s", name, strerror(ENOMEM));
		free(s);
		return NULL;
	}
	for (int m = 0; m < DETECTOR_METRICS; m++)
		detector_series_init(&s->series[m], det->config.baseline.method);
	bucket = hash_name(name) % det->nbuckets;
	s->next = det->buckets[bucket];
	det->buckets[bucket] = s;
	det->count++;
	return s;
}

/* Replaces *slot by a copy of value when it differs; keeps the old one on ENOMEM. */
static void set_label(char **slot, const char *value)
{
	char *copy;

	if (!value || !*value) {
		free(*slot);
		*slot = NULL;
		return;
	}
	if (*slot && !strcmp(*slot, value))
		return;
	copy = strdup(value);
	if (!copy)
		return;
	free(*slot);
	*slot = copy;
}

static void set_labels(struct service_labels *l, const struct detector_labels *in)
{
	struct detector_labels none = { 0 };

	if (!in)
		in = &none;
	set_label(&l->team, in->team);
	set_label(&l->app, in->app);
	set_label(&l->namespace, in->namespace);
	set_label(&l->pod, in->pod);
	set_label(&l->node, in->node);
	set_label(&l->cluster, in->cluster);
}

static struct edge *get_edge(struct service *s, const char *endpoint)
{
	struct edge *e;

	for (e = s->edges; e; e = e->next)
		if (!strcmp(e->endpoint, endpoint))
			return e;
	if (s->nedges >= DETECTOR_MAX_EDGES)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->endpoint = strdup(endpoint))) {
		free(e);
		return NULL;
	}
	detector_series_init(&e->p99, BASELINE_SEASONAL_ROBUST);
	e->next = s->edges;
	s->edges = e;
	s->nedges++;
	return e;
}

/* ---- observations ------------------------------------------------------------- */

static bool usable(double v)
{
	return isfinite(v) && v >= 0;
}

/* The five metrics of an observation; NaN where the deltas do not give one. */
static void metric_values(const struct observation *obs, double values[DETECTOR_METRICS])
{
	for (int m = 0; m < DETECTOR_METRICS; m++)
		values[m] = NAN;
	if (!usable(obs->requests))
		return;
	if (usable(obs->interval_s) && obs->interval_s > 0)
		values[DETECTOR_REQUEST_RATE] = obs->requests / obs->interval_s;
	if (obs->requests <= 0)
		return;
	if (usable(obs->errors) && obs->errors <= obs->requests)
		values[DETECTOR_ERROR_RATIO] = obs->errors / obs->requests;
	if (usable(obs->sum_seconds))
		values[DETECTOR_LATENCY_MEAN] = obs->sum_seconds / obs->requests;
	if (usable(obs->p50))
		values[DETECTOR_LATENCY_P50] = obs->p50;
	if (usable(obs->p99))
		values[DETECTOR_LATENCY_P99] = obs->p99;
}

static size_t collect_dependencies(const struct service *s, struct detector_dependency *deps,
				   size_t max)
{
	size_t n = 0;

	for (const struct edge *e = s->edges; e && n < max; e = e->next) {
		if (!e->last.anomalous)
			continue;
		deps[n++] = (struct detector_dependency){
			.endpoint = e->endpoint,
			.service = e->callee,
			.metric = DETECTOR_LATENCY_P99,
			.value = e->last.value,
			.expected = e->last.estimate.expected,
			.anomalous = true,
		};
	}
	return n;
}

static void emit(struct detector *det, struct service *s, enum detector_metric metric, double t,
		 const struct detector_verdict *v)
{
	struct detector_labels labels = {
		.team = s->labels.team,
		.app = s->labels.app,
		.namespace = s->labels.namespace,
		.pod = s->labels.pod,
		.node = s->labels.node ? s->labels.node : det->node,
		.cluster = s->labels.cluster ? s->labels.cluster : det->cluster,
	};
	struct detector_event ev = {
		.service = s->name,
		.labels = &labels,
		.node = labels.node,
		.cluster = labels.cluster,
		.metric = metric,
		.method = det->config.baseline.method,
		.transition = v->transition,
		.severity = v->severity,
		.value = v->value,
		.score = v->surprise,
		.threshold = det->config.warning_score,
		.estimate = v->estimate,
		.starts_at = v->starts_at,
		.observed_at = t,
		.ends_at = v->ends_at,
	};
	struct detector_dependency deps[DETECTOR_MAX_EDGES];

	ev.ndeps = collect_dependencies(s, deps, DETECTOR_MAX_EDGES);
	ev.deps = deps;
	log_info("detector: %s %s %s value=%g expected=%g surprise=%.1f z=%.1f",
		 detector_transition_name(v->transition), s->name, detector_metric_name(metric),
		 v->value, v->estimate.expected, v->surprise, v->score);
	if (det->on_event)
		det->on_event(&ev, det->user);
}

/* Low-traffic services: their rate is judged only once it is worth judging. */
static bool enough_traffic(const struct detector *det, const struct service *s,
			   const struct observation *obs)
{
	const struct baseline *rate = &s->series[DETECTOR_REQUEST_RATE].baseline;
	double usual = rate->samples && isfinite(rate->mean) ? rate->mean * obs->interval_s : 0;

	return obs->requests >= det->config.min_requests || usual >= det->config.min_requests;
}

int detector_observe(struct detector *det, const char *service,
		     const struct detector_labels *labels, double t, const struct observation *obs)
{
	double values[DETECTOR_METRICS];
	struct detector_verdict verdict;
	struct service *s;
	int events = 0;

	if (!service || !*service || !obs || !isfinite(t)) {
		log_warn(
			"detector: observation without a service name, data or valid time ignored");
		return -1;
	}
	s = get_service(det, service);
	if (!s)
		return 0;
	set_labels(&s->labels, labels);
	if (!usable(obs->requests)) {
		/* A counter reset or a missing map entry: nothing to learn this interval. */
		log_debug("detector: %s: unusable request count %g, interval skipped", service,
			  obs->requests);
		return 0;
	}
	metric_values(obs, values);
	for (int m = 0; m < DETECTOR_METRICS; m++) {
		struct detector_sample sample = { .value = values[m], .count = NAN };
		bool judge = obs->requests >= det->config.min_requests;

		if (isnan(values[m]))
			continue;
		if (m == DETECTOR_REQUEST_RATE) {
			/* Requests are counts: the count model judges a quiet service. */
			judge = enough_traffic(det, s, obs);
			sample.count = obs->requests;
			sample.exposure = obs->interval_s;
		} else if (m == DETECTOR_ERROR_RATIO) {
			/* Errors of requests: the binomial tail judges any traffic. */
			judge = obs->requests > 0;
			sample.count = obs->errors;
			sample.trials = obs->requests;
		}
		detector_series_observe_sample(&s->series[m], &det->config,
					       detector_metric_direction(m), t, &sample, judge,
					       &verdict);
		if (verdict.transition == DETECTOR_NONE)
			continue;
		emit(det, s, m, t, &verdict);
		events++;
	}
	return events;
}

int detector_observe_dependency(struct detector *det, const char *service, const char *endpoint,
				const char *callee_service, double t, const struct observation *obs)
{
	struct service *s;
	struct edge *e;

	if (!service || !*service || !endpoint || !*endpoint || !obs || !isfinite(t))
		return -1;
	s = get_service(det, service);
	if (!s)
		return 0;
	e = get_edge(s, endpoint);
	if (!e)
		return 0;
	set_label(&e->callee, callee_service);
	if (!usable(obs->requests) || !usable(obs->p99) || obs->requests <= 0)
		return 0;
	detector_series_observe(&e->p99, &det->config, DETECTOR_UP, t, obs->p99,
				obs->requests >= det->config.min_requests, &e->last);
	return 0;
}

double detector_latency_threshold(const struct detector *det, const char *service)
{
	const struct service *s = find_service(det, service);
	struct baseline_estimate est;
	double by_factor, by_score;

	if (!s)
		return NAN;
	baseline_estimate(&s->series[DETECTOR_LATENCY_P99].baseline, &det->config.baseline,
			  s->series[DETECTOR_LATENCY_P99].last_time, &est);
	if (!est.ready || !isfinite(est.expected) || !isfinite(est.spread))
		return NAN;
	by_factor = est.expected * det->config.sampling_factor;
	by_score = est.expected + SAMPLING_SPREADS * est.spread;
	return by_factor > by_score ? by_factor : by_score;
}

void detector_foreach_threshold(const struct detector *det, detector_threshold_fn fn, void *user)
{
	for (unsigned i = 0; i < det->nbuckets; i++)
		for (const struct service *s = det->buckets[i]; s; s = s->next)
			fn(s->name, detector_latency_threshold(det, s->name), user);
}

int detector_foreach_series(const struct detector *det, detector_series_fn fn, void *user)
{
	int rc;

	for (unsigned i = 0; i < det->nbuckets; i++) {
		for (const struct service *s = det->buckets[i]; s; s = s->next) {
			for (int m = 0; m < DETECTOR_METRICS; m++) {
				rc = fn(s->name, NULL, m, &s->series[m], user);
				if (rc)
					return rc;
			}
			for (const struct edge *e = s->edges; e; e = e->next) {
				rc = fn(s->name, e->endpoint, DETECTOR_LATENCY_P99, &e->p99, user);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

int detector_restore_series(struct detector *det, const char *service, const char *endpoint,
			    enum detector_metric metric, const struct detector_series *series)
{
	struct service *s;
	struct edge *e;

	if ((unsigned)metric >= DETECTOR_METRICS || !service || !*service)
		return -EINVAL;
	s = get_service(det, service);
	if (!s)
		return -ENOSPC;
	if (!endpoint) {
		s->series[metric] = *series;
		return 0;
	}
	e = get_edge(s, endpoint);
	if (!e)
		return -ENOSPC;
	e->p99 = *series;
	return 0;
}
