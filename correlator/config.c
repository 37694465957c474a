#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "runbook.h"
#include "util.h"
#include "yamlcfg.h"

/* Everything the walk over one YAML document needs. The document, its
 * errors ("file:line:column: ...") and the scalar grammar are common/
 * yamlcfg.c's, shared with every other config reader. */
struct cfg_parse {
	struct yamlcfg y;
	struct corr_config *cfg;
	const char *name;
};

static int fail(struct cfg_parse *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct cfg_parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yamlcfg_vfail(&p->y, n, fmt, ap);
	va_end(ap);
	return -1;
}

static void warn(struct cfg_parse *p, const yaml_node_t *n, const char *what)
{
	log_warn("config %s:%zu:%zu: %s", p->name, n ? n->start_mark.line + 1 : 0,
		 n ? n->start_mark.column + 1 : 0, what);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(struct cfg_parse *p, int id)
{
	return yaml_document_get_node(&p->y.doc, id);
}

/* Calls fn for each key of a mapping; fn returns 0 or -1. */
typedef int (*pair_fn)(struct cfg_parse *p, const char *key, yaml_node_t *key_node,
		       yaml_node_t *val, void *arg);

static int each_pair(struct cfg_parse *p, yaml_node_t *map, const char *what,
		     pair_fn fn, void *arg)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return fail(p, map, "%s must be a mapping", what);
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		const char *key = scalar(k);
		if (!key)
			return fail(p, k, "%s: keys must be scalars", what);
		if (fn(p, key, k, v, arg))
			return -1;
	}
	return 0;
}

static int get_str(struct cfg_parse *p, yaml_node_t *v, const char *key, char **out)
{
	const char *s = scalar(v);

	if (!s)
		return fail(p, v, "%s must be a string", key);
	free(*out);
	*out = strdup(s);
	if (!*out)
		return fail(p, v, "out of memory");
	return 0;
}

static int get_bool(struct cfg_parse *p, yaml_node_t *v, const char *key, bool *out)
{
	return yamlcfg_bool(&p->y, v, out);
}

static int get_duration(struct cfg_parse *p, yaml_node_t *v, const char *key, int64_t *out)
{
	return yamlcfg_duration_ms(&p->y, v, out);
}

static int get_size(struct cfg_parse *p, yaml_node_t *v, uint64_t min, uint64_t max, size_t *out)
{
	uint64_t bytes;

	if (yamlcfg_size(&p->y, v, min, max, &bytes))
		return -1;
	*out = (size_t)bytes;
	return 0;
}

static int get_long(struct cfg_parse *p, yaml_node_t *v, const char *key, long min,
		    long max, long *out)
{
	const char *s = scalar(v);
	char *end;

	if (!s)
		return fail(p, v, "%s must be a number", key);
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || *end || end == s || n < min || n > max)
		return fail(p, v, "%s: \"%s\" is not an integer in %ld..%ld", key, s, min, max);
	*out = n;
	return 0;
}

static int get_str_list(struct cfg_parse *p, yaml_node_t *v, const char *key,
			char ***out, size_t *n)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return fail(p, v, "%s must be a list of strings", key);
	size_t count = v->data.sequence.items.top - v->data.sequence.items.start;
	char **list = calloc(count + 1, sizeof(*list));
	if (!list)
		return fail(p, v, "out of memory");
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *it = node(p, v->data.sequence.items.start[i]);
		if (!scalar(it) || !(list[i] = strdup(scalar(it)))) {
			for (size_t j = 0; j < i; j++)
				free(list[j]);
			free(list);
			return fail(p, it, "%s: items must be strings", key);
		}
	}
	*out = list;
	*n = count;
	return 0;
}

static void free_str_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* match: {k: v} and match_re: {k: re} become matchers. */
static int add_match_map(struct cfg_parse *p, yaml_node_t *v, const char *key,
			 enum corr_match_op op, struct corr_matchers *ms)
{
	char e[384];

