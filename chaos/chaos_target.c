/* Resolving experiment targets: cgroups, services, network namespaces. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chaos_target.h"
#include "log.h"

int chaos_cgroup2_root(char *buf, size_t len)
{
	FILE *mounts = setmntent("/proc/mounts", "r");
	struct mntent *entry;
	int err = -ENOENT;

	if (!mounts) {
		log_error("chaos: reading /proc/mounts: %s", strerror(errno));
		return -errno;
	}
	while ((entry = getmntent(mounts))) {
		if (!strcmp(entry->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", entry->mnt_dir);
			err = 0;
			break;
		}
	}
	endmntent(mounts);
	if (err)
		log_error("chaos: no cgroup2 file system is mounted");
	return err;
}

static int is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int chaos_cgroup_resolve(const char *arg, char *dir, size_t len)
{
	char root[CHAOS_PATH_MAX];
	const char *suffix = strrchr(arg, '.');

	if (arg[0] == '/' && is_dir(arg) && !access(arg, R_OK)) {
		char procs[CHAOS_PATH_MAX + 16];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", arg);
		if (!access(procs, R_OK)) {
			snprintf(dir, len, "%s", arg);
			return 0;
		}
	}
	if (chaos_cgroup2_root(root, sizeof(root)))
		return -ENOENT;
	if (suffix && !strcmp(suffix, ".service") && !strchr(arg, '/'))
		snprintf(dir, len, "%s/system.slice/%s", root, arg);
	else
		snprintf(dir, len, "%s/%s", root, arg[0] == '/' ? arg + 1 : arg);
	if (!is_dir(dir)) {
		log_error("chaos: cgroup '%s' not found (looked for %s)", arg, dir);
		return -ENOENT;
	}
	return 0;
}

static int append_pid(pid_t **pids, size_t *count, size_t *capacity, pid_t pid)
{
	if (*count == *capacity) {
		size_t grown = *capacity ? *capacity * 2 : 64;
		pid_t *bigger = realloc(*pids, grown * sizeof(**pids));

		if (!bigger)
			return -ENOMEM;
		*pids = bigger;
		*capacity = grown;
	}
	(*pids)[(*count)++] = pid;
	return 0;
}

static int collect_pids(const char *dir, pid_t **pids, size_t *count, size_t *capacity, int depth)
{
	char path[CHAOS_PATH_MAX * 2];
	struct dirent *entry;
	FILE *procs;
	DIR *children;
	long pid;
	int err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	procs = fopen(path, "r");
	if (!procs) {
		log_error("chaos: reading %s: %s", path, strerror(errno));
		return -errno;
	}
	while (!err && fscanf(procs, "%ld", &pid) == 1)
		err = append_pid(pids, count, capacity, (pid_t)pid);
	fclose(procs);
	if (err || depth > 16)
		return err;
	children = opendir(dir);
	if (!children)
		return 0;
	while (!err && (entry = readdir(children))) {
		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		err = collect_pids(path, pids, count, capacity, depth + 1);
	}
	closedir(children);
	return err;
}

int chaos_cgroup_pids(const char *dir, pid_t **pids, size_t *count)
{
	size_t capacity = 0;
	int err;

	*pids = NULL;
	*count = 0;
	err = collect_pids(dir, pids, count, &capacity, 0);
	if (err) {
		free(*pids);
		*pids = NULL;
		*count = 0;
	}
	return err;
}

int chaos_netns_open(enum chaos_netns_kind kind, const char *arg, char *path, size_t path_len)
{
	char cgroup[CHAOS_PATH_MAX];
	pid_t *pids = NULL;
	size_t count = 0;
	int fd;

	switch (kind) {
	case CHAOS_NETNS_CURRENT:
		snprintf(path, path_len, "/proc/self/ns/net");
		break;
	case CHAOS_NETNS_PATH:
		snprintf(path, path_len, "%s", arg);
		break;
	case CHAOS_NETNS_PID:
		snprintf(path, path_len, "/proc/%s/ns/net", arg);
		break;
	case CHAOS_NETNS_CGROUP:
		if (chaos_cgroup_resolve(arg, cgroup, sizeof(cgroup)) ||
		    chaos_cgroup_pids(cgroup, &pids, &count))
			return -ENOENT;
		if (!count) {
			log_error("chaos: cgroup %s has no processes, so no network namespace",
				  cgroup);
			free(pids);
			return -ESRCH;
		}
		snprintf(path, path_len, "/proc/%d/ns/net", (int)pids[0]);
		free(pids);
		break;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("chaos: opening network namespace %s: %s", path, strerror(errno));
		return -errno;
	}
	return fd;
}

int chaos_netns_enter(int netns_fd, int *saved_fd)
{
	*saved_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved_fd < 0) {
		log_error("chaos: opening the current network namespace: %s", strerror(errno));
		return -errno;
	}
	if (setns(netns_fd, CLONE_NEWNET)) {
		int err = -errno;

		log_error("chaos: entering the target network namespace: %s", strerror(errno));
		close(*saved_fd);
		*saved_fd = -1;
		return err;
	}
	return 0;
}

int chaos_netns_leave(int saved_fd)
{
	int err = 0;

	if (saved_fd < 0)
		return 0;
	if (setns(saved_fd, CLONE_NEWNET)) {
		err = -errno;
		log_error("chaos: returning to the original network namespace: %s",
			  strerror(errno));
	}
	close(saved_fd);
	return err;
}
