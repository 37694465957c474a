/* `seismo agent`: the node agent's main loop. Every interval it reads the
 * kernel histograms (collector), folds them into series and per-service
 * summaries (registry), judges them (detector), and publishes /metrics. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "chaos_delay.h"
#include "collector.h"
#include "commands.h"
#include "config.h"
#include "detector.h"
#include "events.h"
#include "hashmap.h"
#include "httpd.h"
#include "listen_addr.h"
#include "log.h"
#include "own_traffic.h"
#include "registry.h"
#include "sampler.h"
#include "services.h"
#include "shipper.h"
#include "state.h"

#define EVENTS_KEPT 200 /* recent events served on /api/v1/events */
#define EXEMPLARS_PER_EVENT 5
#define STATE_SAVE_EVERY_S 60.0 /* baselines written this often, and at exit */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

struct agent {
	struct config cfg;
	struct collector *collector;
	struct services *services;
	struct registry *registry;
	struct httpd *httpd;
	struct own_traffic own; /* the agent's own port, not measured */
	struct detector_config detector_cfg;
	struct detector *detector;
	struct sampler *sampler;
	struct shipper *shipper; /* NULL: events are logged and kept locally */
	json_t *recent_events;   /* the last EVENTS_KEPT events, oldest first */
	char state_path[300];    /* baselines across restarts; "" = not kept */
	double state_saved_at;
	double chaos_swept_at;
	bool threshold_warned;
	struct collector_map_usage map_usage[8]; /* refreshed once a minute */
	int n_map_usage;
	double map_usage_at;
	size_t map_usage_series;
	/* (cgroup, port) -> service name of kernel samples, for one interval:
	 * a sample must not cost a service resolution each. */
	struct hashmap *sample_names;
	uint64_t events_total;
	double interval_now;     /* epoch seconds of the interval being judged */
	double interval_len;
	double started;
	uint64_t intervals;
};

static double epoch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seismo agent [--config FILE] [--listen HOST:PORT] [--interval DURATION]\n"
		"                    [--log-level LEVEL] [--state-dir DIR] [--check-config]\n"
		"\n"
		"Loads the latency BPF programs, reads their per-service histograms every\n"
		"interval, and serves Prometheus metrics on /metrics (default 127.0.0.1:9464),\n"
		"per-service summaries on /api/v1/services, /healthz and /readyz.\n"
		"Without --config it runs on its embedded defaults (docs/config.md).\n"
		"\n"
		"  -c, --config FILE       YAML configuration\n"
		"  -l, --listen HOST:PORT  HTTP address (overrides the config)\n"
		"  -i, --interval DURATION how often to read the maps, e.g. 10s, 500ms\n"
		"  -v, --log-level LEVEL   error, warn, info or debug\n"
		"  -s, --state-dir DIR     where baselines are kept across restarts\n"
		"      --check-config      validate the configuration and flags, and exit\n"
		"  -h, --help              this text\n");
}

/* --- identity of a new series ------------------------------------------------------- */

static void resolve_series(void *ctx, const struct seismo_hist_key *key,
			   struct service_identity *out)
{
	struct agent *a = ctx;
	struct seismo_endpoint ep = { 0 };
	uint16_t port = key->role == SEISMO_ROLE_SERVER ? key->local_port : 0;

	collector_endpoint(a->collector, key->cgroup_id, port, key->process, &ep);
	ep.comm[sizeof(ep.comm) - 1] = 0;
	services_resolve(a->services, key->cgroup_id, port, ep.comm, ep.tgid, out);
}

static void on_delta(void *ctx, const struct seismo_hist_key *key, const struct seismo_hist *delta)
{
	struct agent *a = ctx;

	if (key->role == SEISMO_ROLE_SERVER && key->local_port == a->own.port) {
		struct seismo_endpoint ep = { 0 };
		collector_endpoint(a->collector, key->cgroup_id, key->local_port, key->process, &ep);
		if (own_traffic_is(&a->own, key->cgroup_id, key->local_port, true, ep.tgid))
			return;
	}
	registry_add(a->registry, key, delta, monotonic_now());
}

static void forget_series(void *ctx, const struct seismo_hist_key *key)
{
	struct agent *a = ctx;

	collector_forget(a->collector, key);
	/* Its sampling threshold goes too (rewritten next interval if another
	 * series of the same service and port is still alive). */
	if (key->role == SEISMO_ROLE_SERVER)
		collector_clear_threshold(a->collector, key->cgroup_id, key->local_port);
}

