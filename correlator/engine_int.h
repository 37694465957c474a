/*
 * What the engine's files share (engine.c: lifecycle, replay, ingest,
 * retention; engine_alerts.c: incidents as alerts; engine_ha.c: replicas
 * on a shared store; engine_liveness.c: stale nodes; engine_api.c: the
 * read and silence API). Not for other modules: they use engine.h.
 */
#ifndef CORR_ENGINE_INT_H
#define CORR_ENGINE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "alert.h"
#include "notify.h"
#include "engine.h"
#include "strmap.h"

/* A firing incident alert has no end until its incident resolves. */
#define NO_END (INT64_MAX / 4)

struct incident_alert {
	int set;
	struct corr_alert alert;
	/* Incidents merged into this one: their alerts end when this one does. */
	int *absorbed;
	size_t n_absorbed;
};

/* Incidents touched by a batch, published once when the batch is done. */
struct touched {
	int *v;
	size_t n;
	size_t cap;
};

struct corr_engine {
	const struct corr_config *cfg;
	pthread_mutex_t lock;
	struct corr_store *store;
	struct corr_store *nflog_store; /* own connection: sender threads write it */
	pthread_mutex_t delivery_lock;	/* one transaction at a time on nflog_store */
	struct corr_topology *topo;
	struct corr_notifier *notifier;
	struct corr_dispatch *dispatch;
	struct corr_metrics metrics;
	/* By incident slot: ia[0] is slot ia_base (below it, forgotten: engine_ia_at). */
	struct incident_alert *ia;
	size_t ia_base;
	size_t n_ia;
	int64_t events_stored;
	struct touched replay_touched;
	struct corr_actions *actions; /* runbooks (action_engine.c) */
	/* Shared store (PostgreSQL): replicas follow it; the leader dispatches (ha). */
	int shared;
	int leader;
	int64_t follow_seq;
	int64_t next_follow_ms;
	int64_t next_lead_ms;
	uint64_t leader_changes;
	char replica[320];
	int64_t next_retention_ms; /* wall clock of the next retention pass */
	int64_t next_forget_ms;	   /* and of the next in-memory one (ingest runs it) */
	size_t forgotten_since_trim;
	/* Liveness: when each node last sent a batch (its own, even empty). */
	struct corr_strmap node_index;
	struct node_seen *nodes;
	size_t n_nodes;
	int64_t next_liveness_ms;
};

struct node_seen {
	char *name;
	int64_t last_ms; /* wall clock */
	bool stale;	 /* its firing anomalies were resolved as stale */
};

/* The alert state of incident slot (ia_base <= slot < ia_base + n_ia). */
static inline struct incident_alert *engine_ia_at(struct corr_engine *e, int slot)
{
	return &e->ia[(size_t)slot - e->ia_base];
}

static inline bool engine_ia_held(const struct corr_engine *e, int slot)
{
	return slot >= 0 && (size_t)slot >= e->ia_base && (size_t)slot < e->ia_base + e->n_ia;
}

/* engine_alerts.c: incidents -> alerts for the dispatcher (e->lock held). */
/* Room for the alert state of slots up to n-1. */
int engine_ensure_ia(struct corr_engine *e, size_t n);
/* Slots the topology let go of (below its first slot) leave ia too. */
void engine_drop_forgotten_ia(struct corr_engine *e);
/* Feeds one stored event to the correlation; touched collects what changed. */
int engine_correlate(struct corr_engine *e, const struct corr_event *ev, int64_t now_ms,
		     struct touched *touched);
int engine_take_edge_merges(struct corr_engine *e, struct touched *touched, int64_t now_ms);
/* Publishes each touched incident's alert once, then empties t. */
void engine_publish_touched(struct corr_engine *e, struct touched *t, int64_t now_ms);
void engine_forget_alert(struct corr_engine *e, struct incident_alert *ia);

/* engine.c */
int engine_replay_silence(const char *id, const char *text, void *arg);
/* Sends a notification kept pending before a restart (or a leader change). */
int engine_resume_pending(const struct corr_pending *p, void *arg);

/* engine_ha.c: a shared store (PostgreSQL). */
int engine_follow_store(struct corr_engine *e, int64_t now_ms);
void engine_ha_start(struct corr_engine *e);
void engine_ha_tick(struct corr_engine *e, int64_t now_ms);

/*
 * engine_posted.c: an Alertmanager-style alerts body into the dispatcher (when
 * dispatch), received at received_ms: all validated first. 0, -1 (err:
 * invalid), -2 (out of memory); *until_ms, when given: the latest end.
 */
int engine_put_alerts(struct corr_engine *e, json_t *body, int64_t received_ms, int64_t now_ms,
		      int dispatch, int64_t *until_ms, char *err, size_t errlen);

/* engine_liveness.c */
int engine_node_heard(struct corr_engine *e, const char *node, int64_t now_ms);
void engine_check_liveness(struct corr_engine *e, int64_t now_ms);

#endif
