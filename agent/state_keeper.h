/* When the detector's state is saved: loaded once at start from
 * state_dir/baselines.state, saved every STATE_SAVE_EVERY_S and at exit.
 * The file format is judge/state.c's. */
#ifndef SEISMO_STATE_KEEPER_H
#define SEISMO_STATE_KEEPER_H

#include <stdbool.h>

#include "detector.h"

#define STATE_SAVE_EVERY_S 60.0 /* baselines written this often, and at exit */

struct state_keeper {
	char path[300];	 /* "" = not kept (state_dir unusable) */
	double saved_at; /* monotonic seconds */
};

/* Creates state_dir if needed and restores what it holds into det. now: monotonic seconds. */
void state_keeper_open(struct state_keeper *k, const char *state_dir, struct detector *det,
		       double now);
/* Saves when STATE_SAVE_EVERY_S passed since the last save, or at once with force. */
void state_keeper_save(struct state_keeper *k, const struct detector *det, double now, bool force);

#endif
