/* Root qdisc handling over rtnetlink (see chaos_qdisc.h for why not tc). */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_qdisc.h"
#include "log.h"

struct nl_request {
	struct nlmsghdr header;
	struct tcmsg tc;
	uint8_t attrs[CHAOS_QDISC_OPTIONS_MAX + 256];
};

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int one = 1;

	if (fd < 0) {
		log_error("chaos: rtnetlink socket: %s", strerror(errno));
		return -errno;
	}
	/* the kernel's own explanation ("Specified qdisc kind is unknown") */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	return fd;
}

static struct rtattr *nl_add_attr(struct nl_request *req, uint16_t type, const void *data,
				  size_t len)
{
	size_t offset = NLMSG_ALIGN(req->header.nlmsg_len);
	struct rtattr *attr = (struct rtattr *)((uint8_t *)req + offset);

	if (offset + RTA_SPACE(len) > sizeof(*req))
		return NULL;
	attr->rta_type = type;
	attr->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(attr), data, len);
	req->header.nlmsg_len = (uint32_t)(offset + RTA_SPACE(len));
	return attr;
}

static void nl_request_init(struct nl_request *req, uint16_t type, uint16_t flags, int ifindex,
			    uint32_t parent, uint32_t handle)
{
	memset(req, 0, sizeof(*req));
	req->header.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req->header.nlmsg_type = type;
	req->header.nlmsg_flags = NLM_F_REQUEST | flags;
	req->header.nlmsg_seq = 1;
	req->tc.tcm_family = AF_UNSPEC;
	req->tc.tcm_ifindex = ifindex;
	req->tc.tcm_parent = parent;
	req->tc.tcm_handle = handle;
}

/* The extended-ack text of an error message, or "" when there is none. */
static const char *nl_error_text(const struct nlmsghdr *header)
{
	const struct nlmsgerr *err = NLMSG_DATA(header);
	size_t offset = sizeof(*err);
	const struct rtattr *attr;
	int len;

	if (!(header->nlmsg_flags & NLM_F_ACK_TLVS))
		return "";
	if (!(header->nlmsg_flags & NLM_F_CAPPED))
		offset += err->msg.nlmsg_len - NLMSG_HDRLEN;
	len = (int)(header->nlmsg_len - NLMSG_HDRLEN - offset);
	attr = (const struct rtattr *)((const uint8_t *)err + offset);
	for (; len > 0 && RTA_OK(attr, len); attr = RTA_NEXT(attr, len))
		if (attr->rta_type == NLMSGERR_ATTR_MSG)
			return RTA_DATA(attr);
	return "";
}

/* Sends req and waits for its ack; on error logs `what` with the kernel's
 * explanation unless quiet. Returns 0 or a negative errno. */
static int nl_transact(struct nl_request *req, const char *what, int quiet)
{
	uint8_t buf[8192];
	int fd = nl_open(), err;
	ssize_t len;

	if (fd < 0)
		return fd;
	req->header.nlmsg_flags |= NLM_F_ACK;
	if (send(fd, req, req->header.nlmsg_len, 0) < 0) {
		err = -errno;
		log_error("chaos: %s: sending to rtnetlink: %s", what, strerror(errno));
		goto out;
	}
	for (;;) {
		struct nlmsghdr *header = (struct nlmsghdr *)buf;

		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			err = -errno;
			log_error("chaos: %s: reading rtnetlink: %s", what, strerror(errno));
			goto out;
		}
		for (; NLMSG_OK(header, (size_t)len); header = NLMSG_NEXT(header, len)) {
			if (header->nlmsg_type != NLMSG_ERROR)
				continue;
			err = ((struct nlmsgerr *)NLMSG_DATA(header))->error;
			if (err && !quiet) {
				const char *text = nl_error_text(header);

				log_error("chaos: %s: %s%s%s", what, strerror(-err),
					  *text ? ": " : "", text);
			}
			goto out;
		}
	}
out:
	close(fd);
	return err;
}

/* Exit status of the probe child when it may not create a namespace. */
#define FQ_PROBE_NO_NETNS 200

/* Creates an fq qdisc on lo of a fresh network namespace; the child's exit
 * status is the errno, or FQ_PROBE_NO_NETNS. */
static int fq_probe_child(void)
{
	struct nl_request req;

	if (unshare(CLONE_NEWNET))
		return FQ_PROBE_NO_NETNS;
	nl_request_init(&req, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, 1, TC_H_ROOT, 0);
	nl_add_attr(&req, TCA_KIND, "fq", 3);
	return -nl_transact(&req, "creating fq in a scratch namespace", 1);
}

/* Whether the kernel has sch_fq loaded, built in or installed as a module,
 * from sysfs and /lib/modules alone; where says which. */
