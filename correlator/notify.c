/*
 * The notification senders: a bounded pool per receiver integration (one
 * slow receiver delays no other), retries with backoff, the delivery log
 * written when the receiver acknowledged. What is sent is built by
 * notify_payload.c.
 * Long file: queueing, sending and settling share the lanes' lock and state.
 */
#include "notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "util.h"

/* ------------------------------------------------------------ senders */

#define MAX_SENDERS 64

struct outgoing {
	struct outgoing *next;
	int64_t id; /* in the delivery log; 0 when not kept */
	char *body;
	char *group_key;
	char *nflog_key;
	uint64_t *firing;
	size_t n_firing;
	uint64_t *resolved;
	size_t n_resolved;
	int attempts;
	int64_t next_ms;	/* wall clock: when it may be (re)tried */
	int64_t queued_wall_ms; /* wall clock when queued */
	int64_t clock_ms;	/* the dispatcher's clock when it was made */
	void (*on_failure)(void *arg, const char *group_key, const char *receiver, size_t integ);
	void (*on_success)(void *arg, const char *group_key, const char *receiver, size_t integ,
			   int64_t acked_ms);
	void *cb_arg;
};

/* One receiver integration: its queue and its own senders. */
struct lane {
	struct corr_notifier *nt;
	const struct corr_receiver *rcv;
	const struct corr_integration *in;
	size_t integ_index;
	pthread_cond_t wake;
	struct outgoing *queue;	   /* waiting, oldest first */
	struct outgoing *inflight; /* being sent now, one per group at most */
	int n_threads;
	pthread_t threads[MAX_SENDERS];
};

struct corr_notifier {
	const struct corr_config *cfg;
	struct corr_metrics *metrics;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct lane *lanes;
	size_t n_lanes;
	size_t outstanding; /* queued or in flight, over all lanes */
	int stop;
	struct corr_delivery_ops delivery;
};

static void outgoing_free(struct outgoing *o)
{
	free(o->body);
	free(o->group_key);
	free(o->nflog_key);
	free(o->firing);
	free(o->resolved);
	free(o);
}

static struct corr_pending pending_view(const struct lane *l, const struct outgoing *o)
{
	return (struct corr_pending){
		.id = o->id,
		.receiver = l->rcv->name,
		.integ_index = l->integ_index,
		.group_key = o->group_key,
		.nflog_key = o->nflog_key,
		.firing = o->firing,
		.n_firing = o->n_firing,
		.resolved = o->resolved,
		.n_resolved = o->n_resolved,
		.body = o->body,
		.created_ms = o->clock_ms,
	};
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

/* Aborts a transfer when the notifier stops: what was pending stays pending. */
static int stop_requested(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const struct corr_notifier *nt = arg;

	return __atomic_load_n(&nt->stop, __ATOMIC_RELAXED);
}

/* One POST; returns the HTTP status, or 0 when the transfer failed. */
static long post(struct corr_notifier *nt, const struct lane *l, const struct outgoing *o,
		 char *err, size_t errlen)
{
	char *url = corr_notify_target_url(l->in, err, errlen);
	CURL *c = url ? curl_easy_init() : NULL;
	struct curl_slist *hdr = NULL;
	long status = 0;
	char ebuf[CURL_ERROR_SIZE] = "";

	if (!c) {
		if (!err[0])
			snprintf(err, errlen, "curl_easy_init failed");
		free(url);
		return 0;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(o->body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)nt->cfg->notify_timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "seismo-correlator/" SEISMO_VERSION);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stop_requested);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, nt);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(url);
	return status;
}

static int group_in_flight(const struct lane *l, const char *group_key)
{
	for (const struct outgoing *o = l->inflight; o; o = o->next)
		if (!strcmp(o->group_key, group_key))
			return 1;
	return 0;
}

/*
 * Takes the oldest entry that is due and whose group has nothing in
 * flight (a group's notifications go out in order), or says how long to
 * wait for one.
 */
