/*
 * seismo doctor: which BPF hooks this kernel really lets us use.
 *
 * A feature probe only says the kernel knows a program type; refusals such
 * as fentry's EPERM or a kernel without kprobes show up at attach time. So
 * each hook is tried end to end: a two-instruction program is loaded with
 * bpf_prog_load and attached to the event the agent itself uses
 * (sock:sock_send_length, tcp_sendmsg), then detached at once.
 * latency-hooks is not derived from those: it is the collector's own probe
 * (collector_probe), the very variants the agent would try, in its order.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "collector.h"
#include "doctor.h"

/* The tracepoint the agent measures with, and the function fentry/kprobe
 * variants would hook. */
#define TP_CATEGORY "sock"
#define TP_NAME "sock_send_length"
#define KFUNC_NAME "tcp_sendmsg"

/* r0 = 0; exit — valid for every program type tried here (0 is TC_ACT_OK). */
static const struct bpf_insn return_zero[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static int load_program(enum bpf_prog_type type, enum bpf_attach_type expected, __u32 btf_id)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = expected,
		    .attach_btf_id = btf_id);
	struct utsname uts;
	unsigned int major = 0, minor = 0, patch = 0;
	int fd;

	/* Kernels before 5.0 check a kprobe program's kern_version. */
	if (type == BPF_PROG_TYPE_KPROBE && !uname(&uts)) {
		sscanf(uts.release, "%u.%u.%u", &major, &minor, &patch);
		opts.kern_version = major << 16 | minor << 8 | (patch > 255 ? 255 : patch);
	}
	fd = bpf_prog_load(type, "seismo_doctor", "GPL", return_zero,
			   sizeof(return_zero) / sizeof(return_zero[0]), &opts);
	return fd < 0 ? -errno : fd;
}

static int perf_event_open(struct perf_event_attr *attr)
{
	int fd = syscall(__NR_perf_event_open, attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Attaches prog_fd to a perf event (tracepoint or kprobe) and detaches it. */
static int attach_to_perf_event(int prog_fd, struct perf_event_attr *attr)
{
	int pfd = perf_event_open(attr), err = 0;

	if (pfd < 0)
		return pfd;
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0 ||
	    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0) < 0)
		err = -errno;
	close(pfd);
	return err;
}

static int read_number(const char *path, unsigned long long *value)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%llu", value) != 1)
		err = -EINVAL;
	fclose(f);
	return err;
}

static void report_result(struct doctor_report *report, const char *name, int load_err,
			  int attach_err, const char *target)
{
	if (load_err)
		doctor_add(report, name, DOCTOR_FAIL, DOCTOR_NEED_INFO, "load refused: %s",
			   strerror(-load_err));
	else if (attach_err)
		doctor_add(report, name, DOCTOR_FAIL, DOCTOR_NEED_INFO,
			   "loads, but attaching to %s is refused: %s", target,
			   strerror(-attach_err));
	else
		doctor_add(report, name, DOCTOR_OK, DOCTOR_NEED_INFO, "loads and attaches to %s",
			   target);
}

static void check_tracepoint(struct doctor_report *report)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_TRACEPOINT,
					.size = sizeof(attr),
					.sample_period = 1,
					.wakeup_events = 1 };
	unsigned long long id;
	char path[512];
	int fd, err;

	fd = load_program(BPF_PROG_TYPE_TRACEPOINT, 0, 0);
	if (fd < 0) {
		report_result(report, "tracepoint", fd, 0, NULL);
		return;
	}
	if (!report->tracefs[0]) {
		doctor_add(
			report, "tracepoint", DOCTOR_FAIL, DOCTOR_NEED_INFO,
			"loads, but cannot attach without tracefs (mount -t tracefs nodev /sys/kernel/tracing)");
		goto cleanup;
	}
	snprintf(path, sizeof(path), "%s/events/%s/%s/id", report->tracefs, TP_CATEGORY, TP_NAME);
	err = read_number(path, &id);
	if (err) {
		doctor_add(report, "tracepoint", DOCTOR_FAIL, DOCTOR_NEED_INFO,
			   "loads, but %s: %s (no %s:%s tracepoint in this kernel?)", path,
			   strerror(-err), TP_CATEGORY, TP_NAME);
		goto cleanup;
	}
	attr.config = id;
	report_result(report, "tracepoint", 0, attach_to_perf_event(fd, &attr),
		      TP_CATEGORY ":" TP_NAME);
