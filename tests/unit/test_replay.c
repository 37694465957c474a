/* seismo replay: CSV parsing, NAB layout, errors that name the line, settings. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/commands.h"
#include "../../agent/replay.h"

/* Runs replay_stream over text; returns its result, output and stderr in the buffers. */
static int replay_text(const char *text, const struct replay_windows *w, char *out, size_t outlen,
		       char *err, size_t errlen)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	FILE *o = fmemopen(out, outlen, "w");
	FILE *e = tmpfile();
	struct detector_config c;
	int saved = dup(STDERR_FILENO), rc;
	size_t n;

	assert_non_null(in);
	assert_non_null(o);
	assert_non_null(e);
	replay_config_default(&c);
	fflush(stderr);
	dup2(fileno(e), STDERR_FILENO);
	rc = replay_stream(in, "series.csv", o, &c, w, REPLAY_EVENTS);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fclose(o);
	fclose(in);
	rewind(e);
	n = fread(err, 1, errlen - 1, e);
	err[n] = '\0';
	fclose(e);
	return rc;
}

static void test_parse_time(void **state)
{
	double t;

	assert_int_equal(replay_parse_time("2014-04-10 07:15:00", &t), 0);
	assert_float_equal(t, 1397114100, 1e-6);
	assert_int_equal(replay_parse_time("2014-04-10 07:15:00.500000", &t), 0);
	assert_float_equal(t, 1397114100.5, 1e-6);
	assert_int_equal(replay_parse_time("2014-04-10T07:15:00Z", &t), 0);
	assert_float_equal(t, 1397114100, 1e-6);
	assert_int_equal(replay_parse_time("1397114100", &t), 0);
	assert_float_equal(t, 1397114100, 1e-6);
	assert_int_equal(replay_parse_time("2014-04-10 07:15", &t), -1);
	assert_int_equal(replay_parse_time("yesterday", &t), -1);
	assert_int_equal(replay_parse_time("2014-04-10 07:15:00 junk", &t), -1);
}

#define SERIES_START 1397114100
#define SERIES_ROWS 600

/* "timestamp,value" and SERIES_ROWS rows 5 minutes apart, value(i) on row i. */
static void series_csv(char *text, size_t size, double (*value)(int i))
{
	size_t off = snprintf(text, size, "timestamp,value\n");

	for (int i = 0; i < SERIES_ROWS; i++) {
		time_t t = SERIES_START + 300 * i;
		struct tm tm;
		char stamp[32];

		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		off += snprintf(text + off, size - off, "%s,%g\n", stamp, value(i));
	}
}

/* The anomaly score of a results row "timestamp,value,anomaly_score,label"; *label its label. */
static double row_score(char *line, char *label)
{
	char *p = strrchr(line, ',');

	*label = p[1];
	*p = '\0';
	return atof(strrchr(line, ',') + 1);
}

/* A flat noisy series with a level shift at row 505. */
static double shift_at_505(int i)
{
	return (i >= 505 ? 60 : 20) + (i * 7919 % 13) / 13.0;
}

static void test_layout_and_labels(void **state)
{
	char text[65536], out[1 << 18], err[1024], label;
	double window[1][2] = { { SERIES_START + 300 * 500, SERIES_START + 300 * 510 } };
	struct replay_windows w = { .count = 1, .range = window };
	int rows = 0, labelled = 0, fired = 0;
	char *line, *save;

	series_csv(text, sizeof(text), shift_at_505);
	assert_int_equal(replay_text(text, &w, out, sizeof(out), err, sizeof(err)), 0);
	line = strtok_r(out, "\n", &save);
	assert_string_equal(line, "timestamp,value,anomaly_score,label");
	while ((line = strtok_r(NULL, "\n", &save))) {
		double score = row_score(line, &label);

		rows++;
		labelled += label == '1';
		assert_true(score >= 0 && score < 1);
		if (score > 0) {
			fired++;
			assert_int_equal(rows, 506); /* fires at the shift itself, once */
		}
	}
	assert_int_equal(rows, 600);
	assert_int_equal(labelled, 11);
	assert_int_equal(fired, 1);
}

/* A small rise at row 505 (a warning), a far larger one at 508 (critical). */
static double rise_then_jump(int i)
{
	double v = 20 + (i * 7919 % 13) / 13.0;

	if (i >= 505)
		v += i >= 508 ? 40 : 1.2;
	return v;
}

/*
 * Events mode scores what the agent sends: the row where an anomaly fires
 * as a warning, and the row where it escalates to critical (once), with
 * the higher surprise; nothing else.
 */
