/* The ingest path's JSON reader and writer (correlator/json_parse.cc, json_fast*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../correlator/json_fast.h"

static const struct jf_value *parse_ok(struct jf_arena *a, const char *text)
{
	struct jf_value *root;
	char err[256] = "";

	if (jf_parse(text, strlen(text), a, &root, err, sizeof(err)))
		fail_msg("'%s': %s", text, err);
	return root;
}

static void values(void **state)
{
	struct jf_arena a = { 0 };
	const char *text = " {\"s\":\"a\\u00e9\\ud83d\\ude00\\n\\\"\",\"i\":-42,\"r\":2.5e3,"
			   "\"b\":[true,false,null],\"o\":{\"k\" : [ 1 , {} ]}} ";
	const struct jf_value *root = parse_ok(&a, text), *v;

	assert_int_equal(root->type, JF_OBJECT);
	assert_int_equal(root->n, 5);
	v = jf_get(root, "s");
	assert_int_equal(v->type, JF_STRING);
	assert_string_equal(v->str, "a\xc3\xa9\xf0\x9f\x98\x80\n\"");
	assert_int_equal(v->len, strlen(v->str));
	v = jf_get(root, "i");
	assert_int_equal(v->type, JF_INT);
	assert_int_equal(v->integer, -42);
	v = jf_get(root, "r");
	assert_int_equal(v->type, JF_REAL);
	assert_true(jf_number(v) == 2500.0);
	v = jf_get(root, "b");
	assert_int_equal(v->n, 3);
	assert_int_equal(v->items[0].type, JF_TRUE);
	assert_int_equal(v->items[2].type, JF_NULL);
	v = jf_get(root, "o");
	assert_int_equal(v->type, JF_OBJECT);
	assert_null(v->text); /* only array items near the top keep their text */
	assert_null(jf_get(root, "missing"));
	assert_null(jf_get(v->members[0].value.items, "k")); /* not an object */
	jf_arena_free(&a);
}

/* An event or alert (an item of a top-level array) keeps its compact text. */
static void items_keep_their_text(void **state)
{
	struct jf_arena a = { 0 };
	const struct jf_value *root =
		parse_ok(&a, "{\"events\": [ {\"k\" : [ 1 , {} ], \"r\": 2.50} , 3 ]}");
	const struct jf_value *events = jf_get(root, "events");

	assert_int_equal(events->n, 2);
	assert_string_equal(events->items[0].text, "{\"k\":[1,{}],\"r\":2.5}");
	assert_int_equal(events->items[0].text_len, strlen(events->items[0].text));
	assert_null(events->items[1].text);		   /* not an object */
	assert_null(jf_get(&events->items[0], "k")->text); /* too deep */
	root = parse_ok(&a, "[{\"a\":\"\\u00e9\"}]");
	assert_string_equal(root->items[0].text, "{\"a\":\"\xc3\xa9\"}");
	jf_arena_free(&a);
}

static void integer_limits(void **state)
{
	struct jf_arena a = { 0 };
	const struct jf_value *root =
		parse_ok(&a, "[9223372036854775807,-9223372036854775808,-0,1e-400]");

	assert_true(root->items[0].integer == INT64_MAX);
	assert_true(root->items[1].integer == INT64_MIN);
	assert_int_equal(root->items[2].integer, 0);
	assert_int_equal(root->items[3].type, JF_REAL);
	jf_arena_free(&a);
}

