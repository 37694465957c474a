/* The latency programs' HTTP/1.x parsers run by the kernel's verifier and
 * interpreter/JIT through BPF_PROG_TEST_RUN, on a table of first bytes
 * (http_parse_cases.h, which tests/unit/test_http_parse.c also runs on the
 * same parser compiled natively): methods, request targets (cut at '?',
 * blank or 31 bytes), status lines, transfers shorter than what the parser
 * wants, pipelining, HTTP/1.0 and what is not HTTP.
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

/* The table of requests and responses, shared with the native build of the
 * same parser (tests/unit/test_http_parse.c). */
#include "http_parse_cases.h"

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

	for (size_t i = 0; i < sizeof(http_cases) / sizeof(http_cases[0]); i++) {
		const struct http_case *f = &http_cases[i];
		struct seismo_parse_case pc;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &pc, .ctx_size_in = sizeof(pc));
		char path[SEISMO_PATH_LEN + 1] = { 0 };

		memset(&pc, 0, sizeof(pc));
		/* a stale buffer behind the bytes moved: must not be parsed */
		memset(pc.head, 'Z', sizeof(pc.head));
		pc.len = f->len < 0 ? (int)strlen(f->head) : f->len;
		/* binary heads (with NULs) give their length */
		memcpy(pc.head, f->head,
		       (size_t)pc.len > strlen(f->head) ? (size_t)pc.len : strlen(f->head));
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
