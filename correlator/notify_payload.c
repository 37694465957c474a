/*
 * What a notification says, per receiver kind: the webhook (Alertmanager's
 * payload), Slack, PagerDuty and Alertmanager bodies, titles and texts, and
 * the target URL with its secrets read from files. notify.c sends them.
 */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

void corr_notification_free(struct corr_notification *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_alerts; i++)
		corr_alert_free(&n->alerts[i]);
	free(n->alerts);
	free(n->group_key);
	free(n->nflog_key);
	free(n->firing);
	free(n->resolved);
	corr_labels_free(&n->group_labels);
	free(n);
}

static size_t count_firing(const struct corr_notification *n)
{
	size_t f = 0;

	for (size_t i = 0; i < n->n_alerts; i++)
		f += !corr_alert_resolved(&n->alerts[i], n->now_ms);
	return f;
}

/* Labels (or annotations) whose value is the same in the first count alerts
 * (Alertmanager's webhook computes them after max_alerts truncation). */
static json_t *common_pairs(const struct corr_notification *n, int annotations, size_t count)
{
	json_t *o = json_object();

	if (count > n->n_alerts)
		count = n->n_alerts;
	if (!count)
		return o;
	const struct corr_labels *first = annotations ? &n->alerts[0].annotations
						      : &n->alerts[0].labels;
	for (size_t i = 0; i < first->n; i++) {
		int common = 1;
		for (size_t j = 1; j < count && common; j++) {
			const struct corr_labels *ls = annotations ? &n->alerts[j].annotations
								   : &n->alerts[j].labels;
			const char *v = corr_labels_get(ls, first->v[i].name);
			common = v && !strcmp(v, first->v[i].value);
		}
		if (common)
			json_object_set_new(o, first->v[i].name, json_string(first->v[i].value));
	}
	return o;
}

static json_t *webhook_payload(const struct corr_config *cfg, const struct corr_notification *n)
{
	size_t limit = n->integ->max_alerts > 0 ? (size_t)n->integ->max_alerts : n->n_alerts;
	json_t *alerts = json_array();

	size_t firing = 0;

	for (size_t i = 0; i < n->n_alerts && i < limit; i++) {
		json_array_append_new(alerts, corr_alert_to_json(&n->alerts[i], n->now_ms));
		firing += !corr_alert_resolved(&n->alerts[i], n->now_ms);
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:I}", "receiver", n->receiver,
			 "status", firing ? "firing" : "resolved", "alerts", alerts, "groupLabels",
			 corr_labels_to_json(&n->group_labels), "commonLabels",
			 common_pairs(n, 0, limit), "commonAnnotations", common_pairs(n, 1, limit),
			 "externalURL", cfg->external_url, "version", "4", "groupKey", n->group_key,
			 "truncatedAlerts",
			 (json_int_t)(n->n_alerts > limit ? n->n_alerts - limit : 0));
}

/*
 * Alertmanager's default subject (Slack title, PagerDuty summary):
 * "[FIRING:2] <group label values> (<other common label values>)".
 */
static char *default_title(const struct corr_notification *n)
{
	size_t firing = count_firing(n);
	json_t *common = common_pairs(n, 0, n->n_alerts);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *key;
	json_t *v;
	int others = 0;

	if (!f) {
		json_decref(common);
		return NULL;
	}
	if (firing)
		fprintf(f, "[FIRING:%zu]", firing);
	else
		fprintf(f, "[RESOLVED]");
	for (size_t i = 0; i < n->group_labels.n; i++)
		fprintf(f, " %s", n->group_labels.v[i].value);
	/* jansson keeps insertion order, and labels are sorted already. */
	json_object_foreach(common, key, v) {
		if (corr_labels_get(&n->group_labels, key))
			continue;
		fprintf(f, "%s%s", others++ ? " " : " (", json_string_value(v));
	}
	if (others)
		fputc(')', f);
	json_decref(common);
	fclose(f);
	return buf;
}

static char *alerts_text(const struct corr_notification *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n->n_alerts; i++) {
		const struct corr_alert *a = &n->alerts[i];
		const char *summary = corr_labels_get(&a->annotations, "summary");
		const char *desc = corr_labels_get(&a->annotations, "description");
		fprintf(f, "%s%s: %s%s%s\n", corr_alert_resolved(a, n->now_ms) ? "[resolved] " : "",
			corr_labels_get(&a->labels, "alertname")
				? corr_labels_get(&a->labels, "alertname")
				: "alert",
			summary ? summary : "", desc ? " - " : "", desc ? desc : "");
	}
	fclose(f);
	return buf;
}

static json_t *slack_payload(const struct corr_config *cfg, const struct corr_notification *n)
{
	char *title = n->integ->title ? strdup(n->integ->title) : default_title(n);
	char *text = n->integ->text ? strdup(n->integ->text) : alerts_text(n);
	json_t *att, *body = NULL;

	if (!title || !text)
		goto out;
	att = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s,s,s]}", "title", title, "title_link",
			cfg->external_url, "text", text, "fallback", title, "color",
			count_firing(n) ? "danger" : "good", "mrkdwn_in", "fallback", "pretext",
			"text");
	body = json_pack("{s:o}", "attachments", json_pack("[o]", att));
	if (body && n->integ->channel)
		json_object_set_new(body, "channel", json_string(n->integ->channel));
	if (body && n->integ->username)
		json_object_set_new(body, "username", json_string(n->integ->username));
