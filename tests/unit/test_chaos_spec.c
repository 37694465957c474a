/* Parsing of chaos experiments: durations, CIDRs, ports, Litmus env names,
 * the agent config's chaos section, probe specs and criteria, the Litmus
 * ChaosEngine files of the seed, kill selection and fq sizing. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../chaos/chaos_config.h"
#include "../../chaos/chaos_delay.h"
#include "../../chaos/chaos_kill.h"
#include "../../chaos/chaos_litmus.h"
#include "../../chaos/chaos_maps.h"
#include "../../chaos/chaos_probe.h"
#include "../../chaos/chaos_qdisc.h"
#include "../../chaos/chaos_spec.h"

#define MS 1000000ULL
#define S 1000000000ULL

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		uint64_t unit, want;
		int ok;
	} cases[] = {
		{ "500", MS, 500 * MS, 1 },
		{ "500ms", S, 500 * MS, 1 },
		{ "1.5s", MS, 1500 * MS, 1 },
		{ "250us", MS, 250000, 1 },
		{ "2m", S, 120 * S, 1 },
		{ "100ns", S, 100, 1 },
		{ "120", S, 120 * S, 1 },
		{ "", S, 0, 0 },
		{ "-5", S, 0, 0 },
		{ "5 s", S, 0, 0 },
		{ "5x", S, 0, 0 },
		{ "abc", S, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got = 0;
		int rc = chaos_parse_duration(cases[i].text, cases[i].unit, &got);

		assert_int_equal(rc == 0, cases[i].ok);
		if (cases[i].ok)
			assert_int_equal(got, cases[i].want);
	}
}

static void test_cidrs(void **state)
{
	static const struct {
		const char *text, *formatted;
	} good[] = {
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "10.9.9.9/8", "10.0.0.0/8" },
		{ "192.168.1.7", "192.168.1.7/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "fd00::/8", "fd00::/8" },
		{ "2001:db8::1", "2001:db8::1/128" },
		{ "2001:db8:ff::/33", "2001:db8::/33" },
	};
	static const char *const bad[] = { "10.0.0.0/33", "fd00::/129", "10.0.0",      "::g",
					   "/8",	  "10.0.0.0/",	"10.0.0.0/8x", "" };
	struct chaos_cidr_key key;
	char buf[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(chaos_parse_cidr(good[i].text, &key), 0);
		chaos_cidr_format(&key, buf, sizeof(buf));
		assert_string_equal(buf, good[i].formatted);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(chaos_parse_cidr(bad[i], &key), 0);
	/* IPv4 is stored v4-mapped with the prefix shifted by 96 */
	assert_int_equal(chaos_parse_cidr("10.0.0.0/8", &key), 0);
	assert_int_equal(key.prefixlen, 104);
	assert_int_equal(key.addr[10], 0xff);
	assert_int_equal(key.addr[12], 10);
}

static void test_ports(void **state)
{
	struct chaos_delay_spec spec;

	chaos_spec_init(&spec);
	assert_int_equal(chaos_spec_add_ports(&spec, "80, 8000-8100,443"), 0);
	assert_int_equal(spec.port_count, 3);
	assert_int_equal(spec.ports[1].first, 8000);
	assert_int_equal(spec.ports[1].last, 8100);
	assert_int_equal(spec.ports[2].first, 443);
	assert_int_equal(spec.ports[2].last, 443);
	assert_int_not_equal(chaos_spec_add_ports(&spec, "90-80"), 0);
	assert_int_not_equal(chaos_spec_add_ports(&spec, "65536"), 0);
	assert_int_not_equal(chaos_spec_add_ports(&spec, "http"), 0);
	assert_int_not_equal(chaos_spec_add_ports(&spec, "-5"), 0);
}

