/*
 * Receivers: turns one group notification into the payload of its
 * integration (Alertmanager webhook v4, Alertmanager v2 alerts, Slack
 * incoming webhook, PagerDuty Events API v2) and delivers it with retries
 * and exponential backoff. Every receiver integration has its own bounded
 * pool of sender threads (notify_concurrency), so a receiver that hangs
 * holds only its own senders: another receiver's page never waits behind
 * it. One group's notifications to one integration go out in order, one at
 * a time; a newer one replaces an older one still waiting. Through
 * corr_delivery_ops a notification is kept (pending) before it is queued
 * and logged as told only when the receiver acknowledged it, so a restart
 * sends what was pending, once. Counts go to /metrics.
 */
#ifndef CORR_NOTIFY_H
#define CORR_NOTIFY_H

#include <jansson.h>

#include "alert.h"
#include "config.h"
#include "metrics.h"
#include "store.h"

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
	/*
	 * Called from a sender thread when the receiver acknowledged (2xx),
	 * with the time on the clock of now_ms (now_ms plus the time it took).
	 */
	void (*on_success)(void *arg, const char *group_key, const char *receiver, size_t integ,
			   int64_t acked_ms);
	void *on_failure_arg; /* for both callbacks */
	size_t integ_index;
	/* What the notification log records once it is acknowledged. */
	char *nflog_key;
	uint64_t *firing;
	size_t n_firing;
	uint64_t *resolved;
	size_t n_resolved;
};

/*
 * Where notifications in flight are kept (the store; a second backend
 * implements the same three calls). Called from sender threads.
 */
struct corr_delivery_ops {
	/* Keeps p before it is queued; returns its id (> 0), or -1. */
	int64_t (*add)(void *arg, const struct corr_pending *p);
	/* The receiver acknowledged: forget p and log it as told, atomically. */
	void (*acked)(void *arg, const struct corr_pending *p, int64_t acked_ms);
	/* Failed for good, or replaced by a newer one: forget it. */
	void (*dropped)(void *arg, int64_t id);
	void *arg;
};

void corr_notification_free(struct corr_notification *n);

/*
 * Builds the body for n. *url gets the target (from url or url_file) and
 * *auth_header an optional extra header; both malloc'd. 0 or -1 (err set).
 */
int corr_notify_build(const struct corr_config *cfg, const struct corr_notification *n, char **body,
		      char **url, char *err, size_t errlen);

/* The integration's URL (url, or url_file read now), malloc'd; NULL (err set). */
char *corr_notify_target_url(const struct corr_integration *in, char *err, size_t errlen);

struct corr_notifier;
struct corr_notifier *corr_notifier_new(const struct corr_config *cfg, struct corr_metrics *m);
/* Before the first notification: keep pending notifications through ops. */
void corr_notifier_set_delivery(struct corr_notifier *nt, const struct corr_delivery_ops *ops);
/* Queues n (takes it over). */
void corr_notifier_enqueue(struct corr_notifier *nt, struct corr_notification *n);
/*
 * Queues a pending notification kept before a restart (its body as it was);
 * -1 when its receiver integration is no longer configured.
 */
int corr_notifier_resume(struct corr_notifier *nt, const struct corr_pending *p);
/* Waits until the queue is empty or timeout_ms passed; 0 when empty. */
int corr_notifier_drain(struct corr_notifier *nt, int64_t timeout_ms);
void corr_notifier_free(struct corr_notifier *nt);

#endif