static struct outgoing *take_due(struct lane *l, int64_t now, int64_t *wait_ms)
{
	*wait_ms = 1000;
	for (struct outgoing **pp = &l->queue; *pp; pp = &(*pp)->next) {
		struct outgoing *o = *pp;
		if (group_in_flight(l, o->group_key))
			continue;
		if (o->next_ms <= now) {
			*pp = o->next;
			o->next = NULL;
			return o;
		}
		if (o->next_ms - now < *wait_ms)
			*wait_ms = o->next_ms - now;
	}
	return NULL;
}

static void unlink_inflight(struct lane *l, struct outgoing *o)
{
	for (struct outgoing **pp = &l->inflight; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			o->next = NULL;
			return;
		}
}

static void wait_ms_on(pthread_cond_t *cv, pthread_mutex_t *lock, int64_t wait_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ns = ts.tv_nsec + (wait_ms % 1000) * 1000000;
	ts.tv_sec += wait_ms / 1000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	pthread_cond_timedwait(cv, lock, &ts);
}

/* After one attempt (outside the lock): 1 when o is finished with. */
static int settle(struct lane *l, struct outgoing *o, long status, char *err, size_t errlen)
{
	struct corr_notifier *nt = l->nt;
	enum corr_integration_kind kind = l->in->kind;
	int done = status >= 200 && status < 300;
	/* A 4xx other than 408/429 will not get better by retrying. */
	int permanent = status >= 400 && status < 500 && status != 408 && status != 429;

	if (done) {
		int64_t acked = o->clock_ms + (corr_now_ms() - o->queued_wall_ms);
		struct corr_pending p = pending_view(l, o);
		corr_metrics_add(&nt->metrics->notifications_sent[kind], 1);
		log_debug("notify: %s (%s) group %s delivered", l->rcv->name,
			  corr_integration_kind_name(kind), o->group_key);
		if (nt->delivery.acked)
			nt->delivery.acked(nt->delivery.arg, &p, acked);
		if (o->on_success)
			o->on_success(o->cb_arg, o->group_key, l->rcv->name, l->integ_index, acked);
		return 1;
	}
	if (!err[0])
		snprintf(err, errlen, "HTTP %ld", status);
	if (__atomic_load_n(&nt->stop, __ATOMIC_RELAXED)) {
		/* Stopping: it stays pending in the delivery log for the next start. */
		return 1;
	}
	if (permanent || o->attempts >= nt->cfg->notify_attempts) {
		corr_metrics_add(&nt->metrics->notifications_failed[kind], 1);
		log_error("notify: %s (%s) group %s failed after %d attempts: %s", l->rcv->name,
			  corr_integration_kind_name(kind), o->group_key, o->attempts, err);
		if (nt->delivery.dropped && o->id > 0)
			nt->delivery.dropped(nt->delivery.arg, o->id);
		if (o->on_failure)
			o->on_failure(o->cb_arg, o->group_key, l->rcv->name, l->integ_index);
		return 1;
	}
	corr_metrics_add(&nt->metrics->notification_retries[kind], 1);
	int64_t delay = nt->cfg->notify_backoff_ms << (o->attempts - 1);
	if (delay > 60000)
		delay = 60000;
	/* Jitter: half fixed, half random, so retries spread out. */
	delay = delay / 2 + (int64_t)(drand48() * (double)(delay / 2 + 1));
	o->next_ms = corr_now_ms() + delay;
	log_warn("notify: %s (%s) group %s: %s; retry %d in %lld ms", l->rcv->name,
		 corr_integration_kind_name(kind), o->group_key, err, o->attempts,
		 (long long)delay);
	return 0;
}

static void finished(struct corr_notifier *nt, struct outgoing *o)
{
	outgoing_free(o);
	if (--nt->outstanding == 0)
		pthread_cond_broadcast(&nt->idle);
}

static void *sender_main(void *arg)
{
	struct lane *l = arg;
	struct corr_notifier *nt = l->nt;

	pthread_mutex_lock(&nt->lock);
	while (!nt->stop) {
		int64_t wait_ms;
		struct outgoing *o = take_due(l, corr_now_ms(), &wait_ms);
		if (!o) {
			wait_ms_on(&l->wake, &nt->lock, wait_ms);
			continue;
		}
		o->next = l->inflight;
		l->inflight = o;
		pthread_mutex_unlock(&nt->lock);
		char err[512] = "";
		long status = post(nt, l, o, err, sizeof(err));
		o->attempts++;
		int done = settle(l, o, status, err, sizeof(err));
		pthread_mutex_lock(&nt->lock);
		unlink_inflight(l, o);
		if (done) {
			finished(nt, o);
		} else {
			/* A retry goes first: its group is older than what queued since. */
			o->next = l->queue;
			l->queue = o;
		}
		/* The group is free again: another sender may take its next one. */
		pthread_cond_broadcast(&l->wake);
	}
	pthread_mutex_unlock(&nt->lock);
	return NULL;
}