/* --- what the HTTP endpoint shows ---------------------------------------------------- */

static void write_self_metrics(struct agent *a, FILE *out)
{
	uint64_t cnt[SEISMO_CNT_MAX];
	struct collector_map_usage *maps = a->map_usage;
	struct collector_prog_stats progs[32];
	int nprogs = collector_prog_stats(a->collector, progs, 32);
	int nmaps;

	/* Counting a map's entries walks every key (65,536 connections: as many
	 * syscalls), so fill figures are refreshed once a minute, or when the
	 * number of series changed, not every interval. */
	size_t series = registry_series_count(a->registry);
	if (!a->map_usage_at || monotonic_now() - a->map_usage_at >= 60 ||
	    series != a->map_usage_series) {
		a->n_map_usage = collector_map_usage(a->collector, a->map_usage, 8);
		a->map_usage_at = monotonic_now();
		a->map_usage_series = series;
	}
	nmaps = a->n_map_usage;

	fprintf(out, "# HELP seismo_build_info The agent's version and the socket hook in use.\n"
		     "# TYPE seismo_build_info gauge\n"
		     "seismo_build_info{version=\"%s\",hook=\"%s\"} 1\n",
		SEISMO_VERSION, collector_hook(a->collector));
	if (collector_counters(a->collector, cnt) == 0) {
		fprintf(out, "# HELP seismo_turns_total Request/response turns the kernel recorded.\n"
			     "# TYPE seismo_turns_total counter\nseismo_turns_total %llu\n",
			(unsigned long long)cnt[SEISMO_CNT_EXCHANGES]);
		fprintf(out,
			"# HELP seismo_turns_dropped_total Turns not recorded, by reason.\n"
			"# TYPE seismo_turns_dropped_total counter\n"
			"seismo_turns_dropped_total{reason=\"histogram_map_full\"} %llu\n",
			(unsigned long long)cnt[SEISMO_CNT_HIST_FULL]);
		fprintf(out,
			"# HELP seismo_turns_unparsed_total Turns timed without a user buffer to parse "
			"(sendfile, io_uring): no method or status.\n"
			"# TYPE seismo_turns_unparsed_total counter\nseismo_turns_unparsed_total %llu\n",
			(unsigned long long)cnt[SEISMO_CNT_NO_BUFFER]);
		fprintf(out, "# HELP seismo_connections_seen_total TCP connections first seen.\n"
			     "# TYPE seismo_connections_seen_total counter\n"
			     "seismo_connections_seen_total %llu\n",
			(unsigned long long)cnt[SEISMO_CNT_CONN_NEW]);
		fprintf(out, "# HELP seismo_connections_adopted_total Connections older than the "
			     "agent, their role taken from the listening ports.\n"
			     "# TYPE seismo_connections_adopted_total counter\n"
			     "seismo_connections_adopted_total %llu\n",
			(unsigned long long)cnt[SEISMO_CNT_CONN_ADOPTED]);
		fprintf(out,
			"# HELP seismo_samples_total Kernel samples of slow or failed requests, by outcome.\n"
			"# TYPE seismo_samples_total counter\n"
			"seismo_samples_total{outcome=\"emitted\"} %llu\n"
			"seismo_samples_total{outcome=\"suppressed\"} %llu\n"
			"seismo_samples_total{outcome=\"lost\"} %llu\n",
			(unsigned long long)cnt[SEISMO_CNT_SAMPLES],
			(unsigned long long)cnt[SEISMO_CNT_SAMPLES_SUPPRESSED],
			(unsigned long long)cnt[SEISMO_CNT_SAMPLES_LOST]);
	}
	fprintf(out, "# HELP seismo_bpf_map_entries Entries in use per BPF map.\n"
		     "# TYPE seismo_bpf_map_entries gauge\n");
	for (int i = 0; i < nmaps; i++)
		fprintf(out, "seismo_bpf_map_entries{map=\"%s\"} %u\n", maps[i].name,
			maps[i].entries);
	fprintf(out, "# HELP seismo_bpf_map_capacity Maximum entries per BPF map.\n"
		     "# TYPE seismo_bpf_map_capacity gauge\n");
	for (int i = 0; i < nmaps; i++)
		fprintf(out, "seismo_bpf_map_capacity{map=\"%s\"} %u\n", maps[i].name,
			maps[i].max_entries);
	fprintf(out, "# HELP seismo_bpf_map_fill_ratio Entries in use / capacity.\n"
		     "# TYPE seismo_bpf_map_fill_ratio gauge\n");
	for (int i = 0; i < nmaps; i++)
		fprintf(out, "seismo_bpf_map_fill_ratio{map=\"%s\"} %.4f\n", maps[i].name,
			maps[i].max_entries ? (double)maps[i].entries / maps[i].max_entries : 0);
	fprintf(out, "# HELP seismo_bpf_map_memory_bytes Estimated kernel memory of each map.\n"
		     "# TYPE seismo_bpf_map_memory_bytes gauge\n");
	for (int i = 0; i < nmaps; i++)
		fprintf(out, "seismo_bpf_map_memory_bytes{map=\"%s\"} %llu\n", maps[i].name,
			(unsigned long long)maps[i].bytes);
	fprintf(out, "# HELP seismo_bpf_prog_runs_total Runs per BPF program "
		     "(needs kernel.bpf_stats_enabled=1, config bpf_stats).\n"
		     "# TYPE seismo_bpf_prog_runs_total counter\n");
	for (int i = 0; i < nprogs; i++)
		fprintf(out, "seismo_bpf_prog_runs_total{program=\"%s\"} %llu\n", progs[i].name,
			(unsigned long long)progs[i].run_cnt);
	fprintf(out, "# HELP seismo_bpf_prog_run_seconds_total Time spent in each BPF program.\n"
		     "# TYPE seismo_bpf_prog_run_seconds_total counter\n");
	for (int i = 0; i < nprogs; i++)
		fprintf(out, "seismo_bpf_prog_run_seconds_total{program=\"%s\"} %.9f\n",
			progs[i].name, (double)progs[i].run_time_ns / 1e9);
	fprintf(out, "# HELP seismo_series Histogram series the agent holds.\n"
		     "# TYPE seismo_series gauge\nseismo_series %zu\n",
		registry_series_count(a->registry));
	fprintf(out, "# HELP seismo_events_total Anomaly events (firing and resolved) the agent emitted.\n"
		     "# TYPE seismo_events_total counter\nseismo_events_total %llu\n",
		(unsigned long long)a->events_total);
	fprintf(out, "# HELP seismo_intervals_total Intervals the agent completed.\n"
		     "# TYPE seismo_intervals_total counter\nseismo_intervals_total %llu\n",
		(unsigned long long)a->intervals);
}

