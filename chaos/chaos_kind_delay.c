/* Network delay, jitter and loss (chaos_delay.c) as an experiment kind. */
#include <errno.h>

#include "chaos_delay.h"
#include "chaos_kind.h"
#include "chaos_maps.h"
#include "chaos_qdisc.h"
#include "log.h"

static const char *delay_name(const struct chaos_experiment *exp)
{
	return exp->delay.name;
}

static bool delay_dry_run(const struct chaos_experiment *exp)
{
	return exp->delay.dry_run;
}

static int delay_validate(const struct chaos_experiment *exp, const struct chaos_limits *limits)
{
	char why[512];
	int err = chaos_delay_validate(&exp->delay, limits);

	/* fq is kernel-wide: refuse before any probe runs or anything
	 * is touched (start checks again in the target namespace) */
	if (!err && !exp->delay.dry_run && chaos_qdisc_probe_fq(why, sizeof(why))) {
		log_error("chaos: %s", why);
		err = -EOPNOTSUPP;
	}
	return err;
}

static void delay_print_plan(struct chaos_experiment *exp, FILE *out)
{
	chaos_delay_print_plan(&exp->delay, out);
}

static int delay_apply_litmus_env(struct chaos_experiment *exp, const char *name, const char *value)
{
	return chaos_spec_apply_litmus_env(&exp->delay, name, value);
}

static int delay_start(struct chaos_experiment *exp, uint64_t *end_ns)
{
	return chaos_delay_start(&exp->delay, end_ns);
}

static bool delay_still_active(const struct chaos_experiment *exp)
{
	return chaos_delay_is_active(exp->delay.name);
}

/* False when someone ran `seismo chaos stop` already: nothing to undo. */
static int delay_still_pinned(const char *name)
{
	struct chaos_maps maps;

	if (chaos_maps_open_pinned(name, &maps))
		return 0;
	chaos_maps_close(&maps);
	return 1;
}

static int delay_rollback(struct chaos_experiment *exp)
{
	if (delay_still_pinned(exp->delay.name) && chaos_delay_stop(exp->delay.name))
		return -EIO;
	return 0;
}

static json_t *delay_report(const struct chaos_experiment *exp)
{
	return json_pack("{s:s, s:s, s:f, s:f, s:s, s:f, s:f}", "type", "delay", "device",
			 exp->delay.ifname, "latency_ms", exp->delay.latency_ns / 1e6, "jitter_ms",
			 exp->delay.jitter_ns / 1e6, "distribution",
			 chaos_dist_name(exp->delay.dist), "loss_percent", exp->delay.loss_percent,
			 "duration_s", exp->delay.duration_ns / 1e9);
}

const struct chaos_kind chaos_kind_delay = {
	.type = "delay",
	.name = delay_name,
	.dry_run = delay_dry_run,
	.validate = delay_validate,
	.print_plan = delay_print_plan,
	.apply_litmus_env = delay_apply_litmus_env,
	.start = delay_start,
	.still_active = delay_still_active,
	.rollback = delay_rollback,
	.report = delay_report,
};
