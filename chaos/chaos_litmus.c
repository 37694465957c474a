/* Reading a Litmus ChaosEngine with common/yamlcfg.c (the shared grammar
 * and file:line:column errors). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chaos_kind.h"
#include "chaos_litmus.h"
#include "log.h"
#include "yamlcfg.h"

/* The ChaosEngine document; errors go to the log at once, each naming
 * file:line:column like every other config reader's. */
struct litmus_doc {
	const char *path;
	struct yamlcfg y;
};

static int fail(struct litmus_doc *ld, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct litmus_doc *ld, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	ld->y.error[0] = 0;
	va_start(ap, fmt);
	yamlcfg_vfail(&ld->y, node, fmt, ap);
	va_end(ap);
	log_error("%s", ld->y.error);
	return -EINVAL;
}

static yaml_node_t *map_get(struct litmus_doc *ld, yaml_node_t *map, const char *key)
{
	return yamlcfg_get(&ld->y, map, key);
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
	if (env->type != YAML_SEQUENCE_NODE)
		return fail(ld, env, "components.env must be a list");
	for (yaml_node_item_t *item = env->data.sequence.items.start;
	     item < env->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(&ld->y.doc, *item);
		const char *name = scalar_at(ld, entry, "name"),
			   *value = scalar_at(ld, entry, "value");
		int rc;

		if (!name || !value)
			return fail(ld, entry, "env entries need name and value");
		rc = chaos_kind_of(exp)->apply_litmus_env(exp, name, value);
		if (rc < 0) {
			fail(ld, entry, "env %s rejected (see above)", name);
			return rc;
		}
		if (rc > 0)
			log_info("%s:%zu:%zu: env %s has no meaning on a node; ignored", ld->path,
				 entry->start_mark.line + 1, entry->start_mark.column + 1, name);
	}
	return 0;
}

static int apply_run_properties(struct litmus_doc *ld, yaml_node_t *props,
				struct chaos_probe *probe)
{
	static const char *const keys[] = { "probeTimeout", "interval", "retry" };
	char option[96];

	for (size_t i = 0; i < 3; i++) {
		const char *value = scalar_at(ld, props, keys[i]);
		struct chaos_probe scratch = *probe;
		char *tokens = option;

		if (!value)
			continue;
		snprintf(option, sizeof(option), "%s url=http://x status=200 %s=%s", probe->name,
			 i == 0 ? "timeout" : keys[i], value);
		if (chaos_probe_parse_cli(tokens, &scratch))
			return fail(ld, map_get(ld, props, keys[i]),
				    "runProperties.%s: '%s' is not valid", keys[i], value);
		if (i == 0)
			probe->timeout_ns = scratch.timeout_ns;
		else if (i == 1)
			probe->interval_ns = scratch.interval_ns;
		else
			probe->retries = scratch.retries;
	}
	probe->stop_on_failure = false;
	if (yamlcfg_bool(&ld->y, map_get(ld, props, "stopOnFailure"), &probe->stop_on_failure)) {
		log_error("%s", ld->y.error);
		return -EINVAL;
	}
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
	if (!type || strcmp(type, "httpProbe"))
		return fail(ld, node, "probe %s: type '%s' is not supported (only httpProbe)",
			    probe->name, type ? type : "(none)");
	url = scalar_at(ld, inputs, "url");
	get = map_get(ld, map_get(ld, inputs, "method"), "get");
	criteria = scalar_at(ld, get, "criteria");
	code = scalar_at(ld, get, "responseCode");
	if (!url || !criteria || !code)
		return fail(ld, node,
			    "probe %s: httpProbe/inputs needs url and method.get.criteria/"
			    "responseCode (only GET is supported)",
			    probe->name);
	snprintf(probe->url, sizeof(probe->url), "%s", url);
	if (chaos_probe_set_criteria(probe, criteria, code))
		return -EINVAL;
	mode_value = mode ? chaos_probe_parse_mode(mode) : CHAOS_PROBE_CONTINUOUS;
	if (mode_value < 0)
		return fail(ld, node,
			    "probe %s: mode '%s' is not SOT, EOT, Edge, Continuous or OnChaos",
			    probe->name, mode);
	probe->mode = (enum chaos_probe_mode)mode_value;
	return apply_run_properties(ld, map_get(ld, node, "runProperties"), probe);
}

