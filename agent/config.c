#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actions.h"
#include "listen_addr.h"

void config_defaults(struct config *cfg)
{
	static const double default_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						  0.1,	  0.25,	 0.5,	 1,	2.5,  5,     10 };

	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_INFO;
	/* Loopback unless a config says otherwise: what the agent serves (service
	 * names, latencies, events) is not for every network the node is on. The
	 * DaemonSet and the packaged /etc/seismo/agent.yaml set 0.0.0.0:9464,
	 * where Prometheus must reach it (docs/config.md, "listen"). */
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:9464");
	cfg->interval = 10;
	if (gethostname(cfg->node, sizeof(cfg->node)))
		snprintf(cfg->node, sizeof(cfg->node), "unknown");
	cfg->node[sizeof(cfg->node) - 1] = 0;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/seismo");
	memcpy(cfg->buckets, default_buckets, sizeof(default_buckets));
	cfg->n_buckets = sizeof(default_buckets) / sizeof(default_buckets[0]);
	cfg->max_histograms = 16384;
	cfg->max_connections = 65536;
	cfg->series_ttl = 3600;
	cfg->kubernetes.enabled = -1;
	snprintf(cfg->kubernetes.pods_url, sizeof(cfg->kubernetes.pods_url),
		 "https://127.0.0.1:10250/pods");
	snprintf(cfg->kubernetes.token_file, sizeof(cfg->kubernetes.token_file),
		 "/var/run/secrets/kubernetes.io/serviceaccount/token");
	snprintf(cfg->kubernetes.ca_file, sizeof(cfg->kubernetes.ca_file),
		 "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
	cfg->kubernetes.refresh = 30;
	cfg->sampling.factor = 2;
	cfg->sampling.min_latency = 0.001;
	cfg->sampling.rate_per_sec = 10;
	cfg->sampling.burst = 20;
	cfg->sampling.one_in = 0;
	cfg->detector.for_s = NAN;
	cfg->detector.resolve_for_s = NAN;
	cfg->detector.warning_score = NAN;
	cfg->detector.critical_score = NAN;
	cfg->detector.min_requests = NAN;
	cfg->detector.warmup_s = NAN;
	snprintf(cfg->correlator.spool_dir, sizeof(cfg->correlator.spool_dir),
		 "/var/lib/seismo/spool");
	cfg->correlator.spool_max_bytes = 64UL << 20;
	cfg->correlator.batch_max_events = 500;
}

static int parse_buckets(struct yamlcfg *y, yaml_node_t *node, struct config *cfg)
{
	if (!node)
		return 0;
	if (node->type != YAML_SEQUENCE_NODE)
		return yamlcfg_fail(y, node, "histogram_buckets must be a list of seconds");
	cfg->n_buckets = 0;
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&y->doc, *it);
		double v = 0;
		if (cfg->n_buckets == CONFIG_MAX_BUCKETS)
			return yamlcfg_fail(y, item, "at most %d buckets", CONFIG_MAX_BUCKETS);
		if (yamlcfg_double(y, item, 1e-6, 1e6, &v))
			return -1;
		if (cfg->n_buckets && v <= cfg->buckets[cfg->n_buckets - 1])
			return yamlcfg_fail(y, item, "bucket bounds must increase");
		cfg->buckets[cfg->n_buckets++] = v;
	}
	return 0;
}

/* A Prometheus label name the agent does not set itself (team, app and
 * namespace are the exceptions a rule may give). */
