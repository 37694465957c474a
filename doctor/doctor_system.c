/*
 * seismo doctor: the node itself — kernel, BTF, privileges, the pseudo file
 * systems the agent needs, and how much map memory it may lock.
 */
#include <errno.h>
#include <linux/capability.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "doctor.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

static const char *errno_text(int err)
{
	return strerror(err < 0 ? -err : err);
}

void doctor_check_kernel(struct doctor_report *report)
{
	struct utsname uts;
	unsigned int major = 0, minor = 0;

	if (uname(&uts) < 0) {
		doctor_add(report, "kernel", DOCTOR_FAIL, DOCTOR_NEED_INFO, "uname: %s",
			   strerror(errno));
		return;
	}
	sscanf(uts.release, "%u.%u", &major, &minor);
	/* 5.8 brought ring buffers and CAP_BPF, both of which the agent uses. */
	if (major < 5 || (major == 5 && minor < 8))
		doctor_add(report, "kernel", DOCTOR_WARN, DOCTOR_NEED_INFO,
			   "%s %s: older than 5.8 (no ring buffer, no CAP_BPF)", uts.release,
			   uts.machine);
	else
		doctor_add(report, "kernel", DOCTOR_OK, DOCTOR_NEED_INFO, "%s %s", uts.release,
			   uts.machine);
}

void doctor_check_btf(struct doctor_report *report)
{
	struct btf *btf;
	struct stat st;
	int err;

	if (stat(VMLINUX_BTF, &st) < 0) {
		doctor_add(
			report, "btf", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			"%s: %s (kernel built without CONFIG_DEBUG_INFO_BTF; CO-RE programs cannot be relocated)",
			VMLINUX_BTF, strerror(errno));
		return;
	}
	btf = btf__load_vmlinux_btf();
	err = libbpf_get_error(btf);
	if (err) {
		doctor_add(report, "btf", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			   "%s exists but does not parse: %s", VMLINUX_BTF, errno_text(err));
		return;
	}
	doctor_add(report, "btf", DOCTOR_OK, DOCTOR_NEED_AGENT, "%s, %u types, %.1f MiB",
		   VMLINUX_BTF, btf__type_cnt(btf), st.st_size / 1048576.0);
	btf__free(btf);
}

/* The effective capability set of this process, as two 32-bit words. */
static int effective_caps(__u64 *caps)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &header, data) < 0)
		return -errno;
	*caps = (__u64)data[1].effective << 32 | data[0].effective;
	return 0;
}

static bool has_cap(__u64 caps, int cap)
{
	return caps & (1ULL << cap);
}

static void append_cap(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? " " : "", name);
}

static void check_bpf_syscall(struct doctor_report *report)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "seismo_doctor", 4, 4, 1, NULL);

	if (fd >= 0) {
		close(fd);
		report->have_bpf = true;
		doctor_add(report, "bpf-syscall", DOCTOR_OK, DOCTOR_NEED_AGENT,
			   "bpf() creates maps");
		return;
	}
	if (errno == ENOSYS)
		doctor_add(report, "bpf-syscall", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			   "bpf(): %s (kernel built without CONFIG_BPF_SYSCALL)", strerror(errno));
	else
		doctor_add(report, "bpf-syscall", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			   "bpf() refused to create a map: %s (run as root or with CAP_BPF)",
			   strerror(errno));
}

static void check_lockdown(struct doctor_report *report)
{
	char line[128] = "";
	FILE *f = fopen("/sys/kernel/security/lockdown", "r");

	if (!f)
		return; /* no securityfs or no lockdown LSM: nothing to say */
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (strstr(line, "[confidentiality]"))
		doctor_add(report, "lockdown", DOCTOR_WARN, DOCTOR_NEED_INFO,
			   "%s: kernel memory reads from BPF are refused", line);
	else
		doctor_add(report, "lockdown", DOCTOR_OK, DOCTOR_NEED_INFO, "%s", line);
}

