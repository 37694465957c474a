/* The correlator config's typed readers over common/yamlcfg.c (config_int.h). */
#include "config_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int corr_cfg_fail(struct cfg_parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yamlcfg_vfail(&p->y, n, fmt, ap);
	va_end(ap);
	return -1;
}

void corr_cfg_warn(struct cfg_parse *p, const yaml_node_t *n, const char *what)
{
	log_warn("config %s:%zu:%zu: %s", p->name, n ? n->start_mark.line + 1 : 0,
		 n ? n->start_mark.column + 1 : 0, what);
}

const char *corr_cfg_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

yaml_node_t *corr_cfg_node(struct cfg_parse *p, int id)
{
	return yaml_document_get_node(&p->y.doc, id);
}

/* Calls fn for each key of a mapping; fn returns 0 or -1. */
int corr_cfg_each_pair(struct cfg_parse *p, yaml_node_t *map, const char *what, corr_cfg_pair_fn fn,
		       void *arg)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return corr_cfg_fail(p, map, "%s must be a mapping", what);
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = corr_cfg_node(p, pr->key), *v = corr_cfg_node(p, pr->value);
		const char *key = corr_cfg_scalar(k);
		if (!key)
			return corr_cfg_fail(p, k, "%s: keys must be scalars", what);
		if (fn(p, key, k, v, arg))
			return -1;
	}
	return 0;
}

int corr_cfg_str(struct cfg_parse *p, yaml_node_t *v, const char *key, char **out)
{
	const char *s = corr_cfg_scalar(v);

	if (!s)
		return corr_cfg_fail(p, v, "%s must be a string", key);
	free(*out);
	*out = strdup(s);
	if (!*out)
		return corr_cfg_fail(p, v, "out of memory");
	return 0;
}

int corr_cfg_bool(struct cfg_parse *p, yaml_node_t *v, const char *key, bool *out)
{
	return yamlcfg_bool(&p->y, v, out);
}

int corr_cfg_duration(struct cfg_parse *p, yaml_node_t *v, const char *key, int64_t *out)
{
	return yamlcfg_duration_ms(&p->y, v, out);
}

int corr_cfg_size(struct cfg_parse *p, yaml_node_t *v, uint64_t min, uint64_t max, size_t *out)
{
	uint64_t bytes;

	if (yamlcfg_size(&p->y, v, min, max, &bytes))
		return -1;
	*out = (size_t)bytes;
	return 0;
}

int corr_cfg_long(struct cfg_parse *p, yaml_node_t *v, const char *key, long min, long max,
		  long *out)
{
	const char *s = corr_cfg_scalar(v);
	char *end;

	if (!s)
		return corr_cfg_fail(p, v, "%s must be a number", key);
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || *end || end == s || n < min || n > max)
		return corr_cfg_fail(p, v, "%s: \"%s\" is not an integer in %ld..%ld", key, s, min,
				     max);
	*out = n;
	return 0;
}

int corr_cfg_str_list(struct cfg_parse *p, yaml_node_t *v, const char *key, char ***out, size_t *n)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return corr_cfg_fail(p, v, "%s must be a list of strings", key);
	size_t count = v->data.sequence.items.top - v->data.sequence.items.start;
	char **list = calloc(count + 1, sizeof(*list));
	if (!list)
		return corr_cfg_fail(p, v, "out of memory");
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *it = corr_cfg_node(p, v->data.sequence.items.start[i]);
		if (!corr_cfg_scalar(it) || !(list[i] = strdup(corr_cfg_scalar(it)))) {
			for (size_t j = 0; j < i; j++)
				free(list[j]);
			free(list);
			return corr_cfg_fail(p, it, "%s: items must be strings", key);
		}
	}
	*out = list;
	*n = count;
	return 0;
}

void corr_cfg_free_str_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* match: {k: v} and match_re: {k: re} become matchers. */
int corr_cfg_match_map(struct cfg_parse *p, yaml_node_t *v, const char *key, enum corr_match_op op,
		       struct corr_matchers *ms)
{
	char e[384];

	if (!v || v->type != YAML_MAPPING_NODE)
		return corr_cfg_fail(p, v, "%s must be a mapping of label: value", key);
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *kn = corr_cfg_node(p, pr->key), *vn = corr_cfg_node(p, pr->value);
		if (!corr_cfg_scalar(kn) || !corr_cfg_scalar(vn))
			return corr_cfg_fail(p, kn, "%s: labels and values must be strings", key);
		if (corr_matchers_add(ms, corr_cfg_scalar(kn), op, corr_cfg_scalar(vn), e,
				      sizeof(e)))
			return corr_cfg_fail(p, kn, "%s: %s", key, e);
		/* Alertmanager prints match_re regexes anchored in route keys. */
		if (op == CORR_MATCH_RE &&
		    asprintf(&ms->v[ms->n - 1].key_value, "^(?:%s)$", corr_cfg_scalar(vn)) < 0)
			return corr_cfg_fail(p, kn, "out of memory");
	}
	return 0;
}

int corr_cfg_matcher_list(struct cfg_parse *p, yaml_node_t *v, const char *key,
			  struct corr_matchers *ms)
{
	char e[384];

	if (!v || v->type != YAML_SEQUENCE_NODE)
		return corr_cfg_fail(p, v,
				     "%s must be a list of matchers like 'severity = critical'",
				     key);
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *n = corr_cfg_node(p, *it);
		if (!corr_cfg_scalar(n))
			return corr_cfg_fail(p, n, "%s: each matcher must be a string", key);
		if (corr_matchers_parse(ms, corr_cfg_scalar(n), e, sizeof(e)))
			return corr_cfg_fail(p, n, "%s: %s", key, e);
	}
	return 0;
}
