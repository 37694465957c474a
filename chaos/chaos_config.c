/* The agent config's chaos section, read with libyaml's document API. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "chaos_config.h"
#include "chaos_spec.h"
#include "log.h"

void chaos_limits_defaults(struct chaos_limits *limits)
{
	memset(limits, 0, sizeof(*limits));
	limits->enabled = true;
	limits->max_latency_ns = 10ULL * 1000000000ULL;
	limits->max_duration_ns = 3600ULL * 1000000000ULL;
	snprintf(limits->source, sizeof(limits->source), "built-in defaults");
}

static const char *scalar(yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static int parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(text, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(text, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int apply_chaos_field(const char *path, yaml_node_t *key, yaml_node_t *value,
			     struct chaos_limits *limits)
{
	const char *name = scalar(key), *text = scalar(value);
	unsigned long line = value->start_mark.line + 1;
	int err = 0;

	if (!name)
		return 0;
	if (!text) {
		log_error("%s:%lu: chaos.%s must be a scalar", path, line, name);
		return -EINVAL;
	}
	if (!strcmp(name, "enabled"))
		err = parse_bool(text, &limits->enabled);
	else if (!strcmp(name, "max_latency"))
		err = chaos_parse_duration(text, 1000000ULL, &limits->max_latency_ns);
	else if (!strcmp(name, "max_duration"))
		err = chaos_parse_duration(text, 1000000000ULL, &limits->max_duration_ns);
	else
		log_warn("%s:%lu: unknown field chaos.%s ignored", path, line, name);
	if (err)
		log_error("%s:%lu: chaos.%s: '%s' is not a valid %s", path, line, name, text,
			  strcmp(name, "enabled") ? "duration (e.g. 10s, 500ms)" : "boolean");
	return err ? -EINVAL : 0;
}

static int apply_document(const char *path, yaml_document_t *doc, struct chaos_limits *limits)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	yaml_node_pair_t *pair, *inner;

	if (!root)
		return 0; /* empty file: defaults */
	if (root->type != YAML_MAPPING_NODE) {
		log_error("%s:%lu: the agent config must be a mapping", path,
			  (unsigned long)root->start_mark.line + 1);
		return -EINVAL;
	}
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		const char *name = scalar(yaml_document_get_node(doc, pair->key));
		yaml_node_t *section = yaml_document_get_node(doc, pair->value);

		if (!name || strcmp(name, "chaos"))
			continue;
		if (section->type != YAML_MAPPING_NODE) {
			log_error("%s:%lu: chaos must be a mapping", path,
				  (unsigned long)section->start_mark.line + 1);
			return -EINVAL;
		}
		for (inner = section->data.mapping.pairs.start;
		     inner < section->data.mapping.pairs.top; inner++) {
			int err = apply_chaos_field(path, yaml_document_get_node(doc, inner->key),
						    yaml_document_get_node(doc, inner->value),
						    limits);
			if (err)
				return err;
		}
	}
	return 0;
}

int chaos_limits_load(const char *path, bool required, struct chaos_limits *limits)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *file;
	int err;

	chaos_limits_defaults(limits);
	file = fopen(path, "r");
	if (!file) {
		if (errno == ENOENT && !required)
			return 0;
		log_error("chaos: opening config %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(file);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, file);
	if (!yaml_parser_load(&parser, &doc)) {
		log_error("%s:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
			  parser.problem ? parser.problem : "YAML syntax error");
		err = -EINVAL;
		goto out_parser;
	}
	err = apply_document(path, &doc, limits);
	if (!err)
		snprintf(limits->source, sizeof(limits->source), "%s", path);
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	fclose(file);
	return err;
}
