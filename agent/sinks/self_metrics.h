/* The agent's own metrics on /metrics: build info, kernel counters, BPF map
 * fill and program run time (from the collector), series, events and
 * intervals. Names and meanings: docs/metrics.md. */
#ifndef SEISMO_SELF_METRICS_H
#define SEISMO_SELF_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collector.h"

#define SELF_METRICS_MAPS 8

struct self_metrics {
	struct collector *collector;
	/* Counting a map's entries walks every key (65,536 connections: as many
	 * syscalls), so fill figures are refreshed once a minute, or when the
	 * number of series changed, not every scrape. */
	struct collector_map_usage maps[SELF_METRICS_MAPS];
	int n_maps;
	double maps_at; /* monotonic seconds; 0 = never */
	size_t maps_series;
};

/* What the loop counts, passed in each time. */
struct self_metrics_counts {
	size_t series;
	uint64_t events;
	uint64_t intervals;
};

/* now: monotonic seconds. */
void self_metrics_write(struct self_metrics *m, const struct self_metrics_counts *counts,
			double now, FILE *out);

#endif
