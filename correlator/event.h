/* One validated anomaly event (seismo.event/v1) and one dependency edge. */
#ifndef CORR_EVENT_H
#define CORR_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labels.h"

#define CORR_EVENT_SCHEMA "seismo.event/v1"

enum corr_severity {
	CORR_SEV_WARNING,
	CORR_SEV_CRITICAL
};

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
	/*
	 * The event's JSON text as received (NUL-terminated, raw_len bytes),
	 * kept for the store and the API. Not owned by the event: it lives in
	 * its batch (corr_batch.mem) or with whoever made the event.
	 */
	const char *raw;
	size_t raw_len;
};

struct corr_edge {
	char *caller;
	char *callee; /* service name; the endpoint when the service is unknown */
	char *endpoint;
	uint64_t requests;
};

void corr_event_free(struct corr_event *ev);
void corr_edge_free(struct corr_edge *e);
struct jf_buf;
/* Appends the dependencies as the store keeps them: [{"service":..,"anomalous":..}]. */
void corr_event_put_deps_json(const struct corr_event *ev, struct jf_buf *out);
const char *corr_severity_name(enum corr_severity s);

#endif
