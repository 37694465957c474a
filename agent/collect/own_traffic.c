#include "own_traffic.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* "0::/system.slice/seismo-agent.service" -> that directory's inode, which is
 * the id the kernel's bpf_get_current_cgroup_id() reports. -1 when unknown. */
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
		/* "/": the root of a cgroup namespace, which need not be the root of
		 * the mounted tree (a pod's namespace over the node's tree). */
		if (!strcmp(line + 3, "/"))
			break;
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
	if (measure_self)
		return;
	o->active = true;
	o->port = port;
	o->pid = (uint32_t)getpid();
	if (cgroup_mount[0] && own_cgroup_id(cgroup_mount, &o->cgroup_id))
		o->cgroup_id = 0;
	log_debug("the agent's own port %u is not measured (pid %u, cgroup id %llu)", port, o->pid,
		  (unsigned long long)o->cgroup_id);
}

bool own_traffic_is(const struct own_traffic *o, uint64_t cgroup_id, uint16_t local_port,
		    bool server, uint32_t tgid)
{
	if (!o->active || !server || local_port != o->port)
		return false;
	return (o->cgroup_id && cgroup_id == o->cgroup_id) || (tgid && tgid == o->pid);
}
