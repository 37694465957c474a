/*
 * The C half of json_fast.h's reader: the arena the parsed tree lives in and
 * member lookup. The parser itself is json_parse.cc (simdjson); the writer
 * is json_fast_write.c.
 */
#include "json_fast.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- arena */

struct jf_chunk {
	struct jf_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

/*
 * The largest chunk of the last arena freed, kept for the next batch (any
 * thread takes it, atomically): no allocator churn per batch, and no big
 * transient blocks between the small long-lived ones the correlation makes
 * meanwhile, which kept the heap's freed pages from going back.
 */
#define SPARE_MAX (4 * 1024 * 1024)
static struct jf_chunk *spare;

void *jf_alloc(struct jf_arena *a, size_t n)
{
	struct jf_chunk *c = a->head;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || c->cap - c->used < n) {
		/*
		 * Each chunk twice the last (64 KiB to 4 MiB): a batch takes a few,
		 * then, with the spare kept, one.
		 */
		size_t cap = c ? c->cap * 2 : 64 * 1024;
		if (cap > SPARE_MAX)
			cap = SPARE_MAX;
		if (cap < n)
			cap = n;
		c = __atomic_exchange_n(&spare, NULL, __ATOMIC_ACQ_REL);
		if (c && c->cap < cap) {
			free(c);
			c = NULL;
		}
		if (!c) {
			if (!(c = malloc(sizeof(*c) + cap)))
				return NULL;
			c->cap = cap;
		}
		c->next = a->head;
		c->used = 0;
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
	struct jf_chunk *keep = NULL;

	while (a->head) {
		struct jf_chunk *c = a->head;
		a->head = c->next;
		if (c->cap <= SPARE_MAX && (!keep || c->cap > keep->cap)) {
			free(keep);
			keep = c;
		} else {
			free(c);
		}
	}
	if (keep)
		free(__atomic_exchange_n(&spare, keep, __ATOMIC_ACQ_REL));
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
