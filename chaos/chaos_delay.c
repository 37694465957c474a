/* Network delay experiments: validation, plan, start, stop, list. */
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

/* The largest jitter multiple a table (or uniform) can produce, so limits
 * apply to the worst delay rather than the average one. */
static double dist_max_units(enum chaos_jitter_dist dist)
{
	static int32_t table[CHAOS_DIST_TABLE_SIZE];
	int32_t max = 0;

	if (dist == CHAOS_DIST_UNIFORM)
		return 1;
	chaos_dist_fill(dist, table);
	for (int i = 0; i < CHAOS_DIST_TABLE_SIZE; i++)
		if (abs(table[i]) > max)
			max = abs(table[i]);
	return (double)max / CHAOS_DIST_SCALE;
}

static uint64_t worst_delay_ns(const struct chaos_delay_spec *spec)
{
	return spec->latency_ns + (uint64_t)((double)spec->jitter_ns * dist_max_units(spec->dist));
}

static int name_is_valid(const char *name)
{
	if (!*name || name[0] == '.')
		return 0;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return 0;
	return 1;
}

int chaos_delay_validate(const struct chaos_delay_spec *spec, const struct chaos_limits *limits)
{
	uint64_t worst = worst_delay_ns(spec);

	if (!limits->enabled) {
		log_error("chaos: disabled on this node (chaos.enabled: false in %s)", limits->source);
		return -EPERM;
	}
	if (!name_is_valid(spec->name)) {
		log_error("chaos: experiment name '%s' may only hold letters, digits, '-', '_', '.'",
			  spec->name);
		return -EINVAL;
	}
	if (spec->latency_ns == 0 && spec->jitter_ns == 0 && spec->loss_percent == 0) {
		log_error("chaos: nothing to inject: give --latency, --jitter or --loss");
		return -EINVAL;
	}
	if (spec->loss_percent < 0 || spec->loss_percent > 100) {
		log_error("chaos: loss %.3g%% is not a percentage", spec->loss_percent);
		return -EINVAL;
	}
	if (worst > limits->max_latency_ns) {
		log_error("chaos: latency %.3f ms + jitter (%s, up to %.3f ms) exceeds this node's "
			  "max_latency %.3f ms (%s)",
			  spec->latency_ns / 1e6, chaos_dist_name(spec->dist),
			  (double)(worst - spec->latency_ns) / 1e6, limits->max_latency_ns / 1e6,
			  limits->source);
		return -ERANGE;
	}
	if (spec->duration_ns == 0 || spec->duration_ns > limits->max_duration_ns) {
		log_error("chaos: duration %.1f s must be above 0 and at most this node's "
			  "max_duration %.1f s (%s)",
			  spec->duration_ns / 1e9, limits->max_duration_ns / 1e9, limits->source);
		return -ERANGE;
	}
	if (spec->dist == CHAOS_DIST_UNIFORM && spec->jitter_ns > spec->latency_ns)
		log_warn("chaos: jitter above latency: delays below zero are sent at once");
	return 0;
}

static const char *netns_kind_name(enum chaos_netns_kind kind)
{
	static const char *const names[] = { "current", "path", "pid", "cgroup" };

	return names[kind];
}