void doctor_check_privileges(struct doctor_report *report)
{
	char have[128] = "", missing[128] = "";
	__u64 caps = 0;
	int err = effective_caps(&caps);
	bool admin;

	if (err) {
		doctor_add(report, "capabilities", DOCTOR_FAIL, DOCTOR_NEED_AGENT, "capget: %s",
			   errno_text(err));
		return;
	}
	admin = has_cap(caps, CAP_SYS_ADMIN);
	/* CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON (and is all that
	 * exists before 5.8). */
	append_cap(has_cap(caps, CAP_BPF) ? have : missing, sizeof(have), "CAP_BPF");
	append_cap(has_cap(caps, CAP_PERFMON) ? have : missing, sizeof(have), "CAP_PERFMON");
	append_cap(has_cap(caps, CAP_NET_ADMIN) ? have : missing, sizeof(have), "CAP_NET_ADMIN");
	append_cap(has_cap(caps, CAP_SYS_RESOURCE) ? have : missing, sizeof(have),
		   "CAP_SYS_RESOURCE");
	append_cap(admin ? have : missing, sizeof(have), "CAP_SYS_ADMIN");

	if ((has_cap(caps, CAP_BPF) || admin) && (has_cap(caps, CAP_PERFMON) || admin))
		doctor_add(report, "capabilities", DOCTOR_OK, DOCTOR_NEED_AGENT,
			   "uid %u; have %s%s%s", (unsigned)geteuid(), have,
			   missing[0] ? "; missing " : "", missing);
	else
		doctor_add(
			report, "capabilities", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			"uid %u; missing capabilities: %s%s%s (the agent needs CAP_BPF and CAP_PERFMON, or root)",
			(unsigned)geteuid(), missing, have[0] ? "; have " : "", have);

	if (has_cap(caps, CAP_NET_ADMIN))
		doctor_add(report, "cap-net-admin", DOCTOR_OK, DOCTOR_NEED_CHAOS,
			   "may attach tc programs and change qdiscs");
	else
		doctor_add(report, "cap-net-admin", DOCTOR_FAIL, DOCTOR_NEED_CHAOS,
			   "missing CAP_NET_ADMIN: chaos cannot attach tc programs");
	/* seismo chaos delay probes fq in a scratch netns and enters pods'
	 * namespaces with setns; chaos kill signals other users' processes. */
	if (admin)
		doctor_add(report, "cap-sys-admin", DOCTOR_OK, DOCTOR_NEED_CHAOS,
			   "may create and enter network namespaces");
	else
		doctor_add(
			report, "cap-sys-admin", DOCTOR_FAIL, DOCTOR_NEED_CHAOS,
			"missing CAP_SYS_ADMIN: chaos delay (fq probe in a scratch netns) and --pid/--cgroup/--netns targets are refused");
	if (has_cap(caps, CAP_KILL))
		doctor_add(report, "cap-kill", DOCTOR_OK, DOCTOR_NEED_CHAOS,
			   "chaos kill may signal any process");
	else
		doctor_add(report, "cap-kill", DOCTOR_WARN, DOCTOR_NEED_CHAOS,
			   "missing CAP_KILL: chaos kill reaches only processes of uid %u",
			   (unsigned)geteuid());
	report->have_netns = admin;

	check_bpf_syscall(report);
	check_lockdown(report);
}

int doctor_find_mount(const char *mounts_file, const char *fstype, char *dir, size_t len)
{
	struct mntent entry, *m;
	char buf[4096];
	FILE *f = setmntent(mounts_file, "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent_r(f, &entry, buf, sizeof(buf)))) {
		if (strcmp(m->mnt_type, fstype))
			continue;
		snprintf(dir, len, "%s", m->mnt_dir);
		err = 0;
		break;
	}
	endmntent(f);
	return err;
}

/* tracefs, or the tracing/ directory of an old-style debugfs mount. */
static void check_tracefs(struct doctor_report *report)
{
	char dir[256], events[300];
	int err = doctor_find_mount("/proc/mounts", "tracefs", dir, sizeof(dir));

	if (err == -ENOENT && !doctor_find_mount("/proc/mounts", "debugfs", dir, sizeof(dir))) {
		snprintf(events, sizeof(events), "%s/tracing/events", dir);
		if (!access(events, R_OK)) {
			strncat(dir, "/tracing", sizeof(dir) - strlen(dir) - 1);
			err = 0;
		}
	}
	if (err == 0) {
		snprintf(report->tracefs, sizeof(report->tracefs), "%s", dir);
		doctor_add(report, "tracefs", DOCTOR_OK, DOCTOR_NEED_INFO, "mounted at %s", dir);
	} else if (err == -ENOENT) {
		doctor_add(
			report, "tracefs", DOCTOR_WARN, DOCTOR_NEED_INFO,
			"not mounted: plain tracepoint programs cannot find their ids (mount -t tracefs nodev /sys/kernel/tracing)");
	} else {
		doctor_add(report, "tracefs", DOCTOR_FAIL, DOCTOR_NEED_INFO,
			   "cannot read /proc/mounts: %s", errno_text(err));
	}
}

static void check_simple_mount(struct doctor_report *report, const char *name, const char *fstype,
			       enum doctor_need need, const char *if_missing)
{
	char dir[256];
	int err = doctor_find_mount("/proc/mounts", fstype, dir, sizeof(dir));

