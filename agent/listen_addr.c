#include "listen_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int listen_addr_parse(const char *text, struct sockaddr_in6 *out, char *why, size_t why_size)
{
	const char *colon = strrchr(text, ':');
	char host[64], *end;
	struct in_addr v4;
	size_t host_len;
	long port;

	if (!colon || !colon[1]) {
		snprintf(why, why_size, "'%s' is not host:port (e.g. 127.0.0.1:9464)", text);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '-' || colon[1] == '+' || port > 65535) {
		snprintf(why, why_size, "'%s': port '%s' is not a number from 0 to 65535", text,
			 colon + 1);
		return -1;
	}
	host_len = (size_t)(colon - text);
	/* "[::1]" -> "::1"; a bare IPv6 address needs the brackets. */
	if (host_len >= 2 && text[0] == '[' && text[host_len - 1] == ']') {
		text++;
		host_len -= 2;
	} else if (memchr(text, ':', host_len)) {
		snprintf(why, why_size, "'%s': write an IPv6 address in brackets, e.g. [::1]:9464",
			 text);
		return -1;
	}
	if (host_len >= sizeof(host)) {
		snprintf(why, why_size, "'%.*s' is not an IP address", (int)host_len, text);
		return -1;
	}
	memcpy(host, text, host_len);
	host[host_len] = 0;
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	out->sin6_port = htons((uint16_t)port);
	if (!strcmp(host, "localhost")) /* the one name that needs no DNS */
		snprintf(host, sizeof(host), "127.0.0.1");
	if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::")) {
		out->sin6_addr = in6addr_any;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &out->sin6_addr) == 1)
		return 0;
	if (inet_pton(AF_INET, host, &v4) != 1) {
		snprintf(why, why_size, "'%s' is not an IP address (host names are not resolved)",
			 host);
		return -1;
	}
	out->sin6_addr.s6_addr[10] = 0xff;
	out->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->sin6_addr.s6_addr[12], &v4, 4);
	return 0;
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

/* A bound TCP socket, or -1 with "ADDR: reason" in why. */
static int listen_addr_bind(const char *text, const struct sockaddr_in6 *addr, char *why,
			    size_t why_size)
{
	struct sockaddr_in sa4;
	const struct sockaddr *sa = (const struct sockaddr *)addr;
	socklen_t len = sizeof(*addr);
	int fd, one = 1, zero = 0;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* A kernel booted with ipv6.disable=1 has no AF_INET6 sockets at all. */
	if (fd < 0 && errno == EAFNOSUPPORT && ipv4_of(addr, &sa4)) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		sa = (const struct sockaddr *)&sa4;
		len = sizeof(sa4);
	}
	if (fd < 0) {
		snprintf(why, why_size, "%s: cannot create a socket: %s", text, strerror(errno));
		return -1;
	}
	/* A restarted agent rebinds at once despite connections in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, sa, len)) {
		int err = errno;
		snprintf(why, why_size, "%s: %s%s", text, strerror(err),
			 err == EADDRINUSE	? " (another process listens on this port: "
						  "ss -ltnp to see which)"
			 : err == EADDRNOTAVAIL ? " (no interface of this host has that address)"
						: "");
		close(fd);
		return -1;
	}
	return fd;
}

int listen_addr_open(const char *text, const struct sockaddr_in6 *addr, int backlog, char *why,
		     size_t why_size)
{
	int fd = listen_addr_bind(text, addr, why, why_size);

	if (fd < 0)
		return -1;
	if (listen(fd, backlog)) {
		snprintf(why, why_size, "%s: listen: %s", text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int listen_addr_check_local(const char *text, const struct sockaddr_in6 *addr, char *why,
			    size_t why_size)
{
	struct sockaddr_in6 any_port = *addr;
	int fd;

	any_port.sin6_port = 0;
	fd = listen_addr_bind(text, &any_port, why, why_size);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}