void chaos_delay_print_plan(const struct chaos_delay_spec *spec, FILE *out)
{
	struct chaos_fq_params fq;
	char cidr[64];

	chaos_fq_params_for(worst_delay_ns(spec), spec->rate_pps, spec->flow_rate_pps, &fq);
	fprintf(out, "plan for experiment '%s' (dry run: nothing is changed)\n", spec->name);
	fprintf(out, "  device        %s in network namespace %s%s%s\n", spec->ifname,
		netns_kind_name(spec->netns_kind), spec->netns_arg[0] ? " " : "", spec->netns_arg);
	fprintf(out, "  destinations  ");
	if (!spec->cidr_count)
		fprintf(out, "all");
	for (size_t i = 0; i < spec->cidr_count; i++) {
		chaos_cidr_format(&spec->cidrs[i], cidr, sizeof(cidr));
		fprintf(out, "%s%s", i ? ", " : "", cidr);
	}
	fprintf(out, "\n  ports         ");
	if (!spec->port_count)
		fprintf(out, "all");
	for (size_t i = 0; i < spec->port_count; i++) {
		if (spec->ports[i].first == spec->ports[i].last)
			fprintf(out, "%s%u", i ? ", " : "", spec->ports[i].first);
		else
			fprintf(out, "%s%u-%u", i ? ", " : "", spec->ports[i].first,
				spec->ports[i].last);
	}
	fprintf(out, "\n  latency       %.3f ms, jitter %.3f ms (%s)\n", spec->latency_ns / 1e6,
		spec->jitter_ns / 1e6, chaos_dist_name(spec->dist));
	fprintf(out, "  loss          %.3f %%\n", spec->loss_percent);
	fprintf(out, "  duration      %.1f s (ends in the kernel even if seismo dies)\n",
		spec->duration_ns / 1e9);
	fprintf(out, "steps:\n");
	fprintf(out, "  1. check that the kernel has the fq qdisc (in a scratch namespace)\n");
	fprintf(out, "  2. save the root qdisc of %s to restore it afterwards\n", spec->ifname);
	fprintf(out, "  3. load chaos_tc and pin it under %s/%s\n", CHAOS_PIN_ROOT, spec->name);
	fprintf(out, "  4. replace the root qdisc with fq handle %x: limit %u flow_limit %u "
		     "horizon %u us (sized for %u pkt/s, %u per flow), no pacing\n",
		CHAOS_FQ_HANDLE >> 16, fq.limit, fq.flow_limit, fq.horizon_us, spec->rate_pps,
		spec->flow_rate_pps);
	fprintf(out, "  5. attach chaos_tc to clsact egress of %s\n", spec->ifname);
	fprintf(out, "  6. at the end, on SIGINT/SIGTERM or 'seismo chaos stop %s': detach, "
		     "restore the saved qdisc, unpin\n",
		spec->name);
}

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
	static const char *const classful[] = { "htb", "hfsc", "cbq", "prio", "drr",
						"qfq", "ets", "multiq", "mqprio", "taprio" };

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
			log_error("chaos: %s has a configured qdisc tree (root %s %x:); seismo restores "
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
static int rollback_in_netns(const struct chaos_state *state)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = state->ifindex,
			    .attach_point = BPF_TC_EGRESS);
	int err = 0, ret;

	if (state->tc_handle) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = state->tc_handle,
				    .priority = state->tc_priority);

		ret = bpf_tc_detach(&hook, &opts);
		if (ret && ret != -ENOENT) {
			log_error("chaos: detaching chaos_tc from %s: %s", state->ifname, strerror(-ret));
			err = ret;
		}
	}
	if (state->clsact_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		ret = bpf_tc_hook_destroy(&hook);
		if (ret && ret != -ENOENT) {
			log_error("chaos: removing clsact from %s: %s", state->ifname, strerror(-ret));
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

	chaos_fq_params_for(worst_delay_ns(spec), spec->rate_pps, spec->flow_rate_pps, &fq);
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
		log_error("chaos: attaching chaos_tc to %s egress: %s", spec->ifname, strerror(-err));
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
		rollback_in_netns(&ctx.state);
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

static int netns_matches(int fd, const struct chaos_state *state)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_dev == state->netns_dev && st.st_ino == state->netns_ino;
}

static int try_netns_path(const char *path, const struct chaos_state *state)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && netns_matches(fd, state))
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The experiment's namespace, found by identity: the recorded path first,
 * then any process still in it (the starter may be long gone). */
static int find_netns(const struct chaos_state *state)
{
	char path[300];
	struct dirent *entry;
	DIR *proc;
	int fd;

	fd = try_netns_path(state->netns_path, state);
	if (fd >= 0)
		return fd;
	fd = try_netns_path("/proc/self/ns/net", state);
	if (fd >= 0)
		return fd;
	proc = opendir("/proc");
	if (!proc)
		return -1;
	while ((entry = readdir(proc))) {
		if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", entry->d_name);
		fd = try_netns_path(path, state);
		if (fd >= 0)
			break;
	}
	closedir(proc);
	return fd;
}

