/* `seismo agent`: the wiring and the loop. Every interval the data flows
 * one way through the stages (docs/architecture.md):
 *	collect (kernel maps -> deltas, samples)  agent/collect/
 *	series  (registry: deltas -> summaries)   agent/series/
 *	judge   (baselines, detector)             agent/judge/
 *	event   (JSON, exemplars, fan-out)        agent/event/
 *	sinks   (shipper, recent events, /metrics) agent/sinks/
 * and the sampling thresholds go back into the kernel (threshold_feedback). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chaos_sweep.h"
#include "collector.h"
#include "commands.h"
#include "config.h"
#include "detector.h"
#include "event_stage.h"
#include "httpd.h"
#include "listen_addr.h"
#include "log.h"
#include "own_traffic.h"
#include "recent_events.h"
#include "registry.h"
#include "sample_names.h"
#include "sampler.h"
#include "self_metrics.h"
#include "services.h"
#include "services_json.h"
#include "shipper.h"
#include "stage_config.h"
#include "state_keeper.h"
#include "threshold_feedback.h"

#define EVENTS_KEPT 200 /* recent events served on /api/v1/events */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

struct agent {
	struct config cfg;
	/* collect */
	struct collector *collector;
	struct own_traffic own; /* the agent's own port, not measured */
	/* series */
	struct services *services;
	struct registry *registry;
	struct sample_names *sample_names;
	/* judge */
	struct detector_config detector_cfg;
	struct detector *detector;
	struct state_keeper state;
	struct threshold_feedback feedback;
	/* event */
	struct sampler *sampler;
	struct event_stage events;
	/* sinks */
	struct shipper *shipper; /* NULL: events are logged and kept locally */
	struct recent_events *recent;
	struct self_metrics self;
	struct httpd *httpd;
	struct chaos_sweep chaos;
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
		collector_endpoint(a->collector, key->cgroup_id, key->local_port, key->process,
				   &ep);
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

static void publish(struct agent *a, const struct summary *sums, int n, double interval)
{
	char *metrics = NULL, *services, *events;
	size_t metrics_len = 0;
	FILE *out = open_memstream(&metrics, &metrics_len);
	struct self_metrics_counts counts = {
		.series = registry_series_count(a->registry),
		.events = a->events.emitted,
		.intervals = a->intervals,
	};

	if (out) {
		registry_write_metrics(a->registry, out);
		self_metrics_write(&a->self, &counts, monotonic_now(), out);
		if (a->shipper)
			shipper_write_metrics(a->shipper, out);
		fclose(out);
	}
	services = services_json_body(a->cfg.node, sums, n, interval);
	events = recent_events_body(a->recent);
	httpd_publish(a->httpd, "/metrics", metrics, metrics_len);
	httpd_publish(a->httpd, "/api/v1/services", services, services ? strlen(services) : 0);
	httpd_publish(a->httpd, "/api/v1/events", events, events ? strlen(events) : 0);
}

/* --- judgement: detector, samples, events ------------------------------------------- */

static void on_sample(void *ctx, const struct seismo_sample *smp)
{
	struct agent *a = ctx;
	char buf[160];

	if (own_traffic_is(&a->own, smp->cgroup_id, smp->local_port,
			   smp->role == SEISMO_ROLE_SERVER, smp->pid))
		return;
	sampler_add(a->sampler,
		    sample_names_get(a->sample_names, a->services, smp, buf, sizeof(buf)), smp);
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

	/* One interval of slack for exemplars: samples arrive before the judgement. */
	a->events.exemplar_slack_s = interval;
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
	threshold_feedback_update(&a->feedback, a->detector, a->registry);
	state_keeper_save(&a->state, a->detector, monotonic_now(), false);
	if (a->shipper)
		shipper_flush(a->shipper, time(NULL));
}

/* The stages after the registry, joined: detector -> event stage -> sinks. */
static int setup_judgement(struct agent *a)
{
	const struct config *cfg = &a->cfg;
	struct shipper_config sc;

	if (stage_config_shipper(cfg, &sc)) {
		a->shipper = shipper_new(&sc);
		if (!a->shipper)
			return -1;
	} else {
		log_info(
			"no correlator configured: events are logged and served on /api/v1/events");
	}
	a->sampler = sampler_new();
	a->recent = recent_events_new(EVENTS_KEPT);
	a->sample_names = sample_names_new();
	if (!a->sampler || !a->recent || !a->sample_names)
		return -1;
	a->events = (struct event_stage){
		.sampler = a->sampler,
		.recent = a->recent,
		.shipper = a->shipper,
		.exemplar_slack_s = cfg->interval,
	};
	stage_config_detector(cfg, &a->detector_cfg);
	a->detector = detector_new(&a->detector_cfg, event_stage_emit, &a->events);
	if (!a->detector)
		return -1;
	a->feedback = (struct threshold_feedback){ .cfg = cfg, .collector = a->collector };
	state_keeper_open(&a->state, cfg->state_dir, a->detector, monotonic_now());
	return 0;
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
	sample_names_reset(a->sample_names);
	judge(a, sums, n, interval);
	publish(a, sums, n, interval);
	httpd_set_ready(a->httpd);
	chaos_sweep_tick(&a->chaos, monotonic_now());
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
			int rc = collector_poll_samples(a->collector,
							wait_ms > 1000 ? 1000 : wait_ms, on_sample,
							a);
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
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'i':
			interval = optarg;
			break;
		case 'v':
			level = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'C':
			*check_only = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
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
		fprintf(stderr,
			"seismo agent: --interval '%s' is not a duration from 100ms to 1h "
			"with its unit (e.g. 10s)\n",
			interval);
		return 2;
	}
	if (level) {
		int l = log_level_parse(level);
		if (l < 0) {
			fprintf(stderr,
				"seismo agent: --log-level must be error, warn, info or debug\n");
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
	a.self.collector = a.collector;
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
	log_info("agent on node %s: interval %gs", a.cfg.node, a.cfg.interval);
	rc = run(&a);
	log_info("stopping");
	state_keeper_save(&a.state, a.detector, monotonic_now(), true);
out:
	httpd_stop(a.httpd);
	detector_free(a.detector);
	shipper_free(a.shipper);
	recent_events_free(a.recent);
	sampler_free(a.sampler);
	sample_names_free(a.sample_names);
	registry_free(a.registry);
	services_free(a.services);
	collector_close(a.collector);
	config_free(&a.cfg);
	return rc;
}
