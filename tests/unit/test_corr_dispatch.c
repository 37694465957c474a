/*
 * The dispatcher's Alertmanager semantics, on a clock the test controls:
 * group_wait, group_interval, repeat_interval, send_resolved, continue,
 * inhibition with equal, silences, group_by '...'. Notifications really go
 * over HTTP to a capture server in this process (libmicrohttpd on loopback).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "../../correlator/dispatch.h"
#include "../../correlator/notify.h"
#include "../../correlator/store.h"

#define PORT 19131

/* ------------------------------------------------------------ capture */

struct capture {
	struct MHD_Daemon *d;
	json_t *got; /* array of {path, body} */
	pthread_mutex_t lock;
};

static struct capture cap;

struct upload {
	char *buf;
	size_t len;
};

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **ctx)
{
	struct upload *u = *ctx;

	if (!u) {
		*ctx = calloc(1, sizeof(*u));
		return MHD_YES;
	}
	if (*size) {
		u->buf = realloc(u->buf, u->len + *size + 1);
		memcpy(u->buf + u->len, data, *size);
		u->len += *size;
		u->buf[u->len] = 0;
		*size = 0;
		return MHD_YES;
	}
	json_error_t e;
	json_t *body = json_loadb(u->buf ? u->buf : "", u->len, 0, &e);
	pthread_mutex_lock(&cap.lock);
	json_array_append_new(cap.got, json_pack("{s:s,s:o*}", "path", url, "body", body));
	pthread_mutex_unlock(&cap.lock);
	free(u->buf);
	free(u);
	*ctx = NULL;
	/* /fail answers 500 so the retry path runs. */
	unsigned status = strstr(url, "/fail") ? 500 : 200;
	struct MHD_Response *r =
		MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static int setup(void **state)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&cap.lock, NULL);
	cap.got = json_array();
	cap.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, PORT, NULL, NULL, on_req, NULL,
				 MHD_OPTION_END);
	return cap.d ? 0 : -1;
}

static int teardown(void **state)
{
	MHD_stop_daemon(cap.d);
	json_decref(cap.got);
	return 0;
}

static size_t captured(void)
{
	pthread_mutex_lock(&cap.lock);
	size_t n = json_array_size(cap.got);
	pthread_mutex_unlock(&cap.lock);
	return n;
}

static json_t *capture_at(size_t i)
{
	return json_object_get(json_array_get(cap.got, i), "body");
}

static const char *capture_path(size_t i)
{
	return json_string_value(json_object_get(json_array_get(cap.got, i), "path"));
}

static void clear_capture(void)
{
	json_array_clear(cap.got);
}

/* ------------------------------------------------------------ fixtures */

struct world {
	struct corr_config *cfg;
	struct corr_metrics metrics;
	struct corr_notifier *nt;
	struct corr_dispatch *d;
};

static void world_open(struct world *w, const char *yaml)
{
	char err[512] = "";

	memset(w, 0, sizeof(*w));
	w->cfg = corr_config_parse(yaml, strlen(yaml), "test.yaml", err, sizeof(err));
	if (!w->cfg)
		fail_msg("%s", err);
	w->cfg->notify_backoff_ms = 10;
	w->cfg->notify_attempts = 3;
	w->nt = corr_notifier_new(w->cfg, &w->metrics);
	w->d = corr_dispatch_new(w->cfg, w->nt);
	assert_non_null(w->d);
	clear_capture();
}

static void world_close(struct world *w)
{
	corr_notifier_free(w->nt);
	corr_dispatch_free(w->d);
	corr_config_free(w->cfg);
}

/* Puts an alert "k=v,k=v" starting at start_s, ending at end_s (0 = none). */
static void put(struct world *w, const char *labels, int start_s, int end_s, int now_s)
{
	struct corr_alert a = { 0 };
	char buf[256], *save, *kv;

	snprintf(buf, sizeof(buf), "%s", labels);
	for (kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		*eq = 0;
		corr_labels_set(&a.labels, kv, eq + 1);
	}
	a.starts_at_ms = start_s * 1000LL;
	a.ends_at_ms = end_s ? end_s * 1000LL : (int64_t)1 << 60;
	a.updated_at_ms = now_s * 1000LL;
	assert_int_equal(corr_dispatch_put(w->d, &a, now_s * 1000LL), 0);
	corr_alert_free(&a);
}

/* Ticks at now_s and waits for the sends; returns how many arrived. */
static size_t tick(struct world *w, int now_s)
{
	size_t before = captured();

	corr_dispatch_tick(w->d, now_s * 1000LL);
	assert_int_equal(corr_notifier_drain(w->nt, 5000), 0);
	return captured() - before;
}

