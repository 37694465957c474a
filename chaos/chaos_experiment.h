/* One chaos experiment as data: its kind, the spec of that kind, its probes,
 * and its outcome. Filled by the CLI (chaos_cli.c) or a Litmus ChaosEngine
 * (chaos_litmus.c), run by chaos_run.c through its kind's operations
 * (chaos_kind.h). */
#ifndef SEISMO_CHAOS_EXPERIMENT_H
#define SEISMO_CHAOS_EXPERIMENT_H

#include <stddef.h>

#include "chaos_kill.h"
#include "chaos_probe.h"
#include "chaos_spec.h"

#define CHAOS_MAX_PROBES 16

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
	char verdict[16]; /* Pass, Fail, Stopped, Error */
	char abort_reason[256];
	double probe_success_percent;
};

#endif
