/*
 * Reads `actions:` and `runbooks:` from the correlator config (see
 * docs/runbooks.md). The walk reuses common/yamlcfg.c over the document
 * config.c already loaded, so messages carry the same file:line.
 * Long file: one walk over one section; its step kinds (exec, webhook,
 * kubernetes, agent) share the value readers at the top.
 */
#include "runbook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlcfg.h"

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int dup_str(struct yamlcfg *y, yaml_node_t *n, const char *what, char **out)
{
	if (!n)
		return 0;
	if (!scalar(n))
		return yamlcfg_fail(y, n, "%s must be a string", what);
	free(*out);
	*out = strdup(scalar(n));
	return *out ? 0 : yamlcfg_fail(y, n, "out of memory");
}

static int get_ms(struct yamlcfg *y, yaml_node_t *n, int64_t *ms)
{
	return yamlcfg_duration_ms(y, n, ms);
}

static int get_size(struct yamlcfg *y, yaml_node_t *n, uint64_t min, uint64_t max, long *out)
{
	uint64_t bytes;

	if (!n)
		return 0;
	if (yamlcfg_size(y, n, min, max, &bytes))
		return -1;
	*out = (long)bytes;
	return 0;
}

static int get_long(struct yamlcfg *y, yaml_node_t *n, long min, long max, long *out)
{
	unsigned long v;
	const char *s = scalar(n);

	if (!n)
		return 0;
	if (s && s[0] == '-') {
		char *end;
		long l = strtol(s, &end, 10);
		if (*end || l < min)
			return yamlcfg_fail(y, n, "\"%s\" is not an integer in %ld..%ld", s, min,
					    max);
		*out = l;
		return 0;
	}
	if (yamlcfg_uint(y, n, min > 0 ? (unsigned long)min : 0, (unsigned long)max, &v))
		return -1;
	*out = (long)v;
	return 0;
}

/* "10/1h": at most 10 per hour. */
static int get_rate(struct yamlcfg *y, yaml_node_t *n, long *count, int64_t *window_ms)
{
	const char *s = scalar(n);
	char *end;
	double sec;

	if (!n)
		return 0;
	if (!s)
		return yamlcfg_fail(y, n, "a rate limit must look like 10/1h");
	long c = strtol(s, &end, 10);
	if (end == s || *end != '/' || c < 1 || yamlcfg_parse_duration(end + 1, &sec) || sec <= 0)
		return yamlcfg_fail(y, n, "rate limit \"%s\" must look like 10/1h (count/window)",
				    s);
	*count = c;
	*window_ms = (int64_t)(sec * 1000.0);
	return 0;
}

static int parse_matchers(struct yamlcfg *y, yaml_node_t *n, struct corr_matchers *ms)
{
	char e[384];

	if (!n)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return yamlcfg_fail(y, n, "matchers must be a list like ['root_cause = api']");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *m = yaml_document_get_node(&y->doc, *it);
		if (!scalar(m))
			return yamlcfg_fail(y, m, "matchers: each matcher must be a string");
		if (corr_matchers_parse(ms, scalar(m), e, sizeof(e)))
			return yamlcfg_fail(y, m, "matchers: %s", e);
	}
	return 0;
}

static int parse_argv(struct yamlcfg *y, yaml_node_t *n, struct rb_step *st)
{
	if (!n || n->type != YAML_SEQUENCE_NODE || !n->data.sequence.items.top ||
	    n->data.sequence.items.top == n->data.sequence.items.start)
		return yamlcfg_fail(
			y, n, "exec: command must be a non-empty list: [/path/to/program, arg]");
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	st->argv = calloc(count + 1, sizeof(char *));
	if (!st->argv)
		return yamlcfg_fail(y, n, "out of memory");
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *a = yaml_document_get_node(&y->doc, n->data.sequence.items.start[i]);
		if (dup_str(y, a, "exec: command items", &st->argv[i]))
			return -1;
		st->argc++;
	}
	if (st->argv[0][0] != '/')
		return yamlcfg_fail(y, n, "exec: the program \"%s\" must be an absolute path",
				    st->argv[0]);
	return 0;
}

