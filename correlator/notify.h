/*
 * Receivers: turns one group notification into the payload of its
 * integration (Alertmanager webhook v4, Alertmanager v2 alerts, Slack
 * incoming webhook, PagerDuty Events API v2) and delivers it from a sender
 * thread with retries and exponential backoff. Counts go to /metrics.
 */
#ifndef CORR_NOTIFY_H
#define CORR_NOTIFY_H

#include <jansson.h>

#include "alert.h"
#include "config.h"
#include "metrics.h"

struct corr_notification {
	const char *receiver;
	const struct corr_integration *integ;
	char *group_key;
	struct corr_labels group_labels;
	struct corr_alert *alerts;
	size_t n_alerts;
	int64_t now_ms;
	int64_t group_interval_ms;
	/*
	 * Called from the sender thread when delivery failed for good, with
	 * the group key and the integration's position in its receiver, so
	 * the sender of the notification can forget it was sent.
	 */
	void (*on_failure)(void *arg, const char *group_key, const char *receiver, size_t integ);
	void *on_failure_arg;
	size_t integ_index;
};

void corr_notification_free(struct corr_notification *n);

/*
 * Builds the body for n. *url gets the target (from url or url_file) and
 * *auth_header an optional extra header; both malloc'd. 0 or -1 (err set).
 */
int corr_notify_build(const struct corr_config *cfg, const struct corr_notification *n,
		      char **body, char **url, char *err, size_t errlen);

struct corr_notifier;
struct corr_notifier *corr_notifier_new(const struct corr_config *cfg,
					struct corr_metrics *m);
/* Queues n (takes it over). */
void corr_notifier_enqueue(struct corr_notifier *nt, struct corr_notification *n);
/* Waits until the queue is empty or timeout_ms passed; 0 when empty. */
int corr_notifier_drain(struct corr_notifier *nt, int64_t timeout_ms);
void corr_notifier_free(struct corr_notifier *nt);

#endif
