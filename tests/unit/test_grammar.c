/* One grammar for every config (docs/config.md, "Grammar"): the parsers in
 * common/grammar.c on their own, then the same boolean, duration and size
 * spellings fed to each config reader (agent, chaos section, Litmus
 * ChaosEngine, correlator, runbooks), which must agree on the value, and
 * refuse the same bad spellings with file:line:column and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* By name: the chaos headers move with the chaos module (the Makefile
 * puts their folder on the include path of this test). */
#include "chaos_config.h"
#include "chaos_litmus.h"

#include "../../agent/config.h"
#include "../../correlator/config.h"
#include "../../correlator/runbook.h"
#include "grammar.h"
#include "log.h"

#define MS 1000000LL
#define S 1000000000LL

/* ---- the parsers --------------------------------------------------------- */

static void booleans(void **state)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
					   "on",   "ON",   "y",	   "Y",	  "1" };
	static const char *const no[] = {
		"false", "False", "no", "NO", "off", "Off", "n", "N", "0"
	};
	static const char *const bad[] = {
		"", "maybe", "2", "tru", "yes!", " true", "t", "enable"
	};
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(grammar_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(grammar_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(grammar_bool(bad[i], &b), GRAMMAR_BAD);
}

static void durations(void **state)
{
	static const struct {
		const char *text;
		int64_t bare_unit, want;
		int rc;
	} cases[] = {
		{ "250ms", 0, 250 * MS, 0 },
		{ "10s", 0, 10 * S, 0 },
		{ "5m", 0, 300 * S, 0 },
		{ "1h30m", 0, 5400 * S, 0 },
		{ "1.5h", 0, 5400 * S, 0 },
		{ "1h0.5m", 0, 3630 * S, 0 },
		{ "2d", 0, 172800 * S, 0 },
		{ "1w", 0, 604800 * S, 0 },
		{ "1y", 0, 31536000 * S, 0 },
		{ "100us", 0, 100000, 0 },
		{ "100\xc2\xb5s", 0, 100000, 0 },
		{ "7ns", 0, 7, 0 },
		{ ".5s", 0, 500 * MS, 0 },
		{ "0", 0, 0, 0 },
		{ "0.0", 0, 0, 0 },
		{ "10", 0, 0, GRAMMAR_NO_UNIT },
		{ "1.5", 0, 0, GRAMMAR_NO_UNIT },
		{ "10", S, 10 * S, 0 },
		{ "500", MS, 500 * MS, 0 },
		{ "1h30", S, 0, GRAMMAR_BAD }, /* a bare number only alone */
		{ "", 0, 0, GRAMMAR_BAD },
		{ "s", 0, 0, GRAMMAR_BAD },
		{ "-1s", 0, 0, GRAMMAR_BAD },
		{ "+1s", 0, 0, GRAMMAR_BAD },
		{ "5 s", 0, 0, GRAMMAR_BAD },
		{ " 5s", 0, 0, GRAMMAR_BAD },
		{ "5S", 0, 0, GRAMMAR_BAD },
		{ "5x", 0, 0, GRAMMAR_BAD },
		{ "1e3ms", 0, 0, GRAMMAR_BAD },
		{ "0x10s", 0, 0, GRAMMAR_BAD },
		{ "infs", 0, 0, GRAMMAR_BAD },
		{ "5sec", 0, 0, GRAMMAR_BAD },
		{ "1..5s", 0, 0, GRAMMAR_BAD },
		{ "300y", 0, 0, GRAMMAR_RANGE },
		{ "99999999999999999999999s", 0, 0, GRAMMAR_RANGE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ns = -1;
		int rc = grammar_duration(cases[i].text, cases[i].bare_unit, &ns);

		if (rc != cases[i].rc || (!rc && ns != cases[i].want))
			fail_msg("'%s': rc %d ns %lld, want rc %d ns %lld", cases[i].text, rc,
				 (long long)ns, cases[i].rc, (long long)cases[i].want);
	}
}

static void sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t want;
		int rc;
	} cases[] = {
		{ "65536", 65536, 0 },
		{ "0", 0, 0 },
		{ "512B", 512, 0 },
		{ "64KiB", 65536, 0 },
		{ "64kib", 65536, 0 },
		{ "64Ki", 65536, 0 },
		{ "1MiB", 1048576, 0 },
		{ "1.5MiB", 1572864, 0 },
		{ "2GiB", 2147483648ULL, 0 },
		{ "1TiB", 1099511627776ULL, 0 },
		{ "10kB", 10000, 0 },
		{ "10KB", 10000, 0 },
		{ "8MB", 8000000, 0 },
		{ "1GB", 1000000000, 0 },
		{ "64K", 0, GRAMMAR_BAD }, /* 1000 or 1024? refused */
		{ "64M", 0, GRAMMAR_BAD },
		{ "1.5", 0, GRAMMAR_FRACTION },
		{ "0.1KiB", 0, GRAMMAR_FRACTION },
		{ "64 KiB", 0, GRAMMAR_BAD },
		{ "-1", 0, GRAMMAR_BAD },
		{ "lots", 0, GRAMMAR_BAD },
		{ "", 0, GRAMMAR_BAD },
		{ "99999999TiB", 0, GRAMMAR_RANGE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int rc = grammar_size(cases[i].text, &v);

		if (rc != cases[i].rc || (!rc && v != cases[i].want))
			fail_msg("'%s': rc %d value %llu, want rc %d value %llu", cases[i].text, rc,
				 (unsigned long long)v, cases[i].rc,
				 (unsigned long long)cases[i].want);
	}
}

/* ---- every reader -------------------------------------------------------- */

/* What one reader made of one spelling: ok, or the error text. */
struct outcome {
	bool ok;
	bool b;
	int64_t ns;	/* durations, at the reader's resolution */
	uint64_t bytes; /* sizes */
	char error[1024];
};

static char *write_temp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/seismo-grammar-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* The chaos readers log their errors: catch stderr around the call. */
static int saved_stderr = -1;
static char capture_path[64];

static void capture_begin(void)
{
	int fd;

	snprintf(capture_path, sizeof(capture_path), "/tmp/seismo-grammar-err-XXXXXX");
	fd = mkstemp(capture_path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static void capture_end(char *out, size_t len)
{
	FILE *f;
	size_t n = 0;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	f = fopen(capture_path, "r");
	if (f) {
		n = fread(out, 1, len - 1, f);
		fclose(f);
	}
	out[n] = 0;
	unlink(capture_path);
}

enum kind {
	BOOL,
	DURATION,
	SIZE
};

/* agent.yaml: bpf_stats (bool, line 1), detector.for (duration, line 3),
 * correlator.spool_max_bytes (size, line 5). */
static void agent_reader(enum kind kind, const char *value, struct outcome *o, char *file)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char text[512];
	char *path;

	snprintf(text, sizeof(text),
		 "bpf_stats: %s\ndetector:\n  for: %s\ncorrelator:\n  spool_max_bytes: %s\n",
		 kind == BOOL ? value : "false", kind == DURATION ? value : "1m",
		 kind == SIZE ? value : "64KiB");
	path = write_temp(text);
	strcpy(file, path);
	config_defaults(cfg);
	o->ok = !config_load(cfg, path, o->error, sizeof(o->error));
	o->b = cfg->bpf_stats;
	o->ns = (int64_t)(cfg->detector.for_s * 1e9 + 0.5);
	o->bytes = cfg->correlator.spool_max_bytes;
	config_free(cfg);
	free(cfg);
	unlink(path);
}

/* the chaos section: enabled (bool, line 2), max_duration (line 3). */
static void chaos_reader(enum kind kind, const char *value, struct outcome *o, char *file)
{
	struct chaos_limits limits;
	char text[512];
	char *path;

	snprintf(text, sizeof(text), "chaos:\n  enabled: %s\n  max_duration: %s\n",
		 kind == BOOL ? value : "true", kind == DURATION ? value : "1h");
	path = write_temp(text);
	strcpy(file, path);
	capture_begin();
	o->ok = !chaos_limits_load(path, true, &limits);
	capture_end(o->error, sizeof(o->error));
	o->b = limits.enabled;
	o->ns = (int64_t)limits.max_duration_ns;
	unlink(path);
}

/* a Litmus ChaosEngine: a probe's stopOnFailure (bool, line 16) and
 * probeTimeout (duration, line 15). */
static void litmus_reader(enum kind kind, const char *value, struct outcome *o, char *file)
{
	static struct chaos_experiment exps[CHAOS_LITMUS_MAX_EXPERIMENTS];
	struct chaos_litmus_overrides overrides = { .interface = "lo" };
	size_t count = 0;
	char text[1024];
	char *path;

	snprintf(text, sizeof(text),
		 "kind: ChaosEngine\n"
		 "metadata: {name: grammar}\n"
		 "spec:\n"
		 "  experiments:\n"
		 "    - name: pod-network-latency\n"
		 "      spec:\n"
		 "        probe:\n"
		 "          - name: up\n"
		 "            type: httpProbe\n"
		 "            httpProbe/inputs:\n"
		 "              url: http://127.0.0.1:1/\n"
		 "              method:\n"
		 "                get: {criteria: ==, responseCode: '200'}\n"
		 "            runProperties:\n"
		 "              probeTimeout: %s\n"
		 "              stopOnFailure: %s\n",
		 kind == DURATION ? value : "5s", kind == BOOL ? value : "false");
	path = write_temp(text);
	strcpy(file, path);
	capture_begin();
	o->ok = !chaos_litmus_load(path, &overrides, exps, &count);
	capture_end(o->error, sizeof(o->error));
	if (o->ok) {
		assert_int_equal(count, 1);
		assert_int_equal(exps[0].probe_count, 1);
		o->b = exps[0].probes[0].stop_on_failure;
		o->ns = (int64_t)exps[0].probes[0].timeout_ns;
	}
	unlink(path);
}

/* the correlator: a webhook's send_resolved (bool, line 5), the route's
 * group_wait (duration, line 2), seismo.max_body_bytes (size, line 7). */
static void correlator_reader(enum kind kind, const char *value, struct outcome *o, char *file)
{
	char text[512];
	struct corr_config *cfg;

	snprintf(
		text, sizeof(text),
		"route:\n  group_wait: %s\n  receiver: r\n"
		"receivers:\n  - {name: r, webhook_configs: [{url: 'http://x/', send_resolved: %s}]}\n"
		"seismo:\n  max_body_bytes: %s\n",
		kind == DURATION ? value : "30s", kind == BOOL ? value : "true",
		kind == SIZE ? value : "1MiB");
	strcpy(file, "corr.yaml");
	cfg = corr_config_parse(text, strlen(text), file, o->error, sizeof(o->error));
	o->ok = cfg != NULL;
	if (cfg) {
		o->b = cfg->receivers[0].integ[0].send_resolved;
		o->ns = cfg->root.group_wait_ms * MS;
		o->bytes = cfg->max_body_bytes;
		corr_config_free(cfg);
	}
}

/* runbooks: dry_run (bool, line 9), approval_ttl (duration, line 10),
 * actions.max_output_bytes (size, line 6). */
static void runbooks_reader(enum kind kind, const char *value, struct outcome *o, char *file)
{
	char text[1024];
	struct corr_config *cfg;

	snprintf(
		text, sizeof(text),
		"route:\n  receiver: r\nreceivers:\n  - name: r\n"
		"actions:\n  max_output_bytes: %s\n"
		"runbooks:\n"
		"  - {name: a, matchers: ['x = 1'], mode: auto, actions: [{exec: {command: [/bin/true]}}],\n"
		"     dry_run: %s,\n"
		"     approval_ttl: %s}\n",
		kind == SIZE ? value : "64KiB", kind == BOOL ? value : "false",
		kind == DURATION ? value : "30m");
	strcpy(file, "rb.yaml");
	cfg = corr_config_parse(text, strlen(text), file, o->error, sizeof(o->error));
	o->ok = cfg != NULL;
	if (cfg) {
		o->b = cfg->runbooks->v[0].dry_run;
		o->ns = cfg->runbooks->v[0].approval_ttl_ms * MS;
		o->bytes = (uint64_t)cfg->runbooks->max_output_bytes;
		corr_config_free(cfg);
	}
}

struct reader {
	const char *name;
	void (*read)(enum kind kind, const char *value, struct outcome *o, char *file);
	int64_t resolution_ns; /* durations are kept in ms by the correlator */
	bool has_size;
	/* "file:LINE:COLUMN: KEY" of a bad value, per kind */
	const char *where[3];
	const char *key[3];
};

static const struct reader readers[] = {
	{ "agent",
	  agent_reader,
	  1,
	  true,
	  { ":1:12: ", ":3:8: ", ":5:20: " },
	  { "bpf_stats", "detector.for", "correlator.spool_max_bytes" } },
	{ "chaos",
	  chaos_reader,
	  1,
	  false,
	  { ":2:12: ", ":3:17: ", NULL },
	  { "chaos.enabled", "chaos.max_duration", NULL } },
	{ "litmus",
	  litmus_reader,
	  1,
	  false,
	  { ":16:30: ", ":15:29: ", NULL },
	  { "stopOnFailure", "probeTimeout", NULL } },
	{ "correlator",
	  correlator_reader,
	  MS,
	  true,
	  { ":5:67: ", ":2:15: ", ":7:19: " },
	  { "send_resolved", "route.group_wait", "seismo.max_body_bytes" } },
	{ "runbooks",
	  runbooks_reader,
	  MS,
	  true,
	  { ":9:15: ", ":10:20: ", ":6:21: " },
	  { "dry_run", "approval_ttl", "actions.max_output_bytes" } },
};

#define N_READERS (sizeof(readers) / sizeof(readers[0]))

static void expect_refused(const struct reader *r, enum kind kind, const char *value)
{
	struct outcome o = { .ok = false };
	char file[256], where[300];

	r->read(kind, value, &o, file);
	if (o.ok)
		fail_msg("%s accepted '%s'", r->name, value);
	snprintf(where, sizeof(where), "%s%s", file, r->where[kind]);
	if (!strstr(o.error, where) || !strstr(o.error, r->key[kind]))
		fail_msg("%s: '%s' refused with \"%s\": want \"%s\" and the key %s", r->name, value,
			 o.error, where, r->key[kind]);
}

static void every_reader_reads_booleans_alike(void **state)
{
	static const char *const good[] = { "true",  "True",  "yes", "on",  "ON", "y", "1",
					    "false", "FALSE", "no",  "off", "N",  "0" };
	static const char *const bad[] = { "maybe", "2", "tru", "'yes please'" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		bool want;

		assert_int_equal(grammar_bool(good[i], &want), 0);
		for (size_t r = 0; r < N_READERS; r++) {
			struct outcome o = { .ok = false };
			char file[256];

			readers[r].read(BOOL, good[i], &o, file);
			if (!o.ok || o.b != want)
				fail_msg("%s read '%s' as %s (%s)", readers[r].name, good[i],
					 o.ok ? (o.b ? "true" : "false") : "an error", o.error);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (size_t r = 0; r < N_READERS; r++)
			expect_refused(&readers[r], BOOL, bad[i]);
}

static void every_reader_reads_durations_alike(void **state)
{
	static const char *const good[] = { "250ms", "10s", "5m",  "1h",     "1h30m", "1.5h",
					    "2d",    "1w",  "90s", "1500ms", "2m30s" };
	static const char *const bad[] = { "soon", "5x", "-1s", "5 s", "1e3ms", "5S" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t want;

		assert_int_equal(grammar_duration(good[i], 0, &want), 0);
		for (size_t r = 0; r < N_READERS; r++) {
			struct outcome o = { .ok = false };
			char file[256];
			int64_t expect = want / readers[r].resolution_ns * readers[r].resolution_ns;

			readers[r].read(DURATION, good[i], &o, file);
			if (!o.ok || o.ns != expect)
				fail_msg("%s read '%s' as %lld ns, want %lld (%s)", readers[r].name,
					 good[i], (long long)o.ns, (long long)expect, o.error);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (size_t r = 0; r < N_READERS; r++)
			expect_refused(&readers[r], DURATION, bad[i]);
	/* A bare number: refused where a unit is required... */
	expect_refused(&readers[0], DURATION, "10");
	expect_refused(&readers[3], DURATION, "10");
	expect_refused(&readers[4], DURATION, "10");
	/* ...and seconds where the key took bare numbers before the grammar was
	 * shared (chaos.max_duration; Litmus' probeTimeout is Litmus' own). */
	for (size_t r = 1; r <= 2; r++) {
		struct outcome o = { .ok = false };
		char file[256];

		readers[r].read(DURATION, "10", &o, file);
		if (!o.ok || o.ns != 10 * S)
			fail_msg("%s read a bare 10 as %lld ns", readers[r].name, (long long)o.ns);
	}
}

static void every_reader_reads_sizes_alike(void **state)
{
	static const char *const good[] = { "65536",  "64KiB", "64kib", "64Ki", "1MiB",
					    "1.5MiB", "10kB",  "8MB",	"4096B" };
	static const char *const bad[] = { "64K", "lots", "1.5", "-1", "64 KiB" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t want;

		assert_int_equal(grammar_size(good[i], &want), 0);
		for (size_t r = 0; r < N_READERS; r++) {
			struct outcome o = { .ok = false };
			char file[256];

			if (!readers[r].has_size)
				continue;
			readers[r].read(SIZE, good[i], &o, file);
			if (!o.ok || o.bytes != want)
				fail_msg("%s read '%s' as %llu bytes, want %llu (%s)",
					 readers[r].name, good[i], (unsigned long long)o.bytes,
					 (unsigned long long)want, o.error);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (size_t r = 0; r < N_READERS; r++)
			if (readers[r].has_size)
				expect_refused(&readers[r], SIZE, bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(booleans),
		cmocka_unit_test(durations),
		cmocka_unit_test(sizes),
		cmocka_unit_test(every_reader_reads_booleans_alike),
		cmocka_unit_test(every_reader_reads_durations_alike),
		cmocka_unit_test(every_reader_reads_sizes_alike),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
