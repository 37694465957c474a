/* Per-service judgement: scores, anomaly state machines and events. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "events.h"
#include "log.h"

#define DETECTOR_MAX_EDGES 64

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
	[DETECTOR_LATENCY_P99] = "latency_p99",     [DETECTOR_LATENCY_P50] = "latency_p50",
	[DETECTOR_LATENCY_MEAN] = "latency_mean",   [DETECTOR_REQUEST_RATE] = "request_rate",
	[DETECTOR_ERROR_RATIO] = "error_ratio",     [DETECTOR_VALUE] = "value",
};

void detector_config_default(struct detector_config *config)
{
	*config = (struct detector_config){
		.warning_score = 4,
		.critical_score = 8,
		.resolve_score = 3,
		.for_s = 300,
		.resolve_for_s = 300,
		.min_relative_change = 0.1,
		.peak_factor = 1.25,
		.min_surprise = 1.75,
		.surprise_halflife_s = 6 * 3600,
		.min_requests = 20,
		.sampling_factor = 1.5,
		.max_services = 4096,
	};
	baseline_config_default(&config->baseline);
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
	series->calm_since = NAN;
	series->pending_since = NAN;
	series->last_score = NAN;
	series->last_expected = NAN;
	series->last_value = NAN;
}

/* How far on the bad side the score is; negative on the good side. */
static double bad_score(enum detector_direction direction, double score)
{
	switch (direction) {
	case DETECTOR_UP:
		return score;
	case DETECTOR_DOWN:
		return -score;
	default:
		return fabs(score);
	}
}

/* Too small to matter: within the relative change floor or the hour's usual peak error. */
static bool small_change(const struct detector_config *config, double value,
			 const struct baseline_estimate *est)
{
	double change = fabs(value - est->expected);

	return change < config->min_relative_change * fabs(est->expected) ||
	       change <= config->peak_factor * est->seasonal_peak;
}

