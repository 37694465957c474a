#include "yamlcfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *scalar(const yaml_node_t *node);

/* A key given twice in one mapping is an error: YAML leaves it undefined and
 * a reader that silently takes the first (or last) hides a typo'd edit. Each
 * node is checked once: aliases may share nodes, or even form a cycle. */
static int check_duplicates(struct yamlcfg *cfg, yaml_node_t *node, bool *seen, int depth)
{
	if (!node || seen[node - cfg->doc.nodes.start])
		return 0;
	if (depth > 200)
		return yamlcfg_fail(cfg, node, "nested more than 200 levels deep");
	seen[node - cfg->doc.nodes.start] = true;
	if (node->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++)
			if (check_duplicates(cfg, yaml_document_get_node(&cfg->doc, *it), seen,
					     depth + 1))
				return -1;
		return 0;
	}
	if (node->type != YAML_MAPPING_NODE)
		return 0;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(&cfg->doc, p->key);
		const char *k = scalar(kn);

		for (yaml_node_pair_t *q = node->data.mapping.pairs.start; k && q < p; q++) {
			yaml_node_t *earlier = yaml_document_get_node(&cfg->doc, q->key);
			const char *e = scalar(earlier);
			if (e && !strcmp(e, k))
				return yamlcfg_fail(cfg, kn, "duplicate key '%s' (first given at line %zu)",
						    k, earlier->start_mark.line + 1);
		}
		if (check_duplicates(cfg, yaml_document_get_node(&cfg->doc, p->value), seen,
				     depth + 1))
			return -1;
	}
	return 0;
}

static int check_all_duplicates(struct yamlcfg *cfg, yaml_node_t *root)
{
	size_t n = (size_t)(cfg->doc.nodes.top - cfg->doc.nodes.start);
	bool *seen = calloc(n ? n : 1, sizeof(*seen));
	int rc;

	if (!seen)
		return yamlcfg_fail(cfg, root, "out of memory");
	rc = check_duplicates(cfg, root, seen, 0);
	free(seen);
	return rc;
}

static int load(struct yamlcfg *cfg, yaml_parser_t *parser)
{
	if (!yaml_parser_load(parser, &cfg->doc)) {
		snprintf(cfg->error, sizeof(cfg->error), "%s:%zu:%zu: %s%s%s", cfg->file,
			 parser->problem_mark.line + 1, parser->problem_mark.column + 1,
			 parser->problem ? parser->problem : "invalid YAML",
			 parser->context ? " " : "", parser->context ? parser->context : "");
		yaml_parser_delete(parser);
		return -1;
	}
	yaml_parser_delete(parser);
	cfg->loaded = true;
	yaml_node_t *root = yaml_document_get_root_node(&cfg->doc);
	if (root && root->type != YAML_MAPPING_NODE)
		return yamlcfg_fail(cfg, root, "the top level must be a mapping of keys");
	return check_all_duplicates(cfg, root);
}

int yamlcfg_load_file(struct yamlcfg *cfg, const char *path)
{
	yaml_parser_t parser;
	FILE *f;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->file = path;
	f = fopen(path, "r");
	if (!f) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: %s", path, strerror(errno));
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	rc = load(cfg, &parser);
	fclose(f);
	return rc;
}

int yamlcfg_load_string(struct yamlcfg *cfg, const char *name, const char *text, size_t len)
{
	yaml_parser_t parser;

	memset(cfg, 0, sizeof(*cfg));
	cfg->file = name;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	return load(cfg, &parser);
}

void yamlcfg_free(struct yamlcfg *cfg)
{
	if (cfg->loaded)
		yaml_document_delete(&cfg->doc);
	cfg->loaded = false;
}

yaml_node_t *yamlcfg_root(struct yamlcfg *cfg)
{
	return cfg->loaded ? yaml_document_get_root_node(&cfg->doc) : NULL;
}

int yamlcfg_fail(struct yamlcfg *cfg, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (cfg->error[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(cfg->error, sizeof(cfg->error), "%s:%zu: %s", cfg->file,
		 node ? node->start_mark.line + 1 : 1, msg);
	return -1;
}

static const char *scalar(const yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value
						      : NULL;
}

yaml_node_t *yamlcfg_get(struct yamlcfg *cfg, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(&cfg->doc, p->key));
		if (k && !strcmp(k, key))
			return yaml_document_get_node(&cfg->doc, p->value);
	}
	return NULL;
}

