/* The state file: round trip, atomic replace, corrupt and incompatible files moved aside. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/judge/detector.h"
#include "../../agent/judge/state.h"

#define T0 1700000000.0

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/seismo-test-state-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/baselines.state", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct detector *trained_detector(void)
{
	struct detector_config c;
	struct detector *det;

	detector_config_default(&c);
	c.node = "node-1";
	det = detector_new(&c, NULL, NULL);
	assert_non_null(det);
	for (double t = T0; t < T0 + 7200; t += 10) {
		struct observation o = { .interval_s = 10,
					 .requests = 100,
					 .errors = 1,
					 .sum_seconds = 0.4,
					 .p50 = 0.003,
					 .p99 = 0.005 };

		detector_observe(det, "checkout", NULL, t, &o);
		detector_observe(det, "cart", NULL, t, &o);
		detector_observe_dependency(det, "checkout", "10.0.0.5:5432", "postgres", t, &o);
	}
	return det;
}

struct collected {
	int n;
	char names[32][80];
	struct detector_series series[32];
};

static int collect(const char *service, const char *endpoint, enum detector_metric metric,
		   const struct detector_series *s, void *user)
{
	struct collected *c = user;

	if (s->baseline.samples == 0 || c->n >= 32)
		return 0;
	snprintf(c->names[c->n], sizeof(c->names[0]), "%s|%s|%d", service, endpoint ? endpoint : "",
		 metric);
	c->series[c->n++] = *s;
	return 0;
}

static const struct detector_series *lookup(const struct collected *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->names[i], name))
			return &c->series[i];
	return NULL;
}

static int count_aside(const struct fixture *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (strstr(e->d_name, ".bad-"))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct detector *a = trained_detector(), *b;
	struct detector_config c;
	struct collected before = { 0 }, after = { 0 };

	assert_int_equal(state_save(a, f->path), 0);
	assert_int_equal(access(f->path, F_OK), 0);
	detector_config_default(&c);
	b = detector_new(&c, NULL, NULL);
	/* 2 services x 5 metrics + 1 edge */
	assert_int_equal(state_load(b, f->path), 11);
	detector_foreach_series(a, collect, &before);
	detector_foreach_series(b, collect, &after);
	assert_int_equal(before.n, after.n);
	for (int i = 0; i < before.n; i++) {
		const struct detector_series *s = lookup(&after, before.names[i]);

		assert_non_null(s);
		assert_memory_equal(s, &before.series[i], sizeof(*s));
	}
	/* The restored detector judges with the learnt baseline: its threshold is known at once. */
	assert_float_equal(detector_latency_threshold(b, "checkout"),
			   detector_latency_threshold(a, "checkout"), 1e-12);
	/* Saving again replaces the file atomically and leaves no temporary behind. */
	assert_int_equal(state_save(b, f->path), 0);
	assert_int_equal(access(f->path, F_OK), 0);
	{
		char tmp[160];

		snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
		assert_int_equal(access(tmp, F_OK), -1);
	}
	detector_free(a);
	detector_free(b);
}

static void test_missing_file_starts_fresh(void **state)
{
	struct fixture *f = *state;
	struct detector_config c;
	struct detector *det;

	detector_config_default(&c);
	det = detector_new(&c, NULL, NULL);
	assert_int_equal(state_load(det, f->path), 0);
	assert_int_equal(detector_service_count(det), 0);
	detector_free(det);
}

/* Damages the saved file with fn, then checks it is moved aside and nothing is loaded. */
static void check_rejected(struct fixture *f, void (*damage)(const char *path))
{
	struct detector *a = trained_detector(), *b;
	struct detector_config c;

	assert_int_equal(state_save(a, f->path), 0);
	damage(f->path);
	detector_config_default(&c);
	b = detector_new(&c, NULL, NULL);
	assert_int_equal(state_load(b, f->path), 0);
	assert_int_equal(detector_service_count(b), 0);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(count_aside(f), 1);
	/* And the next save works normally. */
	assert_int_equal(state_save(a, f->path), 0);
	detector_free(a);
	detector_free(b);
}

static void flip_a_byte(const char *path)
{
	FILE *fp = fopen(path, "r+b");

	assert_non_null(fp);
	fseek(fp, 4000, SEEK_SET);
	int ch = fgetc(fp);
	fseek(fp, 4000, SEEK_SET);
	fputc(ch ^ 0x40, fp);
	fclose(fp);
}

static void truncate_half(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
}

static void bump_version(const char *path)
{
	FILE *fp = fopen(path, "r+b");
	uint32_t v = STATE_VERSION + 1;

	assert_non_null(fp);
	fseek(fp, 8, SEEK_SET);
	fwrite(&v, sizeof(v), 1, fp);
	fclose(fp);
}

static void replace_with_text(const char *path)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs("{\"not\": \"a state file\"}\n", fp);
	fclose(fp);
}

static void empty_it(const char *path)
{
	assert_int_equal(truncate(path, 0), 0);
}

static void test_corrupt(void **state)
{
	check_rejected(*state, flip_a_byte);
}

static void test_truncated(void **state)
{
	check_rejected(*state, truncate_half);
}

static void test_other_version(void **state)
{
	check_rejected(*state, bump_version);
}

static void test_not_a_state_file(void **state)
{
	check_rejected(*state, replace_with_text);
}

static void test_empty(void **state)
{
	check_rejected(*state, empty_it);
}

static void test_save_failure_keeps_old_file(void **state)
{
	struct fixture *f = *state;
	struct detector *a = trained_detector();
	char bad[256];

	snprintf(bad, sizeof(bad), "%s/no-such-dir/baselines.state", f->dir);
	assert_int_equal(state_save(a, bad), -1);
	assert_int_equal(access(bad, F_OK), -1);
	detector_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_starts_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_state_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_failure_keeps_old_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