struct corr_notifier *corr_notifier_new(const struct corr_config *cfg, struct corr_metrics *m)
{
	struct corr_notifier *nt = calloc(1, sizeof(*nt));
	size_t n = 0;

	if (!nt)
		return NULL;
	nt->cfg = cfg;
	nt->metrics = m;
	for (size_t i = 0; i < cfg->n_receivers; i++)
		n += cfg->receivers[i].n_integ;
	nt->lanes = calloc(n + 1, sizeof(*nt->lanes));
	if (!nt->lanes) {
		free(nt);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_receivers; i++)
		for (size_t k = 0; k < cfg->receivers[i].n_integ; k++) {
			struct lane *l = &nt->lanes[nt->n_lanes++];
			l->nt = nt;
			l->rcv = &cfg->receivers[i];
			l->in = &cfg->receivers[i].integ[k];
			l->integ_index = k;
			pthread_cond_init(&l->wake, NULL);
		}
	pthread_mutex_init(&nt->lock, NULL);
	pthread_cond_init(&nt->idle, NULL);
	return nt;
}

void corr_notifier_set_delivery(struct corr_notifier *nt, const struct corr_delivery_ops *ops)
{
	nt->delivery = *ops;
}

static struct lane *find_lane(struct corr_notifier *nt, const char *receiver, size_t integ)
{
	for (size_t i = 0; i < nt->n_lanes; i++)
		if (nt->lanes[i].integ_index == integ && !strcmp(nt->lanes[i].rcv->name, receiver))
			return &nt->lanes[i];
	return NULL;
}

/*
 * Queues o on its lane (under the lock): a waiting notification of the same
 * group is replaced (it says less than o does); returns the replaced one.
 * Senders start on demand, up to notify_concurrency per lane.
 */
static struct outgoing *queue_on(struct lane *l, struct outgoing *o)
{
	struct corr_notifier *nt = l->nt;
	struct outgoing **pp, *old = NULL;

	for (pp = &l->queue; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->group_key, o->group_key)) {
			old = *pp;
			o->next = old->next;
			*pp = o;
			break;
		}
	if (!old) {
		*pp = o;
		nt->outstanding++;
	}
	if (l->n_threads < nt->cfg->notify_concurrency && l->n_threads < MAX_SENDERS) {
		int rc = pthread_create(&l->threads[l->n_threads], NULL, sender_main, l);
		if (rc)
			log_error("notify: cannot start a sender for %s: %s", l->rcv->name,
				  strerror(rc));
		else
			l->n_threads++;
	}
	pthread_cond_signal(&l->wake);
	return old;
}

static void enqueue_outgoing(struct corr_notifier *nt, struct lane *l, struct outgoing *o)
{
	pthread_mutex_lock(&nt->lock);
	struct outgoing *old = queue_on(l, o);
	pthread_mutex_unlock(&nt->lock);
	if (old) {
		log_debug("notify: %s group %s: a newer notification replaces a waiting one",
			  l->rcv->name, old->group_key);
		if (nt->delivery.dropped && old->id > 0)
			nt->delivery.dropped(nt->delivery.arg, old->id);
		outgoing_free(old);
	}
}

