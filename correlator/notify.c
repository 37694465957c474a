#include "notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "util.h"

void corr_notification_free(struct corr_notification *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_alerts; i++)
		corr_alert_free(&n->alerts[i]);
	free(n->alerts);
	free(n->group_key);
	free(n->nflog_key);
	free(n->firing);
	free(n->resolved);
	corr_labels_free(&n->group_labels);
	free(n);
}

static size_t count_firing(const struct corr_notification *n)
{
	size_t f = 0;

	for (size_t i = 0; i < n->n_alerts; i++)
		f += !corr_alert_resolved(&n->alerts[i], n->now_ms);
	return f;
}

/* Labels (or annotations) whose value is the same in the first count alerts
 * (Alertmanager's webhook computes them after max_alerts truncation). */
static json_t *common_pairs(const struct corr_notification *n, int annotations, size_t count)
{
	json_t *o = json_object();

	if (count > n->n_alerts)
		count = n->n_alerts;
	if (!count)
		return o;
	const struct corr_labels *first = annotations ? &n->alerts[0].annotations
						      : &n->alerts[0].labels;
	for (size_t i = 0; i < first->n; i++) {
		int common = 1;
		for (size_t j = 1; j < count && common; j++) {
			const struct corr_labels *ls = annotations ? &n->alerts[j].annotations
								   : &n->alerts[j].labels;
			const char *v = corr_labels_get(ls, first->v[i].name);
			common = v && !strcmp(v, first->v[i].value);
		}
		if (common)
			json_object_set_new(o, first->v[i].name, json_string(first->v[i].value));
	}
	return o;
}

static json_t *webhook_payload(const struct corr_config *cfg,
			       const struct corr_notification *n)
{
	size_t limit = n->integ->max_alerts > 0 ? (size_t)n->integ->max_alerts : n->n_alerts;
	json_t *alerts = json_array();

	size_t firing = 0;

	for (size_t i = 0; i < n->n_alerts && i < limit; i++) {
		json_array_append_new(alerts, corr_alert_to_json(&n->alerts[i], n->now_ms));
		firing += !corr_alert_resolved(&n->alerts[i], n->now_ms);
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:I}", "receiver",
			 n->receiver, "status", firing ? "firing" : "resolved",
			 "alerts", alerts, "groupLabels",
			 corr_labels_to_json(&n->group_labels), "commonLabels",
			 common_pairs(n, 0, limit), "commonAnnotations", common_pairs(n, 1, limit),
			 "externalURL", cfg->external_url, "version", "4", "groupKey",
			 n->group_key, "truncatedAlerts",
			 (json_int_t)(n->n_alerts > limit ? n->n_alerts - limit : 0));
}

/*
 * Alertmanager's default subject (Slack title, PagerDuty summary):
 * "[FIRING:2] <group label values> (<other common label values>)".
 */
static char *default_title(const struct corr_notification *n)
{
	size_t firing = count_firing(n);
	json_t *common = common_pairs(n, 0, n->n_alerts);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *key;
	json_t *v;
	int others = 0;

	if (!f) {
		json_decref(common);
		return NULL;
	}
	if (firing)
		fprintf(f, "[FIRING:%zu]", firing);
	else
		fprintf(f, "[RESOLVED]");
	for (size_t i = 0; i < n->group_labels.n; i++)
		fprintf(f, " %s", n->group_labels.v[i].value);
	/* jansson keeps insertion order, and labels are sorted already. */
	json_object_foreach(common, key, v) {
		if (corr_labels_get(&n->group_labels, key))
			continue;
		fprintf(f, "%s%s", others++ ? " " : " (", json_string_value(v));
	}
	if (others)
		fputc(')', f);
	json_decref(common);
	fclose(f);
	return buf;
}

static char *alerts_text(const struct corr_notification *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n->n_alerts; i++) {
		const struct corr_alert *a = &n->alerts[i];
		const char *summary = corr_labels_get(&a->annotations, "summary");
		const char *desc = corr_labels_get(&a->annotations, "description");
		fprintf(f, "%s%s: %s%s%s\n", corr_alert_resolved(a, n->now_ms) ? "[resolved] " : "",
			corr_labels_get(&a->labels, "alertname") ? corr_labels_get(&a->labels, "alertname") : "alert",
			summary ? summary : "", desc ? " - " : "", desc ? desc : "");
	}
	fclose(f);
	return buf;
}

static json_t *slack_payload(const struct corr_config *cfg,
			     const struct corr_notification *n)
{
	char *title = n->integ->title ? strdup(n->integ->title) : default_title(n);
	char *text = n->integ->text ? strdup(n->integ->text) : alerts_text(n);
	json_t *att, *body = NULL;

	if (!title || !text)
		goto out;
	att = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s,s,s]}", "title", title, "title_link",
			cfg->external_url, "text", text, "fallback", title, "color",
			count_firing(n) ? "danger" : "good", "mrkdwn_in", "fallback",
			"pretext", "text");
	body = json_pack("{s:o}", "attachments", json_pack("[o]", att));
	if (body && n->integ->channel)
		json_object_set_new(body, "channel", json_string(n->integ->channel));
	if (body && n->integ->username)
		json_object_set_new(body, "username", json_string(n->integ->username));
out:
	free(title);
	free(text);
	return body;
}

