/*
 * The HTTP API of actions (server.c routes /api/v1/actions* and
 * /api/v1/runbooks* here), and their /metrics. docs/runbooks.md lists
 * the endpoints and shapes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_int.h"
#include "log.h"
#include "util.h"

static json_t *error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static json_t *kill_json_locked(const struct corr_actions *a)
{
	char since[32] = "";

	if (a->kill_since_ms)
		corr_time_format(a->kill_since_ms, since, sizeof(since));
	return json_pack("{s:b,s:b,s:s?,s:s?,s:s?,s:s?,s:b}", "engaged",
			 a->kill_api || a->kill_file, "engaged_by_api", a->kill_api, "by",
			 a->kill_api ? a->kill_by : NULL, "reason",
			 a->kill_api ? a->kill_reason : NULL, "since",
			 a->kill_api && since[0] ? since : NULL, "file", a->rbs->kill_switch_file,
			 "file_present", a->kill_file);
}

json_t *corr_actions_incident_json(struct corr_actions *a, const char *incident)
{
	pthread_mutex_lock(&a->lock);
	json_t *arr = astore_actions(a->st, "WHERE incident = ? ORDER BY seq", "s", incident);
	pthread_mutex_unlock(&a->lock);
	return arr;
}

static const char *who(json_t *body, char *err, size_t len)
{
	const char *by = json_string_value(json_object_get(body, "by"));

	if (!json_is_object(body) || !by || !by[0] || strlen(by) > 120) {
		snprintf(err, len,
			 "body must be a JSON object with \"by\": who decides (1..120 characters)");
		return NULL;
	}
	return by;
}

static unsigned decide(struct corr_actions *a, const char *id, bool approve, json_t *body,
		       json_t **out)
{
	char err[256];
	const char *by = who(body, err, sizeof(err));
	const char *comment = json_string_value(json_object_get(body, "comment"));
	int64_t now = corr_now_ms();

	if (!by) {
		*out = error_json(err);
		return 400;
	}
	pthread_mutex_lock(&a->lock);
	json_t *row = astore_action(a->st, id);
	pthread_mutex_unlock(&a->lock);
	if (!row) {
		*out = error_json("no such action");
		return 404;
	}
	const char *state = json_string_value(json_object_get(row, "state"));
	if (strcmp(state, "pending")) {
		char msg[128];
		snprintf(msg, sizeof(msg), "action is %s, not pending approval", state);
		*out = json_pack("{s:s,s:o}", "error", msg, "action", row);
		return 409;
	}
	/* Approving a fix for what is already over would act on a healthy system. */
	int istate = approve ? a->state_fn(a->state_arg,
					   json_string_value(json_object_get(row, "incident")))
			     : 0;
	json_decref(row);
	pthread_mutex_lock(&a->lock);
	int changed;
	if (istate != 0) {
		astore_exec(a->st,
			    "UPDATE actions SET state = 'skipped', reason = ?, decided_by = ?,"
			    " decided_ms = ? WHERE id = ? AND state = 'pending'",
			    "ssIs",
			    istate > 0 ? "incident resolved before approval"
				       : "incident no longer known",
			    by, now, id);
		changed = 0;
	} else {
		changed =
			astore_exec(a->st,
				    "UPDATE actions SET state = ?, decided_by = ?, decided_ms = ?,"
				    " comment = ? WHERE id = ? AND state = 'pending'",
				    "ssIss", approve ? "queued" : "denied", by, now, comment, id);
		if (changed == 1) {
			a->approvals[approve ? 0 : 1]++;
			/* Committed above: from here a restart still runs it, once. */
			/* HA: a follower leaves it to the leader, which reads it from the store. */
			if (approve && a->leader && push_action_locked(a, id))
				log_error(
					"actions: out of memory queueing %s (runs after a restart)",
					id);
			log_info("actions: %s %s by %s", id, approve ? "approved" : "denied", by);
		}
	}
	json_t *now_row = astore_action(a->st, id);
	pthread_mutex_unlock(&a->lock);
	if (changed != 1) {
		*out = json_pack("{s:s,s:o}", "error",
				 istate > 0 ? "the incident resolved: the action will not run"
					    : "action is no longer pending",
				 "action", now_row ? now_row : json_null());
		return 409;
	}
	*out = now_row;
	return 200;
}

