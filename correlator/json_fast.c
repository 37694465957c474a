/*
 * The ingest path's JSON reader (json_fast.h). Over 500 lines for one job:
 * the grammar, UTF-8, escapes, numbers and duplicate keys are checked in
 * one pass, as strictly as jansson (the fuzzer compares the two).
 */
#include "json_fast.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* As jansson's JSON_PARSER_MAX_DEPTH: what one accepts, the other does. */
#define MAX_DEPTH 2048
/* Objects up to this size are checked for duplicate keys pair by pair. */
#define SMALL_OBJECT 16

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

/* ------------------------------------------------------------ parser */

struct parser {
	const char *buf, *p, *end;
	struct jf_arena *a;
	/* Members (or array items) of the open containers, innermost on top. */
	struct jf_member *stack;
	size_t sp, cap;
	char *err;
	size_t errlen;
	bool failed;
};

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	char what[128];
	va_list ap;
	int line = 1, col = 1;

	if (ps->failed)
		return -1;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	for (const char *q = ps->buf; q < at && q < ps->end; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(ps->err, ps->errlen, "invalid JSON at line %d column %d: %s", line, col, what);
	return -1;
}

static int oom(struct parser *ps)
{
	return fail(ps, ps->p, "out of memory");
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

static int push(struct parser *ps, const struct jf_member *m)
{
	if (ps->sp == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 256;
		struct jf_member *g = realloc(ps->stack, cap * sizeof(*g));
		if (!g)
			return oom(ps);
		ps->stack = g;
		ps->cap = cap;
	}
	ps->stack[ps->sp++] = *m;
	return 0;
}

/* Length of the UTF-8 sequence at s (at most end), 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
	unsigned c = s[0], n, cp;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0; /* a continuation byte, or an overlong 2-byte form */
	if (c < 0xE0) {
		n = 2;
		cp = c & 0x1F;
	} else if (c < 0xF0) {
		n = 3;
		cp = c & 0x0F;
	} else if (c < 0xF5) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - s) < n)
		return 0;
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static int hex4(const char *s, const char *end, unsigned *out)
{
	unsigned v = 0;

	if (end - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* Decodes the escapes of a checked string body [s, e) into out; returns its end. */
static char *unescape(struct parser *ps, const char *s, const char *e, char *o)
{
	while (s < e) {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		default: { /* 'u', checked by scan_string */
			unsigned cp, lo;
			hex4(s, e, &cp);
			s += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				hex4(s + 2, e, &lo);
				s += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			o = put_utf8(o, cp);
		}
		}
	}
	(void)ps;
	return o;
}

/* A string at ps->p (the opening quote): checked, unescaped into the arena. */
static int parse_string(struct parser *ps, const char **str, size_t *len)
{
	const char *start = ++ps->p, *q = start;
	bool escaped = false;

	for (;;) {
		if (q >= ps->end)
			return fail(ps, q, "premature end of input in a string");
		unsigned char c = (unsigned char)*q;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(ps, q, "control character 0x%x in string", c);
		if (c == '\\') {
			escaped = true;
			if (q + 1 >= ps->end)
				return fail(ps, q, "premature end of input in a string");
			char k = q[1];
			if (k == 'u') {
				unsigned cp, lo;
				if (hex4(q + 2, ps->end, &cp))
					return fail(ps, q, "invalid \\u escape");
				if (cp == 0)
					return fail(ps, q, "\\u0000 is not allowed");
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return fail(ps, q, "invalid Unicode '\\u%04X'", cp);
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					if (ps->end - q < 12 || q[6] != '\\' || q[7] != 'u' ||
					    hex4(q + 8, ps->end, &lo) || lo < 0xDC00 || lo > 0xDFFF)
						return fail(ps, q, "invalid Unicode '\\u%04X'", cp);
					q += 12;
				} else {
					q += 6;
				}
				continue;
			}
			if (!strchr("\"\\/bfnrt", k) || !k)
				return fail(ps, q, "invalid escape");
			q += 2;
			continue;
		}
		if (c < 0x80) {
			q++;
			continue;
		}
		size_t n = utf8_len((const unsigned char *)q, (const unsigned char *)ps->end);
		if (!n)
			return fail(ps, q, "invalid UTF-8 in a string");
		q += n;
	}
	ps->p = q + 1;
	if (!escaped) {
		*len = (size_t)(q - start);
		if (!(*str = jf_strndup(ps->a, start, *len)))
			return oom(ps);
		return 0;
	}
	/* Unescaped text is never longer than its escaped form. */
	char *out = jf_alloc(ps->a, (size_t)(q - start) + 1);
	if (!out)
		return oom(ps);
	char *o = unescape(ps, start, q, out);
	*o = 0;
	*str = out;
	*len = (size_t)(o - out);
	return 0;
}

