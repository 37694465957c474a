/*
 * The Alertmanager-style dispatcher: alerts into aggregation groups by
 * route, silences and inhibition looked up, and the tick that flushes due
 * groups. Its other jobs: dispatch_notify.c, dispatch_silence.c,
 * dispatch_views.c (dispatch_int.h).
 */
#include "dispatch_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hashmap.h"
#include "log.h"
#include "util.h"

void corr_dispatch_set_nflog(struct corr_dispatch *d, const struct corr_nflog_ops *ops)
{
	d->nflog = *ops;
}


void corr_dispatch_set_passive(struct corr_dispatch *d, int passive, int64_t now_ms)
{
	pthread_mutex_lock(&d->lock);
	/*
	 * Taking over: what the old leader told is in the shared log, not in
	 * ours; read it again, and flush every group that flushed before now,
	 * so what the old leader left untold goes out at once (only that).
	 */
	for (size_t i = 0; d->passive && !passive && i < d->n_groups; i++) {
		struct aggr_group *g = d->groups[i];
		for (size_t k = 0; k < g->receiver->n_integ; k++) {
			char *key = dispatch_nflog_key(g, k);
			struct nflog_entry *e = &g->log[k];
			dispatch_nflog_clear(e);
			if (key && d->nflog.load &&
			    !d->nflog.load(d->nflog.arg, key, &e->firing, &e->n_firing,
					   &e->resolved, &e->n_resolved, &e->ts))
				e->set = 1;
			free(key);
		}
		if (g->has_flushed)
			g->next_flush_ms = now_ms;
	}
	d->passive = passive;
	pthread_mutex_unlock(&d->lock);
}

/* Alertmanager's nflog key: receiver, integration and its index, group. */
char *dispatch_nflog_key(const struct aggr_group *g, size_t idx)
{
	const struct corr_integration *in = &g->receiver->integ[idx];
	char *key;

	if (asprintf(&key, "%s/%s/%d:%s", g->receiver->name, corr_integration_kind_name(in->kind),
		     in->index, g->key) < 0)
		return NULL;
	return key;
}

int dispatch_cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

struct corr_dispatch *corr_dispatch_new(const struct corr_config *cfg, struct corr_notifier *nt)
{
	struct corr_dispatch *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->cfg = cfg;
	d->nt = nt;
	d->group_index = hashmap_new(sizeof(uint64_t));
	d->alerts = hashmap_new(sizeof(uint64_t));
	if (!d->group_index || !d->alerts) {
		corr_dispatch_free(d);
		return NULL;
	}
	return d;
}

void dispatch_nflog_clear(struct nflog_entry *e)
{
	free(e->firing);
	free(e->resolved);
	memset(e, 0, sizeof(*e));
}

static void group_free(struct aggr_group *g)
{
	for (size_t i = 0; i < g->n_alerts; i++)
		corr_alert_free(&g->alerts[i]);
	free(g->alerts);
	if (g->by_fp)
		hashmap_free(g->by_fp);
	for (size_t i = 0; g->log && i < g->receiver->n_integ; i++)
		dispatch_nflog_clear(&g->log[i]);
	free(g->log);
	corr_labels_free(&g->group_labels);
	free(g->key);
	free(g);
}

void corr_dispatch_free(struct corr_dispatch *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_groups; i++)
		group_free(d->groups[i]);
	free(d->groups);
	if (d->group_index)
		hashmap_free(d->group_index);
	size_t pos = 0;
	const void *k;
	void *v;
	while (d->alerts && hashmap_next(d->alerts, &pos, &k, &v)) {
		corr_alert_free(v);
		free(v);
	}
	if (d->alerts)
		hashmap_free(d->alerts);
	for (size_t i = 0; i < d->n_silences; i++) {
		corr_matchers_free(&d->silences[i].matchers);
		json_decref(d->silences[i].body);
	}
	free(d->silences);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Alertmanager's Alert.Merge: the younger update wins, the earliest start stays. */
