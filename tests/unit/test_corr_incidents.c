/*
 * Incidents as alerts, through the engine (in-memory store, real ingest
 * parser): siblings that only share a caller stay separate incidents with
 * their own alerts; a merge keeps the absorbed incident's alert firing,
 * annotated merged_into, and ends it with the incident that absorbed it,
 * never with a false "resolved" while the trouble goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../correlator/engine.h"
#include "../../correlator/ingest.h"
#include "../../correlator/util.h"

static const char *const yaml = "seismo:\n  db: ':memory:'\n  max_hops: 1\n"
				"route:\n  receiver: none\n  group_by: [incident]\n"
				"receivers:\n  - name: none\n";

/* One event: service, anomaly id (hex), start offset in s, resolved at (0: firing). */
static char *event(const char *svc, const char *aid, int start_s, int end_s)
{
	char *s;
	char starts[32], observed[32], ends[32];
	int64_t base = 1795000000000LL; /* 2026-11-18, in the past */

	corr_time_format(base + start_s * 1000LL, starts, sizeof(starts));
	corr_time_format(base + (end_s ? end_s : start_s + 30) * 1000LL, observed,
			 sizeof(observed));
	corr_time_format(base + end_s * 1000LL, ends, sizeof(ends));
	assert_true(
		asprintf(
			&s,
			"{\"schema\":\"seismo.event/v1\",\"id\":\"%s%s\",\"anomaly_id\":\"%s\","
			"\"state\":\"%s\",\"severity\":\"warning\",\"service\":\"%s\","
			"\"labels\":{\"team\":\"%s\"},\"metric\":\"latency_p99\",\"value\":0.5,"
			"\"score\":9,\"threshold\":4,\"starts_at\":\"%s\",\"observed_at\":\"%s\"%s%s%s}",
			aid, end_s ? "e" : "f", aid, end_s ? "resolved" : "firing", svc, svc,
			starts, observed, end_s ? ",\"ends_at\":\"" : "", end_s ? ends : "",
			end_s ? "\"" : "") > 0);
	return s;
}

static void ingest_at(struct corr_engine *e, const char *events, const char *edges, int64_t now_ms)
{
	char *body, err[256] = "";
	struct corr_batch b = { 0 };
	size_t acc, dup;

	assert_true(asprintf(&body, "{\"node\":\"n1\",\"events\":[%s],\"edges\":[%s]}", events,
			     edges ? edges : "") > 0);
	if (corr_ingest_parse_batch(body, strlen(body), &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(corr_engine_ingest(e, &b, now_ms, &acc, &dup), 0);
	corr_batch_free(&b);
	free(body);
}

static void ingest(struct corr_engine *e, const char *events, const char *edges)
{
	ingest_at(e, events, edges, corr_now_ms());
}

static void ingest1(struct corr_engine *e, const char *svc, const char *aid, int start_s, int end_s,
		    const char *edges)
{
	char *ev = event(svc, aid, start_s, end_s);
	ingest(e, ev, edges);
	free(ev);
}

/* The alert of incident id as the dispatcher holds it (borrowed from all). */
static json_t *alert_of(json_t *all, const char *id)
{
	size_t i;
	json_t *a;

	json_array_foreach(all, i, a) {
		const char *inc = json_string_value(
			json_object_get(json_object_get(a, "labels"), "incident"));
		if (inc && !strcmp(inc, id))
			return a;
	}
	return NULL;
}

/* "firing" or "resolved": like Alertmanager, an end not come yet shows as the zero time. */
static const char *status(json_t *a)
{
	assert_non_null(a);
	return strncmp(json_string_value(json_object_get(a, "endsAt")), "0001-", 5) ? "resolved"
										    : "firing";
}

static struct corr_engine *open_engine_with(struct corr_config **cfg, const char *text)
{
	char err[512] = "";

	*cfg = corr_config_parse(text, strlen(text), "test.yaml", err, sizeof(err));
	if (!*cfg)
		fail_msg("%s", err);
	struct corr_engine *e = corr_engine_new(*cfg, err, sizeof(err));
	if (!e)
		fail_msg("%s", err);
	return e;
}

static struct corr_engine *open_engine(struct corr_config **cfg)
{
	return open_engine_with(cfg, yaml);
}

#define EDGES                                                               \
	"{\"caller\":\"frontend\",\"callee\":\"catalog\",\"requests\":10}," \
	"{\"caller\":\"frontend\",\"callee\":\"payments\",\"requests\":10}"

static void siblings_keep_their_own_pages(void **state)
{
	struct corr_config *cfg;
	struct corr_engine *e = open_engine(&cfg);

	ingest1(e, "payments", "aa01", 0, 0, EDGES);
	ingest1(e, "frontend", "aa02", 10, 0, NULL);
	ingest1(e, "catalog", "aa03", 400, 0, NULL); /* louder, later, on its own */
	json_t *all = corr_engine_alerts_json(e);
	json_t *p = alert_of(all, "aa01"), *c = alert_of(all, "aa03");
	assert_non_null(p);
	assert_non_null(c);
	assert_string_equal(status(p), "firing");
	assert_string_equal(status(c), "firing");
	/* The payments page stays with payments (its root cause), catalog's with catalog. */
	assert_string_equal(json_string_value(
				    json_object_get(json_object_get(p, "labels"), "service")),
			    "payments");
	assert_string_equal(json_string_value(
				    json_object_get(json_object_get(c, "labels"), "service")),
			    "catalog");
	assert_null(alert_of(all, "aa02"));
	json_decref(all);
	corr_engine_free(e);
	corr_config_free(cfg);
}

static void merge_updates_and_never_resolves_early(void **state)
{
	struct corr_config *cfg;
	struct corr_engine *e = open_engine(&cfg);

	ingest1(e, "payments", "bb01", 0, 0, EDGES);
	ingest1(e, "catalog", "bb02", 5, 0, NULL);
	json_t *all = corr_engine_alerts_json(e);
	assert_non_null(alert_of(all, "bb02"));
	json_decref(all);
	/* frontend follows both: its anomaly joins them into the older incident. */
	ingest1(e, "frontend", "bb03", 10, 0, NULL);
	all = corr_engine_alerts_json(e);
	json_t *c = alert_of(all, "bb02");
	assert_string_equal(status(c), "firing"); /* not a false "resolved" */
	json_t *ann = json_object_get(c, "annotations");
	assert_string_equal(json_string_value(json_object_get(ann, "merged_into")), "bb01");
	json_t *p = alert_of(all, "bb01");
	assert_string_equal(status(p), "firing");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(p, "annotations"),
								 "blast_radius")),
			       "3 services"));
	json_decref(all);
	/* catalog recovers first: still firing, the incident goes on. */
	ingest1(e, "catalog", "bb02", 5, 300, NULL);
	all = corr_engine_alerts_json(e);
	assert_string_equal(status(alert_of(all, "bb02")), "firing");
	json_decref(all);
	/* The whole incident ends: both alerts resolve, with its end. */
	ingest1(e, "payments", "bb01", 0, 320, NULL);
	ingest1(e, "frontend", "bb03", 10, 330, NULL);
	all = corr_engine_alerts_json(e);
	p = alert_of(all, "bb01");
	c = alert_of(all, "bb02");
	assert_string_equal(status(p), "resolved");
	assert_string_equal(status(c), "resolved");
	assert_string_equal(json_string_value(json_object_get(p, "endsAt")),
			    json_string_value(json_object_get(c, "endsAt")));
	json_decref(all);
	corr_engine_free(e);
	corr_config_free(cfg);
}