static int check_label_name(struct yamlcfg *y, yaml_node_t *node, const char *name)
{
	static const char *const reserved[] = { "service", "pod",      "container", "method",
						"status",  "protocol", "peer",	    "peer_service",
						"le",	   "quantile", "role",	    NULL };

	if (!(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return yamlcfg_fail(y, node, "label name '%s' must start with a letter or _", name);
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return yamlcfg_fail(y, node,
					    "label name '%s' may hold only letters, digits and _",
					    name);
	if (!strncmp(name, "__", 2))
		return yamlcfg_fail(y, node, "label names starting with __ are Prometheus' own");
	for (const char *const *r = reserved; *r; r++)
		if (!strcmp(name, *r))
			return yamlcfg_fail(y, node, "label '%s' is set by the agent itself", name);
	return 0;
}

static int parse_service(struct yamlcfg *y, yaml_node_t *node, struct config_service *svc)
{
	static const char *const keys[] = { "name", "match", "labels", NULL };
	static const char *const match_keys[] = { "cgroup", "comm", "port", NULL };
	yaml_node_t *match, *labels;
	unsigned long port = 0;

	if (yamlcfg_check_keys(y, node, keys, "a services entry"))
		return -1;
	if (yamlcfg_string(y, yamlcfg_get(y, node, "name"), svc->name, sizeof(svc->name)))
		return -1;
	if (!svc->name[0])
		return yamlcfg_fail(y, node, "a services entry needs a name");
	match = yamlcfg_get(y, node, "match");
	if (!match)
		return yamlcfg_fail(y, node,
				    "service '%s' needs a match (cgroup, comm and/or port)",
				    svc->name);
	if (yamlcfg_check_keys(y, match, match_keys, "match") ||
	    yamlcfg_string(y, yamlcfg_get(y, match, "cgroup"), svc->cgroup, sizeof(svc->cgroup)) ||
	    yamlcfg_string(y, yamlcfg_get(y, match, "comm"), svc->comm, sizeof(svc->comm)) ||
	    yamlcfg_uint(y, yamlcfg_get(y, match, "port"), 1, 65535, &port))
		return -1;
	svc->port = (unsigned)port;
	if (!svc->cgroup[0] && !svc->comm[0] && !svc->port)
		return yamlcfg_fail(y, match, "match needs at least one of cgroup, comm, port");
	labels = yamlcfg_get(y, node, "labels");
	if (!labels)
		return 0;
	if (labels->type != YAML_MAPPING_NODE)
		return yamlcfg_fail(y, labels, "labels must be a mapping of name: value");
	for (yaml_node_pair_t *p = labels->data.mapping.pairs.start;
	     p < labels->data.mapping.pairs.top; p++) {
		struct config_label *l;
		if (svc->n_labels == CONFIG_MAX_LABELS)
			return yamlcfg_fail(y, labels, "at most %d labels", CONFIG_MAX_LABELS);
		l = &svc->labels[svc->n_labels++];
		yaml_node_t *kn = yaml_document_get_node(&y->doc, p->key);
		if (yamlcfg_string(y, kn, l->name, sizeof(l->name)) ||
		    yamlcfg_string(y, yaml_document_get_node(&y->doc, p->value), l->value,
				   sizeof(l->value)))
			return -1;
		if (check_label_name(y, kn, l->name))
			return -1;
	}
	return 0;
}

static int parse_services(struct yamlcfg *y, yaml_node_t *node, struct config *cfg)
{
	if (!node)
		return 0;
	if (node->type != YAML_SEQUENCE_NODE)
		return yamlcfg_fail(y, node, "services must be a list");
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		if (cfg->n_services == CONFIG_MAX_SERVICES)
			return yamlcfg_fail(y, node, "at most %d services", CONFIG_MAX_SERVICES);
		if (parse_service(y, yaml_document_get_node(&y->doc, *it),
				  &cfg->services[cfg->n_services++]))
			return -1;
	}
	return 0;
}

static int parse_kubernetes(struct yamlcfg *y, yaml_node_t *node, struct config *cfg)
{
	static const char *const keys[] = {
		"enabled", "pods_url", "token_file", "ca_file", "insecure_skip_verify",
		"refresh", NULL
	};
	yaml_node_t *en = yamlcfg_get(y, node, "enabled");

	if (yamlcfg_check_keys(y, node, keys, "kubernetes"))
		return -1;
	if (en && en->type == YAML_SCALAR_NODE && !strcmp((char *)en->data.scalar.value, "auto")) {
		cfg->kubernetes.enabled = -1;
	} else if (en) {
		bool b;
		if (yamlcfg_bool(y, en, &b))
			return -1;
		cfg->kubernetes.enabled = b;
	}
	return yamlcfg_string(y, yamlcfg_get(y, node, "pods_url"), cfg->kubernetes.pods_url,
			      sizeof(cfg->kubernetes.pods_url)) ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "token_file"), cfg->kubernetes.token_file,
			      sizeof(cfg->kubernetes.token_file)) ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "ca_file"), cfg->kubernetes.ca_file,
			      sizeof(cfg->kubernetes.ca_file)) ||
	       yamlcfg_bool(y, yamlcfg_get(y, node, "insecure_skip_verify"),
			    &cfg->kubernetes.insecure_skip_verify) ||
	       yamlcfg_duration(y, yamlcfg_get(y, node, "refresh"), &cfg->kubernetes.refresh) ||
	       (cfg->kubernetes.refresh < 1 &&
		yamlcfg_fail(y, yamlcfg_get(y, node, "refresh"), "refresh must be at least 1s"));
}

