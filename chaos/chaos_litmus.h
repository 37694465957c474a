/* Litmus ChaosEngine YAML (as in the seed's examples) turned into seismo
 * experiments on the node it runs on:
 *   pod-network-latency, pod-network-loss -> delay on NETWORK_INTERFACE
 *   pod-delete                            -> kill in a cgroup/service
 * appinfo.applabel "app=NAME" names the service NAME.service unless the
 * caller gives a target. httpProbe entries become probes. */
#ifndef SEISMO_CHAOS_LITMUS_H
#define SEISMO_CHAOS_LITMUS_H

#include "chaos_run.h"

#define CHAOS_LITMUS_MAX_EXPERIMENTS 8

struct chaos_litmus_overrides {
	const char *target;    /* cgroup/service for pod-delete */
	const char *interface; /* device for network experiments */
};

/* Parses path into exps[0..*count). Errors name file:line and the field. */
int chaos_litmus_load(const char *path, const struct chaos_litmus_overrides *overrides,
		      struct chaos_experiment *exps, size_t *count);

#endif
