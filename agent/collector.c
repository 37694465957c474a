#include "collector.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "hashmap.h"
#include "latency.skel.h"
#include "log.h"

#define TRACEFS_MAGIC_VAL 0x74726163
#define BPF_FS_MAGIC_VAL 0xcafe4a11

struct collector {
	struct latency_bpf *skel;
	struct ring_buffer *ring;
	collector_sample_fn sample_fn;
	void *sample_ctx;
	struct hashmap *last; /* hist key -> struct seismo_hist (last raw value) */
	const char *hook;
	int stats_fd; /* holds kernel BPF run-time stats on while open; -1 = off */
};

/* --- libbpf logging tied to ours ------------------------------------------------ */

/* While trying a hook variant that may be refused, libbpf's complaints are
 * expected: they go to debug, and the choice is logged instead. */
static bool probing;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN && !probing ? LOG_WARN
			      : level == LIBBPF_INFO ? LOG_INFO
						     : LOG_DEBUG;
	/* The verifier log arrives at WARN on load failure: keep it visible. */
	log_vmsg(ours, fmt, ap);
	return 0;
}

/* --- filesystems the programs need ---------------------------------------------- */

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

static int ensure_mounted(const char *path, const char *type, long magic)
{
	if (is_fs(path, magic))
		return 0;
	/* tracefs may also be reachable under debugfs; accept either place. */
	if (magic == TRACEFS_MAGIC_VAL && is_fs("/sys/kernel/debug/tracing", magic))
		return 0;
	if (mount(type, path, type, 0, NULL)) {
		int err = errno;
		log_warn("%s is not mounted at %s and mounting it failed: %s "
			 "(mount it with: mount -t %s nodev %s)",
			 type, path, strerror(err), type, path);
		return -err;
	}
	log_info("mounted %s at %s", type, path);
	return 0;
}

/* --- hook selection --------------------------------------------------------------- */

enum hook_variant {
	HOOK_FEXIT_TCP, /* fexit on tcp_sendmsg/tcp_recvmsg: TCP only, cheapest */
	HOOK_TP_SOCK,   /* tp_btf on sock_{send,recv}_length: Linux >= 6.3 */
};

static const char *const hook_names[] = {
	[HOOK_FEXIT_TCP] = "fexit:tcp_sendmsg",
	[HOOK_TP_SOCK] = "tp_btf:sock_send_length",
};

static bool btf_has_typedef(const struct btf *btf, const char *name)
{
	return btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
}

/* How many arguments this kernel's tcp_recvmsg takes: 6 (before 5.19), 5
 * (5.19 to 6.9) or 4 (6.10 on); -1 when its BTF is missing or unexpected. */
static int btf_tcp_recvmsg_nargs(const struct btf *btf)
{
	int id = btf__find_by_name_kind(btf, "tcp_recvmsg", BTF_KIND_FUNC);
	const struct btf_type *fn = id > 0 ? btf__type_by_id(btf, id) : NULL;
	const struct btf_type *proto = fn ? btf__type_by_id(btf, fn->type) : NULL;
	int n;

	if (!proto || !btf_is_func_proto(proto))
		return -1;
	n = btf_vlen(proto);
	return n >= 4 && n <= 6 ? n : -1;
}

/* Which variants this kernel's BTF could carry, best first. */
static int candidate_hooks(enum hook_variant *out, int *recv_nargs)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int n = 0;

	if (!btf) {
		log_error("this kernel exposes no BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF); "
			  "the latency programs need it");
		return 0;
	}
	*recv_nargs = btf_tcp_recvmsg_nargs(btf);
	if (*recv_nargs > 0)
		out[n++] = HOOK_FEXIT_TCP;
	if (btf_has_typedef(btf, "btf_trace_sock_send_length") &&
	    btf_has_typedef(btf, "btf_trace_sock_recv_length"))
		out[n++] = HOOK_TP_SOCK;
	btf__free(btf);
	return n;
}