static int parse_kube(struct yamlcfg *y, yaml_node_t *n, struct rb_step *st)
{
	static const char *const keys[] = { "action",	    "resource", "namespace", "name",
					    "replicas",	    "add",	"min",	     "max",
					    "grace_period", "timeout",	NULL };
	char verb[32] = "";

	if (yamlcfg_check_keys(y, n, keys, "kubernetes") ||
	    yamlcfg_string(y, yamlcfg_get(y, n, "action"), verb, sizeof(verb)) ||
	    dup_str(y, yamlcfg_get(y, n, "resource"), "resource", &st->resource) ||
	    dup_str(y, yamlcfg_get(y, n, "namespace"), "namespace", &st->namespace_) ||
	    dup_str(y, yamlcfg_get(y, n, "name"), "name", &st->name))
		return -1;
	if (!strcmp(verb, "rollout-restart"))
		st->verb = RB_KUBE_ROLLOUT_RESTART;
	else if (!strcmp(verb, "scale"))
		st->verb = RB_KUBE_SCALE;
	else if (!strcmp(verb, "delete-pod"))
		st->verb = RB_KUBE_DELETE_POD;
	else if (!strcmp(verb, "cordon"))
		st->verb = RB_KUBE_CORDON;
	else
		return yamlcfg_fail(
			y, n,
			"kubernetes: action must be rollout-restart, scale, delete-pod or cordon, not \"%s\"",
			verb);
	if (!st->name)
		return yamlcfg_fail(y, n, "kubernetes %s: needs a name", verb);
	if (st->verb != RB_KUBE_CORDON && !st->namespace_)
		return yamlcfg_fail(y, n, "kubernetes %s: needs a namespace", verb);
	if (st->verb == RB_KUBE_ROLLOUT_RESTART || st->verb == RB_KUBE_SCALE) {
		if (!st->resource && !(st->resource = strdup("deployment")))
			return yamlcfg_fail(y, n, "out of memory");
		if (strcmp(st->resource, "deployment") && strcmp(st->resource, "statefulset") &&
		    (st->verb == RB_KUBE_SCALE || strcmp(st->resource, "daemonset")))
			return yamlcfg_fail(
				y, n,
				"kubernetes %s: resource \"%s\" must be deployment, statefulset%s",
				verb, st->resource,
				st->verb == RB_KUBE_SCALE ? "" : " or daemonset");
	} else if (st->resource) {
		return yamlcfg_fail(y, n, "kubernetes %s: takes no resource", verb);
	}
	yaml_node_t *rep = yamlcfg_get(y, n, "replicas"), *add = yamlcfg_get(y, n, "add");
	st->min_replicas = 0;
	st->max_replicas = 1000;
	st->grace_seconds = -1;
	if (get_long(y, rep, 0, 100000, &st->replicas) || get_long(y, add, -1000, 1000, &st->add) ||
	    get_long(y, yamlcfg_get(y, n, "min"), 0, 100000, &st->min_replicas) ||
	    get_long(y, yamlcfg_get(y, n, "max"), 0, 100000, &st->max_replicas))
		return -1;
	st->has_replicas = rep != NULL;
	st->has_add = add != NULL;
	if (st->verb == RB_KUBE_SCALE) {
		if (st->has_replicas == st->has_add)
			return yamlcfg_fail(
				y, n,
				"kubernetes scale: give either replicas (set) or add (change)");
		if (st->min_replicas > st->max_replicas)
			return yamlcfg_fail(y, n, "kubernetes scale: min %ld is above max %ld",
					    st->min_replicas, st->max_replicas);
	} else if (rep || add || yamlcfg_get(y, n, "min") || yamlcfg_get(y, n, "max")) {
		return yamlcfg_fail(y, n,
				    "kubernetes %s: replicas, add, min and max belong to scale",
				    verb);
	}
	yaml_node_t *gp = yamlcfg_get(y, n, "grace_period");
	if (gp) {
		double s;
		if (st->verb != RB_KUBE_DELETE_POD)
			return yamlcfg_fail(y, gp, "grace_period belongs to delete-pod");
		if (yamlcfg_duration(y, gp, &s))
			return -1;
		st->grace_seconds = (long)s;
	}
	return 0;
}

