/*
 * The dispatcher, with Alertmanager's semantics: alerts are routed down the
 * route tree (continue), grouped by group_by ('...' = all labels) into
 * aggregation groups that flush after group_wait, then every
 * group_interval; a receiver is notified when the firing set grew, the
 * resolved set changed (send_resolved) or repeat_interval passed. Inhibit
 * rules (with equal) and silences mute alerts at flush time.
 * Thread-safe: one lock inside.
 */
#ifndef CORR_DISPATCH_H
#define CORR_DISPATCH_H

#include <jansson.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "notify.h"

struct corr_dispatch;

/*
 * Where a receiver integration's memory of a group (Alertmanager's
 * notification log: what was last sent, and when) is kept, so a restart
 * does not notify again what receivers were already told. key names the
 * receiver, the integration and the group.
 */
struct corr_nflog_ops {
	/* 0 and the entry (firing/resolved malloc'd), 1 when unknown, -1 on error. */
	int (*load)(void *arg, const char *key, uint64_t **firing, size_t *n_firing,
		    uint64_t **resolved, size_t *n_resolved, int64_t *ts_ms);
	/*
	 * Called (from a sender thread) when a receiver acknowledged, ts_ms the
	 * time it did. NULL when the notifier's delivery log records acks
	 * itself (the engine's does, together with the pending queue).
	 */
	void (*save)(void *arg, const char *key, const uint64_t *firing, size_t n_firing,
		     const uint64_t *resolved, size_t n_resolved, int64_t ts_ms);
	void *arg;
};

struct corr_dispatch *corr_dispatch_new(const struct corr_config *cfg, struct corr_notifier *nt);
void corr_dispatch_free(struct corr_dispatch *d);
/* Before the first alert: persist the notification log through ops. */
void corr_dispatch_set_nflog(struct corr_dispatch *d, const struct corr_nflog_ops *ops);

/*
 * High availability: a passive dispatcher (a follower replica) keeps every
 * alert and group as the leader does but notifies nobody and writes no
 * notification log. Turned active (it became the leader), it reads the
 * shared log again and flushes every group that already flushed, so what
 * the old leader had not told goes out once, and nothing it had told.
 */
void corr_dispatch_set_passive(struct corr_dispatch *d, int passive, int64_t now_ms);

/* Adds or updates an alert (merged with the one of the same labels). */
int corr_dispatch_put(struct corr_dispatch *d, const struct corr_alert *a, int64_t now_ms);
/* Flushes every group that is due; returns ms until the next one is. */
int64_t corr_dispatch_tick(struct corr_dispatch *d, int64_t now_ms);

/* Alertmanager v2 silence JSON in; id out (37 bytes). 0 or -1 with err. */
int corr_dispatch_add_silence(struct corr_dispatch *d, json_t *body, int64_t now_ms, char *id,
			      char *err, size_t errlen);
int corr_dispatch_expire_silence(struct corr_dispatch *d, const char *id, int64_t now_ms);
json_t *corr_dispatch_silences_json(struct corr_dispatch *d, int64_t now_ms);
/* One silence as stored (to persist it); NULL when unknown. */
json_t *corr_dispatch_silence_json(struct corr_dispatch *d, const char *id, int64_t now_ms);

/* GET /api/v2/alerts: every known alert with its state. */
json_t *corr_dispatch_alerts_json(struct corr_dispatch *d, int64_t now_ms);
/*
 * What the API v2 shows of an alert: the active silences that mute it, the
 * alert that inhibits it, the receivers its routes lead to. Valid only
 * during the callback (the dispatcher's lock is held: do not call back in).
 */
struct corr_alert_state {
	const struct corr_alert *alert;
	const char *const *silenced_by;
	size_t n_silenced;
	const struct corr_alert *inhibited_by;
	const char *const *receivers;
	size_t n_receivers;
};
typedef void (*corr_dispatch_alert_cb)(const struct corr_alert_state *st, void *arg);
typedef void (*corr_dispatch_group_cb)(const struct corr_labels *group_labels, const char *receiver,
				       const struct corr_alert_state *alerts, size_t n, void *arg);
/* Every alert the dispatcher holds, resolved ones included. */
void corr_dispatch_each_alert(struct corr_dispatch *d, int64_t now_ms, corr_dispatch_alert_cb cb,
			      void *arg);
/* Every aggregation group with its alerts. */
void corr_dispatch_each_group(struct corr_dispatch *d, int64_t now_ms, corr_dispatch_group_cb cb,
			      void *arg);
/* Number of aggregation groups and alerts (for /metrics). */
void corr_dispatch_counts(struct corr_dispatch *d, size_t *groups, size_t *alerts);

#endif
