#include "yamlcfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grammar.h"

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
				return yamlcfg_fail(cfg, kn,
						    "duplicate key '%s' (first given at line %zu)",
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
		snprintf(cfg->error, sizeof(cfg->error), "%s:%zu:%zu: YAML error: %s%s%s",
			 cfg->file, parser->problem_mark.line + 1, parser->problem_mark.column + 1,
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
		cfg->open_errno = errno; /* callers tell a missing file from a bad one */
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

int yamlcfg_vfail(struct yamlcfg *cfg, const yaml_node_t *node, const char *fmt, va_list ap)
{
	char msg[400];

	if (cfg->error[0])
		return -1;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(cfg->error, sizeof(cfg->error), "%s:%zu:%zu: %s", cfg->file,
		 node ? node->start_mark.line + 1 : 1, node ? node->start_mark.column + 1 : 1, msg);
	return -1;
}

int yamlcfg_fail(struct yamlcfg *cfg, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = yamlcfg_vfail(cfg, node, fmt, ap);
	va_end(ap);
	return rc;
}

/* The mapping or list that holds node (as value, key or item), or 0. */
static int parent_of(struct yamlcfg *cfg, int id, const char **key, long *index)
{
	for (yaml_node_t *n = cfg->doc.nodes.start; n < cfg->doc.nodes.top; n++) {
		int nid = (int)(n - cfg->doc.nodes.start) + 1;

		if (n->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
			     p < n->data.mapping.pairs.top; p++) {
				if (p->value != id && p->key != id)
					continue;
				*key = scalar(yaml_document_get_node(&cfg->doc, p->key));
				*index = -1;
				return nid;
			}
		} else if (n->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = n->data.sequence.items.start;
			     it < n->data.sequence.items.top; it++) {
				if (*it != id)
					continue;
				*key = NULL;
				*index = it - n->data.sequence.items.start;
				return nid;
			}
		}
	}
	return 0;
}

/* Deeper keys are named from their 24th ancestor down: a message, not an address. */
#define PATH_MAX_DEPTH 24

void yamlcfg_path(struct yamlcfg *cfg, const yaml_node_t *node, char *buf, size_t size)
{
	const char *keys[PATH_MAX_DEPTH];
	long indexes[PATH_MAX_DEPTH];
	int depth = 0, id;
	size_t used = 0;

	buf[0] = 0;
	if (!node || !cfg->doc.nodes.start)
		return;
	id = (int)(node - cfg->doc.nodes.start) + 1;
	/* Bounded: aliases may make a node its own ancestor. */
	while (depth < PATH_MAX_DEPTH && (id = parent_of(cfg, id, &keys[depth], &indexes[depth])))
		depth++;
	while (depth-- > 0 && used < size) {
		int n = indexes[depth] >= 0
				? snprintf(buf + used, size - used, "[%ld]", indexes[depth])
				: snprintf(buf + used, size - used, "%s%s", used ? "." : "",
					   keys[depth] ? keys[depth] : "?");
		used += n > 0 ? (size_t)n : 0;
	}
}

/* A value's error: "file:line:col: key.path: message". */
static int fail_value(struct yamlcfg *cfg, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_value(struct yamlcfg *cfg, const yaml_node_t *node, const char *fmt, ...)
{
	char path[160], msg[360];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	yamlcfg_path(cfg, node, path, sizeof(path));
	return path[0] ? yamlcfg_fail(cfg, node, "%s: %s", path, msg)
		       : yamlcfg_fail(cfg, node, "%s", msg);
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
		fail_value(cfg, node, "expected a single value, found a %s",
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
		return fail_value(cfg, node, "value too long (at most %zu characters)", size - 1);
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
	if (grammar_bool(s, out))
		return fail_value(cfg, node,
				  "expected true or false (yes/no, on/off also do), found '%s'", s);
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
		return fail_value(cfg, node, "expected a whole number, found '%s'", s);
	if (v < min || v > max)
		return fail_value(cfg, node, "%lu is out of range [%lu, %lu]", v, min, max);
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
		return fail_value(cfg, node, "expected a number, found '%s'", s);
	if (v < min || v > max)
		return fail_value(cfg, node, "%g is out of range [%g, %g]", v, min, max);
	*out = v;
	return 0;
}

int yamlcfg_parse_duration(const char *text, double *seconds)
{
	int64_t ns;

	if (grammar_duration(text, GRAMMAR_NS_PER_S, &ns))
		return -1;
	*seconds = (double)ns / 1e9;
	return 0;
}

int yamlcfg_parse_duration_unit(const char *text, double *seconds)
{
	int64_t ns;

	if (grammar_duration(text, 0, &ns))
		return -1;
	*seconds = (double)ns / 1e9;
	return 0;
}

int yamlcfg_duration_ns(struct yamlcfg *cfg, yaml_node_t *node, int64_t bare_unit_ns, int64_t *ns)
{
	const char *s;
	int rc;

	if (!node)
		return 0;
	if (!(s = need_scalar(cfg, node)))
		return -1;
	rc = grammar_duration(s, bare_unit_ns, ns);
	if (rc == GRAMMAR_NO_UNIT)
		return fail_value(cfg, node, "duration '%s' has no unit: write %ss (or %sms, %sm)",
				  s, s, s, s);
	if (rc)
		return fail_value(
			cfg, node,
			"expected a duration such as 250ms, 10s, 5m, 1h or 1h30m, found '%s'%s", s,
			rc == GRAMMAR_RANGE ? " (too long)" : "");
	return 0;
}

int yamlcfg_duration(struct yamlcfg *cfg, yaml_node_t *node, double *seconds)
{
	int64_t ns;

	if (!node)
		return 0;
	if (yamlcfg_duration_ns(cfg, node, 0, &ns))
		return -1;
	*seconds = (double)ns / 1e9;
	return 0;
}

int yamlcfg_duration_ms(struct yamlcfg *cfg, yaml_node_t *node, int64_t *ms)
{
	int64_t ns;

	if (!node)
		return 0;
	if (yamlcfg_duration_ns(cfg, node, 0, &ns))
		return -1;
	*ms = ns / GRAMMAR_NS_PER_MS;
	return 0;
}

int yamlcfg_size(struct yamlcfg *cfg, yaml_node_t *node, uint64_t min, uint64_t max,
		 uint64_t *bytes)
{
	const char *s;
	uint64_t v;
	int rc;

	if (!node)
		return 0;
	if (!(s = need_scalar(cfg, node)))
		return -1;
	rc = grammar_size(s, &v);
	if (rc == GRAMMAR_FRACTION)
		return fail_value(cfg, node, "size '%s' is not a whole number of bytes", s);
	if (rc)
		return fail_value(
			cfg, node,
			"expected a size such as 65536, 64KiB, 1MiB or 10MB, found '%s'%s", s,
			rc == GRAMMAR_RANGE ? " (too large)" : "");
	if (v < min || v > max)
		return fail_value(cfg, node, "%s is out of range [%llu, %llu] bytes", s,
				  (unsigned long long)min, (unsigned long long)max);
	*bytes = v;
	return 0;
}