static int fq_module_present(const char *release, char *where, size_t len)
{
	static const char *const suffixes[] = { "", ".xz", ".zst", ".gz" };
	char path[512], line[512];
	struct stat st;
	FILE *builtin;

	if (!stat("/sys/module/sch_fq", &st)) {
		snprintf(where, len, "loaded (/sys/module/sch_fq)");
		return 1;
	}
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", release);
	builtin = fopen(path, "r");
	if (builtin) {
		while (fgets(line, sizeof(line), builtin)) {
			if (strstr(line, "/sch_fq.ko")) {
				fclose(builtin);
				snprintf(where, len, "built in (%s)", path);
				return 1;
			}
		}
		fclose(builtin);
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/kernel/net/sched/sch_fq.ko%s",
			 release, suffixes[i]);
		if (!stat(path, &st)) {
			snprintf(where, len, "installed as %s", path);
			return 1;
		}
	}
	return 0;
}

int chaos_qdisc_probe_fq(char *why, size_t why_len)
{
	char where[600] = "";
	struct utsname uts;
	int status, code;
	pid_t pid;

	why[0] = '\0';
	uname(&uts);
	pid = fork();
	if (pid < 0) {
		snprintf(why, why_len, "cannot fork to probe fq: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0)
		_exit(fq_probe_child() & 0xff);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		snprintf(why, why_len, "the fq probe process failed");
		return -ECHILD;
	}
	code = WEXITSTATUS(status);
	if (code == 0)
		return 0;
	if (code == FQ_PROBE_NO_NETNS) {
		/* no CAP_SYS_ADMIN (a pod without it): judge by the module files */
		if (fq_module_present(uts.release, where, sizeof(where))) {
			log_info("chaos: cannot try fq in a scratch namespace; sch_fq is %s",
				 where);
			return 0;
		}
		snprintf(why, why_len,
			 "kernel %s shows no fq qdisc: module sch_fq (CONFIG_NET_SCH_FQ) is not "
			 "loaded, built in or installed; delay needs fq to enforce departure times",
			 uts.release);
		return -ENOENT;
	}
	if (code == ENOENT || code == EOPNOTSUPP || code == EINVAL) {
		int present = fq_module_present(uts.release, where, sizeof(where));

		snprintf(why, why_len,
			 "kernel %s has no fq qdisc: module sch_fq (CONFIG_NET_SCH_FQ) is %s; "
			 "delay needs fq to enforce departure times",
			 uts.release,
			 present ? "present but failed to load" : "neither built in nor installed");
		return -code;
	}
	snprintf(why, why_len, "cannot create an fq qdisc to probe it: %s", strerror(code));
	return -code;
}

void chaos_fq_params_for(uint64_t max_delay_ns, uint32_t rate_pps, uint32_t flow_rate_pps,
			 struct chaos_fq_params *params)
{
	double seconds = (double)max_delay_ns / 1e9;
	double flow = flow_rate_pps * seconds * 2, total = rate_pps * seconds * 2;
	uint64_t horizon_us = max_delay_ns / 1000 * 2 + 1000000;

	/* never below fq's own defaults (100 per flow, 10000 in all) */
	params->flow_limit = flow < 100 ? 100 : flow > 1e6 ? 1000000 : (uint32_t)flow;
	params->limit = total < 10000 ? 10000 : total > 1e7 ? 10000000 : (uint32_t)total;
	if (params->limit < params->flow_limit)
		params->limit = params->flow_limit;
	params->horizon_us = horizon_us > UINT32_MAX ? UINT32_MAX : (uint32_t)horizon_us;
}

/* Visits every qdisc of ifindex from an RTM_GETQDISC dump. */
static int qdisc_dump(int ifindex, struct chaos_root_qdisc *root)
{
	struct nl_request req;
	uint8_t buf[32768];
	int fd = nl_open(), err = 0, found = 0;

	if (fd < 0)
		return fd;
	nl_request_init(&req, RTM_GETQDISC, NLM_F_DUMP, 0, 0, 0);
	if (send(fd, &req, req.header.nlmsg_len, 0) < 0) {
		err = -errno;
		log_error("chaos: asking rtnetlink for qdiscs: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *header = (struct nlmsghdr *)buf;

		if (len < 0) {
			err = -errno;
			log_error("chaos: reading the qdisc dump: %s", strerror(errno));
			goto out;
		}
		for (; NLMSG_OK(header, (size_t)len); header = NLMSG_NEXT(header, len)) {
			struct tcmsg *tc = NLMSG_DATA(header);
			struct rtattr *attr = TCA_RTA(tc);
			int attr_len = (int)TCA_PAYLOAD(header);

			if (header->nlmsg_type == NLMSG_DONE)
				goto out;
			if (header->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(header))->error;
				log_error("chaos: qdisc dump: %s", strerror(-err));
				goto out;
			}
			if (header->nlmsg_type != RTM_NEWQDISC || tc->tcm_ifindex != ifindex)
				continue;
			if (tc->tcm_parent != TC_H_ROOT) {
				/* clsact/ingress hang off TC_H_CLSACT; default leaves have handle 0 */
				if (tc->tcm_parent != TC_H_CLSACT && tc->tcm_handle != 0)
					root->has_children = 1;
				continue;
			}
			found = 1;
			root->handle = tc->tcm_handle;
			root->is_default = tc->tcm_handle == 0;
			for (; RTA_OK(attr, attr_len); attr = RTA_NEXT(attr, attr_len)) {
				uint16_t type = attr->rta_type & NLA_TYPE_MASK;
				size_t payload = RTA_PAYLOAD(attr);

				if (type == TCA_KIND)
					snprintf(root->kind, sizeof(root->kind), "%.*s",
						 (int)payload, (char *)RTA_DATA(attr));
				if (type == TCA_OPTIONS) {
					if (payload > sizeof(root->options)) {
						err = -E2BIG;
						log_error(
							"chaos: root qdisc options are %zu bytes, more than "
							"the %zu seismo can save",
							payload, sizeof(root->options));
						goto out;
					}
					root->options_type = attr->rta_type;
					root->options_len = (uint32_t)payload;
					memcpy(root->options, RTA_DATA(attr), payload);
				}
			}
		}
	}
out:
	close(fd);
	if (!err && !found) {
		log_error("chaos: device %d has no root qdisc in the dump", ifindex);
		err = -ENOENT;
	}
	return err;
}

int chaos_qdisc_get_root(int ifindex, struct chaos_root_qdisc *root)
{
	memset(root, 0, sizeof(*root));
	return qdisc_dump(ifindex, root);
}

int chaos_qdisc_install_fq(int ifindex, const struct chaos_fq_params *params)
{
	struct nl_request req;
	struct rtattr *options;
	uint32_t no_pacing = 0;
	uint8_t cap_not_drop = 0;

	nl_request_init(&req, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, TC_H_ROOT,
			CHAOS_FQ_HANDLE);
	nl_add_attr(&req, TCA_KIND, "fq", 3);
	options = nl_add_attr(&req, TCA_OPTIONS, NULL, 0);
	nl_add_attr(&req, TCA_FQ_PLIMIT, &params->limit, sizeof(params->limit));
	nl_add_attr(&req, TCA_FQ_FLOW_PLIMIT, &params->flow_limit, sizeof(params->flow_limit));
	nl_add_attr(&req, TCA_FQ_HORIZON, &params->horizon_us, sizeof(params->horizon_us));
	nl_add_attr(&req, TCA_FQ_HORIZON_DROP, &cap_not_drop, sizeof(cap_not_drop));
	/* fq's own TCP pacing off: it only enforces the departure times */
	nl_add_attr(&req, TCA_FQ_RATE_ENABLE, &no_pacing, sizeof(no_pacing));
	options->rta_len =
		(unsigned short)((uint8_t *)&req + req.header.nlmsg_len - (uint8_t *)options);
	return nl_transact(&req, "installing the fq root qdisc", 0);
}

void chaos_qdisc_save(const struct chaos_root_qdisc *root, struct chaos_state *state)
{
	snprintf(state->prev_kind, sizeof(state->prev_kind), "%s", root->kind);
	state->prev_handle = root->handle;
	state->prev_is_default = (uint32_t)root->is_default;
	state->prev_options_type = root->options_type;
	state->prev_options_len = root->options_len;
	memcpy(state->prev_options, root->options, root->options_len);
}

int chaos_qdisc_restore(int ifindex, const struct chaos_state *state)
{
	struct chaos_root_qdisc now;
	struct nl_request req;
	char what[96];
	int err;

	err = chaos_qdisc_get_root(ifindex, &now);
	if (err)
		return err;
	if (now.handle != CHAOS_FQ_HANDLE || strcmp(now.kind, "fq")) {
		log_warn("chaos: root qdisc of %s is %s %x: now, not seismo's fq; leaving it alone",
			 state->ifname, now.kind, now.handle >> 16);
		return 0;
	}
	if (state->prev_is_default) {
		/* the kernel re-attaches its default (noqueue, mq, pfifo_fast) */
		nl_request_init(&req, RTM_DELQDISC, 0, ifindex, TC_H_ROOT, 0);
		snprintf(what, sizeof(what), "removing fq from %s", state->ifname);
		return nl_transact(&req, what, 0);
	}
	nl_request_init(&req, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, TC_H_ROOT,
			state->prev_handle);
	nl_add_attr(&req, TCA_KIND, state->prev_kind, strlen(state->prev_kind) + 1);
	if (state->prev_options_len)
		nl_add_attr(&req, state->prev_options_type, state->prev_options,
			    state->prev_options_len);
	snprintf(what, sizeof(what), "restoring %s %x: on %s", state->prev_kind,
		 state->prev_handle >> 16, state->ifname);
	return nl_transact(&req, what, 0);
}
