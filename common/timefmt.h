/* RFC 3339 timestamps in UTC, written once: event times, batch sent_at,
 * Alertmanager's startsAt/endsAt, Kubernetes' restartedAt, log lines. */
#ifndef SEISMO_TIMEFMT_H
#define SEISMO_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_RFC3339_LEN 32 /* "2026-11-24T14:03:10.250Z" and its NUL, with room */

/* unix_ms as "2026-11-24T14:03:10Z", or with millis "2026-11-24T14:03:10.250Z".
 * Returns 0, or -1 (buf "") when the time is before 1970 or after 9999. */
int timefmt_rfc3339(int64_t unix_ms, bool millis, char *buf, size_t len);

#endif
