/*
 * What each receiver integration is told, and when: the notification log
 * (Alertmanager's nflog), building notifications from a group and handing
 * them to the notifier, and what happens when they are acknowledged.
 */
#include "dispatch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* Sets of fingerprints are kept sorted: membership is a binary search. */
static int in_set(const uint64_t *set, size_t n, uint64_t fp)
{
	return n && bsearch(&fp, set, n, sizeof(*set), dispatch_cmp_u64) != NULL;
}

static int is_subset(const uint64_t *sub, size_t n_sub, const uint64_t *set, size_t n_set)
{
	for (size_t i = 0; i < n_sub; i++)
		if (!in_set(set, n_set, sub[i]))
			return 0;
	return 1;
}

/*
 * What the notification log remembers of an alert: its fingerprint, mixed
 * with its revision when it has one, so a revised alert (an incident whose
 * blast radius grew) counts as new and is told at the next group_interval.
 */
static uint64_t told_id(const struct corr_alert *a)
{
	return a->fp ^ (a->revision * 0x9e3779b97f4a7c15ULL);
}

/* Alertmanager's DedupStage.needsUpdate. */
static int needs_update(const struct nflog_entry *e, const uint64_t *firing, size_t nf,
			const uint64_t *resolved, size_t nr, int send_resolved, int64_t repeat_ms,
			int64_t now_ms)
{
	if (!e->set)
		return nf > 0;
	if (!is_subset(firing, nf, e->firing, e->n_firing))
		return 1;
	if (nf == 0)
		return e->n_firing > 0;
	if (send_resolved && !is_subset(resolved, nr, e->resolved, e->n_resolved))
		return 1;
	/*
	 * Strictly older, with ts the time the receiver acknowledged: as in
	 * Alertmanager, a repeat goes out at the first group_interval tick
	 * after repeat_interval, not at the tick that falls exactly on it.
	 */
	return e->ts < now_ms - repeat_ms;
}

static struct aggr_group *find_group(struct corr_dispatch *d, const char *group_key,
				     const char *receiver)
{
	uint64_t h = hashmap_hash_bytes(group_key, strlen(group_key));

	for (struct aggr_group *g = hashmap_get(d->group_index, &h); g; g = g->hash_next)
		if (!strcmp(g->key, group_key) && !strcmp(g->receiver->name, receiver))
			return g;
	return NULL;
}

/*
 * A notification that failed for good was never told: forget it, so the
 * next flush of the group tries again (Alertmanager updates its log only on
 * success). The stored log still holds what was last acknowledged.
 */
static void forget_notification(void *arg, const char *group_key, const char *receiver,
				size_t integ)
{
	struct corr_dispatch *d = arg;

	pthread_mutex_lock(&d->lock);
	struct aggr_group *g = find_group(d, group_key, receiver);
	if (g && integ < g->receiver->n_integ)
		dispatch_nflog_clear(&g->log[integ]);
	pthread_mutex_unlock(&d->lock);
}

/*
 * The receiver acknowledged: the log entry dates from then (repeats count
 * from delivery, as Alertmanager's do), and is saved when ops want it.
 */
