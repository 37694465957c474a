/* The agent's view of what the kernel measured: one series per kernel
 * histogram key (cumulative, for Prometheus) and, per interval, one summary
 * per service and per outbound dependency (for top, the detector, the
 * sampling thresholds). */
#ifndef SEISMO_REGISTRY_H
#define SEISMO_REGISTRY_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "seismo/latency.h"
#include "services.h"

struct series {
	struct seismo_hist_key key;
	struct service_identity id;
	char peer[64];		/* client role: "addr:port" of the callee */
	char peer_service[136]; /* client role: the callee's name when it is local */
	uint64_t count;
	uint64_t sum_ns;
	uint64_t *le;	    /* cumulative counts per configured bucket bound */
	double last_change; /* seconds, CLOCK_MONOTONIC */
};

/* One service (server role) or one dependency edge (client role) over the
 * last interval. */
struct summary {
	char service[136];
	char peer[64];		/* client role only */
	char peer_service[136]; /* client role only, when known */
	const struct service_identity *id;
	const struct series *origin; /* the first series folded in */
	uint8_t role;
	uint64_t requests;
	uint64_t errors; /* HTTP 5xx */
	uint64_t sum_ns;
	double p50, p90, p99; /* seconds; NAN when no requests */
	uint64_t cgroup_id;   /* one of the service's cgroups, for thresholds */
	uint32_t *fine;	      /* SEISMO_HIST_BUCKETS counts over the interval (open
			       * summaries only: freed once the quantiles are taken) */
};

struct registry;

/* Resolves a series' identity; registry calls it once per new series. */
typedef void (*registry_resolve_fn)(void *ctx, const struct seismo_hist_key *key,
				    struct service_identity *out);

struct registry *registry_new(const struct config *cfg, registry_resolve_fn resolve, void *ctx);
void registry_free(struct registry *r);

/* Adds one histogram delta (the collector's callback). */
void registry_add(struct registry *r, const struct seismo_hist_key *key,
		  const struct seismo_hist *delta, double now);
/* Closes the interval: builds the summaries of what was added since the
 * previous call. Returns how many; *out stays valid until the next call of
 * registry_end_interval or registry_expire (summaries point into series). */
int registry_end_interval(struct registry *r, const struct summary **out);

/* Series idle for longer than ttl seconds: calls forget for each, then drops it. */
void registry_expire(struct registry *r, double now, double ttl,
		     void (*forget)(void *ctx, const struct seismo_hist_key *key), void *ctx);
size_t registry_series_count(const struct registry *r);
void registry_foreach_series(struct registry *r, void (*fn)(void *ctx, const struct series *s),
			     void *ctx);

/* Prometheus text exposition of the series (histograms and counters). */
void registry_write_metrics(struct registry *r, FILE *out);

/* Formatting helpers shared with the tests and the sampler. */
const char *registry_method_name(uint8_t method);
void registry_format_addr(const uint8_t addr[16], uint16_t port, char *out, size_t size);

#endif
