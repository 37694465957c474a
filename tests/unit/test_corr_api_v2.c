/*
 * API v2 helpers: Alertmanager's alert order (types.AlertSlice: job, then
 * instance, then model.LabelSet.Before), the zero time amtool sends for an
 * unset start or end, and the config that /api/v2/status serves (the
 * seismo: section dropped, secrets hidden, everything else as written).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../correlator/alert.h"
#include "../../correlator/api_v2.h"

static void set(struct corr_alert *a, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;

	memset(a, 0, sizeof(*a));
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		*eq = 0;
		assert_int_equal(corr_labels_set(&a->labels, kv, eq + 1), 0);
	}
	free(copy);
}

static int cmp(const char *x, const char *y)
{
	struct corr_alert a, b;

	set(&a, x);
	set(&b, y);
	int c = corr_alert_compare(&a, &b);
	corr_alert_free(&a);
	corr_alert_free(&b);
	return c < 0 ? -1 : c > 0;
}

static void alert_order_is_alertmanagers(void **state)
{
	(void)state;
	/* job first, then instance; having the label comes before lacking it */
	assert_int_equal(cmp("job=a,z=9", "job=b,a=1"), -1);
	assert_int_equal(cmp("job=a,instance=b:1", "job=a,instance=a:1"), 1);
	assert_int_equal(cmp("job=a", "x=1"), -1);
	assert_int_equal(cmp("x=1", "instance=i"), 1);
	/* fewer labels first */
	assert_int_equal(cmp("a=1,b=2", "a=1"), 1);
	/* the set lacking the first name of the union comes first */
	assert_int_equal(cmp("a=1,c=1", "b=1,c=1"), 1);
	assert_int_equal(cmp("b=1,c=1", "a=1,c=1"), -1);
	/* then values */
	assert_int_equal(cmp("a=1,b=2", "a=1,b=3"), -1);
	assert_int_equal(cmp("a=1,b=2", "a=1,b=2"), 0);
}

static void zero_time_is_unset(void **state)
{
	json_error_t jerr;
	json_t *o = json_loads("{\"labels\":{\"alertname\":\"X\"},"
			       "\"startsAt\":\"0001-01-01T00:00:00.000Z\","
			       "\"endsAt\":\"0001-01-01T00:00:00Z\"}",
			       0, &jerr);
	struct corr_alert a;
	char err[128];

	(void)state;
	assert_non_null(o);
	assert_int_equal(corr_alert_from_api_json(&a, o, 1000000, 300000, "[0]", err, sizeof(err)),
			 0);
	assert_int_equal(a.starts_at_ms, 1000000);
	assert_int_equal(a.ends_at_ms, 1300000);
	assert_true(a.timeout);
	corr_alert_free(&a);
	json_decref(o);
}

static void served_config_drops_seismo_and_secrets(void **state)
{
	static const char in[] = "global:\n"
				 "  slack_api_url: https://hooks.example/T0/B0/xyz\n"
				 "seismo:\n"
				 "  token_file: /etc/seismo/token\n"
				 "  # a comment inside\n"
				 "\n"
				 "  store:\n"
				 "    url: postgres://u:pw@db/seismo\n"
				 "route:\n"
				 "  receiver: pd # the pager\n"
				 "receivers:\n"
				 "  - name: pd\n"
				 "    pagerduty_configs:\n"
				 "      - routing_key: abc123\n"
				 "  - name: slack\n"
				 "    slack_configs:\n"
				 "      - api_url: https://hooks.example/x\n"
				 "        channel: '#ops'\n";
	char *out = corr_api_v2_original_config(in);

	(void)state;
	assert_non_null(out);
	assert_null(strstr(out, "seismo:"));
	assert_null(strstr(out, "token_file"));
	assert_null(strstr(out, "pw@db"));
	assert_null(strstr(out, "abc123"));
	assert_null(strstr(out, "T0/B0"));
	assert_null(strstr(out, "hooks.example/x"));
	assert_non_null(strstr(out, "      - routing_key: <secret>\n"));
	assert_non_null(strstr(out, "route:\n  receiver: pd # the pager\n"));
	assert_non_null(strstr(out, "        channel: '#ops'\n"));
	assert_non_null(strstr(out, "global:\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alert_order_is_alertmanagers),
		cmocka_unit_test(zero_time_is_unset),
		cmocka_unit_test(served_config_drops_seismo_and_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