/* The seed's pod-network-latency env, value by value. */
static void test_litmus_env(void **state)
{
	struct chaos_delay_spec spec;
	struct chaos_config cfg;

	chaos_spec_init(&spec);
	assert_int_equal(chaos_spec_apply_litmus_env(&spec, "TOTAL_CHAOS_DURATION", "120"), 0);
	assert_int_equal(chaos_spec_apply_litmus_env(&spec, "NETWORK_LATENCY", "500"), 0);
	assert_int_equal(chaos_spec_apply_litmus_env(&spec, "JITTER", "100"), 0);
	assert_int_equal(chaos_spec_apply_litmus_env(&spec, "DESTINATION_IPS", "10.0.0.0/8"), 0);
	assert_int_equal(chaos_spec_apply_litmus_env(&spec, "DESTINATION_PORTS", "80,443"), 0);
	assert_int_equal(chaos_spec_apply_litmus_env(&spec, "NETWORK_INTERFACE", "ens5"), 0);
	assert_int_equal(chaos_spec_apply_litmus_env(&spec, "CONTAINER_RUNTIME", "containerd"), 1);
	assert_int_equal(chaos_spec_apply_litmus_env(&spec, "NETWORK_LATENCY", "fast"), -EINVAL);
	assert_int_equal(spec.duration_ns, 120 * S);
	assert_int_equal(spec.latency_ns, 500 * MS);
	assert_int_equal(spec.jitter_ns, 100 * MS);
	assert_int_equal(spec.cidr_count, 1);
	assert_int_equal(spec.port_count, 2);
	assert_string_equal(spec.ifname, "ens5");

	chaos_spec_to_config(&spec, 42, &cfg);
	assert_int_equal(cfg.end_ns, 42);
	assert_int_equal(cfg.flags & CHAOS_F_ALL_DESTINATIONS, 0);
	assert_true(cfg.flags & CHAOS_F_ARMED);
	assert_int_equal(cfg.port_range_count, 2);
	spec.cidr_count = 0;
	spec.loss_percent = 25;
	chaos_spec_to_config(&spec, 42, &cfg);
	assert_true(cfg.flags & CHAOS_F_ALL_DESTINATIONS);
	assert_int_equal(cfg.loss, 1u << 30);
	spec.loss_percent = 100;
	chaos_spec_to_config(&spec, 42, &cfg);
	assert_int_equal(cfg.loss, UINT32_MAX);
}

static void test_distribution_tables(void **state)
{
	static int32_t table[CHAOS_DIST_TABLE_SIZE];
	double sum = 0, sum_sq = 0;

	chaos_dist_fill(CHAOS_DIST_NORMAL, table);
	for (int i = 0; i < CHAOS_DIST_TABLE_SIZE; i++) {
		double v = (double)table[i] / CHAOS_DIST_SCALE;

		sum += v;
		sum_sq += v * v;
		if (i)
			assert_true(table[i] >= table[i - 1]);
	}
	assert_true(fabs(sum / CHAOS_DIST_TABLE_SIZE) < 0.001);
	assert_true(fabs(sqrt(sum_sq / CHAOS_DIST_TABLE_SIZE) - 1) < 0.01);

	chaos_dist_fill(CHAOS_DIST_PARETO, table);
	sum = 0;
	for (int i = 0; i < CHAOS_DIST_TABLE_SIZE; i++) {
		assert_true(table[i] >= 0);
		sum += (double)table[i] / CHAOS_DIST_SCALE;
	}
	/* mean one jitter, minus the tail beyond the table's last quantile */
	assert_true(sum / CHAOS_DIST_TABLE_SIZE > 0.9 && sum / CHAOS_DIST_TABLE_SIZE < 1.01);
}

static const char *write_temp(const char *content)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/seismo-chaos-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

static void test_agent_config(void **state)
{
	struct chaos_limits limits;
	const char *path;

	assert_int_equal(chaos_limits_load("/nonexistent/agent.yaml", false, &limits), 0);
	assert_true(limits.enabled);
	assert_int_not_equal(chaos_limits_load("/nonexistent/agent.yaml", true, &limits), 0);

	path = write_temp("agent:\n  listen: :9400\nchaos:\n  enabled: false\n  max_latency: 2s\n"
			  "  max_duration: 10m\n");
	assert_int_equal(chaos_limits_load(path, true, &limits), 0);
	unlink(path);
	assert_false(limits.enabled);
	assert_int_equal(limits.max_latency_ns, 2 * S);
	assert_int_equal(limits.max_duration_ns, 600 * S);

	path = write_temp("chaos:\n  enabled: perhaps\n");
	assert_int_equal(chaos_limits_load(path, true, &limits), -EINVAL);
	unlink(path);
	path = write_temp("chaos:\n  max_latency: [1, 2\n");
	assert_int_equal(chaos_limits_load(path, true, &limits), -EINVAL);
	unlink(path);
}

