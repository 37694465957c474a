/* The agent's configuration (agent/config.c over common/yamlcfg.c): a good
 * file sets what it says over the defaults; every kind of bad input is an
 * error naming the file and the line of the offending node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/config.h"
#include "../../agent/listen_addr.h"

/* Writes text to a temp file; returns its path (static buffer). */
static const char *write_config(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/seismo-test-config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Loads text; the error must start with "PATH:LINE:" and contain want. */
static void expect_error(const char *text, int line, const char *want)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	const char *path = write_config(text);
	char err[600] = "", prefix[96];

	assert_non_null(cfg);
	config_defaults(cfg);
	if (config_load(cfg, path, err, sizeof(err)) == 0)
		fail_msg("accepted a bad config:\n%s", text);
	snprintf(prefix, sizeof(prefix), "%s:%d:", path, line);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, want))
		fail_msg("want '%s...%s', got '%s' for:\n%s", prefix, want, err, text);
	config_free(cfg);
	unlink(path);
	free(cfg);
}

static void test_bad_input_names_file_and_line(void **state)
{
	expect_error("interval: 1s\nlisten: [a\nnode: x\n", 3, "flow sequence");
	expect_error("interval: 1s\nlog_level: info\nintervall: 2s\n", 3, "intervall");
	expect_error("log_level: info\ninterval: 5x\n", 2, "5x");
	expect_error("interval: 50ms\n", 1, "interval");
	expect_error("histogram_buckets:\n  - 0.01\n  - 0.1\n  - 0.05\n", 4, "increase");
	expect_error("histogram_buckets: 0.1\n", 1, "list");
	expect_error("max_histograms: 3\n", 1, "out of range");
	expect_error("max_histograms: lots\n", 1, "lots");
	expect_error("bpf_stats: maybe\n", 1, "maybe");
	expect_error("log_level: loud\n", 1, "log_level");
	expect_error("kubernetes:\n  enabled: true\n  pod_url: x\n", 3, "pod_url");
	expect_error("kubernetes:\n  refresh: soon\n", 2, "soon");
	expect_error("sampling:\n  factor: 0.5\n", 2, "");
	expect_error("services:\n  - name: web\n    labels: { team: x }\n", 2, "match");
	expect_error("services:\n  - name: web\n    match: { port: 70000 }\n", 3, "70000");
	expect_error("services:\n  - name: web\n    match: { cgroup: '*', pid: 1 }\n", 3, "pid");
	expect_error("services:\n  - match: { port: 80 }\n", 2, "name");
	expect_error("services: web\n", 1, "list");
	expect_error("- a\n- b\n", 1, "mapping");
	/* label names Prometheus would refuse, or that the agent sets itself */
	expect_error("services:\n  - name: web\n    match: { port: 80 }\n    labels:\n"
		     "      cost-center: x\n",
		     5, "cost-center");
	expect_error("services:\n  - name: web\n    match: { port: 80 }\n    labels:\n"
		     "      status: x\n",
		     5, "set by the agent");
	expect_error("services:\n  - name: web\n    match: { port: 80 }\n    labels:\n"
		     "      __name__: x\n",
		     5, "__");
	expect_error("kubernetes:\n  refresh: 0s\n", 2, "at least 1s");
	expect_error("series_ttl: 1s\n", 1, "at least 10s");
	expect_error("detector:\n  method: magic\n", 2, "seasonal-robust");
	expect_error("correlator:\n  urll: http://x\n", 2, "urll");
	/* what a start would refuse: --check-config must refuse it too */
	expect_error("log_level: info\nlisten: 127.0.0.1:99999\n", 2, "99999");
	expect_error("listen: 127.0.0.1\n", 1, "host:port");
	expect_error("listen: 127.0.0.1:-1\n", 1, "port");
	expect_error("listen: 127.0.0.1:80x\n", 1, "port");
	expect_error("listen: metrics.example:9464\n", 1, "not an IP address");
	expect_error("listen: 300.1.1.1:9464\n", 1, "not an IP address");
	expect_error("listen: ::1:9464\n", 1, "brackets");
	expect_error("listen: 192.0.2.1:9464\n", 1, "no interface of this host has that address");
	/* what the shipper or curl would refuse at start or at the first post */
	expect_error("correlator:\n  url: correlator.example:9465\n", 2, "http://");
	expect_error("correlator:\n  url: http://c:9465\n  token_file: /nonexistent/token\n", 3,
		     "token_file /nonexistent/token");
	expect_error("correlator:\n  url: https://c:9465\n  ca_file: /nonexistent/ca.pem\n", 3,
		     "ca_file");
	expect_error("correlator:\n  url: http://c:9465\n  spool_dir: /etc/hostname/spool\n", 3,
		     "not a directory");
	/* a key given twice: YAML leaves it undefined, a silent first-wins hides edits */
	expect_error("interval: 1s\nlog_level: info\ninterval: 5s\n", 3,
		     "duplicate key 'interval' (first given at line 1)");
	expect_error("sampling:\n  factor: 2\n  factor: 3\n", 3, "duplicate key 'factor'");
	expect_error("services:\n  - name: a\n    match: { port: 1, port: 2 }\n", 3,
		     "duplicate key 'port'");
	expect_error("chaos:\n  max_latency: 1s\n  max_latency: 2s\n", 3, "duplicate key");
	/* durations need their unit: 10 could be seconds or milliseconds */
	expect_error("interval: 10\n", 1, "no unit: write 10s");
	expect_error("series_ttl: 3600\n", 1, "write 3600s");
	expect_error("sampling:\n  min_latency: 0.5\n", 2, "write 0.5s");
	expect_error("detector:\n  for: 5.\n", 2, "no unit");
}

