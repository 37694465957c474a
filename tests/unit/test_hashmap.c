/* common/hashmap.c against a reference array: many keys inserted, replaced,
 * looked up and deleted in random order, with the table kept dense so that
 * backward-shift deletion moves entries across probe runs and around the
 * end of the table. After every deletion the moved entries must still be
 * found, and nothing deleted may come back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hashmap.h"

/* An odd key size, so the key array's stride is not a power of two. */
struct __attribute__((packed)) key {
	uint32_t id;
	uint8_t tag[9];
};

#define N_KEYS 4096

static struct key make_key(uint32_t id)
{
	struct key k;

	memset(&k, 0, sizeof(k));
	k.id = id;
	for (int i = 0; i < 9; i++)
		k.tag[i] = (uint8_t)(id * 31 + i);
	return k;
}

/* Values are never NULL (NULL means "absent" to the map). */
static void *value_of(uint32_t id, unsigned version)
{
	return (void *)(uintptr_t)(((uintptr_t)version << 20) | (id + 1));
}

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

struct reference {
	bool present[N_KEYS];
	unsigned version[N_KEYS];
	size_t size;
};

static void check_all(const struct hashmap *m, const struct reference *ref)
{
	size_t pos = 0, seen = 0;
	const void *key;
	void *value;

	assert_int_equal(hashmap_size(m), ref->size);
	for (uint32_t id = 0; id < N_KEYS; id++) {
		struct key k = make_key(id);
		void *got = hashmap_get(m, &k);
		if (ref->present[id])
			assert_ptr_equal(got, value_of(id, ref->version[id]));
		else
			assert_null(got);
	}
	/* Iteration visits every member once, with its own value. */
	while (hashmap_next(m, &pos, &key, &value)) {
		const struct key *k = key;
		assert_true(k->id < N_KEYS);
		assert_true(ref->present[k->id]);
		assert_ptr_equal(value, value_of(k->id, ref->version[k->id]));
		seen++;
	}
	assert_int_equal(seen, ref->size);
}

static void put(struct hashmap *m, struct reference *ref, uint32_t id)
{
	struct key k = make_key(id);

	ref->version[id]++;
	assert_int_equal(hashmap_put(m, &k, value_of(id, ref->version[id])), 0);
	if (!ref->present[id])
		ref->size++;
	ref->present[id] = true;
}

static void del(struct hashmap *m, struct reference *ref, uint32_t id)
{
	struct key k = make_key(id);
	void *got = hashmap_del(m, &k);

	if (ref->present[id]) {
		assert_ptr_equal(got, value_of(id, ref->version[id]));
		ref->present[id] = false;
		ref->size--;
	} else {
		assert_null(got);
	}
	assert_null(hashmap_get(m, &k));
}

static void test_random_operations(void **state)
{
	struct hashmap *m = hashmap_new(sizeof(struct key));
	struct reference *ref = calloc(1, sizeof(*ref));
	uint32_t s = 12345;

	assert_non_null(m);
	assert_non_null(ref);
	for (int op = 0; op < 200000; op++) {
		uint32_t id = rng_next(&s) % N_KEYS, what = rng_next(&s) % 10;
		if (what < 5)
			put(m, ref, id);
		else if (what < 8)
			del(m, ref, id);
		else {
			struct key k = make_key(id);
			void *got = hashmap_get(m, &k);
			if (ref->present[id])
				assert_ptr_equal(got, value_of(id, ref->version[id]));
			else
				assert_null(got);
		}
		if (op % 5000 == 0)
			check_all(m, ref);
	}
	check_all(m, ref);
	hashmap_free(m);
	free(ref);
}

/* Fill to just under the growth threshold, then churn: the table never
 * grows, stays 70-75% full, and every deletion shifts entries back. */
static void test_dense_churn(void **state)
{
	struct hashmap *m = hashmap_new(sizeof(struct key));
	struct reference *ref = calloc(1, sizeof(*ref));
	uint32_t s = 777;
	const size_t target = 1500; /* a 2048-slot table holds up to 1536 */

	assert_non_null(m);
	assert_non_null(ref);
	for (uint32_t id = 0; ref->size < target; id++)
		put(m, ref, id);
	check_all(m, ref);
	for (int round = 0; round < 20000; round++) {
		uint32_t id;
		do
			id = rng_next(&s) % N_KEYS;
		while (!ref->present[id]);
		del(m, ref, id);
		if (round % 50 == 0)
			check_all(m, ref);
		do
			id = rng_next(&s) % N_KEYS;
		while (ref->present[id]);
		put(m, ref, id);
	}
	check_all(m, ref);
	hashmap_free(m);
	free(ref);
}

static void test_delete_everything(void **state)
{
	struct hashmap *m = hashmap_new(sizeof(struct key));
	struct reference *ref = calloc(1, sizeof(*ref));

	assert_non_null(m);
	assert_non_null(ref);
	for (uint32_t id = 0; id < N_KEYS; id++)
		put(m, ref, id);
	check_all(m, ref);
	/* In an order unrelated to insertion and to slots. */
	for (uint32_t i = 0; i < N_KEYS; i++)
		del(m, ref, (i * 2654435761u) % N_KEYS);
	assert_int_equal(hashmap_size(m), 0);
	check_all(m, ref);
	hashmap_free(m);
	free(ref);
}

static void test_null_value_refused(void **state)
{
	struct hashmap *m = hashmap_new(sizeof(struct key));
	struct key k = make_key(1);

	assert_non_null(m);
	assert_int_not_equal(hashmap_put(m, &k, NULL), 0);
	assert_int_equal(hashmap_size(m), 0);
	assert_null(hashmap_del(m, &k));
	hashmap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_operations),
		cmocka_unit_test(test_dense_churn),
		cmocka_unit_test(test_delete_everything),
		cmocka_unit_test(test_null_value_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
