/*
 * The life of an action: proposed by a matching runbook when an incident
 * is published, then
 *   suggest:  proposed (nothing runs)
 *   approve:  pending -> queued (approved) | denied | expired | skipped
 *   auto:     queued
 *   queued -> running -> succeeded | failed | cancelled (kill switch)
 *   queued -> skipped (resolved, breaker open, rate limit, disabled) | cancelled
 * Every transition is committed to the store before the next step acts
 * on it: a queued action found at start runs once; one found running was
 * interrupted and is marked failed, never run again (at most once).
 * A fixed pool of max_concurrent workers takes queued actions in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "action_int.h"
#include "log.h"
#include "util.h"

int action_runbook_index(const struct corr_actions *a, const char *name)
{
	for (size_t i = 0; i < a->rbs->n; i++)
		if (!strcmp(a->rbs->v[i].name, name))
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ queue */

int push_action_locked(struct corr_actions *a, const char *id)
{
	if (a->q_len == a->q_cap) {
		size_t cap = a->q_cap ? a->q_cap * 2 : 64;
		char **g = malloc(cap * sizeof(*g));
		if (!g)
			return -1;
		for (size_t i = 0; i < a->q_len; i++)
			g[i] = a->queue[(a->q_head + i) % a->q_cap];
		free(a->queue);
		a->queue = g;
		a->q_head = 0;
		a->q_cap = cap;
	}
	char *dup = strdup(id);
	if (!dup)
		return -1;
	a->queue[(a->q_head + a->q_len++) % a->q_cap] = dup;
	pthread_cond_broadcast(&a->wake);
	return 0;
}

static char *pop_locked(struct corr_actions *a)
{
	if (!a->q_len)
		return NULL;
	char *id = a->queue[a->q_head];
	a->q_head = (a->q_head + 1) % a->q_cap;
	a->q_len--;
	return id;
}

static void clear_queue_locked(struct corr_actions *a)
{
	char *id;

	while ((id = pop_locked(a)))
		free(id);
}

/* --------------------------------------------------------- breaker */

static void save_breaker(struct corr_actions *a, int idx, const char *reason, int64_t now)
{
	struct rb_state *s = &a->rb[idx];

	astore_exec(a->st,
		    "INSERT INTO action_runbooks (name, breaker_open, failures, unresolved,"
		    " opened_ms, reason) VALUES (?,?,?,?,?,?) ON CONFLICT (name) DO UPDATE SET"
		    " breaker_open = excluded.breaker_open, failures = excluded.failures,"
		    " unresolved = excluded.unresolved,"
		    " opened_ms = COALESCE(excluded.opened_ms, opened_ms),"
		    " reason = COALESCE(excluded.reason, reason)",
		    "siiiIs", a->rbs->v[idx].name, (int)s->breaker_open, (int)s->failures,
		    (int)s->unresolved, s->breaker_open ? now : (int64_t)0, reason);
}

/* After an outcome: failed (ran and failed) or unresolved (ran, incident stayed). */
static void breaker_note(struct corr_actions *a, int idx, const char *incident, const char *id,
			 bool failed, bool unresolved, bool good, int64_t now)
{
	const struct corr_runbook *rb;
	struct rb_state *s;
	char why[256] = "";

	if (idx < 0)
		return;
	rb = &a->rbs->v[idx];
	s = &a->rb[idx];
	if (failed)
		s->failures++;
	else if (good)
		s->failures = 0;
	if (unresolved)
		s->unresolved++;
	else if (good && !failed)
		s->unresolved = 0;
	if (!s->breaker_open && rb->breaker_failures && s->failures >= rb->breaker_failures)
		snprintf(why, sizeof(why), "%ld consecutive actions failed", s->failures);
	else if (!s->breaker_open && rb->breaker_unresolved && s->unresolved >= rb->breaker_unresolved)
		snprintf(why, sizeof(why),
			 "%ld consecutive actions did not resolve their incident within verify_within",
			 s->unresolved);
	if (why[0]) {
		char summary[512];
		s->breaker_open = true;
		log_warn("actions: runbook %s: circuit breaker opened: %s", rb->name, why);
		snprintf(summary, sizeof(summary),
			 "runbook %s stopped acting: %s; reset with seismo-correlator actions reset %s",
			 rb->name, why, rb->name);
		save_breaker(a, idx, why, now);
		action_escalate(a, rb, incident, id, "circuit-breaker-open", summary);
		return;
	}
	save_breaker(a, idx, NULL, now);
}

