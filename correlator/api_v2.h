/*
 * Alertmanager's API v2, the read side that amtool and Grafana's
 * Alertmanager data source use (the write side, POST /api/v2/alerts and
 * /api/v2/silences, DELETE /api/v2/silence/ID, is in server.c):
 *   GET /api/v2/alerts         filter=, active, silenced, inhibited,
 * unprocessed, receiver GET /api/v2/alerts/groups  the aggregation groups, same
 * filters GET /api/v2/silences       filter= GET /api/v2/silence/ID GET
 * /api/v2/receivers GET /api/v2/status         config.original, cluster,
 * versionInfo, uptime Shapes, orders and filter semantics follow Alertmanager
 * 0.25.
 */
#ifndef CORR_API_V2_H
#define CORR_API_V2_H

#include <jansson.h>

#include <microhttpd.h>

#include "engine.h"

struct corr_api_v2;

/* Reads the config file once (status shows the config that was loaded). */
struct corr_api_v2 *corr_api_v2_new(struct corr_engine *e);
void corr_api_v2_free(struct corr_api_v2 *api);

/*
 * Answers a GET of url when it is one of the endpoints above: 1, with
 * *status and *body (an error body is {"error": ...}); 0 when url is not
 * one of them.
 */
int corr_api_v2_get(struct corr_api_v2 *api, struct MHD_Connection *c, const char *url,
		    unsigned *status, json_t **body);

/*
 * The config as Alertmanager's own loader reads it (what amtool config
 * show/routes get): the `seismo:` section dropped, secrets as <secret>.
 * Malloc'd; NULL when out of memory.
 */
char *corr_api_v2_original_config(const char *text);

#endif
