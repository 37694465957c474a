/* An alert in Alertmanager's model: what the dispatcher groups and routes. */
#ifndef CORR_ALERT_H
#define CORR_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "labels.h"

struct corr_alert {
	struct corr_labels labels;
	struct corr_labels annotations;
	int64_t starts_at_ms;
	int64_t ends_at_ms; /* 0: firing with no end */
	int64_t updated_at_ms;
	bool timeout; /* ends_at came from resolve_timeout, not the sender */
	char *generator_url;
	uint64_t fp;
	/*
	 * Bumped by the sender when the alert says something new that a
	 * receiver must hear even though its labels stay (an incident's blast
	 * radius grew); 0 for Alertmanager-style alerts. See dispatch.c told_id.
	 */
	uint64_t revision;
};

static inline bool corr_alert_resolved(const struct corr_alert *a, int64_t now_ms)
{
	return a->ends_at_ms > 0 && a->ends_at_ms <= now_ms;
}

int corr_alert_copy(struct corr_alert *dst, const struct corr_alert *src);
void corr_alert_free(struct corr_alert *a);
/*
 * Parses one alert of Alertmanager's POST /api/v2/alerts body, applying its
 * rules: no startsAt -> now, no endsAt -> now + resolve_timeout (timeout).
 */
int corr_alert_from_api_json(struct corr_alert *a, json_t *o, int64_t now_ms,
			     int64_t resolve_timeout_ms, const char *where, char *err,
			     size_t errlen);
/*
 * Alertmanager's types.AlertSlice order, which notifications use (so
 * max_alerts keeps the same alerts): by job, then instance (an alert with
 * the label before one without), then model.LabelSet.Before. <0, 0, >0.
 */
int corr_alert_compare(const struct corr_alert *x, const struct corr_alert *y);
/* The webhook (v4) form of one alert. */
json_t *corr_alert_to_json(const struct corr_alert *a, int64_t now_ms);

#endif
