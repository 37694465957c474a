/*
 * Topology correlation: anomalies of services that are connected in the
 * dependency graph (within max_hops) and overlap in time form one incident;
 * incidents that become connected merge. Inside an incident the root-cause
 * candidates are the anomalous services not explained by an anomalous
 * dependency (a callee that went anomalous no later than they did), ranked
 * by evidence: robust z-score, then onset order (the BARO/NSigma idea:
 * rank by anomaly magnitude inside the anomalous subgraph).
 * Pure and deterministic: the same events in the same order give the same
 * incidents and ids. Not thread-safe (the engine holds a lock).
 */
#ifndef CORR_TOPOLOGY_H
#define CORR_TOPOLOGY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct corr_topo_params {
	int max_hops;
	int64_t slack_ms;      /* time overlap tolerance */
	int critical_services; /* blast radius that makes it critical */
};

struct corr_root_cause {
	const char *service;
	double score; /* max |robust z| of its anomalies */
	int64_t onset_ms;
	bool explained;			  /* an anomalous dependency explains it */
	const struct corr_labels *labels; /* of its strongest anomaly */
	int anomaly;			  /* (internal) index of that anomaly */
};

struct corr_incident_view {
	const char *id;
	bool resolved;
	const char *stale_node; /* resolved, and one of its anomalies as stale: that node */
	int64_t start_ms;
	int64_t end_ms;
	enum corr_severity severity;
	size_t n_services;
	size_t n_nodes;
	size_t n_anomalies;
	size_t n_events;
	const struct corr_root_cause *causes; /* ranked, best first */
	size_t n_causes;
};

struct corr_topology;

struct corr_topology *corr_topology_new(const struct corr_topo_params *p);
void corr_topology_free(struct corr_topology *t);

int corr_topology_add_edge(struct corr_topology *t, const char *caller, const char *callee);
/*
 * An agent's edge: callee is the service, or the endpoint itself when the
 * agent did not know the service; an endpoint some agent named a service
 * for is resolved to that service.
 */
int corr_topology_add_endpoint_edge(struct corr_topology *t, const char *caller, const char *callee,
				    const char *endpoint);

/*
 * Applies one event. *incident gets the index of the incident it belongs
 * to; merged[] the indexes of incidents merged into it (at most max_merged,
 * *n_merged says how many). *created is set when a new incident opened.
 */
int corr_topology_add_event(struct corr_topology *t, const struct corr_event *ev, int *incident,
			    int *merged, size_t max_merged, size_t *n_merged, bool *created);

/*
 * Merges that new edges caused (an edge linking overlapping anomalies of
 * two incidents): takes up to max pairs, from[i] merged into into[i].
 */
size_t corr_topology_take_merges(struct corr_topology *t, int *from, int *into, size_t max);

/*
 * Retention in memory: forgets incidents resolved before before_ms, with
 * their anomalies (whose slots are reused). Writes up to max forgotten
 * slots to gone. Incident slots are never reused: a forgotten one (and one
 * merged into it) keeps its number, view fails on it, and once every slot
 * below it is forgotten or merged too it leaves memory (below
 * corr_topology_first_slot), so memory does not grow with uptime.
 */
size_t corr_topology_forget(struct corr_topology *t, int64_t before_ms, int *gone, size_t max);

/*
 * Firing anomalies seen from node (for resolving them as stale): calls cb
 * with each one's id, service, start and labels; stops when cb returns non-zero.
 */
typedef int (*corr_topology_anomaly_cb)(const char *anomaly_id, const char *service,
					int64_t start_ms, const struct corr_labels *labels,
					void *arg);
int corr_topology_each_firing_of_node(const struct corr_topology *t, const char *node,
				      corr_topology_anomaly_cb cb, void *arg);

/*
 * Incident slots are numbered in creation order and never reused: slots
 * first_slot .. incident_slots-1 are in memory (merged and forgotten ones
 * among them: check view); those below first_slot were forgotten.
 */
size_t corr_topology_incident_slots(const struct corr_topology *t);
size_t corr_topology_first_slot(const struct corr_topology *t);
/* Slots in memory: incident_slots - first_slot. */
size_t corr_topology_slots_held(const struct corr_topology *t);
/* Fills v for incident idx; returns -1 if it was merged into another. */
int corr_topology_view(struct corr_topology *t, int idx, struct corr_incident_view *v);
int corr_topology_find(const struct corr_topology *t, const char *id);
/* Incident idx as JSON; detail adds its anomalies. */
json_t *corr_topology_incident_json(struct corr_topology *t, int idx, bool detail);
/* The anomaly ids of an incident and their start times (for fetching its events). */
size_t corr_topology_anomaly_ids(const struct corr_topology *t, int idx, const char **out,
				 int64_t *starts_ms, size_t max);
size_t corr_topology_service_count(const struct corr_topology *t);

#endif
