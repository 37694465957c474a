/*
 * seismo-ship: replays scenario batches (NDJSON, one POST body a line)
 * into seismo-correlator.
 *
 *   seismo-ship post  --url URL [--token T] [--gzip] FILE
 *       POSTs each line as it is, one keep-alive connection, and reports
 *       events/s and the latency distribution of the POSTs.
 *   seismo-ship agent --url URL --spool DIR --node NODE [--token T] [--skip N] FILE
 *       Stands in for the agent: feeds every event and edge through the
 *       real shipper (agent/sinks/shipper.c), flushing once a line, and prints
 *       "spooled LINE ID..." once a line's events are safely in the spool.
 *       On SIGTERM it spools what it holds and exits; at the end of the file
 *       it keeps flushing until the spool is empty.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <zlib.h>

#include "../../agent/sinks/shipper.h"
#include "log.h"

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	stopping = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static size_t sink(char *p, size_t s, size_t n, void *arg)
{
	json_t **out = arg;
	json_error_t e;

	json_decref(*out);
	*out = json_loadb(p, s * n, 0, &e);
	return s * n;
}

static char *gzip_line(const char *in, size_t len, size_t *out_len)
{
	z_stream zs = { 0 };

	deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	size_t cap = deflateBound(&zs, len) + 64;
	char *out = malloc(cap);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	deflate(&zs, Z_FINISH);
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

/* Batches prepared before the clock starts, so only the POSTs are timed. */
struct prepared {
	char *body;
	size_t len;
	size_t events;
};

static struct prepared *prepare_all(FILE *in, int gzip, size_t *n)
{
	struct prepared *all = NULL;
	char *line = NULL;
	size_t cap = 0, have = 0;
	ssize_t len;

	*n = 0;
	while ((len = getline(&line, &cap, in)) > 0) {
		json_error_t e;
		json_t *b = json_loadb(line, (size_t)len, 0, &e);
		if (*n == have)
			all = realloc(all, (have = have ? have * 2 : 256) * sizeof(*all));
		struct prepared *p = &all[(*n)++];
		p->events = json_array_size(json_object_get(b, "events"));
		json_decref(b);
		p->len = (size_t)len;
		p->body = gzip ? gzip_line(line, p->len, &p->len) : strdup(line);
	}
	free(line);
	return all;
}

static int cmd_post(const char *url, const char *token, int gzip, FILE *in)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char auth[512], full[1024];
	size_t n, batches = 0, events = 0, accepted = 0, dups = 0;
	struct prepared *all = prepare_all(in, gzip, &n);
	double *lat = calloc(n + 1, sizeof(*lat)), t0;
	json_t *resp = NULL;
	int rc = 0;

	snprintf(full, sizeof(full), "%s/api/v1/events", url);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	if (gzip)
		hdr = curl_slist_append(hdr, "Content-Encoding: gzip");
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdr = curl_slist_append(hdr, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, all[i].body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)all[i].len);
		double s = now_s();
		CURLcode cr = curl_easy_perform(c);
		double took = now_s() - s;
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (cr != CURLE_OK || status != 200) {
			fprintf(stderr, "seismo-ship: batch %zu: %s HTTP %ld\n", i + 1,
				curl_easy_strerror(cr), status);
			rc = 1;
			break;
		}
		accepted += (size_t)json_integer_value(json_object_get(resp, "accepted"));
		dups += (size_t)json_integer_value(json_object_get(resp, "duplicates"));
		events += all[i].events;
		lat[batches++] = took;
	}
	double total = now_s() - t0;
	qsort(lat, batches, sizeof(*lat), cmp_double);
	printf("{\"batches\":%zu,\"events\":%zu,\"accepted\":%zu,\"duplicates\":%zu,"
	       "\"seconds\":%.3f,\"events_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
	       batches, events, accepted, dups, total, total > 0 ? (double)events / total : 0,
	       batches ? lat[batches / 2] * 1000 : 0,
	       batches ? lat[(size_t)((double)(batches - 1) * 0.99)] * 1000 : 0,
	       batches ? lat[batches - 1] * 1000 : 0);
	for (size_t i = 0; i < n; i++)
		free(all[i].body);
	free(all);
	json_decref(resp);
	free(lat);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return rc;
}

