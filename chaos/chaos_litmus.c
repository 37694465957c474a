/* Reading a Litmus ChaosEngine with libyaml's document API. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "chaos_litmus.h"
#include "log.h"

struct litmus_doc {
	const char *path;
	yaml_document_t doc;
};

static unsigned long line_of(const yaml_node_t *node)
{
	return node ? (unsigned long)node->start_mark.line + 1 : 0;
}

static yaml_node_t *map_get(struct litmus_doc *ld, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(&ld->doc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(&ld->doc, pair->value);
	}
	return NULL;
}

static const char *scalar_at(struct litmus_doc *ld, yaml_node_t *map, const char *key)
{
	yaml_node_t *node = map_get(ld, map, key);

	return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value
						      : NULL;
}

/* Litmus env entries: "- name: X\n  value: Y"; each handed to apply(). */
static int apply_env(struct litmus_doc *ld, yaml_node_t *env, struct chaos_experiment *exp)
{
	if (!env)
		return 0;
	if (env->type != YAML_SEQUENCE_NODE) {
		log_error("%s:%lu: components.env must be a list", ld->path, line_of(env));
		return -EINVAL;
	}
	for (yaml_node_item_t *item = env->data.sequence.items.start;
	     item < env->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(&ld->doc, *item);
		const char *name = scalar_at(ld, entry, "name"), *value = scalar_at(ld, entry, "value");
		int rc;

		if (!name || !value) {
			log_error("%s:%lu: env entries need name and value", ld->path, line_of(entry));
			return -EINVAL;
		}
		rc = exp->kind == CHAOS_EXPERIMENT_DELAY
			     ? chaos_spec_apply_litmus_env(&exp->delay, name, value)
			     : chaos_kill_apply_litmus_env(&exp->kill, name, value);
		if (rc < 0) {
			log_error("%s:%lu: env %s rejected (see above)", ld->path, line_of(entry), name);
			return rc;
		}
		if (rc > 0)
			log_info("%s:%lu: env %s has no meaning on a node; ignored", ld->path,
				 line_of(entry), name);
	}
	return 0;
}

static int apply_run_properties(struct litmus_doc *ld, yaml_node_t *props,
				struct chaos_probe *probe)
{
	static const char *const keys[] = { "probeTimeout", "interval", "retry" };
	const char *stop = scalar_at(ld, props, "stopOnFailure");
	char option[96];

	for (size_t i = 0; i < 3; i++) {
		const char *value = scalar_at(ld, props, keys[i]);
		struct chaos_probe scratch = *probe;
		char *tokens = option;

		if (!value)
			continue;
		snprintf(option, sizeof(option), "%s url=http://x status=200 %s=%s", probe->name,
			 i == 0 ? "timeout" : keys[i], value);
		if (chaos_probe_parse_cli(tokens, &scratch)) {
			log_error("%s:%lu: runProperties.%s: '%s' is not valid", ld->path,
				  line_of(props), keys[i], value);
			return -EINVAL;
		}
		if (i == 0)
			probe->timeout_ns = scratch.timeout_ns;
		else if (i == 1)
			probe->interval_ns = scratch.interval_ns;
		else
			probe->retries = scratch.retries;
	}
	probe->stop_on_failure = stop && !strcasecmp(stop, "true");
	return 0;
}

static int parse_probe(struct litmus_doc *ld, yaml_node_t *node, struct chaos_probe *probe)
{
	const char *name = scalar_at(ld, node, "name"), *type = scalar_at(ld, node, "type");
	const char *mode = scalar_at(ld, node, "mode"), *url, *criteria, *code;
	yaml_node_t *inputs = map_get(ld, node, "httpProbe/inputs"), *get;
	int mode_value;

	chaos_probe_init(probe);
	if (name)
		snprintf(probe->name, sizeof(probe->name), "%s", name);
	if (!type || strcmp(type, "httpProbe")) {
		log_error("%s:%lu: probe %s: type '%s' is not supported (only httpProbe)", ld->path,
			  line_of(node), probe->name, type ? type : "(none)");
		return -EINVAL;
	}
	url = scalar_at(ld, inputs, "url");
	get = map_get(ld, map_get(ld, inputs, "method"), "get");
	criteria = scalar_at(ld, get, "criteria");
	code = scalar_at(ld, get, "responseCode");
	if (!url || !criteria || !code) {
		log_error("%s:%lu: probe %s: httpProbe/inputs needs url and method.get.criteria/"
			  "responseCode (only GET is supported)",
			  ld->path, line_of(node), probe->name);
		return -EINVAL;
	}
	snprintf(probe->url, sizeof(probe->url), "%s", url);
	if (chaos_probe_set_criteria(probe, criteria, code))
		return -EINVAL;
	mode_value = mode ? chaos_probe_parse_mode(mode) : CHAOS_PROBE_CONTINUOUS;
	if (mode_value < 0) {
		log_error("%s:%lu: probe %s: mode '%s' is not SOT, EOT, Edge, Continuous or OnChaos",
			  ld->path, line_of(node), probe->name, mode);
		return -EINVAL;
	}
	probe->mode = (enum chaos_probe_mode)mode_value;
	return apply_run_properties(ld, map_get(ld, node, "runProperties"), probe);
}