static int parse_probes(struct litmus_doc *ld, yaml_node_t *list, struct chaos_experiment *exp)
{
	if (!list)
		return 0;
	if (list->type != YAML_SEQUENCE_NODE)
		return fail(ld, list, "probe must be a list");
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		if (exp->probe_count == CHAOS_MAX_PROBES) {
			fail(ld, list, "more than %d probes", CHAOS_MAX_PROBES);
			return -E2BIG;
		}
		if (parse_probe(ld, yaml_document_get_node(&ld->y.doc, *item),
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
	if (!name)
		return fail(ld, node, "experiment without a name");
	if (!strcmp(name, "pod-network-latency") || !strcmp(name, "pod-network-loss") ||
	    !strcmp(name, "node-network-latency")) {
		exp->kind = CHAOS_EXPERIMENT_DELAY;
		chaos_spec_init(&exp->delay);
		snprintf(exp->delay.name, sizeof(exp->delay.name), "%s", engine);
		if (overrides->interface)
			snprintf(exp->delay.ifname, sizeof(exp->delay.ifname), "%s",
				 overrides->interface);
	} else if (!strcmp(name, "pod-delete")) {
		exp->kind = CHAOS_EXPERIMENT_KILL;
		chaos_kill_spec_init(&exp->kill);
		snprintf(exp->kill.name, sizeof(exp->kill.name), "%s", engine);
		if (overrides->target)
			snprintf(exp->kill.target, sizeof(exp->kill.target), "%s",
				 overrides->target);
		else
			target_from_applabel(applabel, exp->kill.target, sizeof(exp->kill.target));
	} else {
		return fail(ld, node,
			    "experiment '%s' is not one seismo runs (pod-network-latency, "
			    "pod-network-loss, node-network-latency, pod-delete)",
			    name);
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
	yaml_node_t *root = yaml_document_get_root_node(&ld->y.doc);
	yaml_node_t *spec = map_get(ld, root, "spec"), *list = map_get(ld, spec, "experiments");
	const char *kind = scalar_at(ld, root, "kind");
	const char *engine = scalar_at(ld, map_get(ld, root, "metadata"), "name");
	const char *state = scalar_at(ld, spec, "engineState");
	const char *applabel = scalar_at(ld, map_get(ld, spec, "appinfo"), "applabel");

	if (!kind || strcmp(kind, "ChaosEngine"))
		return fail(ld, root, "kind is '%s', not ChaosEngine", kind ? kind : "(none)");
	if (state && strcmp(state, "active"))
		return fail(ld, map_get(ld, spec, "engineState"),
			    "engineState is '%s': nothing to run", state);
	if (!list || list->type != YAML_SEQUENCE_NODE)
		return fail(ld, spec, "spec.experiments must be a list");
	*count = 0;
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		if (*count == CHAOS_LITMUS_MAX_EXPERIMENTS) {
			fail(ld, list, "more than %d experiments", CHAOS_LITMUS_MAX_EXPERIMENTS);
			return -E2BIG;
		}
		if (parse_experiment(ld, yaml_document_get_node(&ld->y.doc, *item),
				     engine ? engine : "litmus", applabel, overrides,
				     &exps[*count]))
			return -EINVAL;
		(*count)++;
	}
	return 0;
}

int chaos_litmus_load(const char *path, const struct chaos_litmus_overrides *overrides,
		      struct chaos_experiment *exps, size_t *count)
{
	struct litmus_doc ld = { .path = path };
	int err;

	if (yamlcfg_load_file(&ld.y, path)) {
		if (ld.y.open_errno)
			log_error("chaos: opening %s: %s", path, strerror(ld.y.open_errno));
		else
			log_error("%s", ld.y.error);
		err = ld.y.open_errno ? -ld.y.open_errno : -EINVAL;
	} else {
		err = parse_engine(&ld, overrides, exps, count);
	}
	yamlcfg_free(&ld.y);
	return err;
}
