/* Small helpers shared by the correlator's modules: time, hashing, files. */
#ifndef CORR_UTIL_H
#define CORR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* Milliseconds since the Unix epoch, wall clock. */
int64_t corr_now_ms(void);

/*
 * Parses an RFC 3339 timestamp ("2026-11-24T14:03:10Z",
 * "2026-11-24T14:03:10.250+01:00") into milliseconds since the epoch.
 * Returns 0 on success, -1 when the text is not RFC 3339.
 */
int corr_time_parse(const char *text, int64_t *ms);

/* Formats ms as RFC 3339 UTC with milliseconds; buf needs 32 bytes. */
void corr_time_format(int64_t ms, char *buf, size_t len);

/*
 * A duration in the shared grammar (common/grammar.h: "30s", "5m", "1h30m",
 * "100ms", "1d", "1w", "1y"; a bare number other than 0 is refused) in
 * milliseconds. Returns 0 or -1.
 */
int corr_duration_parse(const char *text, int64_t *ms);

/* FNV-1a 64-bit, the hash Prometheus uses for label fingerprints: the
 * correlator's name for common/hash.h's fnv1a64. */
#define CORR_FNV_OFFSET FNV64_OFFSET
static inline uint64_t corr_fnv1a(uint64_t hash, const void *data, size_t len)
{
	return fnv1a64(hash, data, len);
}

/* True when s is 1..max characters of [0-9a-fA-F]. */
int corr_is_hex(const char *s, size_t max);

/*
 * Reads a whole small file (secrets, tokens) into a NUL-terminated buffer
 * with trailing whitespace stripped (common/fileio.h's file_read_trimmed;
 * a file over max bytes is refused with EFBIG). NULL and errno on failure.
 */
char *corr_read_small_file(const char *path, size_t max);

#endif
