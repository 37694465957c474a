/*
 * libFuzzer target for the correlator's ingest parser: whatever bytes a
 * client sends, parsing must neither crash, leak, nor accept a batch that
 * breaks the invariants the rest of the correlator relies on. The first
 * input byte picks the path: agent batch, Alertmanager webhook, or gzip.
 * Built by `make build/fuzz/corr_ingest_fuzz` (mk/correlator.mk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../ingest.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_batch(const struct corr_batch *b)
{
	for (size_t i = 0; i < b->n_events; i++) {
		const struct corr_event *ev = &b->events[i];
		/* What the store and the topology dereference without checking. */
		if (!ev->id || !ev->anomaly_id || !ev->service || !ev->node || !ev->metric ||
		    !ev->raw || !ev->id[0] || !ev->service[0])
			abort();
		if (ev->resolved ? ev->ends_at_ms == 0 : ev->ends_at_ms != 0)
			abort();
		if (!corr_labels_get(&ev->labels, "node"))
			abort();
	}
	for (size_t i = 0; i < b->n_edges; i++)
		if (!b->edges[i].caller || !b->edges[i].callee)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct corr_batch b;
	char err[512];

	log_set_level(LOG_ERROR);
	if (size < 1)
		return 0;
	uint8_t mode = data[0] % 3;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	if (mode == 0) {
		if (!corr_ingest_parse_batch(body, len, &b, err, sizeof(err))) {
			check_batch(&b);
			corr_batch_free(&b);
		} else if (!err[0]) {
			abort(); /* a refusal must say why */
		}
	} else if (mode == 1) {
		if (!corr_ingest_parse_am_webhook(body, len, &b, err, sizeof(err))) {
			check_batch(&b);
			corr_batch_free(&b);
		}
	} else {
		char *out;
		size_t out_len;
		int too_big;
		if (!corr_ingest_gunzip(body, len, 1 << 20, &out, &out_len, &too_big, err,
					sizeof(err))) {
			if (out_len > 1 << 20)
				abort();
			if (!corr_ingest_parse_batch(out, out_len, &b, err, sizeof(err)))
				corr_batch_free(&b);
			free(out);
		}
	}
	return 0;
}
