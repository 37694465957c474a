/*
 * The agent's shipper against a real seismo-correlator engine and HTTP
 * server started in this process on loopback: delivery, the spool while the
 * correlator is down, agent restart with a non-empty spool, dedup of
 * resends, oldest-first eviction, 4xx handling, log-only mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "../../agent/sinks/shipper.h"
#include "../../correlator/engine.h"
#include "../../correlator/server.h"

#define PORT "19141"

struct correlator {
	struct corr_config *cfg;
	struct corr_engine *engine;
	struct corr_server *server;
};

static char tmpdir[256];

static void corr_up(struct correlator *c, const char *token, const char *dbname)
{
	char err[512], db[512];

	c->cfg = corr_config_default();
	assert_non_null(c->cfg);
	snprintf(db, sizeof(db), "%s/%s", tmpdir, dbname);
	free(c->cfg->db_path);
	c->cfg->db_path = strdup(db);
	free(c->cfg->token);
	c->cfg->token = strdup(token);
	c->engine = corr_engine_new(c->cfg, err, sizeof(err));
	if (!c->engine)
		fail_msg("%s", err);
	c->server = corr_server_start(c->engine, "127.0.0.1:" PORT, err, sizeof(err));
	if (!c->server)
		fail_msg("%s", err);
}

static void corr_down(struct correlator *c)
{
	corr_server_stop(c->server);
	corr_engine_free(c->engine);
	corr_config_free(c->cfg);
	memset(c, 0, sizeof(*c));
}

static int64_t stored(struct correlator *c)
{
	json_t *list = corr_engine_incidents_json(c->engine, NULL, 100000, false), *inc;
	size_t i;
	int64_t events = 0;

	json_array_foreach(list, i, inc)
		events += json_integer_value(json_object_get(inc, "events"));
	json_decref(list);
	return events;
}

static json_t *event(int n)
{
	char id[32], aid[32];

	snprintf(id, sizeof(id), "%08x", n);
	snprintf(aid, sizeof(aid), "a%07x", n);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:f,s:s,s:s}", "schema",
			 "seismo.event/v1", "id", id, "anomaly_id", aid, "state", "firing",
			 "severity", "warning", "service", n % 2 ? "checkout" : "postgres",
			 "metric", "latency_p99", "value", 0.05, "score", 5.0 + n % 7, "threshold",
			 4.0, "starts_at", "2026-11-24T14:03:10Z", "observed_at",
			 "2026-11-24T14:05:10Z");
}

static void submit_range(struct shipper *s, int from, int to)
{
	for (int i = from; i < to; i++) {
		json_t *e = event(i);
		assert_int_equal(shipper_submit(s, e), 0);
		json_decref(e);
	}
}

static struct shipper *open_shipper(const char *spool, size_t max_bytes, const char *token)
{
	struct shipper_config cfg = {
		.url = "http://127.0.0.1:" PORT,
		.token = token,
		.spool_dir = spool,
		.spool_max_bytes = max_bytes,
		.node = "node-1",
		.cluster = "eu-1",
		.batch_max_events = 8,
		.backoff_initial_ms = 1000,
		.backoff_max_ms = 8000,
		.timeout_ms = 2000,
	};
	return shipper_new(&cfg);
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/seismo-shipper-XXXXXX");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static void delivers_spools_and_survives_restarts(void **state)
{
	struct correlator c;
	struct shipper_stats st;
	char spool[512];
	int64_t now = 1795528990000LL;

	snprintf(spool, sizeof(spool), "%s/spool-a", tmpdir);
	corr_up(&c, "tok", "a.db");
	struct shipper *s = open_shipper(spool, 1 << 20, "tok");
	assert_non_null(s);
	shipper_add_edge(s, "checkout", "postgres", "10.0.0.5:5432", 10);
	submit_range(s, 0, 10);
	assert_int_equal(shipper_flush_ms(s, now), 10);
	assert_int_equal(stored(&c), 10);

	/* Correlator down: events wait in the spool, attempts back off. */
	corr_down(&c);
	submit_range(s, 10, 30);
	assert_int_equal(shipper_flush_ms(s, now + 1000), 0);
	shipper_get_stats(s, &st);
	assert_int_equal(st.spool_events, 20);
	assert_int_equal(st.spool_batches, 3); /* 8 + 8 + 4 */
	assert_int_equal(st.post_failures, 1);
	assert_true(st.next_attempt_ms >= now + 1000 + 500);
	assert_true(st.next_attempt_ms <= now + 1000 + 1000);
	/* Inside the backoff nothing is tried. */
	assert_int_equal(shipper_flush_ms(s, now + 1100), 0);
	shipper_get_stats(s, &st);
	assert_int_equal(st.post_failures, 1);
	/* The next failure waits longer (exponential, jittered within [d/2, d]). */
	assert_int_equal(shipper_flush_ms(s, st.next_attempt_ms), 0);
	int64_t at = st.next_attempt_ms;
	shipper_get_stats(s, &st);
	assert_true(st.next_attempt_ms - at >= 1000 && st.next_attempt_ms - at <= 2000);

	/* The agent restarts: a fresh shipper finds the spool. */
	submit_range(s, 30, 35);
	shipper_free(s);
	s = open_shipper(spool, 1 << 20, "tok");
	shipper_get_stats(s, &st);
	assert_int_equal(st.spool_events, 25);

	/* The correlator comes back with its store: everything arrives once. */
	corr_up(&c, "tok", "a.db");
	assert_int_equal(shipper_flush_ms(s, now + 3600000), 25);
	assert_int_equal(stored(&c), 35);
	shipper_get_stats(s, &st);
	assert_int_equal(st.spool_events, 0);
	assert_int_equal(st.consecutive_failures, 0);

	/* At least once: resends are dropped by id on the correlator. */
	submit_range(s, 0, 10);
	assert_int_equal(shipper_flush_ms(s, now + 3700000), 10);
	assert_int_equal(stored(&c), 35);
	assert_int_equal(corr_engine_metrics(c.engine)->events_duplicate, 10);

	/* Metrics text for the agent's /metrics. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	shipper_write_metrics(s, f);
	fclose(f);
	assert_non_null(strstr(buf, "seismo_shipper_events_delivered_total 35"));
	free(buf);
	shipper_free(s);
	corr_down(&c);
}

static void full_spool_evicts_oldest(void **state)
{
	char spool[512];
	struct shipper_stats st;

	snprintf(spool, sizeof(spool), "%s/spool-b", tmpdir);
	/* Nothing listens: every flush spools one batch; room for about two. */
	struct shipper *s = open_shipper(spool, 1400, "tok");
	for (int round = 0; round < 5; round++) {
		submit_range(s, round * 8, round * 8 + 8);
		shipper_flush_ms(s, 1000 + round);
	}
	shipper_get_stats(s, &st);
	assert_true(st.spool_bytes <= 1400);
	assert_true(st.events_dropped >= 8);
	assert_int_equal(st.events_dropped % 8, 0);
	assert_int_equal(st.events_dropped + st.spool_events, 40);
	assert_int_equal(st.events_submitted, 40);
	shipper_free(s);
	/* What is left is the newest batch. */
	struct correlator c;
	corr_up(&c, "tok", "b.db");
	s = open_shipper(spool, 1400, "tok");
	int delivered = shipper_flush_ms(s, 1795528990000LL);
	assert_int_equal(delivered, 40 - (int)st.events_dropped);
	assert_int_equal(stored(&c), delivered);
	/* Look for the newest and the oldest event in every incident. */
	json_t *list = corr_engine_incidents_json(c.engine, NULL, 10, false), *it;
	size_t i, j;
	int newest = 0, oldest = 0;
	json_array_foreach(list, j, it) {
		const char *id = json_string_value(json_object_get(it, "id"));
		json_t *inc = corr_engine_incident_json(c.engine, id);
		json_t *evs = json_object_get(inc, "event_list"), *ev;
		json_array_foreach(evs, i, ev) {
			const char *eid = json_string_value(json_object_get(ev, "id"));
			newest += !strcmp(eid, "00000027"); /* event 39, the very last */
			oldest += !strcmp(eid, "00000000");
		}
		json_decref(inc);
	}
	assert_int_equal(newest, 1);
	assert_int_equal(oldest, 0);
	json_decref(list);
	shipper_free(s);
	corr_down(&c);
}