static void set_variant(struct latency_bpf *skel, enum hook_variant v, int recv_nargs)
{
	bool fexit = v == HOOK_FEXIT_TCP;

	bpf_program__set_autoload(skel->progs.tcp_send_exit, fexit);
	bpf_program__set_autoload(skel->progs.tcp_recv_exit6, fexit && recv_nargs == 6);
	bpf_program__set_autoload(skel->progs.tcp_recv_exit5, fexit && recv_nargs == 5);
	bpf_program__set_autoload(skel->progs.tcp_recv_exit4, fexit && recv_nargs == 4);
	bpf_program__set_autoload(skel->progs.sock_send, v == HOOK_TP_SOCK);
	bpf_program__set_autoload(skel->progs.sock_recv, v == HOOK_TP_SOCK);
}

/* Opens, loads and attaches one variant; on failure leaves nothing behind. */
static int open_variant(struct collector *c, const struct collector_options *opts,
			enum hook_variant v, int recv_nargs)
{
	int err;

	c->skel = latency_bpf__open();
	if (!c->skel) {
		err = -errno;
		log_error("cannot open the latency BPF object: %s", strerror(-err));
		return err;
	}
	c->skel->rodata->sample_one_in = opts->sample_one_in;
	if (opts->max_histograms)
		bpf_map__set_max_entries(c->skel->maps.hists, opts->max_histograms);
	if (opts->max_connections)
		bpf_map__set_max_entries(c->skel->maps.conns, opts->max_connections);
	set_variant(c->skel, v, recv_nargs);

	err = latency_bpf__load(c->skel);
	if (err) {
		if (!probing)
			log_error("cannot load the latency BPF programs (%s): %s (the verifier's "
				  "reason is logged above, with the program's name)",
				  hook_names[v], strerror(-err));
		goto fail;
	}
	/* libbpf names the program and the reason when one fails to attach. */
	err = latency_bpf__attach(c->skel);
	if (err) {
		if (!probing)
			log_error("cannot attach the latency BPF programs (%s): %s", hook_names[v],
				  strerror(-err));
		goto fail;
	}
	c->hook = hook_names[v];
	return 0;
fail:
	latency_bpf__destroy(c->skel);
	c->skel = NULL;
	return err;
}

static int open_best_variant(struct collector *c, const struct collector_options *opts)
{
	enum hook_variant cands[2];
	int recv_nargs = -1;
	int n = candidate_hooks(cands, &recv_nargs), err = -EOPNOTSUPP;

	for (int i = 0; i < n; i++) {
		/* Every variant but the last may be refused (fentry: EPERM under
		 * lockdown or some hypervisors); the last one's errors are real. */
		probing = i + 1 < n;
		err = open_variant(c, opts, cands[i], recv_nargs);
		probing = false;
		if (!err)
			return 0;
		if (i + 1 < n)
			log_info("socket hook %s refused here (%s); trying %s", hook_names[cands[i]],
				 strerror(-err), hook_names[cands[i + 1]]);
	}
	if (!n)
		log_error("this kernel offers neither the sock:sock_send_length tracepoints "
			  "(Linux >= 6.3) nor fexit on tcp_recvmsg (Linux >= 5.15 with fentry "
			  "allowed); run 'seismo doctor' for details");
	return err;
}

/* --- open / close ----------------------------------------------------------------- */

/* Run-time stats through BPF_ENABLE_STATS: on while the fd is open, so they
 * go off by themselves when the agent exits or crashes, and another user's
 * setting of kernel.bpf_stats_enabled is left alone. */
static void enable_bpf_stats(struct collector *c)
{
	c->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (c->stats_fd < 0)
		log_warn("cannot enable BPF run-time statistics: %s", strerror(errno));
}

static int handle_sample(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;

	if (size >= sizeof(struct seismo_sample) && c->sample_fn)
		c->sample_fn(c->sample_ctx, data);
	return 0;
}

