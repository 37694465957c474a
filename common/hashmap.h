/* A small hash map from fixed-size byte keys to pointers (open addressing,
 * linear probing, backward-shift deletion). No library we depend on offers
 * one for binary keys; this is the agent's index of series and services. */
#ifndef SEISMO_HASHMAP_H
#define SEISMO_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct hashmap;

struct hashmap *hashmap_new(size_t key_size);
/* Frees the table; values are the caller's (free them first with hashmap_next). */
void hashmap_free(struct hashmap *m);
void *hashmap_get(const struct hashmap *m, const void *key);
/* Inserts or replaces; returns 0, or -ENOMEM. */
int hashmap_put(struct hashmap *m, const void *key, void *value);
/* Removes key; returns its value or NULL. */
void *hashmap_del(struct hashmap *m, const void *key);
size_t hashmap_size(const struct hashmap *m);
/* Iteration: start with *pos = 0; returns 0 at the end. The map must not
 * change during an iteration: collect keys first, then delete them. */
int hashmap_next(const struct hashmap *m, size_t *pos, const void **key, void **value);
uint64_t hashmap_hash_bytes(const void *data, size_t len);

#endif
