/*
 * Escalation: when automation gives up (an approval expired, a circuit
 * breaker opened) a person must hear of it. The escalation is an alert
 * (alertname SeismoRunbookEscalation) sent through the receivers' own
 * notifier, so it gets their payload formats, retries and metrics.
 */
#include <stdlib.h>
#include <string.h>

#include "action_int.h"
#include "log.h"
#include "notify.h"
#include "util.h"

void action_escalate(struct corr_actions *a, const struct corr_runbook *rb, const char *incident,
		     const char *action_id, const char *reason, const char *summary)
{
	const char *name = rb && rb->escalate ? rb->escalate : a->rbs->escalate;
	const struct corr_receiver *r = name ? corr_config_receiver(a->cfg, name) : NULL;
	int64_t now = corr_now_ms();

	a->escalations++;
	if (action_id)
		astore_exec(a->st, "UPDATE actions SET escalated = 1 WHERE id = ?", "s", action_id);
	if (!r) {
		log_warn("actions: escalation (%s) with no receiver configured: %s", reason,
			 summary);
		return;
	}
	for (size_t i = 0; i < r->n_integ; i++) {
		struct corr_notification *n = calloc(1, sizeof(*n));
		struct corr_alert *al = n ? calloc(1, sizeof(*al)) : NULL;
		if (!n || !al) {
			free(n);
			free(al);
			log_error("actions: out of memory escalating to %s", name);
			return;
		}
		n->alerts = al;
		n->n_alerts = 1;
		if (corr_labels_set(&al->labels, "alertname", "SeismoRunbookEscalation") ||
		    corr_labels_set(&al->labels, "severity", "critical") ||
		    corr_labels_set(&al->labels, "reason", reason) ||
		    (rb && corr_labels_set(&al->labels, "runbook", rb->name)) ||
		    (incident && corr_labels_set(&al->labels, "incident", incident)) ||
		    (action_id && corr_labels_set(&al->labels, "action", action_id)) ||
		    corr_labels_set(&al->annotations, "summary", summary) ||
		    corr_labels_copy(&n->group_labels, &al->labels) ||
		    asprintf(&n->group_key, "{}/runbook-escalation:%s:%s", reason,
			     action_id ? action_id : "-") < 0) {
			n->group_key = NULL;
			corr_notification_free(n);
			log_error("actions: out of memory escalating to %s", name);
			return;
		}
		al->starts_at_ms = now;
		al->updated_at_ms = now;
		al->ends_at_ms = 0;
		al->fp = corr_labels_fingerprint(&al->labels);
		n->receiver = r->name;
		n->integ = &r->integ[i];
		n->integ_index = i;
		n->now_ms = now;
		n->group_interval_ms = 300000;
		corr_notifier_enqueue(a->nt, n);
	}
	log_warn("actions: escalated to %s (%s): %s", name, reason, summary);
}
