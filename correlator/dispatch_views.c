/* The dispatcher as the API sees it: every alert with its state, and the groups. */
#include "dispatch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

json_t *corr_dispatch_alerts_json(struct corr_dispatch *d, int64_t now_ms)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&d->lock);
	size_t pos = 0;
	const void *key;
	void *val;
	while (arr && hashmap_next(d->alerts, &pos, &key, &val)) {
		const struct corr_alert *a = val;
		json_t *j = corr_alert_to_json(a, now_ms);
		const struct silence *s = dispatch_silenced_by(d, &a->labels, now_ms);
		const struct corr_alert *inh = dispatch_inhibited_by(d, &a->labels, now_ms);
		char fp[17];
		json_t *silenced = json_array(), *inhibited = json_array();
		if (s)
			json_array_append_new(silenced, json_string(s->id));
		if (inh) {
			snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)inh->fp);
			json_array_append_new(inhibited, json_string(fp));
		}
		json_object_set_new(j, "status",
				    json_pack("{s:s,s:o,s:o}", "state",
					      corr_alert_resolved(a, now_ms) ? "unprocessed"
					      : (s || inh)		     ? "suppressed"
									     : "active",
					      "silencedBy", silenced, "inhibitedBy", inhibited));
		json_array_append_new(arr, j);
	}
	pthread_mutex_unlock(&d->lock);
	return arr;
}

void corr_dispatch_counts(struct corr_dispatch *d, size_t *groups, size_t *alerts)
{
	pthread_mutex_lock(&d->lock);
	*groups = d->n_groups;
	*alerts = hashmap_size(d->alerts);
	pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------ API views */

/* Receivers the route tree sends these labels to, each once. */
static size_t alert_receivers(const struct corr_dispatch *d, const struct corr_labels *ls,
			      const char **out, size_t max)
{
	const struct corr_route *routes[64];
	size_t n = dispatch_match_routes(&d->cfg->root, ls, routes, 64), k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < k && strcmp(out[j], routes[i]->receiver); j++)
			;
		if (j == k && k < max)
			out[k++] = routes[i]->receiver;
	}
	return k;
}

/* Fills st for a (lock held); sil and rcv hold n_silences and 64 pointers. */
static void alert_state(const struct corr_dispatch *d, const struct corr_alert *a, int64_t now_ms,
			struct corr_alert_state *st, const char **sil, const char **rcv)
{
	st->alert = a;
	st->silenced_by = sil;
	st->n_silenced = 0;
	for (size_t i = 0; i < d->n_silences; i++) {
		const struct silence *s = &d->silences[i];
		if (s->starts_ms <= now_ms && now_ms < s->ends_ms &&
		    corr_matchers_match(&s->matchers, &a->labels))
			sil[st->n_silenced++] = s->id;
	}
	st->inhibited_by = dispatch_inhibited_by(d, &a->labels, now_ms);
	st->receivers = rcv;
	st->n_receivers = alert_receivers(d, &a->labels, rcv, 64);
}

void corr_dispatch_each_alert(struct corr_dispatch *d, int64_t now_ms, corr_dispatch_alert_cb cb,
			      void *arg)
{
	pthread_mutex_lock(&d->lock);
	const char **sil = calloc(d->n_silences + 1, sizeof(*sil));
	const char *rcv[64];
	size_t pos = 0;
	const void *key;
	void *val;
	while (sil && hashmap_next(d->alerts, &pos, &key, &val)) {
		struct corr_alert_state st;
		alert_state(d, val, now_ms, &st, sil, rcv);
		cb(&st, arg);
	}
	free(sil);
	pthread_mutex_unlock(&d->lock);
}

void corr_dispatch_each_group(struct corr_dispatch *d, int64_t now_ms, corr_dispatch_group_cb cb,
			      void *arg)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_groups; i++) {
		const struct aggr_group *g = d->groups[i];
		struct corr_alert_state *st = calloc(g->n_alerts + 1, sizeof(*st));
		const char **sil = calloc((g->n_alerts + 1) * (d->n_silences + 1), sizeof(*sil));
		const char **rcv = calloc((g->n_alerts + 1) * 64, sizeof(*rcv));
		if (st && sil && rcv) {
			for (size_t k = 0; k < g->n_alerts; k++)
				alert_state(d, &g->alerts[k], now_ms, &st[k],
					    sil + k * (d->n_silences + 1), rcv + k * 64);
			cb(&g->group_labels, g->receiver->name, st, g->n_alerts, arg);
		}
		free(st);
		free(sil);
		free(rcv);
	}
	pthread_mutex_unlock(&d->lock);
}