static void test_delay_limits(void **state)
{
	struct chaos_delay_spec spec;
	struct chaos_limits limits;

	chaos_limits_defaults(&limits);
	limits.max_latency_ns = 1 * S;
	limits.max_duration_ns = 60 * S;
	chaos_spec_init(&spec);
	snprintf(spec.name, sizeof(spec.name), "delay-eth0");
	spec.latency_ns = 900 * MS;
	spec.jitter_ns = 50 * MS;
	spec.duration_ns = 60 * S;
	/* only limits and values are checked: no kernel call */
	assert_int_equal(chaos_delay_validate(&spec, &limits), 0);
	spec.jitter_ns = 150 * MS;
	assert_int_equal(chaos_delay_validate(&spec, &limits), -ERANGE);
	spec.jitter_ns = 50 * MS;
	spec.dist = CHAOS_DIST_NORMAL; /* ~3.5 standard deviations in the table */
	assert_int_equal(chaos_delay_validate(&spec, &limits), -ERANGE);
	spec.dist = CHAOS_DIST_UNIFORM;
	spec.duration_ns = 61 * S;
	assert_int_equal(chaos_delay_validate(&spec, &limits), -ERANGE);
	spec.duration_ns = 10 * S;
	snprintf(spec.name, sizeof(spec.name), "../escape");
	assert_int_equal(chaos_delay_validate(&spec, &limits), -EINVAL);
	snprintf(spec.name, sizeof(spec.name), "ok");
	limits.enabled = false;
	assert_int_equal(chaos_delay_validate(&spec, &limits), -EPERM);
	limits.enabled = true;
	spec.latency_ns = spec.jitter_ns = 0;
	assert_int_equal(chaos_delay_validate(&spec, &limits), -EINVAL);
}

static void test_fq_sizing(void **state)
{
	struct chaos_fq_params fq;

	/* fq's defaults drop at ~1000 pkt/s per flow with 100 ms delay */
	chaos_fq_params_for(100 * MS, 10000, 1000, &fq);
	assert_true(fq.flow_limit >= 100 * 1000 / 1000 * 1.5);
	assert_true(fq.limit >= 10000 * 0.1);
	assert_true(fq.horizon_us >= 100000);
	chaos_fq_params_for(2 * S, 50000, 5000, &fq);
	assert_true(fq.flow_limit >= 10000);
	assert_true(fq.limit >= 100000);
	assert_true(fq.horizon_us >= 2000000);
	chaos_fq_params_for(1 * MS, 10, 1, &fq); /* never below fq's defaults */
	assert_int_equal(fq.flow_limit, 100);
	assert_int_equal(fq.limit, 10000);
}

static void test_probe_specs(void **state)
{
	struct chaos_probe probe;

	assert_int_equal(chaos_probe_parse_cli("health url=http://127.0.0.1:19200/healthz "
					       "status=200 mode=OnChaos timeout=2s interval=500ms "
					       "retry=3 stop-on-failure",
					       &probe),
			 0);
	assert_string_equal(probe.name, "health");
	assert_int_equal(probe.mode, CHAOS_PROBE_ONCHAOS);
	assert_int_equal(probe.timeout_ns, 2 * S);
	assert_int_equal(probe.interval_ns, 500 * MS);
	assert_int_equal(probe.retries, 3);
	assert_true(probe.stop_on_failure);
	assert_true(chaos_probe_status_ok(&probe, 200));
	assert_false(chaos_probe_status_ok(&probe, 503));

	assert_int_equal(chaos_probe_parse_cli("p url=http://x status!=500", &probe), 0);
	assert_true(chaos_probe_status_ok(&probe, 200));
	assert_false(chaos_probe_status_ok(&probe, 500));
	assert_false(chaos_probe_status_ok(&probe, 0)); /* no response never passes */
	assert_int_equal(chaos_probe_parse_cli("p url=http://x status=200,204", &probe), 0);
	assert_int_equal(probe.criteria, CHAOS_CRITERIA_ONE_OF);
	assert_true(chaos_probe_status_ok(&probe, 204));
	assert_false(chaos_probe_status_ok(&probe, 201));

	assert_int_not_equal(chaos_probe_parse_cli("p status=200", &probe), 0);
	assert_int_not_equal(chaos_probe_parse_cli("p url=ftp://x", &probe), 0);
	assert_int_not_equal(chaos_probe_parse_cli("p url=http://x mode=Sometimes", &probe), 0);
	assert_int_not_equal(chaos_probe_parse_cli("p url=http://x status=20", &probe), 0);
	assert_int_not_equal(chaos_probe_parse_cli("p url=http://x colour=blue", &probe), 0);
	chaos_probe_init(&probe);
	assert_int_equal(chaos_probe_set_criteria(&probe, "oneOf", "[200,404]"), 0);
	assert_int_equal(probe.code_count, 2);
	assert_int_not_equal(chaos_probe_set_criteria(&probe, "==", "200,404"), 0);
	assert_int_not_equal(chaos_probe_set_criteria(&probe, ">=", "200"), 0);
}

