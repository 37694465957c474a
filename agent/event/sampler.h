/* Kernel samples of slow or failing requests: keeps the most recent few per
 * service so events can carry them as exemplars, and pushes each service's
 * latency threshold into the kernel. */
#ifndef SEISMO_SAMPLER_H
#define SEISMO_SAMPLER_H

#include <jansson.h>
#include <stdint.h>

#include "seismo/latency.h"

#define SAMPLER_KEEP 8 /* samples kept per service */

struct sampler;

struct sampler *sampler_new(void);
void sampler_free(struct sampler *s);

/* Files one kernel sample under its service's name. */
void sampler_add(struct sampler *s, const char *service, const struct seismo_sample *sample);
/* Adds up to max of the service's samples taken at or after since (epoch
 * seconds), newest first, to an event as exemplars. Returns how many. */
int sampler_attach(struct sampler *s, const char *service, double since, int max, json_t *event);
uint64_t sampler_total(const struct sampler *s);
/* Forgets services whose newest sample is older than before (epoch seconds):
 * a node's services come and go, their samples must not stay. */
void sampler_expire(struct sampler *s, double before);

/* Kernel time (CLOCK_MONOTONIC ns) to epoch seconds. */
double sampler_epoch_of(uint64_t monotonic_ns);

#endif
