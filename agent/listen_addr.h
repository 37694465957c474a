/* The agent's HTTP listen address, "host:port": parsed the same way by the
 * config check (so --check-config refuses what a start would refuse) and by
 * the HTTP server, which binds the socket itself to report one clear error. */
#ifndef SEISMO_LISTEN_ADDR_H
#define SEISMO_LISTEN_ADDR_H

#include <netinet/in.h>
#include <stddef.h>

/* "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", ":9464" (all addresses);
 * port 0 = any free port. Hosts are IP addresses or localhost, not names (a
 * name would need DNS at start). IPv4 addresses come back v4-mapped. Returns 0, or -1
 * with the reason in why. */
int listen_addr_parse(const char *text, struct sockaddr_in6 *out, char *why, size_t why_size);

/* A listening TCP socket on addr (dual-stack for the any address; IPv4 when
 * the kernel has no IPv6). Returns the fd, or -1 with "ADDR: reason" in why. */
int listen_addr_open(const char *text, const struct sockaddr_in6 *addr, int backlog, char *why,
		     size_t why_size);

/* Whether this host has addr's address (bound with port 0, so it neither
 * takes nor needs the port: a running agent may hold it). 0, or -1 with why. */
int listen_addr_check_local(const char *text, const struct sockaddr_in6 *addr, char *why,
			    size_t why_size);

#endif
