/* Alertmanager's webhook (version 4) as events, so alerts users already have join the correlation. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_int.h"
#include "json_fast.h"
#include "util.h"

/* The stored text of an alert: an event of ours that carries the alert as sent. */
static const char *am_raw_text(struct corr_batch *b, const struct corr_event *ev,
			       const char *status, const struct jf_value *a, size_t *len)
{
	struct jf_buf t = { 0 };
	const char *keys[] = { "schema",   "id",      "anomaly_id", "state",
			       "severity", "service", "metric" };
	const char *vals[] = {
		CORR_EVENT_SCHEMA, ev->id, ev->anomaly_id, status, corr_severity_name(ev->severity),
		ev->service,	   "alert"
	};
	char *out = NULL;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		jf_buf_put(&t, i ? "," : "{", 1);
		jf_buf_put_string(&t, keys[i]);
		jf_buf_put(&t, ":", 1);
		jf_buf_put_string(&t, vals[i]);
	}
	jf_buf_put(&t, ",\"alertmanager\":", 16);
	jf_buf_put(&t, a->text, a->text_len);
	jf_buf_put(&t, "}", 1);
	if (jf_buf_text(&t) && (out = jf_strndup(&b->mem, t.p, t.len)))
		*len = t.len;
	jf_buf_free(&t);
	return out;
}

/* Alertmanager alert -> event. Ids are hashes of what identifies it. */
static int am_alert_to_event(struct corr_batch *b, const struct jf_value *a, const char *where,
			     struct corr_event *ev, char *err, size_t errlen)
{
	const char *status, *service;
	char idbuf[17];

	if (a->type != JF_OBJECT) {
		snprintf(err, errlen, "%s: must be an object", where);
		return -1;
	}
	char w[96];
	snprintf(w, sizeof(w), "%s.labels", where);
	if (corr_labels_from_jf(&ev->labels, jf_get(a, "labels"), w, err, errlen))
		return -1;
	const struct jf_value *ann = jf_get(a, "annotations");
	if (ann && ann->type != JF_OBJECT) {
		snprintf(err, errlen, "%s.annotations: must be an object", where);
		return -1;
	}
	if (ingest_peek_string(a, "status", 16, where, &status, err, errlen))
		return -1;
	if (strcmp(status, "firing") && strcmp(status, "resolved")) {
		snprintf(err, errlen, "%s.status: \"%.16s\" is not firing or resolved", where,
			 status);
		return -1;
	}
	ev->resolved = !strcmp(status, "resolved");
	if (ingest_get_time(a, "startsAt", 1, where, &ev->starts_at_ms, err, errlen))
		return -1;
	int64_t ends = 0;
	const struct jf_value *endsv = jf_get(a, "endsAt");
	/* "0001-01-01T00:00:00Z" is Alertmanager's "not set". */
	if (endsv && endsv->type == JF_STRING && strncmp(endsv->str, "0001-", 5) &&
	    ingest_get_time(a, "endsAt", 0, where, &ends, err, errlen))
		return -1;
	ev->ends_at_ms = ev->resolved ? (ends ? ends : corr_now_ms()) : 0;
	ev->observed_at_ms = ev->resolved ? ev->ends_at_ms : corr_now_ms();
	if (ev->observed_at_ms < ev->starts_at_ms)
		ev->observed_at_ms = ev->starts_at_ms;
	service = corr_labels_get(&ev->labels, "service");
	if (!service)
		service = corr_labels_get(&ev->labels, "job");
	if (!service)
		service = corr_labels_get(&ev->labels, "alertname");
	if (!service || !*service) {
		snprintf(err, errlen, "%s.labels: needs service, job or alertname", where);
		return -1;
	}
	const char *sev = corr_labels_get(&ev->labels, "severity");
	ev->severity = sev && !strcmp(sev, "critical") ? CORR_SEV_CRITICAL : CORR_SEV_WARNING;
	uint64_t lfp = corr_labels_fingerprint(&ev->labels);
	uint64_t aid = corr_fnv1a(lfp, &ev->starts_at_ms, sizeof(ev->starts_at_ms));
	uint64_t id = corr_fnv1a(aid, status, strlen(status));
	snprintf(idbuf, sizeof(idbuf), "%016llx", (unsigned long long)aid);
	ev->anomaly_id = strdup(idbuf);
	snprintf(idbuf, sizeof(idbuf), "%016llx", (unsigned long long)id);
	ev->id = strdup(idbuf);
	ev->service = strdup(service);
	ev->metric = strdup("alert");
	const char *node = corr_labels_get(&ev->labels, "node");
	if (!node)
		node = corr_labels_get(&ev->labels, "instance");
	ev->node = strdup(node ? node : "alertmanager");
	if (ev->node && !corr_labels_get(&ev->labels, "node") &&
	    corr_labels_set(&ev->labels, "node", ev->node))
		goto oom;
	/* An alert has no score: it counts as just over a default threshold. */
	ev->threshold = 4.0;
	ev->score = ev->severity == CORR_SEV_CRITICAL ? 8.0 : 4.0;
	if (!ev->anomaly_id || !ev->id || !ev->service || !ev->metric || !ev->node ||
	    !(ev->raw = am_raw_text(b, ev, status, a, &ev->raw_len)))
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int corr_ingest_parse_am_webhook(const char *body, size_t len, struct corr_batch *b, char *err,
				 size_t errlen)
{
	const struct jf_value *alerts, *ver;
	struct jf_value *root;
	char where[48];

	memset(b, 0, sizeof(*b));
	if (jf_parse(body, len, &b->mem, &root, err, errlen))
		goto fail;
	if (root->type != JF_OBJECT) {
		snprintf(err, errlen, "body: must be an Alertmanager webhook object");
		goto fail;
	}
	ver = jf_get(root, "version");
	if (!ver || ver->type != JF_STRING || strcmp(ver->str, "4")) {
		snprintf(err, errlen, "body.version: must be \"4\" (Alertmanager webhook)");
		goto fail;
	}
	alerts = jf_get(root, "alerts");
	if (!alerts || alerts->type != JF_ARRAY || alerts->n > CORR_INGEST_MAX_EVENTS) {
		snprintf(err, errlen, "body.alerts: missing, not an array, or more than %d",
			 CORR_INGEST_MAX_EVENTS);
		goto fail;
	}
	b->node = strdup("alertmanager");
	b->events = calloc(alerts->n + 1, sizeof(*b->events));
	if (!b->node || !b->events) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < alerts->n; i++) {
		snprintf(where, sizeof(where), "alerts[%u]", i);
		b->n_events++;
		if (am_alert_to_event(b, &alerts->items[i], where, &b->events[i], err, errlen))
			goto fail;
	}
	return 0;
fail:
	corr_batch_free(b);
	return -1;
}
