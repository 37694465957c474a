/*
 * The agent's event shipper: events and dependency edges in batches, gzip
 * JSON POSTed to seismo-correlator's /api/v1/events with libcurl (bearer
 * token, CA file, client certificate). Every batch is written to a spool
 * directory before it is sent and deleted only after a 2xx, so delivery is
 * at least once across restarts of the agent and of the correlator (which
 * drops duplicates by event id). The spool is bounded: when full, the
 * oldest batches go first, counted. Failures back off exponentially with
 * jitter. Not thread-safe: one agent loop calls it.
 *
 *   struct shipper *sh = shipper_new(&cfg);
 *   shipper_submit(sh, event);              // each scored event (json_t, borrowed)
 *   shipper_add_edge(sh, "checkout", "postgres", "10.0.0.5:5432", 1234);
 *   shipper_flush(sh, time(NULL));          // once per interval
 *   shipper_write_metrics(sh, out);         // for the agent's /metrics
 *   shipper_free(sh);                       // spools what is pending
 *
 * With no url the shipper only logs each event (log_info), so the agent
 * runs without a correlator.
 */
#ifndef SEISMO_SHIPPER_H
#define SEISMO_SHIPPER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define SHIPPER_DEFAULT_SPOOL_DIR "/var/lib/seismo/spool"

/* A node with nothing to send still POSTs an empty batch this often (liveness). */
#define SHIPPER_HEARTBEAT_MS 30000

struct shipper_config {
	const char *url;	 /* correlator base URL or full .../api/v1/events; NULL: log only */
	const char *token;	 /* bearer token */
	const char *token_file;	 /* or read it from this file */
	const char *ca_file;	 /* CA bundle that signs the correlator's certificate */
	const char *cert_file;	 /* client certificate (PEM) for mutual TLS */
	const char *key_file;	 /* its key */
	int insecure;		 /* do not verify the server certificate (testing only) */
	const char *spool_dir;	 /* default SHIPPER_DEFAULT_SPOOL_DIR */
	size_t spool_max_bytes;	 /* default 64 MiB */
	const char *node;	 /* this node's name (required with a url) */
	const char *cluster;	 /* optional */
	size_t batch_max_events; /* default 500 */
	unsigned backoff_initial_ms;  /* default 1000 */
	unsigned backoff_max_ms;      /* default 300000 */
	unsigned timeout_ms;	      /* per POST, default 10000 */
	unsigned max_posts_per_flush; /* default 64 */
};

struct shipper_stats {
	uint64_t events_submitted;
	uint64_t events_delivered;
	uint64_t events_dropped;  /* spool full: oldest batches evicted */
	uint64_t events_rejected; /* the correlator answered 4xx: not retried */
	uint64_t batches_delivered;
	uint64_t post_failures; /* attempts that failed (network, 5xx) */
	uint64_t spool_batches;
	uint64_t spool_bytes;
	uint64_t spool_events;
	unsigned consecutive_failures;
	int64_t next_attempt_ms; /* when sending resumes after a failure */
};

struct shipper;

/* NULL with a logged reason when the config is unusable. */
struct shipper *shipper_new(const struct shipper_config *cfg);
/* Queues one event (takes its own reference). 0 or -1. */
int shipper_submit(struct shipper *s, json_t *event);
/* Notes a dependency edge seen this interval; requests add up. 0 or -1. */
int shipper_add_edge(struct shipper *s, const char *caller, const char *callee,
		     const char *endpoint, uint64_t requests);
/*
 * Spools what was submitted, then sends spooled batches oldest first
 * unless backing off. now: wall-clock seconds. Returns the number of
 * events delivered, or -1 when spooling failed (disk).
 */
int shipper_flush(struct shipper *s, time_t now);
/* The same with a millisecond clock (tests). */
int shipper_flush_ms(struct shipper *s, int64_t now_ms);
void shipper_get_stats(const struct shipper *s, struct shipper_stats *out);
/* Prometheus text for the agent's /metrics (seismo_shipper_*). */
void shipper_write_metrics(const struct shipper *s, FILE *out);
/* Spools anything pending (no network), then frees. */
void shipper_free(struct shipper *s);

#endif