static void advance_state(struct detector_series *s, const struct detector_config *config, double t,
			  double bad, bool anomalous, bool rare, struct detector_verdict *out)
{
	switch (s->phase) {
	case DETECTOR_NORMAL:
		/* Rarity opens an anomaly; holding it open needs only the score. */
		if (!anomalous || !rare)
			break;
		s->phase = DETECTOR_PENDING;
		s->pending_since = t;
		s->peak_score = bad;
		/* With no persistence time it fires at once. */
		__attribute__((fallthrough));
	case DETECTOR_PENDING:
		if (!anomalous) {
			s->phase = DETECTOR_NORMAL;
			s->pending_since = NAN;
			break;
		}
		if (bad > s->peak_score)
			s->peak_score = bad;
		if (t - s->pending_since < config->for_s)
			break;
		s->phase = DETECTOR_FIRING;
		s->severity = s->peak_score >= config->critical_score ? DETECTOR_CRITICAL :
									 DETECTOR_WARNING;
		s->calm_since = NAN;
		out->transition = DETECTOR_FIRED;
		break;
	case DETECTOR_FIRING:
		if (bad > s->peak_score)
			s->peak_score = bad;
		if (anomalous || bad >= config->resolve_score) {
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

static unsigned surprise_bin(double x)
{
	double b = x / DETECTOR_SURPRISE_BIN_WIDTH;

	return b >= DETECTOR_SURPRISE_BINS - 1 ? DETECTOR_SURPRISE_BINS - 1 : (unsigned)b;
}

/* -log10 of the decayed fraction of past scores at least as large, with one pseudo-count. */
static double empirical_surprise(const struct detector_series *s, double x)
{
	unsigned bin = surprise_bin(x);
	double above = 0.5 * s->surprise_hist[bin], total = 0;

	for (unsigned i = 0; i < DETECTOR_SURPRISE_BINS; i++) {
		total += s->surprise_hist[i];
		if (i > bin)
			above += s->surprise_hist[i];
	}
	return -log10((above + 1) / (total + 1));
}

static double histogram_weight(const struct detector_series *s)
{
	double total = 0;

	for (unsigned i = 0; i < DETECTOR_SURPRISE_BINS; i++)
		total += s->surprise_hist[i];
	return total;
}

static double gaussian_surprise(const struct detector_series *s, double x)
{
	double sd = sqrt(s->surprise_var), tail;

	if (sd < 0.05)
		sd = 0.05;
	tail = 0.5 * erfc((x - s->surprise_mean) / (sd * M_SQRT2));
	return tail > 1e-300 ? -log10(tail) : 300;
}

/*
 * How rare |score| is for this series: -log10 of the fraction of its recent
 * scores (a decayed histogram of log(1 + |score|)) at least as large.
 * Heavy-tailed series produce large scores all the time; this is what lets
 * one threshold serve them and calm ones alike.
 */
static double rarity(const struct detector_series *s, const struct detector_config *config,
		     double score, bool *rare)
{
	double x = log1p(fabs(score)), out = 0;

	/*
	 * The empirical tail saturates at log10 of the memory's size for any
	 * score never seen before; a hundredth of a normal fit's tail orders
	 * those among themselves.
	 */
	if (s->surprise_weight >= 10)
		out = empirical_surprise(s, x) + 0.01 * gaussian_surprise(s, x);
	/*
	 * A memory of W scores can say no more than "never seen" (log10(W + 1)):
	 * when it is too short to express min_surprise (early on, or long
	 * intervals), never seen is rare enough; with next to no memory every
	 * score is never seen.
	 */
	*rare = s->surprise_weight < 10 ||
		out >= fmin(config->min_surprise, log10(histogram_weight(s) + 1));
	return out;
}

/* Adds |score| to the series' memory of scores. */
static void learn_score(struct detector_series *s, const struct detector_config *config, double t,
			double score)
{
	double x = log1p(fabs(score)), gain, delta;

	gain = s->surprise_weight > 0 ?
		       1 - exp(-(t - s->surprise_time) * M_LN2 / config->surprise_halflife_s) :
		       1;
	if (gain < 1 / (s->surprise_weight + 1))
		gain = 1 / (s->surprise_weight + 1);
	delta = x - s->surprise_mean;
	s->surprise_mean += gain * delta;
	s->surprise_var = (1 - gain) * (s->surprise_var + gain * delta * delta);
	for (unsigned i = 0; i < DETECTOR_SURPRISE_BINS; i++)
		s->surprise_hist[i] *= (float)(1 - gain);
	s->surprise_hist[surprise_bin(x)] += 1;
	s->surprise_weight++;
	s->surprise_time = t;
}

void detector_series_observe(struct detector_series *s, const struct detector_config *config,
			     enum detector_direction direction, double t, double value, bool judge,
			     struct detector_verdict *out)
{
	double bad = 0;
	bool anomalous = false, rare = false;

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
	if (out->estimate.ready) {
		out->score = (value - out->estimate.expected) / out->estimate.spread;
		out->judged = true;
		bad = bad_score(direction, out->score);
		out->surprise = rarity(s, config, out->score, &rare);
		anomalous = bad >= config->warning_score &&
			    !small_change(config, value, &out->estimate);
		/* A change too small to matter counts as calm, whatever its score. */
		if (!anomalous && small_change(config, value, &out->estimate))
			bad = 0;
		out->anomalous = anomalous;
		advance_state(s, config, t, bad, anomalous, rare, out);
		/*
		 * Scores of an anomaly still waiting for its persistence time are
		 * kept out of the memory: if it pauses for an interval it must
		 * still look rare when it resumes.
		 */
		if (s->phase != DETECTOR_PENDING)
			learn_score(s, config, t, out->score);
		s->last_score = out->score;
		s->last_expected = out->estimate.expected;
		s->last_judged = 1;
		s->last_anomalous = anomalous;
	}
	baseline_update(&s->baseline, &config->baseline, t, value);
}

/* ---- the service table ------------------------------------------------------ */

static uint64_t hash_name(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *name; name++) {
		h ^= (unsigned char)*name;
		h *= 0x100000001b3ULL;
	}
	return h;
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
			log_warn("detector: %u services already, ignoring '%s' and any further ones",
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

static size_t collect_dependencies(const struct service *s, struct events_dependency *deps,
				   size_t max)
{
	size_t n = 0;

	for (const struct edge *e = s->edges; e && n < max; e = e->next) {
		if (!e->last.anomalous)
			continue;
		deps[n++] = (struct events_dependency){
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
		.score = v->score,
		.threshold = det->config.warning_score,
		.estimate = v->estimate,
		.starts_at = v->starts_at,
		.observed_at = t,
		.ends_at = v->ends_at,
	};
	struct events_dependency deps[DETECTOR_MAX_EDGES];
	size_t ndeps = collect_dependencies(s, deps, DETECTOR_MAX_EDGES);
	json_t *event = events_build(&ev, deps, ndeps);

	if (!event) {
		log_error("detector: building the %s event of %s/%s: %s",
			  v->transition == DETECTOR_FIRED ? "firing" : "resolved", s->name,
			  detector_metric_name(metric), strerror(ENOMEM));
		return;
	}
	log_info("detector: %s %s %s value=%g expected=%g score=%.1f",
		 v->transition == DETECTOR_FIRED ? "firing" : "resolved", s->name,
		 detector_metric_name(metric), v->value, v->estimate.expected, v->score);
	if (det->on_event)
		det->on_event(event, &ev, det->user);
	else
		json_decref(event);
}

/* Low-traffic services: their rate is judged only once it is worth judging. */
static bool enough_traffic(const struct detector *det, const struct service *s,
			   const struct observation *obs)
{
	const struct baseline *rate = &s->series[DETECTOR_REQUEST_RATE].baseline;
	double usual = rate->samples && isfinite(rate->mean) ? rate->mean * obs->interval_s : 0;

	return obs->requests >= det->config.min_requests || usual >= det->config.min_requests;
}

int detector_observe(struct detector *det, const char *service, const struct detector_labels *labels,
		     double t, const struct observation *obs)
{
	double values[DETECTOR_METRICS];
	struct detector_verdict verdict;
	struct service *s;
	int events = 0;

	if (!service || !*service || !obs || !isfinite(t)) {
		log_warn("detector: observation without a service name, data or valid time ignored");
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
		bool judge = m == DETECTOR_REQUEST_RATE ? enough_traffic(det, s, obs) :
							  obs->requests >= det->config.min_requests;

		if (isnan(values[m]))
			continue;
		detector_series_observe(&s->series[m], &det->config, detector_metric_direction(m), t,
					values[m], judge, &verdict);
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
	by_score = est.expected + det->config.warning_score * est.spread;
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
