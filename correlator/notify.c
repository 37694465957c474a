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

int corr_notify_build(const struct corr_config *cfg, const struct corr_notification *n,
		      char **body, char **url, char *err, size_t errlen)
{
	const struct corr_integration *in = n->integ;
	json_t *payload = NULL;
	char *key = NULL;

	*body = NULL;
	*url = NULL;
	switch (in->kind) {
	case CORR_INTEG_WEBHOOK:
		*url = secret(in->url, in->url_file, "webhook url", err, errlen);
		payload = webhook_payload(cfg, n);
		break;
	case CORR_INTEG_SLACK:
		*url = secret(in->url, in->url_file, "slack api_url", err, errlen);
		payload = slack_payload(cfg, n);
		break;
	case CORR_INTEG_PAGERDUTY:
		*url = strdup(in->url);
		key = secret(in->routing_key, in->routing_key_file, "pagerduty key", err, errlen);
		payload = key ? pagerduty_payload(cfg, n, key) : NULL;
		break;
	case CORR_INTEG_ALERTMANAGER: {
		size_t l = strlen(in->url);
		if (asprintf(url, "%s%s", in->url,
			     l && in->url[l - 1] == '/' ? "api/v2/alerts" : "/api/v2/alerts") < 0)
			*url = NULL;
		payload = alertmanager_payload(n);
		break;
	}
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

/* ------------------------------------------------------------ sender */

struct outgoing {
	struct outgoing *next;
	enum corr_integration_kind kind;
	char *receiver;
	char *url;
	char *body;
	int attempts;
	int64_t next_ms;
	char *group_key;
	size_t integ_index;
	void (*on_failure)(void *arg, const char *group_key, const char *receiver, size_t integ);
	void *on_failure_arg;
};

struct corr_notifier {
	const struct corr_config *cfg;
	struct corr_metrics *metrics;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t idle;
	struct outgoing *head;
	int busy;
	int stop;
	pthread_t thread;
};

static void outgoing_free(struct outgoing *o)
{
	free(o->group_key);
	free(o->receiver);
	free(o->url);
	free(o->body);
	free(o);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

/* One POST; returns the HTTP status, or 0 when the transfer failed. */
static long post(const struct corr_notifier *nt, const struct outgoing *o, char *err,
		 size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long status = 0;
	char ebuf[CURL_ERROR_SIZE] = "";

	if (!c) {
		snprintf(err, errlen, "curl_easy_init failed");
		return 0;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, o->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(o->body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)nt->cfg->notify_timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "seismo-correlator/" SEISMO_VERSION);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return status;
}

/* Takes the first entry that is due, or says how long to wait. */
static struct outgoing *take_due(struct corr_notifier *nt, int64_t now, int64_t *wait_ms)
{
	struct outgoing **pp, *best = NULL, **bestp = NULL;

	*wait_ms = 1000;
	for (pp = &nt->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->next_ms <= now) {
			best = *pp;
			bestp = pp;
			break;
		}
		if ((*pp)->next_ms - now < *wait_ms)
			*wait_ms = (*pp)->next_ms - now;
	}
	if (best)
		*bestp = best->next;
	return best;
}

static void *sender_main(void *arg)
{
	struct corr_notifier *nt = arg;

	pthread_mutex_lock(&nt->lock);
	while (!nt->stop) {
		int64_t wait_ms;
		struct outgoing *o = take_due(nt, corr_now_ms(), &wait_ms);
		if (!o) {
			if (!nt->head)
				pthread_cond_broadcast(&nt->idle);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t ns = ts.tv_nsec + (wait_ms % 1000) * 1000000;
			ts.tv_sec += wait_ms / 1000 + ns / 1000000000;
			ts.tv_nsec = ns % 1000000000;
			pthread_cond_timedwait(&nt->wake, &nt->lock, &ts);
			continue;
		}
		nt->busy = 1;
		pthread_mutex_unlock(&nt->lock);
		char err[256] = "";
		long status = post(nt, o, err, sizeof(err));
		o->attempts++;
		int done = status >= 200 && status < 300;
		/* A 4xx other than 408/429 will not get better by retrying. */
		int permanent = status >= 400 && status < 500 && status != 408 && status != 429;
		if (done) {
			corr_metrics_add(&nt->metrics->notifications_sent[o->kind], 1);
			log_debug("notify: %s (%s) delivered to %s", o->receiver,
				  corr_integration_kind_name(o->kind), o->url);
		} else if (!err[0]) {
			snprintf(err, sizeof(err), "HTTP %ld", status);
		}
		if (!done && (permanent || o->attempts >= nt->cfg->notify_attempts)) {
			corr_metrics_add(&nt->metrics->notifications_failed[o->kind], 1);
			log_error("notify: %s (%s) to %s failed after %d attempts: %s",
				  o->receiver, corr_integration_kind_name(o->kind), o->url,
				  o->attempts, err);
			/* Not under our lock: the callback takes the dispatcher's. */
			if (o->on_failure)
				o->on_failure(o->on_failure_arg, o->group_key, o->receiver,
					      o->integ_index);
			done = 1;
		} else if (!done) {
			corr_metrics_add(&nt->metrics->notification_retries[o->kind], 1);
			int64_t delay = nt->cfg->notify_backoff_ms << (o->attempts - 1);
			if (delay > 60000)
				delay = 60000;
			/* Jitter: half fixed, half random, so retries spread out. */
			delay = delay / 2 + (int64_t)(drand48() * (double)(delay / 2 + 1));
			o->next_ms = corr_now_ms() + delay;
			log_warn("notify: %s (%s) to %s: %s; retry %d in %lld ms",
				 o->receiver, corr_integration_kind_name(o->kind), o->url, err,
				 o->attempts, (long long)delay);
		}
		pthread_mutex_lock(&nt->lock);
		nt->busy = 0;
		if (done) {
			outgoing_free(o);
		} else {
			o->next = nt->head;
			nt->head = o;
		}
	}
	pthread_mutex_unlock(&nt->lock);
	return NULL;
}

struct corr_notifier *corr_notifier_new(const struct corr_config *cfg,
					struct corr_metrics *m)
{
	struct corr_notifier *nt = calloc(1, sizeof(*nt));

	if (!nt)
		return NULL;
	nt->cfg = cfg;
	nt->metrics = m;
	pthread_mutex_init(&nt->lock, NULL);
	pthread_cond_init(&nt->wake, NULL);
	pthread_cond_init(&nt->idle, NULL);
	int rc = pthread_create(&nt->thread, NULL, sender_main, nt);
	if (rc) {
		log_error("notify: cannot start the sender thread: %s", strerror(rc));
		free(nt);
		return NULL;
	}
	return nt;
}

void corr_notifier_enqueue(struct corr_notifier *nt, struct corr_notification *n)
{
	struct outgoing *o = calloc(1, sizeof(*o));
	char err[256] = "";

	if (!o || corr_notify_build(nt->cfg, n, &o->body, &o->url, err, sizeof(err)) ||
	    !(o->receiver = strdup(n->receiver))) {
		log_error("notify: receiver %s (%s): %s", n->receiver,
			  corr_integration_kind_name(n->integ->kind), err[0] ? err : "out of memory");
		corr_metrics_add(&nt->metrics->notifications_failed[n->integ->kind], 1);
		if (o)
			outgoing_free(o);
		corr_notification_free(n);
		return;
	}
	o->kind = n->integ->kind;
	o->integ_index = n->integ_index;
	o->on_failure = n->on_failure;
	o->on_failure_arg = n->on_failure_arg;
	o->group_key = strdup(n->group_key);
	if (!o->group_key)
		o->on_failure = NULL;
	corr_notification_free(n);
	pthread_mutex_lock(&nt->lock);
	struct outgoing **pp = &nt->head;
	while (*pp)
		pp = &(*pp)->next;
	*pp = o;
	pthread_cond_signal(&nt->wake);
	pthread_mutex_unlock(&nt->lock);
}

int corr_notifier_drain(struct corr_notifier *nt, int64_t timeout_ms)
{
	int64_t deadline = corr_now_ms() + timeout_ms;
	int rc = 0;

	pthread_mutex_lock(&nt->lock);
	while (nt->head || nt->busy) {
		if (corr_now_ms() >= deadline) {
			rc = -1;
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&nt->idle, &nt->lock, &ts);
	}
	pthread_mutex_unlock(&nt->lock);
	return rc;
}

void corr_notifier_free(struct corr_notifier *nt)
{
	if (!nt)
		return;
	pthread_mutex_lock(&nt->lock);
	nt->stop = 1;
	pthread_cond_signal(&nt->wake);
	pthread_mutex_unlock(&nt->lock);
	pthread_join(nt->thread, NULL);
	while (nt->head) {
		struct outgoing *o = nt->head;
		nt->head = o->next;
		log_warn("notify: dropping undelivered notification for %s at shutdown",
			 o->receiver);
		outgoing_free(o);
	}
	pthread_cond_destroy(&nt->wake);
	pthread_cond_destroy(&nt->idle);
	pthread_mutex_destroy(&nt->lock);
	free(nt);
}
