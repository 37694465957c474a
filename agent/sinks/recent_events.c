/* Recent events: a bounded JSON array served on /api/v1/events. */
#include <stdlib.h>

#include "recent_events.h"

struct recent_events {
	json_t *list; /* oldest first */
	size_t max;
};

struct recent_events *recent_events_new(size_t max)
{
	struct recent_events *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->list = json_array();
	r->max = max;
	if (!r->list) {
		free(r);
		return NULL;
	}
	return r;
}

void recent_events_free(struct recent_events *r)
{
	if (!r)
		return;
	json_decref(r->list);
	free(r);
}

int recent_events_add(struct recent_events *r, json_t *event)
{
	if (json_array_append(r->list, event))
		return -1;
	while (json_array_size(r->list) > r->max)
		json_array_remove(r->list, 0);
	return 0;
}

char *recent_events_body(const struct recent_events *r)
{
	json_t *doc = json_pack("{s:O}", "events", r->list);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	return text;
}
