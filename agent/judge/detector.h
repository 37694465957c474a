/*
 * Judging services: per service and metric a baseline (baseline.h), a signed
 * score per interval, and an anomaly state machine (persistence before
 * firing, hysteresis before resolving, severity). Firing and resolved
 * anomalies leave through a callback as struct detector_event: plain C
 * data; the event stage (agent/event/) makes the JSON.
 *
 * Use from the agent loop, once per interval:
 *
 *	struct detector_config config;
 *	detector_config_default(&config);
 *	config.node = "node-1";
 *	struct detector *det = detector_new(&config, on_event, ctx);
 *	...
 *	for each client-side edge of the interval (optional, before its service):
 *		detector_observe_dependency(det, "checkout", "10.0.0.5:5432", "postgres", now, &obs);
 *	for each service with its histogram delta:
 *		detector_observe(det, "checkout", &labels, now, &obs);   // may call on_event
 *	detector_foreach_threshold(det, write_threshold_into_map, skel);
 *
 * on_event receives a struct detector_event, valid during the call only;
 * events_build() (agent/event/events.h) turns it into seismo.event/v1 JSON.
 *
 * The same per-series code (detector_series_*) runs offline in `seismo replay`.
 */
#ifndef SEISMO_DETECTOR_H
#define SEISMO_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "baseline.h"
#include "surprise.h"

enum detector_metric {
	DETECTOR_LATENCY_P99,
	DETECTOR_LATENCY_P50,
	DETECTOR_LATENCY_MEAN,
	DETECTOR_REQUEST_RATE,
	DETECTOR_ERROR_RATIO,
	DETECTOR_METRICS,
	DETECTOR_VALUE = DETECTOR_METRICS, /* a bare series (replay) */
};

/* Which side of the baseline is trouble. */
enum detector_direction {
	DETECTOR_UP = 1,
	DETECTOR_DOWN = 2,
	DETECTOR_BOTH = 3,
};

enum detector_phase {
	DETECTOR_NORMAL = 0,
	DETECTOR_PENDING = 1, /* anomalous, waiting for the persistence time */
	DETECTOR_FIRING = 2,
};

enum detector_severity {
	DETECTOR_WARNING = 0,
	DETECTOR_CRITICAL = 1,
};

enum detector_transition {
	DETECTOR_NONE = 0,
	DETECTOR_FIRED,
	DETECTOR_RESOLVED,
	DETECTOR_ESCALATED, /* still firing, now critical (warning -> critical while it lasts) */
};

struct detector_config {
	struct baseline_config baseline;
	struct surprise_config surprise;
	double warning_score; /* surprise (-log10 of the calibrated tail probability) that opens an anomaly */
	double critical_score;	    /* surprise that makes it critical (at once or by escalation) */
	double resolve_score;	    /* an anomaly is calm again below this surprise ... */
	double for_s;		    /* persistence: anomalous this long before firing (seed: 5m) */
	double resolve_for_s;	    /* ... for this long before it resolves */
	double min_relative_change; /* and never anomalous within this fraction of the expected value */
	double min_requests;	    /* fewer requests in an interval: latency not judged */
	double sampling_factor; /* kernel sampling threshold = expected p99 times this, at least */
	unsigned max_services;	/* cardinality cap: further services are ignored */
	const char *node;	/* copied into labels and anomaly ids; may be NULL */
	const char *cluster;
};

/* Histogram deltas of one service over one interval. */
struct observation {
	double interval_s;  /* length of the interval the deltas cover */
	double requests;    /* completed requests */
	double errors;	    /* of which ended in a 5xx */
	double sum_seconds; /* total latency of those requests */
	double p50;	    /* seconds; NaN when unknown */
	double p99;
};

/* Labels of a service; NULL or "" when unknown. */
struct detector_labels {
	const char *team;
	const char *app;
	const char *namespace;
	const char *pod;
	const char *node;
	const char *cluster;
};

/*
 * One judged series: its baseline, its surprise models and where its anomaly
 * stands. Plain data (state file); constant size, 10,856 bytes
 * (test_detector.c checks it).
 */
struct detector_series {
	struct baseline baseline;
	struct surprise_state surprise;
	uint32_t phase;
	uint32_t severity;
	double pending_since; /* first anomalous observation of the open anomaly */
	double calm_since;    /* first calm observation while firing; NaN when not calm */
	double peak_score;    /* largest surprise since pending_since */
	double last_time;     /* last observation, judged or not */
	double last_value;
	double last_score;
	double last_expected;
	uint32_t last_judged;
	uint32_t last_anomalous;
	double opened_nominal[SURPRISE_MODELS]; /* what the value that opened the anomaly scored */
};