out:
	free(title);
	free(text);
	return body;
}

static json_t *pagerduty_payload(const struct corr_config *cfg, const struct corr_notification *n,
				 const char *key)
{
	char *title = default_title(n), dedup[40];
	size_t firing = count_firing(n);
	json_t *details, *body;

	if (!title)
		return NULL;
	if (strlen(title) > 1024)
		title[1024] = 0;
	/* A stable key per receiver and group, so resolve closes what trigger opened. */
	uint64_t h = corr_fnv1a(CORR_FNV_OFFSET, n->receiver, strlen(n->receiver));
	uint64_t h2 = corr_fnv1a(h ^ 0x5bd1e995, n->group_key, strlen(n->group_key));
	h = corr_fnv1a(h, n->group_key, strlen(n->group_key));
	snprintf(dedup, sizeof(dedup), "%016llx%016llx", (unsigned long long)h,
		 (unsigned long long)h2);
	json_t *firing_arr = json_array();
	for (size_t i = 0; i < n->n_alerts; i++)
		json_array_append_new(firing_arr, corr_alert_to_json(&n->alerts[i], n->now_ms));
	details = json_pack("{s:o,s:I,s:I,s:o}", "alerts", firing_arr, "num_firing",
			    (json_int_t)firing, "num_resolved", (json_int_t)(n->n_alerts - firing),
			    "groupLabels", corr_labels_to_json(&n->group_labels));
	body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:o}}", "routing_key", key,
			 "event_action", firing ? "trigger" : "resolve", "dedup_key", dedup,
			 "client", n->integ->client ? n->integ->client : "seismo-correlator",
			 "client_url", cfg->external_url, "payload", "summary", title, "source",
			 "seismo-correlator", "severity",
			 n->integ->severity ? n->integ->severity : "error", "custom_details",
			 details);
	free(title);
	return body;
}

static json_t *alertmanager_payload(const struct corr_notification *n)
{
	json_t *arr = json_array();
	char starts[32], ends[32];

	for (size_t i = 0; i < n->n_alerts; i++) {
		const struct corr_alert *a = &n->alerts[i];
		int64_t ends_ms = a->ends_at_ms;
		/*
		 * A firing alert is resent every group_interval; give it an end
		 * well past that so Alertmanager's resolve_timeout never
		 * resolves what is still firing here.
		 */
		if (!corr_alert_resolved(a, n->now_ms))
			ends_ms = n->now_ms + 4 * n->group_interval_ms;
		corr_time_format(a->starts_at_ms, starts, sizeof(starts));
		corr_time_format(ends_ms, ends, sizeof(ends));
		json_array_append_new(arr,
				      json_pack("{s:o,s:o,s:s,s:s,s:s}", "labels",
						corr_labels_to_json(&a->labels), "annotations",
						corr_labels_to_json(&a->annotations), "startsAt",
						starts, "endsAt", ends, "generatorURL",
						a->generator_url ? a->generator_url : ""));
	}
	return arr;
}

/* The literal value, or the first line of the file that holds it. */
static char *secret(const char *value, const char *file, const char *what, char *err, size_t errlen)
{
	char *s;

	if (value)
		return strdup(value);
	s = corr_read_small_file(file, 8192);
	if (!s)
		snprintf(err, errlen, "%s file %s: %s", what, file, strerror(errno));
	return s;
}

/* Where an integration sends: read at send time, so *_file changes apply. */
char *corr_notify_target_url(const struct corr_integration *in, char *err, size_t errlen)
{
	char *url = NULL;

	switch (in->kind) {
	case CORR_INTEG_WEBHOOK:
		return secret(in->url, in->url_file, "webhook url", err, errlen);
	case CORR_INTEG_SLACK:
		return secret(in->url, in->url_file, "slack api_url", err, errlen);
	case CORR_INTEG_PAGERDUTY:
		return strdup(in->url);
	case CORR_INTEG_ALERTMANAGER: {
		size_t l = strlen(in->url);
		if (asprintf(&url, "%s%s", in->url,
			     l && in->url[l - 1] == '/' ? "api/v2/alerts" : "/api/v2/alerts") < 0)
			url = NULL;
		break;
	}
	}
	return url;
}

int corr_notify_build(const struct corr_config *cfg, const struct corr_notification *n, char **body,
		      char **url, char *err, size_t errlen)
{
	const struct corr_integration *in = n->integ;
	json_t *payload = NULL;
	char *key = NULL;

	*body = NULL;
	*url = NULL;
	*url = corr_notify_target_url(in, err, errlen);
	switch (in->kind) {
	case CORR_INTEG_WEBHOOK:
		payload = webhook_payload(cfg, n);
		break;
	case CORR_INTEG_SLACK:
		payload = slack_payload(cfg, n);
		break;
	case CORR_INTEG_PAGERDUTY:
		key = secret(in->routing_key, in->routing_key_file, "pagerduty key", err, errlen);
		payload = key ? pagerduty_payload(cfg, n, key) : NULL;
		break;
	case CORR_INTEG_ALERTMANAGER:
		payload = alertmanager_payload(n);
		break;
	}
	free(key);
	if (payload)
		*body = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (!*url || !*body) {
		if (!err[0])
			snprintf(err, errlen, "cannot build the %s payload",
				 corr_integration_kind_name(in->kind));
		free(*url);
		free(*body);
		*url = *body = NULL;
		return -1;
	}
	return 0;
}
