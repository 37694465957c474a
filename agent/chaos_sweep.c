/* Removing what orphaned chaos experiments left behind, from the agent loop. */
#include "chaos_delay.h"
#include "chaos_sweep.h"

void chaos_sweep_tick(struct chaos_sweep *s, double now)
{
	if (s->swept_at && now - s->swept_at < CHAOS_SWEEP_EVERY_S)
		return;
	s->swept_at = now;
	chaos_delay_stop_orphans();
}
