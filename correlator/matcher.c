#include "matcher.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_text[] = { "=", "!=", "=~", "!~" };

int corr_matchers_add(struct corr_matchers *ms, const char *name, enum corr_match_op op,
		      const char *value, char *err, size_t errlen)
{
	struct corr_matcher m = { .op = op };

	if (!corr_label_name_valid(name)) {
		snprintf(err, errlen, "invalid label name '%s' in matcher", name);
		return -1;
	}
	if (op == CORR_MATCH_RE || op == CORR_MATCH_NRE) {
		size_t len = strlen(value) + 8;
		char *anchored = malloc(len);
		if (!anchored) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		/* Alertmanager anchors every regex: ^(?:value)$. */
		snprintf(anchored, len, "^(%s)$", value);
		int rc = regcomp(&m.re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (rc) {
			char why[128];
			regerror(rc, &m.re, why, sizeof(why));
			snprintf(
				err, errlen,
				"invalid regex \"%s\" for label %s: %s (POSIX ERE; RE2-only syntax such as (?: or \\d is not supported)",
				value, name, why);
			return -1;
		}
		m.compiled = true;
	}
	m.name = strdup(name);
	m.value = strdup(value);
	struct corr_matcher *grown = realloc(ms->v, (ms->n + 1) * sizeof(*grown));
	if (!m.name || !m.value || !grown) {
		if (grown)
			ms->v = grown;
		free(m.name);
		free(m.value);
		if (m.compiled)
			regfree(&m.re);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ms->v = grown;
	ms->v[ms->n++] = m;
	return 0;
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* Parses one `name op value` starting at *pp; stops at ',' or '}' or end. */
static int parse_one(struct corr_matchers *ms, const char **pp, char *err, size_t errlen)
{
	const char *p = skip_space(*pp), *start = p;
	char name[256], value[4096];
	size_t n = 0;
	enum corr_match_op op;

	while (isalnum((unsigned char)*p) || *p == '_') {
		if (n + 1 >= sizeof(name)) {
			snprintf(err, errlen, "label name too long in matcher");
			return -1;
		}
		name[n++] = *p++;
	}
	name[n] = 0;
	if (!n) {
		snprintf(err, errlen, "matcher '%s' does not start with a label name", start);
		return -1;
	}
	p = skip_space(p);
	if (!strncmp(p, "=~", 2)) {
		op = CORR_MATCH_RE;
		p += 2;
	} else if (!strncmp(p, "!~", 2)) {
		op = CORR_MATCH_NRE;
		p += 2;
	} else if (!strncmp(p, "!=", 2)) {
		op = CORR_MATCH_NE;
		p += 2;
	} else if (*p == '=') {
		op = CORR_MATCH_EQ;
		p++;
	} else {
		snprintf(err, errlen, "matcher '%s': expected =, !=, =~ or !~ after '%s'", start,
			 name);
		return -1;
	}
	p = skip_space(p);
	n = 0;
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			if (n + 1 >= sizeof(value)) {
				snprintf(err, errlen, "matcher value too long");
				return -1;
			}
			value[n++] = *p++;
		}
		if (*p != '"') {
			snprintf(err, errlen, "matcher '%s': unterminated quoted value", start);
			return -1;
		}
		p++;
	} else {
		while (*p && *p != ',' && *p != '}') {
			if (n + 1 >= sizeof(value)) {
				snprintf(err, errlen, "matcher value too long");
				return -1;
			}
			value[n++] = *p++;
		}
		while (n && isspace((unsigned char)value[n - 1]))
			n--;
	}
	value[n] = 0;
	*pp = skip_space(p);
	return corr_matchers_add(ms, name, op, value, err, errlen);
}

int corr_matchers_parse(struct corr_matchers *ms, const char *text, char *err, size_t errlen)
{
	const char *p = skip_space(text);
	int braces = *p == '{';

	if (braces)
		p++;
	for (;;) {
		if (braces && *skip_space(p) == '}') {
			p = skip_space(p) + 1;
			break;
		}
		if (parse_one(ms, &p, err, errlen))
			return -1;
		if (*p == ',') {
			p++;
			continue;
		}
		if (braces) {
			if (*p != '}') {
				snprintf(err, errlen, "matcher list '%s': missing '}'", text);
				return -1;
			}
			p++;
		}
		break;
	}
	if (*skip_space(p)) {
		snprintf(err, errlen, "matcher '%s': unexpected text '%s'", text, p);
		return -1;
	}
	return 0;
}

bool corr_matcher_matches(const struct corr_matcher *m, const struct corr_labels *ls)
{
	/* A missing label matches like an empty one, as in Alertmanager. */
	const char *v = corr_labels_get(ls, m->name);

	if (!v)
		v = "";
	switch (m->op) {
	case CORR_MATCH_EQ:
		return !strcmp(v, m->value);
	case CORR_MATCH_NE:
		return strcmp(v, m->value) != 0;
	case CORR_MATCH_RE:
		return regexec(&m->re, v, 0, NULL, 0) == 0;
	case CORR_MATCH_NRE:
		return regexec(&m->re, v, 0, NULL, 0) != 0;
	}
	return false;
}

bool corr_matchers_match(const struct corr_matchers *ms, const struct corr_labels *ls)
{
	for (size_t i = 0; i < ms->n; i++)
		if (!corr_matcher_matches(&ms->v[i], ls))
			return false;
	return true;
}

static int cmp_matcher(const void *a, const void *b)
{
	const struct corr_matcher *x = *(struct corr_matcher *const *)a;
	const struct corr_matcher *y = *(struct corr_matcher *const *)b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->op != y->op)
		return (int)x->op - (int)y->op;
	return strcmp(x->value, y->value);
}

char *corr_matchers_string(const struct corr_matchers *ms)
{
	const struct corr_matcher **sorted = calloc(ms->n + 1, sizeof(*sorted));
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!sorted)
		return NULL;
	for (size_t i = 0; i < ms->n; i++)
		sorted[i] = &ms->v[i];
	qsort(sorted, ms->n, sizeof(*sorted), cmp_matcher);
	f = open_memstream(&buf, &len);
	if (!f) {
		free(sorted);
		return NULL;
	}
	fputc('{', f);
	for (size_t i = 0; i < ms->n; i++)
		fprintf(f, "%s%s%s\"%s\"", i ? "," : "", sorted[i]->name, op_text[sorted[i]->op],
			sorted[i]->key_value ? sorted[i]->key_value : sorted[i]->value);
	fputc('}', f);
	free(sorted);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

void corr_matchers_free(struct corr_matchers *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		free(ms->v[i].name);
		free(ms->v[i].value);
		free(ms->v[i].key_value);
		if (ms->v[i].compiled)
			regfree(&ms->v[i].re);
	}
	free(ms->v);
	ms->v = NULL;
	ms->n = 0;
}
