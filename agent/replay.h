/* seismo replay's parts, for its tests: CSV in, NAB results out, same detector as the agent. */
#ifndef SEISMO_REPLAY_H
#define SEISMO_REPLAY_H

#include <stdbool.h>
#include <stdio.h>

#include "detector.h"

/* Labelled anomaly windows of one file, [start, end] in seconds since the epoch. */
struct replay_windows {
	size_t count;
	double (*range)[2];
};

/* What the anomaly_score column holds. */
enum replay_score {
	REPLAY_EVENTS = 0, /* rarity where an anomaly fires, 0 elsewhere: what the agent sends */
	REPLAY_SURPRISE,   /* every row's rarity */
	REPLAY_ZSCORE,	   /* every row's |score| */
};

/* The one configuration replay uses for every file unless --set says otherwise. */
void replay_config_default(struct detector_config *config);
/* Applies "KEY=VALUE" (see --help); -1 with a message on stderr when it is not valid. */
int replay_set_option(struct detector_config *config, const char *assignment);
/* "YYYY-MM-DD HH:MM:SS[.f]", the same with 'T' and optional 'Z', or epoch seconds; UTC. */
int replay_parse_time(const char *text, double *out);
/*
 * Reads "timestamp,value" CSV from in and writes timestamp,value,anomaly_score,label
 * to out. windows may be NULL (labels 0). Returns -1 after printing
 * "seismo replay: NAME:LINE: what" for the first malformed line.
 */
int replay_stream(FILE *in, const char *in_name, FILE *out, const struct detector_config *config,
		  const struct replay_windows *windows, enum replay_score mode);

#endif
