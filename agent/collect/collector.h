/* The kernel side of the agent: loads and attaches bpf/latency.bpf.c, reads
 * histogram deltas, counters, endpoints and samples from its maps. */
#ifndef SEISMO_COLLECTOR_H
#define SEISMO_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seismo/latency.h"

struct collector;

struct collector_options {
	uint32_t max_histograms;  /* capacity of the histogram maps */
	uint32_t max_connections; /* capacity of the connection map (hash fallback only) */
	uint32_t sample_one_in;	  /* uniform context samples, 0 = off */
	bool bpf_stats;		  /* turn on kernel.bpf_stats_enabled for run-time metrics */
};

/* Mounts what is missing (tracefs, bpffs), opens, loads and attaches. On
 * failure logs what failed (program name, verifier reason) and returns -errno. */
int collector_open(struct collector **out, const struct collector_options *opts);
void collector_close(struct collector *c);

/* Calls fn once per histogram that changed since the previous call, with the
 * change. The first call after open reports everything counted so far. */
typedef void (*collector_delta_fn)(void *ctx, const struct seismo_hist_key *key,
				   const struct seismo_hist *delta);
int collector_read(struct collector *c, collector_delta_fn fn, void *ctx);

/* Forgets a histogram (kernel and snapshot), e.g. when its service is gone. */
int collector_forget(struct collector *c, const struct seismo_hist_key *key);

int collector_counters(struct collector *c, uint64_t out[SEISMO_CNT_MAX]);
/* Who answers on (cgroup, port), or for port 0 which program makes the
 * outbound calls of key.process (struct seismo_hist_key.process). */
int collector_endpoint(struct collector *c, uint64_t cgroup_id, uint16_t port, uint32_t process,
		       struct seismo_endpoint *out);

struct collector_map_usage {
	const char *name;
	uint32_t entries;
	uint32_t max_entries;
	uint64_t bytes; /* estimated kernel memory of the entries in use */
};
/* Fills up to max entries; returns how many. */
int collector_map_usage(struct collector *c, struct collector_map_usage *out, int max);

struct collector_prog_stats {
	const char *name;
	uint64_t run_cnt;
	uint64_t run_time_ns;
};
int collector_prog_stats(struct collector *c, struct collector_prog_stats *out, int max);

/* Which socket hook variant is attached, with where connection state
 * lives ("tp_btf:sock_send_length+sk_storage", ...). */
const char *collector_hook(const struct collector *c);

/* The collector's own hook choice, tried end to end as collector_open does
 * it (each variant loaded and attached, best first, then detached again)
 * without mounting anything or keeping anything: what `seismo doctor`
 * reports, so it cannot disagree with the agent. */
struct collector_probe_result {
	char hook[64]; /* the variant the agent would attach; "" when none */
	char why[200]; /* the variants refused before it (or all), with their errors */
};
/* 0 when a variant attaches, else -errno of the last refusal. */
int collector_probe(struct collector_probe_result *out);

/* Sampling: per-service thresholds, and the ring buffer of samples. */
int collector_set_threshold(struct collector *c, uint64_t cgroup_id, uint16_t port,
			    const struct seismo_threshold *th);
int collector_clear_threshold(struct collector *c, uint64_t cgroup_id, uint16_t port);
typedef void (*collector_sample_fn)(void *ctx, const struct seismo_sample *s);
/* Waits up to timeout_ms for samples and delivers them; returns count or -errno. */
int collector_poll_samples(struct collector *c, int timeout_ms, collector_sample_fn fn, void *ctx);

#endif
