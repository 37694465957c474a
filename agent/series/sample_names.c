/* Per-interval cache of the service names of kernel samples. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "sample_names.h"

struct sample_names {
	struct hashmap *map; /* struct sample_name_key -> char* name */
};

struct sample_name_key {
	uint64_t cgroup_id;
	uint64_t port;
	char comm[16]; /* outbound calls are named per calling program */
};

static void clear(struct hashmap *map)
{
	size_t pos = 0;
	const void *key;
	void *value;

	if (!map)
		return;
	while (hashmap_next(map, &pos, &key, &value))
		free(value);
	hashmap_free(map);
}

struct sample_names *sample_names_new(void)
{
	struct sample_names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->map = hashmap_new(sizeof(struct sample_name_key));
	if (!n->map) {
		free(n);
		return NULL;
	}
	return n;
}

void sample_names_free(struct sample_names *n)
{
	if (!n)
		return;
	clear(n->map);
	free(n);
}

void sample_names_reset(struct sample_names *n)
{
	clear(n->map);
	n->map = hashmap_new(sizeof(struct sample_name_key)); /* NULL: resolved each time */
}

const char *sample_names_get(struct sample_names *n, struct services *services,
			     const struct seismo_sample *smp, char *buf, size_t len)
{
	struct sample_name_key key = {
		.cgroup_id = smp->cgroup_id,
		.port = smp->role == SEISMO_ROLE_SERVER ? smp->local_port : 0,
	};
	struct service_identity id;
	char comm[17];
	char *name;

	if (smp->role != SEISMO_ROLE_SERVER)
		memcpy(key.comm, smp->comm, sizeof(key.comm));
	name = n->map ? hashmap_get(n->map, &key) : NULL;
	if (name)
		return name;
	memcpy(comm, smp->comm, 16);
	comm[16] = 0;
	services_resolve(services, smp->cgroup_id, (uint16_t)key.port, comm, smp->pid, &id);
	name = strdup(id.name);
	if (name && n->map && !hashmap_put(n->map, &key, name))
		return name;
	free(name);
	snprintf(buf, len, "%s", id.name);
	return buf;
}