	if (!v || v->type != YAML_MAPPING_NODE)
		return fail(p, v, "%s must be a mapping of label: value", key);
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start;
	     pr < v->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = node(p, pr->key), *vn = node(p, pr->value);
		if (!scalar(kn) || !scalar(vn))
			return fail(p, kn, "%s: labels and values must be strings", key);
		if (corr_matchers_add(ms, scalar(kn), op, scalar(vn), e, sizeof(e)))
			return fail(p, kn, "%s: %s", key, e);
		/* Alertmanager prints match_re regexes anchored in route keys. */
		if (op == CORR_MATCH_RE &&
		    asprintf(&ms->v[ms->n - 1].key_value, "^(?:%s)$", scalar(vn)) < 0)
			return fail(p, kn, "out of memory");
	}
	return 0;
}

static int add_matcher_list(struct cfg_parse *p, yaml_node_t *v, const char *key,
			    struct corr_matchers *ms)
{
	char e[384];

	if (!v || v->type != YAML_SEQUENCE_NODE)
		return fail(p, v, "%s must be a list of matchers like 'severity = critical'", key);
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *n = node(p, *it);
		if (!scalar(n))
			return fail(p, n, "%s: each matcher must be a string", key);
		if (corr_matchers_parse(ms, scalar(n), e, sizeof(e)))
			return fail(p, n, "%s: %s", key, e);
	}
	return 0;
}

/* ------------------------------------------------------------------ route */

/* Route fields are parsed before children so children can inherit. */
struct route_ctx {
	struct corr_route *r;
	bool has_group_by, has_wait, has_interval, has_repeat;
	yaml_node_t *routes;
};

static int route_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn,
		      yaml_node_t *v, void *arg)
{
	struct route_ctx *c = arg;
	struct corr_route *r = c->r;

	if (!strcmp(key, "receiver"))
		return get_str(p, v, key, &r->receiver);
	if (!strcmp(key, "group_by")) {
		free_str_list(r->group_by, r->n_group_by);
		r->group_by = NULL;
		r->n_group_by = 0;
		if (get_str_list(p, v, key, &r->group_by, &r->n_group_by))
			return -1;
		r->group_by_all = false;
		for (size_t i = 0; i < r->n_group_by; i++) {
			if (!strcmp(r->group_by[i], "...")) {
				if (r->n_group_by != 1)
					return fail(p, v, "group_by: '...' must be the only entry");
				r->group_by_all = true;
			} else if (!corr_label_name_valid(r->group_by[i])) {
				return fail(p, v, "group_by: invalid label name '%s'",
					    r->group_by[i]);
			}
		}
		c->has_group_by = true;
		return 0;
	}
	if (!strcmp(key, "group_wait")) {
		c->has_wait = true;
		return get_duration(p, v, key, &r->group_wait_ms);
	}
	if (!strcmp(key, "group_interval")) {
		c->has_interval = true;
		if (get_duration(p, v, key, &r->group_interval_ms))
			return -1;
		if (!r->group_interval_ms)
			return fail(p, v, "group_interval cannot be zero");
		return 0;
	}
	if (!strcmp(key, "repeat_interval")) {
		c->has_repeat = true;
		if (get_duration(p, v, key, &r->repeat_interval_ms))
			return -1;
		if (!r->repeat_interval_ms)
			return fail(p, v, "repeat_interval cannot be zero");
		return 0;
	}
	if (!strcmp(key, "continue"))
		return get_bool(p, v, key, &r->cont);
	if (!strcmp(key, "match"))
		return add_match_map(p, v, key, CORR_MATCH_EQ, &r->matchers);
	if (!strcmp(key, "match_re"))
		return add_match_map(p, v, key, CORR_MATCH_RE, &r->matchers);
	if (!strcmp(key, "matchers"))
		return add_matcher_list(p, v, key, &r->matchers);
	if (!strcmp(key, "routes")) {
		c->routes = v;
		return 0;
	}
	if (!strcmp(key, "mute_time_intervals") || !strcmp(key, "active_time_intervals")) {
		warn(p, kn, "time intervals are not supported; the route is always active");
		return 0;
	}
	return fail(p, kn, "route: unknown field \"%s\"", key);
}