/* One value with what it is made of, when the caller knows (the agent's metrics). */
struct detector_sample {
	double value;
	double count; /* events behind value (value = count / exposure or count / trials); NaN if none */
	double exposure; /* a rate: the interval's seconds; a bare count: 1 */
	double trials;	 /* a ratio: the requests the errors are counted of; 0 if not a ratio */
};

/* What one observation of one series came to. */
struct detector_verdict {
	bool judged;	/* warm baseline and enough traffic */
	bool anomalous; /* beyond the warning score on the bad side */
	double value;
	double score;	 /* signed: (value - expected) / spread */
	double surprise; /* -log10 of the calibrated tail probability, corrected for the models */
	enum surprise_model model;	   /* the model that found it most surprising */
	struct baseline_estimate estimate; /* before learning this value */
	enum detector_transition transition;
	enum detector_severity severity;
	double starts_at;
	double ends_at; /* when resolved */
};

/* A client-side edge of the service, as judged by the detector. */
struct detector_dependency {
	const char *endpoint;
	const char *service; /* NULL when unknown */
	enum detector_metric metric;
	double value;
	double expected;
	bool anomalous;
};

/* An event as C data, before it becomes JSON (agent/event/events.c). */
struct detector_event {
	const char *service;
	const struct detector_labels *labels;
	const char *node;
	const char *cluster;
	enum detector_metric metric;
	enum baseline_method method;
	enum detector_transition transition;
	enum detector_severity severity;
	double value;
	double score;
	double threshold;
	struct baseline_estimate estimate;
	double starts_at;
	double observed_at;
	double ends_at;
	const struct detector_dependency *deps; /* the service's anomalous dependencies */
	size_t ndeps;
};

typedef void (*detector_event_fn)(const struct detector_event *event, void *user);
typedef void (*detector_threshold_fn)(const char *service, double threshold_seconds, void *user);
typedef int (*detector_series_fn)(const char *service, const char *endpoint,
				  enum detector_metric metric, const struct detector_series *series,
				  void *user);

struct detector;

void detector_config_default(struct detector_config *config);
const char *detector_metric_name(enum detector_metric metric);
enum detector_direction detector_metric_direction(enum detector_metric metric);

/* The per-series core, shared by the agent loop and `seismo replay`. */
void detector_series_init(struct detector_series *series, enum baseline_method method);
/*
 * Scores value at time t against the series' baseline, advances its anomaly
 * state and then learns the value. judge = false (too little traffic) learns
 * nothing and leaves the state alone. Non-finite or out-of-order input is
 * reported as not judged and changes nothing.
 */
void detector_series_observe(struct detector_series *series, const struct detector_config *config,
			     enum detector_direction direction, double t, double value, bool judge,
			     struct detector_verdict *out);
/* The same with what the value is made of (counts behind a rate, trials behind a ratio). */
void detector_series_observe_sample(struct detector_series *series,
				    const struct detector_config *config,
				    enum detector_direction direction, double t,
				    const struct detector_sample *sample, bool judge,
				    struct detector_verdict *out);
/* "firing", "resolved" or "escalated": for logs. */
const char *detector_transition_name(enum detector_transition transition);

struct detector *detector_new(const struct detector_config *config, detector_event_fn on_event,
			      void *user);
void detector_free(struct detector *det);
/* One interval of one service; returns the number of events emitted, -1 on bad input. */
int detector_observe(struct detector *det, const char *service,
		     const struct detector_labels *labels, double t, const struct observation *obs);
/*
 * One interval of a client-side edge from service to endpoint (callee_service
 * may be NULL). Its p99 is judged like a service's; anomalous edges are listed
 * in that service's next events under "dependencies".
 */
int detector_observe_dependency(struct detector *det, const char *service, const char *endpoint,
				const char *callee_service, double t,
				const struct observation *obs);
/*
 * Latency above which a request of this service is worth a kernel sample:
 * max(expected p99 * sampling_factor, expected p99 + 4 spreads).
 * NaN while the service's p99 baseline is warming up or unknown.
 */
double detector_latency_threshold(const struct detector *det, const char *service);
void detector_foreach_threshold(const struct detector *det, detector_threshold_fn fn, void *user);
/* Visits every series (state.c saves them); stops at and returns fn's first non-zero. */
int detector_foreach_series(const struct detector *det, detector_series_fn fn, void *user);
/* Puts back a saved series; endpoint NULL for a service's own metrics. */
int detector_restore_series(struct detector *det, const char *service, const char *endpoint,
			    enum detector_metric metric, const struct detector_series *series);
unsigned detector_service_count(const struct detector *det);

#endif
