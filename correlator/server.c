/*
 * The correlator's HTTP server (libmicrohttpd): routing, the token check,
 * body limits and gzip, replies, and the ticker thread.
 * Long file: these share the request state of libmicrohttpd's callbacks.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "action.h"
#include "api_v2.h"
#include "dispatch.h"
#include "console.h"
#include "log.h"
#include "util.h"

struct corr_server {
	struct corr_engine *engine;
	const struct corr_config *cfg;
	struct corr_api_v2 *api_v2;
	struct MHD_Daemon *daemon;
	uint16_t port;
	pthread_t ticker;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
};

/* One request's body, gathered across MHD's calls. */
struct request {
	char *body;
	size_t len;
	int too_big;
	int64_t started_ns;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!text)
		return reply(c, 500, "application/json", strdup("{\"error\":\"out of memory\"}"));
	size_t l = strlen(text);
	char *nl = realloc(text, l + 2);
	if (nl) {
		text = nl;
		strcpy(text + l, "\n");
	}
	return reply(c, status, "application/json", text);
}

static enum MHD_Result reply_error(struct corr_server *s, struct MHD_Connection *c, unsigned status,
				   const char *msg)
{
	if (status >= 400 && status < 500)
		corr_metrics_add(&corr_engine_metrics(s->engine)->batches_rejected, 1);
	log_debug("http: %u %s", status, msg);
	return reply_json(c, status, json_pack("{s:s}", "error", msg));
}

/* Constant time, so the token cannot be guessed byte by byte. */
static int token_ok(const struct corr_config *cfg, struct MHD_Connection *c)
{
	const char *h =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!cfg->token || !cfg->token[0])
		return 1;
	if (!h || strncmp(h, "Bearer ", 7))
		return 0;
	h += 7;
	size_t a = strlen(h), b = strlen(cfg->token);
	unsigned diff = (unsigned)(a ^ b);
	for (size_t i = 0; i < a; i++)
		diff |= (unsigned char)h[i] ^ (unsigned char)cfg->token[i % (b ? b : 1)];
	return diff == 0;
}

/* The body as JSON text: inflated when gzip, refused when too big. */
static int body_text(struct corr_server *s, struct MHD_Connection *c, struct request *rq,
		     char **text, size_t *len, unsigned *status, char *err, size_t errlen)
{
	const char *enc =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	const char *type =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	int too_big;

	*text = NULL;
	if (rq->too_big) {
		*status = 413;
		snprintf(err, errlen, "body exceeds the limit of %zu bytes",
			 s->cfg->max_body_bytes);
		return -1;
	}
	if (type && strncasecmp(type, "application/json", 16)) {
		*status = 415;
		snprintf(err, errlen, "Content-Type must be application/json, not %.64s", type);
		return -1;
	}
	if (!rq->len) {
		*status = 400;
		snprintf(err, errlen, "empty body");
		return -1;
	}
	if (!enc || !strcasecmp(enc, "identity")) {
		*text = rq->body;
		*len = rq->len;
		rq->body = NULL;
		return 0;
	}
	if (strcasecmp(enc, "gzip") && strcasecmp(enc, "deflate")) {
		*status = 415;
		snprintf(err, errlen, "Content-Encoding %.32s is not supported (gzip is)", enc);
		return -1;
	}
	if (corr_ingest_gunzip(rq->body, rq->len, s->cfg->max_decoded_bytes, text, len, &too_big,
			       err, errlen)) {
		*status = too_big ? 413 : 400;
		return -1;
	}
	return 0;
}

static enum MHD_Result handle_events(struct corr_server *s, struct MHD_Connection *c,
				     struct request *rq, int alertmanager)
{
	char err[512] = "", *text;
	size_t len, accepted, dups;
	unsigned status;
	struct corr_batch b;
	int rc;

	if (body_text(s, c, rq, &text, &len, &status, err, sizeof(err)))
		return reply_error(s, c, status, err);
	rc = alertmanager ? corr_ingest_parse_am_webhook(text, len, &b, err, sizeof(err))
			  : corr_ingest_parse_batch(text, len, &b, err, sizeof(err));
	free(text);
	if (rc)
		return reply_error(s, c, 400, err);
	rc = corr_engine_ingest(s->engine, &b, corr_now_ms(), &accepted, &dups);
	corr_batch_free(&b);
	if (rc)
		return reply_error(s, c, 500, "the correlator could not store the batch; retry");
	struct corr_metrics *m = corr_engine_metrics(s->engine);
	corr_metrics_add(alertmanager ? &m->am_webhooks_received : &m->batches_accepted, 1);
	corr_metrics_observe_ingest(m, (double)(mono_ns() - rq->started_ns) / 1e9);
	return reply_json(c, 200,
			  json_pack("{s:I,s:I}", "accepted", (json_int_t)accepted, "duplicates",
				    (json_int_t)dups));
}

