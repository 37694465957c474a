#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	if (parse_digits(&p, 4, &year) || expect_char(&p, '-') ||
	    parse_digits(&p, 2, &mon) || expect_char(&p, '-') ||
	    parse_digits(&p, 2, &day))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (parse_digits(&p, 2, &hour) || expect_char(&p, ':') ||
	    parse_digits(&p, 2, &min) || expect_char(&p, ':') ||
	    parse_digits(&p, 2, &sec))
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
		if (parse_digits(&p, 2, &oh) || expect_char(&p, ':') ||
		    parse_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
		off_min = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
	    min > 59 || sec > 60 || year < 1970)
		return -1;
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon - 1,
			 .tm_mday = day, .tm_hour = hour, .tm_min = min,
			 .tm_sec = sec };
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + frac_ms;
	return 0;
}

void corr_time_format(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		/* Alertmanager's way of saying "no end time". */
		snprintf(buf, len, "0001-01-01T00:00:00Z");
		return;
	}
	gmtime_r(&t, &tm);
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

int corr_duration_parse(const char *text, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "ms", 1 },	       { "s", 1000 },	   { "m", 60000 },
		{ "h", 3600000 },      { "d", 86400000 },  { "w", 604800000 },
		{ "y", 31536000000LL },
	};
	const char *p = text;
	int64_t total = 0;

	if (!text || !*text)
		return -1;
	if (!strcmp(text, "0")) {
		*ms = 0;
		return 0;
	}
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -1;
		int64_t n = 0;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p - '0');
			if (n > 1000000000LL)
				return -1;
			p++;
		}
		size_t best = 0;
		int64_t mult = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			/* "ms" must win over "m". */
			if (!strncmp(p, units[i].unit, l) && l > best &&
			    !(l == 1 && units[i].unit[0] == 'm' && p[1] == 's')) {
				best = l;
				mult = units[i].ms;
			}
		}
		if (!best)
			return -1;
		p += best;
		total += n * mult;
	}
	*ms = total;
	return 0;
}

uint64_t corr_fnv1a(uint64_t hash, const void *data, size_t len)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < len; i++) {
		hash ^= b[i];
		hash *= 1099511628211ULL;
	}
	return hash;
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
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, max, f);
	if (ferror(f)) {
		int e = errno;
		free(buf);
		fclose(f);
		errno = e ? e : EIO;
		return NULL;
	}
	fclose(f);
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = 0;
	return buf;
}
