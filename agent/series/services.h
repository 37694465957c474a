/* Service identity: which service a cgroup (and port) belongs to, with its
 * labels. Sources, in order: the config's explicit rules, Kubernetes (pod and
 * container from the cgroup path, names and labels from the kubelet),
 * Docker/containerd containers, systemd units, else process name + port. */
#ifndef SEISMO_SERVICES_H
#define SEISMO_SERVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

enum service_source {
	SERVICE_CONFIG,
	SERVICE_KUBERNETES,
	SERVICE_CONTAINER,
	SERVICE_SYSTEMD,
	SERVICE_PROCESS,
};

struct service_identity {
	char name[136];
	char namespace_[64];
	char pod[128];
	char container[64];
	char app[64];
	char team[64];
	char pod_uid[40];
	char container_id[72];
	char cgroup[256];
	enum service_source source;
	bool provisional; /* a pod not in the kubelet's list yet: resolve again later */
	struct config_label extra[CONFIG_MAX_LABELS]; /* labels from the config */
	int n_extra;
};

struct services;

struct services *services_new(const struct config *cfg);
void services_free(struct services *s);

/* Names (cgroup_id, port): comm is the process seen on it ("" if unknown),
 * tgid its process id (0 if unknown: the name stays comm); port is the
 * server port, 0 for a service's outbound calls. Config rules match comm. */
void services_resolve(struct services *s, uint64_t cgroup_id, uint16_t port, const char *comm,
		      uint32_t tgid, struct service_identity *out);
/* The process name in full: comm, or when the kernel cut it at 15
 * characters, the base name of argv[0], argv[1] (a script) or the executable
 * that begins with it (docs/agent.md, "Service names"). */
void services_full_name(uint32_t tgid, const char *comm, char *out, size_t size);

/* Pure parts, exposed for tests. */
/* Fills what the cgroup path alone tells (k8s pod UID/container, container
 * id, systemd unit). Returns the source it found, or SERVICE_PROCESS. */
enum service_source services_parse_cgroup(const char *path, struct service_identity *out);
/* Applies a kubelet /pods JSON document: fills name/namespace/pod/app/team
 * for out->pod_uid (and container name for out->container_id). 0 if found. */
int services_apply_podlist(const char *json, size_t len, struct service_identity *out);
/* Path of a cgroup v2 id under mount, by scanning; 0 or -ENOENT. */
int services_cgroup_path(const char *mount, uint64_t id, char *out, size_t size);
/* Where cgroup v2 is mounted ("" if nowhere). */
void services_cgroup2_mount(char *out, size_t size);

#endif
