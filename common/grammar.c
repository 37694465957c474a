#include "grammar.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

int grammar_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "y", "1" };
	static const char *const no[] = { "false", "no", "off", "n", "0" };

	if (!text)
		return GRAMMAR_BAD;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(text, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(text, no[i])) {
			*out = false;
			return 0;
		}
	}
	return GRAMMAR_BAD;
}

/* Digits with an optional fraction ("12", "1.5", ".5", "3."); no sign, no
 * exponent, no blanks: strtod's extras (hex, inf, " 5") are not numbers a
 * config means. Returns the characters used, 0 when there is no number. */
static size_t scan_number(const char *p, long double *value, bool *fraction)
{
	long double v = 0, scale = 1;
	size_t i = 0, digits = 0;

	*fraction = false;
	for (; p[i] >= '0' && p[i] <= '9'; i++, digits++)
		v = v * 10 + (p[i] - '0');
	if (p[i] == '.') {
		*fraction = true;
		for (i++; p[i] >= '0' && p[i] <= '9'; i++, digits++)
			v += (p[i] - '0') * (scale /= 10);
	}
	if (!digits)
		return 0;
	*value = v;
	return i;
}

/* The unit is every byte up to the next digit or '.': "1h30m" -> "h". */
static size_t unit_length(const char *p)
{
	size_t n = 0;

	while (p[n] && !(p[n] >= '0' && p[n] <= '9') && p[n] != '.')
		n++;
	return n;
}

int grammar_duration(const char *text, int64_t bare_unit_ns, int64_t *ns)
{
	static const struct {
		const char *name;
		long double ns;
	} units[] = {
		{ "ns", 1 },	   { "us", 1e3L },     { "\xc2\xb5s", 1e3L }, /* µs */
		{ "ms", 1e6L },	   { "s", 1e9L },      { "m", 60e9L },	      { "h", 3600e9L },
		{ "d", 86400e9L }, { "w", 604800e9L }, { "y", 31536000e9L },
	};
	const char *p = text;
	long double total = 0;
	int parts = 0;

	if (!text || !*text)
		return GRAMMAR_BAD;
	while (*p) {
		long double v;
		bool fraction;
		size_t used = scan_number(p, &v, &fraction), len, i;

		if (!used)
			return GRAMMAR_BAD;
		p += used;
		len = unit_length(p);
		if (!len) {
			/* A bare number: only alone, never after "1h". */
			if (parts || *p)
				return GRAMMAR_BAD;
			if (v != 0 && bare_unit_ns <= 0)
				return GRAMMAR_NO_UNIT;
			total = v * (long double)bare_unit_ns;
			break;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == len && !strncmp(p, units[i].name, len))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return GRAMMAR_BAD;
		total += v * units[i].ns;
		p += len;
		parts++;
	}
	if (total >= 9223372036854775807.0L)
		return GRAMMAR_RANGE;
	*ns = (int64_t)llroundl(total);
	return 0;
}

int grammar_size(const char *text, uint64_t *bytes)
{
	static const struct {
		const char *name;
		long double scale;
	} units[] = {
		{ "b", 1 },
		{ "kib", 1024.0L },
		{ "mib", 1048576.0L },
		{ "gib", 1073741824.0L },
		{ "tib", 1099511627776.0L },
		{ "ki", 1024.0L },
		{ "mi", 1048576.0L },
		{ "gi", 1073741824.0L },
		{ "ti", 1099511627776.0L },
		{ "kb", 1e3L },
		{ "mb", 1e6L },
		{ "gb", 1e9L },
		{ "tb", 1e12L },
	};
	long double v, scale = 0;
	bool fraction;
	size_t used;

	if (!text)
		return GRAMMAR_BAD;
	used = scan_number(text, &v, &fraction);
	if (!used)
		return GRAMMAR_BAD;
	if (!text[used]) {
		if (fraction)
			return GRAMMAR_FRACTION;
		scale = 1;
	}
	for (size_t i = 0; !scale && i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcasecmp(text + used, units[i].name))
			scale = units[i].scale;
	if (!scale)
		return GRAMMAR_BAD;
	v *= scale;
	if (v >= 9223372036854775807.0L)
		return GRAMMAR_RANGE;
	if (v != floorl(v))
		return GRAMMAR_FRACTION;
	*bytes = (uint64_t)v;
	return 0;
}

const char *grammar_strerror(int rc)
{
	switch (rc) {
	case 0:
		return "ok";
	case GRAMMAR_NO_UNIT:
		return "has no unit";
	case GRAMMAR_RANGE:
		return "is too large";
	case GRAMMAR_FRACTION:
		return "is not a whole number of bytes";
	default:
		return "is not valid";
	}
}