static void rejected_batches_are_not_retried(void **state)
{
	char spool[512];
	struct shipper_stats st;
	struct correlator c;

	snprintf(spool, sizeof(spool), "%s/spool-c", tmpdir);
	corr_up(&c, "right-token", "c.db");
	struct shipper *s = open_shipper(spool, 1 << 20, "wrong-token");
	submit_range(s, 100, 104);
	assert_int_equal(shipper_flush_ms(s, 1795528990000LL), 0);
	shipper_get_stats(s, &st);
	assert_int_equal(st.events_rejected, 4);
	assert_int_equal(st.spool_events, 0);
	assert_int_equal(st.post_failures, 0);
	assert_int_equal(corr_engine_metrics(c.engine)->auth_failures, 1);
	shipper_free(s);
	corr_down(&c);
}

/* A quiet agent still posts: an empty batch every SHIPPER_HEARTBEAT_MS, nothing spooled. */
static void quiet_agent_sends_heartbeats(void **state)
{
	char spool[512];
	struct shipper_stats st;
	struct correlator c;
	int64_t t0 = 1795528990000LL;

	snprintf(spool, sizeof(spool), "%s/spool-h", tmpdir);
	corr_up(&c, "tok", "h.db");
	struct shipper *s = open_shipper(spool, 1 << 20, "tok");
	assert_int_equal(shipper_flush_ms(s, t0), 0);
	assert_int_equal(shipper_flush_ms(s, t0 + SHIPPER_HEARTBEAT_MS - 1000), 0);
	assert_int_equal(corr_engine_metrics(c.engine)->batches_accepted, 0);
	assert_int_equal(shipper_flush_ms(s, t0 + SHIPPER_HEARTBEAT_MS), 0);
	assert_int_equal(corr_engine_metrics(c.engine)->batches_accepted, 1);
	/* Events count as signs of life too: no heartbeat right after them. */
	submit_range(s, 300, 302);
	assert_int_equal(shipper_flush_ms(s, t0 + SHIPPER_HEARTBEAT_MS + 5000), 2);
	assert_int_equal(shipper_flush_ms(s, t0 + 2 * SHIPPER_HEARTBEAT_MS + 4000), 0);
	assert_int_equal(corr_engine_metrics(c.engine)->batches_accepted, 2);
	assert_int_equal(shipper_flush_ms(s, t0 + 2 * SHIPPER_HEARTBEAT_MS + 5000), 0);
	assert_int_equal(corr_engine_metrics(c.engine)->batches_accepted, 3);
	shipper_get_stats(s, &st);
	assert_int_equal(st.events_delivered, 2);
	assert_int_equal(st.spool_events, 0);
	shipper_free(s);
	corr_down(&c);
}

