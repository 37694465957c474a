#include "hashmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct slot {
	void *value; /* NULL = empty */
	uint64_t hash;
};

struct hashmap {
	size_t key_size;
	size_t cap; /* power of two */
	size_t size;
	struct slot *slots;
	unsigned char *keys; /* cap * key_size */
};

uint64_t hashmap_hash_bytes(const void *data, size_t len)
{
	/* FNV-1a, then a finaliser so low bits mix well for masking. */
	uint64_t h = fnv1a64(FNV64_OFFSET, data, len);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static int alloc_table(struct hashmap *m, size_t cap)
{
	m->slots = calloc(cap, sizeof(*m->slots));
	m->keys = calloc(cap, m->key_size);
	if (!m->slots || !m->keys) {
		free(m->slots);
		free(m->keys);
		return -ENOMEM;
	}
	m->cap = cap;
	m->size = 0;
	return 0;
}

struct hashmap *hashmap_new(size_t key_size)
{
	struct hashmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->key_size = key_size;
	if (alloc_table(m, 16)) {
		free(m);
		return NULL;
	}
	return m;
}

void hashmap_free(struct hashmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->keys);
	free(m);
}

static unsigned char *key_at(const struct hashmap *m, size_t i)
{
	return m->keys + i * m->key_size;
}

/* Index of key, or of the empty slot where it would go. */
static size_t find(const struct hashmap *m, const void *key, uint64_t h, bool *found)
{
	size_t mask = m->cap - 1, i = h & mask;

	for (;; i = (i + 1) & mask) {
		if (!m->slots[i].value) {
			*found = false;
			return i;
		}
		if (m->slots[i].hash == h && !memcmp(key_at(m, i), key, m->key_size)) {
			*found = true;
			return i;
		}
	}
}

void *hashmap_get(const struct hashmap *m, const void *key)
{
	bool found;
	size_t i = find(m, key, hashmap_hash_bytes(key, m->key_size), &found);

	return found ? m->slots[i].value : NULL;
}

static int grow(struct hashmap *m)
{
	struct hashmap old = *m;

	if (alloc_table(m, old.cap * 2)) {
		*m = old;
		return -ENOMEM;
	}
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.slots[i].value)
			continue;
		bool found;
		size_t j = find(m, old.keys + i * old.key_size, old.slots[i].hash, &found);
		m->slots[j] = old.slots[i];
		memcpy(key_at(m, j), old.keys + i * old.key_size, m->key_size);
		m->size++;
	}
	free(old.slots);
	free(old.keys);
	return 0;
}

int hashmap_put(struct hashmap *m, const void *key, void *value)
{
	uint64_t h = hashmap_hash_bytes(key, m->key_size);
	bool found;
	size_t i;

	if (!value)
		return -EINVAL;
	if ((m->size + 1) * 4 > m->cap * 3 && grow(m))
		return -ENOMEM;
	i = find(m, key, h, &found);
	if (!found) {
		memcpy(key_at(m, i), key, m->key_size);
		m->slots[i].hash = h;
		m->size++;
	}
	m->slots[i].value = value;
	return 0;
}

void *hashmap_del(struct hashmap *m, const void *key)
{
	bool found;
	size_t mask = m->cap - 1;
	size_t i = find(m, key, hashmap_hash_bytes(key, m->key_size), &found);
	void *value;

	if (!found)
		return NULL;
	value = m->slots[i].value;
	m->slots[i].value = NULL;
	m->size--;
	/* Backward-shift: pull later members of the probe run into the hole. */
	for (size_t j = (i + 1) & mask; m->slots[j].value; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
		if (!movable)
			continue;
		m->slots[i] = m->slots[j];
		memcpy(key_at(m, i), key_at(m, j), m->key_size);
		m->slots[j].value = NULL;
		i = j;
	}
	return value;
}

size_t hashmap_size(const struct hashmap *m)
{
	return m->size;
}

int hashmap_next(const struct hashmap *m, size_t *pos, const void **key, void **value)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;
		if (m->slots[i].value) {
			*key = key_at(m, i);
			*value = m->slots[i].value;
			return 1;
		}
	}
	return 0;
}
