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

char *pop_locked(struct corr_actions *a)
{
	if (!a->q_len)
		return NULL;
	char *id = a->queue[a->q_head];
	a->q_head = (a->q_head + 1) % a->q_cap;
	a->q_len--;
	return id;
}

void clear_queue_locked(struct corr_actions *a)
{
	char *id;

	while ((id = pop_locked(a)))
		free(id);
}

/* ------------------------------------------------------- proposals */

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
	char *target =
		corr_rb_expand(rb->target, labels, err[0] ? NULL : err, err[0] ? 0 : sizeof(err));
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
	int rc = astore_exec(
		a->st,
		"INSERT INTO actions (id, incident, runbook, mode, state, reason,"
		" target, dry_run, labels, plan, created_ms, expires_ms, verify_within_ms)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,NULLIF(?, 0),?) ON CONFLICT (id) DO NOTHING",
		"sssssssissIII", idbuf, incident, rb->name, corr_rb_mode_name(rb->mode), state,
		reason, target ? target : "", (int)rb->dry_run, ltext ? ltext : "{}",
		ptext ? ptext : "[]", now, expires ? expires : (int64_t)0, rb->verify_within_ms);
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
			log_error("actions: out of memory queueing %s (runs after a restart)",
				  idbuf);
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

	astore_exec(
		a->st,
		"UPDATE actions SET state = 'skipped', reason = 'incident resolved before approval',"
		" resolved_ms = ? WHERE incident = ? AND state = 'pending'",
		"Is", resolved_ms, incident);
	json_t *done =
		astore_strings(a->st,
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
	/* A follower (HA) only shows what the leader proposed. */
	if (resolved && a->leader)
		resolved_locked(a, incident, resolved_ms, now_ms);
	matched = resolved;
	for (size_t i = 0; i < a->rbs->n; i++) {
		const struct corr_runbook *rb = &a->rbs->v[i];
		if (!corr_matchers_match(&rb->matchers, labels))
			continue;
		matched = true;
		if (resolved || !a->leader)
			continue;
		int64_t n = astore_int(
			a->st, 0, "SELECT COUNT(*) FROM actions WHERE incident = ? AND runbook = ?",
			"ss", incident, rb->name);
		if (n < rb->max_per_incident)
			propose_locked(a, (int)i, incident, labels, n, now_ms);
	}
	char *text = matched ? incident_text_locked(a, incident) : NULL;
	pthread_mutex_unlock(&a->lock);
	return text;
}

/* ------------------------------------------------------ life cycle */

/* Queued in the store, not yet in our queue: queued (once). */
static void requeue_locked(struct corr_actions *a)
{
	size_t i, added = 0;
	json_t *v;
	json_t *queued =
		astore_strings(a->st, "SELECT id FROM actions WHERE state = 'queued' ORDER BY seq",
			       NULL);

	json_array_foreach(queued, i, v) {
		bool known = false;
		for (size_t k = 0; k < a->q_len && !known; k++)
			known = !strcmp(a->queue[(a->q_head + k) % a->q_cap], json_string_value(v));
		if (!known && !push_action_locked(a, json_string_value(v)))
			added++;
	}
	if (added && !a->shared)
		log_info("actions: %zu queued actions restored", added);
	json_decref(queued);
}

/* The circuit breakers as stored (a reset on another replica shows here). */
static void load_breakers_locked(struct corr_actions *a)
{
	size_t i;
	json_t *v;
	json_t *rows =
		astore_strings(a->st,
			       "SELECT name || ' ' || breaker_open || ' ' || failures || ' ' ||"
			       " unresolved FROM action_runbooks",
			       NULL);

	json_array_foreach(rows, i, v) {
		char name[256];
		int open;
		long failures, unresolved;
		if (sscanf(json_string_value(v), "%255s %d %ld %ld", name, &open, &failures,
			   &unresolved) != 4)
			continue;
		int r = action_runbook_index(a, name);
		if (r < 0)
			continue;
		a->rb[r].breaker_open = open;
		a->rb[r].failures = failures;
		a->rb[r].unresolved = unresolved;
	}
	json_decref(rows);
}

void load_kill_locked(struct corr_actions *a)
{
	char buf[1024];

	if (astore_setting_get(a->st, "kill_switch", buf, sizeof(buf)))
		return;
	json_t *k = json_loads(buf, 0, NULL);
	bool on = json_is_true(json_object_get(k, "engaged"));
	if (on != a->kill_api) {
		a->kill_api = on;
		snprintf(a->kill_by, sizeof(a->kill_by), "%s",
			 json_string_value(json_object_get(k, "by")) ?: "");
		snprintf(a->kill_reason, sizeof(a->kill_reason), "%s",
			 json_string_value(json_object_get(k, "reason")) ?: "");
		a->kill_since_ms = json_integer_value(json_object_get(k, "since_ms"));
		log_warn("actions: kill switch %s (by %s, as stored)%s",
			 on ? "engaged" : "released", a->kill_by, on ? ": nothing will run" : "");
		if (on)
			action_kill_engage_locked(a);
		else if (!a->kill_file)
			a->abort_now = 0;
	}
	json_decref(k);
}

void sync_shared_locked(struct corr_actions *a)
{
	load_kill_locked(a);
	load_breakers_locked(a);
	/* Approved on another replica: the leader runs it. */
	if (a->leader)
		requeue_locked(a);
}

/* Starting to run actions (at start, or as the new HA leader). */
static void restore_locked(struct corr_actions *a)
{
	int n = astore_exec(
		a->st,
		"UPDATE actions SET state = 'failed', finished_ms = ?,"
		" reason = 'interrupted: the correlator stopped while it ran; not run again'"
		" WHERE state = 'running'",
		"I", corr_now_ms());
	if (n > 0)
		log_warn(
			"actions: %d actions were running when the correlator stopped: marked failed",
			n);
	requeue_locked(a);
	load_breakers_locked(a);
	load_kill_locked(a);
}

void corr_actions_set_leader(struct corr_actions *a, int leader)
{
	if (!a || !a->shared)
		return;
	pthread_mutex_lock(&a->lock);
	if (leader && !a->leader) {
		a->leader = true;
		/* What the old leader ran when it died is not run again (at most once). */
		restore_locked(a);
	} else if (!leader && a->leader) {
		a->leader = false;
		clear_queue_locked(a);
	}
	pthread_mutex_unlock(&a->lock);
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
	a->shared = astore_shared(a->st);
	/* Embedded: this correlator runs them. Shared: once it leads (set_leader). */
	a->leader = !a->shared;
	pthread_mutex_lock(&a->lock);
	if (a->leader)
		restore_locked(a);
	else
		sync_shared_locked(a);
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
