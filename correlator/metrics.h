/* The correlator's own counters, rendered in Prometheus text format. */
#ifndef CORR_METRICS_H
#define CORR_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define CORR_LATENCY_BUCKETS 12

struct corr_metrics {
	uint64_t batches_accepted;
	uint64_t batches_rejected;
	uint64_t events_accepted;
	uint64_t events_duplicate;
	uint64_t edges_received;
	uint64_t alerts_received;
	uint64_t am_webhooks_received;
	uint64_t auth_failures;
	uint64_t incidents_created;
	uint64_t incidents_merged;
	uint64_t notifications_sent[4];	  /* by integration kind */
	uint64_t notifications_failed[4]; /* gave up after all attempts */
	uint64_t notification_retries[4];
	uint64_t ingest_latency_count;
	double ingest_latency_sum;
	uint64_t ingest_latency_bucket[CORR_LATENCY_BUCKETS];
};

static inline void corr_metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

/* Records one ingest request's latency in seconds. */
void corr_metrics_observe_ingest(struct corr_metrics *m, double seconds);
void corr_metrics_render(struct corr_metrics *m, FILE *out);

#endif