int yamlcfg_check_keys(struct yamlcfg *cfg, yaml_node_t *map, const char *const *allowed,
		       const char *where)
{
	if (!map)
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return yamlcfg_fail(cfg, map, "%s must be a mapping", where);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(&cfg->doc, p->key);
		const char *k = scalar(kn);
		bool ok = false;

		for (const char *const *a = allowed; k && *a; a++)
			ok |= !strcmp(*a, k);
		if (!ok)
			return yamlcfg_fail(cfg, kn, "unknown key '%s' in %s", k ? k : "?", where);
	}
	return 0;
}

static const char *need_scalar(struct yamlcfg *cfg, yaml_node_t *node)
{
	const char *s = scalar(node);

	if (!s)
		yamlcfg_fail(cfg, node, "expected a single value, found a %s",
			     node->type == YAML_MAPPING_NODE ? "mapping" : "list");
	return s;
}

int yamlcfg_string(struct yamlcfg *cfg, yaml_node_t *node, char *out, size_t size)
{
	const char *s;

	if (!node)
		return 0;
	if (!(s = need_scalar(cfg, node)))
		return -1;
	if (strlen(s) >= size)
		return yamlcfg_fail(cfg, node, "value too long (at most %zu characters)", size - 1);
	strcpy(out, s);
	return 0;
}

int yamlcfg_bool(struct yamlcfg *cfg, yaml_node_t *node, bool *out)
{
	const char *s;

	if (!node)
		return 0;
	if (!(s = need_scalar(cfg, node)))
		return -1;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
		*out = true;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
		*out = false;
	else
		return yamlcfg_fail(cfg, node, "expected true or false, found '%s'", s);
	return 0;
}

int yamlcfg_uint(struct yamlcfg *cfg, yaml_node_t *node, unsigned long min, unsigned long max,
		 unsigned long *out)
{
	const char *s;
	char *end;
	unsigned long v;

	if (!node)
		return 0;
	if (!(s = need_scalar(cfg, node)))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return yamlcfg_fail(cfg, node, "expected a whole number, found '%s'", s);
	if (v < min || v > max)
		return yamlcfg_fail(cfg, node, "%lu is out of range [%lu, %lu]", v, min, max);
	*out = v;
	return 0;
}

int yamlcfg_double(struct yamlcfg *cfg, yaml_node_t *node, double min, double max, double *out)
{
	const char *s;
	char *end;
	double v;

	if (!node)
		return 0;
	if (!(s = need_scalar(cfg, node)))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return yamlcfg_fail(cfg, node, "expected a number, found '%s'", s);
	if (v < min || v > max)
		return yamlcfg_fail(cfg, node, "%g is out of range [%g, %g]", v, min, max);
	*out = v;
	return 0;
}

int yamlcfg_parse_duration(const char *text, double *seconds)
{
	static const struct {
		const char *suffix;
		double scale;
	} units[] = { { "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 },
		      { "w", 604800 }, { "", 1 } };
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !isfinite(v) || v < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].suffix)) {
			*seconds = v * units[i].scale;
			return 0;
		}
	}
	return -1;
}

int yamlcfg_duration(struct yamlcfg *cfg, yaml_node_t *node, double *seconds)
{
	const char *s;
	double bare;

	if (!node)
		return 0;
	if (!(s = need_scalar(cfg, node)))
		return -1;
	if (!yamlcfg_parse_duration_unit(s, seconds))
		return 0;
	if (!yamlcfg_parse_duration(s, &bare))
		return yamlcfg_fail(cfg, node, "duration '%s' has no unit: write %ss (or %sms, %sm)",
				    s, s, s, s);
	return yamlcfg_fail(cfg, node, "expected a duration such as 250ms, 10s, 5m or 1h, found '%s'",
			    s);
}

int yamlcfg_parse_duration_unit(const char *text, double *seconds)
{
	size_t len = strlen(text);
	double v;

	if (yamlcfg_parse_duration(text, &v))
		return -1;
	/* "10" could mean seconds or milliseconds; only 0 is the same in every unit. */
	if (len && (text[len - 1] == '.' || (text[len - 1] >= '0' && text[len - 1] <= '9')) && v != 0)
		return -1;
	*seconds = v;
	return 0;
}