static json_t *pagerduty_payload(const struct corr_config *cfg,
				 const struct corr_notification *n, const char *key)
{
	char *title = default_title(n), dedup[40];
	size_t firing = count_firing(n);
	json_t *details, *body;

	if (!title)
		return NULL;
	if (strlen(title) > 1024)
		title[1024] = 0;
	/* A stable key per receiver and group, so resolve closes what trigger opened. */
	uint64_t h = corr_fnv1a(CORR_FNV_OFFSET, n->receiver, strlen(n->receiver));
	uint64_t h2 = corr_fnv1a(h ^ 0x5bd1e995, n->group_key, strlen(n->group_key));
	h = corr_fnv1a(h, n->group_key, strlen(n->group_key));
	snprintf(dedup, sizeof(dedup), "%016llx%016llx", (unsigned long long)h,
		 (unsigned long long)h2);
	json_t *firing_arr = json_array();
	for (size_t i = 0; i < n->n_alerts; i++)
		json_array_append_new(firing_arr, corr_alert_to_json(&n->alerts[i], n->now_ms));
	details = json_pack("{s:o,s:I,s:I,s:o}", "alerts", firing_arr, "num_firing",
			    (json_int_t)firing, "num_resolved",
			    (json_int_t)(n->n_alerts - firing), "groupLabels",
			    corr_labels_to_json(&n->group_labels));
	body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:o}}", "routing_key", key,
			 "event_action", firing ? "trigger" : "resolve", "dedup_key", dedup,
			 "client", n->integ->client ? n->integ->client : "seismo-correlator",
			 "client_url", cfg->external_url, "payload", "summary", title,
			 "source", "seismo-correlator", "severity",
			 n->integ->severity ? n->integ->severity : "error",
			 "custom_details", details);
	free(title);
	return body;
}

static json_t *alertmanager_payload(const struct corr_notification *n)
{
	json_t *arr = json_array();
	char starts[32], ends[32];

	for (size_t i = 0; i < n->n_alerts; i++) {
		const struct corr_alert *a = &n->alerts[i];
		int64_t ends_ms = a->ends_at_ms;
		/*
		 * A firing alert is resent every group_interval; give it an end
		 * well past that so Alertmanager's resolve_timeout never
		 * resolves what is still firing here.
		 */
		if (!corr_alert_resolved(a, n->now_ms))
			ends_ms = n->now_ms + 4 * n->group_interval_ms;
		corr_time_format(a->starts_at_ms, starts, sizeof(starts));
		corr_time_format(ends_ms, ends, sizeof(ends));
		json_array_append_new(arr, json_pack("{s:o,s:o,s:s,s:s,s:s}", "labels",
						     corr_labels_to_json(&a->labels),
						     "annotations",
						     corr_labels_to_json(&a->annotations),
						     "startsAt", starts, "endsAt", ends,
						     "generatorURL",
						     a->generator_url ? a->generator_url : ""));
	}
	return arr;
}

/* The literal value, or the first line of the file that holds it. */
static char *secret(const char *value, const char *file, const char *what,
		    char *err, size_t errlen)
{
	char *s;

	if (value)
		return strdup(value);
	s = corr_read_small_file(file, 8192);
	if (!s)
		snprintf(err, errlen, "%s file %s: %s", what, file, strerror(errno));
	return s;
}

/* Where an integration sends: read at send time, so *_file changes apply. */
static char *target_url(const struct corr_integration *in, char *err, size_t errlen)
{
	char *url = NULL;

	switch (in->kind) {
	case CORR_INTEG_WEBHOOK:
		return secret(in->url, in->url_file, "webhook url", err, errlen);
	case CORR_INTEG_SLACK:
		return secret(in->url, in->url_file, "slack api_url", err, errlen);
	case CORR_INTEG_PAGERDUTY:
		return strdup(in->url);
	case CORR_INTEG_ALERTMANAGER: {
		size_t l = strlen(in->url);
		if (asprintf(&url, "%s%s", in->url,
			     l && in->url[l - 1] == '/' ? "api/v2/alerts" : "/api/v2/alerts") < 0)
			url = NULL;
		break;
	}
	}
	return url;
}

int corr_notify_build(const struct corr_config *cfg, const struct corr_notification *n,
		      char **body, char **url, char *err, size_t errlen)
{
	const struct corr_integration *in = n->integ;
	json_t *payload = NULL;
	char *key = NULL;

	*body = NULL;
	*url = NULL;
	*url = target_url(in, err, errlen);
	switch (in->kind) {
	case CORR_INTEG_WEBHOOK:
		payload = webhook_payload(cfg, n);
		break;
	case CORR_INTEG_SLACK:
		payload = slack_payload(cfg, n);
		break;
	case CORR_INTEG_PAGERDUTY:
		key = secret(in->routing_key, in->routing_key_file, "pagerduty key", err, errlen);
		payload = key ? pagerduty_payload(cfg, n, key) : NULL;
		break;
	case CORR_INTEG_ALERTMANAGER:
		payload = alertmanager_payload(n);
		break;
	}
	free(key);
	if (payload)
		*body = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (!*url || !*body) {
		if (!err[0])
			snprintf(err, errlen, "cannot build the %s payload",
				 corr_integration_kind_name(in->kind));
		free(*url);
		free(*body);
		*url = *body = NULL;
		return -1;
	}
	return 0;
}

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
	char *url = target_url(l->in, err, errlen);
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

struct corr_notifier *corr_notifier_new(const struct corr_config *cfg,
					struct corr_metrics *m)
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
			  err[0] ? err : l ? "out of memory" : "not configured");
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
				  "sending it unkept", l->rcv->name, o->group_key);
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
				log_warn("notify: dropping undelivered notification for %s at shutdown",
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
