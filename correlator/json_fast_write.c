/* The ingest path's JSON writer: text buffers and escaped strings (json_fast.h). */
#include "json_fast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jf_buf_put(struct jf_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n + 1)
			cap *= 2;
		char *g = realloc(b->p, cap);
		if (!g) {
			b->failed = true;
			return;
		}
		b->p = g;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void jf_buf_put_string(struct jf_buf *b, const char *s)
{
	const char *run = s;

	jf_buf_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jf_buf_put(b, run, (size_t)(s - run));
		char esc[8];
		switch (c) {
		case '"':
			jf_buf_put(b, "\\\"", 2);
			break;
		case '\\':
			jf_buf_put(b, "\\\\", 2);
			break;
		case '\n':
			jf_buf_put(b, "\\n", 2);
			break;
		case '\r':
			jf_buf_put(b, "\\r", 2);
			break;
		case '\t':
			jf_buf_put(b, "\\t", 2);
			break;
		case '\b':
			jf_buf_put(b, "\\b", 2);
			break;
		case '\f':
			jf_buf_put(b, "\\f", 2);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jf_buf_put(b, esc, 6);
		}
		run = s + 1;
	}
	jf_buf_put(b, run, (size_t)(s - run));
	jf_buf_put(b, "\"", 1);
}

const char *jf_buf_text(struct jf_buf *b)
{
	if (b->failed)
		return NULL;
	if (!b->p)
		jf_buf_put(b, "", 0);
	return b->failed ? NULL : b->p;
}

void jf_buf_free(struct jf_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