static json_t *summary_json(const struct summary *s, double interval)
{
	json_t *o = json_object();

	json_object_set_new(o, "service", json_string(s->service));
	json_object_set_new(o, "role", json_string(s->role == SEISMO_ROLE_SERVER ? "server"
										 : "client"));
	if (s->peer[0])
		json_object_set_new(o, "peer", json_string(s->peer));
	if (s->peer_service[0])
		json_object_set_new(o, "peer_service", json_string(s->peer_service));
	if (s->id->namespace_[0])
		json_object_set_new(o, "namespace", json_string(s->id->namespace_));
	if (s->id->pod[0])
		json_object_set_new(o, "pod", json_string(s->id->pod));
	if (s->id->team[0])
		json_object_set_new(o, "team", json_string(s->id->team));
	json_object_set_new(o, "requests", json_integer((json_int_t)s->requests));
	json_object_set_new(o, "errors", json_integer((json_int_t)s->errors));
	json_object_set_new(o, "rate", json_real((double)s->requests / interval));
	json_object_set_new(o, "error_ratio",
			    json_real(s->requests ? (double)s->errors / (double)s->requests : 0));
	if (s->requests) {
		json_object_set_new(o, "mean", json_real((double)s->sum_ns / 1e9 / (double)s->requests));
		json_object_set_new(o, "p50", json_real(s->p50));
		json_object_set_new(o, "p90", json_real(s->p90));
		json_object_set_new(o, "p99", json_real(s->p99));
	}
	return o;
}

