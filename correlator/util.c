#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "grammar.h"
#include "timefmt.h"

int64_t corr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_digits(const char **p, int count, int *out)
{
	int v = 0;

	for (int i = 0; i < count; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += count;
	*out = v;
	return 0;
}

static int expect_char(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

int corr_time_parse(const char *text, int64_t *ms)
{
	const char *p = text;
	int year, mon, day, hour, min, sec, frac_ms = 0, off_min = 0;

	if (!text)
		return -1;
	if (parse_digits(&p, 4, &year) || expect_char(&p, '-') || parse_digits(&p, 2, &mon) ||
	    expect_char(&p, '-') || parse_digits(&p, 2, &day))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (parse_digits(&p, 2, &hour) || expect_char(&p, ':') || parse_digits(&p, 2, &min) ||
	    expect_char(&p, ':') || parse_digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int digits = 0;

		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
			digits++;
			p++;
		}
		for (; digits < 3; digits++)
			frac_ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if (parse_digits(&p, 2, &oh) || expect_char(&p, ':') || parse_digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		off_min = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 ||
	    year < 1970)
		return -1;
	struct tm tm = { .tm_year = year - 1900,
			 .tm_mon = mon - 1,
			 .tm_mday = day,
			 .tm_hour = hour,
			 .tm_min = min,
			 .tm_sec = sec };
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + frac_ms;
	return 0;
}

void corr_time_format(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0 || timefmt_rfc3339(ms, true, buf, len)) {
		/* Alertmanager's way of saying "no end time". */
		snprintf(buf, len, "0001-01-01T00:00:00Z");
	}
}

int corr_duration_parse(const char *text, int64_t *ms)
{
	int64_t ns;

	if (grammar_duration(text, 0, &ns))
		return -1;
	*ms = ns / GRAMMAR_NS_PER_MS;
	return 0;
}

int corr_is_hex(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; s[n]; n++)
		if (n >= max || !isxdigit((unsigned char)s[n]))
			return 0;
	return 1;
}

char *corr_read_small_file(const char *path, size_t max)
{
	return file_read_trimmed(path, max);
}
