/* Runbooks: config (with file:line errors), matching, templates, and the
 * guards (once per incident, disabled, kill switch, rate limits per runbook
 * and target that survive a restart) on a real SQLite store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../correlator/action.h"
#include "../../correlator/config.h"
#include "../../correlator/runbook.h"
#include "../../correlator/util.h"

static const char head[] = "route:\n  receiver: r\nreceivers:\n  - name: r\n";

static struct corr_config *parse(const char *body, char *err, size_t errlen)
{
	char text[8192];

	snprintf(text, sizeof(text), "%s%s", head, body);
	return corr_config_parse(text, strlen(text), "rb.yaml", err, errlen);
}

static void config_reads_every_kind(void **state)
{
	char err[512] = "";
	struct corr_config *cfg = parse(
		"actions:\n  max_concurrent: 8\n  escalate: r\n  kill_switch_file: /run/stop\n"
		"runbooks:\n"
		"  - name: a\n    matchers: ['root_cause = api', 'severity =~ \"critical|warning\"']\n"
		"    mode: approve\n    approval_ttl: 15m\n    verify_within: 2m\n"
		"    rate_limit: {runbook: 10/1h, target: 2/30m}\n    target: '${namespace}/${root_cause}'\n"
		"    circuit_breaker: {failures: 5, unresolved: 0}\n"
		"    actions:\n"
		"      - webhook: {url: 'http://hooks/x', timeout: 3s}\n"
		"      - exec: {command: [/usr/bin/env, x], timeout: 1m}\n"
		"      - kubernetes: {action: scale, namespace: ns, name: api, add: 2, min: 1, max: 6}\n"
		"      - agent: {url: 'http://${node}:9464', action: systemd-restart, unit: api.service}\n",
		err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	const struct corr_runbooks *rbs = cfg->runbooks;
	assert_int_equal(rbs->max_concurrent, 8);
	assert_int_equal(rbs->n, 1);
	const struct corr_runbook *rb = &rbs->v[0];
	assert_int_equal(rb->mode, RB_APPROVE);
	assert_int_equal(rb->approval_ttl_ms, 15 * 60000);
	assert_int_equal(rb->rate_runbook_n, 10);
	assert_int_equal(rb->rate_runbook_ms, 3600000);
	assert_int_equal(rb->rate_target_n, 2);
	assert_int_equal(rb->breaker_failures, 5);
	assert_int_equal(rb->breaker_unresolved, 0);
	assert_int_equal(rb->n_steps, 4);
	assert_int_equal(rb->steps[1].argc, 2);
	assert_int_equal(rb->steps[2].verb, RB_KUBE_SCALE);
	assert_true(rb->steps[2].has_add);
	assert_int_equal(rb->steps[2].max_replicas, 6);
	assert_string_equal(rb->steps[3].agent_arg, "api.service");
	assert_int_equal(rb->max_per_incident, 1);
	corr_config_free(cfg);
}

struct bad_case {
	const char *body;
	const char *want; /* "rb.yaml:LINE:COLUMN: ..." */
};