static size_t alert_count(json_t *body, const char *status)
{
	json_t *alerts = json_object_get(body, "alerts"), *a;
	size_t i, n = 0;

	json_array_foreach(alerts, i, a)
		n += !status || !strcmp(json_string_value(json_object_get(a, "status")), status);
	return n;
}

#define HOOK "http://127.0.0.1:19131"

static void group_timers_follow_alertmanager(void **state)
{
	struct world w;

	world_open(&w, "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 10s\n"
		       "  group_interval: 60s\n  repeat_interval: 1h\n"
		       "receivers:\n  - name: hook\n    webhook_configs:\n      - url: " HOOK
		       "/hook\n");
	put(&w, "alertname=A,instance=1", 1000, 0, 1000);
	assert_int_equal(tick(&w, 1005), 0); /* group_wait not over */
	assert_int_equal(tick(&w, 1010), 1);
	json_t *b = capture_at(0);
	assert_string_equal(json_string_value(json_object_get(b, "version")), "4");
	assert_string_equal(json_string_value(json_object_get(b, "status")), "firing");
	assert_string_equal(json_string_value(json_object_get(b, "groupKey")),
			    "{}:{alertname=\"A\"}");
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "groupLabels"),
							      "alertname")),
			    "A");
	assert_int_equal(alert_count(b, NULL), 1);
	/* A second alert waits for group_interval, not group_wait. */
	put(&w, "alertname=A,instance=2", 1020, 0, 1020);
	assert_int_equal(tick(&w, 1040), 0);
	assert_int_equal(tick(&w, 1070), 1);
	assert_int_equal(alert_count(capture_at(1), "firing"), 2);
	/*
	 * Nothing new: silence until repeat_interval, and then, as in
	 * Alertmanager, until the first group_interval tick after it (the log
	 * dates from the acknowledgement, a little after the tick at 1070).
	 */
	assert_int_equal(tick(&w, 1130), 0);
	assert_int_equal(tick(&w, 1070 + 3600), 0);
	assert_int_equal(tick(&w, 1070 + 3660), 1);
	/* Resolving one sends it as resolved (send_resolved defaults to true). */
	put(&w, "alertname=A,instance=1", 1000, 4760, 4760);
	assert_int_equal(tick(&w, 4790), 1);
	b = capture_at(3);
	assert_int_equal(alert_count(b, "resolved"), 1);
	assert_int_equal(alert_count(b, "firing"), 1);
	/* A different alertname is a different group with its own wait. */
	put(&w, "alertname=B", 4791, 0, 4791);
	assert_int_equal(tick(&w, 4792), 0);
	assert_int_equal(tick(&w, 4801), 1);
	world_close(&w);
}

static void routing_continue_and_receivers(void **state)
{
	struct world w;

	world_open(
		&w,
		"route:\n  receiver: hook\n  group_wait: 0s\n  group_by: ['...']\n  routes:\n"
		"    - matchers: ['severity = critical']\n      receiver: pd\n      continue: true\n"
		"    - match: {team: payments}\n      receiver: slack\n"
		"receivers:\n  - name: hook\n    webhook_configs:\n      - url: " HOOK "/hook\n"
		"  - name: pd\n    pagerduty_configs:\n      - routing_key: KEY1\n        url: " HOOK
		"/pd\n"
		"  - name: slack\n    slack_configs:\n      - api_url: " HOOK
		"/slack\n        channel: '#pay'\n");
	put(&w, "alertname=X,severity=critical,team=payments", 100, 0, 100);
	put(&w, "alertname=Y,severity=warning,team=web", 100, 0, 100);
	assert_int_equal(tick(&w, 101), 3);
	int seen_pd = 0, seen_slack = 0, seen_hook = 0;
	for (size_t i = 0; i < 3; i++) {
		json_t *b = capture_at(i);
		const char *p = capture_path(i);
		if (!strcmp(p, "/pd")) {
			seen_pd++;
			assert_string_equal(json_string_value(json_object_get(b, "routing_key")),
					    "KEY1");
			assert_string_equal(json_string_value(json_object_get(b, "event_action")),
					    "trigger");
			assert_non_null(json_object_get(b, "dedup_key"));
			json_t *pl = json_object_get(b, "payload");
			assert_non_null(strstr(json_string_value(json_object_get(pl, "summary")),
					       "[FIRING:1]"));
		} else if (!strcmp(p, "/slack")) {
			seen_slack++;
			assert_string_equal(json_string_value(json_object_get(b, "channel")),
					    "#pay");
			json_t *att = json_array_get(json_object_get(b, "attachments"), 0);
			assert_string_equal(json_string_value(json_object_get(att, "color")),
					    "danger");
		} else {
			seen_hook++;
			/* Only the warning alert falls through to the root. */
			assert_string_equal(json_string_value(json_object_get(
						    json_object_get(b, "commonLabels"),
						    "alertname")),
					    "Y");
		}
	}
	assert_int_equal(seen_pd, 1);
	assert_int_equal(seen_slack, 1);
	assert_int_equal(seen_hook, 1);
	/* Resolve X: PagerDuty resolves, Slack (send_resolved false) stays quiet. */
	put(&w, "alertname=X,severity=critical,team=payments", 100, 400, 400);
	assert_int_equal(tick(&w, 600), 1);
	assert_string_equal(capture_path(3), "/pd");
	assert_string_equal(json_string_value(json_object_get(capture_at(3), "event_action")),
			    "resolve");
	world_close(&w);
}

