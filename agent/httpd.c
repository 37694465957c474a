#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "listen_addr.h"
#include "log.h"

struct snapshot {
	const char *path;
	const char *type;
	char *text;
	size_t len;
};

enum {
	SNAP_METRICS,
	SNAP_SERVICES,
	SNAP_EVENTS,
	SNAP_COUNT
};

/* Connection handling. A scraper and a liveness probe must always get in:
 * idle connections are cheap with epoll (no select() FD_SETSIZE cap), so the
 * limit is high; one address may hold at most half of it, so a client that
 * leaks or hoards connections leaves room for Prometheus and the kubelet;
 * an idle connection is closed after a few seconds, and a connection that
 * arrives while all slots are taken waits in the kernel's accept queue
 * (first come, first served) until one frees. Prometheus' keep-alive does
 * not survive the idle timeout between scrapes; it reconnects, one TCP
 * handshake per scrape. */
#define HTTP_CONNECTION_LIMIT 2048U
#define HTTP_PER_ADDRESS_LIMIT (HTTP_CONNECTION_LIMIT / 2)
#define HTTP_IDLE_TIMEOUT_S 5U
#define HTTP_BACKLOG 1024
/* Requests here are small GETs; responses come from their own buffers. */
#define HTTP_MEMORY_PER_CONNECTION (16U * 1024)
/* File descriptors kept for everything else (BPF maps and programs, spool,
 * curl) when the connection limit is derived from RLIMIT_NOFILE. */
#define FDS_RESERVED 256U
/* libmicrohttpd logs one line per refused client: at most this many per
 * minute reach the log, the rest are counted. */
#define MHD_LOG_LINES_PER_MINUTE 10

struct httpd {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	struct snapshot snaps[SNAP_COUNT];
	bool ready; /* the first full interval was published */
	unsigned port;
	pthread_mutex_t log_lock;
	time_t log_window;
	unsigned log_lines, log_suppressed;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *type,
				  const char *body)
{
	return reply(conn, status, type, body, strlen(body));
}

static enum MHD_Result serve_snapshot(struct httpd *h, struct MHD_Connection *conn,
				      struct snapshot *snap, const char *type)
{
	enum MHD_Result rc;

	pthread_mutex_lock(&h->lock);
	if (snap->text)
		rc = reply(conn, MHD_HTTP_OK, type, snap->text, snap->len);
	else /* only while the BPF programs load, before the first snapshot */
		rc = reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
				"starting: BPF programs loading\n");
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	struct httpd *h = cls;

	/* The one write endpoint: runbook actions from the correlator (actions.c). */
	if (!strcmp(url, "/api/v1/actions") && !strcmp(method, "POST"))
		return (enum MHD_Result)agent_actions_http(conn, upload, upload_size, state);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				  "only GET is served here\n");
	for (int i = 0; i < SNAP_COUNT; i++)
		if (!strcmp(url, h->snaps[i].path))
			return serve_snapshot(h, conn, &h->snaps[i], h->snaps[i].type);
	if (!strcmp(url, "/healthz"))
		return reply_text(conn, MHD_HTTP_OK, "text/plain", "ok\n");
	if (!strcmp(url, "/readyz")) {
		pthread_mutex_lock(&h->lock);
		bool ready = h->ready;
		pthread_mutex_unlock(&h->lock);
		return ready ? reply_text(conn, MHD_HTTP_OK, "text/plain", "ready\n")
			     : reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
					  "not ready\n");
	}
	if (!strcmp(url, "/"))
		return reply_text(
			conn, MHD_HTTP_OK, "text/html",
			"<html><body><h1>seismo agent</h1><a href=\"/metrics\">/metrics</a> "
			"<a href=\"/api/v1/services\">/api/v1/services</a> "
			"<a href=\"/api/v1/events\">/api/v1/events</a></body></html>\n");
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
}