static int parse_route(struct cfg_parse *p, yaml_node_t *n, struct corr_route *r,
		       struct corr_route *parent)
{
	struct route_ctx c = { .r = r };
	char *mstr;

	r->parent = parent;
	r->line = (int)n->start_mark.line + 1;
	if (each_pair(p, n, "route", route_pair, &c))
		return -1;
	if (r->receiver && !corr_config_receiver(p->cfg, r->receiver))
		return fail(p, n, "route uses undefined receiver \"%s\"", r->receiver);
	if (parent) {
		if (!r->receiver && !(r->receiver = strdup(parent->receiver)))
			return fail(p, n, "out of memory");
		if (!c.has_group_by) {
			r->group_by_all = parent->group_by_all;
			if (parent->n_group_by) {
				r->group_by = calloc(parent->n_group_by + 1, sizeof(char *));
				if (!r->group_by)
					return fail(p, n, "out of memory");
				for (size_t i = 0; i < parent->n_group_by; i++)
					if (!(r->group_by[i] = strdup(parent->group_by[i])))
						return fail(p, n, "out of memory");
				r->n_group_by = parent->n_group_by;
			}
		}
		if (!c.has_wait)
			r->group_wait_ms = parent->group_wait_ms;
		if (!c.has_interval)
			r->group_interval_ms = parent->group_interval_ms;
		if (!c.has_repeat)
			r->repeat_interval_ms = parent->repeat_interval_ms;
	} else {
		if (!r->receiver)
			return fail(p, n, "the root route needs a receiver");
		if (r->matchers.n)
			return fail(p, n, "the root route must not have matchers");
		if (r->cont)
			return fail(p, n, "the root route cannot have continue");
		if (!c.has_wait)
			r->group_wait_ms = 30000;
		if (!c.has_interval)
			r->group_interval_ms = 300000;
		if (!c.has_repeat)
			r->repeat_interval_ms = 4 * 3600000LL;
	}
	mstr = corr_matchers_string(&r->matchers);
	if (!mstr)
		return fail(p, n, "out of memory");
	if (parent) {
		if (asprintf(&r->key, "%s/%s", parent->key, mstr) < 0)
			r->key = NULL;
		free(mstr);
	} else {
		r->key = mstr;
	}
	if (!r->key)
		return fail(p, n, "out of memory");
	if (c.routes) {
		if (c.routes->type != YAML_SEQUENCE_NODE)
			return fail(p, c.routes, "routes must be a list of routes");
		size_t count = c.routes->data.sequence.items.top -
			       c.routes->data.sequence.items.start;
		r->routes = calloc(count + 1, sizeof(*r->routes));
		if (!r->routes)
			return fail(p, c.routes, "out of memory");
		for (size_t i = 0; i < count; i++) {
			r->n_routes++;
			if (parse_route(p, node(p, c.routes->data.sequence.items.start[i]),
					&r->routes[i], r))
				return -1;
		}
	}
	return 0;
}

static void free_route(struct corr_route *r)
{
	for (size_t i = 0; i < r->n_routes; i++)
		free_route(&r->routes[i]);
	free(r->routes);
	free(r->receiver);
	free(r->key);
	corr_matchers_free(&r->matchers);
	free_str_list(r->group_by, r->n_group_by);
}

/* ---------------------------------------------------------- inhibit rules */

