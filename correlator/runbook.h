/*
 * Runbooks: what the correlator may do about an incident. A runbook
 * matches incidents by label (Alertmanager matcher syntax), has a mode
 * (suggest: recorded only; approve: waits for a person; auto: runs), an
 * ordered list of steps (webhook, exec, kubernetes, agent) and guards
 * (once per incident, rate limits, circuit breaker, enabled, dry_run).
 * Parsed from the top-level `runbooks:` list and `actions:` settings of
 * the correlator config; errors name file:line.
 */
#ifndef CORR_RUNBOOK_H
#define CORR_RUNBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "labels.h"
#include "matcher.h"

enum rb_mode {
	RB_SUGGEST,
	RB_APPROVE,
	RB_AUTO
};
enum rb_kind {
	RB_WEBHOOK,
	RB_EXEC,
	RB_KUBERNETES,
	RB_AGENT
};
enum rb_kube_verb {
	RB_KUBE_ROLLOUT_RESTART,
	RB_KUBE_SCALE,
	RB_KUBE_DELETE_POD,
	RB_KUBE_CORDON
};

/* One step of a runbook. Strings may hold ${label} templates. */
struct rb_step {
	enum rb_kind kind;
	int line;
	char *url;   /* webhook; agent (the agent's base URL) */
	char **argv; /* exec */
	size_t argc;
	int64_t timeout_ms; /* exec, and every HTTP call */
	enum rb_kube_verb verb;
	char *resource; /* deployment | statefulset | daemonset */
	char *namespace_;
	char *name; /* object, pod or node name */
	bool has_replicas, has_add;
	long replicas, add, min_replicas, max_replicas;
	long grace_seconds; /* delete-pod; -1: the pod's own */
	char *agent_action; /* chaos-stop | systemd-restart */
	char *agent_arg;    /* experiment or unit */
};

struct corr_runbook {
	char *name;
	int line;
	struct corr_matchers matchers;
	enum rb_mode mode;
	struct rb_step *steps;
	size_t n_steps;
	bool enabled;
	bool dry_run;
	int max_per_incident; /* default 1 */
	char *target;	      /* template naming what is acted on (rate limit key) */
	long rate_runbook_n;  /* 0: no limit */
	int64_t rate_runbook_ms;
	long rate_target_n;
	int64_t rate_target_ms;
	int64_t approval_ttl_ms;
	int64_t verify_within_ms;
	long breaker_failures;	 /* consecutive failed actions that open it */
	long breaker_unresolved; /* consecutive actions whose incident did not resolve */
	char *escalate;		 /* receiver; NULL: actions.escalate */
};

struct corr_runbooks {
	struct corr_runbook *v;
	size_t n;
	/* actions: */
	long max_concurrent;
	char *kill_switch_file;
	char *escalate; /* default receiver for escalations */
	char *kube_api; /* default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT */
	char *kube_token_file;
	char *kube_ca_file;
	bool kube_insecure;
	char *agent_token_file; /* bearer token sent to agents */
	long max_output_bytes;	/* exec output kept in the audit */
};

/*
 * Parses `actions:` (may be NULL) and `runbooks:` (may be NULL) of doc.
 * has_receiver says whether an escalation receiver exists. NULL with
 * "name:line: message" in err.
 */
struct corr_runbooks *corr_runbooks_parse(yaml_document_t *doc, yaml_node_t *actions,
					  yaml_node_t *runbooks, const char *name,
					  bool (*has_receiver)(void *arg, const char *name),
					  void *arg, char *err, size_t errlen);
void corr_runbooks_free(struct corr_runbooks *rbs);
const struct corr_runbook *corr_runbooks_find(const struct corr_runbooks *rbs, const char *name);

const char *corr_rb_mode_name(enum rb_mode m);
const char *corr_rb_kind_name(enum rb_kind k);
const char *corr_rb_kube_verb_name(enum rb_kube_verb v);

/*
 * Expands ${label} from ls. Unknown labels fail (a kubectl target must
 * not silently become ""): NULL with the label named in err.
 */
char *corr_rb_expand(const char *tmpl, const struct corr_labels *ls, char *err, size_t errlen);

#endif
