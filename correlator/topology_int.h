/*
 * What the topology's files share: topology.c (the graph, placing events
 * into incidents, merges), topology_memory.c (shared label sets, forgetting
 * what the retention drops), topology_view.c (ranking, views, JSON).
 * Not for other modules: they use topology.h.
 */
#ifndef CORR_TOPOLOGY_INT_H
#define CORR_TOPOLOGY_INT_H

#include <stdlib.h>

#include "strmap.h"
#include "topology.h"

struct intvec {
	int *v;
	size_t n;
	size_t cap;
};

static inline int intvec_push(struct intvec *iv, int x)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 4;
		int *g = realloc(iv->v, cap * sizeof(*g));
		if (!g)
			return -1;
		iv->v = g;
		iv->cap = cap;
	}
	iv->v[iv->n++] = x;
	return 0;
}

static inline int intvec_has(const struct intvec *iv, int x)
{
	for (size_t i = 0; i < iv->n; i++)
		if (iv->v[i] == x)
			return 1;
	return 0;
}

struct service {
	char *name;
	struct intvec adj;     /* callers and callees: connectivity */
	struct intvec callees; /* direction: who this service depends on */
	struct intvec callers; /* and who depends on it */
	struct intvec anoms;
	unsigned mark;
};

/*
 * A label set shared by the anomalies that carry it: the anomalies of one
 * service on one node mostly carry the same labels, so one copy of each
 * set is kept, counted (the labels were most of an anomaly's memory).
 */
struct label_set {
	struct corr_labels ls; /* first: a pointer to it is one to the set */
	char key[17];	       /* its fingerprint, the key in lset_index; "" if not there */
	int slot;	       /* in lsets */
	unsigned refs;
};

struct anomaly {
	char *id;
	int service;
	char *node;
	int64_t start_ms;
	int64_t end_ms; /* 0 while firing */
	bool stale;	/* ended because its node fell silent */
	int64_t observed_ms;
	double score;
	enum corr_severity severity;
	int incident;
	size_t n_events;
	struct label_set *labels;   /* shared (intern_labels) */
	struct intvec dep_services; /* anomalous dependencies the agent named */
};

struct incident {
	char id[17];
	int merged_into;
	bool forgotten; /* resolved before the retention: only its slot is left */
	struct intvec anoms;
	bool dirty;
	struct corr_root_cause *causes;
	size_t n_causes;
	struct corr_incident_view view;
};

struct corr_topology {
	struct corr_topo_params p;
	struct service *svc;
	size_t n_svc;
	struct corr_strmap svc_index;
	struct anomaly *an;
	size_t n_an;
	struct corr_strmap an_index;
	struct corr_strmap endpoints; /* "addr:port" -> the service answering there */
	/*
	 * Incident slots are numbered from 0 in creation order and never
	 * reused; inc holds slots inc_base .. n_inc-1 only: the forgotten
	 * ones below first_live leave the array (incident_at() indexes it).
	 */
	struct incident *inc;
	size_t inc_base;
	size_t n_inc;
	unsigned mark;
	struct intvec queue; /* BFS scratch */
	int64_t clock_ms;    /* latest observed_at seen: event time, not wall time */
	struct intvec merged_from, merged_into; /* merges not yet taken by the caller */
	struct intvec free_an;			/* anomaly slots of forgotten incidents, to reuse */
	struct label_set **lsets;		/* the anomalies' label sets, by slot */
	size_t n_lsets;
	struct intvec free_lsets;
	struct corr_strmap lset_index; /* fingerprint -> slot */
	size_t first_live;	       /* incidents below this slot are all forgotten or merged */
};

/*
 * Anomalies that ended this long before the latest event can no longer
 * overlap a new one; they leave their service's candidate list (not their
 * incident) so joining stays cheap however long the correlator runs.
 */
#define PRUNE_AFTER_MS (3600 * 1000LL)

/* Slot idx (inc_base <= idx < n_inc). */
static inline struct incident *incident_at(const struct corr_topology *t, int idx)
{
	return &t->inc[(size_t)idx - t->inc_base];
}

static inline int resolve_incident(const struct corr_topology *t, int idx)
{
	while (incident_at(t, idx)->merged_into >= 0)
		idx = incident_at(t, idx)->merged_into;
	return idx;
}

/* topology_memory.c */
/* The shared copy of ls (taken over: ls is emptied), or NULL (out of memory). */
struct label_set *topo_intern_labels(struct corr_topology *t, struct corr_labels *ls);
void topo_release_labels(struct corr_topology *t, struct label_set *set);

#endif
