/* Process-kill chaos (the seed's pod-delete on a node): every interval, a
 * percentage of a cgroup's or service's processes get SIGTERM, or SIGKILL
 * with force. */
#ifndef SEISMO_CHAOS_KILL_H
#define SEISMO_CHAOS_KILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chaos_spec.h"

struct chaos_kill_spec {
	char name[CHAOS_NAME_MAX];
	char target[CHAOS_PATH_MAX]; /* cgroup path or NAME.service */
	double percent;		     /* of the processes present at each tick */
	uint64_t interval_ns;
	uint64_t duration_ns;
	bool force; /* SIGKILL instead of SIGTERM */
	bool dry_run;
	/* results */
	unsigned ticks;
	unsigned killed;
};

/* Defaults: 50 %, every 10 s for 60 s, SIGTERM (Litmus pod-delete's). */
void chaos_kill_spec_init(struct chaos_kill_spec *spec);

/* Applies TOTAL_CHAOS_DURATION, CHAOS_INTERVAL, FORCE, PODS_AFFECTED_PERC.
 * 0, -EINVAL (logged), or 1 for a name that is not one of them. */
int chaos_kill_apply_litmus_env(struct chaos_kill_spec *spec, const char *name, const char *value);

/* How many of `count` processes one tick kills: the percentage rounded up,
 * at least one when percent > 0 and there is any process. */
size_t chaos_kill_victim_count(size_t count, double percent);

/* Picks `want` distinct entries of pids[0..count) to the front, uniformly
 * (partial Fisher-Yates with rand_r(seed)). */
void chaos_kill_choose(pid_t *pids, size_t count, size_t want, unsigned *seed);

/* Resolves the target; refuses the cgroup2 root and seismo's own cgroup. */
int chaos_kill_validate(const struct chaos_kill_spec *spec, double max_duration_s);

/* One tick: lists the target's processes now and signals a share of
 * them; prints one line per victim to out. Returns killed or -errno. */
int chaos_kill_tick(struct chaos_kill_spec *spec, unsigned *seed, FILE *out);

#endif