static int stop_device(const char *name, const struct chaos_state *state)
{
	char ifname[IF_NAMESIZE] = "";
	int netns_fd, saved = -1, err;

	netns_fd = find_netns(state);
	if (netns_fd < 0) {
		log_warn("chaos: %s: network namespace of %s is gone, and its qdiscs with it",
			 name, state->ifname);
		return 0;
	}
	err = chaos_netns_enter(netns_fd, &saved);
	close(netns_fd);
	if (err)
		return err;
	if (!if_indextoname((unsigned)state->ifindex, ifname) || strcmp(ifname, state->ifname))
		log_warn("chaos: %s: device %s (index %d) is gone; nothing to restore", name,
			 state->ifname, state->ifindex);
	else
		err = rollback_in_netns(state);
	if (chaos_netns_leave(saved) && !err)
		err = -EIO;
	return err;
}

static void wait_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int chaos_delay_stop(const char *name)
{
	struct chaos_config cfg;
	struct chaos_state state;
	struct chaos_maps maps;
	int err;

	if (!name_is_valid(name)) {
		log_error("chaos: '%s' is not an experiment name", name);
		return -EINVAL;
	}
	err = chaos_maps_open_pinned(name, &maps);
	if (err == -ENOENT) {
		log_error("chaos: no experiment named '%s' (see 'seismo chaos list')", name);
		return err;
	}
	if (err)
		return err;
	/* first the kill switch: from this write on, every packet passes */
	err = chaos_maps_read_config(&maps, &cfg);
	if (!err) {
		uint64_t now = chaos_now_ns();
		uint64_t last_delayed = cfg.end_ns < now ? cfg.end_ns : now;
		uint64_t drained_at = last_delayed + cfg.latency_ns +
				      (uint64_t)((double)cfg.jitter_ns * dist_max_units(cfg.dist));

		cfg.end_ns = 0;
		err = chaos_maps_write_config(&maps, &cfg);
		/* packets already given a departure time are in fq; replacing
		 * fq now would drop them (TCP would see loss) */
		if (!err && drained_at > now)
			wait_ns(drained_at - now);
	}
	if (!err)
		err = chaos_state_read(&maps, &state);
	if (!err)
		err = stop_device(name, &state);
	chaos_maps_close(&maps);
	if (err) {
		log_error("chaos: %s: not fully rolled back; its pins stay in %s/%s for another try",
			  name, CHAOS_PIN_ROOT, name);
		return err;
	}
	return chaos_maps_unpin(name);
}

/* Calls fn for every pinned experiment name; returns the failures. */
static int for_each_experiment(int (*fn)(const char *name, void *arg), void *arg)
{
	DIR *dir = opendir(CHAOS_PIN_ROOT);
	struct dirent *entry;
	int failures = 0;

	if (!dir)
		return 0;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.' || entry->d_type != DT_DIR)
			continue;
		if (fn(entry->d_name, arg))
			failures++;
	}
	closedir(dir);
	return failures;
}

static int stop_one(const char *name, void *arg)
{
	int err = chaos_delay_stop(name);

	if (!err)
		printf("stopped %s\n", name);
	return err;
}

int chaos_delay_stop_all(void)
{
	return for_each_experiment(stop_one, NULL);
}

/* Past its end and its runner gone: only a qdisc and pins are left of it. */
static int is_orphaned_and_over(const char *name)
{
	struct chaos_config cfg;
	struct chaos_state state;
	struct chaos_maps maps;
	int over;

	if (chaos_maps_open_pinned(name, &maps))
		return 0;
	over = !chaos_maps_read_config(&maps, &cfg) && !chaos_state_read(&maps, &state) &&
	       chaos_now_ns() >= cfg.end_ns && state.pid > 0 && kill(state.pid, 0) &&
	       errno == ESRCH;
	chaos_maps_close(&maps);
	return over;
}

static int stop_if_orphaned(const char *name, void *arg)
{
	return is_orphaned_and_over(name) ? stop_one(name, arg) : 0;
}

int chaos_delay_stop_orphans(void)
{
	return for_each_experiment(stop_if_orphaned, NULL);
}

struct list_context {
	FILE *out;
	int as_json;
	int count;
};

