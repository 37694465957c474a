/* A string -> index map (open addressing), for services and anomaly ids. */
#ifndef CORR_STRMAP_H
#define CORR_STRMAP_H

#include <stddef.h>

struct corr_strmap {
	char **keys;
	int *vals;
	size_t cap;
	size_t n;
};

/* -1 when absent. */
int corr_strmap_get(const struct corr_strmap *m, const char *key);
/* Inserts or replaces; 0 or -1 (out of memory). */
int corr_strmap_put(struct corr_strmap *m, const char *key, int val);
/* Removes key (backward-shift deletion, no tombstones); 0, or -1 when absent. */
int corr_strmap_del(struct corr_strmap *m, const char *key);
void corr_strmap_free(struct corr_strmap *m);

#endif
