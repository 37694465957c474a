/* The correlator's config: an Alertmanager configuration plus a seismo:
 * section (docs/correlator.md), read with common/yamlcfg.c. This file walks
 * the document and owns global:, seismo:, defaults, load and free; the
 * routing tree, receivers and typed readers are in config_*.c
 * (config_int.h). */
#include "config_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "runbook.h"
#include "util.h"

/* ------------------------------------------------------- global, seismo */

static int global_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn, yaml_node_t *v,
		       void *arg)
{
	struct corr_config *cfg = arg;

	if (!strcmp(key, "resolve_timeout"))
		return corr_cfg_duration(p, v, key, &cfg->resolve_timeout_ms);
	if (!strcmp(key, "slack_api_url"))
		return corr_cfg_str(p, v, key, &cfg->slack_api_url);
	if (!strcmp(key, "slack_api_url_file"))
		return corr_cfg_str(p, v, key, &cfg->slack_api_url_file);
	if (!strcmp(key, "pagerduty_url"))
		return corr_cfg_str(p, v, key, &cfg->pagerduty_url);
	char w[160];
	snprintf(w, sizeof(w), "global: field \"%s\" is not used by seismo (ignored)", key);
	corr_cfg_warn(p, kn, w);
	return 0;
}

static int seismo_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn, yaml_node_t *v,
		       void *arg)
{
	struct corr_config *cfg = arg;
	long n;

	if (!strcmp(key, "listen"))
		return corr_cfg_str(p, v, key, &cfg->listen);
	if (!strcmp(key, "token"))
		return corr_cfg_str(p, v, key, &cfg->token);
	if (!strcmp(key, "token_file"))
		return corr_cfg_str(p, v, key, &cfg->token_file);
	if (!strcmp(key, "db") || !strcmp(key, "database"))
		return corr_cfg_str(p, v, key, &cfg->db_path);
	if (!strcmp(key, "external_url"))
		return corr_cfg_str(p, v, key, &cfg->external_url);
	if (!strcmp(key, "fsync")) {
		bool b;
		if (corr_cfg_bool(p, v, key, &b))
			return -1;
		cfg->sync_full = b;
		return 0;
	}
	if (!strcmp(key, "max_body_bytes"))
		return corr_cfg_size(p, v, 1024, 1UL << 30, &cfg->max_body_bytes);
	if (!strcmp(key, "max_decompressed_bytes"))
		return corr_cfg_size(p, v, 1024, 1UL << 30, &cfg->max_decoded_bytes);
	if (!strcmp(key, "threads")) {
		if (corr_cfg_long(p, v, key, 1, 64, &n))
			return -1;
		cfg->threads = (int)n;
		return 0;
	}
	if (!strcmp(key, "retention"))
		return corr_cfg_duration(p, v, key, &cfg->retention_ms);
	if (!strcmp(key, "correlation_slack"))
		return corr_cfg_duration(p, v, key, &cfg->correlation_slack_ms);
	if (!strcmp(key, "incident_close_after"))
		return corr_cfg_duration(p, v, key, &cfg->incident_close_ms);
	if (!strcmp(key, "max_hops")) {
		if (corr_cfg_long(p, v, key, 0, 10, &n))
			return -1;
		cfg->max_hops = (int)n;
		return 0;
	}
	if (!strcmp(key, "critical_services")) {
		if (corr_cfg_long(p, v, key, 1, 100000, &n))
			return -1;
		cfg->critical_services = (int)n;
		return 0;
	}
	if (!strcmp(key, "notify_attempts")) {
		if (corr_cfg_long(p, v, key, 1, 100, &n))
			return -1;
		cfg->notify_attempts = (int)n;
		return 0;
	}
	if (!strcmp(key, "notify_concurrency")) {
		if (corr_cfg_long(p, v, key, 1, 64, &n))
			return -1;
		cfg->notify_concurrency = (int)n;
		return 0;
	}
	if (!strcmp(key, "stale_after"))
		return corr_cfg_duration(p, v, key, &cfg->stale_after_ms);
	if (!strcmp(key, "notify_backoff"))
		return corr_cfg_duration(p, v, key, &cfg->notify_backoff_ms);
	if (!strcmp(key, "notify_timeout"))
		return corr_cfg_duration(p, v, key, &cfg->notify_timeout_ms);
	return corr_cfg_fail(p, kn, "seismo: unknown field \"%s\"", key);
}

struct top_ctx {
	struct corr_config *cfg;
	yaml_node_t *route, *inhibit, *receivers, *global, *seismo, *runbooks, *actions;
};

static int top_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn, yaml_node_t *v,
		    void *arg)
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
		corr_cfg_warn(p, kn, "templates and time intervals are not supported (ignored)");
	else
		return corr_cfg_fail(p, kn, "unknown top-level field \"%s\"", key);
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

struct corr_config *corr_config_parse(const char *text, size_t len, const char *name, char *err,
				      size_t errlen)
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
	if (corr_cfg_each_pair(&p, root, "the configuration", top_pair, &c))
		goto fail;
	if ((c.seismo && corr_cfg_each_pair(&p, c.seismo, "seismo", seismo_pair, cfg)) ||
	    (c.global && corr_cfg_each_pair(&p, c.global, "global", global_pair, cfg)))
		goto fail;
	if (!c.route) {
		corr_cfg_fail(&p, root, "missing \"route\"");
		goto fail;
	}
	if (!c.receivers) {
		corr_cfg_fail(&p, root, "missing \"receivers\"");
		goto fail;
	}
	if (corr_cfg_parse_receivers(&p, c.receivers, cfg) ||
	    corr_cfg_parse_route(&p, c.route, &cfg->root, NULL) ||
	    (c.inhibit && corr_cfg_parse_inhibit(&p, c.inhibit, cfg)))
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

void corr_config_free(struct corr_config *cfg)
{
	if (!cfg)
		return;
	corr_cfg_free_route(&cfg->root);
	for (size_t i = 0; i < cfg->n_inhibit; i++) {
		corr_matchers_free(&cfg->inhibit[i].source);
		corr_matchers_free(&cfg->inhibit[i].target);
		corr_cfg_free_str_list(cfg->inhibit[i].equal, cfg->inhibit[i].n_equal);
	}
	free(cfg->inhibit);
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		for (size_t j = 0; j < cfg->receivers[i].n_integ; j++)
			corr_cfg_free_integration(&cfg->receivers[i].integ[j]);
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

const struct corr_receiver *corr_config_receiver(const struct corr_config *cfg, const char *name)
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