static int inhibit_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn,
			yaml_node_t *v, void *arg)
{
	struct corr_inhibit_rule *r = arg;

	if (!strcmp(key, "source_match"))
		return add_match_map(p, v, key, CORR_MATCH_EQ, &r->source);
	if (!strcmp(key, "source_match_re"))
		return add_match_map(p, v, key, CORR_MATCH_RE, &r->source);
	if (!strcmp(key, "source_matchers"))
		return add_matcher_list(p, v, key, &r->source);
	if (!strcmp(key, "target_match"))
		return add_match_map(p, v, key, CORR_MATCH_EQ, &r->target);
	if (!strcmp(key, "target_match_re"))
		return add_match_map(p, v, key, CORR_MATCH_RE, &r->target);
	if (!strcmp(key, "target_matchers"))
		return add_matcher_list(p, v, key, &r->target);
	if (!strcmp(key, "equal")) {
		if (get_str_list(p, v, key, &r->equal, &r->n_equal))
			return -1;
		for (size_t i = 0; i < r->n_equal; i++)
			if (!corr_label_name_valid(r->equal[i]))
				return fail(p, v, "equal: invalid label name '%s'", r->equal[i]);
		return 0;
	}
	return fail(p, kn, "inhibit rule: unknown field \"%s\"", key);
}

static int parse_inhibit(struct cfg_parse *p, yaml_node_t *v, struct corr_config *cfg)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return fail(p, v, "inhibit_rules must be a list");
	size_t count = v->data.sequence.items.top - v->data.sequence.items.start;
	cfg->inhibit = calloc(count + 1, sizeof(*cfg->inhibit));
	if (!cfg->inhibit)
		return fail(p, v, "out of memory");
	for (size_t i = 0; i < count; i++) {
		cfg->n_inhibit++;
		if (each_pair(p, node(p, v->data.sequence.items.start[i]), "inhibit rule",
			      inhibit_pair, &cfg->inhibit[i]))
			return -1;
	}
	return 0;
}

/* -------------------------------------------------------------- receivers */

static int integration_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn,
			    yaml_node_t *v, void *arg)
{
	struct corr_integration *in = arg;
	long n;

	if (!strcmp(key, "send_resolved"))
		return get_bool(p, v, key, &in->send_resolved);
	if ((in->kind == CORR_INTEG_WEBHOOK || in->kind == CORR_INTEG_ALERTMANAGER) &&
	    !strcmp(key, "url"))
		return get_str(p, v, key, &in->url);
	if (in->kind == CORR_INTEG_WEBHOOK && !strcmp(key, "url_file"))
		return get_str(p, v, key, &in->url_file);
	if (in->kind == CORR_INTEG_WEBHOOK && !strcmp(key, "max_alerts")) {
		if (get_long(p, v, key, 0, 1000000, &n))
			return -1;
		in->max_alerts = (int)n;
		return 0;
	}
	if (in->kind == CORR_INTEG_SLACK) {
		if (!strcmp(key, "api_url"))
			return get_str(p, v, key, &in->url);
		if (!strcmp(key, "api_url_file"))
			return get_str(p, v, key, &in->url_file);
		if (!strcmp(key, "channel"))
			return get_str(p, v, key, &in->channel);
		if (!strcmp(key, "username"))
			return get_str(p, v, key, &in->username);
		if (!strcmp(key, "title") || !strcmp(key, "text")) {
			char **dst = !strcmp(key, "title") ? &in->title : &in->text;
			if (get_str(p, v, key, dst))
				return -1;
			if (strstr(*dst, "{{")) {
				warn(p, kn, "Go templates are not supported; using seismo's default text");
				free(*dst);
				*dst = NULL;
			}
			return 0;
		}
	}
	if (in->kind == CORR_INTEG_PAGERDUTY) {
		/* service_key (Events API v1) is sent as a v2 routing key. */
		if (!strcmp(key, "routing_key") || !strcmp(key, "service_key"))
			return get_str(p, v, key, &in->routing_key);
		if (!strcmp(key, "routing_key_file") || !strcmp(key, "service_key_file"))
			return get_str(p, v, key, &in->routing_key_file);
		if (!strcmp(key, "url"))
			return get_str(p, v, key, &in->url);
		if (!strcmp(key, "severity"))
			return get_str(p, v, key, &in->severity);
		if (!strcmp(key, "client"))
			return get_str(p, v, key, &in->client);
	}
	char w[160];
	snprintf(w, sizeof(w), "%s: field \"%s\" is not used by seismo (ignored)",
		 corr_integration_kind_name(in->kind), key);
	warn(p, kn, w);
	return 0;
}

