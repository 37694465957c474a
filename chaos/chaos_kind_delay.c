/* Network delay, jitter and loss (chaos_delay.c) as an experiment kind. */
#include <errno.h>
#include <stdbool.h>
#include <time.h>

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

/*
 * How long the runner waits for another process' `seismo chaos stop` to
 * finish its rollback (it drains the delayed packets first: at most the
 * latency plus the jitter, seconds at the limits) before rolling back
 * itself, in case that process died half-way.
 */
#define OUTSIDE_STOP_WAIT_S 30
#define OUTSIDE_STOP_POLL_NS 50000000L

/* False when someone ran `seismo chaos stop` already: nothing to undo. */
static int delay_still_pinned(const char *name)
{
	struct chaos_maps maps;

	if (chaos_maps_open_pinned(name, &maps))
		return 0;
	chaos_maps_close(&maps);
	return 1;
}

/*
 * True while another process' `seismo chaos stop` is rolling the experiment
 * back: its first step, the kill switch, sets the end to 0, and its last
 * removes the pins.
 */
static bool stop_in_progress(const char *name)
{
	struct chaos_config cfg;
	struct chaos_maps maps;
	bool stopping;

	if (chaos_maps_open_pinned(name, &maps))
		return false;
	stopping = !chaos_maps_read_config(&maps, &cfg) && cfg.end_ns == 0;
	chaos_maps_close(&maps);
	return stopping;
}

/*
 * Waits for an outside stop to finish instead of racing it over the same
 * qdiscs (two rollbacks at once failed with "Parent Qdisc doesn't exist"
 * and left the pins behind). Returns whether the experiment is gone.
 */
static bool outside_stop_finished(const char *name)
{
	struct timespec poll = { .tv_sec = 0, .tv_nsec = OUTSIDE_STOP_POLL_NS };

	for (long waited = 0; stop_in_progress(name) && waited < OUTSIDE_STOP_WAIT_S * 1000000000L;
	     waited += OUTSIDE_STOP_POLL_NS)
		nanosleep(&poll, NULL);
	return !delay_still_pinned(name);
}

static int delay_rollback(struct chaos_experiment *exp)
{
	if (!delay_still_pinned(exp->delay.name) || outside_stop_finished(exp->delay.name))
		return 0;
	if (chaos_delay_stop(exp->delay.name))
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