static void merge_alert(struct corr_alert *res, const struct corr_alert *old,
			const struct corr_alert *young, int64_t now_ms)
{
	if (old->starts_at_ms < res->starts_at_ms)
		res->starts_at_ms = old->starts_at_ms;
	if (corr_alert_resolved(young, now_ms)) {
		if (corr_alert_resolved(old, now_ms) && old->ends_at_ms > young->ends_at_ms)
			res->ends_at_ms = old->ends_at_ms;
	} else if (old->ends_at_ms > young->ends_at_ms && !old->timeout) {
		res->ends_at_ms = old->ends_at_ms;
		res->timeout = false;
	}
}

/* Stores a copy of a among every alert, replacing the same fingerprint; 0 or -1. */
static int known_upsert(struct hashmap *m, const struct corr_alert *a)
{
	struct corr_alert *old = hashmap_get(m, &a->fp), *copy;

	if (old) {
		struct corr_alert fresh;
		if (corr_alert_copy(&fresh, a))
			return -1;
		corr_alert_free(old);
		*old = fresh;
		return 0;
	}
	copy = malloc(sizeof(*copy));
	if (!copy || corr_alert_copy(copy, a)) {
		free(copy);
		return -1;
	}
	if (hashmap_put(m, &copy->fp, copy)) {
		corr_alert_free(copy);
		free(copy);
		return -1;
	}
	return 0;
}

/* Positions move when the group compacts: the index is rebuilt then. */
int dispatch_group_reindex(struct aggr_group *g)
{
	struct hashmap *m = hashmap_new(sizeof(uint64_t));

	if (!m)
		return -1;
	for (size_t i = 0; i < g->n_alerts; i++)
		if (hashmap_put(m, &g->alerts[i].fp, (void *)(uintptr_t)(i + 1))) {
			hashmap_free(m);
			return -1;
		}
	if (g->by_fp)
		hashmap_free(g->by_fp);
	g->by_fp = m;
	return 0;
}

/* Stores a in the group (replacing the same fingerprint); 0 or -1. */
static int group_upsert(struct aggr_group *g, const struct corr_alert *a)
{
	struct corr_alert copy;
	uintptr_t at = (uintptr_t)hashmap_get(g->by_fp, &a->fp);

	if (corr_alert_copy(&copy, a))
		return -1;
	if (at) {
		corr_alert_free(&g->alerts[at - 1]);
		g->alerts[at - 1] = copy;
		return 0;
	}
	struct corr_alert *grown = realloc(g->alerts, (g->n_alerts + 1) * sizeof(*grown));
	if (!grown || hashmap_put(g->by_fp, &copy.fp, (void *)(uintptr_t)(g->n_alerts + 1))) {
		if (grown)
			g->alerts = grown;
		corr_alert_free(&copy);
		return -1;
	}
	g->alerts = grown;
	g->alerts[g->n_alerts++] = copy;
	return 0;
}

/* Alertmanager's Route.Match: the deepest matching routes, honouring continue. */
size_t dispatch_match_routes(const struct corr_route *r, const struct corr_labels *ls,
			     const struct corr_route **out, size_t max)
{
	size_t n = 0;

	if (!corr_matchers_match(&r->matchers, ls))
		return 0;
	for (size_t i = 0; i < r->n_routes; i++) {
		size_t got = dispatch_match_routes(&r->routes[i], ls, out + n, max - n);
		n += got;
		if (got && !r->routes[i].cont)
			break;
		if (n >= max)
			break;
	}
	if (!n && max)
		out[n++] = r;
	return n;
}