cleanup:
	close(fd);
}

static void check_raw_tracepoint(struct doctor_report *report)
{
	int fd = load_program(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0), link;

	if (fd < 0) {
		report_result(report, "raw-tracepoint", fd, 0, NULL);
		return;
	}
	link = bpf_raw_tracepoint_open(TP_NAME, fd);
	report_result(report, "raw-tracepoint", 0, link < 0 ? -errno : 0, TP_NAME);
	if (link >= 0)
		close(link);
	close(fd);
}

/* BTF-typed hooks (tp_btf, fentry) name their target by a vmlinux BTF id. */
static int find_btf_id(const char *name, __u32 kind)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int id, err = libbpf_get_error(btf);

	if (err)
		return err;
	id = btf__find_by_name_kind(btf, name, kind);
	btf__free(btf);
	return id;
}

static void check_btf_hook(struct doctor_report *report, const char *name,
			   enum bpf_attach_type type, const char *btf_name, __u32 kind,
			   const char *target)
{
	int id = find_btf_id(btf_name, kind), fd, link;

	if (id < 0) {
		doctor_add(report, name, DOCTOR_FAIL, DOCTOR_NEED_INFO, "no BTF id for %s: %s",
			   btf_name, strerror(-id));
		return;
	}
	fd = load_program(BPF_PROG_TYPE_TRACING, type, id);
	if (fd < 0) {
		report_result(report, name, fd, 0, NULL);
		return;
	}
	link = bpf_raw_tracepoint_open(NULL, fd);
	report_result(report, name, 0, link < 0 ? -errno : 0, target);
	if (link >= 0)
		close(link);
	close(fd);
}

static void check_kprobe(struct doctor_report *report)
{
	struct perf_event_attr attr = { .size = sizeof(attr),
					.sample_period = 1,
					.wakeup_events = 1 };
	unsigned long long type;
	int fd, err;

	fd = load_program(BPF_PROG_TYPE_KPROBE, 0, 0);
	if (fd < 0) {
		report_result(report, "kprobe", fd, 0, NULL);
		return;
	}
	err = read_number("/sys/bus/event_source/devices/kprobe/type", &type);
	if (err) {
		doctor_add(report, "kprobe", DOCTOR_FAIL, DOCTOR_NEED_INFO,
			   "loads, but the kernel has no kprobe PMU (CONFIG_KPROBES off?): %s",
			   strerror(-err));
		goto cleanup;
	}
	attr.type = type;
	attr.config1 = (__u64)(unsigned long)KFUNC_NAME;
	report_result(report, "kprobe", 0, attach_to_perf_event(fd, &attr), KFUNC_NAME);
cleanup:
	close(fd);
}

/* In a child in a throwaway network namespace, so nothing touches the
 * host's devices: clsact on that namespace's lo, the program, then exit. */
