/* HTTP probes (libcurl) judging an experiment, with Litmus's modes:
 *   SOT         once, before chaos starts
 *   EOT         once, after chaos ended
 *   Edge        once before and once after
 *   Continuous  every interval from before chaos starts until after it ends
 *   OnChaos     every interval while chaos is active */
#ifndef SEISMO_CHAOS_PROBE_H
#define SEISMO_CHAOS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAOS_PROBE_MAX_CODES 16

enum chaos_probe_mode {
	CHAOS_PROBE_SOT,
	CHAOS_PROBE_EOT,
	CHAOS_PROBE_EDGE,
	CHAOS_PROBE_CONTINUOUS,
	CHAOS_PROBE_ONCHAOS,
};

enum chaos_probe_criteria {
	CHAOS_CRITERIA_EQ,     /* status == code */
	CHAOS_CRITERIA_NE,     /* status != code */
	CHAOS_CRITERIA_ONE_OF, /* status is one of codes */
};

struct chaos_probe {
	char name[64];
	char url[512];
	enum chaos_probe_criteria criteria;
	long codes[CHAOS_PROBE_MAX_CODES];
	size_t code_count;
	uint64_t timeout_ns;
	uint64_t interval_ns;
	unsigned retries; /* extra attempts before a run counts as failed */
	enum chaos_probe_mode mode;
	bool stop_on_failure;
	/* results */
	unsigned runs;
	unsigned passed;
	unsigned failed;
	long last_status; /* 0: no response */
	char last_error[160];
};

/* Defaults: GET, status == 200, timeout 5 s, interval 2 s, 1 retry,
 * Continuous, no stop on failure. */
void chaos_probe_init(struct chaos_probe *probe);

/* "SOT", "EOT", "Edge", "Continuous", "OnChaos" (case-insensitive). */
int chaos_probe_parse_mode(const char *text);
const char *chaos_probe_mode_name(enum chaos_probe_mode mode);

/* Criteria and codes: "==" "200"; "!=" "500"; "oneOf" "[200,204]" or
 * "200,204". Logs what is wrong. */
int chaos_probe_set_criteria(struct chaos_probe *probe, const char *criteria, const char *codes);

/* The command-line form: "NAME url=URL status=200|status!=500|
 * status=200,204 mode=Continuous timeout=5s interval=1s retry=3
 * stop-on-failure", space separated. */
int chaos_probe_parse_cli(const char *text, struct chaos_probe *probe);

/* Whether status meets the probe's criteria. */
bool chaos_probe_status_ok(const struct chaos_probe *probe, long status);

/* One run: up to 1 + retries attempts; true when one of them met the
 * criteria. Reads only the probe's settings, so threads may call it while
 * others read the results; status and error describe the last attempt. */
bool chaos_probe_attempt(const struct chaos_probe *probe, long *status, char *error,
			 size_t error_len);
/* Adds a run's outcome to the probe's counters. */
void chaos_probe_record(struct chaos_probe *probe, bool ok, long status, const char *error);
/* attempt + record. */
bool chaos_probe_run(struct chaos_probe *probe);

/* curl_global_init/cleanup, once per process. */
int chaos_probe_global_init(void);
void chaos_probe_global_cleanup(void);

#endif
