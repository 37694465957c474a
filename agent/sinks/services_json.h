/* GET /api/v1/services: the last interval's per-service summaries as JSON
 * (requests, errors, rate, error ratio, mean and quantiles, identity). */
#ifndef SEISMO_SERVICES_JSON_H
#define SEISMO_SERVICES_JSON_H

#include "registry.h"

/* {"node":..., "interval_seconds":..., "services":[...]} (malloc'd; NULL on allocation failure). */
char *services_json_body(const char *node, const struct summary *sums, int n, double interval);

#endif
