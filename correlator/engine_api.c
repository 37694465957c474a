/* The engine's read API (incidents, alerts) and silences. */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "dispatch.h"
#include "log.h"
#include "store.h"
#include "topology.h"
#include "util.h"

json_t *corr_engine_incidents_json(struct corr_engine *e, const char *state, size_t limit,
				   bool detail)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&e->lock);
	size_t slots = corr_topology_incident_slots(e->topo);
	size_t first = corr_topology_first_slot(e->topo);
	/* Newest first (slots are in creation order; those below first were forgotten). */
	for (size_t i = slots; arr && i-- > first && json_array_size(arr) < limit;) {
		struct corr_incident_view v;
		if (corr_topology_view(e->topo, (int)i, &v))
			continue;
		if (state && strcmp(state, v.resolved ? "resolved" : "firing"))
			continue;
		json_t *j = corr_topology_incident_json(e->topo, (int)i, detail);
		if (!j) {
			log_error("engine: cannot render incident %s", v.id);
			continue;
		}
		json_array_append_new(arr, j);
	}
	pthread_mutex_unlock(&e->lock);
	return arr;
}

json_t *corr_engine_incident_json(struct corr_engine *e, const char *id)
{
	json_t *j = NULL;

	pthread_mutex_lock(&e->lock);
	int idx = corr_topology_find(e->topo, id);
	if (idx >= 0)
		j = corr_topology_incident_json(e->topo, idx, true);
	if (j) {
		size_t max = 4096;
		const char **ids = calloc(max, sizeof(*ids));
		int64_t *starts = calloc(max, sizeof(*starts));
		json_t *events = json_array();
		size_t n = ids && starts ? corr_topology_anomaly_ids(e->topo, idx, ids, starts, max)
					 : 0;
		for (size_t i = 0; i < n; i++)
			if (corr_store_events_of_anomaly(e->store, ids[i], starts[i], events))
				log_error("engine: reading events of anomaly %s: %s", ids[i],
					  corr_store_errmsg(e->store));
		free(ids);
		free(starts);
		json_object_set_new(j, "event_list", events);
		json_object_set_new(j, "actions", corr_actions_incident_json(e->actions, id));
	}
	pthread_mutex_unlock(&e->lock);
	return j;
}

/* Writes a silence as the dispatcher now holds it (its status is derived at
 * read time, so not stored). 0, or -1 when it could not be stored. */
static int persist_silence(struct corr_engine *e, const char *id, int64_t now)
{
	json_t *stored = corr_dispatch_silence_json(e->dispatch, id, now);
	char *text;
	int rc;

	json_object_del(stored, "status");
	text = stored ? json_dumps(stored, JSON_COMPACT) : NULL;
	json_decref(stored);
	pthread_mutex_lock(&e->lock);
	rc = text ? corr_store_put_silence(e->store, id, text) : -1;
	pthread_mutex_unlock(&e->lock);
	free(text);
	return rc ? -1 : 0;
}

int corr_engine_add_silence(struct corr_engine *e, json_t *body, char *id, char *err, size_t errlen)
{
	int64_t now = corr_now_ms();
	json_t *given = json_object_get(body, "id");

	/* Alertmanager: updating an expired silence creates a new one. */
	if (json_is_string(given)) {
		json_t *old =
			corr_dispatch_silence_json(e->dispatch, json_string_value(given), now);
		const char *state =
			json_string_value(json_object_get(json_object_get(old, "status"), "state"));
		if (state && !strcmp(state, "expired"))
			json_object_del(body, "id");
		json_decref(old);
	}
	/* Derived fields: the state is computed, the update time is now. */
	json_object_del(body, "status");
	json_object_del(body, "updatedAt");
	if (corr_dispatch_add_silence(e->dispatch, body, now, id, err, errlen))
		return -1;
	if (persist_silence(e, id, now)) {
		snprintf(err, errlen, "cannot store the silence");
		return -2;
	}
	return 0;
}

int corr_engine_expire_silence(struct corr_engine *e, const char *id)
{
	int64_t now = corr_now_ms();

	if (corr_dispatch_expire_silence(e->dispatch, id, now))
		return -1;
	return persist_silence(e, id, now) ? -2 : 0;
}

json_t *corr_engine_silences_json(struct corr_engine *e)
{
	return corr_dispatch_silences_json(e->dispatch, corr_now_ms());
}