/*
 * A long uptime through the engine: rounds of the merge above, each
 * resolved and past the retention, forgotten by the ingest (once a second,
 * now advancing); the incident slots they leave are dropped, alert state
 * included, while each new incident still gets its own alert under its
 * own id (SANITIZE=1 checks that nothing reaches a dropped slot).
 */
static void forgotten_incidents_give_their_memory_back(void **state)
{
	/* A day's retention: the events (from 2026-11-18 on) are older. */
	static const char *const short_retention =
		"seismo:\n  db: ':memory:'\n  max_hops: 1\n  retention: 1d\n"
		"route:\n  receiver: none\n  group_by: [incident]\n"
		"receivers:\n  - name: none\n";
	struct corr_config *cfg;
	struct corr_engine *e = open_engine_with(&cfg, short_retention);
	int64_t now = corr_now_ms();
	const int rounds = 150;
	char id[3][16];

	(void)state;
	for (int r = 0; r < rounds; r++) {
		int at = r * 2000;
		char *ev[3], *all3;
		for (int k = 0; k < 3; k++)
			snprintf(id[k], sizeof(id[k]), "%04x%02x", r, k + 1);
		ev[0] = event("payments", id[0], at, 0);
		ev[1] = event("catalog", id[1], at + 5, 0);
		ev[2] = event("frontend", id[2], at + 10, 0);
		for (int k = 0; k < 3; k++)
			ingest_at(e, ev[k], k ? NULL : EDGES, now += 1001);
		json_t *all = corr_engine_alerts_json(e);
		json_t *c = alert_of(all, id[1]);
		assert_string_equal(status(c), "firing");
		assert_string_equal(json_string_value(
					    json_object_get(json_object_get(c, "annotations"),
							    "merged_into")),
				    id[0]);
		json_decref(all);
		for (int k = 0; k < 3; k++)
			free(ev[k]);
		ev[0] = event("payments", id[0], at, at + 300);
		ev[1] = event("catalog", id[1], at + 5, at + 300);
		ev[2] = event("frontend", id[2], at + 10, at + 310);
		assert_true(asprintf(&all3, "%s,%s,%s", ev[0], ev[1], ev[2]) > 0);
		ingest_at(e, all3, NULL, now += 1001);
		free(all3);
		for (int k = 0; k < 3; k++)
			free(ev[k]);
	}
	/* The last round is resolved but not yet forgotten; the ones before are gone. */
	json_t *incs = corr_engine_incidents_json(e, NULL, 1000, false);
	assert_true(json_array_size(incs) <= 1);
	json_decref(incs);
	json_t *one = corr_engine_incident_json(e, "000001");
	assert_null(one);
	/* A new incident after all that: its own id, its own alert. */
	char *ev = event("payments", "ffff01", rounds * 2000, 0);
	ingest_at(e, ev, NULL, now += 1001);
	free(ev);
	json_t *all = corr_engine_alerts_json(e);
	json_t *a = alert_of(all, "ffff01");
	assert_string_equal(status(a), "firing");
	json_decref(all);
	incs = corr_engine_incidents_json(e, "firing", 1000, false);
	assert_int_equal(json_array_size(incs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(incs, 0), "id")),
			    "ffff01");
	json_decref(incs);
	corr_engine_free(e);
	corr_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(siblings_keep_their_own_pages),
		cmocka_unit_test(merge_updates_and_never_resolves_early),
		cmocka_unit_test(forgotten_incidents_give_their_memory_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