static void notification_acked(void *arg, const char *group_key, const char *receiver, size_t integ,
			       int64_t acked_ms)
{
	struct corr_dispatch *d = arg;

	pthread_mutex_lock(&d->lock);
	struct aggr_group *g = find_group(d, group_key, receiver);
	if (g && integ < g->receiver->n_integ && g->log[integ].set) {
		struct nflog_entry *e = &g->log[integ];
		if (acked_ms > e->ts)
			e->ts = acked_ms;
		if (d->nflog.save) {
			char *k = dispatch_nflog_key(g, integ);
			if (k)
				d->nflog.save(d->nflog.arg, k, e->firing, e->n_firing, e->resolved,
					      e->n_resolved, e->ts);
			free(k);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static struct corr_notification *make_notification(const struct aggr_group *g,
						   const struct corr_integration *in,
						   struct corr_alert *const *alerts, size_t n,
						   int64_t now_ms)
{
	struct corr_notification *nt = calloc(1, sizeof(*nt));

	if (!nt)
		return NULL;
	nt->receiver = g->receiver->name;
	nt->integ = in;
	nt->now_ms = now_ms;
	nt->group_interval_ms = g->route->group_interval_ms;
	nt->integ_index = (size_t)(in - g->receiver->integ);
	nt->alerts = calloc(n + 1, sizeof(*nt->alerts));
	nt->group_key = strdup(g->key);
	if (!nt->alerts || !nt->group_key || corr_labels_copy(&nt->group_labels, &g->group_labels))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (corr_alert_copy(&nt->alerts[i], alerts[i]))
			goto fail;
		nt->n_alerts++;
	}
	return nt;
fail:
	corr_notification_free(nt);
	return NULL;
}

static void flush_integration(struct corr_dispatch *d, struct aggr_group *g, size_t idx,
			      struct corr_alert *const *alerts, size_t n, int64_t now_ms)
{
	const struct corr_integration *in = &g->receiver->integ[idx];
	struct nflog_entry *e = &g->log[idx];
	uint64_t *firing = calloc(n + 1, sizeof(*firing));
	uint64_t *resolved = calloc(n + 1, sizeof(*resolved));
	struct corr_alert **send = calloc(n + 1, sizeof(*send));
	size_t nf = 0, nr = 0, ns = 0;

	if (!firing || !resolved || !send)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (corr_alert_resolved(alerts[i], now_ms))
			resolved[nr++] = told_id(alerts[i]);
		else
			firing[nf++] = told_id(alerts[i]);
		if (in->send_resolved || !corr_alert_resolved(alerts[i], now_ms))
			send[ns++] = alerts[i];
	}
	qsort(firing, nf, sizeof(*firing), dispatch_cmp_u64);
	qsort(resolved, nr, sizeof(*resolved), dispatch_cmp_u64);
	/*
	 * The alertmanager integration stands in for Prometheus, which resends
	 * firing alerts so Alertmanager does not time them out: every flush.
	 */
	int update = in->kind == CORR_INTEG_ALERTMANAGER
			     ? (nf > 0 || (e->set && e->n_firing > 0))
			     : needs_update(e, firing, nf, resolved, nr, in->send_resolved,
					    g->route->repeat_interval_ms, now_ms);
	if (!update)
		goto out;
	if (ns) {
		struct corr_notification *note = make_notification(g, in, send, ns, now_ms);
		if (!note) {
			log_error("dispatch: out of memory notifying %s", g->receiver->name);
			goto out;
		}
		note->on_failure = forget_notification;
		note->on_success = notification_acked;
		note->on_failure_arg = d;
		note->nflog_key = dispatch_nflog_key(g, idx);
		note->firing = calloc(nf + 1, sizeof(*firing));
		note->resolved = calloc(nr + 1, sizeof(*resolved));
		if (note->firing && note->resolved) {
			memcpy(note->firing, firing, nf * sizeof(*firing));
			memcpy(note->resolved, resolved, nr * sizeof(*resolved));
			note->n_firing = nf;
			note->n_resolved = nr;
		}
		log_info("dispatch: notify %s (%s) group %s: %zu firing, %zu resolved",
			 g->receiver->name, corr_integration_kind_name(in->kind), g->key, nf, nr);
		corr_notifier_enqueue(d->nt, note);
	}
	dispatch_nflog_clear(e);
	e->set = 1;
	e->firing = firing;
	e->n_firing = nf;
	e->resolved = resolved;
	e->n_resolved = nr;
	e->ts = now_ms;
	firing = resolved = NULL;
	/* Saved when the receiver acknowledges it (notification_acked). */
out:
	free(firing);
	free(resolved);
	free(send);
}

static int compare_alert_ptrs(const void *a, const void *b)
{
	return corr_alert_compare(*(struct corr_alert *const *)a, *(struct corr_alert *const *)b);
}

void dispatch_flush_group(struct corr_dispatch *d, struct aggr_group *g, int64_t now_ms)
{
	struct corr_alert **live = calloc(g->n_alerts + 1, sizeof(*live));
	size_t n = 0;

	if (!live)
		return;
	for (size_t i = 0; i < g->n_alerts; i++)
		if (!dispatch_silenced_by(d, &g->alerts[i].labels, now_ms) &&
		    !dispatch_inhibited_by(d, &g->alerts[i].labels, now_ms))
			live[n++] = &g->alerts[i];
	/* Alertmanager's order, so max_alerts keeps the same alerts. */
	qsort(live, n, sizeof(*live), compare_alert_ptrs);
	/* Everything muted: the pipeline stops before the notification log. */
	if (n && !d->passive)
		for (size_t i = 0; i < g->receiver->n_integ; i++)
			flush_integration(d, g, i, live, n, now_ms);
	free(live);
	/*
	 * Resolved alerts have been told; they leave the group. A follower
	 * keeps them a while longer, in case the leader died before telling.
	 */
	int64_t told_by = d->passive ? now_ms - 2 * g->route->group_interval_ms - 10000 : now_ms;
	size_t keep = 0;
	for (size_t i = 0; i < g->n_alerts; i++) {
		if (corr_alert_resolved(&g->alerts[i], told_by))
			corr_alert_free(&g->alerts[i]);
		else
			g->alerts[keep++] = g->alerts[i];
	}
	if (keep != g->n_alerts) {
		g->n_alerts = keep;
		if (dispatch_group_reindex(g))
			log_error("dispatch: out of memory indexing group %s", g->key);
	}
}