static bool is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static int parse_number(struct parser *ps, struct jf_value *v)
{
	const char *s = ps->p, *q = s;
	bool neg = false, real = false;

	if (*q == '-') {
		neg = true;
		q++;
	}
	if (is_digit(q, ps->end) && *q == '0')
		q++;
	else if (is_digit(q, ps->end))
		while (is_digit(q, ps->end))
			q++;
	else
		return fail(ps, s, "invalid token");
	if (q < ps->end && *q == '.') {
		real = true;
		if (!is_digit(++q, ps->end))
			return fail(ps, s, "invalid token");
		while (is_digit(q, ps->end))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		real = true;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (!is_digit(q, ps->end))
			return fail(ps, s, "invalid token");
		while (is_digit(q, ps->end))
			q++;
	}
	ps->p = q;
	if (!real) {
		/* Digits only: fits int64 or is refused, as jansson does. */
		uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		for (const char *d = s + neg; d < q; d++) {
			unsigned dig = (unsigned)(*d - '0');
			if (acc > (lim - dig) / 10)
				return fail(ps, s, "too big %sinteger", neg ? "negative " : "");
			acc = acc * 10 + dig;
		}
		v->type = JF_INT;
		v->integer = neg ? (int64_t)(0 - acc) : (int64_t)acc;
		return 0;
	}
	/* strtod needs a terminator, the source has none of its own. */
	char small[64], *text = small;
	size_t n = (size_t)(q - s);
	if (n >= sizeof(small) && !(text = jf_alloc(ps->a, n + 1)))
		return oom(ps);
	memcpy(text, s, n);
	text[n] = 0;
	errno = 0;
	v->type = JF_REAL;
	v->real = strtod(text, NULL);
	if (isinf(v->real))
		return fail(ps, s, "real number overflow");
	return 0;
}

static int parse_value(struct parser *ps, int depth, struct jf_value *v);

/* Duplicate keys make a batch ambiguous: refused. */
static int cmp_member_ptr(const void *x, const void *y)
{
	const struct jf_member *a = *(const struct jf_member *const *)x,
			       *b = *(const struct jf_member *const *)y;

	if (a->key_len != b->key_len)
		return a->key_len < b->key_len ? -1 : 1;
	return memcmp(a->key, b->key, a->key_len);
}

static int check_duplicates(struct parser *ps, const struct jf_member *m, size_t n,
			    const char *at)
{
	if (n <= SMALL_OBJECT) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (m[i].key_len == m[j].key_len &&
				    !memcmp(m[i].key, m[j].key, m[i].key_len))
					return fail(ps, at, "duplicate object key");
		return 0;
	}
	const struct jf_member **sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return oom(ps);
	for (size_t i = 0; i < n; i++)
		sorted[i] = &m[i];
	qsort(sorted, n, sizeof(*sorted), cmp_member_ptr);
	int rc = 0;
	for (size_t i = 1; i < n && !rc; i++)
		if (!cmp_member_ptr(&sorted[i - 1], &sorted[i]))
			rc = fail(ps, at, "duplicate object key");
	free(sorted);
	return rc;
}