static int parse_sampling(struct yamlcfg *y, yaml_node_t *node, struct config *cfg)
{
	static const char *const keys[] = { "factor", "min_latency", "rate_per_sec",
					    "burst",  "one_in",	     NULL };

	return yamlcfg_check_keys(y, node, keys, "sampling") ||
	       yamlcfg_double(y, yamlcfg_get(y, node, "factor"), 1, 1000, &cfg->sampling.factor) ||
	       yamlcfg_duration(y, yamlcfg_get(y, node, "min_latency"),
				&cfg->sampling.min_latency) ||
	       yamlcfg_uint(y, yamlcfg_get(y, node, "rate_per_sec"), 0, 100000,
			    &cfg->sampling.rate_per_sec) ||
	       yamlcfg_uint(y, yamlcfg_get(y, node, "burst"), 1, 100000, &cfg->sampling.burst) ||
	       yamlcfg_uint(y, yamlcfg_get(y, node, "one_in"), 0, 1000000000,
			    &cfg->sampling.one_in);
}

static int parse_detector(struct yamlcfg *y, yaml_node_t *node, struct config *cfg)
{
	static const char *const keys[] = { "method",
					    "for",
					    "resolve_for",
					    "warning_score",
					    "critical_score",
					    "min_requests",
					    "warmup",
					    "warmup_samples",
					    NULL };
	yaml_node_t *m = yamlcfg_get(y, node, "method");

	if (yamlcfg_check_keys(y, node, keys, "detector") ||
	    yamlcfg_string(y, m, cfg->detector.method, sizeof(cfg->detector.method)))
		return -1;
	if (m && strcmp(cfg->detector.method, "seasonal-robust") &&
	    strcmp(cfg->detector.method, "zscore-7d"))
		return yamlcfg_fail(y, m, "detector method must be seasonal-robust or zscore-7d");
	return yamlcfg_duration(y, yamlcfg_get(y, node, "for"), &cfg->detector.for_s) ||
	       yamlcfg_duration(y, yamlcfg_get(y, node, "resolve_for"),
				&cfg->detector.resolve_for_s) ||
	       yamlcfg_double(y, yamlcfg_get(y, node, "warning_score"), 0.1, 1000,
			      &cfg->detector.warning_score) ||
	       yamlcfg_double(y, yamlcfg_get(y, node, "critical_score"), 0.1, 1000,
			      &cfg->detector.critical_score) ||
	       yamlcfg_double(y, yamlcfg_get(y, node, "min_requests"), 0, 1e9,
			      &cfg->detector.min_requests) ||
	       yamlcfg_duration(y, yamlcfg_get(y, node, "warmup"), &cfg->detector.warmup_s) ||
	       yamlcfg_uint(y, yamlcfg_get(y, node, "warmup_samples"), 1, 1000000,
			    &cfg->detector.warmup_samples);
}

/* A file the shipper reads at start (token) or curl at the first post
 * (certificates): missing or unreadable is an error now, with its line. */
static int check_readable(struct yamlcfg *y, yaml_node_t *parent, const char *key, const char *path)
{
	if (!path[0] || !access(path, R_OK))
		return 0;
	return yamlcfg_fail(y, yamlcfg_get(y, parent, key), "correlator %s %s: %s", key, path,
			    strerror(errno));
}

