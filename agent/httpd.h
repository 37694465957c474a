/* The agent's HTTP endpoint (libmicrohttpd, its own thread): serves the
 * latest snapshot of /metrics, /api/v1/services and /api/v1/events that the main loop
 * publishes (at start, then each interval), so a scrape never touches the kernel
 * maps. /healthz answers while the process runs; /readyz once the first
 * interval was published. */
#ifndef SEISMO_HTTPD_H
#define SEISMO_HTTPD_H

#include <stddef.h>

struct httpd;

/* listen is "host:port" or ":port"; returns NULL with a logged reason. */
struct httpd *httpd_start(const char *listen);
void httpd_stop(struct httpd *h);
/* Serves text (malloc'd; ownership passes) at path from now on: one of
 * /metrics, /api/v1/services, /api/v1/events. NULL text = unchanged. */
void httpd_publish(struct httpd *h, const char *path, char *text, size_t len);
/* /readyz answers 200 from now on. */
void httpd_set_ready(struct httpd *h);
/* The port actually bound (useful with port 0). */
unsigned httpd_port(const struct httpd *h);

#endif