/* Moves the members above base from the stack into the arena. */
static int close_container(struct parser *ps, size_t base, struct jf_value *v)
{
	size_t n = ps->sp - base;

	v->n = (uint32_t)n;
	if (v->type == JF_OBJECT) {
		v->members = n ? jf_alloc(ps->a, n * sizeof(*v->members)) : NULL;
		if (n && !v->members)
			return oom(ps);
		if (n)
			memcpy(v->members, ps->stack + base, n * sizeof(*v->members));
	} else {
		v->items = n ? jf_alloc(ps->a, n * sizeof(*v->items)) : NULL;
		if (n && !v->items)
			return oom(ps);
		for (size_t i = 0; i < n; i++)
			v->items[i] = ps->stack[base + i].value;
	}
	ps->sp = base;
	return 0;
}

static int parse_container(struct parser *ps, int depth, struct jf_value *v)
{
	const char *open = ps->p;
	bool object = *ps->p == '{';
	char close = object ? '}' : ']';
	size_t base = ps->sp;

	if (depth > MAX_DEPTH)
		return fail(ps, open, "maximum parsing depth reached");
	v->type = object ? JF_OBJECT : JF_ARRAY;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return close_container(ps, base, v);
	}
	for (;;) {
		struct jf_member m = { 0 };
		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, ps->p, "string or '}' expected");
			if (parse_string(ps, &m.key, &m.key_len))
				return -1;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, ps->p, "':' expected");
			ps->p++;
		}
		if (parse_value(ps, depth, &m.value) || push(ps, &m))
			return -1;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return fail(ps, ps->p, "premature end of input");
		if (*ps->p == close)
			break;
		if (*ps->p != ',')
			return fail(ps, ps->p, "',' or '%c' expected", close);
		ps->p++;
	}
	ps->p++;
	if (object && check_duplicates(ps, ps->stack + base, ps->sp - base, open))
		return -1;
	return close_container(ps, base, v);
}

static int literal(struct parser *ps, const char *word, enum jf_type type, struct jf_value *v)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return fail(ps, ps->p, "invalid token");
	ps->p += n;
	v->type = type;
	return 0;
}

static int parse_value(struct parser *ps, int depth, struct jf_value *v)
{
	int rc;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, ps->p, "premature end of input");
	const char *start = ps->p;
	switch (*ps->p) {
	case '{':
	case '[':
		rc = parse_container(ps, depth + 1, v);
		break;
	case '"':
		v->type = JF_STRING;
		rc = parse_string(ps, &v->str, &v->len);
		break;
	case 't':
		rc = literal(ps, "true", JF_TRUE, v);
		break;
	case 'f':
		rc = literal(ps, "false", JF_FALSE, v);
		break;
	case 'n':
		rc = literal(ps, "null", JF_NULL, v);
		break;
	default:
		rc = parse_number(ps, v);
	}
	v->text = start;
	v->text_len = (size_t)(ps->p - start);
	return rc;
}

int jf_parse(const char *buf, size_t len, struct jf_arena *a, struct jf_value **root,
	     char *err, size_t errlen)
{
	struct parser ps = { .buf = buf, .p = buf, .end = buf + len, .a = a, .err = err,
			     .errlen = errlen };
	int rc = -1;

	*root = jf_alloc(a, sizeof(**root));
	if (!*root) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(*root, 0, sizeof(**root));
	skip_ws(&ps);
	if (ps.p >= ps.end || (*ps.p != '{' && *ps.p != '['))
		fail(&ps, ps.p, "'[' or '{' expected");
	else if (!parse_value(&ps, 0, *root)) {
		skip_ws(&ps);
		if (ps.p < ps.end)
			fail(&ps, ps.p, "end of file expected");
		else
			rc = 0;
	}
	free(ps.stack);
	return rc;
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
