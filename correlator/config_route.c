/* The correlator config's routing tree (Alertmanager's route: inheritance,
 * matchers, group_by) and inhibit rules. */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ route */

/* Route fields are parsed before children so children can inherit. */
struct route_ctx {
	struct corr_route *r;
	bool has_group_by, has_wait, has_interval, has_repeat;
	yaml_node_t *routes;
};

static int route_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn, yaml_node_t *v,
		      void *arg)
{
	struct route_ctx *c = arg;
	struct corr_route *r = c->r;

	if (!strcmp(key, "receiver"))
		return corr_cfg_str(p, v, key, &r->receiver);
	if (!strcmp(key, "group_by")) {
		corr_cfg_free_str_list(r->group_by, r->n_group_by);
		r->group_by = NULL;
		r->n_group_by = 0;
		if (corr_cfg_str_list(p, v, key, &r->group_by, &r->n_group_by))
			return -1;
		r->group_by_all = false;
		for (size_t i = 0; i < r->n_group_by; i++) {
			if (!strcmp(r->group_by[i], "...")) {
				if (r->n_group_by != 1)
					return corr_cfg_fail(
						p, v, "group_by: '...' must be the only entry");
				r->group_by_all = true;
			} else if (!corr_label_name_valid(r->group_by[i])) {
				return corr_cfg_fail(p, v, "group_by: invalid label name '%s'",
						     r->group_by[i]);
			}
		}
		c->has_group_by = true;
		return 0;
	}
	if (!strcmp(key, "group_wait")) {
		c->has_wait = true;
		return corr_cfg_duration(p, v, key, &r->group_wait_ms);
	}
	if (!strcmp(key, "group_interval")) {
		c->has_interval = true;
		if (corr_cfg_duration(p, v, key, &r->group_interval_ms))
			return -1;
		if (!r->group_interval_ms)
			return corr_cfg_fail(p, v, "group_interval cannot be zero");
		return 0;
	}
	if (!strcmp(key, "repeat_interval")) {
		c->has_repeat = true;
		if (corr_cfg_duration(p, v, key, &r->repeat_interval_ms))
			return -1;
		if (!r->repeat_interval_ms)
			return corr_cfg_fail(p, v, "repeat_interval cannot be zero");
		return 0;
	}
	if (!strcmp(key, "continue"))
		return corr_cfg_bool(p, v, key, &r->cont);
	if (!strcmp(key, "match"))
		return corr_cfg_match_map(p, v, key, CORR_MATCH_EQ, &r->matchers);
	if (!strcmp(key, "match_re"))
		return corr_cfg_match_map(p, v, key, CORR_MATCH_RE, &r->matchers);
	if (!strcmp(key, "matchers"))
		return corr_cfg_matcher_list(p, v, key, &r->matchers);
	if (!strcmp(key, "routes")) {
		c->routes = v;
		return 0;
	}
	if (!strcmp(key, "mute_time_intervals") || !strcmp(key, "active_time_intervals")) {
		corr_cfg_warn(p, kn,
			      "time intervals are not supported; the route is always active");
		return 0;
	}
	return corr_cfg_fail(p, kn, "route: unknown field \"%s\"", key);
}

int corr_cfg_parse_route(struct cfg_parse *p, yaml_node_t *n, struct corr_route *r,
			 struct corr_route *parent)
{
	struct route_ctx c = { .r = r };
	char *mstr;

