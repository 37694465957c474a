/* One validated anomaly event (seismo.event/v1) and one dependency edge. */
#ifndef CORR_EVENT_H
#define CORR_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "labels.h"

#define CORR_EVENT_SCHEMA "seismo.event/v1"

enum corr_severity { CORR_SEV_WARNING, CORR_SEV_CRITICAL };

/* An anomalous dependency named in the event (the agent's own evidence). */
struct corr_event_dep {
	char *service;
	bool anomalous;
};

struct corr_event {
	char *id;
	char *anomaly_id;
	bool resolved;
	enum corr_severity severity;
	char *service;
	char *node;
	char *metric;
	struct corr_labels labels; /* event labels plus node/cluster from the batch */
	double value;
	double score;
	double threshold;
	int64_t starts_at_ms;
	int64_t observed_at_ms;
	int64_t ends_at_ms; /* 0 while firing */
	bool stale;	    /* resolved by the correlator: its node fell silent */
	struct corr_event_dep *deps;
	size_t n_deps;
	json_t *raw; /* the event as received, kept for the store and the API */
};

struct corr_edge {
	char *caller;
	char *callee; /* service name; the endpoint when the service is unknown */
	char *endpoint;
	uint64_t requests;
};

void corr_event_free(struct corr_event *ev);
void corr_edge_free(struct corr_edge *e);
const char *corr_severity_name(enum corr_severity s);

#endif
