/* Config loading: the seed's Alertmanager config, inheritance, errors with file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../correlator/config.h"
#include "../../correlator/util.h"

static struct corr_config *parse(const char *text, char *err, size_t errlen)
{
	return corr_config_parse(text, strlen(text), "test.yaml", err, errlen);
}

static void seed_config_loads(void **state)
{
	char err[512] = "";
	const char *root = getenv("SEISMO_ROOT");
	char path[1024];

	/* A verbatim copy of the seed's examples/alertmanager-config.yaml. */
	snprintf(path, sizeof(path), "%s/correlator/testdata/alertmanager-seed.yaml",
		 root ? root : ".");
	struct corr_config *cfg = corr_config_load(path, err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_string_equal(cfg->root.receiver, "default-receiver");
	assert_int_equal(cfg->root.group_wait_ms, 30000);
	assert_int_equal(cfg->root.group_interval_ms, 300000);
	assert_int_equal(cfg->root.repeat_interval_ms, 4 * 3600000LL);
	assert_int_equal(cfg->root.n_group_by, 3);
	assert_int_equal(cfg->root.n_routes, 4);
	/* The critical route overrides group_wait and continues. */
	assert_int_equal(cfg->root.routes[0].group_wait_ms, 10000);
	assert_true(cfg->root.routes[0].cont);
	assert_string_equal(cfg->root.routes[0].receiver, "pagerduty-critical");
	/* Children inherit what they do not set. */
	assert_int_equal(cfg->root.routes[2].group_interval_ms, 300000);
	assert_int_equal(cfg->root.routes[2].n_group_by, 3);
	/* match_re and matchers combine into one list. */
	assert_int_equal(cfg->root.routes[1].matchers.n, 2);
	struct corr_labels ls = { 0 };
	corr_labels_set(&ls, "alertname", "NodeNotReady");
	corr_labels_set(&ls, "maintenance_window", "active");
	assert_true(corr_matchers_match(&cfg->root.routes[1].matchers, &ls));
	corr_labels_set(&ls, "alertname", "NodeNotReadyX");
	assert_false(corr_matchers_match(&cfg->root.routes[1].matchers, &ls));
	corr_labels_free(&ls);
	assert_int_equal(cfg->n_inhibit, 1);
	assert_int_equal(cfg->inhibit[0].n_equal, 1);
	assert_int_equal(cfg->n_receivers, 5);
	const struct corr_receiver *pd = corr_config_receiver(cfg, "pagerduty-critical");
	assert_non_null(pd);
	assert_int_equal(pd->n_integ, 1);
	assert_int_equal(pd->integ[0].kind, CORR_INTEG_PAGERDUTY);
	assert_string_equal(pd->integ[0].routing_key_file, "/etc/alertmanager/pagerduty-key");
	const struct corr_receiver *slack = corr_config_receiver(cfg, "team-payments-slack");
	assert_false(slack->integ[0].send_resolved);
	assert_string_equal(slack->integ[0].channel, "#payments-alerts");
	corr_config_free(cfg);
}

static void example_config_loads(void **state)
{
	char err[512] = "", path[1024];
	const char *root = getenv("SEISMO_ROOT");

	snprintf(path, sizeof(path), "%s/deploy/correlator.example.yaml", root ? root : ".");
	struct corr_config *cfg = corr_config_load(path, err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_string_equal(cfg->token_file, "/etc/seismo/correlator-token");
	assert_int_equal(cfg->max_hops, 1);
	const struct corr_receiver *d = corr_config_receiver(cfg, "default");
	assert_int_equal(d->n_integ, 2);
	assert_int_equal(d->integ[1].kind, CORR_INTEG_ALERTMANAGER);
	/* Slack took global's api_url_file. */
	const struct corr_receiver *p = corr_config_receiver(cfg, "payments");
	assert_string_equal(p->integ[0].url_file, "/etc/seismo/slack-webhook");
	corr_config_free(cfg);
}

static void errors_name_file_and_line(void **state)
{
	char err[512];
	struct {
		const char *yaml, *expect;
	} cases[] = {
		{ "route:\n  receiver: a\n  group_wait: 3 parsecs\nreceivers:\n  - name: a\n",
		  "test.yaml:3:15: route.group_wait" },
		{ "route:\n  receiver: missing\nreceivers:\n  - name: a\n",
		  "test.yaml:2:3: route uses undefined receiver \"missing\"" },
		{ "route:\n  receiver: a\n  colour: blue\nreceivers:\n  - name: a\n",
		  "test.yaml:3:3: route: unknown field \"colour\"" },
		{ "route:\n  receiver: a\n  routes:\n    - matchers: ['sev ~= x']\nreceivers:\n  - name: a\n",
		  "test.yaml:4:18: matchers" },
		{ "route:\n  receiver: a\nreceivers:\n  - name: a\n  - name: a\n",
		  "defined twice" },
		{ "route:\n  receiver: a\nreceivers:\n  - name: a\n    email_configs: []\n",
		  "email_configs are not supported" },
		{ "route: [\n", "YAML error" },
		{ "route:\n  receiver: a\n  routes:\n    - match_re: {x: '(?:a)'}\nreceivers:\n  - name: a\n",
		  "invalid regex" },
		{ "route:\n  receiver: a\nreceivers:\n  - name: a\n    webhook_configs:\n      - send_resolved: true\n",
		  "needs a url" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		struct corr_config *cfg = parse(cases[i].yaml, err, sizeof(err));
		if (cfg)
			fail_msg("case %zu loaded but should not", i);
		if (!strstr(err, cases[i].expect))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].expect);
	}
}