static void publish(struct agent *a, const struct summary *sums, int n, double interval)
{
	char *metrics = NULL, *services, *events;
	size_t metrics_len = 0;
	FILE *out = open_memstream(&metrics, &metrics_len);
	json_t *doc = json_object(), *list = json_array();

	if (out) {
		registry_write_metrics(a->registry, out);
		write_self_metrics(a, out);
		if (a->shipper)
			shipper_write_metrics(a->shipper, out);
		fclose(out);
	}
	for (int i = 0; i < n; i++)
		json_array_append_new(list, summary_json(&sums[i], interval));
	json_object_set_new(doc, "node", json_string(a->cfg.node));
	json_object_set_new(doc, "interval_seconds", json_real(interval));
	json_object_set_new(doc, "services", list);
	services = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	httpd_publish(a->httpd, "/metrics", metrics, metrics_len);
	httpd_publish(a->httpd, "/api/v1/services", services, services ? strlen(services) : 0);
	doc = json_pack("{s:O}", "events", a->recent_events);
	events = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	httpd_publish(a->httpd, "/api/v1/events", events, events ? strlen(events) : 0);
}

/* --- judgement: detector, samples, events ------------------------------------------- */

/* Baselines survive restarts in state_dir/baselines.state. */
static void load_state(struct agent *a)
{
	if (mkdir(a->cfg.state_dir, 0750) && errno != EEXIST) {
		log_warn("cannot create state_dir %s: %s; baselines will not survive a restart",
			 a->cfg.state_dir, strerror(errno));
		return;
	}
	snprintf(a->state_path, sizeof(a->state_path), "%s/baselines.state", a->cfg.state_dir);
	state_load(a->detector, a->state_path); /* logs what it restored or set aside */
	a->state_saved_at = monotonic_now();
}

static void save_state(struct agent *a, bool now)
{
	if (!a->state_path[0] || !a->detector)
		return;
	if (!now && monotonic_now() - a->state_saved_at < STATE_SAVE_EVERY_S)
		return;
	a->state_saved_at = monotonic_now();
	state_save(a->detector, a->state_path);
}

struct sample_name_key {
	uint64_t cgroup_id;
	uint64_t port;
	char comm[16]; /* outbound calls are named per calling program */
};

static void free_sample_names(struct hashmap *names)
{
	size_t pos = 0;
	const void *key;
	void *value;

	if (!names)
		return;
	while (hashmap_next(names, &pos, &key, &value))
		free(value);
	hashmap_free(names);
}

/* Names may change (a pod the kubelet lists now): learnt again each interval. */
static void forget_sample_names(struct agent *a)
{
	free_sample_names(a->sample_names);
	a->sample_names = hashmap_new(sizeof(struct sample_name_key));
}

static void on_sample(void *ctx, const struct seismo_sample *smp)
{
	struct agent *a = ctx;
	struct sample_name_key key = {
		.cgroup_id = smp->cgroup_id,
		.port = smp->role == SEISMO_ROLE_SERVER ? smp->local_port : 0,
	};
	if (smp->role != SEISMO_ROLE_SERVER)
		memcpy(key.comm, smp->comm, sizeof(key.comm));
	char *name = a->sample_names ? hashmap_get(a->sample_names, &key) : NULL;

	if (own_traffic_is(&a->own, smp->cgroup_id, smp->local_port, smp->role == SEISMO_ROLE_SERVER,
			   smp->pid))
		return;
	if (!name) {
		struct service_identity id;
		char comm[17];

		memcpy(comm, smp->comm, 16);
		comm[16] = 0;
		services_resolve(a->services, smp->cgroup_id, (uint16_t)key.port, comm, smp->pid, &id);
		name = strdup(id.name);
		if (!name)
			return;
		if (!a->sample_names || hashmap_put(a->sample_names, &key, name)) {
			sampler_add(a->sampler, name, smp);
			free(name);
			return;
		}
	}
	sampler_add(a->sampler, name, smp);
}

static void keep_event(struct agent *a, json_t *event)
{
	json_array_append(a->recent_events, event);
	while (json_array_size(a->recent_events) > EVENTS_KEPT)
		json_array_remove(a->recent_events, 0);
	a->events_total++;
}

static void on_event(json_t *event, const struct detector_event *info, void *user)
{
	struct agent *a = user;
	/* Exemplars from the kernel samples taken since the anomaly began
	 * (one interval of slack: samples arrive before the judgement). */
	int n = sampler_attach(a->sampler, info->service, info->starts_at - a->interval_len,
			       EXEMPLARS_PER_EVENT, event);
	char *text = json_dumps(event, JSON_COMPACT);

	log_info("%s anomaly: service %s %s=%g (expected %g, score %.1f, %s), %d exemplar(s)",
		 detector_transition_name(info->transition), info->service,
		 detector_metric_name(info->metric), info->value, info->estimate.expected,
		 info->score, info->severity == DETECTOR_CRITICAL ? "critical" : "warning", n);
	log_debug("event %s", text ? text : "?");
	free(text);
	keep_event(a, event);
	if (a->shipper && shipper_submit(a->shipper, event))
		log_warn("could not queue an event for the correlator");
	json_decref(event);
}

