/* The latency programs' HTTP/1.x parsers run by the kernel's verifier and
 * interpreter/JIT through BPF_PROG_TEST_RUN, on a table of first bytes:
 * methods, request targets (cut at '?', blank or 31 bytes), status lines,
 * transfers shorter than what the parser wants, and what is not HTTP.
 * The tracing programs themselves cannot be test-run (tp_btf/fexit); the
 * integration tests drive them with real sockets. Needs CAP_BPF; skips (77)
 * where the kernel refuses to load BPF at all. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "latency.skel.h"
#include "seismo/latency.h"

struct parse_fixture {
	const char *head; /* the bytes the transfer carried */
	int len;          /* how many it moved; -1 = strlen(head) */
	uint32_t method;
	const char *path;
	uint32_t status;
};

static const struct parse_fixture cases[] = {
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
};

static struct latency_bpf *open_parser(void)
{
	struct latency_bpf *skel = latency_bpf__open();
	struct bpf_program *prog;

	if (!skel)
		return NULL;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.parse_head_test);
	if (latency_bpf__load(skel)) {
		latency_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static void test_parse_table(void **state)
{
	struct latency_bpf *skel = *state;
	int fd = bpf_program__fd(skel->progs.parse_head_test);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_fixture *f = &cases[i];
		struct seismo_parse_case pc;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &pc, .ctx_size_in = sizeof(pc));
		char path[SEISMO_PATH_LEN + 1] = { 0 };

		memset(&pc, 0, sizeof(pc));
		/* a stale buffer behind the bytes moved: must not be parsed */
		memset(pc.head, 'Z', sizeof(pc.head));
		memcpy(pc.head, f->head, strlen(f->head));
		pc.len = f->len < 0 ? (int)strlen(f->head) : f->len;
		assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
		memcpy(path, pc.path, SEISMO_PATH_LEN);
		if (pc.method != f->method || strcmp(path, f->path) || pc.status != f->status)
			fail_msg("case %zu \"%.20s\" len %d: method %u path \"%s\" status %u, "
				 "want %u \"%s\" %u",
				 i, f->head, pc.len, pc.method, path, pc.status, f->method, f->path,
				 f->status);
	}
}

int main(void)
{
	struct latency_bpf *skel = open_parser();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_parse_table, skel),
	};
	int rc;

	if (!skel) {
		printf("skip: cannot load BPF programs here (%s)\n", strerror(errno));
		return 77;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	latency_bpf__destroy(skel);
	return rc;
}
