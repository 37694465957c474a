/* `seismo top`: a live per-service view of a running agent, like top. It
 * polls the agent's /api/v1/services (the last interval's summaries). On a
 * terminal it redraws in place and quits on 'q'; otherwise it prints plain
 * lines, one block per refresh. While the agent cannot be reached, a terminal
 * shows one status line in place of the (stale) table. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "yamlcfg.h"

struct top_options {
	const char *url;
	double refresh;
	long iterations; /* 0 = until quit */
	bool clients;
};

struct body {
	char *data;
	size_t len;
};

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	quit = 1;
}

static size_t collect(char *ptr, size_t size, size_t n, void *user)
{
	struct body *b = user;
	char *grown = realloc(b->data, b->len + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + b->len, ptr, size * n);
	b->data = grown;
	b->len += size * n;
	b->data[b->len] = 0;
	return size * n;
}

static json_t *fetch(const char *url, char *err, size_t err_size)
{
	CURL *curl = curl_easy_init();
	struct body body = { 0 };
	json_error_t jerr;
	json_t *doc = NULL;
	long status = 0;
	CURLcode rc;

	if (!curl)
		return NULL;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 3L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		snprintf(err, err_size, "cannot reach the agent at %s: %s", url,
			 curl_easy_strerror(rc));
	else if (status == 503)
		snprintf(err, err_size, "agent is starting: loading its BPF programs");
	else if (status != 200)
		snprintf(err, err_size, "agent answered HTTP %ld", status);
	else if (!(doc = json_loadb(body.data, body.len, 0, &jerr)))
		snprintf(err, err_size, "agent sent invalid JSON: %s", jerr.text);
	free(body.data);
	curl_easy_cleanup(curl);
	return doc;
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void format_seconds(double s, char *out, size_t size)
{
	if (isnan(s))
		snprintf(out, size, "-");
	else if (s < 1e-3)
		snprintf(out, size, "%.0fus", s * 1e6);
	else if (s < 1)
		snprintf(out, size, "%.1fms", s * 1e3);
	else
		snprintf(out, size, "%.2fs", s);
}

static int by_rate_desc(const void *a, const void *b)
{
	double ra = num(*(json_t *const *)a, "rate"), rb = num(*(json_t *const *)b, "rate");

	return (ra < rb) - (ra > rb);
}

static void render(json_t *doc, const struct top_options *opt, bool tty)
{
	json_t *list = json_object_get(doc, "services"), *row;
	size_t n = json_array_size(list), shown = 0, i;
	json_t **rows = calloc(n ? n : 1, sizeof(*rows));
	char stamp[32];
	time_t now = time(NULL);

	if (!rows)
		return;
	json_array_foreach(list, i, row)
		rows[i] = row;
	qsort(rows, n, sizeof(*rows), by_rate_desc);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
	if (tty)
		printf("\033[H\033[2J");
	printf("seismo top - node %s - %s - interval %.0fs%s\n",
	       json_string_value(json_object_get(doc, "node")) ?: "?", stamp,
	       num(doc, "interval_seconds"), tty ? " - q to quit" : "");
	printf("%-32s %-6s %10s %7s %9s %9s %9s  %s\n", "SERVICE", "ROLE", "REQ/S", "ERR%", "P50",
	       "P90", "P99", opt->clients ? "PEER" : "");
	for (i = 0; i < n; i++) {
		const char *role = json_string_value(json_object_get(rows[i], "role")) ?: "";
		char p50[16], p90[16], p99[16], peer[160] = "";

		if (!opt->clients && strcmp(role, "server"))
			continue;
		format_seconds(num(rows[i], "p50"), p50, sizeof(p50));
		format_seconds(num(rows[i], "p90"), p90, sizeof(p90));
		format_seconds(num(rows[i], "p99"), p99, sizeof(p99));
		if (!strcmp(role, "client"))
			snprintf(peer, sizeof(peer), "%s%s%s%s",
				 json_string_value(json_object_get(rows[i], "peer")) ?: "",
				 json_object_get(rows[i], "peer_service") ? " (" : "",
				 json_string_value(json_object_get(rows[i], "peer_service")) ?: "",
				 json_object_get(rows[i], "peer_service") ? ")" : "");
		printf("%-32.32s %-6s %10.1f %6.2f%% %9s %9s %9s  %s\n",
		       json_string_value(json_object_get(rows[i], "service")) ?: "?", role,
		       num(rows[i], "rate"), num(rows[i], "error_ratio") * 100, p50, p90, p99,
		       peer);
		shown++;
	}
	if (!shown)
		printf("(no requests in the last interval)\n");
	if (!tty)
		printf("\n");
	fflush(stdout);
	free(rows);
}

/* One status line instead of the table: the last one is stale, and lines
 * stacked under it would scroll it away one refresh at a time. */
static void render_unreachable(const char *err, time_t since, const struct top_options *opt)
{
	char now_s[32], since_s[32];
	time_t now = time(NULL);

	strftime(now_s, sizeof(now_s), "%H:%M:%S", localtime(&now));
	strftime(since_s, sizeof(since_s), "%H:%M:%S", localtime(&since));
	printf("\033[H\033[2J");
	printf("seismo top - %s - q to quit\n", now_s);
	printf("%s (since %s, retrying every %gs)\n", err, since_s, opt->refresh);
	fflush(stdout);
}

/* Waits for the refresh period; true when the user pressed q. */
static bool wait_or_quit(double seconds, bool tty)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	int ms = (int)(seconds * 1000);

	if (!tty) {
		struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
		nanosleep(&ts, NULL);
		return false;
	}
	if (poll(&p, 1, ms) > 0) {
		char c = 0;
		if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q' || c == 3))
			return true;
	}
	return false;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seismo top [--url URL] [--refresh DURATION] [--iterations N] [--clients]\n"
		"\n"
		"Live view of a running agent: one row per service with requests/s, error %%,\n"
		"p50, p90 and p99 of the agent's last interval. Redraws in place on a terminal\n"
		"(q quits); prints plain blocks otherwise.\n"
		"\n"
		"  -u, --url URL            agent's summaries\n"
		"                           (default http://127.0.0.1:9464/api/v1/services)\n"
		"  -r, --refresh DURATION   time between refreshes, e.g. 2s or 500ms; a bare\n"
		"                           number is seconds, as in top -d (default 2s)\n"
		"  -n, --iterations N       stop after N refreshes (default: until q or Ctrl-C)\n"
		"  -c, --clients            also show outbound calls (dependency edges) with their peer\n"
		"\n"
		"While the agent cannot be reached, a terminal shows one status line (what\n"
		"failed, since when) until it answers again; exit status 1 when the last\n"
		"refresh failed.\n");
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, 0, 'u' },
		{ "refresh", required_argument, 0, 'r' },
		{ "iterations", required_argument, 0, 'n' },
		{ "clients", no_argument, 0, 'c' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct top_options opt = { .url = "http://127.0.0.1:9464/api/v1/services", .refresh = 2 };
	bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	struct termios saved, raw;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "u:r:n:ch", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'u':
			opt.url = optarg;
			break;
		case 'r':
			if (yamlcfg_parse_duration(optarg, &opt.refresh) || opt.refresh < 0.1) {
				fprintf(stderr,
					"seismo top: --refresh '%s' is not a duration of at "
					"least 100ms (e.g. 2s, 500ms)\n",
					optarg);
				return 2;
			}
			break;
		case 'n':
			opt.iterations = strtol(optarg, &end, 10);
			if (*end || opt.iterations < 1) {
				fprintf(stderr, "seismo top: --iterations needs a count >= 1\n");
				return 2;
			}
			break;
		case 'c':
			opt.clients = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		tty = false;
	}
	int failures = 0;
	time_t failing_since = 0;
	for (long i = 0; !quit && (!opt.iterations || i < opt.iterations); i++) {
		char err[300] = "";
		json_t *doc = fetch(opt.url, err, sizeof(err));

		if (doc) {
			render(doc, &opt, tty);
			json_decref(doc);
			failures = 0;
		} else {
			if (!failures++)
				failing_since = time(NULL);
			if (tty)
				render_unreachable(err, failing_since, &opt);
			else
				fprintf(stderr, "seismo top: %s\n", err);
		}
		if ((opt.iterations && i + 1 == opt.iterations) || wait_or_quit(opt.refresh, tty))
			break;
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return failures ? 1 : 0;
}
