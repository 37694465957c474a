/*
 * Runbook automation: incidents -> proposed actions -> (approval) -> a
 * bounded pool of workers that run them -> verification (did the incident
 * resolve within verify_within?). Guards: resolved re-check right before
 * running, once per incident, rate limits per runbook and target (counted
 * in the store), a global concurrency cap (a storm queues), a circuit
 * breaker per runbook, a kill switch (API, CLI, file) and dry_run.
 * docs/runbooks.md is the user's guide.
 */
#ifndef CORR_ACTION_H
#define CORR_ACTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "labels.h"

struct corr_actions;
struct corr_notifier;

/*
 * Where an incident stands now, asked right before an action runs:
 * 1 resolved, 0 firing, -1 unknown. Called without any lock of ours held.
 */
typedef int (*corr_incident_state_fn)(void *arg, const char *incident_id);

/* Opens the audit store (cfg->db_path) and restores pending/queued actions. */
struct corr_actions *corr_actions_new(const struct corr_config *cfg, struct corr_notifier *nt,
				      corr_incident_state_fn state, void *state_arg, char *err,
				      size_t errlen);
/* Starts the workers and the clock (after the engine replayed its store). */
int corr_actions_start(struct corr_actions *a);
void corr_actions_free(struct corr_actions *a);
/*
 * HA (a shared PostgreSQL store): this replica took (1) or lost (0) the
 * dispatch leadership. Only the leader proposes and runs actions and
 * keeps their timers; the others serve the API on the shared audit.
 */
void corr_actions_set_leader(struct corr_actions *a, int leader);

/*
 * An incident was published (opened, changed or resolved): proposes the
 * actions of matching runbooks, or verifies the ones that ran. labels are
 * the incident's match labels. Returns the text that notifications show
 * about the incident's actions (malloc'd), or NULL when there is none.
 */
char *corr_actions_on_incident(struct corr_actions *a, const char *incident, bool resolved,
			       int64_t resolved_ms, const struct corr_labels *labels,
			       int64_t now_ms);

/* The actions of one incident (GET /api/v1/incidents/ID "actions"). */
json_t *corr_actions_incident_json(struct corr_actions *a, const char *incident);

/*
 * /api/v1/actions... and /api/v1/runbooks...: returns the HTTP status and
 * the reply in *out. body is the POST body (NULL for GET).
 */
unsigned corr_actions_http(struct corr_actions *a, const char *method, const char *url,
			   const char *query_state, const char *query_incident, json_t *body,
			   json_t **out);

void corr_actions_render_metrics(struct corr_actions *a, FILE *out);
/* Waits until nothing is queued or running (tests, shutdown); 0 when idle. */
int corr_actions_drain(struct corr_actions *a, int64_t timeout_ms);

/* seismo-correlator actions ...: the CLI over the HTTP API. */
int corr_actions_cli(int argc, char **argv);

#endif
