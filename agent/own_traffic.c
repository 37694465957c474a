#include "own_traffic.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

/* "0::/system.slice/seismo-agent.service" -> that directory's inode, which is
 * the id the kernel's bpf_get_current_cgroup_id() reports. */
static int own_cgroup_id(const char *mount, uint64_t *id)
{
	char line[512], path[1024];
	struct stat st;
	FILE *f = fopen("/proc/self/cgroup", "r");
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(path, sizeof(path), "%s%s", mount, line + 3);
		if (!stat(path, &st)) {
			*id = st.st_ino;
			rc = 0;
		}
		break;
	}
	fclose(f);
	return rc;
}

void own_traffic_init(struct own_traffic *o, const char *cgroup_mount, uint16_t port,
		      bool measure_self)
{
	memset(o, 0, sizeof(*o));
	if (measure_self || !cgroup_mount[0])
		return;
	if (own_cgroup_id(cgroup_mount, &o->cgroup_id)) {
		log_warn("cannot find the agent's own cgroup: its port %u is measured like a service",
			 port);
		return;
	}
	o->port = port;
	o->active = true;
	log_debug("the agent's own port %u (cgroup id %llu) is not measured", port,
		  (unsigned long long)o->cgroup_id);
}

bool own_traffic_is(const struct own_traffic *o, uint64_t cgroup_id, uint16_t local_port,
		    bool server)
{
	return o->active && server && local_port == o->port && cgroup_id == o->cgroup_id;
}