/* The seed's two ChaosEngine files, verbatim. */
static const char latency_engine[] =
	"apiVersion: litmuschaos.io/v1alpha1\n"
	"kind: ChaosEngine\n"
	"metadata:\n"
	"  name: network-latency-chaos\n"
	"  namespace: production\n"
	"spec:\n"
	"  appinfo:\n"
	"    appns: production\n"
	"    applabel: app=api-gateway\n"
	"    appkind: deployment\n"
	"  engineState: active\n"
	"  chaosServiceAccount: litmus-admin\n"
	"  experiments:\n"
	"    - name: pod-network-latency\n"
	"      spec:\n"
	"        components:\n"
	"          env:\n"
	"            - name: TOTAL_CHAOS_DURATION\n"
	"              value: '120'\n"
	"            - name: NETWORK_LATENCY\n"
	"              value: '500'          # Add 500ms latency\n"
	"            - name: JITTER\n"
	"              value: '100'          # ±100ms jitter\n"
	"            - name: DESTINATION_IPS\n"
	"              value: '10.0.0.0/8'   # Target internal traffic\n"
	"            - name: CONTAINER_RUNTIME\n"
	"              value: containerd\n";

static const char delete_engine[] =
	"apiVersion: litmuschaos.io/v1alpha1\n"
	"kind: ChaosEngine\n"
	"metadata:\n"
	"  name: payment-service-chaos\n"
	"  namespace: production\n"
	"spec:\n"
	"  appinfo:\n"
	"    appns: production\n"
	"    applabel: app=payment-service\n"
	"    appkind: deployment\n"
	"  engineState: active\n"
	"  chaosServiceAccount: litmus-admin\n"
	"  experiments:\n"
	"    - name: pod-delete\n"
	"      spec:\n"
	"        components:\n"
	"          env:\n"
	"            - name: TOTAL_CHAOS_DURATION\n"
	"              value: '60'     # Run for 60 seconds\n"
	"            - name: CHAOS_INTERVAL\n"
	"              value: '10'     # Delete a pod every 10 seconds\n"
	"            - name: FORCE\n"
	"              value: 'false'  # Graceful termination\n"
	"            - name: PODS_AFFECTED_PERC\n"
	"              value: '50'     # Kill 50% of pods\n"
	"        probe:\n"
	"          - name: health-check\n"
	"            type: httpProbe\n"
	"            httpProbe/inputs:\n"
	"              url: http://payment-service.production:8080/healthz\n"
	"              method:\n"
	"                get:\n"
	"                  criteria: ==\n"
	"                  responseCode: '200'\n"
	"            mode: Continuous\n"
	"            runProperties:\n"
	"              probeTimeout: 5s\n"
	"              retry: 3\n"
	"              interval: 10s\n";