static unsigned kill_switch(struct corr_actions *a, json_t *body, json_t **out)
{
	char err[256];
	json_t *eng = json_object_get(body, "engaged");
	const char *by = who(body, err, sizeof(err));
	const char *reason = json_string_value(json_object_get(body, "reason"));

	if (!by || !json_is_boolean(eng)) {
		*out = error_json(by ? "body needs \"engaged\": true or false" : err);
		return 400;
	}
	pthread_mutex_lock(&a->lock);
	bool on = json_is_true(eng);
	a->kill_api = on;
	snprintf(a->kill_by, sizeof(a->kill_by), "%s", by);
	snprintf(a->kill_reason, sizeof(a->kill_reason), "%s", reason ? reason : "");
	a->kill_since_ms = corr_now_ms();
	json_t *saved = json_pack("{s:b,s:s,s:s,s:I}", "engaged", on, "by", by, "reason",
				  reason ? reason : "", "since_ms", (json_int_t)a->kill_since_ms);
	char *text = json_dumps(saved, JSON_COMPACT);
	int rc = text ? astore_setting_put(a->st, "kill_switch", text) : -1;
	free(text);
	json_decref(saved);
	if (on)
		action_kill_engage_locked(a);
	else if (!a->kill_file)
		a->abort_now = 0;
	log_warn("actions: kill switch %s by %s%s%s", on ? "engaged" : "released", by,
		 reason ? ": " : "", reason ? reason : "");
	*out = kill_json_locked(a);
	pthread_mutex_unlock(&a->lock);
	if (rc) {
		json_decref(*out);
		*out = error_json("the kill switch is set in memory but could not be stored");
		return 500;
	}
	return 200;
}

static json_t *runbooks_json_locked(struct corr_actions *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->rbs->n; i++) {
		const struct corr_runbook *rb = &a->rbs->v[i];
		char *m = corr_matchers_string(&rb->matchers);
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:i,s:{s:b,s:i,s:i,s:i,s:i}}", "name",
				       rb->name, "mode", corr_rb_mode_name(rb->mode), "matchers",
				       m ? m : "", "enabled", rb->enabled, "dry_run", rb->dry_run,
				       "steps", (int)rb->n_steps, "circuit_breaker", "open",
				       a->rb[i].breaker_open, "failures", (int)a->rb[i].failures,
				       "unresolved", (int)a->rb[i].unresolved,
				       "open_after_failures", (int)rb->breaker_failures,
				       "open_after_unresolved", (int)rb->breaker_unresolved));
		free(m);
	}
	return arr;
}

static unsigned reset_breaker(struct corr_actions *a, const char *name, json_t *body, json_t **out)
{
	char err[256];
	const char *by = who(body, err, sizeof(err));

	if (!by) {
		*out = error_json(err);
		return 400;
	}
	pthread_mutex_lock(&a->lock);
	int idx = action_runbook_index(a, name);
	if (idx >= 0) {
		a->rb[idx].breaker_open = false;
		a->rb[idx].failures = a->rb[idx].unresolved = 0;
		astore_exec(
			a->st,
			"INSERT INTO action_runbooks (name, breaker_open, failures, unresolved, reason)"
			" VALUES (?, 0, 0, 0, ?) ON CONFLICT (name) DO UPDATE SET breaker_open = 0,"
			" failures = 0, unresolved = 0, reason = excluded.reason",
			"ss", name, by);
		log_warn("actions: circuit breaker of runbook %s reset by %s", name, by);
	}
	json_t *all = runbooks_json_locked(a);
	pthread_mutex_unlock(&a->lock);
	if (idx < 0) {
		json_decref(all);
		*out = error_json("no such runbook");
		return 404;
	}
	*out = json_incref(json_array_get(all, (size_t)idx));
	json_decref(all);
	return 200;
}