struct thresholds {
	struct agent *agent;
	struct hashmap *by_name; /* name hash -> double* seconds */
};

static void collect_threshold(const char *service, double seconds, void *user)
{
	struct thresholds *t = user;
	uint64_t key = hashmap_hash_bytes(service, strlen(service));
	double *v = malloc(sizeof(*v));

	if (!v)
		return;
	*v = seconds;
	free(hashmap_del(t->by_name, &key));
	if (hashmap_put(t->by_name, &key, v))
		free(v);
}

static void apply_threshold(void *ctx, const struct series *s)
{
	struct thresholds *t = ctx;
	const struct config *cfg = &t->agent->cfg;
	uint64_t key = hashmap_hash_bytes(s->id.name, strlen(s->id.name));
	double *seconds = hashmap_get(t->by_name, &key);
	struct seismo_threshold th = {
		.rate_per_sec = (uint32_t)cfg->sampling.rate_per_sec,
		.burst = (uint32_t)cfg->sampling.burst,
	};

	if (s->key.role != SEISMO_ROLE_SERVER || !seconds || !(*seconds > 0))
		return;
	double limit = *seconds > cfg->sampling.min_latency ? *seconds : cfg->sampling.min_latency;
	th.latency_ns = (uint64_t)(limit * 1e9);
	int err = collector_set_threshold(t->agent->collector, s->key.cgroup_id, s->key.local_port,
					  &th);
	if (err && !t->agent->threshold_warned) {
		log_warn("cannot write a sampling threshold into the kernel (%s): services "
			 "without one are sampled only on errors", strerror(-err));
		t->agent->threshold_warned = true;
	}
}

/* Writes each service's sampling threshold (from its baseline) into the kernel. */
static void update_thresholds(struct agent *a)
{
	struct thresholds t = { .agent = a, .by_name = hashmap_new(sizeof(uint64_t)) };
	size_t pos = 0;
	const void *key;
	void *value;

	if (!t.by_name)
		return;
	detector_foreach_threshold(a->detector, collect_threshold, &t);
	registry_foreach_series(a->registry, apply_threshold, &t);
	while (hashmap_next(t.by_name, &pos, &key, &value))
		free(value);
	hashmap_free(t.by_name);
}

static struct observation observation_of(const struct summary *s, double interval)
{
	return (struct observation){
		.interval_s = interval,
		.requests = (double)s->requests,
		.errors = (double)s->errors,
		.sum_seconds = (double)s->sum_ns / 1e9,
		.p50 = s->p50,
		.p99 = s->p99,
	};
}

static void judge(struct agent *a, const struct summary *sums, int n, double interval)
{
	double now = epoch_now();

	a->interval_now = now;
	a->interval_len = interval;
	/* Dependencies first, so a service's event can name its slow callees. */
	for (int i = 0; i < n; i++) {
		const struct summary *s = &sums[i];
		struct observation obs = observation_of(s, interval);
		if (s->role != SEISMO_ROLE_CLIENT)
			continue;
		detector_observe_dependency(a->detector, s->service, s->peer,
					    s->peer_service[0] ? s->peer_service : NULL, now, &obs);
		if (a->shipper && s->requests)
			shipper_add_edge(a->shipper, s->service,
					 s->peer_service[0] ? s->peer_service : NULL, s->peer,
					 s->requests);
	}
	for (int i = 0; i < n; i++) {
		const struct summary *s = &sums[i];
		struct observation obs = observation_of(s, interval);
		const struct service_identity *id = s->id;
		struct detector_labels labels = {
			.team = id->team,
			.app = id->app,
			.namespace = id->namespace_,
			.pod = id->pod,
			.node = a->cfg.node,
			.cluster = a->cfg.cluster,
		};
		if (s->role == SEISMO_ROLE_SERVER)
			detector_observe(a->detector, s->service, &labels, now, &obs);
	}
	update_thresholds(a);
	save_state(a, false);
	if (a->shipper)
		shipper_flush(a->shipper, time(NULL));
}