/* The spool directory is created at start: its nearest existing ancestor
 * must be a directory the agent may write in. Nothing is created here. */
static int check_spool_dir(struct yamlcfg *y, yaml_node_t *parent, const char *dir)
{
	yaml_node_t *where = yamlcfg_get(y, parent, "spool_dir") ?: parent;
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s", dir);
	while (stat(path, &st)) {
		char *slash = strrchr(path, '/');
		if ((errno != ENOENT && errno != ENOTDIR) || !strcmp(path, ".") ||
		    !strcmp(path, "/"))
			return yamlcfg_fail(y, where, "correlator spool_dir %s: %s", dir,
					    strerror(errno));
		if (!slash) /* relative: under the working directory */
			snprintf(path, sizeof(path), ".");
		else if (slash == path)
			slash[1] = 0;
		else
			*slash = 0;
	}
	if (!S_ISDIR(st.st_mode) || access(path, W_OK | X_OK))
		return yamlcfg_fail(y, where, "correlator spool_dir %s cannot be created: %s is %s",
				    dir, path,
				    S_ISDIR(st.st_mode) ? "not writable" : "not a directory");
	return 0;
}

static int check_correlator(struct yamlcfg *y, yaml_node_t *node, struct config *cfg)
{
	typeof(cfg->correlator) *c = &cfg->correlator;

	if (!c->url[0])
		return 0;
	if (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8))
		return yamlcfg_fail(y, yamlcfg_get(y, node, "url"),
				    "correlator url '%s' must start with http:// or https://",
				    c->url);
	return check_readable(y, node, "token_file", c->token_file) ||
	       check_readable(y, node, "ca_file", c->ca_file) ||
	       check_readable(y, node, "cert_file", c->cert_file) ||
	       check_readable(y, node, "key_file", c->key_file) ||
	       check_spool_dir(y, node, c->spool_dir);
}

static int parse_correlator(struct yamlcfg *y, yaml_node_t *node, struct config *cfg)
{
	static const char *const keys[] = { "url",
					    "token",
					    "token_file",
					    "ca_file",
					    "cert_file",
					    "key_file",
					    "insecure_skip_verify",
					    "spool_dir",
					    "spool_max_bytes",
					    "batch_max_events",
					    NULL };
	typeof(cfg->correlator) *c = &cfg->correlator;

	return yamlcfg_check_keys(y, node, keys, "correlator") ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "url"), c->url, sizeof(c->url)) ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "token"), c->token, sizeof(c->token)) ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "token_file"), c->token_file,
			      sizeof(c->token_file)) ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "ca_file"), c->ca_file, sizeof(c->ca_file)) ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "cert_file"), c->cert_file,
			      sizeof(c->cert_file)) ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "key_file"), c->key_file,
			      sizeof(c->key_file)) ||
	       yamlcfg_bool(y, yamlcfg_get(y, node, "insecure_skip_verify"),
			    &c->insecure_skip_verify) ||
	       yamlcfg_string(y, yamlcfg_get(y, node, "spool_dir"), c->spool_dir,
			      sizeof(c->spool_dir)) ||
	       yamlcfg_size(y, yamlcfg_get(y, node, "spool_max_bytes"), 4096, 1ULL << 40,
			    &c->spool_max_bytes) ||
	       yamlcfg_uint(y, yamlcfg_get(y, node, "batch_max_events"), 1, 100000,
			    &c->batch_max_events) ||
	       check_correlator(y, node, cfg);
}

/* What a start would refuse is refused here too, with the line. */
static int parse_listen(struct yamlcfg *y, yaml_node_t *node, struct config *cfg)
{
	struct sockaddr_in6 sa;
	char why[200];

	if (yamlcfg_string(y, node, cfg->listen, sizeof(cfg->listen)))
		return -1;
	if (node && (listen_addr_parse(cfg->listen, &sa, why, sizeof(why)) ||
		     listen_addr_check_local(cfg->listen, &sa, why, sizeof(why))))
		return yamlcfg_fail(y, node, "listen: %s", why);
	return 0;
}