unsigned corr_actions_http(struct corr_actions *a, const char *method, const char *url,
			   const char *query_state, const char *query_incident, json_t *body,
			   json_t **out)
{
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");

	if (!strcmp(url, "/api/v1/runbooks") && get) {
		pthread_mutex_lock(&a->lock);
		*out = runbooks_json_locked(a);
		pthread_mutex_unlock(&a->lock);
		return 200;
	}
	if (!strncmp(url, "/api/v1/runbooks/", 17) && post) {
		char name[256];
		const char *rest = url + 17, *slash = strchr(rest, '/');
		if (slash && !strcmp(slash, "/reset") && (size_t)(slash - rest) < sizeof(name)) {
			snprintf(name, sizeof(name), "%.*s", (int)(slash - rest), rest);
			return reset_breaker(a, name, body, out);
		}
	}
	if (!strcmp(url, "/api/v1/actions/killswitch")) {
		if (post)
			return kill_switch(a, body, out);
		if (get) {
			pthread_mutex_lock(&a->lock);
			*out = kill_json_locked(a);
			pthread_mutex_unlock(&a->lock);
			return 200;
		}
	}
	if (!strcmp(url, "/api/v1/actions") && get) {
		pthread_mutex_lock(&a->lock);
		json_t *acts;
		if (query_state && query_incident)
			acts = astore_actions(
				a->st,
				"WHERE state = ? AND incident = ? ORDER BY seq DESC LIMIT 1000",
				"ss", query_state, query_incident);
		else if (query_state)
			acts = astore_actions(a->st, "WHERE state = ? ORDER BY seq DESC LIMIT 1000",
					      "s", query_state);
		else if (query_incident)
			acts = astore_actions(a->st,
					      "WHERE incident = ? ORDER BY seq DESC LIMIT 1000",
					      "s", query_incident);
		else
			acts = astore_actions(a->st, "ORDER BY seq DESC LIMIT 1000", NULL);
		*out = json_pack("{s:o,s:o,s:i,s:i,s:i}", "actions", acts, "kill_switch",
				 kill_json_locked(a), "queued", (int)a->q_len, "running",
				 a->running, "max_concurrent", (int)a->rbs->max_concurrent);
		pthread_mutex_unlock(&a->lock);
		return 200;
	}
	if (!strncmp(url, "/api/v1/actions/", 16)) {
		char id[64];
		const char *rest = url + 16, *slash = strchr(rest, '/');
		size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
		if (n >= sizeof(id)) {
			*out = error_json("no such action");
			return 404;
		}
		snprintf(id, sizeof(id), "%.*s", (int)n, rest);
		if (!slash && get) {
			pthread_mutex_lock(&a->lock);
			*out = astore_action(a->st, id);
			pthread_mutex_unlock(&a->lock);
			if (!*out) {
				*out = error_json("no such action");
				return 404;
			}
			return 200;
		}
		if (slash && post && (!strcmp(slash, "/approve") || !strcmp(slash, "/deny")))
			return decide(a, id, !strcmp(slash, "/approve"), body, out);
	}
	*out = error_json(get || post ? "no such endpoint" : "method not allowed on this endpoint");
	return get || post ? 404 : 405;
}

/* -------------------------------------------------------------- metrics */