struct receiver_ctx {
	struct corr_config *cfg;
	struct corr_receiver *r;
};

static int parse_integrations(struct cfg_parse *p, yaml_node_t *v, const char *key,
			      enum corr_integration_kind kind, struct receiver_ctx *c)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return fail(p, v, "%s must be a list", key);
	int index = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		struct corr_receiver *r = c->r;
		struct corr_integration *g = realloc(r->integ, (r->n_integ + 1) * sizeof(*g));
		if (!g)
			return fail(p, v, "out of memory");
		r->integ = g;
		struct corr_integration *in = &r->integ[r->n_integ++];
		memset(in, 0, sizeof(*in));
		in->kind = kind;
		in->index = index++;
		/* Alertmanager's defaults. */
		in->send_resolved = kind != CORR_INTEG_SLACK;
		yaml_node_t *n = node(p, *it);
		if (each_pair(p, n, key, integration_pair, in))
			return -1;
		if (kind == CORR_INTEG_SLACK && !in->url && !in->url_file) {
			if (c->cfg->slack_api_url && !(in->url = strdup(c->cfg->slack_api_url)))
				return fail(p, n, "out of memory");
			if (c->cfg->slack_api_url_file &&
			    !(in->url_file = strdup(c->cfg->slack_api_url_file)))
				return fail(p, n, "out of memory");
			if (!in->url && !in->url_file)
				return fail(p, n, "slack_configs: no api_url or api_url_file (and none in global)");
		}
		if (kind == CORR_INTEG_PAGERDUTY) {
			if (!in->routing_key && !in->routing_key_file)
				return fail(p, n, "pagerduty_configs: needs routing_key, service_key or a *_file");
			if (!in->url) {
				const char *u = c->cfg->pagerduty_url ? c->cfg->pagerduty_url
								      : "https://events.pagerduty.com/v2/enqueue";
				if (!(in->url = strdup(u)))
					return fail(p, n, "out of memory");
			}
		}
		if ((kind == CORR_INTEG_WEBHOOK && !in->url && !in->url_file) ||
		    (kind == CORR_INTEG_ALERTMANAGER && !in->url))
			return fail(p, n, "%s: needs a url", key);
	}
	return 0;
}

static int receiver_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn,
			 yaml_node_t *v, void *arg)
{
	struct receiver_ctx *c = arg;

	if (!strcmp(key, "name"))
		return get_str(p, v, key, &c->r->name);
	if (!strcmp(key, "webhook_configs"))
		return parse_integrations(p, v, key, CORR_INTEG_WEBHOOK, c);
	if (!strcmp(key, "slack_configs"))
		return parse_integrations(p, v, key, CORR_INTEG_SLACK, c);
	if (!strcmp(key, "pagerduty_configs"))
		return parse_integrations(p, v, key, CORR_INTEG_PAGERDUTY, c);
	if (!strcmp(key, "alertmanager_configs"))
		return parse_integrations(p, v, key, CORR_INTEG_ALERTMANAGER, c);
	if (strstr(key, "_configs"))
		return fail(p, kn, "receiver: %s are not supported (webhook, slack, pagerduty and alertmanager are)",
			    key);
	return fail(p, kn, "receiver: unknown field \"%s\"", key);
}