static struct aggr_group *find_or_create_group(struct corr_dispatch *d, const struct corr_route *r,
					       const struct corr_alert *a, int64_t now_ms)
{
	struct corr_labels gl = { 0 };
	char *lstr, *key;

	if (r->group_by_all) {
		if (corr_labels_copy(&gl, &a->labels))
			return NULL;
	} else {
		for (size_t i = 0; i < r->n_group_by; i++) {
			const char *v = corr_labels_get(&a->labels, r->group_by[i]);
			if (v && corr_labels_set(&gl, r->group_by[i], v)) {
				corr_labels_free(&gl);
				return NULL;
			}
		}
	}
	lstr = corr_labels_string(&gl);
	if (!lstr || asprintf(&key, "%s:%s", r->key, lstr) < 0) {
		free(lstr);
		corr_labels_free(&gl);
		return NULL;
	}
	free(lstr);
	uint64_t h = hashmap_hash_bytes(key, strlen(key));
	struct aggr_group *first = hashmap_get(d->group_index, &h);
	for (struct aggr_group *c = first; c; c = c->hash_next)
		if (c->route == r && !strcmp(c->key, key)) {
			free(key);
			corr_labels_free(&gl);
			return c;
		}
	struct aggr_group *g = calloc(1, sizeof(*g));
	struct aggr_group **grown = realloc(d->groups, (d->n_groups + 1) * sizeof(*grown));
	const struct corr_receiver *rcv = corr_config_receiver(d->cfg, r->receiver);
	if (grown)
		d->groups = grown;
	if (!g || !grown || !rcv || !(g->by_fp = hashmap_new(sizeof(uint64_t))) ||
	    !(g->log = calloc(rcv->n_integ + 1, sizeof(*g->log))) ||
	    hashmap_put(d->group_index, &h, g)) {
		if (g && g->by_fp)
			hashmap_free(g->by_fp);
		if (g)
			free(g->log);
		free(g);
		free(key);
		corr_labels_free(&gl);
		return NULL;
	}
	g->route = r;
	g->receiver = rcv;
	g->group_labels = gl;
	g->key = key;
	g->next_flush_ms = now_ms + r->group_wait_ms;
	g->hash_next = first;
	d->groups[d->n_groups++] = g;
	for (size_t i = 0; d->nflog.load && i < rcv->n_integ; i++) {
		char *k = dispatch_nflog_key(g, i);
		struct nflog_entry *e = &g->log[i];
		if (k && !d->nflog.load(d->nflog.arg, k, &e->firing, &e->n_firing, &e->resolved,
					&e->n_resolved, &e->ts)) {
			e->set = 1;
			qsort(e->firing, e->n_firing, sizeof(*e->firing), dispatch_cmp_u64);
			qsort(e->resolved, e->n_resolved, sizeof(*e->resolved), dispatch_cmp_u64);
		}
		free(k);
	}
	log_debug("dispatch: new group %s (receiver %s)", key, rcv->name);
	return g;
}

int corr_dispatch_put(struct corr_dispatch *d, const struct corr_alert *in, int64_t now_ms)
{
	const struct corr_route *routes[64];
	struct corr_alert a;
	int rc = -1;

	if (corr_alert_copy(&a, in))
		return -1;
	a.fp = corr_labels_fingerprint(&a.labels);
	pthread_mutex_lock(&d->lock);
	const struct corr_alert *old = hashmap_get(d->alerts, &a.fp);
	/* Merge only when the activity ranges overlap, as Alertmanager does. */
	if (old && ((a.ends_at_ms > old->starts_at_ms && a.ends_at_ms < old->ends_at_ms) ||
		    (a.starts_at_ms > old->starts_at_ms && a.starts_at_ms < old->ends_at_ms)))
		merge_alert(&a, old, &a, now_ms);
	if (known_upsert(d->alerts, &a))
		goto out;
	size_t n = dispatch_match_routes(&d->cfg->root, &a.labels, routes, 64);
	for (size_t i = 0; i < n; i++) {
		struct aggr_group *g = find_or_create_group(d, routes[i], &a, now_ms);
		if (!g || group_upsert(g, &a))
			goto out;
		/* An alert that started long ago does not wait for group_wait. */
		if (!g->has_flushed && a.starts_at_ms + routes[i]->group_wait_ms < now_ms)
			g->next_flush_ms = now_ms;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&d->lock);
	corr_alert_free(&a);
	return rc;
}

const struct silence *dispatch_silenced_by(const struct corr_dispatch *d,
					   const struct corr_labels *ls, int64_t now_ms)
{
	for (size_t i = 0; i < d->n_silences; i++) {
		const struct silence *s = &d->silences[i];
		if (s->starts_ms <= now_ms && now_ms < s->ends_ms &&
		    corr_matchers_match(&s->matchers, ls))
			return s;
	}
	return NULL;
}