	r->parent = parent;
	r->line = (int)n->start_mark.line + 1;
	if (corr_cfg_each_pair(p, n, "route", route_pair, &c))
		return -1;
	if (r->receiver && !corr_config_receiver(p->cfg, r->receiver))
		return corr_cfg_fail(p, n, "route uses undefined receiver \"%s\"", r->receiver);
	if (parent) {
		if (!r->receiver && !(r->receiver = strdup(parent->receiver)))
			return corr_cfg_fail(p, n, "out of memory");
		if (!c.has_group_by) {
			r->group_by_all = parent->group_by_all;
			if (parent->n_group_by) {
				r->group_by = calloc(parent->n_group_by + 1, sizeof(char *));
				if (!r->group_by)
					return corr_cfg_fail(p, n, "out of memory");
				for (size_t i = 0; i < parent->n_group_by; i++)
					if (!(r->group_by[i] = strdup(parent->group_by[i])))
						return corr_cfg_fail(p, n, "out of memory");
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
			return corr_cfg_fail(p, n, "the root route needs a receiver");
		if (r->matchers.n)
			return corr_cfg_fail(p, n, "the root route must not have matchers");
		if (r->cont)
			return corr_cfg_fail(p, n, "the root route cannot have continue");
		if (!c.has_wait)
			r->group_wait_ms = 30000;
		if (!c.has_interval)
			r->group_interval_ms = 300000;
		if (!c.has_repeat)
			r->repeat_interval_ms = 4 * 3600000LL;
	}
	mstr = corr_matchers_string(&r->matchers);
	if (!mstr)
		return corr_cfg_fail(p, n, "out of memory");
	if (parent) {
		if (asprintf(&r->key, "%s/%s", parent->key, mstr) < 0)
			r->key = NULL;
		free(mstr);
	} else {
		r->key = mstr;
	}
	if (!r->key)
		return corr_cfg_fail(p, n, "out of memory");
	if (c.routes) {
		if (c.routes->type != YAML_SEQUENCE_NODE)
			return corr_cfg_fail(p, c.routes, "routes must be a list of routes");
		size_t count =
			c.routes->data.sequence.items.top - c.routes->data.sequence.items.start;
		r->routes = calloc(count + 1, sizeof(*r->routes));
		if (!r->routes)
			return corr_cfg_fail(p, c.routes, "out of memory");
		for (size_t i = 0; i < count; i++) {
			r->n_routes++;
			if (corr_cfg_parse_route(
				    p, corr_cfg_node(p, c.routes->data.sequence.items.start[i]),
				    &r->routes[i], r))
				return -1;
		}
	}
	return 0;
}

void corr_cfg_free_route(struct corr_route *r)
{
	for (size_t i = 0; i < r->n_routes; i++)
		corr_cfg_free_route(&r->routes[i]);
	free(r->routes);
	free(r->receiver);
	free(r->key);
	corr_matchers_free(&r->matchers);
	corr_cfg_free_str_list(r->group_by, r->n_group_by);
}

/* ---------------------------------------------------------- inhibit rules */

static int inhibit_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn, yaml_node_t *v,
			void *arg)
{
	struct corr_inhibit_rule *r = arg;

	if (!strcmp(key, "source_match"))
		return corr_cfg_match_map(p, v, key, CORR_MATCH_EQ, &r->source);
	if (!strcmp(key, "source_match_re"))
		return corr_cfg_match_map(p, v, key, CORR_MATCH_RE, &r->source);
	if (!strcmp(key, "source_matchers"))
		return corr_cfg_matcher_list(p, v, key, &r->source);
	if (!strcmp(key, "target_match"))
		return corr_cfg_match_map(p, v, key, CORR_MATCH_EQ, &r->target);
	if (!strcmp(key, "target_match_re"))
		return corr_cfg_match_map(p, v, key, CORR_MATCH_RE, &r->target);
	if (!strcmp(key, "target_matchers"))
		return corr_cfg_matcher_list(p, v, key, &r->target);
	if (!strcmp(key, "equal")) {
		if (corr_cfg_str_list(p, v, key, &r->equal, &r->n_equal))
			return -1;
		for (size_t i = 0; i < r->n_equal; i++)
			if (!corr_label_name_valid(r->equal[i]))
				return corr_cfg_fail(p, v, "equal: invalid label name '%s'",
						     r->equal[i]);
		return 0;
	}
	return corr_cfg_fail(p, kn, "inhibit rule: unknown field \"%s\"", key);
}

int corr_cfg_parse_inhibit(struct cfg_parse *p, yaml_node_t *v, struct corr_config *cfg)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return corr_cfg_fail(p, v, "inhibit_rules must be a list");
	size_t count = v->data.sequence.items.top - v->data.sequence.items.start;
	cfg->inhibit = calloc(count + 1, sizeof(*cfg->inhibit));
	if (!cfg->inhibit)
		return corr_cfg_fail(p, v, "out of memory");
	for (size_t i = 0; i < count; i++) {
		cfg->n_inhibit++;
		if (corr_cfg_each_pair(p, corr_cfg_node(p, v->data.sequence.items.start[i]),
				       "inhibit rule", inhibit_pair, &cfg->inhibit[i]))
			return -1;
	}
	return 0;
}