static int parse_receivers(struct cfg_parse *p, yaml_node_t *v, struct corr_config *cfg)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return fail(p, v, "receivers must be a list");
	size_t count = v->data.sequence.items.top - v->data.sequence.items.start;
	cfg->receivers = calloc(count + 1, sizeof(*cfg->receivers));
	if (!cfg->receivers)
		return fail(p, v, "out of memory");
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *n = node(p, v->data.sequence.items.start[i]);
		struct receiver_ctx c = { .cfg = cfg, .r = &cfg->receivers[i] };
		cfg->n_receivers++;
		if (each_pair(p, n, "receiver", receiver_pair, &c))
			return -1;
		if (!c.r->name || !*c.r->name)
			return fail(p, n, "receiver without a name");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->receivers[j].name, c.r->name))
				return fail(p, n, "receiver \"%s\" defined twice", c.r->name);
	}
	return 0;
}

/* ------------------------------------------------------- global, seismo */

static int global_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn,
		       yaml_node_t *v, void *arg)
{
	struct corr_config *cfg = arg;

	if (!strcmp(key, "resolve_timeout"))
		return get_duration(p, v, key, &cfg->resolve_timeout_ms);
	if (!strcmp(key, "slack_api_url"))
		return get_str(p, v, key, &cfg->slack_api_url);
	if (!strcmp(key, "slack_api_url_file"))
		return get_str(p, v, key, &cfg->slack_api_url_file);
	if (!strcmp(key, "pagerduty_url"))
		return get_str(p, v, key, &cfg->pagerduty_url);
	char w[160];
	snprintf(w, sizeof(w), "global: field \"%s\" is not used by seismo (ignored)", key);
	warn(p, kn, w);
	return 0;
}

static int seismo_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn,
		       yaml_node_t *v, void *arg)
{
	struct corr_config *cfg = arg;
	long n;

	if (!strcmp(key, "listen"))
		return get_str(p, v, key, &cfg->listen);
	if (!strcmp(key, "token"))
		return get_str(p, v, key, &cfg->token);
	if (!strcmp(key, "token_file"))
		return get_str(p, v, key, &cfg->token_file);
	if (!strcmp(key, "db") || !strcmp(key, "database"))
		return get_str(p, v, key, &cfg->db_path);
	if (!strcmp(key, "external_url"))
		return get_str(p, v, key, &cfg->external_url);
	if (!strcmp(key, "fsync")) {
		bool b;
		if (get_bool(p, v, key, &b))
			return -1;
		cfg->sync_full = b;
		return 0;
	}
	if (!strcmp(key, "max_body_bytes"))
		return get_size(p, v, 1024, 1UL << 30, &cfg->max_body_bytes);
	if (!strcmp(key, "max_decompressed_bytes"))
		return get_size(p, v, 1024, 1UL << 30, &cfg->max_decoded_bytes);
	if (!strcmp(key, "threads")) {
		if (get_long(p, v, key, 1, 64, &n))
			return -1;
		cfg->threads = (int)n;
		return 0;
	}
	if (!strcmp(key, "retention"))
		return get_duration(p, v, key, &cfg->retention_ms);
	if (!strcmp(key, "correlation_slack"))
		return get_duration(p, v, key, &cfg->correlation_slack_ms);
	if (!strcmp(key, "incident_close_after"))
		return get_duration(p, v, key, &cfg->incident_close_ms);
	if (!strcmp(key, "max_hops")) {
		if (get_long(p, v, key, 0, 10, &n))
			return -1;
		cfg->max_hops = (int)n;
		return 0;
	}
	if (!strcmp(key, "critical_services")) {
		if (get_long(p, v, key, 1, 100000, &n))
			return -1;
		cfg->critical_services = (int)n;
		return 0;
	}
	if (!strcmp(key, "notify_attempts")) {
		if (get_long(p, v, key, 1, 100, &n))
			return -1;
		cfg->notify_attempts = (int)n;
		return 0;
	}
	if (!strcmp(key, "notify_concurrency")) {
		if (get_long(p, v, key, 1, 64, &n))
			return -1;
		cfg->notify_concurrency = (int)n;
		return 0;
	}
	if (!strcmp(key, "stale_after"))
		return get_duration(p, v, key, &cfg->stale_after_ms);
	if (!strcmp(key, "notify_backoff"))
		return get_duration(p, v, key, &cfg->notify_backoff_ms);
	if (!strcmp(key, "notify_timeout"))
		return get_duration(p, v, key, &cfg->notify_timeout_ms);
	return fail(p, kn, "seismo: unknown field \"%s\"", key);
}

