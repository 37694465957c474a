/*
 * The HTTP API (libmicrohttpd, a pool of threads):
 *   POST /api/v1/events          agent batches (JSON, optional gzip, bearer token)
 *   POST /api/v1/alertmanager    Alertmanager webhook notifications as input
 *   POST|GET /api/v2/alerts      Alertmanager-compatible alerts API
 *   GET  /api/v1/incidents[/ID]  incidents, one with its events and root causes
 *   GET|POST /api/v1/silences, DELETE /api/v1/silences/ID (also /api/v2/silence[s])
 *   GET  /healthz, /metrics
 *   GET  /, /console/...       the web console's static files (console.c)
 * It also runs the dispatcher's clock (a thread that flushes due groups).
 */
#ifndef CORR_SERVER_H
#define CORR_SERVER_H

#include <stdint.h>

#include "engine.h"

struct corr_server;

/* listen: "HOST:PORT" or "[V6]:PORT"; port 0 picks a free one. */
struct corr_server *corr_server_start(struct corr_engine *e, const char *listen, char *err,
				      size_t errlen);
uint16_t corr_server_port(const struct corr_server *s);
/* 0 when listen is a usable HOST:PORT, else -1 with err set. */
int corr_server_check_listen(const char *listen, char *err, size_t errlen);
void corr_server_stop(struct corr_server *s);

#endif