	if (err == 0)
		doctor_add(report, name, DOCTOR_OK, need, "mounted at %s", dir);
	else if (err == -ENOENT)
		doctor_add(report, name, DOCTOR_WARN, need, "not mounted: %s", if_missing);
	else
		doctor_add(report, name, DOCTOR_FAIL, need, "cannot read /proc/mounts: %s",
			   errno_text(err));
}

/* cgroup v2 names services by unit or pod. In a hybrid setup (v1
 * controllers mounted too, v2 at e.g. /sys/fs/cgroup/unified) container
 * runtimes place containers in v1 only, so pods cannot be told apart. */
static void check_cgroup2(struct doctor_report *report)
{
	char dir[256], v1[256];
	int err = doctor_find_mount("/proc/mounts", "cgroup2", dir, sizeof(dir));

	if (err == -ENOENT)
		doctor_add(
			report, "cgroup2", DOCTOR_WARN, DOCTOR_NEED_INFO,
			"not mounted: services are named by process and port only, not by systemd unit or pod");
	else if (err)
		doctor_add(report, "cgroup2", DOCTOR_FAIL, DOCTOR_NEED_INFO,
			   "cannot read /proc/mounts: %s", errno_text(err));
	else if (!doctor_find_mount("/proc/mounts", "cgroup", v1, sizeof(v1)))
		doctor_add(
			report, "cgroup2", DOCTOR_WARN, DOCTOR_NEED_INFO,
			"hybrid: cgroup2 at %s, cgroup v1 controllers too (e.g. %s): systemd units are named, containers of a v1 runtime are not",
			dir, v1);
	else
		doctor_add(report, "cgroup2", DOCTOR_OK, DOCTOR_NEED_INFO,
			   "mounted at %s (unified)", dir);
}

void doctor_check_mounts(struct doctor_report *report)
{
	check_tracefs(report);
	check_simple_mount(report, "bpffs", "bpf", DOCTOR_NEED_INFO,
			   "maps and links cannot be pinned (mount -t bpf bpf /sys/fs/bpf)");
	check_cgroup2(report);
}

static void format_limit(rlim_t value, char *buf, size_t len)
{
	if (value == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)value / 1024);
}

/* Creates and frees an array map of map_mib MiB: the same charge the agent's
 * maps make, against RLIMIT_MEMLOCK before 5.11 and the memory cgroup after. */
static int try_map_of_size(unsigned long map_mib)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "seismo_doctor", 4, 4096, map_mib * 256, NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

void doctor_check_memory(struct doctor_report *report)
{
	struct rlimit lim;
	char cur[32], max[32];
	int err;

	if (getrlimit(RLIMIT_MEMLOCK, &lim) < 0) {
		doctor_add(report, "map-memory", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			   "getrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
		return;
	}
	format_limit(lim.rlim_cur, cur, sizeof(cur));
	format_limit(lim.rlim_max, max, sizeof(max));
	if (!report->have_bpf) {
		doctor_add(report, "map-memory", DOCTOR_SKIP, DOCTOR_NEED_AGENT,
			   "memlock limit %s (hard %s); no map test without bpf()", cur, max);
		return;
	}
	err = try_map_of_size(report->map_mib);
	if (!err) {
		doctor_add(report, "map-memory", DOCTOR_OK, DOCTOR_NEED_AGENT,
			   "a %lu MiB map was created; memlock limit %s (hard %s)", report->map_mib,
			   cur, max);
		return;
	}
	if (err != -EPERM) {
		doctor_add(report, "map-memory", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			   "a %lu MiB map was refused: %s; memlock limit %s", report->map_mib,
			   errno_text(err), cur);
		return;
	}
	/* Before 5.11 map memory counts against RLIMIT_MEMLOCK; the agent
	 * raises it the way libbpf does, so the doctor tries the same. */
	lim.rlim_cur = lim.rlim_max = RLIM_INFINITY;
	if (setrlimit(RLIMIT_MEMLOCK, &lim) < 0) {
		doctor_add(
			report, "map-memory", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			"a %lu MiB map exceeds the memlock limit %s and it cannot be raised: %s (grant CAP_SYS_RESOURCE or LimitMEMLOCK=infinity)",
			report->map_mib, cur, strerror(errno));
		return;
	}
	err = try_map_of_size(report->map_mib);
	if (err)
		doctor_add(report, "map-memory", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			   "a %lu MiB map was refused even with memlock unlimited: %s",
			   report->map_mib, errno_text(err));
	else
		doctor_add(
			report, "map-memory", DOCTOR_WARN, DOCTOR_NEED_AGENT,
			"a %lu MiB map needs the memlock limit raised from %s (done here; kernel < 5.11 charges maps to memlock)",
			report->map_mib, cur);
}
