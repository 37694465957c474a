/* The latency programs' HTTP/1.x parser (bpf/http_parse.bpf.h) compiled
 * natively and run on the table of real requests and responses that
 * tests/bpf/test_latency.c runs in the kernel: methods, targets, status
 * lines, short reads, pipelining, HTTP/1.0 and what is not HTTP. Runs
 * everywhere (no BPF needed), so a parser change is tested on every build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <linux/types.h>

#include "seismo/latency.h"
#include "../../bpf/http_parse.bpf.h"
#include "../bpf/http_parse_cases.h"

/* What parse_head_test (bpf/latency.bpf.c) does with a case in the kernel. */
static void parse_case(const struct http_case *f, __u8 *method, char *path, __u16 *status)
{
	char head[HEAD_BUF];
	size_t bytes = strlen(f->head);
	int len = f->len < 0 ? (int)bytes : f->len;

	/* a stale buffer behind the bytes moved: must not be parsed */
	memset(head, 'Z', sizeof(head));
	if ((size_t)len > bytes)
		bytes = (size_t)len; /* binary heads with NULs */
	assert_true(bytes <= sizeof(head));
	memcpy(head, f->head, bytes);
	memset(path, 0, SEISMO_PATH_LEN);
	*method = http_parse_request(head, len > REQUEST_HEAD_LEN ? REQUEST_HEAD_LEN : len, path);
	*status = http_parse_status(head, len > STATUS_HEAD_LEN ? STATUS_HEAD_LEN : len);
}

static void the_table(void **state)
{
	for (size_t i = 0; i < sizeof(http_cases) / sizeof(http_cases[0]); i++) {
		const struct http_case *f = &http_cases[i];
		char path[SEISMO_PATH_LEN + 1] = { 0 };
		__u8 method;
		__u16 status;

		parse_case(f, &method, path, &status);
		if (method != f->method || strcmp(path, f->path) || status != f->status)
			fail_msg(
				"case %zu \"%.20s\": method %u path \"%s\" status %u, want %u \"%s\" %u",
				i, f->head, method, path, status, f->method, f->path, f->status);
	}
}

/* Every three-digit status reads back; anything else in its place is 0. */
static void every_status_code(void **state)
{
	char line[16];

	for (int code = 100; code <= 999; code++) {
		snprintf(line, sizeof(line), "HTTP/1.1 %d", code);
		assert_int_equal(http_parse_status(line, 12), code);
		assert_int_equal(http_parse_status(line, 11), 0);
	}
	assert_int_equal(http_parse_status("HTTP/1.1 -12", 12), 0);
	assert_int_equal(http_parse_status("HTTP/1.1 1 2", 12), 0);
}

/* Every byte length of a request: no parse below 8 bytes, then the target
 * grows with the bytes until its 31-byte cap or its end. */
static void every_length(void **state)
{
	static const char request[] = "GET /api/v1/orders/1234567890/items?x=1 HTTP/1.1\r\n";
	char head[HEAD_BUF], path[SEISMO_PATH_LEN];

	memset(head, 'Z', sizeof(head));
	memcpy(head, request, sizeof(request) - 1);
	for (int len = 0; len <= REQUEST_HEAD_LEN; len++) {
		size_t want_len = len < 8 ? 0 : (size_t)len - 4;
		__u8 method;

		memset(path, 0, sizeof(path));
		method = http_parse_request(head, len, path);
		if (want_len > strlen("/api/v1/orders/1234567890/items"))
			want_len = strlen("/api/v1/orders/1234567890/items");
		if (want_len > SEISMO_PATH_LEN - 1)
			want_len = SEISMO_PATH_LEN - 1;
		assert_int_equal(method, len < 8 ? SEISMO_METHOD_NONE : SEISMO_METHOD_GET);
		assert_int_equal(strnlen(path, sizeof(path)), want_len);
		assert_memory_equal(path, request + 4, want_len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_table),
		cmocka_unit_test(every_status_code),
		cmocka_unit_test(every_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
