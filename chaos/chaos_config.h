/* The `chaos:` section of the agent config (/etc/seismo/agent.yaml):
 *
 *   chaos:
 *     enabled: true        # false: every chaos command refuses on this node
 *     max_latency: 10s     # latency + jitter above this is refused
 *     max_duration: 1h     # longer experiments are refused
 */
#ifndef SEISMO_CHAOS_CONFIG_H
#define SEISMO_CHAOS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CHAOS_DEFAULT_CONFIG "/etc/seismo/agent.yaml"

struct chaos_limits {
	bool enabled;
	uint64_t max_latency_ns;
	uint64_t max_duration_ns;
	char source[256]; /* the file they came from, or "built-in defaults" */
};

void chaos_limits_defaults(struct chaos_limits *limits);

/* Reads the chaos section of path. A missing file is an error only when
 * `required` (the user named it with --config). Errors name file:line. */
int chaos_limits_load(const char *path, bool required, struct chaos_limits *limits);

#endif