static void test_listen_addresses(void **state)
{
	static const char *const good[] = {
		"127.0.0.1:9464", "0.0.0.0:9464",   ":9464", "[::1]:9464",
		"[::]:0",	  "localhost:9464", NULL
	};
	struct config *cfg = calloc(1, sizeof(*cfg));
	char text[128], err[600];

	assert_non_null(cfg);
	for (const char *const *g = good; *g; g++) {
		const char *path;

		snprintf(text, sizeof(text), "listen: \"%s\"\n", *g);
		path = write_config(text);
		config_defaults(cfg);
		if (config_load(cfg, path, err, sizeof(err)))
			fail_msg("listen %s refused: %s", *g, err);
		assert_string_equal(cfg->listen, *g);
		config_free(cfg);
		unlink(path);
	}
	/* Without a config: loopback only (the DaemonSet's config opens it). */
	config_defaults(cfg);
	assert_string_equal(cfg->listen, "127.0.0.1:9464");
	assert_false(cfg->measure_self);
	free(cfg);
}

static void test_unitless_zero_duration(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	const char *path = write_config("sampling:\n  min_latency: 0\nmeasure_self: true\n");
	char err[600] = "";

	assert_non_null(cfg);
	config_defaults(cfg);
	/* 0 is the same in every unit: no guess involved. */
	if (config_load(cfg, path, err, sizeof(err)))
		fail_msg("min_latency: 0 refused: %s", err);
	assert_true(cfg->sampling.min_latency == 0);
	assert_true(cfg->measure_self);
	config_free(cfg);
	unlink(path);
	free(cfg);
}