static int cmd_agent(const struct shipper_config *cfg, long skip, FILE *in)
{
	struct shipper *s = shipper_new(cfg);
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int rc = 0;

	if (!s)
		return 1;
	while (!stopping && getline(&line, &cap, in) > 0) {
		if (++lineno <= skip)
			continue;
		json_error_t e;
		json_t *b = json_loads(line, 0, &e), *ev, *edge;
		size_t i;
		if (!b) {
			fprintf(stderr, "seismo-ship: line %ld: %s\n", lineno, e.text);
			rc = 1;
			break;
		}
		json_array_foreach(json_object_get(b, "events"), i, ev)
			shipper_submit(s, ev);
		json_array_foreach(json_object_get(b, "edges"), i, edge)
			shipper_add_edge(s, json_string_value(json_object_get(edge, "caller")),
					 json_string_value(json_object_get(edge, "callee")),
					 json_string_value(json_object_get(edge, "endpoint")),
					 (uint64_t)json_integer_value(
						 json_object_get(edge, "requests")));
		if (shipper_flush(s, time(NULL)) < 0) {
			rc = 1;
			json_decref(b);
			break;
		}
		/* Spooled (or delivered): this line is handed over. */
		printf("spooled %ld", lineno);
		json_array_foreach(json_object_get(b, "events"), i, ev)
			printf(" %s", json_string_value(json_object_get(ev, "id")));
		printf("\n");
		fflush(stdout);
		json_decref(b);
		usleep(20000);
	}
	/* Drain: keep trying until the spool is empty or we are told to stop. */
	struct shipper_stats st;
	for (;;) {
		shipper_get_stats(s, &st);
		if (stopping || !st.spool_batches)
			break;
		usleep(100000);
		shipper_flush(s, time(NULL));
	}
	shipper_get_stats(s, &st);
	fprintf(stderr, "seismo-ship: delivered %llu, spooled %llu, dropped %llu\n",
		(unsigned long long)st.events_delivered, (unsigned long long)st.spool_events,
		(unsigned long long)st.events_dropped);
	if (!stopping)
		printf("drained\n");
	shipper_free(s);
	free(line);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },  { "token", required_argument, NULL, 't' },
		{ "gzip", no_argument, NULL, 'z' },	  { "spool", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'n' }, { "skip", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },	  { 0 },
	};
	struct shipper_config cfg = { .backoff_initial_ms = 200,
				      .backoff_max_ms = 1000,
				      .timeout_ms = 3000 };
	int gzip = 0, opt;
	long skip = 0;

	if (argc < 2 || (strcmp(argv[1], "post") && strcmp(argv[1], "agent"))) {
		fprintf(stderr, "usage: seismo-ship post|agent --url URL [options] FILE\n");
		return 2;
	}
	const char *mode = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "u:t:zs:n:k:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			cfg.url = optarg;
			break;
		case 't':
			cfg.token = optarg;
			break;
		case 'z':
			gzip = 1;
			break;
		case 's':
			cfg.spool_dir = optarg;
			break;
		case 'n':
			cfg.node = optarg;
			break;
		case 'k':
			skip = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: seismo-ship post|agent --url URL [options] FILE\n");
			return 2;
		}
	}
	if (!cfg.url || optind != argc - 1) {
		fprintf(stderr, "seismo-ship: --url and one FILE are required\n");
		return 2;
	}
	FILE *in = fopen(argv[optind], "r");
	if (!in) {
		perror(argv[optind]);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	log_set_level(LOG_WARN);
	int rc = !strcmp(mode, "post") ? cmd_post(cfg.url, cfg.token, gzip, in)
				       : cmd_agent(&cfg, skip, in);
	fclose(in);
	curl_global_cleanup();
	return rc;
}