static int parse_root(struct yamlcfg *y, struct config *cfg)
{
	static const char *const keys[] = {
		"log_level", "listen", "interval", "node", "cluster", "state_dir",
		"histogram_buckets", "max_histograms", "max_connections", "series_ttl", "bpf_stats",
		"measure_self", "kubernetes", "sampling", "services", "detector", "correlator",
		/* read by their own modules (agent/chaos_config.c, agent/actions.c) */
		"chaos", "actions", NULL
	};
	yaml_node_t *root = yamlcfg_root(y), *n;
	char level[16] = "";

	if (!root)
		return 0;
	if (yamlcfg_check_keys(y, root, keys, "the agent configuration"))
		return -1;
	n = yamlcfg_get(y, root, "log_level");
	if (yamlcfg_string(y, n, level, sizeof(level)))
		return -1;
	if (n) {
		int l = log_level_parse(level);
		if (l < 0)
			return yamlcfg_fail(y, n, "log_level must be error, warn, info or debug");
		cfg->log_level = (enum log_level)l;
	}
	n = yamlcfg_get(y, root, "interval");
	if (yamlcfg_duration(y, n, &cfg->interval))
		return -1;
	if (n && (cfg->interval < 0.1 || cfg->interval > 3600))
		return yamlcfg_fail(y, n, "interval must be between 100ms and 1h");
	return parse_listen(y, yamlcfg_get(y, root, "listen"), cfg) ||
	       yamlcfg_string(y, yamlcfg_get(y, root, "node"), cfg->node, sizeof(cfg->node)) ||
	       yamlcfg_string(y, yamlcfg_get(y, root, "cluster"), cfg->cluster,
			      sizeof(cfg->cluster)) ||
	       yamlcfg_string(y, yamlcfg_get(y, root, "state_dir"), cfg->state_dir,
			      sizeof(cfg->state_dir)) ||
	       parse_buckets(y, yamlcfg_get(y, root, "histogram_buckets"), cfg) ||
	       yamlcfg_uint(y, yamlcfg_get(y, root, "max_histograms"), 16, 1 << 22,
			    &cfg->max_histograms) ||
	       yamlcfg_uint(y, yamlcfg_get(y, root, "max_connections"), 64, 1 << 24,
			    &cfg->max_connections) ||
	       yamlcfg_duration(y, yamlcfg_get(y, root, "series_ttl"), &cfg->series_ttl) ||
	       (cfg->series_ttl < 10 && yamlcfg_fail(y, yamlcfg_get(y, root, "series_ttl"),
						     "series_ttl must be at least 10s")) ||
	       yamlcfg_bool(y, yamlcfg_get(y, root, "bpf_stats"), &cfg->bpf_stats) ||
	       yamlcfg_bool(y, yamlcfg_get(y, root, "measure_self"), &cfg->measure_self) ||
	       parse_kubernetes(y, yamlcfg_get(y, root, "kubernetes"), cfg) ||
	       parse_sampling(y, yamlcfg_get(y, root, "sampling"), cfg) ||
	       parse_services(y, yamlcfg_get(y, root, "services"), cfg) ||
	       parse_detector(y, yamlcfg_get(y, root, "detector"), cfg) ||
	       parse_correlator(y, yamlcfg_get(y, root, "correlator"), cfg) ||
	       agent_actions_configure(y, yamlcfg_get(y, root, "actions"));
}

int config_load(struct config *cfg, const char *path, char *err, size_t err_size)
{
	cfg->path = path;
	if (yamlcfg_load_file(&cfg->yaml, path) || parse_root(&cfg->yaml, cfg)) {
		snprintf(err, err_size, "%s", cfg->yaml.error);
		return -1;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	yamlcfg_free(&cfg->yaml);
}

yaml_node_t *config_section(struct config *cfg, const char *name)
{
	return yamlcfg_get(&cfg->yaml, yamlcfg_root(&cfg->yaml), name);
}
