#include "sampler.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "hashmap.h"
#include "registry.h"

struct kept {
	struct seismo_sample ring[SAMPLER_KEEP];
	unsigned next; /* total added; ring index = next % SAMPLER_KEEP */
};

struct sampler {
	struct hashmap *by_service; /* name hash -> struct kept */
	uint64_t total;
};

static uint64_t name_key(const char *service)
{
	return hashmap_hash_bytes(service, strlen(service));
}

struct sampler *sampler_new(void)
{
	struct sampler *s = calloc(1, sizeof(*s));

	if (s && !(s->by_service = hashmap_new(sizeof(uint64_t)))) {
		free(s);
		return NULL;
	}
	return s;
}

void sampler_free(struct sampler *s)
{
	size_t pos = 0;
	const void *key;
	void *value;

	if (!s)
		return;
	while (hashmap_next(s->by_service, &pos, &key, &value))
		free(value);
	hashmap_free(s->by_service);
	free(s);
}

double sampler_epoch_of(uint64_t monotonic_ns)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	double offset =
		(double)(real.tv_sec - mono.tv_sec) + (double)(real.tv_nsec - mono.tv_nsec) / 1e9;
	return (double)monotonic_ns / 1e9 + offset;
}

void sampler_add(struct sampler *s, const char *service, const struct seismo_sample *sample)
{
	uint64_t key = name_key(service);
	struct kept *k = hashmap_get(s->by_service, &key);

	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k || hashmap_put(s->by_service, &key, k)) {
			free(k);
			return;
		}
	}
	k->ring[k->next % SAMPLER_KEEP] = *sample;
	k->next++;
	s->total++;
}

uint64_t sampler_total(const struct sampler *s)
{
	return s->total;
}

void sampler_expire(struct sampler *s, double before)
{
	uint64_t *gone = calloc(hashmap_size(s->by_service) + 1, sizeof(*gone));
	size_t pos = 0, n = 0;
	const void *key;
	void *value;

	if (!gone)
		return;
	while (hashmap_next(s->by_service, &pos, &key, &value)) {
		const struct kept *k = value;
		const struct seismo_sample *newest = &k->ring[(k->next - 1) % SAMPLER_KEEP];
		if (sampler_epoch_of(newest->time_ns) < before)
			gone[n++] = *(const uint64_t *)key;
	}
	for (size_t i = 0; i < n; i++)
		free(hashmap_del(s->by_service, &gone[i]));
	free(gone);
}

static void add_exemplar(json_t *event, const struct seismo_sample *smp)
{
	char local[64], remote[64], comm[17], path[SEISMO_PATH_LEN + 1];

	registry_format_addr(smp->local_addr, smp->local_port, local, sizeof(local));
	registry_format_addr(smp->remote_addr, smp->remote_port, remote, sizeof(remote));
	memcpy(comm, smp->comm, 16);
	comm[16] = 0;
	memcpy(path, smp->path, SEISMO_PATH_LEN);
	path[SEISMO_PATH_LEN] = 0;
	struct events_exemplar ex = {
		.time = sampler_epoch_of(smp->time_ns),
		.latency_seconds = (double)smp->latency_ns / 1e9,
		.pid = (int)smp->pid,
		.comm = comm,
		.local = local,
		.remote = remote,
		.method = registry_method_name(smp->method),
		.path = path,
		.status = smp->status,
	};
	events_add_exemplar(event, &ex);
}

int sampler_attach(struct sampler *s, const char *service, double since, int max, json_t *event)
{
	uint64_t key = name_key(service);
	struct kept *k = hashmap_get(s->by_service, &key);
	int added = 0;

	if (!k)
		return 0;
	for (unsigned i = 0; i < SAMPLER_KEEP && i < k->next && added < max; i++) {
		const struct seismo_sample *smp = &k->ring[(k->next - 1 - i) % SAMPLER_KEEP];
		if (sampler_epoch_of(smp->time_ns) < since)
			break;
		add_exemplar(event, smp);
		added++;
	}
	return added;
}
