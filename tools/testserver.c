/* seismo-testserver: a server whose latency and status the client chooses,
 * so tests and benchmarks know what the agent should measure.
 *
 *   HTTP/1.1 (keep-alive):  GET /work?us=5000&status=500&size=100
 *       sleeps 5000 us after reading the request, then answers 500 with a
 *       100-byte body, in one write (the agent parses the status from the
 *       first bytes of the response).
 *   line protocol (--protocol line): "WORK 5000\n" -> sleeps 5000 us -> "DONE\n".
 *       Not HTTP: the agent must count it as a generic request/response turn.
 *
 * One thread accepts per listening port, one thread serves each connection.
 * With --cgroup-parent DIR and --ports N it forks one child per port, each in
 * its own cgroup DIR/seismo-svc-PORT.service: one process tree standing in for
 * N services (the memory benchmark). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 16
#define MAX_REQUEST 8192
#define MAX_SLEEP_US (600ULL * 1000000ULL)

enum protocol {
	PROTO_HTTP,
	PROTO_LINE
};

struct options {
	enum protocol protocol;
	const char *listen[MAX_LISTEN];
	int n_listen;
	unsigned ports_from;	/* --ports-from: first port of a range */
	unsigned ports;		/* --ports: how many instances */
	const char *host;	/* address for the port range */
	const char *hosts_from; /* --hosts-from: one IPv4 address per instance, same port */
	const char *cgroup_parent;
	const char *ready_file;
};

static enum protocol protocol;