static void inhibition_with_equal_and_silences(void **state)
{
	struct world w;
	char id[37], err[256];

	world_open(&w,
		   "route:\n  receiver: hook\n  group_wait: 0s\n  group_by: [alertname, cluster]\n"
		   "inhibit_rules:\n  - source_matchers: [alertname = ClusterUnreachable]\n"
		   "    target_matchers: ['severity =~ \"warning|info\"']\n    equal: [cluster]\n"
		   "receivers:\n  - name: hook\n    webhook_configs:\n      - url: " HOOK
		   "/hook\n");
	put(&w, "alertname=ClusterUnreachable,cluster=eu,severity=critical", 10, 0, 10);
	put(&w, "alertname=PodDown,cluster=eu,severity=warning", 10, 0, 10);
	put(&w, "alertname=PodDown,cluster=us,severity=warning", 10, 0, 10);
	assert_int_equal(tick(&w, 11), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *gl = json_object_get(capture_at(i), "groupLabels");
		const char *an = json_string_value(json_object_get(gl, "alertname"));
		const char *cl = json_string_value(json_object_get(gl, "cluster"));
		/* PodDown in eu is inhibited by the unreachable eu cluster. */
		assert_false(!strcmp(an, "PodDown") && !strcmp(cl, "eu"));
	}
	/* The API shows it suppressed, naming the inhibiting alert. */
	json_t *all = corr_dispatch_alerts_json(w.d, 12000);
	size_t i, suppressed = 0;
	json_t *a;
	json_array_foreach(all, i, a)
		suppressed +=
			!strcmp(json_string_value(
					json_object_get(json_object_get(a, "status"), "state")),
				"suppressed");
	assert_int_equal(suppressed, 1);
	json_decref(all);
	/* A silence mutes a new alert. */
	json_t *sil = json_pack("{s:[{s:s,s:s,s:b,s:b}],s:s,s:s,s:s,s:s}", "matchers", "name",
				"alertname", "value", "Noisy", "isRegex", 0, "isEqual", 1,
				"startsAt", "1970-01-01T00:00:01Z", "endsAt",
				"2100-01-01T00:00:00Z", "createdBy", "t", "comment", "c");
	assert_int_equal(corr_dispatch_add_silence(w.d, sil, 12000, id, err, sizeof(err)), 0);
	json_decref(sil);
	put(&w, "alertname=Noisy,cluster=us", 20, 0, 20);
	assert_int_equal(tick(&w, 21), 0);
	/* Expired, it is notified at the next flush. */
	assert_int_equal(corr_dispatch_expire_silence(w.d, id, 30000), 0);
	assert_int_equal(tick(&w, 200), 0); /* group_interval (5m) not over */
	assert_int_equal(tick(&w, 321), 1);
	/* Bad silences are refused with a reason. */
	json_t *bad = json_pack("{s:[],s:s}", "matchers", "endsAt", "2100-01-01T00:00:00Z");
	assert_int_equal(corr_dispatch_add_silence(w.d, bad, 12000, id, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "matchers"));
	json_decref(bad);
	world_close(&w);
}

static void failing_receiver_is_retried_and_counted(void **state)
{
	struct world w;

	world_open(&w, "route:\n  receiver: hook\n  group_wait: 0s\n"
		       "receivers:\n  - name: hook\n    webhook_configs:\n      - url: " HOOK
		       "/fail\n");
	put(&w, "alertname=A", 10, 0, 10);
	assert_int_equal(tick(&w, 11), 3); /* notify_attempts = 3 */
	assert_int_equal(w.metrics.notifications_failed[CORR_INTEG_WEBHOOK], 1);
	assert_int_equal(w.metrics.notification_retries[CORR_INTEG_WEBHOOK], 2);
	/* Never delivered, so not logged as told: the next group_interval tries again. */
	assert_int_equal(tick(&w, 200), 0);
	assert_int_equal(tick(&w, 311), 3);
	assert_int_equal(w.metrics.notifications_failed[CORR_INTEG_WEBHOOK], 2);
	world_close(&w);
}

