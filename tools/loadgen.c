/* seismo-loadgen: a closed-loop load generator for seismo's tests and
 * benchmarks. N keep-alive connections each send one request, wait for the
 * whole response, and send the next. Every request asks the test server for a
 * latency drawn from a distribution (and a status from a weighted mix), and
 * every client-observed latency is kept, so the agent's quantiles can be
 * checked against exact ones.
 *
 * The client-observed latency is the one DESIGN.md defines for the client
 * side: first request byte sent to first response byte received.
 *
 * Request i's asked latency and status depend only on (seed, i), never on
 * thread timing, so two runs with the same arguments ask for the same things
 * and status counts are exact: with weights 200:7,404:2,500:1 and 100
 * requests, 70 get 200, 20 get 404 and 10 get 500. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "yamlcfg.h"

#define MAX_STATUSES 16
#define MAX_CONNECTIONS 1024
#define RESPONSE_MAX 65536

enum dist_kind {
	DIST_CONST,
	DIST_UNIFORM,
	DIST_LOGNORMAL,
	DIST_BIMODAL
};
enum protocol {
	PROTO_HTTP,
	PROTO_LINE
};

struct distribution {
	enum dist_kind kind;
	double a, b, c; /* const: a; uniform: [a, b]; lognormal: median a, sigma b;
			 * bimodal: fast a, slow b, fraction slow c (each +-5% jitter) */
	char text[128];
};

struct status_weight {
	unsigned code;
	unsigned weight;
};

struct options {
	char host[128];
	char port[16];
	enum protocol protocol;
	unsigned connections;
	uint64_t requests; /* 0 = run for duration */
	double duration;
	struct distribution dist;
	struct status_weight statuses[MAX_STATUSES];
	int n_statuses;
	unsigned weight_sum;
	const char *path;
	const char *method;
	uint64_t seed;
	const char *json_path;
	const char *dump_path;
	bool quiet;
};

/* What one connection saw. */
struct worker {
	const struct options *o;
	pthread_t thread;
	double *latency; /* client-observed, seconds */
	double *asked;	 /* what the request asked for, seconds */
	size_t n, cap;
	uint64_t failed;
	uint64_t by_status[MAX_STATUSES + 1]; /* last slot: unexpected statuses */
	char error[512];
};

static atomic_uint_fast64_t next_request;
static double deadline; /* CLOCK_MONOTONIC seconds, duration mode */

/* --- time and randomness ------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: request i's random numbers depend only on (seed, i). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Uniform in (0, 1). */
static double uniform01(uint64_t seed, uint64_t i, unsigned which)
{
	uint64_t r = mix64(seed ^ mix64(i * 4 + which));

	return ((double)(r >> 11) + 0.5) / 9007199254740992.0;
}

static double draw_latency(const struct distribution *d, uint64_t seed, uint64_t i)
{
	double u1 = uniform01(seed, i, 0), u2 = uniform01(seed, i, 1), u3 = uniform01(seed, i, 2);
	double normal = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);

	switch (d->kind) {
	case DIST_CONST:
		return d->a;
	case DIST_UNIFORM:
		return d->a + (d->b - d->a) * u1;
	case DIST_LOGNORMAL:
		return d->a * exp(d->b * normal);
	case DIST_BIMODAL:
		return (u3 < d->c ? d->b : d->a) * (0.95 + 0.1 * u1);
	}
	return 0;
}

static int pick_status(const struct options *o, uint64_t i)
{
	unsigned slot = (unsigned)(i % o->weight_sum);

	for (int s = 0; s < o->n_statuses; s++) {
		if (slot < o->statuses[s].weight)
			return s;
		slot -= o->statuses[s].weight;
	}
	return 0;
}

/* --- one connection -------------------------------------------------------------------- */