static int setup_judgement(struct agent *a)
{
	const struct config *cfg = &a->cfg;
	struct detector_config *d = &a->detector_cfg;

	detector_config_default(d);
	d->node = cfg->node;
	d->cluster = cfg->cluster[0] ? cfg->cluster : NULL;
	d->sampling_factor = cfg->sampling.factor;
	if (cfg->detector.method[0])
		d->baseline.method = (enum baseline_method)baseline_method_parse(cfg->detector.method);
	if (!isnan(cfg->detector.for_s))
		d->for_s = cfg->detector.for_s;
	if (!isnan(cfg->detector.resolve_for_s))
		d->resolve_for_s = cfg->detector.resolve_for_s;
	if (!isnan(cfg->detector.warning_score))
		d->warning_score = cfg->detector.warning_score;
	if (!isnan(cfg->detector.critical_score))
		d->critical_score = cfg->detector.critical_score;
	if (!isnan(cfg->detector.min_requests))
		d->min_requests = cfg->detector.min_requests;
	if (!isnan(cfg->detector.warmup_s))
		d->baseline.warmup_s = cfg->detector.warmup_s;
	if (cfg->detector.warmup_samples)
		d->baseline.warmup_samples = (uint32_t)cfg->detector.warmup_samples;
	a->detector = detector_new(d, on_event, a);
	a->sampler = sampler_new();
	a->recent_events = json_array();
	a->sample_names = hashmap_new(sizeof(struct sample_name_key));
	if (!a->detector || !a->sampler || !a->recent_events || !a->sample_names)
		return -1;
	load_state(a);
	if (!cfg->correlator.url[0]) {
		log_info("no correlator configured: events are logged and served on /api/v1/events");
		return 0;
	}
	struct shipper_config sc = {
		.url = cfg->correlator.url,
		.token = cfg->correlator.token[0] ? cfg->correlator.token : NULL,
		.token_file = cfg->correlator.token_file[0] ? cfg->correlator.token_file : NULL,
		.ca_file = cfg->correlator.ca_file[0] ? cfg->correlator.ca_file : NULL,
		.cert_file = cfg->correlator.cert_file[0] ? cfg->correlator.cert_file : NULL,
		.key_file = cfg->correlator.key_file[0] ? cfg->correlator.key_file : NULL,
		.insecure = cfg->correlator.insecure_skip_verify,
		.spool_dir = cfg->correlator.spool_dir,
		.spool_max_bytes = cfg->correlator.spool_max_bytes,
		.node = cfg->node,
		.cluster = cfg->cluster[0] ? cfg->cluster : NULL,
		.batch_max_events = cfg->correlator.batch_max_events,
	};
	a->shipper = shipper_new(&sc);
	return a->shipper ? 0 : -1;
}

/* --- the loop ------------------------------------------------------------------------ */

static void run_interval(struct agent *a, double interval)
{
	const struct summary *sums;
	int n;

	int err = collector_read(a->collector, on_delta, a);
	if (err)
		log_warn("reading the histogram map failed: %s", strerror(-err));
	/* Expire before closing: the summaries point into the series. */
	registry_expire(a->registry, monotonic_now(), a->cfg.series_ttl, forget_series, a);
	sampler_expire(a->sampler, epoch_now() - a->cfg.series_ttl);
	n = registry_end_interval(a->registry, &sums);
	if (n < 0) {
		log_error("out of memory closing the interval");
		return;
	}
	a->intervals++;
	forget_sample_names(a);
	judge(a, sums, n, interval);
	publish(a, sums, n, interval);
	httpd_set_ready(a->httpd);
	/* A chaos experiment whose seismo was SIGKILLed already passes every
	 * packet (its end time lives in the kernel); its qdisc and filter are
	 * removed here, once it is past its end. */
	if (monotonic_now() - a->chaos_swept_at >= 60) {
		a->chaos_swept_at = monotonic_now();
		chaos_delay_stop_orphans();
	}
	log_debug("interval %llu: %d summaries, %zu series", (unsigned long long)a->intervals, n,
		  registry_series_count(a->registry));
}


static int run(struct agent *a)
{
	double next = monotonic_now() + a->cfg.interval, last = monotonic_now();

	while (!stop_requested) {
		double now = monotonic_now();
		int wait_ms = (int)((next - now) * 1000);

		if (wait_ms > 0) {
			int rc = collector_poll_samples(a->collector, wait_ms > 1000 ? 1000 : wait_ms,
							on_sample, a);
			if (rc < 0 && rc != -EINTR)
				log_warn("polling samples: %s", strerror(-rc));
			continue;
		}
		run_interval(a, now - last);
		last = now;
		next += a->cfg.interval;
		if (next < now) /* suspended or starved: don't try to catch up */
			next = now + a->cfg.interval;
	}
	return 0;
}

