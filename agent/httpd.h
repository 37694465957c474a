/* The agent's HTTP endpoint (libmicrohttpd, its own thread): serves the
 * latest snapshot of /metrics and /api/v1/services that the main loop
 * publishes each interval, so a scrape never touches the kernel maps. */
#ifndef SEISMO_HTTPD_H
#define SEISMO_HTTPD_H

#include <stddef.h>

struct httpd;

/* listen is "host:port" or ":port"; returns NULL with a logged reason. */
struct httpd *httpd_start(const char *listen);
void httpd_stop(struct httpd *h);
/* Takes ownership of the malloc'd texts (either may be NULL = unchanged). */
void httpd_publish(struct httpd *h, char *metrics, size_t metrics_len, char *services_json,
		   size_t services_len);
/* The port actually bound (useful with port 0). */
unsigned httpd_port(const struct httpd *h);

#endif