static int connect_target(const struct options *o, char *err, size_t err_size)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai;
	int fd, one = 1, rc = getaddrinfo(o->host, o->port, &hints, &ai);

	if (rc) {
		snprintf(err, err_size, "address %s:%s: %s", o->host, o->port, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		snprintf(err, err_size, "connecting to %s:%s: %s", o->host, o->port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	freeaddrinfo(ai);
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one response; sets *first to the time its first byte arrived,
 * *status to its HTTP status (0 for the line protocol) and *close when the
 * server ends the connection after it (nginx does after a 500). */
static int read_response(int fd, enum protocol proto, bool head, double *first, unsigned *status,
			 bool *close_after)
{
	static _Thread_local char buf[RESPONSE_MAX + 1];
	size_t len = 0, need = 0;

	*first = 0;
	*close_after = false;
	for (;;) {
		ssize_t n = read(fd, buf + len, RESPONSE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (!len)
			*first = now_s();
		len += (size_t)n;
		buf[len] = 0;
		if (proto == PROTO_LINE) {
			if (memchr(buf, '\n', len)) {
				*status = 0;
				return strncmp(buf, "DONE", 4) ? -1 : 0;
			}
		} else if (!need) {
			char *end = strstr(buf, "\r\n\r\n");
			const char *cl;
			if (!end)
				goto more;
			if (sscanf(buf, "HTTP/1.%*c %u", status) != 1)
				return -1;
			need = (size_t)(end - buf) + 4;
			/* A HEAD answer announces a body it does not send. */
			for (cl = strstr(buf, "\r\n"); cl && cl < end;
			     cl = strstr(cl + 2, "\r\n")) {
				if (!strncasecmp(cl + 2, "Content-Length:", 15) && !head)
					need += strtoul(cl + 17, NULL, 10);
				else if (!strncasecmp(cl + 2, "Connection: close", 17))
					*close_after = true;
			}
		}
		if (need && len >= need)
			return 0;
more:
		if (len == RESPONSE_MAX)
			return -1;
	}
}

static int record(struct worker *w, double latency, double asked)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		double *l = realloc(w->latency, cap * sizeof(*l));
		if (l)
			w->latency = l;
		double *a = realloc(w->asked, cap * sizeof(*a));
		if (a)
			w->asked = a;
		if (!l || !a)
			return -1;
		w->cap = cap;
	}
	w->latency[w->n] = latency;
	w->asked[w->n++] = asked;
	return 0;
}

static bool take_request(const struct options *o, uint64_t *i)
{
	if (o->requests) {
		*i = atomic_fetch_add(&next_request, 1);
		return *i < o->requests;
	}
	if (now_s() >= deadline)
		return false;
	*i = atomic_fetch_add(&next_request, 1);
	return true;
}

static void *run_connection(void *arg)
{
	struct worker *w = arg;
	const struct options *o = w->o;
	char req[1024];
	int fd = -1;
	uint64_t i;

	while (take_request(o, &i)) {
		double asked = draw_latency(&o->dist, o->seed, i), start, first;
		unsigned long long us = (unsigned long long)llround(asked * 1e6);
		int s = pick_status(o, i), len;
		unsigned status = 0;
		bool close_after;

		if (fd < 0 && (fd = connect_target(o, w->error, sizeof(w->error))) < 0) {
			w->failed++;
			continue;
		}
		if (o->protocol == PROTO_LINE)
			len = snprintf(req, sizeof(req), "WORK %llu\n", us);
		else
			len = snprintf(req, sizeof(req),
				       "%s %s?us=%llu&status=%u HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
				       "User-Agent: seismo-loadgen\r\n\r\n",
				       o->method, o->path, us, o->statuses[s].code,
				       strchr(o->host, ':') ? "[" : "", o->host,
				       strchr(o->host, ':') ? "]" : "", o->port);
		start = now_s();
		if (send_all(fd, req, (size_t)len) ||
		    read_response(fd, o->protocol, !strcmp(o->method, "HEAD"), &first, &status,
				  &close_after)) {
			snprintf(w->error, sizeof(w->error), "request %llu: connection lost",
				 (unsigned long long)i);
			w->failed++;
			close(fd);
			fd = -1;
			continue;
		}
		if (close_after) {
			close(fd);
			fd = -1;
		}
		if (o->protocol == PROTO_LINE)
			w->by_status[0]++;
		else
			w->by_status[status == o->statuses[s].code ? s : MAX_STATUSES]++;
		if (record(w, first - start, (double)us / 1e6)) {
			snprintf(w->error, sizeof(w->error), "out of memory");
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* --- results ------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The smallest value with at least q of the values at or below it: the
 * definition the agent uses for its own quantiles. */
static double quantile(const double *sorted, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n);

	if (!n)
		return NAN;
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static json_t *summary(double *v, size_t n)
{
	double sum = 0;
	json_t *o = json_object();

	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	json_object_set_new(o, "p50", json_real(quantile(v, n, 0.50)));
	json_object_set_new(o, "p90", json_real(quantile(v, n, 0.90)));
	json_object_set_new(o, "p99", json_real(quantile(v, n, 0.99)));
	json_object_set_new(o, "mean", json_real(n ? sum / (double)n : NAN));
	json_object_set_new(o, "min", json_real(n ? v[0] : NAN));
	json_object_set_new(o, "max", json_real(n ? v[n - 1] : NAN));
	return o;
}

static int dump_latencies(const char *path, const struct worker *w, unsigned n)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (unsigned c = 0; c < n; c++)
		for (size_t i = 0; i < w[c].n; i++)
			fprintf(f, "%.9f %.9f\n", w[c].latency[i], w[c].asked[i]);
	if (fclose(f)) {
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static double field(json_t *o, const char *key)
{
	return json_real_value(json_object_get(o, key));
}

static int report(const struct options *o, struct worker *w, double seconds)
{
	size_t total = 0, at = 0;
	uint64_t failed = 0, unexpected = 0;
	json_t *doc = json_object(), *statuses = json_object(), *client, *asked;
	double *lat, *ask;
	int rc = 0;

	for (unsigned c = 0; c < o->connections; c++) {
		total += w[c].n;
		failed += w[c].failed;
		unexpected += w[c].by_status[MAX_STATUSES];
	}
	lat = malloc((total ? total : 1) * sizeof(*lat));
	ask = malloc((total ? total : 1) * sizeof(*ask));
	if (!lat || !ask) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	for (unsigned c = 0; c < o->connections; c++) {
		if (!w[c].n) /* a connection that got no request has no arrays */
			continue;
		memcpy(lat + at, w[c].latency, w[c].n * sizeof(*lat));
		memcpy(ask + at, w[c].asked, w[c].n * sizeof(*ask));
		at += w[c].n;
	}
	for (int s = 0; s < o->n_statuses; s++) {
		uint64_t n = 0;
		char code[16];
		for (unsigned c = 0; c < o->connections; c++)
			n += w[c].by_status[s];
		snprintf(code, sizeof(code), "%u", o->statuses[s].code);
		if (o->protocol == PROTO_LINE)
			snprintf(code, sizeof(code), "none");
		json_object_set_new(statuses, code, json_integer((json_int_t)n));
		if (o->protocol == PROTO_LINE)
			break;
	}
	client = summary(lat, total);
	asked = summary(ask, total);
	json_object_set_new(doc, "target", json_sprintf("%s:%s", o->host, o->port));
	json_object_set_new(doc, "protocol",
			    json_string(o->protocol == PROTO_LINE ? "line" : "http"));
	json_object_set_new(doc, "distribution", json_string(o->dist.text));
	json_object_set_new(doc, "connections", json_integer(o->connections));
	json_object_set_new(doc, "requests", json_integer((json_int_t)total));
	json_object_set_new(doc, "failed", json_integer((json_int_t)failed));
	json_object_set_new(doc, "unexpected_status", json_integer((json_int_t)unexpected));
	json_object_set_new(doc, "seconds", json_real(seconds));
	json_object_set_new(doc, "rps", json_real(seconds > 0 ? (double)total / seconds : 0));
	json_object_set_new(doc, "status", statuses);
	json_object_set_new(doc, "client", client);
	json_object_set_new(doc, "asked", asked);

	if (!o->quiet) {
		const char *code;
		json_t *n;
		printf("loadgen: target=%s:%s requests=%zu failed=%llu unexpected_status=%llu "
		       "seconds=%.3f rps=%.1f\n",
		       o->host, o->port, total, (unsigned long long)failed,
		       (unsigned long long)unexpected, seconds,
		       seconds > 0 ? (double)total / seconds : 0);
		printf("loadgen: client p50=%.6f p90=%.6f p99=%.6f mean=%.6f max=%.6f\n",
		       field(client, "p50"), field(client, "p90"), field(client, "p99"),
		       field(client, "mean"), field(client, "max"));
		printf("loadgen: asked  p50=%.6f p90=%.6f p99=%.6f (%s)\n", field(asked, "p50"),
		       field(asked, "p90"), field(asked, "p99"), o->dist.text);
		printf("loadgen: status");
		json_object_foreach(statuses, code, n)
			printf(" %s=%lld", code, (long long)json_integer_value(n));
		printf("\n");
	}
	if (o->json_path && json_dump_file(doc, o->json_path, JSON_INDENT(2))) {
		fprintf(stderr, "loadgen: cannot write %s\n", o->json_path);
		rc = 1;
	}
	if (o->dump_path && dump_latencies(o->dump_path, w, o->connections))
		rc = 1;
	if (failed || unexpected) {
		for (unsigned c = 0; c < o->connections; c++)
			if (w[c].error[0]) {
				fprintf(stderr, "loadgen: %s\n", w[c].error);
				break;
			}
		fprintf(stderr, "loadgen: %llu requests failed, %llu got an unexpected status\n",
			(unsigned long long)failed, (unsigned long long)unexpected);
		rc = 3;
	}
	json_decref(doc);
	free(lat);
	free(ask);
	return rc;
}

/* --- options ------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seismo-loadgen --target HOST:PORT [--requests N | --duration DUR]\n"
		"                      [--connections N] [--latency DIST] [--status CODE:WEIGHT,...]\n"
		"                      [--protocol http|line] [--path PATH] [--method METHOD]\n"
		"                      [--seed N] [--json FILE] [--dump FILE] [--quiet]\n"
		"\n"
		"DIST (durations such as 500us, 5ms, 1s):\n"
		"  const:5ms                   every request asks for 5 ms (default const:0)\n"
		"  uniform:1ms:10ms            uniform between the two\n"
		"  lognormal:5ms:0.5           lognormal with median 5 ms and sigma 0.5\n"
		"  bimodal:2ms:40ms:0.1        90%% near 2 ms, 10%% near 40 ms (each +-5%%)\n"
		"--status 200:7,404:2,500:1    weighted round robin over request numbers:\n"
		"                              exact counts when N is a multiple of the weight sum\n"
		"--dump FILE                   every request: client-observed and asked seconds\n"
		"Exit status: 0, 2 on bad arguments, 3 when a request failed or got a\n"
		"status other than the one it asked for.\n");
}

/* The shared duration grammar (common/grammar.h, "us" included); a bare
 * number is seconds. */
static int parse_time(const char *text, double *out)
{
	return yamlcfg_parse_duration(text, out);
}

static int parse_distribution(const char *text, struct distribution *d)
{
	char buf[128], *parts[4] = { 0 }, *save = NULL;
	int n = 0;
	double v[3] = { 0 };

	snprintf(d->text, sizeof(d->text), "%s", text);
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *p = strtok_r(buf, ":", &save); p && n < 4; p = strtok_r(NULL, ":", &save))
		parts[n++] = p;
	if (!n)
		return -1;
	if (!strcmp(parts[0], "const") && n == 2 && !parse_time(parts[1], &v[0])) {
		d->kind = DIST_CONST;
	} else if (!strcmp(parts[0], "uniform") && n == 3 && !parse_time(parts[1], &v[0]) &&
		   !parse_time(parts[2], &v[1]) && v[1] >= v[0]) {
		d->kind = DIST_UNIFORM;
	} else if (!strcmp(parts[0], "lognormal") && n == 3 && !parse_time(parts[1], &v[0]) &&
		   (v[1] = strtod(parts[2], NULL)) > 0) {
		d->kind = DIST_LOGNORMAL;
	} else if (!strcmp(parts[0], "bimodal") && n == 4 && !parse_time(parts[1], &v[0]) &&
		   !parse_time(parts[2], &v[1]) && (v[2] = strtod(parts[3], NULL)) >= 0 &&
		   v[2] <= 1) {
		d->kind = DIST_BIMODAL;
	} else {
		return -1;
	}
	d->a = v[0];
	d->b = v[1];
	d->c = v[2];
	return 0;
}

static int parse_statuses(const char *text, struct options *o)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", text);
	o->n_statuses = 0;
	o->weight_sum = 0;
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		unsigned code, weight = 1;
		if (o->n_statuses == MAX_STATUSES)
			return -1;
		if (sscanf(p, "%u:%u", &code, &weight) < 1 || code < 100 || code > 999 || !weight)
			return -1;
		o->statuses[o->n_statuses++] = (struct status_weight){ code, weight };
		o->weight_sum += weight;
	}
	return o->n_statuses ? 0 : -1;
}

static int parse_target(const char *text, struct options *o)
{
	const char *colon = strrchr(text, ':');
	size_t hlen;

	if (!colon || colon == text || !colon[1])
		return -1;
	hlen = (size_t)(colon - text);
	if (text[0] == '[' && hlen >= 2 && text[hlen - 1] == ']')
		snprintf(o->host, sizeof(o->host), "%.*s", (int)hlen - 2, text + 1);
	else
		snprintf(o->host, sizeof(o->host), "%.*s", (int)hlen, text);
	snprintf(o->port, sizeof(o->port), "%s", colon + 1);
	return 0;
}

static int bad(const char *what, const char *value)
{
	fprintf(stderr, "loadgen: invalid %s '%s' (see --help)\n", what, value);
	return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "target", required_argument, 0, 't' },
		{ "protocol", required_argument, 0, 'P' },
		{ "connections", required_argument, 0, 'c' },
		{ "requests", required_argument, 0, 'n' },
		{ "duration", required_argument, 0, 'd' },
		{ "latency", required_argument, 0, 'L' },
		{ "status", required_argument, 0, 's' },
		{ "path", required_argument, 0, 'p' },
		{ "method", required_argument, 0, 'm' },
		{ "seed", required_argument, 0, 'S' },
		{ "json", required_argument, 0, 'j' },
		{ "dump", required_argument, 0, 'D' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	bool have_target = false;
	char *end;
	int opt;

	o->connections = 4;
	o->path = "/work";
	o->method = "GET";
	o->seed = 1;
	parse_distribution("const:0", &o->dist);
	parse_statuses("200", o);
	while ((opt = getopt_long(argc, argv, "t:c:n:d:L:s:p:m:S:j:D:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (parse_target(optarg, o))
				return bad("--target", optarg);
			have_target = true;
			break;
		case 'P':
			if (!strcmp(optarg, "http"))
				o->protocol = PROTO_HTTP;
			else if (!strcmp(optarg, "line"))
				o->protocol = PROTO_LINE;
			else
				return bad("--protocol", optarg);
			break;
		case 'c':
			o->connections = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !o->connections || o->connections > MAX_CONNECTIONS)
				return bad("--connections", optarg);
			break;
		case 'n':
			o->requests = strtoull(optarg, &end, 10);
			if (*end || !o->requests)
				return bad("--requests", optarg);
			break;
		case 'd':
			if (parse_time(optarg, &o->duration) || o->duration <= 0)
				return bad("--duration", optarg);
			break;
		case 'L':
			if (parse_distribution(optarg, &o->dist))
				return bad("--latency", optarg);
			break;
		case 's':
			if (parse_statuses(optarg, o))
				return bad("--status", optarg);
			break;
		case 'p':
			o->path = optarg;
			break;
		case 'm':
			o->method = optarg;
			break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 10);
			break;
		case 'j':
			o->json_path = optarg;
			break;
		case 'D':
			o->dump_path = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !have_target || (!o->requests == !(o->duration > 0))) {
		fprintf(stderr,
			"loadgen: need --target and exactly one of --requests, --duration\n");
		usage(stderr);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct worker *w;
	double start;
	int rc = parse_options(argc, argv, &o);

	if (rc)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	w = calloc(o.connections, sizeof(*w));
	if (!w) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	start = now_s();
	deadline = start + o.duration;
	for (unsigned c = 0; c < o.connections; c++) {
		w[c].o = &o;
		if (pthread_create(&w[c].thread, NULL, run_connection, &w[c])) {
			fprintf(stderr, "loadgen: cannot start connection thread %u\n", c);
			return 1;
		}
	}
	for (unsigned c = 0; c < o.connections; c++)
		pthread_join(w[c].thread, NULL);
	rc = report(&o, w, now_s() - start);
	for (unsigned c = 0; c < o.connections; c++) {
		free(w[c].latency);
		free(w[c].asked);
	}
	free(w);
	return rc;
}
