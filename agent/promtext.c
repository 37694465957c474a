/* Prometheus text exposition: families, samples, label escaping. */
#include "promtext.h"

void prom_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_name(FILE *out, const char *name, const char *labels)
{
	if (labels && *labels)
		fprintf(out, "%s{%s} ", name, labels);
	else
		fprintf(out, "%s ", name);
}

void prom_u64(FILE *out, const char *name, const char *labels, uint64_t value)
{
	sample_name(out, name, labels);
	fprintf(out, "%llu\n", (unsigned long long)value);
}

void prom_double(FILE *out, const char *name, const char *labels, double value, int decimals)
{
	sample_name(out, name, labels);
	fprintf(out, "%.*f\n", decimals, value);
}

void prom_escape_label(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 3 < size; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}