static void refusals_say_where(void **state)
{
	struct {
		const char *text, *expect;
		size_t len; /* 0: strlen(text) */
	} cases[] = {
		{ "", "'[' or '{' expected", 0 },
		{ "\"top\"", "'[' or '{' expected", 0 },
		{ "{\"a\":1,\"a\":2}", "duplicate object key", 0 },
		{ "{\"a\":\"x\\u0000\"}", "\\u0000 is not allowed", 0 },
		{ "[\"\\ud800\"]", "invalid Unicode", 0 },
		{ "[\"\\udc00\"]", "invalid Unicode", 0 },
		{ "[\"\xc3\x28\"]", "unable to decode byte 0xc3", 0 },
		{ "[\"\xed\xa0\x80\"]", "unable to decode byte 0xed",
		  0 }, /* a surrogate in UTF-8 */
		{ "[\"\xe0\x80\xaf\"]", "unable to decode byte 0xe0", 0 }, /* overlong */
		{ "[\"a\tb\"]", "control character", 0 },
		{ "[\"\\x\"]", "invalid escape", 0 },
		{ "[9223372036854775808]", "too big integer", 0 },
		{ "[-9223372036854775809]", "too big negative integer", 0 },
		{ "[1e400]", "real number overflow", 0 },
		{ "[01]", "invalid token", 0 },
		{ "[1.]", "invalid token", 0 },
		{ "[-]", "invalid token", 0 },
		{ "[tru]", "invalid token", 0 },
		{ "[1,]", "unexpected token", 0 },
		{ "{\"a\" 1}", "':' expected", 0 },
		{ "{\"a\":1", "'}' expected near end of file", 0 },
		{ "[1] x", "end of file expected", 0 },
		{ "[1\0]", "line 1 column 1:", 4 }, /* NUL is valid nowhere (jansson takes it) */
		{ "{\n\"a\":\n  x}", "line 3 column 3", 0 },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jf_arena a = { 0 };
		struct jf_value *root;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		err[0] = 0;
		if (!jf_parse(cases[i].text, len, &a, &root, err, sizeof(err)))
			fail_msg("case %zu parsed but should not", i);
		if (!strstr(err, cases[i].expect) || strncmp(err, "invalid JSON at line ", 21))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].expect);
		jf_arena_free(&a);
	}
}

static void nesting_is_bounded(void **state)
{
	size_t depth = 2049;
	char *text = malloc(2 * depth + 1);
	struct jf_arena a = { 0 };
	struct jf_value *root;
	char err[256];

	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	text[2 * depth] = 0;
	assert_int_equal(jf_parse(text, 2 * depth, &a, &root, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "maximum parsing depth"));
	jf_arena_free(&a);
	/* As jansson: 2048 levels are fine. */
	assert_int_equal(jf_parse(text + 1, 2 * depth - 2, &a, &root, err, sizeof(err)), 0);
	jf_arena_free(&a);
	free(text);
}

static void big_objects_checked_for_duplicates(void **state)
{
	char text[8192];
	size_t used = 0;
	struct jf_arena a = { 0 };
	struct jf_value *root;
	char err[256];

	used += (size_t)snprintf(text + used, sizeof(text) - used, "{");
	for (int i = 0; i < 100; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\"k%d\":%d",
					 i ? "," : "", i, i);
	snprintf(text + used, sizeof(text) - used, ",\"k57\":0}");
	assert_int_equal(jf_parse(text, strlen(text), &a, &root, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate object key"));
	jf_arena_free(&a);
	text[used] = '}';
	text[used + 1] = 0;
	assert_int_equal(jf_parse(text, strlen(text), &a, &root, err, sizeof(err)), 0);
	assert_int_equal(root->n, 100);
	jf_arena_free(&a);
}

static void writer_escapes(void **state)
{
	struct jf_buf b = { 0 };

	jf_buf_put_string(&b, "a\"b\\c\n\x01\xc3\xa9");
	assert_string_equal(jf_buf_text(&b), "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
	jf_buf_free(&b);
	assert_string_equal(jf_buf_text(&b), "");
	jf_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values),
		cmocka_unit_test(items_keep_their_text),
		cmocka_unit_test(integer_limits),
		cmocka_unit_test(refusals_say_where),
		cmocka_unit_test(nesting_is_bounded),
		cmocka_unit_test(big_objects_checked_for_duplicates),
		cmocka_unit_test(writer_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
