/* The one grammar for booleans, durations and sizes: every config reader
 * (agent, chaos, Litmus, correlator, runbooks) and every command-line flag
 * that takes one of these parses it here. docs/config.md, "Grammar", is the
 * user-facing description; tests/unit/test_grammar.c feeds the same
 * spellings to each reader. */
#ifndef SEISMO_GRAMMAR_H
#define SEISMO_GRAMMAR_H

#include <stdbool.h>
#include <stdint.h>

#define GRAMMAR_NS_PER_US 1000LL
#define GRAMMAR_NS_PER_MS 1000000LL
#define GRAMMAR_NS_PER_S 1000000000LL

/* Return codes of the parsers below (0 is success). */
enum grammar_error {
	GRAMMAR_BAD = -1,     /* not a value of this kind */
	GRAMMAR_NO_UNIT = -2, /* a bare number where a unit is required */
	GRAMMAR_RANGE = -3,   /* a value too large to represent */
	GRAMMAR_FRACTION = -4 /* a size that is not a whole number of bytes */
};

/* true, yes, on, y, 1 / false, no, off, n, 0, in any case (YAML 1.1 as
 * Alertmanager's parser reads it, plus the 1/0 the chaos section took). */
int grammar_bool(const char *text, bool *out);

/* One or more NUMBER UNIT parts ("250ms", "1.5h", "1h30m"), units ns, us
 * (or µs), ms, s, m, h, d (24h), w (7d), y (365d), no sign, no blanks.
 * "0" alone is zero in any unit. A bare number ("10") means
 * bare_unit_ns nanoseconds; with bare_unit_ns 0 it is GRAMMAR_NO_UNIT,
 * since a reader guessing between seconds and milliseconds hides mistakes.
 * At most INT64_MAX nanoseconds (about 292 years). */
int grammar_duration(const char *text, int64_t bare_unit_ns, int64_t *ns);

/* Bytes: a bare whole number, or a number with a unit: B; KiB MiB GiB TiB
 * (and Kubernetes' Ki Mi Gi Ti) are powers of 1024; kB MB GB TB powers of
 * 1000; case does not matter. A lone K/M/G/T is refused as ambiguous. */
int grammar_size(const char *text, uint64_t *bytes);

/* What went wrong, for messages: "has no unit", ... */
const char *grammar_strerror(int rc);

#endif
