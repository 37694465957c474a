/*
 * The ingest parser: request body -> validated batch. Everything a client
 * sends passes through here, so it is strict, bounded and fuzzed
 * (correlator/fuzz/ingest_fuzz.c). A batch is all-or-nothing: one bad event
 * rejects the whole batch with a message that names it.
 */
#ifndef CORR_INGEST_H
#define CORR_INGEST_H

#include <stddef.h>

#include "event.h"
#include "json_fast.h"

#define CORR_INGEST_MAX_EVENTS 10000
#define CORR_INGEST_MAX_EDGES 10000

struct corr_batch {
	/* A node's own batch (POST /api/v1/events): a sign of life, even empty. */
	bool liveness;
	char *node;
	char *cluster;
	struct corr_event *events;
	size_t n_events;
	struct corr_edge *edges;
	size_t n_edges;
	/* The parsed body and the events' raw texts, freed with the batch. */
	struct jf_arena mem;
};

/*
 * Inflates a gzip (or zlib) body into *out, refusing to produce more than
 * max_out bytes (gzip bombs). Returns 0, or -1 with err set; *too_big is set
 * when the cap was the reason.
 */
int corr_ingest_gunzip(const void *in, size_t in_len, size_t max_out, char **out, size_t *out_len,
		       int *too_big, char *err, size_t errlen);

/* Parses and validates a batch (JSON text). 0 or -1 with err set. */
int corr_ingest_parse_batch(const char *body, size_t len, struct corr_batch *batch, char *err,
			    size_t errlen);

/*
 * Converts an Alertmanager webhook notification (version 4) into events, so
 * alerts users already have join the correlation. Service comes from the
 * `service` label (else `job`, else `alertname`). 0 or -1 with err set.
 */
int corr_ingest_parse_am_webhook(const char *body, size_t len, struct corr_batch *batch, char *err,
				 size_t errlen);

void corr_batch_free(struct corr_batch *batch);

#endif