/* ------------------------------------------------------- proposals */

static bool killed_locked(const struct corr_actions *a)
{
	return a->kill_api || a->kill_file;
}

static void propose_locked(struct corr_actions *a, int idx, const char *incident,
			   const struct corr_labels *labels, int64_t n, int64_t now)
{
	const struct corr_runbook *rb = &a->rbs->v[idx];
	char err[256] = "", idbuf[17], seed[512];
	const char *state, *reason = NULL;
	int64_t expires = 0;

	snprintf(seed, sizeof(seed), "%s|%s|%lld", rb->name, incident, (long long)n);
	snprintf(idbuf, sizeof(idbuf), "%016llx",
		 (unsigned long long)corr_fnv1a(CORR_FNV_OFFSET, seed, strlen(seed)));
	json_t *plan = action_plan(rb, labels, err, sizeof(err));
	char *target = corr_rb_expand(rb->target, labels, err[0] ? NULL : err, err[0] ? 0 : sizeof(err));
	if (!plan || !target) {
		state = "skipped";
		reason = err;
	} else if (!rb->enabled) {
		state = "skipped";
		reason = "runbook disabled (enabled: false)";
	} else if (rb->mode == RB_SUGGEST) {
		state = "proposed";
	} else if (rb->mode == RB_APPROVE) {
		state = "pending";
		expires = now + rb->approval_ttl_ms;
	} else if (killed_locked(a)) {
		state = "skipped";
		reason = "kill switch engaged";
	} else if (a->rb[idx].breaker_open) {
		state = "skipped";
		reason = "circuit breaker open";
	} else {
		state = "queued";
	}
	json_t *lj = corr_labels_to_json(labels);
	char *ltext = lj ? json_dumps(lj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *ptext = json_dumps(plan ? plan : json_array(), JSON_COMPACT);
	int rc = astore_exec(a->st,
			     "INSERT OR IGNORE INTO actions (id, incident, runbook, mode, state, reason,"
			     " target, dry_run, labels, plan, created_ms, expires_ms, verify_within_ms)"
			     " VALUES (?,?,?,?,?,?,?,?,?,?,?,NULLIF(?, 0),?)",
			     "sssssssissIII", idbuf, incident, rb->name, corr_rb_mode_name(rb->mode),
			     state, reason, target ? target : "", (int)rb->dry_run,
			     ltext ? ltext : "{}", ptext ? ptext : "[]", now,
			     expires ? expires : (int64_t)0, rb->verify_within_ms);
	json_decref(lj);
	free(ltext);
	free(ptext);
	json_decref(plan);
	free(target);
	if (rc == 1) {
		a->rb[idx].proposed++;
		if (!strcmp(state, "skipped"))
			a->rb[idx].skipped++;
		log_info("actions: %s: runbook %s (%s) for incident %s: %s%s%s", idbuf, rb->name,
			 corr_rb_mode_name(rb->mode), incident, state, reason ? ": " : "",
			 reason ? reason : "");
		if (!strcmp(state, "queued") && push_action_locked(a, idbuf))
			log_error("actions: out of memory queueing %s (runs after a restart)", idbuf);
	}
}

/* The notification text: one line per action of the incident. */
static char *incident_text_locked(struct corr_actions *a, const char *incident)
{
	json_t *acts = astore_actions(a->st, "WHERE incident = ? ORDER BY seq", "s", incident);
	char *out = NULL;
	size_t len = 0, i;
	json_t *o;

	if (!json_array_size(acts)) {
		json_decref(acts);
		return NULL;
	}
	FILE *f = open_memstream(&out, &len);
	if (!f) {
		json_decref(acts);
		return NULL;
	}
	json_array_foreach(acts, i, o) {
		const char *state = json_string_value(json_object_get(o, "state"));
		const char *id = json_string_value(json_object_get(o, "id"));
		char *plan = action_plan_text(json_object_get(o, "plan"));
		fprintf(f, "%s%s (%s%s): %s: %s", i ? "\n" : "",
			json_string_value(json_object_get(o, "runbook")),
			json_string_value(json_object_get(o, "mode")),
			json_is_true(json_object_get(o, "dry_run")) ? ", dry run" : "",
			!strcmp(state, "proposed") ? "suggested" : state, plan ? plan : "");
		if (!strcmp(state, "pending"))
			fprintf(f, " [approve: seismo-correlator actions approve %s]", id);
		else
			fprintf(f, " [action %s]", id);
		free(plan);
	}
	fclose(f);
	json_decref(acts);
	return out;
}

/* The incident resolved: approvals are moot, actions that ran are verified. */
static void resolved_locked(struct corr_actions *a, const char *incident, int64_t resolved_ms,
			    int64_t now)
{
	size_t i;
	json_t *v;

	astore_exec(a->st,
		    "UPDATE actions SET state = 'skipped', reason = 'incident resolved before approval',"
		    " resolved_ms = ? WHERE incident = ? AND state = 'pending'",
		    "Is", resolved_ms, incident);
	json_t *done = astore_strings(a->st,
				      "SELECT id || ' ' || runbook FROM actions WHERE incident = ?"
				      " AND state = 'succeeded' AND dry_run = 0 AND verified IS NULL",
				      "s", incident);
	json_array_foreach(done, i, v) {
		char id[64], rbname[256];
		if (sscanf(json_string_value(v), "%63s %255s", id, rbname) != 2)
			continue;
		if (astore_exec(a->st,
				"UPDATE actions SET verified = 1, resolved_ms = ? WHERE id = ?"
				" AND verified IS NULL",
				"Is", resolved_ms, id) == 1) {
			int idx = action_runbook_index(a, rbname);
			if (idx >= 0)
				a->rb[idx].verified_ok++;
			breaker_note(a, idx, incident, id, false, false, true, now);
		}
	}
	json_decref(done);
}

char *corr_actions_on_incident(struct corr_actions *a, const char *incident, bool resolved,
			       int64_t resolved_ms, const struct corr_labels *labels,
			       int64_t now_ms)
{
	bool matched = false;

	if (!a || !a->rbs->n)
		return NULL;
	pthread_mutex_lock(&a->lock);
	if (resolved) {
		resolved_locked(a, incident, resolved_ms, now_ms);
		matched = true;
	}
	for (size_t i = 0; i < a->rbs->n; i++) {
		const struct corr_runbook *rb = &a->rbs->v[i];
		if (!corr_matchers_match(&rb->matchers, labels))
			continue;
		matched = true;
		if (resolved)
			continue;
		int64_t n = astore_int(a->st, 0,
				       "SELECT COUNT(*) FROM actions WHERE incident = ? AND runbook = ?",
				       "ss", incident, rb->name);
		if (n < rb->max_per_incident)
			propose_locked(a, (int)i, incident, labels, n, now_ms);
	}
	char *text = matched ? incident_text_locked(a, incident) : NULL;
	pthread_mutex_unlock(&a->lock);
	return text;
}

/* ------------------------------------------------------------- run */

/* Decides, under the lock, whether a queued action may start; marks it running. */
static const char *admit_locked(struct corr_actions *a, json_t *row, int idx, int64_t now,
				char *why, size_t len)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	const char *target = json_string_value(json_object_get(row, "target"));
	const struct corr_runbook *rb = idx >= 0 ? &a->rbs->v[idx] : NULL;

	if (killed_locked(a)) {
		snprintf(why, len, "kill switch engaged%s%s", a->kill_api ? " by " : " (file)",
			 a->kill_api ? a->kill_by : "");
		return "cancelled";
	}
	if (!rb) {
		snprintf(why, len, "runbook no longer in the config");
		return "skipped";
	}
	if (!rb->enabled) {
		snprintf(why, len, "runbook disabled (enabled: false)");
		return "skipped";
	}
	if (a->rb[idx].breaker_open) {
		snprintf(why, len, "circuit breaker open");
		return "skipped";
	}
	if (rb->rate_runbook_n &&
	    astore_int(a->st, 0,
		       "SELECT COUNT(*) FROM actions WHERE runbook = ? AND started_ms >= ?", "sI",
		       rb->name, now - rb->rate_runbook_ms) >= rb->rate_runbook_n) {
		snprintf(why, len, "rate limit: runbook %s ran %ld times in %llds", rb->name,
			 rb->rate_runbook_n, (long long)(rb->rate_runbook_ms / 1000));
		return "skipped";
	}
	if (rb->rate_target_n &&
	    astore_int(a->st, 0,
		       "SELECT COUNT(*) FROM actions WHERE runbook = ? AND target = ?"
		       " AND started_ms >= ?",
		       "ssI", rb->name, target, now - rb->rate_target_ms) >= rb->rate_target_n) {
		snprintf(why, len, "rate limit: target %s acted on %ld times in %llds", target,
			 rb->rate_target_n, (long long)(rb->rate_target_ms / 1000));
		return "skipped";
	}
	/* The commit that makes this run at most once. */
	if (astore_exec(a->st,
			"UPDATE actions SET state = 'running', started_ms = ? WHERE id = ?"
			" AND state = 'queued'",
			"Is", now, id) != 1) {
		snprintf(why, len, "could not be marked running");
		return NULL;
	}
	return "running";
}

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
			 json_object_get(row, "incident_labels"), "plan", json_object_get(row, "plan"));
}

