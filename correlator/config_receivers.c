/* The correlator config's receivers and their integrations (webhook,
 * Slack, PagerDuty, Alertmanager), with Alertmanager's defaults. */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------- receivers */

static int integration_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn, yaml_node_t *v,
			    void *arg)
{
	struct corr_integration *in = arg;
	long n;

	if (!strcmp(key, "send_resolved"))
		return corr_cfg_bool(p, v, key, &in->send_resolved);
	if ((in->kind == CORR_INTEG_WEBHOOK || in->kind == CORR_INTEG_ALERTMANAGER) &&
	    !strcmp(key, "url"))
		return corr_cfg_str(p, v, key, &in->url);
	if (in->kind == CORR_INTEG_WEBHOOK && !strcmp(key, "url_file"))
		return corr_cfg_str(p, v, key, &in->url_file);
	if (in->kind == CORR_INTEG_WEBHOOK && !strcmp(key, "max_alerts")) {
		if (corr_cfg_long(p, v, key, 0, 1000000, &n))
			return -1;
		in->max_alerts = (int)n;
		return 0;
	}
	if (in->kind == CORR_INTEG_SLACK) {
		if (!strcmp(key, "api_url"))
			return corr_cfg_str(p, v, key, &in->url);
		if (!strcmp(key, "api_url_file"))
			return corr_cfg_str(p, v, key, &in->url_file);
		if (!strcmp(key, "channel"))
			return corr_cfg_str(p, v, key, &in->channel);
		if (!strcmp(key, "username"))
			return corr_cfg_str(p, v, key, &in->username);
		if (!strcmp(key, "title") || !strcmp(key, "text")) {
			char **dst = !strcmp(key, "title") ? &in->title : &in->text;
			if (corr_cfg_str(p, v, key, dst))
				return -1;
			if (strstr(*dst, "{{")) {
				corr_cfg_warn(
					p, kn,
					"Go templates are not supported; using seismo's default text");
				free(*dst);
				*dst = NULL;
			}
			return 0;
		}
	}
	if (in->kind == CORR_INTEG_PAGERDUTY) {
		/* service_key (Events API v1) is sent as a v2 routing key. */
		if (!strcmp(key, "routing_key") || !strcmp(key, "service_key"))
			return corr_cfg_str(p, v, key, &in->routing_key);
		if (!strcmp(key, "routing_key_file") || !strcmp(key, "service_key_file"))
			return corr_cfg_str(p, v, key, &in->routing_key_file);
		if (!strcmp(key, "url"))
			return corr_cfg_str(p, v, key, &in->url);
		if (!strcmp(key, "severity"))
			return corr_cfg_str(p, v, key, &in->severity);
		if (!strcmp(key, "client"))
			return corr_cfg_str(p, v, key, &in->client);
	}
	char w[160];
	snprintf(w, sizeof(w), "%s: field \"%s\" is not used by seismo (ignored)",
		 corr_integration_kind_name(in->kind), key);
	corr_cfg_warn(p, kn, w);
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
		return corr_cfg_fail(p, v, "%s must be a list", key);
	int index = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		struct corr_receiver *r = c->r;
		struct corr_integration *g = realloc(r->integ, (r->n_integ + 1) * sizeof(*g));
		if (!g)
			return corr_cfg_fail(p, v, "out of memory");
		r->integ = g;
		struct corr_integration *in = &r->integ[r->n_integ++];
		memset(in, 0, sizeof(*in));
		in->kind = kind;
		in->index = index++;
		/* Alertmanager's defaults. */
		in->send_resolved = kind != CORR_INTEG_SLACK;
		yaml_node_t *n = corr_cfg_node(p, *it);
		if (corr_cfg_each_pair(p, n, key, integration_pair, in))
			return -1;
		if (kind == CORR_INTEG_SLACK && !in->url && !in->url_file) {
			if (c->cfg->slack_api_url && !(in->url = strdup(c->cfg->slack_api_url)))
				return corr_cfg_fail(p, n, "out of memory");
			if (c->cfg->slack_api_url_file &&
			    !(in->url_file = strdup(c->cfg->slack_api_url_file)))
				return corr_cfg_fail(p, n, "out of memory");
			if (!in->url && !in->url_file)
				return corr_cfg_fail(
					p, n,
					"slack_configs: no api_url or api_url_file (and none in global)");
		}
		if (kind == CORR_INTEG_PAGERDUTY) {
			if (!in->routing_key && !in->routing_key_file)
				return corr_cfg_fail(
					p, n,
					"pagerduty_configs: needs routing_key, service_key or a *_file");
			if (!in->url) {
				const char *u = c->cfg->pagerduty_url
							? c->cfg->pagerduty_url
							: "https://events.pagerduty.com/v2/enqueue";
				if (!(in->url = strdup(u)))
					return corr_cfg_fail(p, n, "out of memory");
			}
		}
		if ((kind == CORR_INTEG_WEBHOOK && !in->url && !in->url_file) ||
		    (kind == CORR_INTEG_ALERTMANAGER && !in->url))
			return corr_cfg_fail(p, n, "%s: needs a url", key);
	}
	return 0;
}

static int receiver_pair(struct cfg_parse *p, const char *key, yaml_node_t *kn, yaml_node_t *v,
			 void *arg)
{
	struct receiver_ctx *c = arg;

	if (!strcmp(key, "name"))
		return corr_cfg_str(p, v, key, &c->r->name);
	if (!strcmp(key, "webhook_configs"))
		return parse_integrations(p, v, key, CORR_INTEG_WEBHOOK, c);
	if (!strcmp(key, "slack_configs"))
		return parse_integrations(p, v, key, CORR_INTEG_SLACK, c);
	if (!strcmp(key, "pagerduty_configs"))
		return parse_integrations(p, v, key, CORR_INTEG_PAGERDUTY, c);
	if (!strcmp(key, "alertmanager_configs"))
		return parse_integrations(p, v, key, CORR_INTEG_ALERTMANAGER, c);
	if (strstr(key, "_configs"))
		return corr_cfg_fail(
			p, kn,
			"receiver: %s are not supported (webhook, slack, pagerduty and alertmanager are)",
			key);
	return corr_cfg_fail(p, kn, "receiver: unknown field \"%s\"", key);
}

int corr_cfg_parse_receivers(struct cfg_parse *p, yaml_node_t *v, struct corr_config *cfg)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return corr_cfg_fail(p, v, "receivers must be a list");
	size_t count = v->data.sequence.items.top - v->data.sequence.items.start;
	cfg->receivers = calloc(count + 1, sizeof(*cfg->receivers));
	if (!cfg->receivers)
		return corr_cfg_fail(p, v, "out of memory");
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *n = corr_cfg_node(p, v->data.sequence.items.start[i]);
		struct receiver_ctx c = { .cfg = cfg, .r = &cfg->receivers[i] };
		cfg->n_receivers++;
		if (corr_cfg_each_pair(p, n, "receiver", receiver_pair, &c))
			return -1;
		if (!c.r->name || !*c.r->name)
			return corr_cfg_fail(p, n, "receiver without a name");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->receivers[j].name, c.r->name))
				return corr_cfg_fail(p, n, "receiver \"%s\" defined twice",
						     c.r->name);
	}
	return 0;
}

void corr_cfg_free_integration(struct corr_integration *in)
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