static int parse_step(struct yamlcfg *y, yaml_node_t *n, struct rb_step *st)
{
	if (!n || n->type != YAML_MAPPING_NODE ||
	    n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
		return yamlcfg_fail(
			y, n,
			"each action is one of {webhook: ...}, {exec: ...}, {kubernetes: ...}, {agent: ...}");
	const char *kind =
		scalar(yaml_document_get_node(&y->doc, n->data.mapping.pairs.start->key));
	yaml_node_t *v = yaml_document_get_node(&y->doc, n->data.mapping.pairs.start->value);
	st->line = (int)n->start_mark.line + 1;
	st->timeout_ms = 10000;
	if (!v || v->type != YAML_MAPPING_NODE)
		return yamlcfg_fail(y, v ? v : n, "%s: its settings must be a mapping",
				    kind ? kind : "action");
	if (get_ms(y, yamlcfg_get(y, v, "timeout"), &st->timeout_ms))
		return -1;
	if (st->timeout_ms <= 0)
		return yamlcfg_fail(y, v, "timeout must be positive");
	if (kind && !strcmp(kind, "webhook")) {
		static const char *const keys[] = { "url", "timeout", NULL };
		st->kind = RB_WEBHOOK;
		if (yamlcfg_check_keys(y, v, keys, "webhook") ||
		    dup_str(y, yamlcfg_get(y, v, "url"), "url", &st->url))
			return -1;
		if (!st->url || (strncmp(st->url, "http://", 7) && strncmp(st->url, "https://", 8)))
			return yamlcfg_fail(y, v, "webhook: needs an http:// or https:// url");
		return 0;
	}
	if (kind && !strcmp(kind, "exec")) {
		static const char *const keys[] = { "command", "timeout", NULL };
		st->kind = RB_EXEC;
		if (st->timeout_ms == 10000)
			st->timeout_ms = 60000;
		return yamlcfg_check_keys(y, v, keys, "exec") ||
		       parse_argv(y, yamlcfg_get(y, v, "command"), st);
	}
	if (kind && !strcmp(kind, "kubernetes")) {
		st->kind = RB_KUBERNETES;
		return parse_kube(y, v, st);
	}
	if (kind && !strcmp(kind, "agent")) {
		static const char *const keys[] = { "url",	  "action",  "unit",
						    "experiment", "timeout", NULL };
		st->kind = RB_AGENT;
		if (yamlcfg_check_keys(y, v, keys, "agent") ||
		    dup_str(y, yamlcfg_get(y, v, "url"), "url", &st->url) ||
		    dup_str(y, yamlcfg_get(y, v, "action"), "action", &st->agent_action))
			return -1;
		if (!st->url)
			return yamlcfg_fail(
				y, v, "agent: needs the agent's url, e.g. http://${node}:9464");
		const char *argkey = NULL;
		if (st->agent_action && !strcmp(st->agent_action, "systemd-restart"))
			argkey = "unit";
		else if (st->agent_action && !strcmp(st->agent_action, "chaos-stop"))
			argkey = "experiment";
		else
			return yamlcfg_fail(y, v,
					    "agent: action must be systemd-restart or chaos-stop");
		if (dup_str(y, yamlcfg_get(y, v, argkey), argkey, &st->agent_arg))
			return -1;
		if (!st->agent_arg)
			return yamlcfg_fail(y, v, "agent %s: needs %s", st->agent_action, argkey);
		if (yamlcfg_get(y, v, !strcmp(argkey, "unit") ? "experiment" : "unit"))
			return yamlcfg_fail(y, v, "agent %s: takes %s only", st->agent_action,
					    argkey);
		return 0;
	}
	return yamlcfg_fail(y, n, "unknown action kind \"%s\" (webhook, exec, kubernetes or agent)",
			    kind ? kind : "?");
}

static int parse_runbook(struct yamlcfg *y, yaml_node_t *n, struct corr_runbook *rb)
{
	static const char *const keys[] = {
		"name",		 "matchers",	     "mode",	 "actions",    "enabled",
		"dry_run",	 "max_per_incident", "target",	 "rate_limit", "approval_ttl",
		"verify_within", "circuit_breaker",  "escalate", NULL
	};
	static const char *const rate_keys[] = { "runbook", "target", NULL };
	static const char *const breaker_keys[] = { "failures", "unresolved", NULL };
	char mode[16] = "";

	rb->line = (int)n->start_mark.line + 1;
	rb->enabled = true;
	rb->max_per_incident = 1;
	rb->approval_ttl_ms = 30 * 60000;
	rb->verify_within_ms = 10 * 60000;
	rb->breaker_failures = 3;
	rb->breaker_unresolved = 3;
	if (n->type != YAML_MAPPING_NODE)
		return yamlcfg_fail(y, n, "each runbook must be a mapping");
	if (yamlcfg_check_keys(y, n, keys, "runbook") ||
	    dup_str(y, yamlcfg_get(y, n, "name"), "name", &rb->name) ||
	    parse_matchers(y, yamlcfg_get(y, n, "matchers"), &rb->matchers) ||
	    yamlcfg_string(y, yamlcfg_get(y, n, "mode"), mode, sizeof(mode)) ||
	    yamlcfg_bool(y, yamlcfg_get(y, n, "enabled"), &rb->enabled) ||
	    yamlcfg_bool(y, yamlcfg_get(y, n, "dry_run"), &rb->dry_run) ||
	    dup_str(y, yamlcfg_get(y, n, "target"), "target", &rb->target) ||
	    dup_str(y, yamlcfg_get(y, n, "escalate"), "escalate", &rb->escalate) ||
	    get_ms(y, yamlcfg_get(y, n, "approval_ttl"), &rb->approval_ttl_ms) ||
	    get_ms(y, yamlcfg_get(y, n, "verify_within"), &rb->verify_within_ms))
		return -1;
	if (!rb->name || !rb->name[0])
		return yamlcfg_fail(y, n, "runbook without a name");
	for (const char *c = rb->name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return yamlcfg_fail(y, n, "runbook name \"%s\": use letters, digits, - _ .",
					    rb->name);
	if (!rb->matchers.n)
		return yamlcfg_fail(
			y, n,
			"runbook %s: needs matchers (an empty list would match every incident)",
			rb->name);
	if (!strcmp(mode, "suggest"))
		rb->mode = RB_SUGGEST;
	else if (!strcmp(mode, "approve"))
		rb->mode = RB_APPROVE;
	else if (!strcmp(mode, "auto"))
		rb->mode = RB_AUTO;
	else
		return yamlcfg_fail(y, yamlcfg_get(y, n, "mode") ? yamlcfg_get(y, n, "mode") : n,
				    "runbook %s: mode must be suggest, approve or auto", rb->name);
	long mpi = 1;
	if (get_long(y, yamlcfg_get(y, n, "max_per_incident"), 1, 100, &mpi))
		return -1;
	rb->max_per_incident = (int)mpi;
	if (!rb->target && !(rb->target = strdup("${service}")))
		return yamlcfg_fail(y, n, "out of memory");
	yaml_node_t *rl = yamlcfg_get(y, n, "rate_limit");
	if (rl &&
	    (yamlcfg_check_keys(y, rl, rate_keys, "rate_limit") ||
	     get_rate(y, yamlcfg_get(y, rl, "runbook"), &rb->rate_runbook_n,
		      &rb->rate_runbook_ms) ||
	     get_rate(y, yamlcfg_get(y, rl, "target"), &rb->rate_target_n, &rb->rate_target_ms)))
		return -1;
	yaml_node_t *cb = yamlcfg_get(y, n, "circuit_breaker");
	if (cb && (yamlcfg_check_keys(y, cb, breaker_keys, "circuit_breaker") ||
		   get_long(y, yamlcfg_get(y, cb, "failures"), 0, 1000, &rb->breaker_failures) ||
		   get_long(y, yamlcfg_get(y, cb, "unresolved"), 0, 1000, &rb->breaker_unresolved)))
		return -1;
	if (rb->approval_ttl_ms <= 0 || rb->verify_within_ms <= 0)
		return yamlcfg_fail(y, n,
				    "runbook %s: approval_ttl and verify_within must be positive",
				    rb->name);
	yaml_node_t *acts = yamlcfg_get(y, n, "actions");
	if (!acts || acts->type != YAML_SEQUENCE_NODE ||
	    acts->data.sequence.items.top == acts->data.sequence.items.start)
		return yamlcfg_fail(y, acts ? acts : n,
				    "runbook %s: needs a non-empty list of actions", rb->name);
	size_t count = (size_t)(acts->data.sequence.items.top - acts->data.sequence.items.start);
	rb->steps = calloc(count, sizeof(*rb->steps));
	if (!rb->steps)
		return yamlcfg_fail(y, acts, "out of memory");
	for (size_t i = 0; i < count; i++) {
		rb->n_steps++;
		if (parse_step(y,
			       yaml_document_get_node(&y->doc, acts->data.sequence.items.start[i]),
			       &rb->steps[i]))
			return -1;
	}
	return 0;
}

static int parse_settings(struct yamlcfg *y, yaml_node_t *n, struct corr_runbooks *rbs)
{
	static const char *const keys[] = {
		"max_concurrent",   "kill_switch_file", "escalate", "kubernetes",
		"agent_token_file", "max_output_bytes", NULL
	};
	static const char *const kube_keys[] = { "api_server", "token_file", "ca_file",
						 "insecure_skip_verify", NULL };

	if (!n)
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return yamlcfg_fail(y, n, "actions must be a mapping");
	if (yamlcfg_check_keys(y, n, keys, "actions") ||
	    get_long(y, yamlcfg_get(y, n, "max_concurrent"), 1, 256, &rbs->max_concurrent) ||
	    get_size(y, yamlcfg_get(y, n, "max_output_bytes"), 256, 16 << 20,
		     &rbs->max_output_bytes) ||
	    dup_str(y, yamlcfg_get(y, n, "kill_switch_file"), "kill_switch_file",
		    &rbs->kill_switch_file) ||
	    dup_str(y, yamlcfg_get(y, n, "escalate"), "escalate", &rbs->escalate) ||
	    dup_str(y, yamlcfg_get(y, n, "agent_token_file"), "agent_token_file",
		    &rbs->agent_token_file))
		return -1;
	yaml_node_t *k = yamlcfg_get(y, n, "kubernetes");
	if (k &&
	    (yamlcfg_check_keys(y, k, kube_keys, "actions.kubernetes") ||
	     dup_str(y, yamlcfg_get(y, k, "api_server"), "api_server", &rbs->kube_api) ||
	     dup_str(y, yamlcfg_get(y, k, "token_file"), "token_file", &rbs->kube_token_file) ||
	     dup_str(y, yamlcfg_get(y, k, "ca_file"), "ca_file", &rbs->kube_ca_file) ||
	     yamlcfg_bool(y, yamlcfg_get(y, k, "insecure_skip_verify"), &rbs->kube_insecure)))
		return -1;
	return 0;
}

static int check_receivers(struct yamlcfg *y, yaml_node_t *actions, yaml_node_t *runbooks,
			   struct corr_runbooks *rbs,
			   bool (*has_receiver)(void *arg, const char *name), void *arg)
{
	if (rbs->escalate && !has_receiver(arg, rbs->escalate))
		return yamlcfg_fail(y, yamlcfg_get(y, actions, "escalate"),
				    "actions.escalate: undefined receiver \"%s\"", rbs->escalate);
	for (size_t i = 0; i < rbs->n; i++) {
		struct corr_runbook *rb = &rbs->v[i];
		yaml_node_t *n =
			yaml_document_get_node(&y->doc, runbooks->data.sequence.items.start[i]);
		if (rb->escalate && !has_receiver(arg, rb->escalate))
			return yamlcfg_fail(y, yamlcfg_get(y, n, "escalate"),
					    "runbook %s: escalate names undefined receiver \"%s\"",
					    rb->name, rb->escalate);
		/* An approval nobody hears about expires silently: refuse that. */
		if (rb->mode == RB_APPROVE && !rb->escalate && !rbs->escalate)
			return yamlcfg_fail(
				y, n,
				"runbook %s: mode approve needs an escalate receiver (here or in actions.escalate) for expired approvals",
				rb->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(rbs->v[j].name, rb->name))
				return yamlcfg_fail(y, n, "runbook \"%s\" defined twice", rb->name);
	}
	return 0;
}

struct corr_runbooks *corr_runbooks_parse(yaml_document_t *doc, yaml_node_t *actions,
					  yaml_node_t *runbooks, const char *name,
					  bool (*has_receiver)(void *arg, const char *name),
					  void *arg, char *err, size_t errlen)
{
	/* A view of the caller's document: never freed here. */
	struct yamlcfg y = { .doc = *doc, .file = name };
	struct corr_runbooks *rbs = calloc(1, sizeof(*rbs));

	if (!rbs) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	rbs->max_concurrent = 4;
	rbs->max_output_bytes = 65536;
	if (parse_settings(&y, actions, rbs))
		goto fail;
	if (runbooks) {
		if (runbooks->type != YAML_SEQUENCE_NODE) {
			yamlcfg_fail(&y, runbooks, "runbooks must be a list");
			goto fail;
		}
		size_t count = (size_t)(runbooks->data.sequence.items.top -
					runbooks->data.sequence.items.start);
		rbs->v = calloc(count + 1, sizeof(*rbs->v));
		if (!rbs->v) {
			yamlcfg_fail(&y, runbooks, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < count; i++) {
			rbs->n++;
			if (parse_runbook(&y,
					  yaml_document_get_node(
						  doc, runbooks->data.sequence.items.start[i]),
					  &rbs->v[i]))
				goto fail;
		}
		if (check_receivers(&y, actions, runbooks, rbs, has_receiver, arg))
			goto fail;
	}
	return rbs;
fail:
	snprintf(err, errlen, "%s", y.error);
	corr_runbooks_free(rbs);
	return NULL;
}

static void free_step(struct rb_step *st)
{
	for (size_t i = 0; i < st->argc; i++)
		free(st->argv[i]);
	free(st->argv);
	free(st->url);
	free(st->resource);
	free(st->namespace_);
	free(st->name);
	free(st->agent_action);
	free(st->agent_arg);
}

void corr_runbooks_free(struct corr_runbooks *rbs)
{
	if (!rbs)
		return;
	for (size_t i = 0; i < rbs->n; i++) {
		struct corr_runbook *rb = &rbs->v[i];
		for (size_t j = 0; j < rb->n_steps; j++)
			free_step(&rb->steps[j]);
		free(rb->steps);
		corr_matchers_free(&rb->matchers);
		free(rb->name);
		free(rb->target);
		free(rb->escalate);
	}
	free(rbs->v);
	free(rbs->kill_switch_file);
	free(rbs->escalate);
	free(rbs->kube_api);
	free(rbs->kube_token_file);
	free(rbs->kube_ca_file);
	free(rbs->agent_token_file);
	free(rbs);
}
