/* Baselines across restarts: where and how often (the format is state.c's). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "state.h"
#include "state_keeper.h"

void state_keeper_open(struct state_keeper *k, const char *state_dir, struct detector *det,
		       double now)
{
	k->path[0] = 0;
	if (mkdir(state_dir, 0750) && errno != EEXIST) {
		log_warn("cannot create state_dir %s: %s; baselines will not survive a restart",
			 state_dir, strerror(errno));
		return;
	}
	snprintf(k->path, sizeof(k->path), "%s/baselines.state", state_dir);
	state_load(det, k->path); /* logs what it restored or set aside */
	k->saved_at = now;
}

void state_keeper_save(struct state_keeper *k, const struct detector *det, double now, bool force)
{
	if (!k->path[0] || !det)
		return;
	if (!force && now - k->saved_at < STATE_SAVE_EVERY_S)
		return;
	k->saved_at = now;
	state_save(det, k->path);
}
