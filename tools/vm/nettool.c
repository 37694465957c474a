/* nettool: the measuring instrument of the chaos VM test and benchmark.
 * Built statically so the initramfs needs no libraries for it.
 *
 *   nettool udp-echo PORT
 *       echo every UDP datagram back to its sender, forever
 *   nettool udp-rtt ADDR PORT COUNT RATE FLOWS [WAIT_MS]
 *       send COUNT probes at RATE per second, round-robin over FLOWS
 *       sockets (distinct source ports: distinct flows), and print one line
 *       of RTT statistics plus per-flow reordering; lost = never echoed
 *   nettool tcp-sink PORT
 *       accept one connection, read it to the end, print the byte count
 *   nettool tcp-send ADDR PORT BYTES
 *       send BYTES in 1000-byte writes with TCP_NODELAY (many segments)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct probe {
	uint32_t seq;
	uint32_t flow;
	uint64_t sent_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "nettool: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in address(const char *host, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "nettool: bad IPv4 address %s\n", host);
		exit(2);
	}
	return sa;
}

static __attribute__((noreturn)) void udp_echo(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[2048];

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("udp-echo bind");
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (n > 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double quantile_us(const uint64_t *sorted, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return (double)sorted[i] / 1000.0;
}

/* Receives whatever echoes are queued on the flows' sockets. */
static void drain(struct pollfd *fds, int flows, uint64_t *rtts, size_t *received,
		  uint32_t *max_seq_seen, unsigned *reordered, int timeout_ms)
{
	if (poll(fds, (nfds_t)flows, timeout_ms) <= 0)
		return;
	for (int f = 0; f < flows; f++) {
		struct probe p;

		if (!(fds[f].revents & POLLIN))
			continue;
		while (recv(fds[f].fd, &p, sizeof(p), MSG_DONTWAIT) == (ssize_t)sizeof(p)) {
			uint64_t t = now_ns();

			rtts[(*received)++] = t - p.sent_ns;
			/* within one flow, echoes must come back in send order */
			if (p.seq + 1 < max_seq_seen[f])
				(*reordered)++;
			if (p.seq + 1 > max_seq_seen[f])
				max_seq_seen[f] = p.seq + 1;
		}
	}
}

static int udp_rtt(char **argv, int argc)
{
	struct sockaddr_in to = address(argv[0], argv[1]);
	long count = atol(argv[2]), rate = atol(argv[3]), flows = atol(argv[4]);
	long wait_ms = argc > 5 ? atol(argv[5]) : 3000;
	uint64_t interval, next, *rtts, deadline;
	uint32_t *max_seq_seen;
	unsigned reordered = 0;
	size_t received = 0;
	struct pollfd *fds;

	if (count <= 0 || rate <= 0 || flows <= 0 || flows > 4096) {
		fprintf(stderr, "nettool: udp-rtt ADDR PORT COUNT RATE FLOWS [WAIT_MS]\n");
		return 2;
	}
	rtts = calloc((size_t)count, sizeof(*rtts));
	fds = calloc((size_t)flows, sizeof(*fds));
	max_seq_seen = calloc((size_t)flows, sizeof(*max_seq_seen));
	if (!rtts || !fds || !max_seq_seen)
		die("calloc");
	for (long f = 0; f < flows; f++) {
		fds[f].fd = socket(AF_INET, SOCK_DGRAM, 0);
		fds[f].events = POLLIN;
		if (fds[f].fd < 0 || connect(fds[f].fd, (struct sockaddr *)&to, sizeof(to)))
			die("udp-rtt socket");
	}
	interval = 1000000000ULL / (uint64_t)rate;
	next = now_ns();
	for (long i = 0; i < count; i++) {
		int f = (int)(i % flows);
		struct probe p = { .seq = (uint32_t)(i / flows), .flow = (uint32_t)f };

		for (uint64_t t = now_ns(); t < next; t = now_ns())
			drain(fds, (int)flows, rtts, &received, max_seq_seen, &reordered,
			      (int)((next - t) / 1000000));
		p.sent_ns = now_ns();
		if (send(fds[f].fd, &p, sizeof(p), 0) < 0 && errno != ECONNREFUSED)
			die("udp-rtt send");
		next += interval;
	}
	deadline = now_ns() + (uint64_t)wait_ms * 1000000ULL;
	while (received < (size_t)count && now_ns() < deadline)
		drain(fds, (int)flows, rtts, &received, max_seq_seen, &reordered, 50);
	qsort(rtts, received, sizeof(*rtts), compare_u64);
	printf("sent=%ld received=%zu lost=%ld min_us=%.0f p01_us=%.0f p05_us=%.0f "
	       "p50_us=%.0f p95_us=%.0f p99_us=%.0f max_us=%.0f reordered=%u\n",
	       count, received, count - (long)received, quantile_us(rtts, received, 0),
	       quantile_us(rtts, received, 0.01), quantile_us(rtts, received, 0.05),
	       quantile_us(rtts, received, 0.5), quantile_us(rtts, received, 0.95),
	       quantile_us(rtts, received, 0.99), received ? (double)rtts[received - 1] / 1000 : 0,
	       reordered);
	return 0;
}

static int tcp_sink(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, conn;
	unsigned long long total = 0;
	char buf[65536];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		die("tcp-sink listen");
	conn = accept(fd, NULL, NULL);
	if (conn < 0)
		die("tcp-sink accept");
	while ((n = read(conn, buf, sizeof(buf))) > 0)
		total += (unsigned long long)n;
	printf("bytes=%llu\n", total);
	return 0;
}

static int tcp_send(char **argv)
{
	struct sockaddr_in to = address(argv[0], argv[1]);
	long long bytes = atoll(argv[2]);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char chunk[1000];

	memset(chunk, 'x', sizeof(chunk));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)))
		die("tcp-send connect");
	while (bytes > 0) {
		ssize_t n = write(fd, chunk,
				  bytes < (long long)sizeof(chunk) ? (size_t)bytes : sizeof(chunk));

		if (n < 0)
			die("tcp-send write");
		bytes -= n;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "udp-echo"))
		udp_echo(argv[2]);
	if (argc >= 7 && !strcmp(argv[1], "udp-rtt"))
		return udp_rtt(argv + 2, argc - 2);
	if (argc >= 3 && !strcmp(argv[1], "tcp-sink"))
		return tcp_sink(argv[2]);
	if (argc >= 5 && !strcmp(argv[1], "tcp-send"))
		return tcp_send(argv + 2);
	fprintf(stderr, "usage: nettool udp-echo PORT | udp-rtt ADDR PORT COUNT RATE FLOWS "
			"[WAIT_MS] | tcp-sink PORT | tcp-send ADDR PORT BYTES\n");
	return 2;
}
