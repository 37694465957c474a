/* The ingest parser: valid batches, every kind of bad input, gzip caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "../../correlator/ingest.h"

#define EVENT(extra)                                                                    \
	"{\"schema\":\"seismo.event/v1\",\"id\":\"9f1c\",\"anomaly_id\":\"5d2e\","      \
	"\"state\":\"firing\",\"severity\":\"warning\",\"service\":\"checkout\","       \
	"\"labels\":{\"team\":\"payments\"},\"metric\":\"latency_p99\",\"value\":0.05," \
	"\"score\":9.3,\"threshold\":4,\"starts_at\":\"2026-11-24T14:03:10Z\","         \
	"\"observed_at\":\"2026-11-24T14:05:10Z\"" extra "}"

static void valid_batch(void **state)
{
	const char *body =
		"{\"node\":\"node-1\",\"cluster\":\"eu-1\",\"sent_at\":\"2026-11-24T14:05:10Z\","
		"\"events\":[" EVENT(
			",\"dependencies\":[{\"service\":\"postgres\",\"anomalous\":true}],\"unknown_extra\":1") "],"
														 "\"edges\":[{\"caller\":\"checkout\",\"endpoint\":\"10.0.0.5:5432\",\"requests\":12}]}";
	struct corr_batch b;
	char err[256] = "";

	if (corr_ingest_parse_batch(body, strlen(body), &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(b.n_events, 1);
	struct corr_event *ev = &b.events[0];
	assert_string_equal(ev->id, "9f1c");
	assert_false(ev->resolved);
	assert_string_equal(ev->node, "node-1");
	assert_string_equal(corr_labels_get(&ev->labels, "cluster"), "eu-1");
	assert_string_equal(corr_labels_get(&ev->labels, "team"), "payments");
	assert_int_equal(ev->n_deps, 1);
	assert_true(ev->deps[0].anomalous);
	assert_int_equal(b.n_edges, 1);
	/* No callee service: the endpoint stands in. */
	assert_string_equal(b.edges[0].callee, "10.0.0.5:5432");
	assert_int_equal(b.edges[0].requests, 12);
	corr_batch_free(&b);
}

static void bad_batches_are_named(void **state)
{
	struct {
		const char *body, *expect;
	} cases[] = {
		{ "{", "invalid JSON" },
		{ "[]", "must be a JSON object" },
		{ "{\"events\":[]}", "missing field \"node\"" },
		{ "{\"node\":\"n\"}", "body.events" },
		{ "{\"node\":\"n\",\"events\":[1]}", "events[0]: must be an object" },
		{ "{\"node\":\"n\",\"events\":[" EVENT(",\"state\":\"x\"") "]}", "duplicate" },
		{ "{\"node\":\"n\",\"events\":[" EVENT("") "," EVENT(",\"score\":\"high\"") "]}",
		  "duplicate" },
		{ "{\"node\":\"n\",\"events\":[{\"schema\":\"seismo.event/v2\"}]}",
		  "events[0].schema" },
		{ "{\"node\":\"n\",\"edges\":[{\"caller\":\"a\"}],\"events\":[]}",
		  "edges[0]: needs" },
		{ "{\"node\":\"n\",\"edges\":[{\"caller\":\"a\",\"callee\":\"b\",\"requests\":-1}],\"events\":[]}",
		  "edges[0].requests" },
		{ "{\"node\":\"\",\"events\":[]}", "body.node: length" },
		{ "{\"node\":\"n\",\"sent_at\":\"yesterday\",\"events\":[]}", "body.sent_at" },
	};
	char err[256];
	struct corr_batch b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		if (!corr_ingest_parse_batch(cases[i].body, strlen(cases[i].body), &b, err,
					     sizeof(err)))
			fail_msg("case %zu parsed but should not", i);
		if (!strstr(err, cases[i].expect))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].expect);
	}
}

/* One field of an otherwise valid event replaced. */
static void check_field(const char *field_json, const char *remove, const char *expect)
{
	char ev[2048], body[4096], err[256] = "";
	struct corr_batch b;

	snprintf(ev, sizeof(ev), "%s", EVENT(""));
	if (remove) {
		char *p = strstr(ev, remove);
		assert_non_null(p);
		char *end = strchr(p, ',');
		if (!end)
			end = strchr(p, '}');
		memmove(p, end + (*end == ',' ? 1 : 0), strlen(end + (*end == ',' ? 1 : 0)) + 1);
	}
	if (field_json) {
		size_t l = strlen(ev);
		ev[l - 1] = 0;
		snprintf(ev + l - 1, sizeof(ev) - l, ",%s}", field_json);
	}
	snprintf(body, sizeof(body), "{\"node\":\"n\",\"events\":[%s]}", ev);
	if (!corr_ingest_parse_batch(body, strlen(body), &b, err, sizeof(err)))
		fail_msg("'%s' parsed but should not", body);
	if (!strstr(err, expect))
		fail_msg("'%s' lacks '%s'", err, expect);
}

