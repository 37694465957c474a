/*
 * The detector's memory across restarts: every series' baseline and anomaly
 * state in one binary file, replaced atomically (write a temporary file,
 * fsync, rename, fsync the directory) so that a crash leaves either the old
 * or the new file, never half of one.
 *
 * The file is versioned and checksummed. One that is corrupt, truncated,
 * from another version or another build's struct layout is moved aside
 * (to PATH.bad-<epoch seconds>) with a warning, and the agent starts fresh.
 */
#ifndef SEISMO_STATE_H
#define SEISMO_STATE_H

#include "detector.h"

#define STATE_MAGIC "SEISMOST"
/*
 * 2: the calibrated surprise models joined each series (issue 9).
 * 3: the surprise models remember each series' recurring daily and hourly peaks.
 * 4: the baseline keeps the day's level that its seasons learn against.
 * 5: the variance model learns its statistic's typical excess (variance_norm).
 * 6: count series keep decayed sums of counts and expected counts (the count shift model).
 * 7: the baseline keeps the week's level and, per hour of the week, its last two visits.
 * 8: each calibrator keeps a week's moments of its tail (the point model's learnt shape).
 */
#define STATE_VERSION 8

/* Writes every series of det to path. 0, or -1 with the reason logged (the old file stays). */
int state_save(const struct detector *det, const char *path);
/*
 * Restores the series saved in path into det. Returns how many were restored:
 * 0 when the file does not exist or was unusable (then moved aside), -1 only
 * when the file exists but cannot be read or moved aside.
 */
int state_load(struct detector *det, const char *path);

#endif
