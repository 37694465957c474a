/* Process kill (chaos_kill.c) as an experiment kind: signals on a schedule,
 * nothing to undo. */
#include <errno.h>

#include "chaos_kind.h"
#include "chaos_kill.h"
#include "chaos_maps.h"
#include "log.h"

static const char *kill_name(const struct chaos_experiment *exp)
{
	return exp->kill.name;
}

static bool kill_dry_run(const struct chaos_experiment *exp)
{
	return exp->kill.dry_run;
}

static int kill_validate(const struct chaos_experiment *exp, const struct chaos_limits *limits)
{
	if (!limits->enabled) {
		log_error("chaos: disabled on this node (chaos.enabled: false in %s)",
			  limits->source);
		return -EPERM;
	}
	return chaos_kill_validate(&exp->kill, limits->max_duration_ns / 1e9);
}

static void kill_print_plan(struct chaos_experiment *exp, FILE *out)
{
	unsigned seed = 1;

	fprintf(out, "plan for experiment '%s' (dry run: no signal is sent)\n", exp->kill.name);
	fprintf(out, "  every %.1f s for %.1f s: %s to %.0f %% of the processes in %s\n",
		exp->kill.interval_ns / 1e9, exp->kill.duration_ns / 1e9,
		exp->kill.force ? "SIGKILL" : "SIGTERM", exp->kill.percent, exp->kill.target);
	fprintf(out, "  the first tick would pick:\n");
	chaos_kill_tick(&exp->kill, &seed, out);
}

static int kill_apply_litmus_env(struct chaos_experiment *exp, const char *name, const char *value)
{
	return chaos_kill_apply_litmus_env(&exp->kill, name, value);
}

static int kill_start(struct chaos_experiment *exp, uint64_t *end_ns)
{
	*end_ns = chaos_now_ns() + exp->kill.duration_ns;
	return 0;
}

static uint64_t kill_tick(struct chaos_experiment *exp, unsigned *seed, FILE *out)
{
	chaos_kill_tick(&exp->kill, seed, out);
	return exp->kill.interval_ns;
}

static void kill_progress(const struct chaos_experiment *exp, FILE *out)
{
	fprintf(out, ", %u killed", exp->kill.killed);
}

static json_t *kill_report(const struct chaos_experiment *exp)
{
	return json_pack("{s:s, s:s, s:f, s:f, s:f, s:b, s:i, s:i}", "type", "kill", "target",
			 exp->kill.target, "percent", exp->kill.percent, "interval_s",
			 exp->kill.interval_ns / 1e9, "duration_s", exp->kill.duration_ns / 1e9,
			 "force", exp->kill.force, "ticks", (json_int_t)exp->kill.ticks, "killed",
			 (json_int_t)exp->kill.killed);
}

const struct chaos_kind chaos_kind_kill = {
	.type = "kill",
	.name = kill_name,
	.dry_run = kill_dry_run,
	.validate = kill_validate,
	.print_plan = kill_print_plan,
	.apply_litmus_env = kill_apply_litmus_env,
	.start = kill_start,
	.tick = kill_tick,
	.progress = kill_progress,
	.report = kill_report,
};