static int run_steps(struct corr_actions *a, json_t *row, json_t *results, char *why, size_t len)
{
	struct action_ctx c = { .a = a, .id = json_string_value(json_object_get(row, "id")),
				.labels = json_object_get(row, "incident_labels") };
	bool dry = json_is_true(json_object_get(row, "dry_run"));
	size_t i;
	json_t *step;
	int rc = 0;

	c.payload = payload_of(row);
	json_array_foreach(json_object_get(row, "plan"), i, step) {
		json_t *r = json_pack("{s:i,s:O}", "step", (int)i + 1, "kind", json_object_get(step, "kind"));
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
			!strcmp(kind, "webhook") ? action_run_webhook :
			!strcmp(kind, "exec")	 ? action_run_exec :
			!strcmp(kind, "kubernetes") ? action_run_kubernetes : action_run_agent;
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
		snprintf(why, sizeof(why), istate > 0 ? "incident resolved before the action ran"
						      : "incident no longer known");
	} else {
		next = admit_locked(a, row, idx, now, why, sizeof(why));
	}
	if (next && strcmp(next, "running")) {
		astore_exec(a->st,
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
		    " verified = CASE WHEN ? THEN 1 ELSE NULL END,"
		    " resolved_ms = CASE WHEN ? THEN ? ELSE NULL END WHERE id = ?",
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
			breaker_note(a, idx, incident, id, rc != 0, false, rc == 0 && resolved_now, end);
	}
	pthread_mutex_unlock(&a->lock);
	log_info("actions: %s: %s%s%s", id, final, why[0] ? ": " : "", why);
	free(rtext);
	json_decref(results);
	json_decref(row);
}

static void *worker_main(void *arg)
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

/* ----------------------------------------------------------- clock */

void action_kill_engage_locked(struct corr_actions *a)
{
	a->abort_now = 1;
	clear_queue_locked(a);
	int n = astore_exec(a->st,
			    "UPDATE actions SET state = 'cancelled', reason = 'kill switch engaged'"
			    " WHERE state = 'queued'",
			    NULL);
	log_warn("actions: kill switch engaged: %d queued actions cancelled, running ones stopped",
		 n > 0 ? n : 0);
}

static void expire_approvals_locked(struct corr_actions *a, int64_t now)
{
	size_t i;
	json_t *v;
	json_t *due = astore_strings(a->st,
				     "SELECT id || ' ' || runbook || ' ' || incident FROM actions"
				     " WHERE state = 'pending' AND expires_ms <= ?",
				     "I", now);

	json_array_foreach(due, i, v) {
		char id[64], rbname[256], incident[128], summary[512];
		if (sscanf(json_string_value(v), "%63s %255s %127s", id, rbname, incident) != 3)
			continue;
		if (astore_exec(a->st,
				"UPDATE actions SET state = 'expired', reason = 'nobody approved it within"
				" approval_ttl', escalated = 1 WHERE id = ? AND state = 'pending'",
				"s", id) != 1)
			continue;
		a->approvals[2]++;
		snprintf(summary, sizeof(summary),
			 "approval of runbook %s for incident %s expired unanswered (action %s)",
			 rbname, incident, id);
		log_warn("actions: %s", summary);
		action_escalate(a, corr_runbooks_find(a->rbs, rbname), incident, id,
				"approval-expired", summary);
	}
	json_decref(due);
}

static void verify_timeouts_locked(struct corr_actions *a, int64_t now)
{
	size_t i;
	json_t *v;
	json_t *due = astore_strings(a->st,
				     "SELECT id || ' ' || runbook || ' ' || incident FROM actions"
				     " WHERE state = 'succeeded' AND dry_run = 0 AND verified IS NULL"
				     " AND finished_ms + verify_within_ms < ?",
				     "I", now);

	json_array_foreach(due, i, v) {
		char id[64], rbname[256], incident[128];
		if (sscanf(json_string_value(v), "%63s %255s %127s", id, rbname, incident) != 3)
			continue;
		if (astore_exec(a->st, "UPDATE actions SET verified = 0 WHERE id = ? AND verified IS NULL",
				"s", id) != 1)
			continue;
		int idx = action_runbook_index(a, rbname);
		log_warn("actions: %s: incident %s did not resolve within verify_within", id, incident);
		if (idx >= 0) {
			a->rb[idx].verified_bad++;
			breaker_note(a, idx, incident, id, false, true, false, now);
		}
	}
	json_decref(due);
}

static void *clock_main(void *arg)
{
	struct corr_actions *a = arg;
	const char *file = a->rbs->kill_switch_file;

	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		int64_t now = corr_now_ms();
		struct stat sb;
		bool present = file && stat(file, &sb) == 0;
		if (present != a->kill_file) {
			a->kill_file = present;
			log_warn("actions: kill switch file %s %s", file, present ? "appeared" : "removed");
			if (present)
				action_kill_engage_locked(a);
			else if (!a->kill_api)
				a->abort_now = 0;
		}
		expire_approvals_locked(a, now);
		verify_timeouts_locked(a, now);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (!a->stop)
			pthread_cond_timedwait(&a->wake, &a->lock, &ts);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* ------------------------------------------------------ life cycle */

static void restore_locked(struct corr_actions *a)
{
	char buf[1024];
	size_t i;
	json_t *v;

	int n = astore_exec(a->st,
			    "UPDATE actions SET state = 'failed', finished_ms = ?,"
			    " reason = 'interrupted: the correlator stopped while it ran; not run again'"
			    " WHERE state = 'running'",
			    "I", corr_now_ms());
	if (n > 0)
		log_warn("actions: %d actions were running when the correlator stopped: marked failed", n);
	json_t *queued = astore_strings(a->st, "SELECT id FROM actions WHERE state = 'queued' ORDER BY seq",
					NULL);
	json_array_foreach(queued, i, v)
		push_action_locked(a, json_string_value(v));
	if (json_array_size(queued))
		log_info("actions: %zu queued actions restored", json_array_size(queued));
	json_decref(queued);
	for (size_t r = 0; r < a->rbs->n; r++) {
		const char *name = a->rbs->v[r].name;
		a->rb[r].breaker_open = astore_int(a->st, 0, "SELECT breaker_open FROM action_runbooks WHERE name = ?", "s", name);
		a->rb[r].failures = (long)astore_int(a->st, 0, "SELECT failures FROM action_runbooks WHERE name = ?", "s", name);
		a->rb[r].unresolved = (long)astore_int(a->st, 0, "SELECT unresolved FROM action_runbooks WHERE name = ?", "s", name);
	}
	if (!astore_setting_get(a->st, "kill_switch", buf, sizeof(buf))) {
		json_t *k = json_loads(buf, 0, NULL);
		if (json_is_true(json_object_get(k, "engaged"))) {
			a->kill_api = true;
			a->abort_now = 1;
			snprintf(a->kill_by, sizeof(a->kill_by), "%s",
				 json_string_value(json_object_get(k, "by")) ?: "");
			snprintf(a->kill_reason, sizeof(a->kill_reason), "%s",
				 json_string_value(json_object_get(k, "reason")) ?: "");
			a->kill_since_ms = json_integer_value(json_object_get(k, "since_ms"));
			log_warn("actions: kill switch still engaged (by %s): nothing will run", a->kill_by);
		}
		json_decref(k);
	}
}

struct corr_actions *corr_actions_new(const struct corr_config *cfg, struct corr_notifier *nt,
				      corr_incident_state_fn state, void *state_arg, char *err,
				      size_t errlen)
{
	struct corr_actions *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	a->rbs = cfg->runbooks;
	a->nt = nt;
	a->state_fn = state;
	a->state_arg = state_arg;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	pthread_cond_init(&a->idle, NULL);
	a->rb = calloc(a->rbs->n + 1, sizeof(*a->rb));
	a->st = astore_open(cfg->db_path, cfg->sync_full, err, errlen);
	if (!a->rb || !a->st) {
		if (!a->rb)
			snprintf(err, errlen, "out of memory");
		corr_actions_free(a);
		return NULL;
	}
	pthread_mutex_lock(&a->lock);
	restore_locked(a);
	pthread_mutex_unlock(&a->lock);
	return a;
}

int corr_actions_start(struct corr_actions *a)
{
	size_t n = (size_t)a->rbs->max_concurrent;

	a->workers = calloc(n, sizeof(*a->workers));
	if (!a->workers)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&a->workers[i], NULL, worker_main, a))
			return -1;
		a->n_workers++;
	}
	if (pthread_create(&a->clock, NULL, clock_main, a))
		return -1;
	a->started = true;
	return 0;
}

int corr_actions_drain(struct corr_actions *a, int64_t timeout_ms)
{
	int64_t deadline = corr_now_ms() + timeout_ms;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	while (a->q_len || a->running) {
		if (corr_now_ms() >= deadline) {
			rc = -1;
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&a->idle, &a->lock, &ts);
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

void corr_actions_free(struct corr_actions *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	/*
	 * Running actions finish (bounded by their step timeouts) rather than
	 * being cut in half by a restart; queued ones stay queued in the store.
	 */
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < a->n_workers; i++)
		pthread_join(a->workers[i], NULL);
	if (a->started)
		pthread_join(a->clock, NULL);
	clear_queue_locked(a);
	free(a->queue);
	free(a->workers);
	free(a->rb);
	astore_close(a->st);
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->idle);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