/* The request's body as a JSON document; NULL after replying with the
 * error (4xx for a bad body, with what and where). */
static json_t *body_json(struct corr_server *s, struct MHD_Connection *c, struct request *rq,
			 enum MHD_Result *replied)
{
	char err[512] = "", *text;
	size_t len;
	unsigned status;
	json_error_t jerr;
	json_t *j;

	if (body_text(s, c, rq, &text, &len, &status, err, sizeof(err))) {
		*replied = reply_error(s, c, status, err);
		return NULL;
	}
	j = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!j) {
		snprintf(err, sizeof(err), "invalid JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		*replied = reply_error(s, c, 400, err);
	}
	return j;
}

static enum MHD_Result handle_post_alerts(struct corr_server *s, struct MHD_Connection *c,
					  struct request *rq)
{
	char err[512] = "";
	enum MHD_Result replied;
	json_t *j = body_json(s, c, rq, &replied);

	if (!j)
		return replied;
	int rc = corr_engine_post_alerts(s->engine, j, corr_now_ms(), err, sizeof(err));
	json_decref(j);
	if (rc)
		return reply_error(s, c, rc == -1 ? 400 : 500, err);
	return reply(c, 200, "application/json", strdup("{}\n"));
}

static enum MHD_Result handle_post_silence(struct corr_server *s, struct MHD_Connection *c,
					   struct request *rq, int v2)
{
	char err[512] = "", id[37];
	enum MHD_Result replied;
	json_t *j = body_json(s, c, rq, &replied);

	if (!j)
		return replied;
	int rc = corr_engine_add_silence(s->engine, j, id, err, sizeof(err));
	json_decref(j);
	if (rc)
		return reply_error(s, c, rc == -1 ? 400 : 500, err);
	return reply_json(c, 200, json_pack("{s:s}", v2 ? "silenceID" : "id", id));
}

/* /api/v1/actions..., /api/v1/runbooks...: action_api.c answers. */
static enum MHD_Result handle_actions(struct corr_server *s, struct MHD_Connection *c,
				      const char *url, const char *method, struct request *rq)
{
	enum MHD_Result replied;
	json_t *body = NULL, *out = NULL;

	if (!strcmp(method, "POST") && !(body = body_json(s, c, rq, &replied)))
		return replied;
	unsigned status =
		corr_actions_http(corr_engine_actions(s->engine), method, url,
				  MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state"),
				  MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "incident"),
				  body, &out);
	json_decref(body);
	return reply_json(c, status, out);
}

static enum MHD_Result handle_get(struct corr_server *s, struct MHD_Connection *c, const char *url)
{
	if (!strcmp(url, "/api/v1/incidents")) {
		const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
		const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
		const char *detail =
			MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "detail");
		long limit = lim ? strtol(lim, NULL, 10) : 1000;
		if (state && strcmp(state, "firing") && strcmp(state, "resolved"))
			return reply_error(s, c, 400, "state must be firing or resolved");
		if (limit <= 0 || limit > 100000)
			return reply_error(s, c, 400, "limit must be 1..100000");
		return reply_json(c, 200,
				  corr_engine_incidents_json(s->engine, state, (size_t)limit,
							     detail && strcmp(detail, "0")));
	}
	if (!strncmp(url, "/api/v1/incidents/", 18)) {
		json_t *j = corr_engine_incident_json(s->engine, url + 18);
		if (!j)
			return reply_error(s, c, 404, "no such incident");
		return reply_json(c, 200, j);
	}
	unsigned status;
	json_t *body;
	if (corr_api_v2_get(s->api_v2, c, url, &status, &body))
		return reply_json(c, status, body);
	if (!strcmp(url, "/api/v1/silences"))
		return reply_json(c, 200, corr_engine_silences_json(s->engine));
	return reply_error(s, c, 404, "no such endpoint");
}

