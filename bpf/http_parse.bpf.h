/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP/1.x parsing of the first bytes of a turn: the request's method and
 * target, the response's status. Pure functions of a byte buffer, so the
 * same code is compiled twice: into bpf/latency.bpf.c (where the verifier
 * must accept it: bounded loops, masked indexes) and natively by
 * tests/unit/test_http_parse.c, which runs it on a table of real requests
 * and responses (tests/bpf/http_parse_cases.h, also run in the kernel by
 * tests/bpf/test_latency.c through BPF_PROG_TEST_RUN).
 *
 * Needs __u8/__u16, bool, and SEISMO_METHOD_* / SEISMO_PATH_LEN /
 * SEISMO_HEAD_BUF (include/seismo/latency.h) from the includer.
 */
#ifndef SEISMO_HTTP_PARSE_BPF_H
#define SEISMO_HTTP_PARSE_BPF_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Only as many first bytes as the parsers look at: a request's method
 * ("OPTIONS ") and path, a response's status line ("HTTP/1.1 200"). */
#define REQUEST_HEAD_LEN (8 + SEISMO_PATH_LEN)
#define STATUS_HEAD_LEN 12
#define HEAD_BUF SEISMO_HEAD_BUF /* the stack buffer: a power of two, so a mask bounds reads */

static __always_inline bool http_has4(const char *h, char a, char b, char c, char d)
{
	return h[0] == a && h[1] == b && h[2] == c && h[3] == d;
}

/* Returns the method and the offset of the request target, or NONE. h holds
 * at least 8 readable bytes (the stack buffer), len of them are the turn's. */
static __always_inline __u8 http_parse_method(const char *h, int len, int *target)
{
	__u8 m = SEISMO_METHOD_NONE;
	int skip = 0;

	if (len < 8)
		return SEISMO_METHOD_NONE;
	/* one method a line reads as the table it is */
	// clang-format off
	if (http_has4(h, 'G', 'E', 'T', ' ')) { m = SEISMO_METHOD_GET; skip = 4; }
	else if (http_has4(h, 'P', 'O', 'S', 'T') && h[4] == ' ') { m = SEISMO_METHOD_POST; skip = 5; }
	else if (http_has4(h, 'P', 'U', 'T', ' ')) { m = SEISMO_METHOD_PUT; skip = 4; }
	else if (http_has4(h, 'H', 'E', 'A', 'D') && h[4] == ' ') { m = SEISMO_METHOD_HEAD; skip = 5; }
	else if (http_has4(h, 'D', 'E', 'L', 'E') && h[6] == ' ') { m = SEISMO_METHOD_DELETE; skip = 7; }
	else if (http_has4(h, 'P', 'A', 'T', 'C') && h[5] == ' ') { m = SEISMO_METHOD_PATCH; skip = 6; }
	else if (http_has4(h, 'O', 'P', 'T', 'I') && h[7] == ' ') { m = SEISMO_METHOD_OPTIONS; skip = 8; }
	else if (http_has4(h, 'C', 'O', 'N', 'N') && h[7] == ' ') { m = SEISMO_METHOD_CONNECT; skip = 8; }
	else if (http_has4(h, 'T', 'R', 'A', 'C') && h[5] == ' ') { m = SEISMO_METHOD_TRACE; skip = 6; }
	// clang-format on
	*target = skip;
	return m;
}

/* The request target from start, up to the query, a blank or the line's
 * end, at most SEISMO_PATH_LEN - 1 bytes; path must be zeroed. */
static __always_inline void http_copy_path(const char *h, int len, int start, char *path)
{
	/* Bounded so the verifier sees the loop end; stops at the first blank. */
	for (int i = 0; i < SEISMO_PATH_LEN - 1; i++) {
		int j = start + i;
		if (j >= len || j >= HEAD_BUF)
			break;
		char c = h[j & (HEAD_BUF - 1)];
		if (c == ' ' || c == '?' || c == '\r' || c == '\n' || c == 0)
			break;
		path[i] = c;
	}
}

/* A request's first len bytes: its method (NONE when not HTTP/1.x) and,
 * for a method, its target into path (zeroed, SEISMO_PATH_LEN bytes). */
static __always_inline __u8 http_parse_request(const char *h, int len, char *path)
{
	int target = 0;
	__u8 method = http_parse_method(h, len, &target);

	if (method != SEISMO_METHOD_NONE)
		http_copy_path(h, len, target, path);
	return method;
}

static __always_inline bool http_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/1.x NNN" -> NNN, else 0. */
static __always_inline __u16 http_parse_status(const char *h, int len)
{
	if (len < 12 || !http_has4(h, 'H', 'T', 'T', 'P') || h[4] != '/' || h[8] != ' ')
		return 0;
	if (!http_is_digit(h[9]) || !http_is_digit(h[10]) || !http_is_digit(h[11]))
		return 0;
	return (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
}

#endif