/* --- small helpers ----------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seismo-testserver [--protocol http|line] --listen HOST:PORT [--listen ...]\n"
		"       seismo-testserver [--host HOST | --hosts-from IPV4] --ports-from PORT --ports N\n"
		"                         [--cgroup-parent DIR] [--ready-file FILE]\n"
		"\n"
		"HTTP: GET|POST /any/path?us=MICROSECONDS&status=CODE&size=BYTES\n"
		"line: \"WORK MICROSECONDS\\n\" answered by \"DONE\\n\"\n"
		"--ports N: N listeners on consecutive ports, or with --hosts-from on N\n"
		"           consecutive IPv4 addresses (127.0.1.1, 127.0.1.2, ...) and one port\n"
		"--cgroup-parent: fork one child per listener, each in DIR/seismo-svc-I.service\n"
		"--ready-file: written once every port listens\n");
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void sleep_us(unsigned long long us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000),
			       .tv_nsec = (long)(us % 1000000) * 1000 };

	if (us > MAX_SLEEP_US)
		return;
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* "key=value" from a query string, or def. */
static unsigned long long query_uint(const char *query, const char *key, unsigned long long def)
{
	size_t klen = strlen(key);

	for (const char *p = query; p && *p;) {
		if (!strncmp(p, key, klen) && p[klen] == '=')
			return strtoull(p + klen + 1, NULL, 10);
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return def;
}

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

/* --- one connection ---------------------------------------------------------------- */

struct conn_buf {
	int fd;
	char data[MAX_REQUEST + 1];
	size_t len;
};

/* Reads until buf holds delim; returns the offset just past it, 0 on EOF/error. */
static size_t read_until(struct conn_buf *b, const char *delim)
{
	for (;;) {
		char *hit;
		b->data[b->len] = 0;
		hit = strstr(b->data, delim);
		if (hit)
			return (size_t)(hit - b->data) + strlen(delim);
		if (b->len == MAX_REQUEST)
			return 0;
		ssize_t n = read(b->fd, b->data + b->len, MAX_REQUEST - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		b->len += (size_t)n;
	}
}

static void consume(struct conn_buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

/* Discards a request body of len bytes, part of which may already be buffered. */
static int skip_body(struct conn_buf *b, unsigned long long len)
{
	size_t have = b->len < len ? b->len : (size_t)len;
	char sink[4096];

	consume(b, have);
	len -= have;
	while (len) {
		ssize_t n = read(b->fd, sink, len < sizeof(sink) ? (size_t)len : sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len -= (unsigned long long)n;
	}
	return 0;
}

static unsigned long long header_uint(const char *head, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, nlen) && p[2 + nlen] == ':')
			return strtoull(p + 3 + nlen, NULL, 10);
	return 0;
}

/* One HTTP request; returns 0 to keep the connection, -1 to close it. */
static int serve_http(struct conn_buf *b)
{
	static const char filler[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	size_t end = read_until(b, "\r\n\r\n");
	char method[16], target[2048], *query, response[MAX_REQUEST];
	unsigned long long us, size, body_len;
	unsigned status;
	int n;

	if (!end)
		return -1;
	b->data[end - 2] = 0; /* headers end; keep one CRLF for header_uint */
	if (sscanf(b->data, "%15s %2047s", method, target) != 2)
		return -1;
	body_len = header_uint(b->data, "Content-Length");
	query = strchr(target, '?');
	us = query_uint(query ? query + 1 : NULL, "us", 0);
	status = (unsigned)query_uint(query ? query + 1 : NULL, "status", 200);
	size = query_uint(query ? query + 1 : NULL, "size", 3);
	if (status < 100 || status > 999)
		status = 400;
	if (size > sizeof(response) / 2)
		size = sizeof(response) / 2;
	consume(b, end);
	if (body_len && skip_body(b, body_len))
		return -1;

	sleep_us(us);
	n = snprintf(response, sizeof(response),
		     "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\nContent-Length: %llu\r\n"
		     "Connection: keep-alive\r\n\r\n",
		     status, reason_phrase(status), size);
	for (unsigned long long i = 0; i < size; i++)
		response[n++] = i + 1 == size ? '\n' : filler[i % (sizeof(filler) - 1)];
	/* HEAD answers carry no body. */
	if (!strcmp(method, "HEAD"))
		n -= (int)size;
	return write_all(b->fd, response, (size_t)n);
}

/* One line-protocol request: "WORK <us>\n" -> "DONE\n". */
static int serve_line(struct conn_buf *b)
{
	size_t end = read_until(b, "\n");
	unsigned long long us = 0;

	if (!end)
		return -1;
	b->data[end - 1] = 0;
	if (sscanf(b->data, "WORK %llu", &us) != 1) {
		consume(b, end);
		return write_all(b->fd, "ERR expected WORK <microseconds>\n", 33);
	}
	consume(b, end);
	sleep_us(us);
	return write_all(b->fd, "DONE\n", 5);
}

static void *serve_connection(void *arg)
{
	struct conn_buf *b = arg;
	int one = 1;

	setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while ((protocol == PROTO_HTTP ? serve_http(b) : serve_line(b)) == 0)
		;
	close(b->fd);
	free(b);
	return NULL;
}

/* --- listening ---------------------------------------------------------------------- */

static int listen_on(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	int fd, one = 1, rc = getaddrinfo(host, port, &hints, &ai);

	if (rc) {
		fprintf(stderr, "testserver: address %s:%s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
		fprintf(stderr, "testserver: listening on %s:%s: %s\n", host, port,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* "HOST:PORT" or "[V6]:PORT" */
static int listen_spec(const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hlen;

	if (!colon || colon == spec) {
		fprintf(stderr, "testserver: --listen '%s' is not HOST:PORT\n", spec);
		return -1;
	}
	hlen = (size_t)(colon - spec);
	if (spec[0] == '[' && hlen >= 2 && spec[hlen - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)hlen - 2, spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hlen, spec);
	return listen_on(host, colon + 1);
}

static void *accept_loop(void *arg)
{
	int lfd = (int)(long)arg;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		struct conn_buf *b;
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE)
				continue;
			fprintf(stderr, "testserver: accept: %s\n", strerror(errno));
			return NULL;
		}
		b = calloc(1, sizeof(*b));
		if (!b) {
			close(fd);
			continue;
		}
		b->fd = fd;
		if (pthread_create(&t, NULL, serve_connection, b)) {
			close(fd);
			free(b);
			continue;
		}
		pthread_detach(t);
	}
}

/* Serves the given listening sockets until killed. */
static int serve(const int *fds, int n)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 1; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, accept_loop, (void *)(long)fds[i])) {
			fprintf(stderr, "testserver: cannot start an accept thread\n");
			return 1;
		}
	}
	pthread_attr_destroy(&attr);
	accept_loop((void *)(long)fds[0]);
	return 1;
}

