/* Running one experiment end to end: probes before, chaos with a live
 * countdown, rollback at the end, on a signal or on a failing
 * stop-on-failure probe, probes after, the verdict printed and as JSON. */
#ifndef SEISMO_CHAOS_RUN_H
#define SEISMO_CHAOS_RUN_H

#include <stdio.h>

#include "chaos_config.h"
#include "chaos_kill.h"
#include "chaos_probe.h"
#include "chaos_spec.h"

#define CHAOS_MAX_PROBES 16
#define CHAOS_DEFAULT_REPORT_DIR "/var/lib/seismo/chaos"

enum chaos_experiment_kind {
	CHAOS_EXPERIMENT_DELAY,
	CHAOS_EXPERIMENT_KILL,
};

struct chaos_experiment {
	enum chaos_experiment_kind kind;
	struct chaos_delay_spec delay;
	struct chaos_kill_spec kill;
	struct chaos_probe probes[CHAOS_MAX_PROBES];
	size_t probe_count;
	char report_path[CHAOS_PATH_MAX]; /* "" = default dir, "-" = none */
	/* outcome */
	char verdict[16];      /* Pass, Fail, Stopped, Error */
	char abort_reason[256];
	double probe_success_percent;
};

const char *chaos_experiment_name(const struct chaos_experiment *exp);

/* Runs it; returns 0 for Pass, 1 for Fail or Stopped, 2 when it could not
 * run at all (bad spec, refused, setup error). Dry runs print the plan. */
int chaos_run(struct chaos_experiment *exp, const struct chaos_limits *limits);

/* Writes the verdict JSON to path (used by chaos_run, exposed for tests). */
int chaos_run_write_report(const struct chaos_experiment *exp, const char *path);

#endif
