/* The last events the agent emitted, newest last, for GET /api/v1/events:
 * what a node said lately without a correlator. */
#ifndef SEISMO_RECENT_EVENTS_H
#define SEISMO_RECENT_EVENTS_H

#include <stddef.h>

#include <jansson.h>

struct recent_events;

/* Keeps at most max events (the oldest go first). NULL on allocation failure. */
struct recent_events *recent_events_new(size_t max);
void recent_events_free(struct recent_events *r);
/* Keeps event (takes its own reference). 0 or -1. */
int recent_events_add(struct recent_events *r, json_t *event);
/* {"events":[...]} as compact JSON (malloc'd; NULL on allocation failure). */
char *recent_events_body(const struct recent_events *r);

#endif