static void config_errors_name_file_line(void **state)
{
	/* head is 4 lines: runbooks: is line 5, the first runbook line 6. */
	static const struct bad_case cases[] = {
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: maybe\n    actions: [{exec: {command: [/bin/true]}}]\n",
		  "rb.yaml:8:11: runbook a: mode must be suggest, approve or auto" },
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: auto\n    actions: [{exec: {command: [true]}}]\n",
		  "rb.yaml:9:32: exec: the program \"true\" must be an absolute path" },
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: auto\n    actions: []\n",
		  "rb.yaml:9:14: runbook a: needs a non-empty list of actions" },
		{ "runbooks:\n  - name: a\n    mode: auto\n    actions: [{exec: {command: [/bin/true]}}]\n",
		  "rb.yaml:6:5: runbook a: needs matchers" },
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: approve\n    actions: [{exec: {command: [/bin/true]}}]\n",
		  "rb.yaml:6:5: runbook a: mode approve needs an escalate receiver" },
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: auto\n    rate_limit: {runbook: lots}\n    actions: [{exec: {command: [/bin/true]}}]\n",
		  "rb.yaml:9:27: rate limit \"lots\" must look like 10/1h" },
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: auto\n    actions: [{ssh: {host: x}}]\n",
		  "rb.yaml:9:15: unknown action kind \"ssh\"" },
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: auto\n    escalate: nobody\n    actions: [{exec: {command: [/bin/true]}}]\n",
		  "rb.yaml:9:15: runbook a: escalate names undefined receiver \"nobody\"" },
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: auto\n    actions: [{kubernetes: {action: drain, name: n}}]\n",
		  "rb.yaml:9:28: kubernetes: action must be rollout-restart, scale, delete-pod or cordon" },
		{ "runbooks:\n  - name: a\n    matchers: ['x = 1']\n    mode: auto\n    colour: red\n    actions: [{exec: {command: [/bin/true]}}]\n",
		  "rb.yaml:9:5: unknown key" },
		{ "runbooks:\n  - name: a\n    matchers: ['x =~ \"(\"']\n    mode: auto\n    actions: [{exec: {command: [/bin/true]}}]\n",
		  "rb.yaml:7:16: matchers: invalid regex" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		struct corr_config *cfg = parse(cases[i].body, err, sizeof(err));
		if (cfg || !strstr(err, cases[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, cfg ? "(accepted)" : err,
				 cases[i].want);
	}
}

static void deploy_example_loads(void **state)
{
	char err[512] = "", path[1024];
	const char *root = getenv("SEISMO_ROOT");

	snprintf(path, sizeof(path), "%s/deploy/correlator-runbooks.example.yaml",
		 root ? root : ".");
	struct corr_config *cfg = corr_config_load(path, err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->runbooks->n, 3);
	assert_int_equal(cfg->runbooks->v[0].mode, RB_SUGGEST);
	assert_int_equal(cfg->runbooks->v[1].mode, RB_APPROVE);
	assert_int_equal(cfg->runbooks->v[2].mode, RB_AUTO);
	corr_config_free(cfg);
}

static void templates_expand_labels(void **state)
{
	struct corr_labels ls = { 0 };
	char err[256] = "";

	corr_labels_set(&ls, "namespace", "shop");
	corr_labels_set(&ls, "root_cause", "api");
	char *s = corr_rb_expand("kubectl -n ${namespace} rollout restart deploy/${root_cause}$",
				 &ls, err, sizeof(err));
	assert_string_equal(s, "kubectl -n shop rollout restart deploy/api$");
	free(s);
	assert_null(corr_rb_expand("${pod}", &ls, err, sizeof(err)));
	assert_non_null(strstr(err, "no label \"pod\""));
	corr_labels_free(&ls);
}

/* ------------------------------------------------------------- guards */

static int firing(void *arg, const char *id)
{
	return 0;
}

static struct corr_labels incident_labels(const char *service, const char *ns)
{
	struct corr_labels ls = { 0 };

	corr_labels_set(&ls, "service", service);
	corr_labels_set(&ls, "root_cause", service);
	corr_labels_set(&ls, "namespace", ns);
	corr_labels_set(&ls, "severity", "critical");
	return ls;
}

static json_t *actions_of(struct corr_actions *a, const char *state)
{
	json_t *out = NULL;
	unsigned st = corr_actions_http(a, "GET", "/api/v1/actions", state, NULL, NULL, &out);
	assert_int_equal(st, 200);
	json_t *arr = json_incref(json_object_get(out, "actions"));
	json_decref(out);
	return arr;
}

static struct corr_config *guard_config(const char *db)
{
	char err[512] = "", body[2048];

	snprintf(
		body, sizeof(body),
		"seismo:\n  db: %s\n"
		"runbooks:\n"
		"  - name: limited\n    matchers: ['root_cause =~ \"svc-.*\"']\n    mode: auto\n"
		"    target: '${namespace}'\n    rate_limit: {runbook: 3/1h, target: 2/1h}\n"
		"    actions: [{exec: {command: [/bin/true]}}]\n"
		"  - name: off\n    matchers: ['root_cause = off-a']\n    mode: auto\n    enabled: false\n"
		"    actions: [{exec: {command: [/bin/true]}}]\n"
		"  - name: hint\n    matchers: ['severity = critical', 'root_cause !~ \"svc-.*|off-a\"']\n"
		"    mode: suggest\n    actions: [{exec: {command: [/bin/echo, '${root_cause}']}}]\n",
		db);
	struct corr_config *cfg = parse(body, err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	return cfg;
}

static void propose(struct corr_actions *a, const char *incident, const char *svc, const char *ns)
{
	struct corr_labels ls = incident_labels(svc, ns);
	free(corr_actions_on_incident(a, incident, false, 0, &ls, corr_now_ms()));
	corr_labels_free(&ls);
}

static void guards_hold_and_survive_restart(void **state)
{
	char db[] = "/tmp/seismo-test-runbooks-XXXXXX", err[256];
	int fd = mkstemp(db);
	assert_true(fd >= 0);
	close(fd);
	struct corr_config *cfg = guard_config(db);
	struct corr_actions *a = corr_actions_new(cfg, NULL, firing, NULL, err, sizeof(err));
	if (!a)
		fail_msg("%s", err);

	/* Once per incident: published three times, proposed once. */
	for (int i = 0; i < 3; i++)
		propose(a, "inc-1", "svc-a", "ns1");
	/* Matching: the suggest runbook sees only what it matches. */
	struct corr_labels ls = incident_labels("web", "ns9");
	char *text = corr_actions_on_incident(a, "inc-h", false, 0, &ls, corr_now_ms());
	corr_labels_free(&ls);
	assert_non_null(text);
	assert_non_null(strstr(text, "hint (suggest): suggested: exec /bin/echo web"));
	free(text);
	propose(a, "inc-off", "off-a", "ns1");
	propose(a, "inc-2", "svc-b", "ns1"); /* same target ns1: the target limit is 2 */
	propose(a, "inc-3", "svc-c", "ns1");
	assert_int_equal(corr_actions_start(a), 0);
	assert_int_equal(corr_actions_drain(a, 10000), 0);
	json_t *ok = actions_of(a, "succeeded"), *skipped = actions_of(a, "skipped");
	assert_int_equal(json_array_size(ok), 2);
	assert_int_equal(json_array_size(skipped), 2);
	bool saw_target = false, saw_off = false;
	size_t i;
	json_t *v;
	json_array_foreach(skipped, i, v) {
		const char *r = json_string_value(json_object_get(v, "reason"));
		saw_target |= strstr(r, "rate limit: target ns1") != NULL;
		saw_off |= strstr(r, "disabled") != NULL;
	}
	assert_true(saw_target && saw_off);
	json_decref(ok);
	json_decref(skipped);
	json_t *proposed = actions_of(a, "proposed");
	assert_int_equal(json_array_size(proposed), 1);
	json_decref(proposed);
	corr_actions_free(a);

	/* Restart: the runbook limit (3/h) counts what ran before it. */
	a = corr_actions_new(cfg, NULL, firing, NULL, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(corr_actions_start(a), 0);
	propose(a, "inc-4", "svc-d", "ns2");
	propose(a, "inc-5", "svc-e", "ns3");
	assert_int_equal(corr_actions_drain(a, 10000), 0);
	ok = actions_of(a, "succeeded");
	assert_int_equal(json_array_size(ok), 3);
	json_decref(ok);
	/*
	 * inc-4 and inc-5 were queued together and run on parallel workers:
	 * which one takes the last slot is not ordered, but exactly one must
	 * be refused by the runbook's limit.
	 */
	skipped = actions_of(a, "skipped");
	int refused_by_runbook_limit = 0;
	json_array_foreach(skipped, i, v) {
		const char *r = json_string_value(json_object_get(v, "reason"));
		refused_by_runbook_limit += strstr(r, "rate limit: runbook limited ran 3 times") !=
					    NULL;
	}
	assert_int_equal(refused_by_runbook_limit, 1);
	json_decref(skipped);

	/* Kill switch: new auto actions are skipped while it is engaged. */
	json_t *body = json_pack("{s:b,s:s}", "engaged", 1, "by", "test"), *out = NULL;
	assert_int_equal(corr_actions_http(a, "POST", "/api/v1/actions/killswitch", NULL, NULL,
					   body, &out),
			 200);
	json_decref(out);
	json_decref(body);
	propose(a, "inc-6", "svc-f", "ns4");
	corr_actions_http(a, "GET", "/api/v1/actions", NULL, "inc-6", NULL, &out);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(out, "actions"), 0), "reason")),
			    "kill switch engaged");
	json_decref(out);
	/* Bad requests are 4xx. */
	body = json_pack("{s:b}", "engaged", 0);
	assert_int_equal(corr_actions_http(a, "POST", "/api/v1/actions/killswitch", NULL, NULL,
					   body, &out),
			 400);
	json_decref(out);
	json_decref(body);
	assert_int_equal(corr_actions_http(a, "GET", "/api/v1/actions/nope", NULL, NULL, NULL,
					   &out),
			 404);
	json_decref(out);
	corr_actions_free(a);
	corr_config_free(cfg);
	unlink(db);
	char side[64];
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_reads_every_kind),
		cmocka_unit_test(config_errors_name_file_line),
		cmocka_unit_test(deploy_example_loads),
		cmocka_unit_test(templates_expand_labels),
		cmocka_unit_test(guards_hold_and_survive_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
