/* The table from an experiment's kind to its operations. */
#include "chaos_kind.h"

static const struct chaos_kind *const kinds[] = {
	[CHAOS_EXPERIMENT_DELAY] = &chaos_kind_delay,
	[CHAOS_EXPERIMENT_KILL] = &chaos_kind_kill,
};

const struct chaos_kind *chaos_kind_of(const struct chaos_experiment *exp)
{
	return kinds[exp->kind];
}