static enum MHD_Result route(struct corr_server *s, struct MHD_Connection *c, const char *url,
			     const char *method, struct request *rq)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");

	if (get && !strcmp(url, "/healthz"))
		return reply(c, 200, "application/json", strdup("{\"status\":\"ok\"}\n"));
	if (get && !strcmp(url, "/metrics")) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		if (!f)
			return reply_error(s, c, 500, "out of memory");
		corr_engine_render_metrics(s->engine, f);
		fclose(f);
		return reply(c, 200, "text/plain; version=0.0.4", buf);
	}
	if ((get || !strcmp(method, "HEAD")) && corr_console_handles(url))
		return corr_console_reply(c, url);
	if (strncmp(url, "/api/", 5))
		return reply_error(s, c, 404, "no such endpoint");
	if (!token_ok(s->cfg, c)) {
		corr_metrics_add(&corr_engine_metrics(s->engine)->auth_failures, 1);
		return reply_error(s, c, 401, "missing or wrong bearer token");
	}
	if (post && !strcmp(url, "/api/v1/events"))
		return handle_events(s, c, rq, 0);
	if (post && !strcmp(url, "/api/v1/alertmanager"))
		return handle_events(s, c, rq, 1);
	if (post && !strcmp(url, "/api/v2/alerts"))
		return handle_post_alerts(s, c, rq);
	if (post && (!strcmp(url, "/api/v1/silences") || !strcmp(url, "/api/v2/silences")))
		return handle_post_silence(s, c, rq, !strcmp(url, "/api/v2/silences"));
	if (!strcmp(method, "DELETE") &&
	    (!strncmp(url, "/api/v1/silences/", 17) || !strncmp(url, "/api/v2/silence/", 16))) {
		/* "/api/v1/silences/" is 17 characters, "/api/v2/silence/" 16. */
		const char *id = url + (url[6] == '1' ? 17 : 16);
		int rc = corr_engine_expire_silence(s->engine, id);
		if (rc == -1)
			return reply_error(s, c, 404, "no such silence");
		if (rc)
			return reply_error(s, c, 500, "cannot store the silence");
		return reply(c, 200, "application/json", strdup("{}\n"));
	}
	if (!strncmp(url, "/api/v1/actions", 15) || !strncmp(url, "/api/v1/runbooks", 16))
		return handle_actions(s, c, url, method, rq);
	if (get)
		return handle_get(s, c, url);
	return reply_error(s, c, 405, "method not allowed on this endpoint");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **ctx)
{
	struct corr_server *s = cls;
	struct request *rq = *ctx;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->started_ns = mono_ns();
		*ctx = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		/* Keep reading past the limit (discarding) so we can answer 413. */
		if (!rq->too_big && rq->len + *upload_size > s->cfg->max_body_bytes) {
			rq->too_big = 1;
			free(rq->body);
			rq->body = NULL;
			rq->len = 0;
		}
		if (!rq->too_big) {
			char *g = realloc(rq->body, rq->len + *upload_size + 1);
			if (!g)
				return MHD_NO;
			rq->body = g;
			memcpy(rq->body + rq->len, upload_data, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return route(s, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *ctx;

	if (rq) {
		free(rq->body);
		free(rq);
		*ctx = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_warn("http: %s", msg);
}

static void *ticker_main(void *arg)
{
	struct corr_server *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		pthread_mutex_unlock(&s->lock);
		int64_t wait = corr_engine_tick(s->engine, corr_now_ms());
		/* Granularity of group timers: 50 ms is well inside any tolerance. */
		if (wait > 50 || wait <= 0)
			wait = 50;
		pthread_mutex_lock(&s->lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += wait * 1000000;
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		if (!s->stop)
			pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *v6, char *err,
			size_t errlen)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		goto bad;
	memcpy(host, listen, colon - listen);
	host[colon - listen] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		goto bad;
	if (host[0] == '[') {
		size_t l = strlen(host);
		if (l < 2 || host[l - 1] != ']')
			goto bad;
		host[l - 1] = 0;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			goto bad;
		*v6 = 1;
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	if (!host[0] || !strcmp(host, "*"))
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		goto bad;
	*v6 = 0;
	return 0;
bad:
	snprintf(err, errlen, "listen address \"%s\" is not HOST:PORT (IPv4, [IPv6] or *)", listen);
	return -1;
}

struct corr_server *corr_server_start(struct corr_engine *e, const char *listen, char *err,
				      size_t errlen)
{
	struct corr_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	int v6;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->engine = e;
	s->cfg = corr_engine_config(e);
	if (parse_listen(listen, &ss, &v6, err, errlen)) {
		free(s);
		return NULL;
	}
	s->api_v2 = corr_api_v2_new(e);
	if (!s->api_v2) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg->threads,
				     MHD_OPTION_CONNECTION_TIMEOUT, 60u,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(errno));
		goto fail;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	int rc = pthread_create(&s->ticker, NULL, ticker_main, s);
	if (rc) {
		snprintf(err, errlen, "cannot start the dispatcher thread: %s", strerror(rc));
		MHD_stop_daemon(s->daemon);
		goto fail;
	}
	return s;
fail:
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	corr_api_v2_free(s->api_v2);
	free(s);
	return NULL;
}

int corr_server_check_listen(const char *listen, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int v6;

	return parse_listen(listen, &ss, &v6, err, errlen);
}

uint16_t corr_server_port(const struct corr_server *s)
{
	return s->port;
}

void corr_server_stop(struct corr_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->ticker, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	corr_api_v2_free(s->api_v2);
	free(s);
}
