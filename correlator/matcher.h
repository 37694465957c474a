/*
 * Alertmanager label matchers: name=value, name!=value, name=~regex,
 * name!~regex. Regexes are anchored at both ends like Alertmanager's and
 * compiled as POSIX extended regexes (RE2 extensions such as (?: or \d are
 * rejected with a clear error).
 */
#ifndef CORR_MATCHER_H
#define CORR_MATCHER_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "labels.h"

enum corr_match_op {
	CORR_MATCH_EQ,
	CORR_MATCH_NE,
	CORR_MATCH_RE,
	CORR_MATCH_NRE
};

struct corr_matcher {
	char *name;
	char *value;
	enum corr_match_op op;
	char *key_value; /* how a route key prints it, when not as value */
	bool compiled;
	regex_t re;
};

struct corr_matchers {
	struct corr_matcher *v;
	size_t n;
};

/* Adds one matcher; err gets a message on failure (bad regex, name). */
int corr_matchers_add(struct corr_matchers *ms, const char *name, enum corr_match_op op,
		      const char *value, char *err, size_t errlen);
/*
 * Parses the text form used in `matchers:` lists and amtool:
 * `severity = critical`, `alertname=~"^(A|B)$"`, or a brace list
 * `{a="1",b!="2"}`. Appends to ms.
 */
int corr_matchers_parse(struct corr_matchers *ms, const char *text, char *err, size_t errlen);
bool corr_matcher_matches(const struct corr_matcher *m, const struct corr_labels *ls);
bool corr_matchers_match(const struct corr_matchers *ms, const struct corr_labels *ls);
/* {a="1", b=~"x"}, sorted as Alertmanager prints route keys. */
char *corr_matchers_string(const struct corr_matchers *ms);
void corr_matchers_free(struct corr_matchers *ms);

#endif
