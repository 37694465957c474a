/* seismo-correlator: events from seismo agents -> incidents -> receivers. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "action.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "runbook.h"
#include "server.h"
#include "store.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seismo-correlator [OPTIONS]\n"
		"       seismo-correlator actions COMMAND   (list|approve|deny|kill|... ; actions --help)\n"
		"\n"
		"Receives anomaly events from seismo agents, stores them (SQLite, or\n"
		"PostgreSQL shared by replicas), merges anomalies of connected services\n"
		"into incidents with ranked root causes,\n"
		"and notifies receivers with Alertmanager's routing and grouping semantics.\n"
		"\n"
		"options:\n"
		"  -c, --config FILE     YAML config: Alertmanager's route/inhibit_rules/receivers\n"
		"                        plus a 'seismo:' section (see docs/correlator.md);\n"
		"                        without one, nothing is notified (a 'null' receiver)\n"
		"  -l, --listen ADDR     HOST:PORT to serve on (default 127.0.0.1:9465)\n"
		"  -d, --db PATH|URL     SQLite database (default seismo-correlator.db), or a\n"
		"                        postgres:// URL: replicas on one PostgreSQL share state,\n"
		"                        one leader notifies (docs/correlator.md)\n"
		"  -t, --token-file FILE bearer token agents must send (overrides the config)\n"
		"      --check-config    load and validate the config, then exit\n"
		"  -v, --log-level LVL   error, warn, info (default) or debug\n"
		"  -h, --help            this text\n"
		"      --version         print the version\n"
		"\n"
		"endpoints: POST /api/v1/events, POST /api/v1/alertmanager,\n"
		"  POST|GET /api/v2/alerts, GET /api/v1/incidents[/ID],\n"
		"  GET|POST /api/v1/silences, DELETE /api/v1/silences/ID, GET /healthz, /metrics,\n"
		"  GET /api/v1/actions[/ID], POST /api/v1/actions/ID/approve|deny,\n"
		"  GET|POST /api/v1/actions/killswitch, GET /api/v1/runbooks (docs/runbooks.md);\n"
		"  Alertmanager's API v2 for amtool and Grafana: /api/v2/alerts[/groups],\n"
		"  /api/v2/silences, /api/v2/silence/ID, /api/v2/receivers, /api/v2/status\n");
}

static int replace(char **field, const char *value)
{
	char *v = strdup(value);

	if (!v)
		return -1;
	free(*field);
	*field = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "token-file", required_argument, NULL, 't' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *config = NULL, *listen = NULL, *db = NULL, *token_file = NULL;
	int check = 0, opt, level;
	char err[1024];

	if (argc > 1 && !strcmp(argv[1], "actions"))
		return corr_actions_cli(argc - 1, argv + 1);

	while ((opt = getopt_long(argc, argv, "c:l:d:t:v:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'v':
			level = log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "seismo-correlator: unknown log level '%s'\n",
					optarg);
				return 2;
			}
			log_set_level((enum log_level)level);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("seismo-correlator %s\n", SEISMO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "seismo-correlator: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	struct corr_config *cfg = config ? corr_config_load(config, err, sizeof(err))
					 : corr_config_default();
	if (!cfg) {
		fprintf(stderr, "seismo-correlator: %s\n", config ? err : "out of memory");
		return 1;
	}
	if (check) {
		if (corr_server_check_listen(cfg->listen, err, sizeof(err))) {
			fprintf(stderr, "seismo-correlator: %s: %s\n",
				config ? config : "(defaults)", err);
			corr_config_free(cfg);
			return 1;
		}
		printf("%s: ok (%zu receivers, %zu inhibit rules, %zu runbooks)\n",
		       config ? config : "(defaults)", cfg->n_receivers, cfg->n_inhibit,
		       cfg->runbooks->n);
		corr_config_free(cfg);
		return 0;
	}
	if ((listen && replace(&cfg->listen, listen)) || (db && replace(&cfg->db_path, db))) {
		fprintf(stderr, "seismo-correlator: out of memory\n");
		corr_config_free(cfg);
		return 1;
	}
	if (!token_file)
		token_file = cfg->token_file;
	if (corr_server_check_listen(cfg->listen, err, sizeof(err))) {
		fprintf(stderr, "seismo-correlator: %s\n", err);
		corr_config_free(cfg);
		return 1;
	}
	if (token_file) {
		char *tok = corr_read_small_file(token_file, 4096);
		if (!tok) {
			fprintf(stderr, "seismo-correlator: token file %s: %s\n", token_file,
				strerror(errno));
			corr_config_free(cfg);
			return 1;
		}
		free(cfg->token);
		cfg->token = tok;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/*
	 * Block the stop signals before any thread starts, so every thread
	 * inherits the mask and only sigwait() below receives them.
	 */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	int rc = 1;
	char shown[512];
	struct corr_server *srv = NULL;
	struct corr_engine *engine = corr_engine_new(cfg, err, sizeof(err));
	if (!engine) {
		log_error("%s", err);
		goto out;
	}
	srv = corr_server_start(engine, cfg->listen, err, sizeof(err));
	if (!srv) {
		log_error("%s", err);
		goto out;
	}
	log_info("seismo-correlator %s listening on %s (port %u), store %s%s", SEISMO_VERSION,
		 cfg->listen, corr_server_port(srv),
		 corr_store_display(cfg->db_path, shown, sizeof(shown)),
		 cfg->token ? ", bearer token required" : "");
	int sig = 0;
	sigwait(&stop_signals, &sig);
	log_info("signal %d: stopping", sig);
	rc = 0;
out:
	corr_server_stop(srv);
	if (engine && corr_engine_drain(engine, 2000))
		log_warn("notifications still queued at shutdown");
	corr_engine_free(engine);
	corr_config_free(cfg);
	curl_global_cleanup();
	return rc;
}
