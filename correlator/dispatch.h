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

#include "alert.h"
#include "config.h"
#include "notify.h"

struct corr_dispatch;

struct corr_dispatch *corr_dispatch_new(const struct corr_config *cfg,
					struct corr_notifier *nt);
void corr_dispatch_free(struct corr_dispatch *d);

/* Adds or updates an alert (merged with the one of the same labels). */
int corr_dispatch_put(struct corr_dispatch *d, const struct corr_alert *a, int64_t now_ms);
/* Flushes every group that is due; returns ms until the next one is. */
int64_t corr_dispatch_tick(struct corr_dispatch *d, int64_t now_ms);

/* Alertmanager v2 silence JSON in; id out (37 bytes). 0 or -1 with err. */
int corr_dispatch_add_silence(struct corr_dispatch *d, json_t *body, int64_t now_ms,
			      char *id, char *err, size_t errlen);
int corr_dispatch_expire_silence(struct corr_dispatch *d, const char *id, int64_t now_ms);
json_t *corr_dispatch_silences_json(struct corr_dispatch *d, int64_t now_ms);
/* One silence as stored (to persist it); NULL when unknown. */
json_t *corr_dispatch_silence_json(struct corr_dispatch *d, const char *id, int64_t now_ms);

/* GET /api/v2/alerts: every known alert with its state. */
json_t *corr_dispatch_alerts_json(struct corr_dispatch *d, int64_t now_ms);
/* Number of aggregation groups and alerts (for /metrics). */
void corr_dispatch_counts(struct corr_dispatch *d, size_t *groups, size_t *alerts);

#endif
