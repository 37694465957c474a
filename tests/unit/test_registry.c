/* The registry (agent/registry.c): per-interval summaries and quantiles
 * from fine histogram deltas, and Prometheus counters that never go down,
 * even when one of two series merged under one label set expires (a
 * container restarted in the same pod: new cgroup, same labels). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/series/registry.h"

/* Every cgroup is the same service: "web". */
static void resolve_web(void *ctx, const struct seismo_hist_key *key, struct service_identity *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "web");
}

static void forget_nothing(void *ctx, const struct seismo_hist_key *key)
{
	int *forgotten = ctx;

	(*forgotten)++;
}

static struct seismo_hist *delta_of(uint64_t n, uint64_t ns_each)
{
	struct seismo_hist *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->count = n;
	d->sum_ns = n * ns_each;
	d->buckets[seismo_hist_bucket(ns_each)] = (uint32_t)n;
	return d;
}

/* The value of the http_requests_total sample for web (GET 200). */
static unsigned long long requests_total(struct registry *r)
{
	char *text = NULL, *line;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	unsigned long long v = 0;

	assert_non_null(out);
	registry_write_metrics(r, out);
	fclose(out);
	line = strstr(text, "\nhttp_requests_total{service=\"web\"");
	assert_non_null(line);
	line = strchr(line + 1, '}');
	assert_non_null(line);
	v = strtoull(line + 1, NULL, 10);
	free(text);
	return v;
}

static void test_merged_counter_survives_expiry(void **state)
{
	struct config cfg;
	struct seismo_hist_key old = { .cgroup_id = 1,
				       .role = SEISMO_ROLE_SERVER,
				       .local_port = 80,
				       .method = SEISMO_METHOD_GET,
				       .status = 200 };
	struct seismo_hist_key fresh = old;
	struct seismo_hist *d1 = delta_of(100, 2000000), *d2 = delta_of(30, 2000000);
	const struct summary *sums;
	int forgotten = 0;

	config_defaults(&cfg);
	fresh.cgroup_id = 2;
	struct registry *r = registry_new(&cfg, resolve_web, NULL);
	assert_non_null(r);
	registry_add(r, &old, d1, 0);
	registry_add(r, &fresh, d2, 100);
	registry_end_interval(r, &sums);
	assert_int_equal(requests_total(r), 130);
	/* The old cgroup is gone for longer than the TTL; the new one lives. */
	registry_expire(r, 200, 150, forget_nothing, &forgotten);
	assert_int_equal(forgotten, 1);
	assert_int_equal(registry_series_count(r), 1);
	assert_int_equal(requests_total(r), 130);
	registry_add(r, &fresh, d2, 210);
	assert_int_equal(requests_total(r), 160);
	registry_free(r);
	free(d1);
	free(d2);
}

static void test_quantiles_from_the_buckets(void **state)
{
	struct config cfg;
	struct seismo_hist_key key = { .cgroup_id = 1,
				       .role = SEISMO_ROLE_SERVER,
				       .local_port = 80 };
	struct seismo_hist *fast = delta_of(90, 1000000), *slow = delta_of(10, 50000000);
	const struct summary *sums;
	int n;

	config_defaults(&cfg);
	struct registry *r = registry_new(&cfg, resolve_web, NULL);
	registry_add(r, &key, fast, 0);
	registry_add(r, &key, slow, 0);
	/* A read that fell between the kernel's count and bucket updates: one
	 * more request counted than bucketed must not throw the quantiles. */
	fast->buckets[seismo_hist_bucket(1000000)] = 0;
	fast->count = 1;
	fast->sum_ns = 1000000;
	registry_add(r, &key, fast, 0);
	n = registry_end_interval(r, &sums);
	assert_int_equal(n, 1);
	assert_int_equal(sums[0].requests, 101);
	assert_true(fabs(sums[0].p50 - 0.001) / 0.001 < 0.02);
	assert_true(fabs(sums[0].p99 - 0.050) / 0.050 < 0.02);
	/* An idle interval still has a summary, with no quantiles. */
	n = registry_end_interval(r, &sums);
	assert_int_equal(n, 1);
	assert_int_equal(sums[0].requests, 0);
	assert_true(isnan(sums[0].p50));
	registry_free(r);
	free(fast);
	free(slow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merged_counter_survives_expiry),
		cmocka_unit_test(test_quantiles_from_the_buckets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
