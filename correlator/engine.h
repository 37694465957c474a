/*
 * The correlator's core: one lock around store -> topology -> dispatcher.
 * Ingest stores a batch in one transaction (duplicates dropped by id),
 * feeds new events to the topology correlation, and turns each changed
 * incident into one alert for the Alertmanager-style dispatcher.
 */
#ifndef CORR_ENGINE_H
#define CORR_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "ingest.h"
#include "metrics.h"

struct corr_dispatch;

struct corr_engine;

/* Opens the store and replays it. The engine keeps cfg (caller frees after). */
struct corr_engine *corr_engine_new(const struct corr_config *cfg, char *err, size_t errlen);
void corr_engine_free(struct corr_engine *e);

/* 0, or -1 when the correlator itself failed (a 5xx: the sender retries). */
int corr_engine_ingest(struct corr_engine *e, const struct corr_batch *b, int64_t now_ms,
		       size_t *accepted, size_t *duplicates);
/* Alertmanager-compatible POST /api/v2/alerts body; 0, -1 (err: 400). */
int corr_engine_post_alerts(struct corr_engine *e, json_t *body, int64_t now_ms, char *err,
			    size_t errlen);

/* state: NULL, "firing" or "resolved"; detail adds each incident's anomalies. */
json_t *corr_engine_incidents_json(struct corr_engine *e, const char *state, size_t limit,
				   bool detail);
/* One incident with its anomalies, events and ranked root causes; NULL if unknown. */
json_t *corr_engine_incident_json(struct corr_engine *e, const char *id);

int corr_engine_add_silence(struct corr_engine *e, json_t *body, char *id, char *err,
			    size_t errlen);
int corr_engine_expire_silence(struct corr_engine *e, const char *id);
json_t *corr_engine_silences_json(struct corr_engine *e);
/* Every alert the dispatcher holds (tests; the API v2 views are api_v2.c). */
json_t *corr_engine_alerts_json(struct corr_engine *e);

/* Flushes due alert groups; returns ms until the next is due. */
int64_t corr_engine_tick(struct corr_engine *e, int64_t now_ms);
/* Waits for queued notifications to be delivered (tests, shutdown). */
int corr_engine_drain(struct corr_engine *e, int64_t timeout_ms);

/* The dispatcher, for the read-only API views (api_v2.c). */
struct corr_dispatch *corr_engine_dispatch(struct corr_engine *e);
/* Alertmanager's cluster status of this replica (HA); NULL when single. */
json_t *corr_engine_cluster_json(struct corr_engine *e);


struct corr_metrics *corr_engine_metrics(struct corr_engine *e);
/* Runbook actions (action.h). */
struct corr_actions *corr_engine_actions(struct corr_engine *e);
void corr_engine_render_metrics(struct corr_engine *e, FILE *out);
const struct corr_config *corr_engine_config(struct corr_engine *e);

#endif