static int parse_args(struct agent *a, int argc, char **argv, bool *check_only)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' },
		{ "listen", required_argument, 0, 'l' },
		{ "interval", required_argument, 0, 'i' },
		{ "log-level", required_argument, 0, 'v' },
		{ "state-dir", required_argument, 0, 's' },
		{ "check-config", no_argument, 0, 'C' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *config_path = NULL, *listen = NULL, *interval = NULL, *level = NULL;
	const char *state_dir = NULL;
	char err[600];
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:l:i:v:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'l': listen = optarg; break;
		case 'i': interval = optarg; break;
		case 'v': level = optarg; break;
		case 's': state_dir = optarg; break;
		case 'C': *check_only = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "seismo agent: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	config_defaults(&a->cfg);
	if (config_path && config_load(&a->cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "seismo agent: invalid configuration: %s\n", err);
		return 1;
	}
	if (listen) {
		struct sockaddr_in6 sa;
		if (listen_addr_parse(listen, &sa, err, sizeof(err)) ||
		    listen_addr_check_local(listen, &sa, err, sizeof(err))) {
			fprintf(stderr, "seismo agent: --listen %s\n", err);
			return 2;
		}
		snprintf(a->cfg.listen, sizeof(a->cfg.listen), "%s", listen);
	}
	if (state_dir)
		snprintf(a->cfg.state_dir, sizeof(a->cfg.state_dir), "%s", state_dir);
	if (interval && (yamlcfg_parse_duration_unit(interval, &a->cfg.interval) ||
			 a->cfg.interval < 0.1 || a->cfg.interval > 3600)) {
		fprintf(stderr, "seismo agent: --interval '%s' is not a duration from 100ms to 1h "
				"with its unit (e.g. 10s)\n", interval);
		return 2;
	}
	if (level) {
		int l = log_level_parse(level);
		if (l < 0) {
			fprintf(stderr, "seismo agent: --log-level must be error, warn, info or debug\n");
			return 2;
		}
		a->cfg.log_level = (enum log_level)l;
	}
	return 0;
}

int cmd_agent(int argc, char **argv)
{
	struct agent a = { 0 };
	struct collector_options copts = { 0 };
	bool check_only = false;
	int rc = parse_args(&a, argc, argv, &check_only);

	if (rc)
		goto out;
	log_set_level(a.cfg.log_level);
	if (check_only) {
		printf("configuration OK\n");
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	copts.max_histograms = (uint32_t)a.cfg.max_histograms;
	copts.max_connections = (uint32_t)a.cfg.max_connections;
	copts.sample_one_in = (uint32_t)a.cfg.sampling.one_in;
	copts.bpf_stats = a.cfg.bpf_stats;
	rc = 1;
	/* The port first: one taken fails the start at once, not after the BPF load. */
	a.httpd = httpd_start(a.cfg.listen);
	if (!a.httpd)
		goto out;
	if (collector_open(&a.collector, &copts))
		goto out;
	a.services = services_new(&a.cfg);
	a.registry = registry_new(&a.cfg, resolve_series, &a);
	if (!a.services || !a.registry || setup_judgement(&a))
		goto out;
	char cgroup_mount[256];
	services_cgroup2_mount(cgroup_mount, sizeof(cgroup_mount));
	own_traffic_init(&a.own, cgroup_mount, (uint16_t)httpd_port(a.httpd), a.cfg.measure_self);
	/* /metrics answers from now on (counters from zero, self-metrics), so a
	 * restart leaves no scrape gap; /readyz waits for the first interval. */
	publish(&a, NULL, 0, a.cfg.interval);
	a.started = monotonic_now();
	log_info("agent on node %s: interval %gs", a.cfg.node, a.cfg.interval);
	rc = run(&a);
	log_info("stopping");
	save_state(&a, true);
out:
	httpd_stop(a.httpd);
	shipper_free(a.shipper);
	detector_free(a.detector);
	sampler_free(a.sampler);
	json_decref(a.recent_events);
	free_sample_names(a.sample_names);
	registry_free(a.registry);
	services_free(a.services);
	collector_close(a.collector);
	config_free(&a.cfg);
	return rc;
}
