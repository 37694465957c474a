/*
 * What differs between kinds of experiment, as one table of operations per
 * kind (network delay/jitter/loss in chaos_kind_delay.c, process kill in
 * chaos_kind_kill.c). The runner (chaos_run.c) and the CLI call these and
 * never look at exp->kind themselves: a new kind is a new file and one line
 * in chaos_kind.c's table.
 */
#ifndef SEISMO_CHAOS_KIND_H
#define SEISMO_CHAOS_KIND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "chaos_config.h"
#include "chaos_experiment.h"

struct chaos_kind {
	const char *type; /* the report's chaos.type: "delay", "kill" */
	const char *(*name)(const struct chaos_experiment *exp);
	bool (*dry_run)(const struct chaos_experiment *exp);
	/* Refuses what the node's limits or the kernel forbid; logs why. Touches nothing. */
	int (*validate)(const struct chaos_experiment *exp, const struct chaos_limits *limits);
	/* What start would do (dry run). */
	void (*print_plan)(struct chaos_experiment *exp, FILE *out);
	/* A Litmus environment variable: 0, -EINVAL (logged), 1 when not one of this kind's. */
	int (*apply_litmus_env)(struct chaos_experiment *exp, const char *name, const char *value);
	/* Chaos takes effect until *end_ns (CLOCK_MONOTONIC); 0 or -errno, nothing left on failure. */
	int (*start)(struct chaos_experiment *exp, uint64_t *end_ns);
	/* NULL: always. False when it was ended from outside (`seismo chaos stop`). */
	bool (*still_active)(const struct chaos_experiment *exp);
	/* NULL: nothing to do while it runs. Else one step (a kill tick); returns
	 * the nanoseconds until the next one. */
	uint64_t (*tick)(struct chaos_experiment *exp, unsigned *seed, FILE *out);
	/* NULL: nothing. Appends to the progress line (", 3 killed"). */
	void (*progress)(const struct chaos_experiment *exp, FILE *out);
	/* NULL: nothing to undo. Else undoes it now; 0 or -errno. */
	int (*rollback)(struct chaos_experiment *exp);
	/* The report's "chaos" object. */
	json_t *(*report)(const struct chaos_experiment *exp);
};

extern const struct chaos_kind chaos_kind_delay;
extern const struct chaos_kind chaos_kind_kill;

/* The operations of exp's kind. */
const struct chaos_kind *chaos_kind_of(const struct chaos_experiment *exp);

#endif