static void unwritable_spool_bounds_memory(void **state)
{
	char spool[512];
	struct shipper_stats st;

	snprintf(spool, sizeof(spool), "%s/spool-d", tmpdir);
	struct shipper *s = open_shipper(spool, 1 << 20, "tok");
	assert_non_null(s);
	/* The spool directory disappears under the agent (a file in its way). */
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && touch '%s'", spool, spool);
	assert_int_equal(system(cmd), 0);
	for (int round = 0; round < 12; round++) {
		submit_range(s, round * 10, round * 10 + 10);
		assert_int_equal(shipper_flush_ms(s, 1000 + round), -1);
	}
	shipper_get_stats(s, &st);
	/* batch_max_events 8: at most 80 wait in memory, the rest are counted. */
	assert_int_equal(st.events_dropped, 120 - 80);
	shipper_free(s);
}

static void without_url_events_are_logged(void **state)
{
	struct shipper_config cfg = { 0 };
	struct shipper *s = shipper_new(&cfg);
	struct shipper_stats st;

	assert_non_null(s);
	submit_range(s, 0, 2);
	assert_int_equal(shipper_flush(s, time(NULL)), 0);
	shipper_get_stats(s, &st);
	assert_int_equal(st.events_submitted, 2);
	shipper_free(s);
	/* A url without a node name is refused. */
	cfg.url = "http://127.0.0.1:1";
	assert_null(shipper_new(&cfg));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delivers_spools_and_survives_restarts),
		cmocka_unit_test(full_spool_evicts_oldest),
		cmocka_unit_test(rejected_batches_are_not_retried),
		cmocka_unit_test(quiet_agent_sends_heartbeats),
		cmocka_unit_test(unwritable_spool_bounds_memory),
		cmocka_unit_test(without_url_events_are_logged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