static void test_litmus_engines(void **state)
{
	static struct chaos_experiment exps[CHAOS_LITMUS_MAX_EXPERIMENTS];
	struct chaos_litmus_overrides none = { 0 }, iface = { .interface = "veth9" };
	const char *path;
	size_t count = 0;

	path = write_temp(latency_engine);
	assert_int_equal(chaos_litmus_load(path, &none, exps, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(exps[0].kind, CHAOS_EXPERIMENT_DELAY);
	assert_string_equal(exps[0].delay.name, "network-latency-chaos");
	assert_string_equal(exps[0].delay.ifname, "eth0");
	assert_int_equal(exps[0].delay.latency_ns, 500 * MS);
	assert_int_equal(exps[0].delay.jitter_ns, 100 * MS);
	assert_int_equal(exps[0].delay.duration_ns, 120 * S);
	assert_int_equal(exps[0].delay.cidr_count, 1);
	assert_int_equal(chaos_litmus_load(path, &iface, exps, &count), 0);
	assert_string_equal(exps[0].delay.ifname, "veth9");
	unlink(path);

	path = write_temp(delete_engine);
	assert_int_equal(chaos_litmus_load(path, &none, exps, &count), 0);
	unlink(path);
	assert_int_equal(count, 1);
	assert_int_equal(exps[0].kind, CHAOS_EXPERIMENT_KILL);
	assert_string_equal(exps[0].kill.target, "payment-service.service");
	assert_int_equal(exps[0].kill.duration_ns, 60 * S);
	assert_int_equal(exps[0].kill.interval_ns, 10 * S);
	assert_false(exps[0].kill.force);
	assert_true(exps[0].kill.percent == 50);
	assert_int_equal(exps[0].probe_count, 1);
	assert_string_equal(exps[0].probes[0].name, "health-check");
	assert_string_equal(exps[0].probes[0].url,
			    "http://payment-service.production:8080/healthz");
	assert_int_equal(exps[0].probes[0].mode, CHAOS_PROBE_CONTINUOUS);
	assert_int_equal(exps[0].probes[0].timeout_ns, 5 * S);
	assert_int_equal(exps[0].probes[0].interval_ns, 10 * S);
	assert_int_equal(exps[0].probes[0].retries, 3);
	assert_int_equal(exps[0].probes[0].codes[0], 200);
}

static void test_litmus_errors(void **state)
{
	static struct chaos_experiment exps[CHAOS_LITMUS_MAX_EXPERIMENTS];
	struct chaos_litmus_overrides none = { 0 };
	static const char *const bad[] = {
		"kind: Pod\n",
		"kind: ChaosEngine\nspec:\n  engineState: stop\n  experiments: []\n",
		"kind: ChaosEngine\nspec:\n  experiments:\n    - name: disk-fill\n",
		"kind: ChaosEngine\nspec:\n  experiments:\n    - name: pod-network-latency\n"
		"      spec:\n        components:\n          env:\n"
		"            - name: NETWORK_LATENCY\n              value: soon\n",
		"kind: ChaosEngine\nspec:\n  experiments:\n    - name: pod-delete\n      spec:\n"
		"        probe:\n          - name: p\n            type: cmdProbe\n",
		"kind: ChaosEngine\nspec: [unclosed\n",
	};
	size_t count;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *path = write_temp(bad[i]);

		assert_int_not_equal(chaos_litmus_load(path, &none, exps, &count), 0);
		unlink(path);
	}
	assert_int_not_equal(chaos_litmus_load("/nonexistent.yaml", &none, exps, &count), 0);
}

static void test_kill_selection(void **state)
{
	pid_t pids[10];
	unsigned seed = 7;
	int seen[10] = { 0 };

	assert_int_equal(chaos_kill_victim_count(0, 50), 0);
	assert_int_equal(chaos_kill_victim_count(4, 50), 2);
	assert_int_equal(chaos_kill_victim_count(3, 50), 2); /* rounded up */
	assert_int_equal(chaos_kill_victim_count(10, 1), 1); /* at least one */
	assert_int_equal(chaos_kill_victim_count(10, 100), 10);
	assert_int_equal(chaos_kill_victim_count(5, 20), 1);
	/* every process gets picked sometimes, never twice in one tick */
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 10; i++)
			pids[i] = 100 + i;
		chaos_kill_choose(pids, 10, 3, &seed);
		assert_int_not_equal(pids[0], pids[1]);
		assert_int_not_equal(pids[1], pids[2]);
		assert_int_not_equal(pids[0], pids[2]);
		for (int i = 0; i < 3; i++)
			seen[pids[i] - 100]++;
	}
	for (int i = 0; i < 10; i++)
		assert_true(seen[i] > 20); /* expectation 60 */
}

static void test_kill_litmus_env(void **state)
{
	struct chaos_kill_spec spec;

	chaos_kill_spec_init(&spec);
	assert_int_equal(chaos_kill_apply_litmus_env(&spec, "FORCE", "true"), 0);
	assert_true(spec.force);
	assert_int_equal(chaos_kill_apply_litmus_env(&spec, "FORCE", "maybe"), -EINVAL);
	assert_int_equal(chaos_kill_apply_litmus_env(&spec, "PODS_AFFECTED_PERC", "101"), -EINVAL);
	assert_int_equal(chaos_kill_apply_litmus_env(&spec, "CHAOS_INTERVAL", "0"), -EINVAL);
	assert_int_equal(chaos_kill_apply_litmus_env(&spec, "CHAOS_INTERVAL", "5"), 0);
	assert_int_equal(spec.interval_ns, 5 * S);
	assert_int_equal(chaos_kill_apply_litmus_env(&spec, "LIB", "litmus"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_cidrs),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_litmus_env),
		cmocka_unit_test(test_distribution_tables),
		cmocka_unit_test(test_agent_config),
		cmocka_unit_test(test_delay_limits),
		cmocka_unit_test(test_fq_sizing),
		cmocka_unit_test(test_probe_specs),
		cmocka_unit_test(test_litmus_engines),
		cmocka_unit_test(test_litmus_errors),
		cmocka_unit_test(test_kill_selection),
		cmocka_unit_test(test_kill_litmus_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