int collector_open(struct collector **out, const struct collector_options *opts)
{
	struct collector *c;
	int err;

	libbpf_set_print(libbpf_log);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->stats_fd = -1;
	c->last = hashmap_new(sizeof(struct seismo_hist_key));
	if (!c->last) {
		err = -ENOMEM;
		goto fail;
	}
	/* Neither is needed by tp_btf/fexit programs themselves: tracefs serves
	 * the tools one debugs with, bpffs the chaos pins the agent sweeps. A
	 * failed mount is worth a warning, not a refusal to run. */
	ensure_mounted("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC_VAL);
	ensure_mounted("/sys/fs/bpf", "bpf", BPF_FS_MAGIC_VAL);
	err = open_best_variant(c, opts);
	if (err)
		goto fail;
	c->ring = ring_buffer__new(bpf_map__fd(c->skel->maps.samples), handle_sample, c, NULL);
	if (!c->ring) {
		err = -errno;
		log_error("cannot open the samples ring buffer: %s", strerror(-err));
		goto fail;
	}
	if (opts->bpf_stats)
		enable_bpf_stats(c);
	log_info("latency programs attached (socket hook %s)", c->hook);
	*out = c;
	return 0;
fail:
	collector_close(c);
	return err;
}

void collector_close(struct collector *c)
{
	size_t pos = 0;
	const void *key;
	void *value;

	if (!c)
		return;
	ring_buffer__free(c->ring);
	latency_bpf__destroy(c->skel);
	if (c->stats_fd >= 0)
		close(c->stats_fd);
	if (c->last) {
		while (hashmap_next(c->last, &pos, &key, &value))
			free(value);
		hashmap_free(c->last);
	}
	free(c);
}

const char *collector_hook(const struct collector *c)
{
	return c->hook;
}

/* --- reading ------------------------------------------------------------------------ */

/* delta = now - before; bucket counters are 32-bit and may wrap. A count
 * that went down means the kernel entry was deleted and made again (another
 * agent instance forgot it, or it was evicted): then everything in it is new.
 * The kernel adds to count before the bucket, so a read can fall between the
 * two: buckets are compared whatever count did, or a trailing bucket
 * increment would be lost. Returns whether anything changed. */
static bool hist_delta(const struct seismo_hist *now, const struct seismo_hist *before,
		       struct seismo_hist *delta)
{
	bool changed;

	if (now->count < before->count) {
		*delta = *now;
		return true;
	}
	delta->count = now->count - before->count;
	delta->sum_ns = now->sum_ns - before->sum_ns;
	changed = delta->count != 0;
	for (int i = 0; i < SEISMO_HIST_BUCKETS; i++) {
		delta->buckets[i] = now->buckets[i] - before->buckets[i];
		changed |= delta->buckets[i] != 0;
	}
	return changed;
}

int collector_read(struct collector *c, collector_delta_fn fn, void *ctx)
{
	int fd = bpf_map__fd(c->skel->maps.hists);
	struct seismo_hist_key key, next;
	struct seismo_hist *now = malloc(sizeof(*now)), *delta = malloc(sizeof(*delta));
	static const struct seismo_hist zero;
	void *prev = NULL;
	int err = 0;

	if (!now || !delta) {
		err = -ENOMEM;
		goto out;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, now))
			continue; /* deleted meanwhile */
		struct seismo_hist *last = hashmap_get(c->last, &key);
		if (!last) {
			last = malloc(sizeof(*last));
			if (!last || hashmap_put(c->last, &key, last)) {
				free(last);
				err = -ENOMEM;
				goto out;
			}
			*last = zero;
		}
		if (hist_delta(now, last, delta))
			fn(ctx, &key, delta);
		*last = *now;
	}
out:
	free(now);
	free(delta);
	return err;
}

int collector_forget(struct collector *c, const struct seismo_hist_key *key)
{
	free(hashmap_del(c->last, key));
	if (bpf_map_delete_elem(bpf_map__fd(c->skel->maps.hists), key) && errno != ENOENT)
		return -errno;
	return 0;
}

