/* Requests and responses as the first bytes of a transfer, and what the
 * latency programs' HTTP/1.x parser (bpf/http_parse.bpf.h) must make of
 * them. Run twice: in the kernel through BPF_PROG_TEST_RUN
 * (tests/bpf/test_latency.c) and natively (tests/unit/test_http_parse.c).
 * The harness clamps like the programs: the method and target from at most
 * REQUEST_HEAD_LEN bytes, the status from at most STATUS_HEAD_LEN. Each
 * head fits the 64-byte buffer (SEISMO_HEAD_BUF). */
#ifndef SEISMO_TEST_HTTP_PARSE_CASES_H
#define SEISMO_TEST_HTTP_PARSE_CASES_H

#include <stdint.h>

#include "seismo/latency.h"

struct http_case {
	const char *head; /* the bytes the transfer carried */
	int len;	  /* how many it moved; -1 = strlen(head) */
	uint32_t method;
	const char *path;
	uint32_t status;
};

static const struct http_case http_cases[] = {
	{ "GET /api/users?id=1 HTTP/1.1\r\nHost: a\r\n", -1, SEISMO_METHOD_GET, "/api/users", 0 },
	{ "POST /orders HTTP/1.1\r\n", -1, SEISMO_METHOD_POST, "/orders", 0 },
	{ "PUT /x/y HTTP/1.1\r\n", -1, SEISMO_METHOD_PUT, "/x/y", 0 },
	{ "HEAD / HTTP/1.0\r\n", -1, SEISMO_METHOD_HEAD, "/", 0 },
	{ "DELETE /items/7 HTTP/1.1\r\n", -1, SEISMO_METHOD_DELETE, "/items/7", 0 },
	{ "PATCH /p HTTP/1.1\r\n", -1, SEISMO_METHOD_PATCH, "/p", 0 },
	{ "OPTIONS * HTTP/1.1\r\n", -1, SEISMO_METHOD_OPTIONS, "*", 0 },
	{ "CONNECT db:5432 HTTP/1.1\r\n", -1, SEISMO_METHOD_CONNECT, "db:5432", 0 },
	{ "TRACE /t HTTP/1.1\r\n", -1, SEISMO_METHOD_TRACE, "/t", 0 },
	/* the path keeps 31 bytes: the longest target the key holds */
	{ "GET /0123456789abcdef0123456789abcdef HTTP/1.1\r\n", -1, SEISMO_METHOD_GET,
	  "/0123456789abcdef0123456789abcd", 0 },
	{ "OPTIONS /0123456789abcdef0123456789abcdef HTTP/1.1\r\n", -1, SEISMO_METHOD_OPTIONS,
	  "/0123456789abcdef0123456789abcd", 0 },
	/* only the bytes the transfer moved count: the rest is a stale buffer */
	{ "GET /abcdef HTTP/1.1\r\n", 9, SEISMO_METHOD_GET, "/abcd", 0 },
	{ "GET /abcdef HTTP/1.1\r\n", 7, SEISMO_METHOD_NONE, "", 0 },
	{ "GET /a\r\n", -1, SEISMO_METHOD_GET, "/a", 0 },
	/* not HTTP/1.x requests */
	{ "get / HTTP/1.1\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "GETX / HTTP/1.1\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "*1\r\n$4\r\nPING\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, SEISMO_METHOD_NONE, "", 0 },
	/* status lines */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", -1, SEISMO_METHOD_NONE, "", 200 },
	{ "HTTP/1.0 503 Service Unavailable\r\n", -1, SEISMO_METHOD_NONE, "", 503 },
	{ "HTTP/1.1 404", -1, SEISMO_METHOD_NONE, "", 404 },
	{ "HTTP/1.1 404", 11, SEISMO_METHOD_NONE, "", 0 },
	{ "HTTP/1.1 2x0 OK\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "HTTP/2 200\r\n\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "", 0, SEISMO_METHOD_NONE, "", 0 },
	/* real clients: curl, a Prometheus scrape, a kubelet probe, the shipper */
	{ "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\n", -1, SEISMO_METHOD_GET,
	  "/healthz", 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: node:9464\r\nUser-Agent: Prometheus/2", -1,
	  SEISMO_METHOD_GET, "/metrics", 0 },
	{ "GET /livez HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nUser-Agent: kube-probe", -1,
	  SEISMO_METHOD_GET, "/livez", 0 },
	{ "POST /api/v1/events HTTP/1.1\r\nContent-Type: application/json\r\n", -1,
	  SEISMO_METHOD_POST, "/api/v1/events", 0 },
	{ "GET /search?q=a%20b&page=2 HTTP/1.1\r\n", -1, SEISMO_METHOD_GET, "/search", 0 },
	{ "GET http://example.com/x HTTP/1.1\r\n", -1, SEISMO_METHOD_GET, "http://example.com/x",
	  0 },
	{ "DELETE / HTTP/1.1\r\n", 8, SEISMO_METHOD_DELETE, "/", 0 },
	/* HTTP/1.0, with and without headers */
	{ "GET / HTTP/1.0\r\n\r\n", -1, SEISMO_METHOD_GET, "/", 0 },
	{ "POST /cgi-bin/x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", -1, SEISMO_METHOD_POST,
	  "/cgi-bin/x", 0 },
	{ "HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6\r\n\r\n", -1, SEISMO_METHOD_NONE, "", 200 },
	/* pipelined: the first request or response of the transfer counts */
	{ "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", -1,
	  SEISMO_METHOD_GET, "/a", 0 },
	{ "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 500 Internal Server Error", -1,
	  SEISMO_METHOD_NONE, "", 204 },
	/* short reads: fewer bytes than the parser needs are no parse */
	{ "G", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "GET ", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "GET /abc", -1, SEISMO_METHOD_GET, "/abc", 0 },
	{ "POST /a", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "OPTIONS", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "HTTP/1.1 20", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "HTTP/1.", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "HTTP/1.1 200 OK\r\n", 12, SEISMO_METHOD_NONE, "", 200 },
	/* status lines across the classes */
	{ "HTTP/1.1 100 Continue\r\n\r\n", -1, SEISMO_METHOD_NONE, "", 100 },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", -1, SEISMO_METHOD_NONE, "",
	  101 },
	{ "HTTP/1.1 302 Found\r\nLocation: /login\r\n", -1, SEISMO_METHOD_NONE, "", 302 },
	{ "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n", -1, SEISMO_METHOD_NONE, "", 429 },
	{ "HTTP/1.1 504 Gateway Timeout\r\n", -1, SEISMO_METHOD_NONE, "", 504 },
	/* what looks close but is not HTTP/1.x */
	{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "PROPFIND /dav HTTP/1.1\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "PATCHED / HTTP/1.1\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "GET\t/ HTTP/1.1\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "http/1.1 200 OK\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "HTTP/1.1  200 OK\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "RTSP/1.0 200 OK\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "ICY 200 OK\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "SSH-2.0-OpenSSH_9.2p1\r\n", -1, SEISMO_METHOD_NONE, "", 0 },
	{ "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8, SEISMO_METHOD_NONE, "",
	  0 }, /* PostgreSQL SSLRequest */
	{ "\x00\x00\x00\x00\x00\x00\x00\x00\x00", 9, SEISMO_METHOD_NONE, "", 0 },
};

#endif