static void test_escalation_is_scored(void **state)
{
	char text[65536], out[1 << 18], err[1024], label;
	double scores[2];
	int rows = 0, scored = 0;
	char *line, *save;

	series_csv(text, sizeof(text), rise_then_jump);
	assert_int_equal(replay_text(text, NULL, out, sizeof(out), err, sizeof(err)), 0);
	line = strtok_r(out, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save))) {
		double score = row_score(line, &label);

		rows++;
		if (score > 0) {
			assert_true(scored < 2);
			scores[scored++] = score;
			assert_int_equal(rows, scored == 1 ? 506 : 509);
		}
	}
	assert_int_equal(scored, 2);
	/* surprise / (surprise + 10): below and above the critical surprise of 8 */
	assert_true(scores[0] < 8.0 / 18);
	assert_true(scores[1] >= 8.0 / 18);
}

static void check_error(const char *text, const char *expect)
{
	char out[4096], err[1024];

	assert_int_equal(replay_text(text, NULL, out, sizeof(out), err, sizeof(err)), -1);
	if (!strstr(err, expect))
		fail_msg("stderr \"%s\" does not contain \"%s\"", err, expect);
}

static void test_malformed_lines_are_named(void **state)
{
	check_error("", "series.csv:1:");
	check_error("time,val\n", "series.csv:1: expected the header");
	check_error("timestamp,value\n2014-04-10 07:15:00,1\n2014-04-10 07:20:00\n",
		    "series.csv:3: expected \"timestamp,value\"");
	check_error("timestamp,value\n2014-04-10 07:15:00,1\n2014-04-10 07:20:00,1,2\n",
		    "series.csv:3:");
	check_error("timestamp,value\n2014-04-10 07:15:00,abc\n",
		    "series.csv:2: bad value \"abc\"");
	check_error("timestamp,value\n2014-04-10 07:15:00,\n", "series.csv:2:");
	check_error("timestamp,value\n2014-04-10 07:15:00,1\n2014-13-45 07:15:00,1\n",
		    "series.csv:3: bad timestamp");
	check_error("timestamp,value\n2014-04-10 07:15:00,1e999\n", "series.csv:2: bad value");
}

static void test_missing_values_and_clock_steps(void **state)
{
	char out[4096], err[1024];
	const char *text = "timestamp,value\n"
			   "2014-04-10 07:15:00,1\n"
			   "2014-04-10 07:20:00,nan\n"
			   "2014-04-10 07:10:00,5\n" /* clock stepped back: not judged */
			   "2014-04-10 07:25:00,-3\n";

	assert_int_equal(replay_text(text, NULL, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, "2014-04-10 07:20:00,nan,0.000000,0\n"));
	assert_non_null(strstr(out, "2014-04-10 07:10:00,5,0.000000,0\n"));
	assert_non_null(strstr(out, "2014-04-10 07:25:00,-3,0.000000,0\n"));
}

static void test_settings(void **state)
{
	struct detector_config c;
	int saved = dup(STDERR_FILENO);
	FILE *devnull = fopen("/dev/null", "w");

	replay_config_default(&c);
	assert_int_equal(replay_set_option(&c, "warning=7.5"), 0);
	assert_float_equal(c.warning_score, 7.5, 0);
	assert_int_equal(replay_set_option(&c, "warmup_samples=12"), 0);
	assert_int_equal(c.baseline.warmup_samples, 12);
	dup2(fileno(devnull), STDERR_FILENO);
	assert_int_equal(replay_set_option(&c, "warning"), -1);
	assert_int_equal(replay_set_option(&c, "warning=abc"), -1);
	assert_int_equal(replay_set_option(&c, "warning=-1"), -1);
	assert_int_equal(replay_set_option(&c, "nonsense=1"), -1);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fclose(devnull);
	assert_float_equal(c.warning_score, 7.5, 0);
}

static void test_command_usage(void **state)
{
	char *help[] = { "replay", "--help", NULL };
	char *none[] = { "replay", NULL };
	char *missing[] = { "replay", "/nonexistent/x.csv", NULL };
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
	FILE *devnull = fopen("/dev/null", "w");

	fflush(stdout);
	dup2(fileno(devnull), STDOUT_FILENO);
	dup2(fileno(devnull), STDERR_FILENO);
	assert_int_equal(cmd_replay(2, help), 0);
	assert_int_equal(cmd_replay(1, none), 2);
	assert_int_equal(cmd_replay(2, missing), 1);
	fflush(stdout);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	fclose(devnull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_layout_and_labels),
		cmocka_unit_test(test_escalation_is_scored),
		cmocka_unit_test(test_malformed_lines_are_named),
		cmocka_unit_test(test_missing_values_and_clock_steps),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_command_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