static int write_ready(const char *path)
{
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "testserver: writing %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* --- one child per port, each in its own cgroup -------------------------------------- */

static int enter_cgroup(const char *parent, unsigned index)
{
	char dir[512], procs[600];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/seismo-svc-%u.service", parent, index);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "testserver: mkdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	f = fopen(procs, "w");
	if (!f || fprintf(f, "0\n") < 0 || fclose(f)) {
		fprintf(stderr, "testserver: joining %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static pid_t *children;
static unsigned n_children;

static void stop_children(int sig)
{
	for (unsigned i = 0; i < n_children; i++)
		if (children[i] > 0)
			kill(children[i], SIGTERM);
	_exit(0);
}

static int serve_port_range(const struct options *o)
{
	int *fds = calloc(o->ports, sizeof(*fds));
	char port[16];
	int rc = 1;

	children = calloc(o->ports, sizeof(*children));
	if (!fds || !children)
		goto out;
	/* Listen before forking so the ready file means every port answers. */
	for (unsigned i = 0; i < o->ports; i++) {
		char host[INET_ADDRSTRLEN];
		struct in_addr first;
		if (o->hosts_from) {
			if (inet_pton(AF_INET, o->hosts_from, &first) != 1) {
				fprintf(stderr, "testserver: --hosts-from '%s' is not IPv4\n",
					o->hosts_from);
				goto out;
			}
			first.s_addr = htonl(ntohl(first.s_addr) + i);
			inet_ntop(AF_INET, &first, host, sizeof(host));
		}
		snprintf(port, sizeof(port), "%u", o->ports_from + (o->hosts_from ? 0 : i));
		fds[i] = listen_on(o->hosts_from ? host : o->host, port);
		if (fds[i] < 0)
			goto out;
	}
	if (!o->cgroup_parent) {
		if (write_ready(o->ready_file))
			goto out;
		rc = serve(fds, (int)o->ports);
		goto out;
	}
	signal(SIGTERM, stop_children);
	signal(SIGINT, stop_children);
	for (unsigned i = 0; i < o->ports; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "testserver: fork: %s\n", strerror(errno));
			stop_children(0);
		}
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			for (unsigned j = 0; j < o->ports; j++)
				if (j != i)
					close(fds[j]);
			if (enter_cgroup(o->cgroup_parent, i))
				_exit(1);
			_exit(serve(&fds[i], 1));
		}
		children[n_children++] = pid;
		close(fds[i]);
	}
	if (write_ready(o->ready_file))
		stop_children(0);
	/* The parent only waits: a child that dies is a failure of the run. */
	for (;;) {
		int status;
		pid_t pid = wait(&status);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		fprintf(stderr, "testserver: child %d exited (status %d)\n", (int)pid, status);
	}
out:
	free(fds);
	return rc;
}

/* --- main --------------------------------------------------------------------------- */

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "protocol", required_argument, 0, 'p' },
		{ "listen", required_argument, 0, 'l' },
		{ "host", required_argument, 0, 'H' },
		{ "ports-from", required_argument, 0, 'f' },
		{ "hosts-from", required_argument, 0, 'A' },
		{ "ports", required_argument, 0, 'n' },
		{ "cgroup-parent", required_argument, 0, 'c' },
		{ "ready-file", required_argument, 0, 'r' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	int opt;

	o->host = "127.0.0.1";
	while ((opt = getopt_long(argc, argv, "p:l:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (!strcmp(optarg, "http"))
				o->protocol = PROTO_HTTP;
			else if (!strcmp(optarg, "line"))
				o->protocol = PROTO_LINE;
			else {
				fprintf(stderr, "testserver: --protocol must be http or line\n");
				return 2;
			}
			break;
		case 'l':
			if (o->n_listen == MAX_LISTEN) {
				fprintf(stderr, "testserver: at most %d --listen\n", MAX_LISTEN);
				return 2;
			}
			o->listen[o->n_listen++] = optarg;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'A':
			o->hosts_from = optarg;
			break;
		case 'f':
			o->ports_from = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o->ports = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			o->cgroup_parent = optarg;
			break;
		case 'r':
			o->ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (!o->n_listen && !o->ports) || (o->n_listen && o->ports) ||
	    (o->ports && (!o->ports_from || o->ports_from + o->ports > 65536))) {
		usage(stderr);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int fds[MAX_LISTEN];
	int rc = parse_options(argc, argv, &o);

	if (rc)
		return rc;
	protocol = o.protocol;
	signal(SIGPIPE, SIG_IGN);
	/* Sleep as asked: the default 50 us timer slack would bias every request. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	if (o.ports)
		return serve_port_range(&o);
	for (int i = 0; i < o.n_listen; i++) {
		fds[i] = listen_spec(o.listen[i]);
		if (fds[i] < 0)
			return 1;
	}
	if (write_ready(o.ready_file))
		return 1;
	return serve(fds, o.n_listen);
}