static int parse_probes(struct litmus_doc *ld, yaml_node_t *list, struct chaos_experiment *exp)
{
	if (!list)
		return 0;
	if (list->type != YAML_SEQUENCE_NODE) {
		log_error("%s:%lu: probe must be a list", ld->path, line_of(list));
		return -EINVAL;
	}
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		if (exp->probe_count == CHAOS_MAX_PROBES) {
			log_error("%s:%lu: more than %d probes", ld->path, line_of(list),
				  CHAOS_MAX_PROBES);
			return -E2BIG;
		}
		if (parse_probe(ld, yaml_document_get_node(&ld->doc, *item),
				&exp->probes[exp->probe_count]))
			return -EINVAL;
		exp->probe_count++;
	}
	return 0;
}

/* The target service of pod-delete: "app=payment-service" -> payment-service.service */
static void target_from_applabel(const char *applabel, char *out, size_t len)
{
	const char *eq = applabel ? strchr(applabel, '=') : NULL;

	if (eq)
		snprintf(out, len, "%s.service", eq + 1);
}

static int parse_experiment(struct litmus_doc *ld, yaml_node_t *node, const char *engine,
			    const char *applabel, const struct chaos_litmus_overrides *overrides,
			    struct chaos_experiment *exp)
{
	const char *name = scalar_at(ld, node, "name");
	yaml_node_t *spec = map_get(ld, node, "spec");
	int err;

	memset(exp, 0, sizeof(*exp));
	if (!name) {
		log_error("%s:%lu: experiment without a name", ld->path, line_of(node));
		return -EINVAL;
	}
	if (!strcmp(name, "pod-network-latency") || !strcmp(name, "pod-network-loss") ||
	    !strcmp(name, "node-network-latency")) {
		exp->kind = CHAOS_EXPERIMENT_DELAY;
		chaos_spec_init(&exp->delay);
		snprintf(exp->delay.name, sizeof(exp->delay.name), "%s", engine);
		if (overrides->interface)
			snprintf(exp->delay.ifname, sizeof(exp->delay.ifname), "%s", overrides->interface);
	} else if (!strcmp(name, "pod-delete")) {
		exp->kind = CHAOS_EXPERIMENT_KILL;
		chaos_kill_spec_init(&exp->kill);
		snprintf(exp->kill.name, sizeof(exp->kill.name), "%s", engine);
		if (overrides->target)
			snprintf(exp->kill.target, sizeof(exp->kill.target), "%s", overrides->target);
		else
			target_from_applabel(applabel, exp->kill.target, sizeof(exp->kill.target));
	} else {
		log_error("%s:%lu: experiment '%s' is not one seismo runs (pod-network-latency, "
			  "pod-network-loss, node-network-latency, pod-delete)",
			  ld->path, line_of(node), name);
		return -EINVAL;
	}
	err = apply_env(ld, map_get(ld, map_get(ld, spec, "components"), "env"), exp);
	if (!err)
		err = parse_probes(ld, map_get(ld, spec, "probe"), exp);
	/* the interface override wins over NETWORK_INTERFACE in the file */
	if (!err && exp->kind == CHAOS_EXPERIMENT_DELAY && overrides->interface)
		snprintf(exp->delay.ifname, sizeof(exp->delay.ifname), "%s", overrides->interface);
	return err;
}

static int parse_engine(struct litmus_doc *ld, const struct chaos_litmus_overrides *overrides,
			struct chaos_experiment *exps, size_t *count)
{
	yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
	yaml_node_t *spec = map_get(ld, root, "spec"), *list = map_get(ld, spec, "experiments");
	const char *kind = scalar_at(ld, root, "kind");
	const char *engine = scalar_at(ld, map_get(ld, root, "metadata"), "name");
	const char *state = scalar_at(ld, spec, "engineState");
	const char *applabel = scalar_at(ld, map_get(ld, spec, "appinfo"), "applabel");

	if (!kind || strcmp(kind, "ChaosEngine")) {
		log_error("%s:%lu: kind is '%s', not ChaosEngine", ld->path, line_of(root),
			  kind ? kind : "(none)");
		return -EINVAL;
	}
	if (state && strcmp(state, "active")) {
		log_error("%s:%lu: engineState is '%s': nothing to run", ld->path,
			  line_of(map_get(ld, spec, "engineState")), state);
		return -EINVAL;
	}
	if (!list || list->type != YAML_SEQUENCE_NODE) {
		log_error("%s:%lu: spec.experiments must be a list", ld->path, line_of(spec));
		return -EINVAL;
	}
	*count = 0;
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		if (*count == CHAOS_LITMUS_MAX_EXPERIMENTS) {
			log_error("%s: more than %d experiments", ld->path, CHAOS_LITMUS_MAX_EXPERIMENTS);
			return -E2BIG;
		}
		if (parse_experiment(ld, yaml_document_get_node(&ld->doc, *item),
				     engine ? engine : "litmus", applabel, overrides, &exps[*count]))
			return -EINVAL;
		(*count)++;
	}
	return 0;
}

int chaos_litmus_load(const char *path, const struct chaos_litmus_overrides *overrides,
		      struct chaos_experiment *exps, size_t *count)
{
	struct litmus_doc ld = { .path = path };
	yaml_parser_t parser;
	FILE *file = fopen(path, "r");
	int err;

	if (!file) {
		log_error("chaos: opening %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(file);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, file);
	if (!yaml_parser_load(&parser, &ld.doc)) {
		log_error("%s:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
			  parser.problem ? parser.problem : "YAML syntax error");
		err = -EINVAL;
	} else {
		err = parse_engine(&ld, overrides, exps, count);
		yaml_document_delete(&ld.doc);
	}
	yaml_parser_delete(&parser);
	fclose(file);
	return err;
}