/* Alertmanager's Inhibitor.Mutes, including the two-sided-match exclusion. */
const struct corr_alert *dispatch_inhibited_by(const struct corr_dispatch *d,
					       const struct corr_labels *ls, int64_t now_ms)
{
	for (size_t r = 0; r < d->cfg->n_inhibit; r++) {
		const struct corr_inhibit_rule *rule = &d->cfg->inhibit[r];
		if (!corr_matchers_match(&rule->target, ls))
			continue;
		bool two_sided = corr_matchers_match(&rule->source, ls);
		size_t pos = 0;
		const void *key;
		void *val;
		while (hashmap_next(d->alerts, &pos, &key, &val)) {
			const struct corr_alert *src = val;
			if (corr_alert_resolved(src, now_ms) ||
			    !corr_matchers_match(&rule->source, &src->labels))
				continue;
			size_t k;
			for (k = 0; k < rule->n_equal; k++) {
				const char *a = corr_labels_get(&src->labels, rule->equal[k]);
				const char *b = corr_labels_get(ls, rule->equal[k]);
				if (strcmp(a ? a : "", b ? b : ""))
					break;
			}
			if (k < rule->n_equal)
				continue;
			if (two_sided && corr_matchers_match(&rule->target, &src->labels))
				continue;
			return src;
		}
	}
	return NULL;
}

static void group_unindex(struct corr_dispatch *d, struct aggr_group *g)
{
	uint64_t h = hashmap_hash_bytes(g->key, strlen(g->key));
	struct aggr_group *first = hashmap_get(d->group_index, &h);

	if (first == g) {
		if (g->hash_next)
			hashmap_put(d->group_index, &h, g->hash_next); /* replaces: no allocation */
		else
			hashmap_del(d->group_index, &h);
		return;
	}
	for (struct aggr_group *c = first; c; c = c->hash_next)
		if (c->hash_next == g) {
			c->hash_next = g->hash_next;
			return;
		}
}

/* Forgets alerts resolved before before_ms (collected first: no change while iterating). */
static void prune_known(struct corr_dispatch *d, int64_t before_ms)
{
	size_t pos = 0, n = 0, cap = 0;
	uint64_t *gone = NULL;
	const void *k;
	void *v;

	while (hashmap_next(d->alerts, &pos, &k, &v)) {
		if (!corr_alert_resolved(v, before_ms))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			uint64_t *g = realloc(gone, cap * sizeof(*g));
			if (!g)
				break;
			gone = g;
		}
		gone[n++] = ((const struct corr_alert *)v)->fp;
	}
	for (size_t i = 0; i < n; i++) {
		struct corr_alert *a = hashmap_del(d->alerts, &gone[i]);
		corr_alert_free(a);
		free(a);
	}
	free(gone);
}

int64_t corr_dispatch_tick(struct corr_dispatch *d, int64_t now_ms)
{
	int64_t next = 1000;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_groups; i++) {
		struct aggr_group *g = d->groups[i];
		if (g->next_flush_ms <= now_ms) {
			g->has_flushed = 1;
			g->next_flush_ms = now_ms + g->route->group_interval_ms;
			dispatch_flush_group(d, g, now_ms);
		}
	}
	size_t keep = 0;
	for (size_t i = 0; i < d->n_groups; i++) {
		if (!d->groups[i]->n_alerts) {
			log_debug("dispatch: group %s is empty, removed", d->groups[i]->key);
			group_unindex(d, d->groups[i]);
			group_free(d->groups[i]);
			continue;
		}
		if (d->groups[i]->next_flush_ms - now_ms < next)
			next = d->groups[i]->next_flush_ms - now_ms;
		d->groups[keep++] = d->groups[i];
	}
	d->n_groups = keep;
	/* Resolved alerts stay a while for merging and the API, then go. */
	/*
	 * Every second, not every 10 s: a burst of incidents resolved long ago
	 * (an agent's spool after an outage, a replay) leaves memory in step.
	 * One pass is a walk over the alerts held, cheap at this rate.
	 */
	if (now_ms >= d->next_alert_prune_ms) {
		d->next_alert_prune_ms = now_ms + 1000;
		prune_known(d, now_ms - 15 * 60000);
	}
	pthread_mutex_unlock(&d->lock);
	return next < 0 ? 0 : next;
}
