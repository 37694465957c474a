#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static size_t slot(const struct corr_strmap *m, const char *key)
{
	uint64_t h = corr_fnv1a(CORR_FNV_OFFSET, key, strlen(key));
	size_t i = (size_t)h & (m->cap - 1);

	while (m->keys[i] && strcmp(m->keys[i], key))
		i = (i + 1) & (m->cap - 1);
	return i;
}

int corr_strmap_get(const struct corr_strmap *m, const char *key)
{
	if (!m->cap)
		return -1;
	size_t i = slot(m, key);
	return m->keys[i] ? m->vals[i] : -1;
}

static int grow(struct corr_strmap *m)
{
	struct corr_strmap bigger = { .cap = m->cap ? m->cap * 2 : 64 };

	bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
	bigger.vals = calloc(bigger.cap, sizeof(*bigger.vals));
	if (!bigger.keys || !bigger.vals) {
		free(bigger.keys);
		free(bigger.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i]) {
			size_t j = slot(&bigger, m->keys[i]);
			bigger.keys[j] = m->keys[i];
			bigger.vals[j] = m->vals[i];
		}
	bigger.n = m->n;
	free(m->keys);
	free(m->vals);
	*m = bigger;
	return 0;
}

int corr_strmap_put(struct corr_strmap *m, const char *key, int val)
{
	if ((m->n + 1) * 2 > m->cap && grow(m))
		return -1;
	size_t i = slot(m, key);
	if (!m->keys[i]) {
		if (!(m->keys[i] = strdup(key)))
			return -1;
		m->n++;
	}
	m->vals[i] = val;
	return 0;
}

static size_t home_of(const struct corr_strmap *m, const char *key)
{
	return (size_t)corr_fnv1a(CORR_FNV_OFFSET, key, strlen(key)) & (m->cap - 1);
}

int corr_strmap_del(struct corr_strmap *m, const char *key)
{
	if (!m->cap)
		return -1;
	size_t hole = slot(m, key), j = hole;
	if (!m->keys[hole])
		return -1;
	free(m->keys[hole]);
	m->keys[hole] = NULL;
	m->n--;
	/* Pull back every later key of the run that may sit in the hole. */
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (!m->keys[j])
			return 0;
		size_t h = home_of(m, m->keys[j]);
		/* Stays when its home lies cyclically in (hole, j]. */
		int stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
		if (stays)
			continue;
		m->keys[hole] = m->keys[j];
		m->vals[hole] = m->vals[j];
		m->keys[j] = NULL;
		hole = j;
	}
}

void corr_strmap_free(struct corr_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
