/*
 * Alerts posted to the Alertmanager API (POST /api/v2/alerts): validated,
 * then into the dispatcher; with a shared store, stored once so that every
 * replica's dispatcher takes them and the leader notifies.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "alert.h"
#include "dispatch.h"
#include "store.h"
#include "util.h"

/*
 * An Alertmanager-style alerts body into the dispatcher, received at
 * received_ms: all validated first (a bad alert rejects the request,
 * nothing kept). 0, -1 (err: invalid), -2 (out of memory). *until_ms, when
 * given: the latest end among them.
 */
int engine_put_alerts(struct corr_engine *e, json_t *body, int64_t received_ms, int64_t now_ms,
		      int dispatch, int64_t *until_ms, char *err, size_t errlen)
{
	size_t i, n;
	json_t *it;
	char where[32];

	if (!json_is_array(body)) {
		snprintf(err, errlen, "body: must be a JSON array of alerts");
		return -1;
	}
	n = json_array_size(body);
	struct corr_alert *alerts = calloc(n + 1, sizeof(*alerts));
	if (!alerts) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	json_array_foreach(body, i, it) {
		snprintf(where, sizeof(where), "[%zu]", i);
		if (corr_alert_from_api_json(&alerts[i], it, received_ms,
					     e->cfg->resolve_timeout_ms, where, err, errlen)) {
			for (size_t j = 0; j < i; j++)
				corr_alert_free(&alerts[j]);
			free(alerts);
			return -1;
		}
	}
	int rc = 0;
	for (i = 0; i < n; i++) {
		if (until_ms && alerts[i].ends_at_ms > *until_ms)
			*until_ms = alerts[i].ends_at_ms;
		if (dispatch && corr_dispatch_put(e->dispatch, &alerts[i], now_ms))
			rc = -2;
		corr_alert_free(&alerts[i]);
	}
	free(alerts);
	if (rc)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int corr_engine_post_alerts(struct corr_engine *e, json_t *body, int64_t now_ms, char *err,
			    size_t errlen)
{
	int64_t until = now_ms;
	int rc;

	if (!e->shared) {
		rc = engine_put_alerts(e, body, now_ms, now_ms, 1, NULL, err, errlen);
	} else {
		/* Shared store: stored once, then every replica's dispatcher (this
		 * one too) takes them by following; the leader notifies. */
		rc = engine_put_alerts(e, body, now_ms, now_ms, 0, &until, err, errlen);
		char *text = rc ? NULL : json_dumps(body, JSON_COMPACT);
		if (!rc && (!text || corr_store_post_alerts(e->store, text, now_ms, until))) {
			snprintf(err, errlen, "cannot store the alerts");
			rc = -2;
		}
		free(text);
		if (!rc) {
			pthread_mutex_lock(&e->lock);
			engine_follow_store(e, now_ms);
			pthread_mutex_unlock(&e->lock);
		}
	}
	if (rc != -1)
		corr_metrics_add(&e->metrics.alerts_received, json_array_size(body));
	return rc;
}
