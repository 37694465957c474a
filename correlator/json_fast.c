/*
 * The C half of json_fast.h: the arena the parsed tree lives in, member
 * lookup, and the small JSON writer the ingest path uses. The parser itself
 * is json_parse.cc (simdjson).
 */
#include "json_fast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- arena */

struct jf_chunk {
	struct jf_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

void *jf_alloc(struct jf_arena *a, size_t n)
{
	struct jf_chunk *c = a->head;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || c->cap - c->used < n) {
		/* Each chunk twice the last (64 KiB to 1 MiB): a batch takes a few. */
		size_t cap = c ? c->cap * 2 : 64 * 1024;
		if (cap > 1024 * 1024)
			cap = 1024 * 1024;
		if (cap < n)
			cap = n;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

char *jf_strndup(struct jf_arena *a, const char *s, size_t n)
{
	char *d = jf_alloc(a, n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

void jf_arena_free(struct jf_arena *a)
{
	while (a->head) {
		struct jf_chunk *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

const struct jf_value *jf_get(const struct jf_value *obj, const char *key)
{
	size_t n;

	if (!obj || obj->type != JF_OBJECT)
		return NULL;
	n = strlen(key);
	for (uint32_t i = 0; i < obj->n; i++)
		if (obj->members[i].key_len == n && !memcmp(obj->members[i].key, key, n))
			return &obj->members[i].value;
	return NULL;
}

/* ------------------------------------------------------------ writer */

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
		case '"': jf_buf_put(b, "\\\"", 2); break;
		case '\\': jf_buf_put(b, "\\\\", 2); break;
		case '\n': jf_buf_put(b, "\\n", 2); break;
		case '\r': jf_buf_put(b, "\\r", 2); break;
		case '\t': jf_buf_put(b, "\\t", 2); break;
		case '\b': jf_buf_put(b, "\\b", 2); break;
		case '\f': jf_buf_put(b, "\\f", 2); break;
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
