/*
 * seismo-correlator configuration: Alertmanager's schema (global, route,
 * inhibit_rules, receivers) plus a `seismo:` section for the server and the
 * correlation. An Alertmanager config loads as it is; fields we do not act
 * on are reported as warnings, wrong shapes and unknown keys as errors with
 * file:line.
 */
#ifndef CORR_CONFIG_H
#define CORR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "matcher.h"

struct corr_route {
	struct corr_route *parent;
	char *receiver;
	struct corr_matchers matchers;
	char **group_by;
	size_t n_group_by;
	bool group_by_all; /* group_by: ['...'] */
	int64_t group_wait_ms;
	int64_t group_interval_ms;
	int64_t repeat_interval_ms;
	bool cont;
	struct corr_route *routes;
	size_t n_routes;
	char *key; /* Alertmanager's route key: parent key / matchers */
	int line;
};

struct corr_inhibit_rule {
	struct corr_matchers source;
	struct corr_matchers target;
	char **equal;
	size_t n_equal;
};

enum corr_integration_kind {
	CORR_INTEG_WEBHOOK,
	CORR_INTEG_SLACK,
	CORR_INTEG_PAGERDUTY,
	CORR_INTEG_ALERTMANAGER,
};

struct corr_integration {
	enum corr_integration_kind kind;
	int index; /* position among the receiver's integrations of this kind */
	bool send_resolved;
	char *url;
	char *url_file;
	int max_alerts;
	/* slack */
	char *channel;
	char *username;
	char *title;
	char *text;
	/* pagerduty */
	char *routing_key;
	char *routing_key_file;
	char *severity;
	char *client;
};

struct corr_receiver {
	char *name;
	struct corr_integration *integ;
	size_t n_integ;
};

struct corr_runbooks; /* runbook.h */

struct corr_config {
	char *path;
	/* seismo: server */
	char *listen;
	char *token;
	char *token_file; /* read at start (main), so a config checks anywhere */
	char *db_path;
	int sync_full;
	size_t max_body_bytes;
	size_t max_decoded_bytes;
	int threads;
	char *external_url;
	/* seismo: correlation */
	int64_t retention_ms;	      /* events older than this are dropped at start */
	int64_t correlation_slack_ms; /* anomalies this close in time overlap */
	int64_t incident_close_ms;    /* quiet time before an incident closes */
	int max_hops;		      /* topology distance that still merges */
	int critical_services;	      /* blast radius that makes an incident critical */
	/* seismo: notifications */
	int notify_attempts;
	int64_t notify_backoff_ms;
	int64_t notify_timeout_ms;
	int notify_concurrency; /* senders per receiver integration */
	/* seismo: liveness */
	int64_t stale_after_ms; /* a node silent this long: its anomalies resolve as stale */
	/* Alertmanager */
	int64_t resolve_timeout_ms;
	char *slack_api_url;
	char *slack_api_url_file;
	char *pagerduty_url;
	struct corr_route root;
	struct corr_inhibit_rule *inhibit;
	size_t n_inhibit;
	struct corr_receiver *receivers;
	size_t n_receivers;
	/* runbooks: and actions: (runbook.h); never NULL after a load */
	struct corr_runbooks *runbooks;
};

/* Loads and validates; on error writes "file:line: message" into err. */
struct corr_config *corr_config_load(const char *path, char *err, size_t errlen);
/* The same from a string (tests); name is used in messages. */
struct corr_config *corr_config_parse(const char *text, size_t len, const char *name, char *err,
				      size_t errlen);
/* A config with only defaults and a null root receiver. */
struct corr_config *corr_config_default(void);
void corr_config_free(struct corr_config *cfg);
const struct corr_receiver *corr_config_receiver(const struct corr_config *cfg, const char *name);
const char *corr_integration_kind_name(enum corr_integration_kind k);

#endif
