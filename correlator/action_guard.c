/*
 * The guards that decide whether a queued action may start (kill switch,
 * enabled, circuit breaker, rate limits counted in the store) and the
 * clock that enforces the time-based ones: the kill switch file, approval
 * TTLs (expired + escalated) and verify_within (an action whose incident
 * did not resolve in time counts toward the breaker).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "action_int.h"
#include "log.h"
#include "util.h"

bool killed_locked(const struct corr_actions *a)
{
	return a->kill_api || a->kill_file;
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
		    " opened_ms = COALESCE(excluded.opened_ms, action_runbooks.opened_ms),"
		    " reason = COALESCE(excluded.reason, action_runbooks.reason)",
		    "siiiIs", a->rbs->v[idx].name, (int)s->breaker_open, (int)s->failures,
		    (int)s->unresolved, s->breaker_open ? now : (int64_t)0, reason);
}

/* After an outcome: failed (ran and failed) or unresolved (ran, incident stayed). */
void breaker_note(struct corr_actions *a, int idx, const char *incident, const char *id,
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
	else if (!s->breaker_open && rb->breaker_unresolved &&
		 s->unresolved >= rb->breaker_unresolved)
		snprintf(
			why, sizeof(why),
			"%ld consecutive actions did not resolve their incident within verify_within",
			s->unresolved);
	if (why[0]) {
		char summary[512];
		s->breaker_open = true;
		log_warn("actions: runbook %s: circuit breaker opened: %s", rb->name, why);
		snprintf(
			summary, sizeof(summary),
			"runbook %s stopped acting: %s; reset with seismo-correlator actions reset %s",
			rb->name, why, rb->name);
		save_breaker(a, idx, why, now);
		action_escalate(a, rb, incident, id, "circuit-breaker-open", summary);
		return;
	}
	save_breaker(a, idx, NULL, now);
}

/* Decides, under the lock, whether a queued action may start; marks it running. */
const char *admit_locked(struct corr_actions *a, json_t *row, int idx, int64_t now, char *why,
			 size_t len)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	const char *target = json_string_value(json_object_get(row, "target"));
	const struct corr_runbook *rb = idx >= 0 ? &a->rbs->v[idx] : NULL;

	/* HA: a kill switch set on another replica a moment ago holds here too. */
	if (a->shared)
		load_kill_locked(a);
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
		if (astore_exec(
			    a->st,
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
	json_t *due =
		astore_strings(a->st,
			       "SELECT id || ' ' || runbook || ' ' || incident FROM actions"
			       " WHERE state = 'succeeded' AND dry_run = 0 AND verified IS NULL"
			       " AND finished_ms + verify_within_ms < ?",
			       "I", now);

	json_array_foreach(due, i, v) {
		char id[64], rbname[256], incident[128];
		if (sscanf(json_string_value(v), "%63s %255s %127s", id, rbname, incident) != 3)
			continue;
		if (astore_exec(a->st,
				"UPDATE actions SET verified = 0 WHERE id = ? AND verified IS NULL",
				"s", id) != 1)
			continue;
		int idx = action_runbook_index(a, rbname);
		log_warn("actions: %s: incident %s did not resolve within verify_within", id,
			 incident);
		if (idx >= 0) {
			a->rb[idx].verified_bad++;
			breaker_note(a, idx, incident, id, false, true, false, now);
		}
	}
	json_decref(due);
}

void *clock_main(void *arg)
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
			log_warn("actions: kill switch file %s %s", file,
				 present ? "appeared" : "removed");
			if (present)
				action_kill_engage_locked(a);
			else if (!a->kill_api)
				a->abort_now = 0;
		}
		if (a->shared && now >= a->next_sync_ms) {
			sync_shared_locked(a);
			a->next_sync_ms = now + 500;
		}
		/* HA: one replica keeps the time (expiries escalate once). */
		if (a->leader) {
			expire_approvals_locked(a, now);
			verify_timeouts_locked(a, now);
		}
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
