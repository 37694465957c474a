/* Where an experiment acts: cgroups (v2) and services resolved to their
 * processes, and network namespaces entered by path, pid or cgroup. */
#ifndef SEISMO_CHAOS_TARGET_H
#define SEISMO_CHAOS_TARGET_H

#include <stddef.h>
#include <sys/types.h>

#include "chaos_spec.h"

/* The cgroup v2 mount point from /proc/mounts (not assumed). */
int chaos_cgroup2_root(char *buf, size_t len);

/* Resolves "NAME.service" (under system.slice), a path relative to the
 * cgroup2 root, or an absolute cgroup directory, to an absolute directory. */
int chaos_cgroup_resolve(const char *arg, char *dir, size_t len);

/* The pids in DIR/cgroup.procs; *pids is malloc'd (free it), count set.
 * Descendant cgroups are included, as a service's processes may sit in them. */
int chaos_cgroup_pids(const char *dir, pid_t **pids, size_t *count);

/* Opens the network namespace named by kind/arg (O_RDONLY fd). */
int chaos_netns_open(enum chaos_netns_kind kind, const char *arg, char *path, size_t path_len);

/* Moves the calling thread into netns_fd; *saved_fd keeps the one it was
 * in for chaos_netns_leave(). Both log and return a negative errno. */
int chaos_netns_enter(int netns_fd, int *saved_fd);
int chaos_netns_leave(int saved_fd);

#endif
