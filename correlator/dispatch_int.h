/*
 * What the dispatcher's files share: dispatch.c (alerts into groups, the
 * tick), dispatch_notify.c (what each receiver is told, the notification
 * log), dispatch_silence.c (silences),
 * dispatch_views.c (the API's views of alerts and groups).
 * Not for other modules: they use dispatch.h.
 */
#ifndef CORR_DISPATCH_INT_H
#define CORR_DISPATCH_INT_H

#include <jansson.h>
#include <pthread.h>

#include "dispatch.h"
#include "hashmap.h"

/* What a receiver integration was last told about a group (Alertmanager's nflog). */
struct nflog_entry {
	int set;
	uint64_t *firing;
	size_t n_firing;
	uint64_t *resolved;
	size_t n_resolved;
	int64_t ts;
};

struct aggr_group {
	struct aggr_group *hash_next; /* another group whose key hashes the same */
	const struct corr_route *route;
	const struct corr_receiver *receiver;
	struct corr_labels group_labels;
	char *key;
	struct corr_alert *alerts;
	size_t n_alerts;
	struct hashmap *by_fp; /* fingerprint -> position in alerts, plus one */
	int64_t next_flush_ms;
	int has_flushed;
	struct nflog_entry *log; /* one per integration of the receiver */
};

struct silence {
	char id[37];
	struct corr_matchers matchers;
	json_t *body;
	int64_t starts_ms;
	int64_t ends_ms;
};

struct corr_dispatch {
	pthread_mutex_t lock;
	const struct corr_config *cfg;
	struct corr_notifier *nt;
	struct aggr_group **groups;
	size_t n_groups;
	struct hashmap *group_index; /* hash of the group key -> chain of groups */
	struct hashmap *alerts;	     /* fingerprint -> every alert (inhibition, API) */
	struct silence *silences;
	size_t n_silences;
	struct corr_nflog_ops nflog;
	int passive; /* HA follower: groups kept, nobody notified */
	int64_t next_alert_prune_ms;
};

/* Alertmanager's Route.Match: the deepest matching routes, honouring continue. */
size_t dispatch_match_routes(const struct corr_route *r, const struct corr_labels *ls,
			     const struct corr_route **out, size_t max);
/* The active silence that mutes ls, or NULL (d->lock held). */
const struct silence *dispatch_silenced_by(const struct corr_dispatch *d,
					   const struct corr_labels *ls, int64_t now_ms);
/* Alertmanager's Inhibitor.Mutes: the alert that inhibits ls, or NULL (d->lock held). */
const struct corr_alert *dispatch_inhibited_by(const struct corr_dispatch *d,
					       const struct corr_labels *ls, int64_t now_ms);

/* dispatch.c */
int dispatch_cmp_u64(const void *x, const void *y);
/* The notification log's key of a group's integration idx (malloc'd). */
char *dispatch_nflog_key(const struct aggr_group *g, size_t idx);
void dispatch_nflog_clear(struct nflog_entry *e);
int dispatch_group_reindex(struct aggr_group *g);

/* dispatch_notify.c: notifies each integration of g that needs it (d->lock held). */
void dispatch_flush_group(struct corr_dispatch *d, struct aggr_group *g, int64_t now_ms);

#endif
