#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "log.h"

struct snapshot {
	const char *path;
	const char *type;
	char *text;
	size_t len;
};

enum { SNAP_METRICS, SNAP_SERVICES, SNAP_EVENTS, SNAP_COUNT };

struct httpd {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	struct snapshot snaps[SNAP_COUNT];
	unsigned port;
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
	else
		rc = reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "not ready: first interval not finished\n");
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
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "only GET is served here\n");
	for (int i = 0; i < SNAP_COUNT; i++)
		if (!strcmp(url, h->snaps[i].path))
			return serve_snapshot(h, conn, &h->snaps[i], h->snaps[i].type);
	if (!strcmp(url, "/healthz"))
		return reply_text(conn, MHD_HTTP_OK, "text/plain", "ok\n");
	if (!strcmp(url, "/readyz")) {
		pthread_mutex_lock(&h->lock);
		bool ready = h->snaps[SNAP_METRICS].text != NULL;
		pthread_mutex_unlock(&h->lock);
		return ready ? reply_text(conn, MHD_HTTP_OK, "text/plain", "ready\n")
			     : reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "not ready\n");
	}
	if (!strcmp(url, "/"))
		return reply_text(conn, MHD_HTTP_OK, "text/html", "<html><body><h1>seismo agent</h1><a href=\"/metrics\">/metrics</a> "
			     "<a href=\"/api/v1/services\">/api/v1/services</a> "
			     "<a href=\"/api/v1/events\">/api/v1/events</a></body></html>\n");
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
}

static int parse_listen(const char *listen, struct sockaddr_in6 *sa)
{
	char host[128] = "";
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (!colon)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	/* "[::1]" -> "::1" */
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = 0;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons((uint16_t)port);
	if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::")) {
		sa->sin6_addr = in6addr_any;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sa->sin6_addr) == 1)
		return 0;
	struct in_addr v4;
	if (inet_pton(AF_INET, host, &v4) != 1)
		return -1;
	sa->sin6_addr.s6_addr[10] = 0xff;
	sa->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sa->sin6_addr.s6_addr[12], &v4, 4);
	return 0;
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
		      enum MHD_RequestTerminationCode toe)
{
	agent_actions_completed(state);
}

static struct MHD_Daemon *start_daemon(struct httpd *h, const struct sockaddr *sa,
					unsigned extra_flags)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | extra_flags, 0,
				NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_CONNECTION_LIMIT, 64U,
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
}

/* The IPv4 form of a v4-mapped or any address, for hosts booted without IPv6. */
static bool ipv4_of(const struct sockaddr_in6 *sa6, struct sockaddr_in *sa4)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(sa4, 0, sizeof(*sa4));
	sa4->sin_family = AF_INET;
	sa4->sin_port = sa6->sin6_port;
	if (IN6_IS_ADDR_UNSPECIFIED(&sa6->sin6_addr)) {
		sa4->sin_addr.s_addr = htonl(INADDR_ANY);
		return true;
	}
	if (memcmp(sa6->sin6_addr.s6_addr, v4mapped, 12))
		return false;
	memcpy(&sa4->sin_addr, &sa6->sin6_addr.s6_addr[12], 4);
	return true;
}

struct httpd *httpd_start(const char *listen)
{
	struct sockaddr_in6 sa;
	struct sockaddr_in sa4;
	struct httpd *h;
	const union MHD_DaemonInfo *info;
	int err;

	if (parse_listen(listen, &sa)) {
		log_error("listen address '%s' is not host:port", listen);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->snaps[SNAP_METRICS] = (struct snapshot){ .path = "/metrics", .type = "text/plain; version=0.0.4" };
	h->snaps[SNAP_SERVICES] = (struct snapshot){ .path = "/api/v1/services", .type = "application/json" };
	h->snaps[SNAP_EVENTS] = (struct snapshot){ .path = "/api/v1/events", .type = "application/json" };
	h->daemon = start_daemon(h, (const struct sockaddr *)&sa, MHD_USE_DUAL_STACK);
	err = errno;
	/* A kernel booted with ipv6.disable=1 has no AF_INET6 sockets at all. */
	if (!h->daemon && ipv4_of(&sa, &sa4)) {
		h->daemon = start_daemon(h, (const struct sockaddr *)&sa4, 0);
		if (!h->daemon)
			err = errno;
	}
	if (!h->daemon) {
		log_error("cannot serve HTTP on %s: %s (is the port in use?)", listen, strerror(err));
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : ntohs(sa.sin6_port);
	log_info("serving /metrics on %s (port %u)", listen, h->port);
	return h;
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
	pthread_mutex_destroy(&h->lock);
	free(h);
}