struct top_ctx {
	struct corr_config *cfg;
	yaml_node_t *route, *inhibit, *receivers, *global, *seismo, *runbooks, *actions;
};

static int top_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn,
		    yaml_node_t *v, void *arg)
{
	struct top_ctx *c = arg;

	if (!strcmp(key, "route"))
		c->route = v;
	else if (!strcmp(key, "inhibit_rules"))
		c->inhibit = v;
	else if (!strcmp(key, "receivers"))
		c->receivers = v;
	else if (!strcmp(key, "global"))
		c->global = v;
	else if (!strcmp(key, "seismo"))
		c->seismo = v;
	else if (!strcmp(key, "runbooks"))
		c->runbooks = v;
	else if (!strcmp(key, "actions"))
		c->actions = v;
	else if (!strcmp(key, "templates") || !strcmp(key, "time_intervals") ||
		 !strcmp(key, "mute_time_intervals"))
		warn(p, kn, "templates and time intervals are not supported (ignored)");
	else
		return fail(p, kn, "unknown top-level field \"%s\"", key);
	return 0;
}

static bool receiver_defined(void *arg, const char *name)
{
	return corr_config_receiver(arg, name) != NULL;
}

static void set_defaults(struct corr_config *cfg)
{
	cfg->max_body_bytes = 8 << 20;
	cfg->max_decoded_bytes = 32 << 20;
	cfg->threads = 4;
	cfg->correlation_slack_ms = 120000;
	cfg->retention_ms = 14 * 86400000LL;
	cfg->incident_close_ms = 600000;
	cfg->max_hops = 1;
	cfg->critical_services = 5;
	cfg->notify_attempts = 5;
	cfg->notify_backoff_ms = 1000;
	cfg->notify_timeout_ms = 10000;
	cfg->notify_concurrency = 4;
	cfg->stale_after_ms = 600000;
	cfg->resolve_timeout_ms = 300000;
}

static int fill_string_defaults(struct corr_config *cfg)
{
	if (!cfg->listen && !(cfg->listen = strdup("127.0.0.1:9465")))
		return -1;
	if (!cfg->db_path && !(cfg->db_path = strdup("seismo-correlator.db")))
		return -1;
	if (!cfg->external_url && !(cfg->external_url = strdup("http://seismo-correlator")))
		return -1;
	return 0;
}

