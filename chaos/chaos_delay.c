/* Network delay experiments: start (fq + tc program, everything pinned
 * first); validation and plan in chaos_delay_plan.c, stop and list in
 * chaos_delay_stop.c. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chaos_delay.h"
#include "chaos_qdisc.h"
#include "chaos_target.h"
#include "chaos_tc.skel.h"
#include "log.h"

#define NS_PER_S 1000000000ULL

/* ARPHRD of the device: where the network header starts for the program. */
static int device_l3_offset(const char *ifname, uint32_t *offset)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", IFNAMSIZ - 1, ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		err = -errno;
		log_error("chaos: device %s: %s", ifname, strerror(errno));
	} else {
		unsigned family = ifr.ifr_hwaddr.sa_family;

		*offset = family == ARPHRD_ETHER || family == ARPHRD_LOOPBACK ? 14 : 0;
	}
	close(fd);
	return err;
}

/* Classful roots own classes and filters a replay of their options would
 * not bring back; seismo refuses them instead of restoring them badly. */
static int root_is_restorable(const struct chaos_root_qdisc *root, const char *ifname)
{
	static const char *const classful[] = { "htb", "hfsc", "cbq",	 "prio",   "drr",
						"qfq", "ets",  "multiq", "mqprio", "taprio" };

	if (root->handle == CHAOS_FQ_HANDLE) {
		log_error("chaos: %s already has seismo's fq (%x:) as root: a previous experiment "
			  "was not cleaned up; 'seismo chaos stop --all' removes it",
			  ifname, CHAOS_FQ_HANDLE >> 16);
		return 0;
	}
	if (root->is_default)
		return 1;
	for (size_t i = 0; i < sizeof(classful) / sizeof(classful[0]); i++) {
		if (!strcmp(root->kind, classful[i]) || root->has_children) {
			log_error(
				"chaos: %s has a configured qdisc tree (root %s %x:); seismo restores "
				"only single root qdiscs exactly, so it leaves this device alone",
				ifname, root->kind, root->handle >> 16);
			return 0;
		}
	}
	return 1;
}

struct start_context {
	struct chaos_maps maps;
	struct chaos_tc_bpf *skel;
	struct chaos_state state;
	int netns_fd;
	int saved_netns_fd;
	int pinned;
};

/* Undoes whatever state says was done; runs inside the target namespace. */
int chaos_delay_rollback_in_netns(const struct chaos_state *state)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = state->ifindex,
			    .attach_point = BPF_TC_EGRESS);
	int err = 0, ret;

	if (state->tc_handle) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = state->tc_handle,
				    .priority = state->tc_priority);

		ret = bpf_tc_detach(&hook, &opts);
		if (ret && ret != -ENOENT) {
			log_error("chaos: detaching chaos_tc from %s: %s", state->ifname,
				  strerror(-ret));
			err = ret;
		}
	}
	if (state->clsact_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		ret = bpf_tc_hook_destroy(&hook);
		if (ret && ret != -ENOENT) {
			log_error("chaos: removing clsact from %s: %s", state->ifname,
				  strerror(-ret));
			err = ret;
		}
	}
	if (state->fq_installed) {
		ret = chaos_qdisc_restore(state->ifindex, state);
		if (ret)
			err = ret;
	}
	return err;
}

static int save_state(struct start_context *ctx)
{
	return chaos_state_write(&ctx->maps, &ctx->state);
}

static int prepare_device(const struct chaos_delay_spec *spec, struct start_context *ctx,
			  uint32_t *l3_offset, struct chaos_root_qdisc *root)
{
	char why[512];
	int ifindex, err;

	ifindex = (int)if_nametoindex(spec->ifname);
	if (!ifindex) {
		log_error("chaos: no device %s in the target network namespace (%s)", spec->ifname,
			  ctx->state.netns_path);
		return -ENODEV;
	}
	ctx->state.ifindex = ifindex;
	err = device_l3_offset(spec->ifname, l3_offset);
	if (err)
		return err;
	/* before anything is touched: without fq, delay cannot take effect */
	err = chaos_qdisc_probe_fq(why, sizeof(why));
	if (err) {
		log_error("chaos: %s", why);
		return err;
	}
	err = chaos_qdisc_get_root(ifindex, root);
	if (err)
		return err;
	return root_is_restorable(root, spec->ifname) ? 0 : -EBUSY;
}