/* An incident whose blast radius grew: same labels, a new revision, told again. */
static void revised_alert_is_told_at_next_interval(void **state)
{
	struct world w;
	struct corr_alert a = { 0 };

	world_open(&w, "route:\n  receiver: hook\n  group_wait: 0s\n  group_interval: 60s\n"
		       "  repeat_interval: 4h\n"
		       "receivers:\n  - name: hook\n    webhook_configs:\n      - url: " HOOK
		       "/hook\n");
	corr_labels_set(&a.labels, "alertname", "SeismoIncident");
	corr_labels_set(&a.annotations, "blast_radius", "1 services on 1 nodes");
	a.starts_at_ms = 100000;
	a.ends_at_ms = (int64_t)1 << 60;
	a.revision = 1;
	assert_int_equal(corr_dispatch_put(w.d, &a, 100000), 0);
	assert_int_equal(tick(&w, 101), 1);
	/* Annotations alone are no news (as in Alertmanager)... */
	corr_labels_set(&a.annotations, "summary", "reworded");
	assert_int_equal(corr_dispatch_put(w.d, &a, 120000), 0);
	assert_int_equal(tick(&w, 161), 0);
	/* ... a revision is, at the next group_interval, not before. */
	a.revision = 4;
	corr_labels_set(&a.annotations, "blast_radius", "4 services on 2 nodes");
	assert_int_equal(corr_dispatch_put(w.d, &a, 170000), 0);
	assert_int_equal(tick(&w, 200), 0);
	assert_int_equal(tick(&w, 221), 1);
	json_t *b = capture_at(1);
	json_t *ann =
		json_object_get(json_array_get(json_object_get(b, "alerts"), 0), "annotations");
	assert_string_equal(json_string_value(json_object_get(ann, "blast_radius")),
			    "4 services on 2 nodes");
	assert_int_equal(tick(&w, 281), 0);
	corr_alert_free(&a);
	world_close(&w);
}

static int store_load(void *arg, const char *key, uint64_t **f, size_t *nf, uint64_t **r,
		      size_t *nr, int64_t *ts)
{
	return corr_store_nflog_get(arg, key, f, nf, r, nr, ts);
}

static void store_save(void *arg, const char *key, const uint64_t *f, size_t nf, const uint64_t *r,
		       size_t nr, int64_t ts)
{
	corr_store_nflog_put(arg, key, f, nf, r, nr, ts);
}

static void notification_log_survives_restart(void **state)
{
	char dir[] = "/tmp/seismo-nflog-XXXXXX", path[64], err[256];
	struct world w;
	const char *yaml = "route:\n  receiver: hook\n  group_wait: 0s\n  group_interval: 10s\n"
			   "  repeat_interval: 1h\n  group_by: [alertname]\n"
			   "receivers:\n  - name: hook\n    webhook_configs:\n      - url: " HOOK
			   "/hook\n";

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nflog.db", dir);
	struct corr_store *st = corr_store_open(path, 0, err, sizeof(err));
	assert_non_null(st);
	struct corr_nflog_ops ops = { store_load, store_save, st };

	world_open(&w, yaml);
	corr_dispatch_set_nflog(w.d, &ops);
	put(&w, "alertname=A,i=1", 100, 0, 100);
	assert_int_equal(tick(&w, 101), 1);
	world_close(&w);

	/* A restart: the same firing alert is not told again... */
	world_open(&w, yaml);
	corr_dispatch_set_nflog(w.d, &ops);
	put(&w, "alertname=A,i=1", 100, 0, 200);
	assert_int_equal(tick(&w, 201), 0);
	/* ... something new is, with what was already known. */
	put(&w, "alertname=A,i=2", 205, 0, 205);
	assert_int_equal(tick(&w, 211), 1);
	assert_int_equal(alert_count(capture_at(0), "firing"), 2);
	world_close(&w);
	/* Without the log, a restart repeats itself: the persistence is what helps. */
	world_open(&w, yaml);
	put(&w, "alertname=A,i=1", 100, 0, 300);
	assert_int_equal(tick(&w, 301), 1);
	world_close(&w);
	corr_store_close(st);
	snprintf(err, sizeof(err), "rm -rf %s", dir);
	assert_int_equal(system(err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(group_timers_follow_alertmanager),
		cmocka_unit_test(routing_continue_and_receivers),
		cmocka_unit_test(inhibition_with_equal_and_silences),
		cmocka_unit_test(failing_receiver_is_retried_and_counted),
		cmocka_unit_test(notification_log_survives_restart),
		cmocka_unit_test(revised_alert_is_told_at_next_interval),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
