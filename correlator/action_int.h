/* What the action_*.c files share: the state of the actions subsystem and
 * the executors' interface. Not for use outside correlator/action_*.c. */
#ifndef CORR_ACTION_INT_H
#define CORR_ACTION_INT_H

#include <pthread.h>

#include "action.h"
#include "action_store.h"
#include "runbook.h"

/* Per runbook: the circuit breaker (persisted) and counters for /metrics. */
struct rb_state {
	bool breaker_open;
	long failures;	 /* consecutive failed actions */
	long unresolved; /* consecutive actions whose incident did not resolve in time */
	uint64_t proposed, started, succeeded, failed, skipped, verified_ok, verified_bad;
};

struct corr_actions {
	const struct corr_config *cfg;
	const struct corr_runbooks *rbs;
	struct corr_notifier *nt;
	corr_incident_state_fn state_fn;
	void *state_arg;
	struct astore *st;
	pthread_mutex_t lock; /* everything below, and st */
	pthread_cond_t wake;  /* queue, stop, clock */
	pthread_cond_t idle;
	char **queue; /* action ids waiting for a worker, FIFO */
	size_t q_head, q_len, q_cap;
	pthread_t *workers;
	size_t n_workers;
	pthread_t clock;
	bool started, stop;
	/* HA (audit in the shared PostgreSQL): only the leader proposes, runs
	 * and keeps time; every replica re-reads the shared guards (sync). */
	bool shared, leader;
	int64_t next_sync_ms;
	int running, running_peak;
	/* kill switch: engaged by API/CLI (persisted) or by the file's presence */
	bool kill_api, kill_file;
	char kill_by[128], kill_reason[256];
	int64_t kill_since_ms;
	volatile int abort_now; /* executors poll it: set while the switch is engaged */
	struct rb_state *rb;	/* by runbook index */
	uint64_t approvals[3];	/* approved, denied, expired */
	uint64_t escalations;
	uint64_t start_delay_count;
	double start_delay_sum;
	uint64_t start_delay_bucket[10];
};

/* What an executor gets: the planned step (templates expanded) and the incident. */
struct action_ctx {
	const struct corr_actions *a;
	const char *id;
	json_t *payload; /* {action, incident, runbook, ...} for webhook bodies and exec stdin */
	json_t *labels;	 /* the incident's labels */
};

/* Each returns 0 (done) or -1 (failed) and fills result (status, output...). */
int action_run_webhook(const struct action_ctx *c, json_t *step, json_t *result);
int action_run_exec(const struct action_ctx *c, json_t *step, json_t *result);
int action_run_kubernetes(const struct action_ctx *c, json_t *step, json_t *result);
int action_run_agent(const struct action_ctx *c, json_t *step, json_t *result);

/* One HTTP request (action_http.c). Returns the status, or 0 with err set. */
struct action_http {
	const char *method;
	const char *url;
	const char *content_type;
	const char *body;
	const char *bearer;
	const char *ca_file;
	bool insecure;
	int64_t timeout_ms;
	size_t max_response;
};
long action_http_do(const struct action_http *rq, char **response, char *err, size_t errlen);

/* Escalates to a receiver (action_escalate.c): approval expired, breaker open. */
void action_escalate(struct corr_actions *a, const struct corr_runbook *rb, const char *incident,
		     const char *action_id, const char *reason, const char *summary);

/* The plan of a runbook's steps with ${label} expanded; NULL with err. */
json_t *action_plan(const struct corr_runbook *rb, const struct corr_labels *labels, char *err,
		    size_t errlen);
/* One line per step, for notification text and logs. */
char *action_plan_text(json_t *plan);

int action_runbook_index(const struct corr_actions *a, const char *name);
/* Under a->lock: queues an action already committed as queued. */
int push_action_locked(struct corr_actions *a, const char *id);
/* Under a->lock: the queue (action_engine.c). */
char *pop_locked(struct corr_actions *a);
void clear_queue_locked(struct corr_actions *a);
/* Guards (action_guard.c), under a->lock. */
bool killed_locked(const struct corr_actions *a);
/* "running" (committed), "skipped"/"cancelled" with why, or NULL. */
const char *admit_locked(struct corr_actions *a, json_t *row, int idx, int64_t now, char *why,
			 size_t len);
/* An outcome: failed, unresolved (not verified in time), or good; may open the breaker. */
void breaker_note(struct corr_actions *a, int idx, const char *incident, const char *id,
		  bool failed, bool unresolved, bool good, int64_t now);
void *clock_main(void *arg);
/* The workers (action_run.c). */
void *worker_main(void *arg);
/* Under a->lock: the kill switch went on; cancels the queue, stops running steps. */
void action_kill_engage_locked(struct corr_actions *a);
/* Under a->lock: the kill switch as stored (another replica may have set it). */
void load_kill_locked(struct corr_actions *a);
/* Under a->lock, shared audit: guards as stored; the leader also takes queued actions. */
void sync_shared_locked(struct corr_actions *a);

#endif
