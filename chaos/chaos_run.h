/* Running one experiment end to end: probes before, chaos with a live
 * countdown, rollback at the end, on a signal or on a failing
 * stop-on-failure probe, probes after, the verdict printed and as JSON. */
#ifndef SEISMO_CHAOS_RUN_H
#define SEISMO_CHAOS_RUN_H

#include <stdio.h>

#include "chaos_config.h"
#include "chaos_experiment.h"

#define CHAOS_DEFAULT_REPORT_DIR "/var/lib/seismo/chaos"

const char *chaos_experiment_name(const struct chaos_experiment *exp);

/* Runs it; returns 0 for Pass, 1 for Fail or Stopped, 2 when it could not
 * run at all (bad spec, refused, setup error). Dry runs print the plan. */
int chaos_run(struct chaos_experiment *exp, const struct chaos_limits *limits);

/* Writes the verdict JSON to path (used by chaos_run, exposed for tests). */
int chaos_run_write_report(const struct chaos_experiment *exp, const char *path);

#endif
