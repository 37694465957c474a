/* Service names of kernel samples, cached for one interval: a sample must
 * not cost a service resolution (cgroup, kubelet, /proc) each, and names may
 * change (a pod the kubelet lists now), so the cache is emptied every
 * interval. Key: (cgroup, server port), or for outbound calls (cgroup,
 * calling program), as the series are named. */
#ifndef SEISMO_SAMPLE_NAMES_H
#define SEISMO_SAMPLE_NAMES_H

#include <stddef.h>

#include "seismo/latency.h"
#include "services.h"

struct sample_names;

struct sample_names *sample_names_new(void);
void sample_names_free(struct sample_names *n);
/* Forgets every name (once per interval). */
void sample_names_reset(struct sample_names *n);
/* The service name of smp: cached, or resolved now (and cached; into buf when
 * the cache cannot hold it). Never NULL. */
const char *sample_names_get(struct sample_names *n, struct services *services,
			     const struct seismo_sample *smp, char *buf, size_t len);

#endif