static void test_missing_file(void **state)
{
	struct config cfg;
	char err[600] = "";

	config_defaults(&cfg);
	assert_int_not_equal(config_load(&cfg, "/nonexistent/seismo.yaml", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/seismo.yaml"));
	config_free(&cfg);
}

static void test_good_file(void **state)
{
	static const char text[] = "log_level: debug\n"
				   "listen: 127.0.0.1:9999\n"
				   "interval: 2500ms\n"
				   "histogram_buckets: [0.001, 0.01, 0.1]\n"
				   "max_histograms: 16\n"
				   "bpf_stats: true\n"
				   "kubernetes:\n"
				   "  enabled: true\n"
				   "  pods_url: http://127.0.0.1:1/pods\n"
				   "services:\n"
				   "  - name: checkout\n"
				   "    match: { cgroup: '*/checkout.service', port: 8080 }\n"
				   "    labels: { app: shop, team: payments }\n";
	struct config *cfg = calloc(1, sizeof(*cfg));
	const char *path = write_config(text);
	char err[600] = "";

	assert_non_null(cfg);
	config_defaults(cfg);
	if (config_load(cfg, path, err, sizeof(err)))
		fail_msg("good config refused: %s", err);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_string_equal(cfg->listen, "127.0.0.1:9999");
	assert_true(cfg->interval > 2.499 && cfg->interval < 2.501);
	assert_int_equal(cfg->n_buckets, 3);
	assert_true(cfg->buckets[2] > 0.0999 && cfg->buckets[2] < 0.1001);
	assert_int_equal(cfg->max_histograms, 16);
	assert_true(cfg->bpf_stats);
	assert_int_equal(cfg->kubernetes.enabled, 1);
	assert_string_equal(cfg->kubernetes.pods_url, "http://127.0.0.1:1/pods");
	assert_int_equal(cfg->n_services, 1);
	assert_string_equal(cfg->services[0].name, "checkout");
	assert_string_equal(cfg->services[0].cgroup, "*/checkout.service");
	assert_int_equal(cfg->services[0].port, 8080);
	assert_int_equal(cfg->services[0].n_labels, 2);
	assert_string_equal(cfg->services[0].labels[1].name, "team");
	assert_string_equal(cfg->services[0].labels[1].value, "payments");
	/* Untouched keys keep their defaults. */
	assert_int_equal(cfg->max_connections, 65536);
	config_free(cfg);
	unlink(path);
	free(cfg);
}

static void test_empty_file_is_defaults(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	const char *path = write_config("");
	char err[600] = "";

	assert_non_null(cfg);
	config_defaults(cfg);
	assert_int_equal(config_load(cfg, path, err, sizeof(err)), 0);
	assert_true(cfg->interval > 9.99 && cfg->interval < 10.01);
	assert_int_equal(cfg->n_buckets, 14);
	config_free(cfg);
	unlink(path);
	free(cfg);
}

static void test_durations(void **state)
{
	double s = -1;

	assert_int_equal(yamlcfg_parse_duration("250ms", &s), 0);
	assert_true(s > 0.2499 && s < 0.2501);
	assert_int_equal(yamlcfg_parse_duration("5m", &s), 0);
	assert_true(s == 300);
	assert_int_equal(yamlcfg_parse_duration("7d", &s), 0);
	assert_true(s == 7 * 86400);
	assert_int_equal(yamlcfg_parse_duration("12", &s), 0);
	assert_true(s == 12);
	assert_int_not_equal(yamlcfg_parse_duration("5x", &s), 0);
	assert_int_not_equal(yamlcfg_parse_duration("-1s", &s), 0);
	assert_int_not_equal(yamlcfg_parse_duration("", &s), 0);
	assert_int_not_equal(yamlcfg_parse_duration("ms", &s), 0);
	/* The config's reader wants the unit. */
	assert_int_equal(yamlcfg_parse_duration_unit("250ms", &s), 0);
	assert_true(s > 0.2499 && s < 0.2501);
	assert_int_equal(yamlcfg_parse_duration_unit("0", &s), 0);
	assert_true(s == 0);
	assert_int_not_equal(yamlcfg_parse_duration_unit("12", &s), 0);
	assert_int_not_equal(yamlcfg_parse_duration_unit("1.5", &s), 0);
	assert_int_not_equal(yamlcfg_parse_duration_unit("5x", &s), 0);
}

/* Aliases share nodes, and may even point back at their own parent: the
 * duplicate check visits each node once and terminates. */
static void test_aliases_checked_once(void **state)
{
	char text[4096] = "a0: &a0 [x, x]\n";
	size_t len = strlen(text);

	for (int i = 1; i < 40; i++) /* 2^40 paths through 80 nodes */
		len += (size_t)snprintf(text + len, sizeof(text) - len, "a%d: &a%d [*a%d, *a%d]\n",
					i, i, i - 1, i - 1);
	expect_error(text, 1, "unknown key 'a0'");
	expect_error("x: &x [*x]\ninterval: 1s\nx: 2\n", 3, "duplicate key 'x'");
	expect_error("x: &x {a: 1, b: *x}\n", 1, "unknown key 'x'");
}

/* Random listen strings: never a crash, an accepted one is well formed. */
static void test_listen_fuzz(void **state)
{
	static const char alphabet[] = "0123456789.:[]af-+ lochst";
	unsigned seed = 12345;
	struct sockaddr_in6 sa;
	char text[48], why[200];

	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)(rand_r(&seed) % (sizeof(text) - 1));
		for (size_t j = 0; j < n; j++)
			text[j] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		text[n] = 0;
		why[0] = 0;
		if (listen_addr_parse(text, &sa, why, sizeof(why)) == 0)
			assert_int_equal(sa.sin6_family, AF_INET6);
		else
			assert_true(why[0] != 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input_names_file_and_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_empty_file_is_defaults),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_listen_addresses),
		cmocka_unit_test(test_unitless_zero_duration),
		cmocka_unit_test(test_aliases_checked_once),
		cmocka_unit_test(test_listen_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
