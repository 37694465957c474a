/*
 * The ingest path's JSON reader and writer. A batch is parsed once, by
 * simdjson (json_parse.cc), into a read-only tree that lives in one arena
 * (freed in one go with the batch): strings unescaped once and
 * NUL-terminated, and each event or alert keeps its compact text, so the
 * store does not serialise it again. jansson built a hash table and a heap
 * block per value and parsed at a tenth of simdjson's speed, which made the
 * ingest twice as slow (docs/correlator.md, "Ingest speed"); it stays for
 * the rest of the API.
 *
 * What is accepted is what jansson's json_loadb with JSON_REJECT_DUPLICATES
 * accepts (the fuzzer compares the two): an object or array at the top,
 * UTF-8 checked, no \u0000, no duplicate keys, integers that fit int64,
 * finite reals, nesting at most 2048.
 */
#ifndef CORR_JSON_FAST_H
#define CORR_JSON_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bump allocator: many small blocks, freed together. */
struct jf_chunk;
struct jf_arena {
	struct jf_chunk *head;
};

void *jf_alloc(struct jf_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n) in the arena. */
char *jf_strndup(struct jf_arena *a, const char *s, size_t n);
void jf_arena_free(struct jf_arena *a);

enum jf_type {
	JF_NULL,
	JF_FALSE,
	JF_TRUE,
	JF_INT,
	JF_REAL,
	JF_STRING,
	JF_ARRAY,
	JF_OBJECT
};

struct jf_member;

struct jf_value {
	enum jf_type type;
	uint32_t n; /* items of an array, members of an object */
	size_t len; /* bytes of a string */
	/*
	 * Compact JSON of an object that is an item of an array in the top two
	 * levels (a batch's events, edges or alerts); NULL elsewhere.
	 */
	const char *text;
	size_t text_len;
	union {
		const char *str; /* unescaped, NUL-terminated (no NUL inside: refused) */
		double real;
		int64_t integer;
		struct jf_value *items;
		struct jf_member *members;
	};
};

struct jf_member {
	const char *key;
	size_t key_len;
	struct jf_value value;
};

/*
 * Parses buf[0..len) into a tree allocated in a. 0, or -1 with err set to
 * "invalid JSON at line L column C: what".
 */
int jf_parse(const char *buf, size_t len, struct jf_arena *a, struct jf_value **root, char *err,
	     size_t errlen);

/* The member named key of an object; NULL when absent or obj is no object. */
const struct jf_value *jf_get(const struct jf_value *obj, const char *key);

static inline bool jf_is_number(const struct jf_value *v)
{
	return v && (v->type == JF_INT || v->type == JF_REAL);
}

static inline double jf_number(const struct jf_value *v)
{
	return v->type == JF_INT ? (double)v->integer : v->real;
}

/* A growable text buffer for writing JSON. */
struct jf_buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed; /* out of memory at some point: the text is incomplete */
};

void jf_buf_put(struct jf_buf *b, const char *s, size_t n);
/* s as a JSON string, quotes included. */
void jf_buf_put_string(struct jf_buf *b, const char *s);
/* The NUL-terminated text; NULL when a write failed. */
const char *jf_buf_text(struct jf_buf *b);
void jf_buf_free(struct jf_buf *b);

#endif