static void seismo_section_and_receivers(void **state)
{
	char err[512] = "";
	struct corr_config *cfg = parse(
		"seismo:\n  listen: 127.0.0.1:19100\n  token: s3cret\n  db: /tmp/x.db\n"
		"  max_hops: 2\n  correlation_slack: 90s\n"
		"global:\n  resolve_timeout: 1m\n  slack_api_url: http://127.0.0.1:1/slack\n"
		"route:\n  receiver: hook\n  group_by: ['...']\n"
		"receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:1/h\n"
		"        max_alerts: 3\n    slack_configs:\n      - channel: '#x'\n"
		"    alertmanager_configs:\n      - url: http://127.0.0.1:9093\n",
		err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_string_equal(cfg->listen, "127.0.0.1:19100");
	assert_string_equal(cfg->token, "s3cret");
	assert_int_equal(cfg->max_hops, 2);
	assert_int_equal(cfg->correlation_slack_ms, 90000);
	assert_int_equal(cfg->resolve_timeout_ms, 60000);
	assert_true(cfg->root.group_by_all);
	const struct corr_receiver *r = corr_config_receiver(cfg, "hook");
	assert_int_equal(r->n_integ, 3);
	assert_int_equal(r->integ[0].max_alerts, 3);
	assert_true(r->integ[0].send_resolved);
	/* Slack takes global's api_url. */
	assert_string_equal(r->integ[1].url, "http://127.0.0.1:1/slack");
	assert_int_equal(r->integ[2].kind, CORR_INTEG_ALERTMANAGER);
	corr_config_free(cfg);
}

static void durations_and_times(void **state)
{
	int64_t ms;

	assert_int_equal(corr_duration_parse("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(corr_duration_parse("100ms", &ms), 0);
	assert_int_equal(ms, 100);
	assert_int_equal(corr_duration_parse("2d", &ms), 0);
	assert_int_equal(ms, 172800000);
	assert_int_equal(corr_duration_parse("5", &ms), -1);
	assert_int_equal(corr_duration_parse("m", &ms), -1);
	assert_int_equal(corr_time_parse("2026-11-24T14:03:10Z", &ms), 0);
	assert_int_equal(ms, 1795528990000LL);
	assert_int_equal(corr_time_parse("2026-11-24T15:03:10.5+01:00", &ms), 0);
	assert_int_equal(ms, 1795528990500LL);
	assert_int_equal(corr_time_parse("2026-11-24 14:03", &ms), -1);
	assert_int_equal(corr_time_parse("2026-13-24T14:03:10Z", &ms), -1);
	char buf[32];
	corr_time_format(1795528990500LL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-24T14:03:10.500Z");
}

static void matcher_text_forms(void **state)
{
	struct corr_matchers ms = { 0 };
	char err[256];
	struct corr_labels ls = { 0 };

	assert_int_equal(corr_matchers_parse(&ms, "severity =~ \"warning|info\"", err, sizeof(err)),
			 0);
	assert_int_equal(corr_matchers_parse(&ms, "{team!=\"db\", env=prod}", err, sizeof(err)), 0);
	assert_int_equal(ms.n, 3);
	corr_labels_set(&ls, "severity", "info");
	corr_labels_set(&ls, "env", "prod");
	assert_true(corr_matchers_match(&ms, &ls));
	corr_labels_set(&ls, "team", "db");
	assert_false(corr_matchers_match(&ms, &ls));
	/* Anchored: a partial match is no match. */
	corr_labels_set(&ls, "team", "x");
	corr_labels_set(&ls, "severity", "info2");
	assert_false(corr_matchers_match(&ms, &ls));
	char *s = corr_matchers_string(&ms);
	assert_string_equal(s, "{env=\"prod\",severity=~\"warning|info\",team!=\"db\"}");
	free(s);
	assert_int_equal(corr_matchers_parse(&ms, "9x=1", err, sizeof(err)), -1);
	corr_matchers_free(&ms);
	corr_labels_free(&ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_config_loads),
		cmocka_unit_test(example_config_loads),
		cmocka_unit_test(errors_name_file_and_line),
		cmocka_unit_test(seismo_section_and_receivers),
		cmocka_unit_test(durations_and_times),
		cmocka_unit_test(matcher_text_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
