#include "timefmt.h"

#include <stdio.h>
#include <time.h>

int timefmt_rfc3339(int64_t unix_ms, bool millis, char *buf, size_t len)
{
	time_t secs = (time_t)(unix_ms / 1000);
	struct tm tm;
	int n;

	if (len)
		buf[0] = 0;
	if (unix_ms < 0 || unix_ms > 253402300799999LL || !gmtime_r(&secs, &tm))
		return -1;
	if (millis)
		n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     (int)(unix_ms % 1000));
	else
		n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = 0;
		return -1;
	}
	return 0;
}
