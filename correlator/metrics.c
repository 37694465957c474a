#include "metrics.h"

#include <pthread.h>

static const double latency_bounds[CORR_LATENCY_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};
static pthread_mutex_t latency_lock = PTHREAD_MUTEX_INITIALIZER;

void corr_metrics_observe_ingest(struct corr_metrics *m, double seconds)
{
	pthread_mutex_lock(&latency_lock);
	m->ingest_latency_count++;
	m->ingest_latency_sum += seconds;
	for (int i = 0; i < CORR_LATENCY_BUCKETS; i++)
		if (seconds <= latency_bounds[i])
			m->ingest_latency_bucket[i]++;
	pthread_mutex_unlock(&latency_lock);
}

static uint64_t load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void counter(FILE *out, const char *name, const char *help, uint64_t v)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
		(unsigned long long)v);
}

static void per_kind(FILE *out, const char *name, const char *help, const uint64_t *v)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int k = 0; k < 4; k++)
		fprintf(out, "%s{integration=\"%s\"} %llu\n", name,
			corr_integration_kind_name((enum corr_integration_kind)k),
			(unsigned long long)load(&v[k]));
}

void corr_metrics_render(struct corr_metrics *m, FILE *out)
{
	counter(out, "seismo_correlator_batches_accepted_total", "Event batches stored (2xx).",
		load(&m->batches_accepted));
	counter(out, "seismo_correlator_batches_rejected_total",
		"Requests refused with a 4xx (bad JSON, shape, size, token).",
		load(&m->batches_rejected));
	counter(out, "seismo_correlator_events_accepted_total", "New events stored.",
		load(&m->events_accepted));
	counter(out, "seismo_correlator_events_duplicate_total",
		"Events dropped because their id was already stored.", load(&m->events_duplicate));
	counter(out, "seismo_correlator_edges_received_total",
		"Dependency edges received from agents.", load(&m->edges_received));
	counter(out, "seismo_correlator_alerts_received_total",
		"Alerts received on the Alertmanager-compatible /api/v2/alerts.",
		load(&m->alerts_received));
	counter(out, "seismo_correlator_alertmanager_webhooks_total",
		"Alertmanager webhook notifications received as input.",
		load(&m->am_webhooks_received));
	counter(out, "seismo_correlator_auth_failures_total",
		"Requests with a missing or wrong bearer token.", load(&m->auth_failures));
	counter(out, "seismo_correlator_incidents_created_total", "Incidents opened.",
		load(&m->incidents_created));
	counter(out, "seismo_correlator_incidents_merged_total",
		"Incidents merged into another because their anomalies connected.",
		load(&m->incidents_merged));
	per_kind(out, "seismo_correlator_notifications_total",
		 "Notifications delivered, by integration.", m->notifications_sent);
	per_kind(out, "seismo_correlator_notifications_failed_total",
		 "Notifications given up after every retry, by integration.",
		 m->notifications_failed);
	per_kind(out, "seismo_correlator_notification_retries_total",
		 "Failed notification attempts that were retried.", m->notification_retries);
	pthread_mutex_lock(&latency_lock);
	fprintf(out,
		"# HELP seismo_correlator_ingest_seconds Time to validate, store and correlate one batch.\n"
		"# TYPE seismo_correlator_ingest_seconds histogram\n");
	for (int i = 0; i < CORR_LATENCY_BUCKETS; i++)
		fprintf(out, "seismo_correlator_ingest_seconds_bucket{le=\"%g\"} %llu\n",
			latency_bounds[i], (unsigned long long)m->ingest_latency_bucket[i]);
	fprintf(out,
		"seismo_correlator_ingest_seconds_bucket{le=\"+Inf\"} %llu\n"
		"seismo_correlator_ingest_seconds_sum %.6f\n"
		"seismo_correlator_ingest_seconds_count %llu\n",
		(unsigned long long)m->ingest_latency_count, m->ingest_latency_sum,
		(unsigned long long)m->ingest_latency_count);
	pthread_mutex_unlock(&latency_lock);
}