void corr_notifier_enqueue(struct corr_notifier *nt, struct corr_notification *n)
{
	struct outgoing *o = calloc(1, sizeof(*o));
	struct lane *l = find_lane(nt, n->receiver, n->integ_index);
	char err[256] = "", *url = NULL;

	if (!o || !l || corr_notify_build(nt->cfg, n, &o->body, &url, err, sizeof(err)) ||
	    !(o->group_key = strdup(n->group_key))) {
		log_error("notify: receiver %s (%s): %s", n->receiver,
			  corr_integration_kind_name(n->integ->kind),
			  err[0] ? err
			  : l	 ? "out of memory"
				 : "not configured");
		corr_metrics_add(&nt->metrics->notifications_failed[n->integ->kind], 1);
		if (o)
			outgoing_free(o);
		free(url);
		corr_notification_free(n);
		return;
	}
	free(url); /* resolved again when sent */
	o->nflog_key = n->nflog_key;
	o->firing = n->firing;
	o->n_firing = n->n_firing;
	o->resolved = n->resolved;
	o->n_resolved = n->n_resolved;
	n->nflog_key = NULL;
	n->firing = n->resolved = NULL;
	o->on_failure = n->on_failure;
	o->on_success = n->on_success;
	o->cb_arg = n->on_failure_arg;
	o->clock_ms = n->now_ms;
	o->queued_wall_ms = o->next_ms = corr_now_ms();
	corr_notification_free(n);
	if (nt->delivery.add && o->nflog_key) {
		struct corr_pending p = pending_view(l, o);
		o->id = nt->delivery.add(nt->delivery.arg, &p);
		if (o->id < 0) {
			log_error("notify: cannot keep the notification for %s group %s; "
				  "sending it unkept",
				  l->rcv->name, o->group_key);
			o->id = 0;
		}
	}
	enqueue_outgoing(nt, l, o);
}

static uint64_t *copy_fps(const uint64_t *v, size_t n)
{
	uint64_t *c = calloc(n + 1, sizeof(*c));

	if (c && n)
		memcpy(c, v, n * sizeof(*c));
	return c;
}

int corr_notifier_resume(struct corr_notifier *nt, const struct corr_pending *p)
{
	struct lane *l = find_lane(nt, p->receiver, p->integ_index);
	struct outgoing *o = l ? calloc(1, sizeof(*o)) : NULL;

	if (!o)
		return -1;
	o->id = p->id;
	o->body = strdup(p->body);
	o->group_key = strdup(p->group_key);
	o->nflog_key = strdup(p->nflog_key);
	o->firing = copy_fps(p->firing, p->n_firing);
	o->n_firing = p->n_firing;
	o->resolved = copy_fps(p->resolved, p->n_resolved);
	o->n_resolved = p->n_resolved;
	o->clock_ms = o->queued_wall_ms = o->next_ms = corr_now_ms();
	if (!o->body || !o->group_key || !o->nflog_key || !o->firing || !o->resolved) {
		outgoing_free(o);
		return -1;
	}
	enqueue_outgoing(nt, l, o);
	return 0;
}

int corr_notifier_drain(struct corr_notifier *nt, int64_t timeout_ms)
{
	int64_t deadline = corr_now_ms() + timeout_ms;
	int rc = 0;

	pthread_mutex_lock(&nt->lock);
	while (nt->outstanding) {
		if (corr_now_ms() >= deadline) {
			rc = -1;
			break;
		}
		wait_ms_on(&nt->idle, &nt->lock, 50);
	}
	pthread_mutex_unlock(&nt->lock);
	return rc;
}

void corr_notifier_free(struct corr_notifier *nt)
{
	size_t kept = 0;

	if (!nt)
		return;
	pthread_mutex_lock(&nt->lock);
	__atomic_store_n(&nt->stop, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < nt->n_lanes; i++)
		pthread_cond_broadcast(&nt->lanes[i].wake);
	pthread_mutex_unlock(&nt->lock);
	for (size_t i = 0; i < nt->n_lanes; i++) {
		struct lane *l = &nt->lanes[i];
		for (int k = 0; k < l->n_threads; k++)
			pthread_join(l->threads[k], NULL);
		while (l->queue) {
			struct outgoing *o = l->queue;
			l->queue = o->next;
			kept += o->id > 0;
			if (o->id <= 0)
				log_warn(
					"notify: dropping undelivered notification for %s at shutdown",
					l->rcv->name);
			outgoing_free(o);
		}
		pthread_cond_destroy(&l->wake);
	}
	if (kept)
		log_info("notify: %zu undelivered notifications kept for the next start", kept);
	free(nt->lanes);
	pthread_cond_destroy(&nt->idle);
	pthread_mutex_destroy(&nt->lock);
	free(nt);
}