struct corr_config *corr_config_parse(const char *text, size_t len, const char *name,
				      char *err, size_t errlen)
{
	struct cfg_parse p = { .name = name };
	struct corr_config *cfg = calloc(1, sizeof(*cfg));

	err[0] = 0;
	if (!cfg) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	p.cfg = cfg;
	set_defaults(cfg);
	if (yamlcfg_load_string(&p.y, name, text, len))
		goto fail;
	yaml_node_t *root = yamlcfg_root(&p.y);
	if (!root) {
		snprintf(err, errlen, "%s: empty configuration", name);
		goto fail;
	}
	struct top_ctx c = { .cfg = cfg };
	if (each_pair(&p, root, "the configuration", top_pair, &c))
		goto fail;
	if ((c.seismo && each_pair(&p, c.seismo, "seismo", seismo_pair, cfg)) ||
	    (c.global && each_pair(&p, c.global, "global", global_pair, cfg)))
		goto fail;
	if (!c.route) {
		fail(&p, root, "missing \"route\"");
		goto fail;
	}
	if (!c.receivers) {
		fail(&p, root, "missing \"receivers\"");
		goto fail;
	}
	if (parse_receivers(&p, c.receivers, cfg) || parse_route(&p, c.route, &cfg->root, NULL) ||
	    (c.inhibit && parse_inhibit(&p, c.inhibit, cfg)))
		goto fail;
	cfg->runbooks = corr_runbooks_parse(&p.y.doc, c.actions, c.runbooks, name, receiver_defined,
					    cfg, err, errlen);
	if (!cfg->runbooks)
		goto fail;
	if (fill_string_defaults(cfg) || !(cfg->path = strdup(name))) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	yamlcfg_free(&p.y);
	return cfg;
fail:
	if (p.y.error[0])
		snprintf(err, errlen, "%s", p.y.error);
	yamlcfg_free(&p.y);
	corr_config_free(cfg);
	return NULL;
}

/* A config over this is surely not one: refused before parsing. */
#define CONFIG_MAX_BYTES (64u << 20)

struct corr_config *corr_config_load(const char *path, char *err, size_t errlen)
{
	struct corr_config *cfg;
	char *text;
	size_t len;

	if (file_read(path, CONFIG_MAX_BYTES, &text, &len)) {
		snprintf(err, errlen, "config %s: %s", path, strerror(errno));
		return NULL;
	}
	cfg = corr_config_parse(text, len, path, err, errlen);
	free(text);
	return cfg;
}

struct corr_config *corr_config_default(void)
{
	static const char text[] = "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n";
	char err[256];

	return corr_config_parse(text, sizeof(text) - 1, "(defaults)", err, sizeof(err));
}

static void free_integration(struct corr_integration *in)
{
	free(in->url);
	free(in->url_file);
	free(in->channel);
	free(in->username);
	free(in->title);
	free(in->text);
	free(in->routing_key);
	free(in->routing_key_file);
	free(in->severity);
	free(in->client);
}

void corr_config_free(struct corr_config *cfg)
{
	if (!cfg)
		return;
	free_route(&cfg->root);
	for (size_t i = 0; i < cfg->n_inhibit; i++) {
		corr_matchers_free(&cfg->inhibit[i].source);
		corr_matchers_free(&cfg->inhibit[i].target);
		free_str_list(cfg->inhibit[i].equal, cfg->inhibit[i].n_equal);
	}
	free(cfg->inhibit);
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		for (size_t j = 0; j < cfg->receivers[i].n_integ; j++)
			free_integration(&cfg->receivers[i].integ[j]);
		free(cfg->receivers[i].integ);
		free(cfg->receivers[i].name);
	}
	free(cfg->receivers);
	free(cfg->path);
	free(cfg->listen);
	free(cfg->token);
	free(cfg->token_file);
	free(cfg->db_path);
	free(cfg->external_url);
	free(cfg->slack_api_url);
	free(cfg->slack_api_url_file);
	free(cfg->pagerduty_url);
	corr_runbooks_free(cfg->runbooks);
	free(cfg);
}

const struct corr_receiver *corr_config_receiver(const struct corr_config *cfg,
						 const char *name)
{
	for (size_t i = 0; i < cfg->n_receivers; i++)
		if (!strcmp(cfg->receivers[i].name, name))
			return &cfg->receivers[i];
	return NULL;
}

const char *corr_integration_kind_name(enum corr_integration_kind k)
{
	switch (k) {
	case CORR_INTEG_WEBHOOK:
		return "webhook";
	case CORR_INTEG_SLACK:
		return "slack";
	case CORR_INTEG_PAGERDUTY:
		return "pagerduty";
	case CORR_INTEG_ALERTMANAGER:
		return "alertmanager";
	}
	return "unknown";
}
