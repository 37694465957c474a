/*
 * The workers: a fixed pool of actions.max_concurrent threads takes queued
 * actions in order, re-checks the incident (no lock held), asks the guards,
 * commits "running", runs the planned steps in order (the first failure
 * ends it) and commits the outcome.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "action_int.h"
#include "log.h"
#include "util.h"

static void observe_start_delay(struct corr_actions *a, double s)
{
	static const double bounds[10] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

	a->start_delay_count++;
	a->start_delay_sum += s;
	for (int i = 0; i < 10; i++)
		if (s <= bounds[i])
			a->start_delay_bucket[i]++;
}

static json_t *payload_of(json_t *row)
{
	return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "action", json_object_get(row, "id"),
			 "incident", json_object_get(row, "incident"), "runbook",
			 json_object_get(row, "runbook"), "mode", json_object_get(row, "mode"),
			 "target", json_object_get(row, "target"), "labels",
			 json_object_get(row, "incident_labels"), "plan",
			 json_object_get(row, "plan"));
}

static int run_steps(struct corr_actions *a, json_t *row, json_t *results, char *why, size_t len)
{
	struct action_ctx c = { .a = a,
				.id = json_string_value(json_object_get(row, "id")),
				.labels = json_object_get(row, "incident_labels") };
	bool dry = json_is_true(json_object_get(row, "dry_run"));
	size_t i;
	json_t *step;
	int rc = 0;

	c.payload = payload_of(row);
	json_array_foreach(json_object_get(row, "plan"), i, step) {
		json_t *r = json_pack("{s:i,s:O}", "step", (int)i + 1, "kind",
				      json_object_get(step, "kind"));
		int64_t t0 = corr_now_ms();
		if (a->abort_now) {
			json_object_set_new(r, "status", json_string("cancelled"));
			json_array_append_new(results, r);
			snprintf(why, len, "kill switch engaged");
			rc = -2;
			break;
		}
		if (dry) {
			json_t *one = json_array();
			json_array_append(one, step);
			char *text = action_plan_text(one);
			json_decref(one);
			json_object_set_new(r, "status", json_string("dry-run"));
			json_object_set_new(r, "output", json_string(text ? text : ""));
			free(text);
			json_array_append_new(results, r);
			continue;
		}
		const char *kind = json_string_value(json_object_get(step, "kind"));
		int (*fn)(const struct action_ctx *, json_t *, json_t *) =
			!strcmp(kind, "webhook")      ? action_run_webhook
			: !strcmp(kind, "exec")	      ? action_run_exec
			: !strcmp(kind, "kubernetes") ? action_run_kubernetes
						      : action_run_agent;
		int src = fn(&c, step, r);
		json_object_set_new(r, "duration_ms", json_integer(corr_now_ms() - t0));
		json_array_append_new(results, r);
		if (src) {
			const char *e = json_string_value(json_object_get(r, "error"));
			snprintf(why, len, "step %zu (%s) failed%s%s", i + 1, kind, e ? ": " : "",
				 e ? e : "");
			rc = a->abort_now ? -2 : -1;
			break;
		}
	}
	json_decref(c.payload);
	return rc;
}

static void run_one(struct corr_actions *a, const char *id)
{
	char why[512] = "";

	pthread_mutex_lock(&a->lock);
	json_t *row = astore_action(a->st, id);
	pthread_mutex_unlock(&a->lock);
	if (!row || strcmp(json_string_value(json_object_get(row, "state")), "queued")) {
		json_decref(row);
		return;
	}
	const char *incident = json_string_value(json_object_get(row, "incident"));
	const char *rbname = json_string_value(json_object_get(row, "runbook"));
	/* Right before running: is there still something to fix? (no lock held) */
	int istate = a->state_fn(a->state_arg, incident);
	int64_t now = corr_now_ms();
	int idx = action_runbook_index(a, rbname);
	const char *next;

	pthread_mutex_lock(&a->lock);
	if (istate != 0) {
		next = "skipped";
		snprintf(why, sizeof(why),
			 istate > 0 ? "incident resolved before the action ran"
				    : "incident no longer known");
	} else {
		next = admit_locked(a, row, idx, now, why, sizeof(why));
	}
	if (next && strcmp(next, "running")) {
		astore_exec(
			a->st,
			"UPDATE actions SET state = ?, reason = ? WHERE id = ? AND state = 'queued'",
			"sss", next, why, id);
		if (idx >= 0)
			a->rb[idx].skipped++;
		log_info("actions: %s: %s: %s", id, next, why);
	}
	if (next && !strcmp(next, "running")) {
		if (idx >= 0)
			a->rb[idx].started++;
		int64_t created = 0;
		corr_time_parse(json_string_value(json_object_get(row, "created_at")), &created);
		observe_start_delay(a, (double)(now - created) / 1000.0);
	}
	pthread_mutex_unlock(&a->lock);
	if (!next || strcmp(next, "running")) {
		json_decref(row);
		return;
	}
	log_info("actions: %s: running runbook %s for incident %s", id, rbname, incident);
	json_t *results = json_array();
	int rc = run_steps(a, row, results, why, sizeof(why));
	char *rtext = json_dumps(results, JSON_COMPACT);
	/* Resolved while it ran: verified at once. */
	bool dry = json_is_true(json_object_get(row, "dry_run"));
	bool resolved_now = rc == 0 && !dry && a->state_fn(a->state_arg, incident) > 0;
	int64_t end = corr_now_ms();
	const char *final = rc == 0 ? "succeeded" : rc == -2 ? "cancelled" : "failed";

	pthread_mutex_lock(&a->lock);
	astore_exec(a->st,
		    "UPDATE actions SET state = ?, reason = ?, results = ?, finished_ms = ?,"
		    " verified = CASE WHEN ? <> 0 THEN 1 ELSE NULL END,"
		    " resolved_ms = CASE WHEN ? <> 0 THEN ? ELSE NULL END WHERE id = ?",
		    "sssIiiIs", final, why[0] ? why : NULL, rtext ? rtext : "[]", end,
		    (int)resolved_now, (int)resolved_now, end, id);
	if (idx >= 0) {
		if (rc == 0)
			a->rb[idx].succeeded++;
		else
			a->rb[idx].failed++;
		if (resolved_now)
			a->rb[idx].verified_ok++;
		if (!dry && rc != -2)
			breaker_note(a, idx, incident, id, rc != 0, false, rc == 0 && resolved_now,
				     end);
	}
	pthread_mutex_unlock(&a->lock);
	log_info("actions: %s: %s%s%s", id, final, why[0] ? ": " : "", why);
	free(rtext);
	json_decref(results);
	json_decref(row);
}

void *worker_main(void *arg)
{
	struct corr_actions *a = arg;

	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		char *id = pop_locked(a);
		if (!id) {
			pthread_cond_wait(&a->wake, &a->lock);
			continue;
		}
		a->running++;
		if (a->running > a->running_peak)
			a->running_peak = a->running;
		pthread_mutex_unlock(&a->lock);
		run_one(a, id);
		free(id);
		pthread_mutex_lock(&a->lock);
		a->running--;
		if (!a->running && !a->q_len)
			pthread_cond_broadcast(&a->idle);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}
