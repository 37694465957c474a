/*
 * jf_parse(): the ingest path's JSON parser, on simdjson (Debian's
 * libsimdjson-dev). simdjson validates the whole text (UTF-8, grammar,
 * numbers) into its DOM in well under a microsecond per event; this file
 * only copies that DOM into the caller's arena as the plain C tree of
 * json_fast.h and adds the checks jansson makes and simdjson does not, so
 * both accept the same texts (correlator/fuzz/ingest_fuzz.c compares them):
 * no duplicate keys (JSON_REJECT_DUPLICATES), no NUL inside a string,
 * integers that fit int64, an object or array at the top.
 *
 * Refusals are rare, so their message comes from jansson, which knows the
 * line and column: "invalid JSON at line L column C: what".
 *
 * The only C++ in the tree; it exports C functions and throws nothing
 * (simdjson's error-code API, no exceptions).
 */
#include <simdjson.h>

#include <jansson.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

extern "C" {
#include "json_fast.h"
}

namespace {

/* As jansson's JSON_PARSER_MAX_DEPTH: what one accepts, the other does. */
constexpr size_t max_depth = 2048;
/* Objects up to this size are checked for duplicate keys pair by pair. */
constexpr uint32_t small_object = 16;

struct copier {
	struct jf_arena *arena;
	bool refused = false; /* a check of ours failed: the text is not accepted */
	bool oom = false;
};

bool member_key_less(const struct jf_member *x, const struct jf_member *y)
{
	size_t n = std::min(x->key_len, y->key_len);
	int c = memcmp(x->key, y->key, n);
	return c ? c < 0 : x->key_len < y->key_len;
}

bool same_key(const struct jf_member *x, const struct jf_member *y)
{
	return x->key_len == y->key_len && !memcmp(x->key, y->key, x->key_len);
}

bool has_duplicate_keys(struct copier &c, const struct jf_member *m, uint32_t n)
{
	if (n <= small_object) {
		for (uint32_t i = 1; i < n; i++)
			for (uint32_t j = 0; j < i; j++)
				if (same_key(&m[i], &m[j]))
					return true;
		return false;
	}
	auto **sorted = static_cast<const struct jf_member **>(
		jf_alloc(c.arena, n * sizeof(struct jf_member *)));
	if (!sorted) {
		c.oom = true;
		return true;
	}
	for (uint32_t i = 0; i < n; i++)
		sorted[i] = &m[i];
	std::sort(sorted, sorted + n, member_key_less);
	for (uint32_t i = 1; i < n; i++)
		if (same_key(sorted[i - 1], sorted[i]))
			return true;
	return false;
}

/* A copy of s in the arena; NULL (and refused) when s holds a NUL. */
const char *copy_string(struct copier &c, std::string_view s)
{
	if (memchr(s.data(), 0, s.size())) {
		c.refused = true;
		return nullptr;
	}
	const char *d = jf_strndup(c.arena, s.data(), s.size());
	if (!d)
		c.oom = true;
	return d;
}

/*
 * Items of the top two levels' arrays keep their compact text: what the
 * store keeps of an event or an alert (a batch's "events" or "alerts", or a
 * top-level array of alerts). Deeper values need none.
 */
void keep_text(struct copier &c, simdjson::dom::element e, struct jf_value *v)
{
	std::string text = simdjson::minify(e);
	v->text_len = text.size();
	if (!(v->text = jf_strndup(c.arena, text.data(), text.size())))
		c.oom = true;
}

bool copy_value(struct copier &c, simdjson::dom::element e, int depth, struct jf_value *v);

bool copy_array(struct copier &c, simdjson::dom::array a, int depth, struct jf_value *v)
{
	size_t n = 0;
	for (auto it = a.begin(); it != a.end(); ++it)
		n++;
	v->type = JF_ARRAY;
	v->n = static_cast<uint32_t>(n);
	v->items = static_cast<struct jf_value *>(jf_alloc(c.arena, n * sizeof(*v->items)));
	if (n && !v->items) {
		c.oom = true;
		return false;
	}
	size_t i = 0;
	for (simdjson::dom::element item : a) {
		struct jf_value *iv = &v->items[i++];
		if (!copy_value(c, item, depth + 1, iv))
			return false;
		if (depth <= 1 && iv->type == JF_OBJECT)
			keep_text(c, item, iv);
	}
	return !c.oom;
}

bool copy_object(struct copier &c, simdjson::dom::object o, int depth, struct jf_value *v)
{
	size_t n = 0;
	for (auto it = o.begin(); it != o.end(); ++it)
		n++;
	v->type = JF_OBJECT;
	v->n = static_cast<uint32_t>(n);
	v->members = static_cast<struct jf_member *>(jf_alloc(c.arena, n * sizeof(*v->members)));
	if (n && !v->members) {
		c.oom = true;
		return false;
	}
	size_t i = 0;
	for (simdjson::dom::key_value_pair kv : o) {
		struct jf_member *m = &v->members[i++];
		m->key_len = kv.key.size();
		if (!(m->key = copy_string(c, kv.key)) ||
		    !copy_value(c, kv.value, depth + 1, &m->value))
			return false;
	}
	if (has_duplicate_keys(c, v->members, v->n))
		c.refused = true;
	return !c.refused && !c.oom;
}

bool copy_value(struct copier &c, simdjson::dom::element e, int depth, struct jf_value *v)
{
	simdjson::dom::array array;
	simdjson::dom::object object;
	std::string_view string;
	bool boolean;

	memset(v, 0, sizeof(*v));
	/* The type was checked by the switch: each get() below succeeds. */
	switch (e.type()) {
	case simdjson::dom::element_type::ARRAY:
		return !e.get_array().get(array) && copy_array(c, array, depth, v);
	case simdjson::dom::element_type::OBJECT:
		return !e.get_object().get(object) && copy_object(c, object, depth, v);
	case simdjson::dom::element_type::STRING:
		if (e.get_string().get(string))
			break;
		v->type = JF_STRING;
		v->len = string.size();
		return (v->str = copy_string(c, string)) != nullptr;
	case simdjson::dom::element_type::INT64:
		v->type = JF_INT;
		return !e.get_int64().get(v->integer);
	case simdjson::dom::element_type::UINT64:
		/* Past int64: jansson refuses it ("too big integer"), so do we. */
		break;
	case simdjson::dom::element_type::DOUBLE:
		v->type = JF_REAL;
		return !e.get_double().get(v->real);
	case simdjson::dom::element_type::BOOL:
		if (e.get_bool().get(boolean))
			break;
		v->type = boolean ? JF_TRUE : JF_FALSE;
		return true;
	case simdjson::dom::element_type::NULL_VALUE:
		v->type = JF_NULL;
		return true;
	}
	c.refused = true;
	return false;
}

/* Where and why jansson refuses the text (it knows lines and columns). */
void refusal_message(const char *buf, size_t len, const char *fallback, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

	if (j) {
		/* jansson takes what simdjson does not (a corner case): say simdjson's word. */
		json_decref(j);
		snprintf(err, errlen, "invalid JSON at line 1 column 1: %s", fallback);
		return;
	}
	snprintf(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
		 jerr.text);
}

simdjson::dom::parser &thread_parser()
{
	/* One per thread, reused: its buffers grow to the largest batch once. */
	thread_local simdjson::dom::parser parser;
	thread_local bool sized = false;
	if (!sized) {
		sized = parser.allocate(64 * 1024, max_depth) == simdjson::SUCCESS;
	}
	return parser;
}

} // namespace

extern "C" int jf_parse(const char *buf, size_t len, struct jf_arena *a, struct jf_value **root,
			char *err, size_t errlen)
{
	simdjson::dom::element doc;
	struct copier c{ a };

	*root = static_cast<struct jf_value *>(jf_alloc(a, sizeof(**root)));
	if (!*root) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(*root, 0, sizeof(**root));
	/* realloc_if_needed: simdjson reads in 64-byte blocks past the end. */
	auto error = thread_parser().parse(buf, len, true).get(doc);
	if (error == simdjson::MEMALLOC) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (error) {
		refusal_message(buf, len, simdjson::error_message(error), err, errlen);
		return -1;
	}
	if (!doc.is_object() && !doc.is_array()) {
		refusal_message(buf, len, "'[' or '{' expected", err, errlen);
		return -1;
	}
	if (!copy_value(c, doc, 0, *root) || c.refused || c.oom) {
		if (c.oom)
			snprintf(err, errlen, "out of memory");
		else
			refusal_message(buf, len, "duplicate key, NUL in a string or too big integer",
					err, errlen);
		return -1;
	}
	return 0;
}
