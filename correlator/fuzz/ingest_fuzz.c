/*
 * libFuzzer target for the correlator's ingest parser: whatever bytes a
 * client sends, parsing must neither crash, leak, nor accept a batch that
 * breaks the invariants the rest of the correlator relies on. The first
 * input byte picks the path: agent batch, Alertmanager webhook, gzip, or
 * the JSON reader against jansson (same verdict, same values).
 * Built by `make build/fuzz/corr_ingest_fuzz` (mk/correlator.mk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../ingest.h"
#include "../json_fast.h"
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
		/* The text the store keeps and the API serves: one JSON object. */
		if (strlen(ev->raw) != ev->raw_len)
			abort();
		json_t *raw = json_loadb(ev->raw, ev->raw_len, 0, NULL);
		if (!json_is_object(raw))
			abort();
		json_decref(raw);
	}
	for (size_t i = 0; i < b->n_edges; i++)
		if (!b->edges[i].caller || !b->edges[i].callee)
			abort();
}

/* The ingest reader's tree as jansson values, to compare with json_loadb's. */
static json_t *to_jansson(const struct jf_value *v)
{
	json_t *o;

	switch (v->type) {
	case JF_NULL:
		return json_null();
	case JF_TRUE:
		return json_true();
	case JF_FALSE:
		return json_false();
	case JF_INT:
		return json_integer(v->integer);
	case JF_REAL:
		return json_real(v->real);
	case JF_STRING:
		if (strlen(v->str) != v->len)
			abort();
		return json_stringn(v->str, v->len);
	case JF_ARRAY:
		o = json_array();
		for (uint32_t i = 0; i < v->n; i++)
			json_array_append_new(o, to_jansson(&v->items[i]));
		return o;
	case JF_OBJECT:
		o = json_object();
		for (uint32_t i = 0; i < v->n; i++)
			json_object_setn_new(o, v->members[i].key, v->members[i].key_len,
					     to_jansson(&v->members[i].value));
		return o;
	}
	abort();
}

/* An item's kept text (json_fast.h) reads back as the item itself. */
static void check_texts(const struct jf_value *v, int depth)
{
	if (depth > 1)
		return;
	if (v->type == JF_OBJECT)
		for (uint32_t i = 0; i < v->n; i++)
			check_texts(&v->members[i].value, depth + 1);
	if (v->type != JF_ARRAY)
		return;
	for (uint32_t i = 0; i < v->n; i++) {
		const struct jf_value *item = &v->items[i];
		if (item->type != JF_OBJECT) {
			if (item->text)
				abort();
			check_texts(item, depth + 1);
			continue;
		}
		json_error_t jerr;
		json_t *back = json_loadb(item->text, item->text_len, 0, &jerr);
		json_t *want = to_jansson(item);
		if (!back || !json_equal(back, want))
			abort();
		json_decref(back);
		json_decref(want);
	}
}

/* Same verdict as json_loadb(JSON_REJECT_DUPLICATES), and equal values. */
static void compare_with_jansson(const char *text, size_t len)
{
	struct jf_arena mem = { 0 };
	struct jf_value *root;
	json_error_t jerr;
	char err[256] = "";
	json_t *want = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int ok = !jf_parse(text, len, &mem, &root, err, sizeof(err));

	/*
	 * jansson skips a NUL byte right after a number ("[1\0]" loads): a bug
	 * not to copy. NUL is valid nowhere in JSON; with one in the text only
	 * a refusal by this reader is checked.
	 */
	if (memchr(text, 0, len) && want) {
		json_decref(want);
		want = NULL;
		if (ok)
			abort();
	}
	if (ok != (want != NULL))
		abort();
	if (!ok && strncmp(err, "invalid JSON at line ", 21))
		abort();
	if (ok) {
		json_t *got = to_jansson(root);
		if (!json_equal(got, want))
			abort();
		check_texts(root, 0);
		json_decref(got);
	}
	json_decref(want);
	jf_arena_free(&mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct corr_batch b;
	char err[512];

	log_set_level(LOG_ERROR);
	if (size < 1)
		return 0;
	uint8_t mode = data[0] % 4;
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
	} else if (mode == 3) {
		compare_with_jansson(body, len);
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
