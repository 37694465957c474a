/* The agent's configuration: embedded defaults, overridden by a YAML file.
 * docs/config.md documents every key. */
#ifndef SEISMO_CONFIG_H
#define SEISMO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "yamlcfg.h"

#define CONFIG_MAX_BUCKETS 40
#define CONFIG_MAX_SERVICES 256
#define CONFIG_MAX_LABELS 8

struct config_label {
	char name[32];
	char value[64];
};

/* A rule naming a service explicitly. Every given matcher must match. */
struct config_service {
	char name[64];
	char cgroup[256]; /* glob on the cgroup path */
	char comm[16];	  /* process name */
	unsigned port;	  /* listening port, 0 = any */
	struct config_label labels[CONFIG_MAX_LABELS];
	int n_labels;
};

struct config {
	enum log_level log_level;
	char listen[128]; /* host:port of the HTTP server */
	double interval;  /* seconds between map reads */
	char node[64];
	char cluster[64];
	char state_dir[256];
	double buckets[CONFIG_MAX_BUCKETS]; /* Prometheus "le" bounds, seconds */
	int n_buckets;
	unsigned long max_histograms;
	unsigned long max_connections;
	double series_ttl; /* forget a series idle this long */
	bool bpf_stats;
	bool measure_self; /* also measure the agent's own HTTP port (its scrapes, probes) */

	struct {
		int enabled; /* -1 auto, 0 off, 1 on */
		char pods_url[256];
		char token_file[256];
		char ca_file[256];
		bool insecure_skip_verify;
		double refresh;
	} kubernetes;

	struct {
		double factor;	    /* threshold = baseline p99 * factor */
		double min_latency; /* seconds; never sample below this */
		unsigned long rate_per_sec;
		unsigned long burst;
		unsigned long one_in;
	} sampling;

	/* Detector overrides; NAN / 0 / "" = the detector's own default. */
	struct {
		char method[32];      /* seasonal-robust (default) or zscore-7d */
		double for_s;	      /* persistence before firing (seed: 5m) */
		double resolve_for_s; /* calm this long before resolving */
		double warning_score;
		double critical_score;
		double min_requests;
		double warmup_s;
		unsigned long warmup_samples;
	} detector;

	/* Where events go; no url = an embedded log of events (GET /api/v1/events). */
	struct {
		char url[256];
		char token[256];
		char token_file[256];
		char ca_file[256];
		char cert_file[256];
		char key_file[256];
		bool insecure_skip_verify;
		char spool_dir[256];
		unsigned long spool_max_bytes;
		unsigned long batch_max_events;
	} correlator;

	struct config_service services[CONFIG_MAX_SERVICES];
	int n_services;

	/* Sections read by other modules (detector, shipper, chaos) from the
	 * same file; kept here so the file is parsed and validated once. */
	struct yamlcfg yaml;
	const char *path; /* NULL = embedded defaults */
};

void config_defaults(struct config *cfg);
/* Loads path over the defaults. Returns 0, or -1 with a "file:line: ..."
 * message in err. */
int config_load(struct config *cfg, const char *path, char *err, size_t err_size);
void config_free(struct config *cfg);
/* The subsection of another module, or NULL. */
yaml_node_t *config_section(struct config *cfg, const char *name);

#endif