int collector_counters(struct collector *c, uint64_t out[SEISMO_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(c->skel->maps.counters);
	uint64_t *per_cpu;

	if (ncpu <= 0)
		return ncpu;
	per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	for (uint32_t i = 0; i < SEISMO_CNT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, per_cpu))
			continue;
		for (int cpu = 0; cpu < ncpu; cpu++)
			out[i] += per_cpu[cpu];
	}
	free(per_cpu);
	return 0;
}

int collector_endpoint(struct collector *c, uint64_t cgroup_id, uint16_t port,
		       struct seismo_endpoint *out)
{
	struct seismo_endpoint_key key = { .cgroup_id = cgroup_id, .local_port = port };

	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.endpoints), &key, out))
		return -errno;
	return 0;
}

static uint32_t count_entries(int fd, size_t key_size)
{
	unsigned char key[64], next[64];
	void *prev = NULL;
	uint32_t n = 0;

	if (key_size > sizeof(key))
		return 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

int collector_map_usage(struct collector *c, struct collector_map_usage *out, int max)
{
	struct bpf_map *maps[] = { c->skel->maps.hists, c->skel->maps.conns,
				   c->skel->maps.endpoints,
				   c->skel->maps.thresholds, c->skel->maps.sample_buckets };
	int n = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]) && n < max; i++) {
		struct bpf_map *m = maps[i];
		uint32_t entries = count_entries(bpf_map__fd(m), bpf_map__key_size(m));
		bool prealloc = !(bpf_map__map_flags(m) & BPF_F_NO_PREALLOC);
		/* Preallocated maps hold max_entries from the start. */
		uint64_t held = prealloc ? bpf_map__max_entries(m) : entries;

		out[n++] = (struct collector_map_usage){
			.name = bpf_map__name(m),
			.entries = entries,
			.max_entries = bpf_map__max_entries(m),
			.bytes = held * (bpf_map__key_size(m) + bpf_map__value_size(m) + 64),
		};
	}
	return n;
}

int collector_prog_stats(struct collector *c, struct collector_prog_stats *out, int max)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, c->skel->obj) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);

		if (n >= max)
			break;
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		out[n++] = (struct collector_prog_stats){
			.name = bpf_program__name(prog),
			.run_cnt = info.run_cnt,
			.run_time_ns = info.run_time_ns,
		};
	}
	return n;
}

int collector_set_threshold(struct collector *c, uint64_t cgroup_id, uint16_t port,
			    const struct seismo_threshold *th)
{
	struct seismo_endpoint_key key = { .cgroup_id = cgroup_id, .local_port = port };

	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.thresholds), &key, th, BPF_ANY))
		return -errno;
	return 0;
}

int collector_clear_threshold(struct collector *c, uint64_t cgroup_id, uint16_t port)
{
	struct seismo_endpoint_key key = { .cgroup_id = cgroup_id, .local_port = port };

	if (bpf_map_delete_elem(bpf_map__fd(c->skel->maps.thresholds), &key) && errno != ENOENT)
		return -errno;
	return 0;
}

int collector_poll_samples(struct collector *c, int timeout_ms, collector_sample_fn fn, void *ctx)
{
	c->sample_fn = fn;
	c->sample_ctx = ctx;
	return ring_buffer__poll(c->ring, timeout_ms);
}

double collector_quantile(const uint32_t *buckets, double q)
{
	uint64_t total = 0, rank, seen = 0;

	/* The buckets' own total: the request count can run ahead of them. */
	for (uint32_t b = 0; b < SEISMO_HIST_BUCKETS; b++)
		total += buckets[b];
	if (!total)
		return NAN;
	/* The smallest value with at least q of the counts at or below it. */
	rank = (uint64_t)ceil(q * (double)total);
	if (rank < 1)
		rank = 1;
	for (uint32_t b = 0; b < SEISMO_HIST_BUCKETS; b++) {
		seen += buckets[b];
		if (seen >= rank) {
			double lo = (double)seismo_hist_lower_ns(b);
			double hi = b + 1 < SEISMO_HIST_BUCKETS ? (double)seismo_hist_lower_ns(b + 1) : lo;
			return (lo + hi) / 2 / 1e9;
		}
	}
	return NAN; /* not reached: seen ends at total */
}
