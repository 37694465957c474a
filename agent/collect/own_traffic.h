/* The agent's own HTTP port is not one of the node's services. The kernel
 * times its scrapes and probes like any server's, so without this filter
 * they would show as service "seismo:9464" (with /readyz's 503s while
 * starting counted as its errors). Config measure_self: true keeps them. */
#ifndef SEISMO_OWN_TRAFFIC_H
#define SEISMO_OWN_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>

struct own_traffic {
	bool active;
	uint16_t port;	    /* the agent's HTTP port */
	uint32_t pid;	    /* the agent's pid (the kernel's, where pid namespaces agree) */
	uint64_t cgroup_id; /* the agent's cgroup v2 id, 0 = not found */
};

/* Inactive when measure_self. */
void own_traffic_init(struct own_traffic *o, const char *cgroup_mount, uint16_t port,
		      bool measure_self);
/* True for the server side of the agent's own port: the agent's cgroup, or
 * tgid (the process the kernel saw on it; 0 if unknown) is the agent. Either
 * may fail alone: a private cgroup namespace over the host's cgroup tree
 * hides the first (the DaemonSet), a private pid namespace the second. */
bool own_traffic_is(const struct own_traffic *o, uint64_t cgroup_id, uint16_t local_port,
		    bool server, uint32_t tgid);

#endif