static int list_one(const char *name, void *arg)
{
	struct list_context *list = arg;
	uint64_t stats[CHAOS_STAT_COUNT] = {}, now = chaos_now_ns();
	struct bpf_prog_info prog = {};
	uint32_t prog_len = sizeof(prog);
	struct chaos_config cfg;
	struct chaos_state state;
	struct chaos_maps maps;
	double left;
	int alive;

	if (chaos_maps_open_pinned(name, &maps))
		return -1;
	if (chaos_maps_read_config(&maps, &cfg) || chaos_state_read(&maps, &state) ||
	    chaos_maps_read_stats(&maps, stats)) {
		chaos_maps_close(&maps);
		return -1;
	}
	/* the program's own cost; counted only with kernel.bpf_stats_enabled=1 */
	if (bpf_obj_get_info_by_fd(maps.prog_fd, &prog, &prog_len) || !prog.run_cnt)
		prog.run_cnt = prog.run_time_ns = 0;
	chaos_maps_close(&maps);
	left = cfg.end_ns > now ? (double)(cfg.end_ns - now) / 1e9 : 0;
	alive = state.pid > 0 && (kill(state.pid, 0) == 0 || errno == EPERM);
	list->count++;
	if (list->as_json) {
		fprintf(list->out,
			"{\"name\":\"%s\",\"device\":\"%s\",\"netns\":\"%s\",\"latency_ms\":%.3f,"
			"\"jitter_ms\":%.3f,\"distribution\":\"%s\",\"loss_percent\":%.3f,"
			"\"seconds_left\":%.1f,\"pid\":%d,\"pid_alive\":%s,\"matched\":%llu,"
			"\"delayed\":%llu,\"dropped\":%llu,\"reorder_held\":%llu,\"expired\":%llu,"
			"\"prog_runs\":%llu,\"prog_ns_per_run\":%.1f,\"previous_qdisc\":\"%s\"}\n",
			name, state.ifname, state.netns_path, cfg.latency_ns / 1e6, cfg.jitter_ns / 1e6,
			chaos_dist_name(cfg.dist), cfg.loss / CHAOS_LOSS_SCALE * 100, left, state.pid,
			alive ? "true" : "false", (unsigned long long)stats[CHAOS_STAT_MATCHED],
			(unsigned long long)stats[CHAOS_STAT_DELAYED],
			(unsigned long long)stats[CHAOS_STAT_DROPPED],
			(unsigned long long)stats[CHAOS_STAT_REORDER_HELD],
			(unsigned long long)stats[CHAOS_STAT_EXPIRED],
			(unsigned long long)prog.run_cnt,
			prog.run_cnt ? (double)prog.run_time_ns / (double)prog.run_cnt : 0.0,
			state.prev_kind);
		return 0;
	}
	fprintf(list->out,
		"%-20s %-10s latency %.1fms jitter %.1fms (%s) loss %.2f%%  %s  pid %d%s  "
		"matched %llu delayed %llu dropped %llu  restores %s\n",
		name, state.ifname, cfg.latency_ns / 1e6, cfg.jitter_ns / 1e6,
		chaos_dist_name(cfg.dist), cfg.loss / CHAOS_LOSS_SCALE * 100,
		left > 0 ? "active" : "expired", state.pid, alive ? "" : " (gone)",
		(unsigned long long)stats[CHAOS_STAT_MATCHED],
		(unsigned long long)stats[CHAOS_STAT_DELAYED],
		(unsigned long long)stats[CHAOS_STAT_DROPPED], state.prev_kind);
	if (left > 0)
		fprintf(list->out, "%-20s %.1f s left, netns %s\n", "", left, state.netns_path);
	return 0;
}

int chaos_delay_list(FILE *out, int as_json)
{
	struct list_context list = { .out = out, .as_json = as_json };
	int failures = for_each_experiment(list_one, &list);

	if (!list.count && !as_json)
		fprintf(out, "no chaos experiments pinned under %s\n", CHAOS_PIN_ROOT);
	return failures ? -EIO : 0;
}

int chaos_delay_is_active(const char *name)
{
	struct chaos_config cfg;
	struct chaos_maps maps;
	int active;

	if (chaos_maps_open_pinned(name, &maps))
		return 0;
	active = !chaos_maps_read_config(&maps, &cfg) && chaos_now_ns() < cfg.end_ns;
	chaos_maps_close(&maps);
	return active;
}
