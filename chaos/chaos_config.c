/* The agent config's chaos section, read with common/yamlcfg.c: the same
 * grammar and file:line:column errors as the rest of the agent config. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chaos_config.h"
#include "grammar.h"
#include "log.h"
#include "yamlcfg.h"

void chaos_limits_defaults(struct chaos_limits *limits)
{
	memset(limits, 0, sizeof(*limits));
	limits->enabled = true;
	limits->max_latency_ns = 10ULL * 1000000000ULL;
	limits->max_duration_ns = 3600ULL * 1000000000ULL;
	snprintf(limits->source, sizeof(limits->source), "built-in defaults");
}

/* max_latency and max_duration took bare numbers (ms and s) before the
 * grammar was shared; they still do, with a nudge to write the unit. */
static int read_limit(struct yamlcfg *y, yaml_node_t *section, const char *key,
		      int64_t bare_unit_ns, uint64_t *out_ns)
{
	yaml_node_t *node = yamlcfg_get(y, section, key);
	int64_t ns, unused;

	if (!node)
		return 0;
	if (yamlcfg_duration_ns(y, node, bare_unit_ns, &ns))
		return -1;
	if (grammar_duration((const char *)node->data.scalar.value, 0, &unused) == GRAMMAR_NO_UNIT)
		log_warn("%s:%zu:%zu: chaos.%s: '%s' has no unit, read as %s (write the unit)",
			 y->file, node->start_mark.line + 1, node->start_mark.column + 1, key,
			 (const char *)node->data.scalar.value,
			 bare_unit_ns == GRAMMAR_NS_PER_MS ? "milliseconds" : "seconds");
	*out_ns = (uint64_t)ns;
	return 0;
}

static int apply_section(struct yamlcfg *y, yaml_node_t *section, struct chaos_limits *limits)
{
	static const char *const known[] = { "enabled", "max_latency", "max_duration" };

	if (!section)
		return 0;
	if (section->type != YAML_MAPPING_NODE)
		return yamlcfg_fail(y, section, "chaos must be a mapping");
	/* Unknown keys warn rather than fail: an older chaos CLI must still run
	 * against a newer node's config. */
	for (yaml_node_pair_t *p = section->data.mapping.pairs.start;
	     p < section->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(&y->doc, p->key);
		const char *name =
			kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "?";
		bool ok = false;

		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= !strcmp(name, known[i]);
		if (!ok)
			log_warn("%s:%zu:%zu: unknown field chaos.%s ignored", y->file,
				 kn->start_mark.line + 1, kn->start_mark.column + 1, name);
	}
	return yamlcfg_bool(y, yamlcfg_get(y, section, "enabled"), &limits->enabled) ||
	       read_limit(y, section, "max_latency", GRAMMAR_NS_PER_MS, &limits->max_latency_ns) ||
	       read_limit(y, section, "max_duration", GRAMMAR_NS_PER_S, &limits->max_duration_ns);
}

int chaos_limits_load(const char *path, bool required, struct chaos_limits *limits)
{
	struct yamlcfg y;
	int err = 0;

	chaos_limits_defaults(limits);
	if (yamlcfg_load_file(&y, path)) {
		if (y.open_errno == ENOENT && !required)
			return 0;
		err = y.open_errno ? -y.open_errno : -EINVAL;
		if (y.open_errno)
			log_error("chaos: opening config %s: %s", path, strerror(y.open_errno));
		else
			log_error("%s", y.error);
	} else if (apply_section(&y, yamlcfg_get(&y, yamlcfg_root(&y), "chaos"), limits)) {
		log_error("%s", y.error);
		err = -EINVAL;
	} else {
		snprintf(limits->source, sizeof(limits->source), "%s", path);
	}
	yamlcfg_free(&y);
	return err;
}