static void bad_event_fields(void **state)
{
	check_field(NULL, "\"state\"", "missing field \"state\"");
	check_field(NULL, "\"id\"", "missing field \"id\"");
	check_field(NULL, "\"starts_at\"", "missing field \"starts_at\"");
	check_field(NULL, "\"score\"", "missing field \"score\"");
	check_field(NULL, "\"metric\"", "missing field \"metric\"");
	check_field(NULL, "\"service\"", "missing field \"service\"");
	char body[4096], err[256];
	struct corr_batch b;
	/* Wrong values, one at a time. */
	const char *subs[][3] = {
		{ "\"firing\"", "\"burning\"", "events[0].state" },
		{ "\"warning\"", "\"meh\"", "events[0].severity" },
		{ "\"latency_p99\"", "\"latency_p42\"", "unknown metric" },
		{ "\"9f1c\"", "\"not-hex\"", "hex strings" },
		{ "9.3", "\"9.3\"", "events[0].score" },
		{ "\"2026-11-24T14:03:10Z\"", "\"2026-11-24\"", "events[0].starts_at" },
		{ "{\"team\":\"payments\"}", "{\"team\":7}", "events[0].labels.team" },
		{ "{\"team\":\"payments\"}", "{\"bad-name\":\"x\"}", "invalid label name" },
	};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char ev[2048];
		snprintf(ev, sizeof(ev), "%s", EVENT(""));
		char *p = strstr(ev, subs[i][0]);
		assert_non_null(p);
		char rest[2048];
		snprintf(rest, sizeof(rest), "%s", p + strlen(subs[i][0]));
		snprintf(p, sizeof(ev) - (size_t)(p - ev), "%s%s", subs[i][1], rest);
		snprintf(body, sizeof(body), "{\"node\":\"n\",\"events\":[%s]}", ev);
		err[0] = 0;
		if (!corr_ingest_parse_batch(body, strlen(body), &b, err, sizeof(err)))
			fail_msg("sub %zu parsed", i);
		if (!strstr(err, subs[i][2]))
			fail_msg("sub %zu: '%s' lacks '%s'", i, err, subs[i][2]);
	}
	/* Resolved needs ends_at. */
	snprintf(body, sizeof(body), "{\"node\":\"n\",\"events\":[%s]}", EVENT(""));
	char *p = strstr(body, "\"firing\"");
	memcpy(p, "\"resolvd\"", 9);
	assert_int_equal(corr_ingest_parse_batch(body, strlen(body), &b, err, sizeof(err)), -1);
}

static size_t gz(const char *in, size_t len, unsigned char *out, size_t cap)
{
	z_stream zs = { 0 };

	deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	size_t n = cap - zs.avail_out;
	deflateEnd(&zs);
	return n;
}

static void gzip_caps_and_errors(void **state)
{
	size_t big = 64 << 20;
	char *zeros = calloc(big, 1);
	unsigned char *out = malloc(1 << 20);
	char *text, err[256];
	size_t len;
	int too_big;

	assert_non_null(zeros);
	/* 64 MiB of zeros compress to ~64 KiB: a bomb against an 8 MiB cap. */
	size_t n = gz(zeros, big, out, 1 << 20);
	assert_true(n < 200000);
	assert_int_equal(corr_ingest_gunzip(out, n, 8 << 20, &text, &len, &too_big, err,
					    sizeof(err)),
			 -1);
	assert_true(too_big);
	assert_non_null(strstr(err, "exceeds the limit"));
	/* Within the cap it inflates exactly. */
	n = gz(zeros, 1000, out, 1 << 20);
	assert_int_equal(corr_ingest_gunzip(out, n, 8 << 20, &text, &len, &too_big, err,
					    sizeof(err)),
			 0);
	assert_int_equal(len, 1000);
	free(text);
	/* Truncated and corrupt streams are 4xx material, not crashes. */
	assert_int_equal(corr_ingest_gunzip(out, n / 2, 8 << 20, &text, &len, &too_big, err,
					    sizeof(err)),
			 -1);
	assert_false(too_big);
	assert_int_equal(corr_ingest_gunzip("not gzip at all", 15, 8 << 20, &text, &len, &too_big,
					    err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "corrupt"));
	free(zeros);
	free(out);
}

static void alertmanager_webhook_input(void **state)
{
	const char *body =
		"{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"seismo\",\"alerts\":["
		"{\"status\":\"firing\",\"labels\":{\"alertname\":\"HighLatency\",\"service\":\"api\",\"severity\":\"critical\"},"
		"\"annotations\":{},\"startsAt\":\"2026-11-24T14:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\"},"
		"{\"status\":\"resolved\",\"labels\":{\"alertname\":\"DiskFull\",\"job\":\"node\"},"
		"\"startsAt\":\"2026-11-24T13:00:00Z\",\"endsAt\":\"2026-11-24T13:30:00Z\"}]}";
	struct corr_batch b;
	char err[256] = "";

	if (corr_ingest_parse_am_webhook(body, strlen(body), &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(b.n_events, 2);
	assert_string_equal(b.events[0].service, "api");
	assert_int_equal(b.events[0].severity, CORR_SEV_CRITICAL);
	assert_false(b.events[0].resolved);
	assert_string_equal(b.events[1].service, "node");
	assert_true(b.events[1].resolved);
	/* The same alert gives the same ids: resends deduplicate. */
	struct corr_batch b2;
	assert_int_equal(corr_ingest_parse_am_webhook(body, strlen(body), &b2, err, sizeof(err)),
			 0);
	assert_string_equal(b.events[0].id, b2.events[0].id);
	assert_string_equal(b.events[0].anomaly_id, b2.events[0].anomaly_id);
	assert_string_not_equal(b.events[0].id, b.events[1].id);
	corr_batch_free(&b);
	corr_batch_free(&b2);
	assert_int_equal(corr_ingest_parse_am_webhook("{\"version\":\"3\",\"alerts\":[]}", 27, &b,
						      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "version"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_batch),
		cmocka_unit_test(bad_batches_are_named),
		cmocka_unit_test(bad_event_fields),
		cmocka_unit_test(gzip_caps_and_errors),
		cmocka_unit_test(alertmanager_webhook_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
