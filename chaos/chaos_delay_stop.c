/* Network delay experiments after start: finding them by their pins, the
 * kill switch (stop, stop all, orphans) and list. */
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
		log_warn("chaos: %s: network namespace of %s is gone, and its qdiscs with it", name,
			 state->ifname);
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
		err = chaos_delay_rollback_in_netns(state);
	if (chaos_netns_leave(saved) && !err)
		err = -EIO;
	return err;
}

static void wait_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / NS_PER_S),
			       .tv_nsec = (long)(ns % NS_PER_S) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int chaos_delay_stop(const char *name)
{
	struct chaos_config cfg;
	struct chaos_state state;
	struct chaos_maps maps;
	int err;

	if (!chaos_delay_name_is_valid(name)) {
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
		uint64_t drained_at =
			last_delayed + cfg.latency_ns +
			(uint64_t)((double)cfg.jitter_ns * chaos_delay_jitter_max_units(cfg.dist));

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
		log_error(
			"chaos: %s: not fully rolled back; its pins stay in %s/%s for another try",
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
			name, state.ifname, state.netns_path, cfg.latency_ns / 1e6,
			cfg.jitter_ns / 1e6, chaos_dist_name(cfg.dist),
			cfg.loss / CHAOS_LOSS_SCALE * 100, left, state.pid,
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
