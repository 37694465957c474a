/* A network delay experiment's life: check, plan, start (fq + tc program,
 * everything pinned first so any process can undo it), stop, list. */
#ifndef SEISMO_CHAOS_DELAY_H
#define SEISMO_CHAOS_DELAY_H

#include <stdio.h>

#include "chaos_config.h"
#include "chaos_maps.h"
#include "chaos_spec.h"

/* Refuses what the node's limits forbid or the values make meaningless;
 * logs why. Touches nothing. */
int chaos_delay_validate(const struct chaos_delay_spec *spec, const struct chaos_limits *limits);

/* The largest jitter multiple a distribution's table (or uniform) produces,
 * so limits apply to the worst delay rather than the average one. */
double chaos_delay_jitter_max_units(enum chaos_jitter_dist dist);
/* Letters, digits, '-', '_', '.', not starting with '.': a pin directory name. */
int chaos_delay_name_is_valid(const char *name);

/* The largest delay the spec can give a packet: latency plus the largest
 * jitter its distribution produces (limits and fq sizing use this). */
uint64_t chaos_delay_worst_ns(const struct chaos_delay_spec *spec);

/* Prints what start would do, without doing it. */
void chaos_delay_print_plan(const struct chaos_delay_spec *spec, FILE *out);

/* Starts the experiment. On success the kernel runs it until end_ns with
 * or without us; *end_ns gets that end. On failure nothing is left behind. */
int chaos_delay_start(const struct chaos_delay_spec *spec, uint64_t *end_ns);

/* Ends experiment `name` now: the program passes everything at once, then
 * the filter, fq and pins go and the previous qdisc comes back. */
int chaos_delay_stop(const char *name);

/* Stops every pinned experiment; returns the number that failed. */
int chaos_delay_stop_all(void);

/* Cleans up only experiments that are past their end and whose process is
 * gone (killed with SIGKILL, OOM): for a timer or the agent to call. */
int chaos_delay_stop_orphans(void);

/* One line per pinned experiment (or JSON lines with as_json). */
int chaos_delay_list(FILE *out, int as_json);

/* Whether experiment `name` is still pinned and not past its end. */
int chaos_delay_is_active(const char *name);

/* Undoes what a saved state says start did (filter, fq, previous qdisc);
 * must run inside the experiment's network namespace. For start's failure
 * path (chaos_delay.c) and stop (chaos_delay_stop.c). */
int chaos_delay_rollback_in_netns(const struct chaos_state *state);

#endif