/* libmicrohttpd's messages go through the agent's log (timestamped, levelled). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	time_t now = time(NULL);
	unsigned suppressed = 0;
	bool show;
	char line[512];

	pthread_mutex_lock(&h->log_lock);
	if (now - h->log_window >= 60) {
		suppressed = h->log_suppressed;
		h->log_window = now;
		h->log_lines = 0;
		h->log_suppressed = 0;
	}
	show = h->log_lines < MHD_LOG_LINES_PER_MINUTE;
	if (show)
		h->log_lines++;
	else
		h->log_suppressed++;
	pthread_mutex_unlock(&h->log_lock);
	if (suppressed)
		log_warn("libmicrohttpd: %u more messages in the last minute not shown",
			 suppressed);
	if (!show)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	log_warn("libmicrohttpd: %s", line);
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
		      enum MHD_RequestTerminationCode toe)
{
	agent_actions_completed(state);
}

/* Every idle connection holds a descriptor: the soft RLIMIT_NOFILE (often
 * 1024) is raised to the hard one, and the limit fits what is left. */
static unsigned connection_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 64;
	if (rl.rlim_cur < HTTP_CONNECTION_LIMIT + FDS_RESERVED && rl.rlim_cur < rl.rlim_max) {
		rlim_t want = HTTP_CONNECTION_LIMIT + FDS_RESERVED;
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want
										 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= HTTP_CONNECTION_LIMIT + FDS_RESERVED)
		return HTTP_CONNECTION_LIMIT;
	return rl.rlim_cur > FDS_RESERVED + 64 ? (unsigned)(rl.rlim_cur - FDS_RESERVED) : 64;
}

struct httpd *httpd_start(const char *listen)
{
	struct sockaddr_in6 sa;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	struct httpd *h;
	unsigned limit;
	char why[300];
	int fd;

	if (listen_addr_parse(listen, &sa, why, sizeof(why))) {
		log_error("listen address: %s", why);
		return NULL;
	}
	/* Bound here, not by libmicrohttpd, so a port in use is one clear error. */
	fd = listen_addr_open(listen, &sa, HTTP_BACKLOG, why, sizeof(why));
	if (fd < 0) {
		log_error("cannot serve HTTP on %s", why);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->log_lock, NULL);
	h->snaps[SNAP_METRICS] =
		(struct snapshot){ .path = "/metrics", .type = "text/plain; version=0.0.4" };
	h->snaps[SNAP_SERVICES] =
		(struct snapshot){ .path = "/api/v1/services", .type = "application/json" };
	h->snaps[SNAP_EVENTS] =
		(struct snapshot){ .path = "/api/v1/events", .type = "application/json" };
	limit = connection_limit();
	h->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
		limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		limit / 2 < HTTP_PER_ADDRESS_LIMIT ? limit / 2 : HTTP_PER_ADDRESS_LIMIT,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_PER_CONNECTION,
		MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (!h->daemon) {
		log_error("cannot serve HTTP on %s: libmicrohttpd did not start", listen);
		close(fd);
		pthread_mutex_destroy(&h->log_lock);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	h->port = ntohs(sa.sin6_port);
	if (!getsockname(fd, (struct sockaddr *)&bound, &bound_len))
		h->port = ntohs(bound.ss_family == AF_INET6
					? ((struct sockaddr_in6 *)&bound)->sin6_port
					: ((struct sockaddr_in *)&bound)->sin_port);
	log_info(
		"serving /metrics on %s (port %u; up to %u connections, idle ones closed after %us)",
		listen, h->port, limit, HTTP_IDLE_TIMEOUT_S);
	return h;
}

void httpd_set_ready(struct httpd *h)
{
	pthread_mutex_lock(&h->lock);
	h->ready = true;
	pthread_mutex_unlock(&h->lock);
}

unsigned httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_publish(struct httpd *h, const char *path, char *text, size_t len)
{
	if (!text)
		return;
	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < SNAP_COUNT; i++) {
		if (strcmp(path, h->snaps[i].path))
			continue;
		free(h->snaps[i].text);
		h->snaps[i].text = text;
		h->snaps[i].len = len;
		text = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	free(text); /* an unknown path: nothing serves it */
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	for (int i = 0; i < SNAP_COUNT; i++)
		free(h->snaps[i].text);
	pthread_mutex_destroy(&h->log_lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