static int start_in_netns(const struct chaos_delay_spec *spec, struct start_context *ctx,
			  uint64_t end_ns)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts);
	struct chaos_root_qdisc root;
	struct chaos_fq_params fq;
	uint32_t l3_offset = 14;
	int err;

	err = prepare_device(spec, ctx, &l3_offset, &root);
	if (err)
		return err;
	chaos_qdisc_save(&root, &ctx->state);
	err = chaos_maps_load(l3_offset, &ctx->skel, &ctx->maps);
	if (err)
		return err;
	err = chaos_maps_write_spec(&ctx->maps, spec, end_ns);
	if (err)
		return err;
	/* pinned with its state before the device changes, so that a crash
	 * from here on leaves something `stop` can undo */
	err = save_state(ctx) ?: chaos_maps_pin(&ctx->maps, spec->name);
	if (err)
		return err;
	ctx->pinned = 1;

	chaos_fq_params_for(chaos_delay_worst_ns(spec), spec->rate_pps, spec->flow_rate_pps, &fq);
	err = chaos_qdisc_install_fq(ctx->state.ifindex, &fq);
	if (err)
		return err;
	ctx->state.fq_installed = 1;
	err = save_state(ctx);
	if (err)
		return err;

	hook.ifindex = ctx->state.ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		log_error("chaos: creating clsact on %s: %s", spec->ifname, strerror(-err));
		return err;
	}
	ctx->state.clsact_created = err == 0;
	err = save_state(ctx);
	if (err)
		return err;
	opts.prog_fd = ctx->maps.prog_fd;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		log_error("chaos: attaching chaos_tc to %s egress: %s", spec->ifname,
			  strerror(-err));
		return err;
	}
	ctx->state.tc_handle = opts.handle;
	ctx->state.tc_priority = opts.priority;
	return save_state(ctx);
}

static int fill_netns_identity(struct start_context *ctx, const struct chaos_delay_spec *spec)
{
	struct stat st;

	ctx->netns_fd = chaos_netns_open(spec->netns_kind, spec->netns_arg, ctx->state.netns_path,
					 sizeof(ctx->state.netns_path));
	if (ctx->netns_fd < 0)
		return ctx->netns_fd;
	if (fstat(ctx->netns_fd, &st)) {
		log_error("chaos: %s: %s", ctx->state.netns_path, strerror(errno));
		return -errno;
	}
	ctx->state.netns_dev = st.st_dev;
	ctx->state.netns_ino = st.st_ino;
	ctx->state.netns_kind = spec->netns_kind;
	return 0;
}

int chaos_delay_start(const struct chaos_delay_spec *spec, uint64_t *end_ns)
{
	struct start_context ctx = { .netns_fd = -1, .saved_netns_fd = -1 };
	int err;

	chaos_maps_init(&ctx.maps);
	ctx.state.version = CHAOS_STATE_VERSION;
	ctx.state.pid = getpid();
	ctx.state.start_ns = chaos_now_ns();
	ctx.state.start_realtime_s = (uint64_t)time(NULL);
	snprintf(ctx.state.ifname, sizeof(ctx.state.ifname), "%s", spec->ifname);
	*end_ns = ctx.state.start_ns + spec->duration_ns;

	err = fill_netns_identity(&ctx, spec);
	if (err)
		goto out;
	err = chaos_netns_enter(ctx.netns_fd, &ctx.saved_netns_fd);
	if (err)
		goto out;
	err = start_in_netns(spec, &ctx, *end_ns);
	if (err && ctx.pinned) {
		chaos_delay_rollback_in_netns(&ctx.state);
		chaos_maps_unpin(spec->name);
	}
	if (chaos_netns_leave(ctx.saved_netns_fd) && !err)
		err = -EIO;
out:
	chaos_maps_close(&ctx.maps);
	if (ctx.skel)
		chaos_tc_bpf__destroy(ctx.skel);
	if (ctx.netns_fd >= 0)
		close(ctx.netns_fd);
	return err;
}