static int attach_tc_in_netns(int prog_fd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
		int err;

		if (unshare(CLONE_NEWNET) < 0)
			_exit(errno);
		err = bpf_tc_hook_create(&hook);
		if (!err)
			err = bpf_tc_attach(&hook, &opts);
		_exit(err < 0 ? -err : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

static void check_sched_cls(struct doctor_report *report)
{
	int fd = load_program(BPF_PROG_TYPE_SCHED_CLS, 0, 0);

	if (fd < 0) {
		report_result(report, "tc-sched-cls", fd, 0, NULL);
		return;
	}
	if (!report->have_netns)
		doctor_add(
			report, "tc-sched-cls", DOCTOR_WARN, DOCTOR_NEED_INFO,
			"loads; attach not tried (a throwaway network namespace needs CAP_SYS_ADMIN)");
	else
		report_result(report, "tc-sched-cls", 0, attach_tc_in_netns(fd),
			      "clsact ingress of lo in a throwaway netns");
	close(fd);
}

static void check_prog_type(struct doctor_report *report, const char *name, enum bpf_prog_type type)
{
	int ret = libbpf_probe_bpf_prog_type(type, NULL);

	if (ret == 1)
		doctor_add(report, name, DOCTOR_OK, DOCTOR_NEED_INFO, "program type loads");
	else
		doctor_add(report, name, DOCTOR_FAIL, DOCTOR_NEED_INFO, "program type refused%s%s",
			   ret < 0 ? ": " : "", ret < 0 ? strerror(-ret) : "");
}

static void check_map_type(struct doctor_report *report, const char *name, enum bpf_map_type type,
			   enum doctor_need need, const char *use)
{
	int ret = libbpf_probe_bpf_map_type(type, NULL);

	if (ret == 1)
		doctor_add(report, name, DOCTOR_OK, need, "map type works (%s)", use);
	else
		doctor_add(report, name, DOCTOR_FAIL, need, "map type refused%s%s (%s)",
			   ret < 0 ? ": " : "", ret < 0 ? strerror(-ret) : "", use);
}

/* Whether the agent can measure: the collector's own probe (the variants
 * collector_open tries, in its order), not a second opinion, so doctor and
 * agent cannot disagree. */
static void check_latency_hooks(struct doctor_report *report)
{
	struct collector_probe_result probe;
	int err = collector_probe(&probe);

	if (!err)
		doctor_add(report, "latency-hooks", DOCTOR_OK, DOCTOR_NEED_AGENT,
			   "the agent attaches %s%s%s%s", probe.hook,
			   probe.why[0] ? " (refused: " : "", probe.why, probe.why[0] ? ")" : "");
	else
		doctor_add(report, "latency-hooks", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			   "no socket hook variant attaches: %s", probe.why);
}

static void summarise_chaos_tc(struct doctor_report *report)
{
	const struct doctor_check *tc = doctor_find(report, "tc-sched-cls");

	if (!doctor_passed(report, "cap-net-admin"))
		doctor_add(report, "chaos-tc", DOCTOR_FAIL, DOCTOR_NEED_CHAOS,
			   "no CAP_NET_ADMIN: tc programs cannot be attached");
	else if (tc && tc->status == DOCTOR_OK)
		doctor_add(report, "chaos-tc", DOCTOR_OK, DOCTOR_NEED_CHAOS,
			   "tc programs load and attach (loss, and delay where fq exists)");
	else if (tc && tc->status == DOCTOR_WARN)
		doctor_add(report, "chaos-tc", DOCTOR_WARN, DOCTOR_NEED_CHAOS,
			   "tc programs load; attaching was not tried");
	else
		doctor_add(report, "chaos-tc", DOCTOR_FAIL, DOCTOR_NEED_CHAOS,
			   "tc programs do not load or attach");
}

void doctor_check_hooks(struct doctor_report *report)
{
	static const char *const names[] = { "tracepoint", "raw-tracepoint", "tp-btf",
					     "fentry",	   "kprobe",	     "tc-sched-cls",
					     "cgroup-skb", "ringbuf",	     "lpm-trie" };

	if (!report->have_bpf) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			doctor_add(report, names[i], DOCTOR_SKIP, DOCTOR_NEED_INFO,
				   "not tried: bpf() is refused");
		doctor_add(report, "latency-hooks", DOCTOR_FAIL, DOCTOR_NEED_AGENT,
			   "no BPF program can be loaded");
		doctor_add(report, "chaos-tc", DOCTOR_FAIL, DOCTOR_NEED_CHAOS,
			   "no BPF program can be loaded");
		return;
	}
	check_tracepoint(report);
	check_raw_tracepoint(report);
	check_btf_hook(report, "tp-btf", BPF_TRACE_RAW_TP, "btf_trace_" TP_NAME, BTF_KIND_TYPEDEF,
		       TP_NAME);
	check_btf_hook(report, "fentry", BPF_TRACE_FENTRY, KFUNC_NAME, BTF_KIND_FUNC, KFUNC_NAME);
	check_kprobe(report);
	check_sched_cls(report);
	check_prog_type(report, "cgroup-skb", BPF_PROG_TYPE_CGROUP_SKB);
	check_map_type(report, "ringbuf", BPF_MAP_TYPE_RINGBUF, DOCTOR_NEED_AGENT,
		       "slow-request samples");
	check_map_type(report, "lpm-trie", BPF_MAP_TYPE_LPM_TRIE, DOCTOR_NEED_CHAOS,
		       "chaos target prefixes");
	check_latency_hooks(report);
	summarise_chaos_tc(report);
}
