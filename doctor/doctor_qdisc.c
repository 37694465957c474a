/*
 * seismo doctor: do the fq and netem qdiscs exist?
 *
 * Chaos delay rides on fq (it honours the departure time a tc program writes
 * into skb->tstamp); netem is the classic fallback. Where we may make a
 * throwaway network namespace the answer comes from the kernel itself: the
 * qdisc is created on that namespace's lo over rtnetlink, which also makes
 * the kernel load the module if one exists. Otherwise it comes from
 * /proc/modules, modules.builtin and the module files.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor.h"

struct qdisc_request {
	struct nlmsghdr header;
	struct tcmsg tc;
	char attrs[128];
};

static void add_attr(struct qdisc_request *req, unsigned short type, const void *data, size_t len)
{
	struct rtattr *attr = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->header.nlmsg_len));

	attr->rta_type = type;
	attr->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(attr), data, len);
	req->header.nlmsg_len = NLMSG_ALIGN(req->header.nlmsg_len) + RTA_ALIGN(attr->rta_len);
}

/* Asks the kernel to make KIND the root qdisc of lo; 0 or -errno. */
static int create_root_qdisc(const char *kind)
{
	struct qdisc_request req = {
		.header = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
			    .nlmsg_type = RTM_NEWQDISC,
			    .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL },
		.tc = { .tcm_family = AF_UNSPEC,
			.tcm_ifindex = 1,
			.tcm_handle = 0x10000,
			.tcm_parent = TC_H_ROOT },
	};
	/* netem refuses to start without options; fq takes none. */
	struct tc_netem_qopt netem = { .limit = 1000 };
	char reply[1024];
	struct nlmsghdr *answer = (struct nlmsghdr *)reply;
	ssize_t got;
	int fd, err;

	add_attr(&req, TCA_KIND, kind, strlen(kind) + 1);
	if (!strcmp(kind, "netem"))
		add_attr(&req, TCA_OPTIONS, &netem, sizeof(netem));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.header.nlmsg_len, 0) < 0) {
		err = -errno;
		goto cleanup;
	}
	got = recv(fd, reply, sizeof(reply), 0);
	if (got < 0) {
		err = -errno;
		goto cleanup;
	}
	if (!NLMSG_OK(answer, (size_t)got) || answer->nlmsg_type != NLMSG_ERROR) {
		err = -EPROTO;
		goto cleanup;
	}
	err = ((struct nlmsgerr *)NLMSG_DATA(answer))->error;
cleanup:
	close(fd);
	return err;
}

static int create_in_netns(const char *kind)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int err;

		if (unshare(CLONE_NEWNET) < 0)
			_exit(errno);
		err = create_root_qdisc(kind);
		_exit(err < 0 ? -err : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

static bool file_has_line(const char *path, const char *prefix, bool whole_line)
{
	char line[512];
	size_t n = strlen(prefix);
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = whole_line ? !strcmp(line, prefix) : !strncmp(line, prefix, n);
	}
	fclose(f);
	return found;
}

/* Where the module comes from, judged from files: "loaded", "built in",
 * "module file", or NULL when there is no trace of it. */
static const char *module_source(const char *module)
{
	static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	char path[512], wanted[128];
	struct utsname uts;

	snprintf(wanted, sizeof(wanted), "%s ", module);
	if (file_has_line("/proc/modules", wanted, false))
		return "loaded";
	if (uname(&uts) < 0)
		return NULL;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", uts.release);
	snprintf(wanted, sizeof(wanted), "kernel/net/sched/%s.ko", module);
	if (file_has_line(path, wanted, true))
		return "built in";
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/kernel/net/sched/%s%s", uts.release,
			 module, suffixes[i]);
		if (!access(path, R_OK))
			return "module file";
	}
	return NULL;
}

static void check_qdisc(struct doctor_report *report, const char *name, const char *kind,
			const char *module, const char *use)
{
	const char *source = module_source(module);
	int err;

	if (!report->have_netns) {
		if (source)
			doctor_add(
				report, name, DOCTOR_OK, DOCTOR_NEED_CHAOS,
				"%s: %s (%s; not created: no CAP_SYS_ADMIN for a throwaway netns)",
				module, source, use);
		else
			doctor_add(report, name, DOCTOR_FAIL, DOCTOR_NEED_CHAOS,
				   "%s: not loaded, not built in, no module file (%s unavailable)",
				   module, use);
		return;
	}
	err = create_in_netns(kind);
	if (!err)
		doctor_add(report, name, DOCTOR_OK, DOCTOR_NEED_CHAOS,
			   "%s qdisc created in a throwaway netns (%s)", kind, use);
	else
		doctor_add(report, name, DOCTOR_FAIL, DOCTOR_NEED_CHAOS,
			   "%s qdisc cannot be created: %s; %s %s (%s unavailable)", kind,
			   strerror(-err), module, source ? source : "is not in this kernel", use);
}

void doctor_check_qdiscs(struct doctor_report *report)
{
	check_qdisc(report, "qdisc-fq", "fq", "sch_fq", "chaos delay and jitter");
	check_qdisc(report, "qdisc-netem", "netem", "sch_netem", "netem fallback");
}