void corr_actions_render_metrics(struct corr_actions *a, FILE *out)
{
	static const char *const bounds[10] = { "0.01", "0.025", "0.05", "0.1", "0.25",
						"0.5",	"1",	 "2.5",	 "5",	"10" };
	static const char *const names[] = { "proposed", "started", "succeeded", "failed",
					     "skipped" };

	pthread_mutex_lock(&a->lock);
	fprintf(out,
		"# HELP seismo_correlator_actions_total Runbook actions by runbook and what happened.\n"
		"# TYPE seismo_correlator_actions_total counter\n");
	for (size_t i = 0; i < a->rbs->n; i++) {
		const struct rb_state *s = &a->rb[i];
		const uint64_t v[] = { s->proposed, s->started, s->succeeded, s->failed,
				       s->skipped };
		for (size_t k = 0; k < 5; k++)
			fprintf(out,
				"seismo_correlator_actions_total{runbook=\"%s\",event=\"%s\"} %llu\n",
				a->rbs->v[i].name, names[k], (unsigned long long)v[k]);
	}
	fprintf(out,
		"# HELP seismo_correlator_actions_verified_total Actions that ran, by whether their incident resolved within verify_within.\n"
		"# TYPE seismo_correlator_actions_verified_total counter\n");
	for (size_t i = 0; i < a->rbs->n; i++)
		fprintf(out,
			"seismo_correlator_actions_verified_total{runbook=\"%s\",resolved=\"true\"} %llu\n"
			"seismo_correlator_actions_verified_total{runbook=\"%s\",resolved=\"false\"} %llu\n",
			a->rbs->v[i].name, (unsigned long long)a->rb[i].verified_ok,
			a->rbs->v[i].name, (unsigned long long)a->rb[i].verified_bad);
	fprintf(out,
		"# HELP seismo_correlator_action_breaker_open 1 while a runbook's circuit breaker is open.\n"
		"# TYPE seismo_correlator_action_breaker_open gauge\n");
	for (size_t i = 0; i < a->rbs->n; i++)
		fprintf(out, "seismo_correlator_action_breaker_open{runbook=\"%s\"} %d\n",
			a->rbs->v[i].name, a->rb[i].breaker_open);
	fprintf(out,
		"# HELP seismo_correlator_action_approvals_total Approval decisions.\n"
		"# TYPE seismo_correlator_action_approvals_total counter\n"
		"seismo_correlator_action_approvals_total{decision=\"approved\"} %llu\n"
		"seismo_correlator_action_approvals_total{decision=\"denied\"} %llu\n"
		"seismo_correlator_action_approvals_total{decision=\"expired\"} %llu\n"
		"# HELP seismo_correlator_action_escalations_total Escalations to a receiver (expired approval, breaker open).\n"
		"# TYPE seismo_correlator_action_escalations_total counter\n"
		"seismo_correlator_action_escalations_total %llu\n"
		"# HELP seismo_correlator_actions_running Actions running now.\n"
		"# TYPE seismo_correlator_actions_running gauge\n"
		"seismo_correlator_actions_running %d\n"
		"# HELP seismo_correlator_actions_running_peak Most actions that ever ran at once (the cap holds: <= max_concurrent).\n"
		"# TYPE seismo_correlator_actions_running_peak gauge\n"
		"seismo_correlator_actions_running_peak %d\n"
		"# HELP seismo_correlator_actions_queued Actions waiting for a worker.\n"
		"# TYPE seismo_correlator_actions_queued gauge\n"
		"seismo_correlator_actions_queued %zu\n"
		"# HELP seismo_correlator_actions_pending_approval Actions waiting for a person.\n"
		"# TYPE seismo_correlator_actions_pending_approval gauge\n"
		"seismo_correlator_actions_pending_approval %lld\n"
		"# HELP seismo_correlator_actions_kill_switch 1 while the kill switch is engaged (API or file).\n"
		"# TYPE seismo_correlator_actions_kill_switch gauge\n"
		"seismo_correlator_actions_kill_switch %d\n",
		(unsigned long long)a->approvals[0], (unsigned long long)a->approvals[1],
		(unsigned long long)a->approvals[2], (unsigned long long)a->escalations, a->running,
		a->running_peak, a->q_len,
		(long long)astore_int(a->st, 0,
				      "SELECT COUNT(*) FROM actions WHERE state = 'pending'", NULL),
		a->kill_api || a->kill_file);
	fprintf(out,
		"# HELP seismo_correlator_action_start_delay_seconds From the action's proposal (when its incident opened) to its start; approval time included.\n"
		"# TYPE seismo_correlator_action_start_delay_seconds histogram\n");
	for (int i = 0; i < 10; i++)
		fprintf(out,
			"seismo_correlator_action_start_delay_seconds_bucket{le=\"%s\"} %llu\n",
			bounds[i], (unsigned long long)a->start_delay_bucket[i]);
	fprintf(out,
		"seismo_correlator_action_start_delay_seconds_bucket{le=\"+Inf\"} %llu\n"
		"seismo_correlator_action_start_delay_seconds_sum %g\n"
		"seismo_correlator_action_start_delay_seconds_count %llu\n",
		(unsigned long long)a->start_delay_count, a->start_delay_sum,
		(unsigned long long)a->start_delay_count);
	pthread_mutex_unlock(&a->lock);
}
