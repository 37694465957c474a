/* Long file: probing the hook variants and reading the maps share the
 * skeleton and its per-CPU layout; the /proc listening-port scan lives in
 * listen_seed.c, the histogram maths in histogram.c.
 * The collect stage: loading the latency programs (variant probing), reading
 * their maps. */
#include "collector.h"

#include <errno.h>
#include <fcntl.h>
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
#include "listen_seed.h"
#include "log.h"

#define TRACEFS_MAGIC_VAL 0x74726163
#define BPF_FS_MAGIC_VAL 0xcafe4a11

struct collector {
	struct latency_bpf *skel;
	struct ring_buffer *ring;
	collector_sample_fn sample_fn;
	void *sample_ctx;
	struct hashmap *last; /* struct snapshot_key -> struct seismo_hist (last raw value) */
	const char *hook;
	bool sk_storage; /* connection state in socket storage (else the conns hash) */
	int ncpu;	 /* possible CPUs: the per-CPU maps' copies */
	struct seismo_hist *percpu_buf; /* ncpu histograms, for reading the per-CPU map */
	int stats_fd; /* holds kernel BPF run-time stats on while open; -1 = off */
};

/* A histogram's last value is kept per map: a key lives in one of the two,
 * but may move after it was forgotten. */
enum hist_map {
	HIST_PERCPU = 0,
	HIST_SHARED = 1
};
struct snapshot_key {
	struct seismo_hist_key key;
	uint32_t map; /* enum hist_map */
	uint32_t pad;
};

/* --- libbpf logging tied to ours ------------------------------------------------ */

/* While trying a hook variant that may be refused, libbpf's complaints are
 * expected: they go to debug, and the choice is logged instead. */
static bool probing;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN && !probing ? LOG_WARN
			      : level == LIBBPF_INFO	       ? LOG_INFO
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
	HOOK_TP_SOCK,	/* tp_btf on sock_{send,recv}_length: Linux >= 6.3 */
};

/* A variant: a hook crossed with where connection state lives. */
struct variant {
	enum hook_variant hook;
	bool sk_storage;
	const char *name;
};

static const struct variant variants[] = {
	{ HOOK_FEXIT_TCP, true, "fexit:tcp_sendmsg+sk_storage" },
	{ HOOK_TP_SOCK, true, "tp_btf:sock_send_length+sk_storage" },
	{ HOOK_FEXIT_TCP, false, "fexit:tcp_sendmsg+hash" },
	{ HOOK_TP_SOCK, false, "tp_btf:sock_send_length+hash" },
};
#define N_VARIANTS (int)(sizeof(variants) / sizeof(variants[0]))

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

/* Which variants this kernel's BTF could carry, best first. SEISMO_HOOK
 * (a substring of a variant's name, e.g. "tp_btf" or "+hash") keeps only
 * the matching ones: for benchmarks and for working around a kernel bug. */
static int candidate_variants(const struct variant **out, int *recv_nargs)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const char *only = getenv("SEISMO_HOOK");
	bool fexit, tp;
	int n = 0;

	if (!btf) {
		if (!probing)
			log_error("this kernel exposes no BTF (/sys/kernel/btf/vmlinux, "
				  "CONFIG_DEBUG_INFO_BTF); the latency programs need it");
		return 0;
	}
	*recv_nargs = btf_tcp_recvmsg_nargs(btf);
	fexit = *recv_nargs > 0;
	tp = btf_has_typedef(btf, "btf_trace_sock_send_length") &&
	     btf_has_typedef(btf, "btf_trace_sock_recv_length");
	btf__free(btf);
	for (int i = 0; i < N_VARIANTS; i++) {
		const struct variant *v = &variants[i];
		if (!(v->hook == HOOK_FEXIT_TCP ? fexit : tp))
			continue;
		if (only && *only && !strstr(v->name, only))
			continue;
		out[n++] = v;
	}
	if (only && *only && !n)
		log_error("SEISMO_HOOK=%s matches no socket hook variant this kernel offers", only);
	return n;
}

static void set_variant(struct latency_bpf *skel, const struct variant *v, int recv_nargs)
{
	bool fexit = v->hook == HOOK_FEXIT_TCP, tp = v->hook == HOOK_TP_SOCK;
	bool sk = v->sk_storage, hash = !v->sk_storage;
	struct {
		struct bpf_program *prog;
		bool load;
	} progs[] = {
		{ skel->progs.tcp_send_exit_sk, fexit && sk },
		{ skel->progs.tcp_recv_exit6_sk, fexit && sk && recv_nargs == 6 },
		{ skel->progs.tcp_recv_exit5_sk, fexit && sk && recv_nargs == 5 },
		{ skel->progs.tcp_recv_exit4_sk, fexit && sk && recv_nargs == 4 },
		{ skel->progs.sock_send_sk, tp && sk },
		{ skel->progs.sock_recv_sk, tp && sk },
		{ skel->progs.sock_state_sk, sk },
		{ skel->progs.tcp_send_exit_hash, fexit && hash },
		{ skel->progs.tcp_recv_exit6_hash, fexit && hash && recv_nargs == 6 },
		{ skel->progs.tcp_recv_exit5_hash, fexit && hash && recv_nargs == 5 },
		{ skel->progs.tcp_recv_exit4_hash, fexit && hash && recv_nargs == 4 },
		{ skel->progs.sock_send_hash, tp && hash },
		{ skel->progs.sock_recv_hash, tp && hash },
		{ skel->progs.sock_state_hash, hash },
		{ skel->progs.parse_head_test, false }, /* tests/bpf only */
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		bpf_program__set_autoload(progs[i].prog, progs[i].load);
	/* Only the store in use is made. */
	bpf_map__set_autocreate(skel->maps.conn_store, sk);
	bpf_map__set_autocreate(skel->maps.conns, hash);
}

/* The per-CPU histogram map holds one 3.6 KiB copy per possible CPU for
 * each key: it gets as many keys as PERCPU_HIST_BUDGET allows (all of
 * max_histograms on small machines, ~145 keys at 64 CPUs), and keys beyond
 * that go to the shared map, which costs atomic adds but one copy. */
#define PERCPU_HIST_BUDGET (32u << 20)

static uint32_t percpu_hist_entries(uint32_t max_histograms, int ncpu)
{
	/* SEISMO_PERCPU_HIST_BYTES overrides the budget: for tests of the
	 * overflow path and for nodes with memory to spare. */
	const char *env = getenv("SEISMO_PERCPU_HIST_BYTES");
	uint64_t budget = env && *env ? strtoull(env, NULL, 10) : PERCPU_HIST_BUDGET;
	uint64_t fit = budget / ((uint64_t)sizeof(struct seismo_hist) * (uint64_t)ncpu);

	if (fit < 16)
		fit = 16; /* a floor, so tiny budgets still work */
	return fit < max_histograms ? (uint32_t)fit : max_histograms;
}

/* The ports that listen now, per network namespace (/proc/PID/net/tcp{,6}):
 * the role of connections older than the agent. */
static void seed_listen_ports(struct collector *c)
{
	int err = listen_seed(bpf_map__fd(c->skel->maps.listen_ports), "/proc");

	if (err < 0)
		log_warn("cannot read the listening ports from /proc (%s): connections older "
			 "than the agent are taken as outbound calls",
			 strerror(-err));
}

/* Opens, loads and attaches one variant; on failure leaves nothing behind. */
static int open_variant(struct collector *c, const struct collector_options *opts,
			const struct variant *v, int recv_nargs)
{
	uint32_t max_hists = opts->max_histograms ? opts->max_histograms : 16384;
	int err;

	c->skel = latency_bpf__open();
	if (!c->skel) {
		err = -errno;
		log_error("cannot open the latency BPF object: %s", strerror(-err));
		return err;
	}
	c->skel->rodata->sample_one_in = opts->sample_one_in;
	/* max_histograms in all: the per-CPU map first, the rest shared. */
	uint32_t percpu = percpu_hist_entries(max_hists, c->ncpu);
	bpf_map__set_max_entries(c->skel->maps.hists, percpu);
	bpf_map__set_max_entries(c->skel->maps.hists_shared,
				 percpu < max_hists ? max_hists - percpu : 1);
	c->skel->rodata->hists_overflow = percpu < max_hists;
	if (opts->max_connections)
		bpf_map__set_max_entries(c->skel->maps.conns, opts->max_connections);
	set_variant(c->skel, v, recv_nargs);

	err = latency_bpf__load(c->skel);
	if (err) {
		if (!probing)
			log_error("cannot load the latency BPF programs (%s): %s (the verifier's "
				  "reason is logged above, with the program's name)",
				  v->name, strerror(-err));
		goto fail;
	}
	/* Listening ports before attaching: the first transfers seen on a
	 * busy node are on connections older than the agent, adopted at once. */
	seed_listen_ports(c);
	/* libbpf names the program and the reason when one fails to attach. */
	err = latency_bpf__attach(c->skel);
	if (err) {
		if (!probing)
			log_error("cannot attach the latency BPF programs (%s): %s", v->name,
				  strerror(-err));
		goto fail;
	}
	c->hook = v->name;
	c->sk_storage = v->sk_storage;
	return 0;
fail:
	latency_bpf__destroy(c->skel);
	c->skel = NULL;
	return err;
}

static int open_best_variant(struct collector *c, const struct collector_options *opts)
{
	const struct variant *cands[N_VARIANTS];
	int recv_nargs = -1;
	int n = candidate_variants(cands, &recv_nargs), err = -EOPNOTSUPP;

	for (int i = 0; i < n; i++) {
		/* Every variant but the last may be refused (fentry: EPERM under
		 * lockdown or some hypervisors; socket storage in tracing
		 * programs before 5.11); the last one's errors are real. */
		probing = i + 1 < n;
		err = open_variant(c, opts, cands[i], recv_nargs);
		probing = false;
		if (!err)
			return 0;
		if (i + 1 < n)
			log_info("socket hook %s refused here (%s); trying %s", cands[i]->name,
				 strerror(-err), cands[i + 1]->name);
	}
	if (!n && !getenv("SEISMO_HOOK"))
		log_error("this kernel offers neither the sock:sock_send_length tracepoints "
			  "(Linux >= 6.3) nor fexit on tcp_recvmsg (Linux >= 5.15 with fentry "
			  "allowed); run 'seismo doctor' for details");
	return err;
}

/* The choice above, for `seismo doctor`: small maps, everything quiet. */
int collector_probe(struct collector_probe_result *out)
{
	const struct collector_options opts = { .max_histograms = 64, .max_connections = 1024 };
	const struct variant *cands[N_VARIANTS];
	struct collector c = { .stats_fd = -1 };
	int recv_nargs = -1, n, err = -EOPNOTSUPP;
	size_t used = 0;
	libbpf_print_fn_t caller_print;

	memset(out, 0, sizeof(*out));
	c.ncpu = libbpf_num_possible_cpus();
	if (c.ncpu <= 0) {
		snprintf(out->why, sizeof(out->why), "cannot count the possible CPUs");
		return c.ncpu ? c.ncpu : -EINVAL;
	}
	caller_print = libbpf_set_print(libbpf_log);
	probing = true;
	n = candidate_variants(cands, &recv_nargs);
	for (int i = 0; i < n; i++) {
		err = open_variant(&c, &opts, cands[i], recv_nargs);
		if (!err) {
			snprintf(out->hook, sizeof(out->hook), "%s", cands[i]->name);
			latency_bpf__destroy(c.skel);
			break;
		}
		if (used < sizeof(out->why))
			used += (size_t)snprintf(out->why + used, sizeof(out->why) - used,
						 "%s%s: %s", used ? ", " : "", cands[i]->name,
						 strerror(-err));
	}
	probing = false;
	libbpf_set_print(caller_print);
	if (!n)
		snprintf(out->why, sizeof(out->why),
			 "no variant this kernel's BTF carries (neither sock:sock_send_length "
			 "tp_btf nor fexit on tcp_recvmsg)");
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
	c->ncpu = libbpf_num_possible_cpus();
	if (c->ncpu <= 0) {
		err = c->ncpu ? c->ncpu : -EINVAL;
		log_error("cannot count the possible CPUs: %s", strerror(-err));
		goto fail;
	}
	c->percpu_buf = calloc((size_t)c->ncpu, sizeof(struct seismo_hist));
	c->last = hashmap_new(sizeof(struct snapshot_key));
	if (!c->last || !c->percpu_buf) {
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
	/* Again after attaching: a port that started listening between the
	 * two reads (the kernel counts those that start from now on). */
	seed_listen_ports(c);
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
	free(c->percpu_buf);
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

/* One map's histograms: deltas against the snapshot, per (map, key). */
static int read_hist_map(struct collector *c, enum hist_map which, collector_delta_fn fn, void *ctx,
			 struct seismo_hist *now, struct seismo_hist *delta)
{
	struct bpf_map *map = which == HIST_PERCPU ? c->skel->maps.hists
						   : c->skel->maps.hists_shared;
	int fd = bpf_map__fd(map);
	struct snapshot_key sk = { .map = which };
	struct seismo_hist_key next;
	static const struct seismo_hist zero;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		sk.key = next;
		prev = &sk.key;
		if (which == HIST_PERCPU) {
			/* One copy per CPU, summed (the kernel writes each copy
			 * from its own CPU only). */
			if (bpf_map_lookup_elem(fd, &sk.key, c->percpu_buf))
				continue; /* deleted meanwhile */
			*now = c->percpu_buf[0];
			for (int cpu = 1; cpu < c->ncpu; cpu++) {
				const struct seismo_hist *h = &c->percpu_buf[cpu];
				now->count += h->count;
				now->sum_ns += h->sum_ns;
				for (int b = 0; b < SEISMO_HIST_BUCKETS; b++)
					now->buckets[b] += h->buckets[b];
			}
		} else if (bpf_map_lookup_elem(fd, &sk.key, now)) {
			continue;
		}
		struct seismo_hist *last = hashmap_get(c->last, &sk);
		if (!last) {
			last = malloc(sizeof(*last));
			if (!last || hashmap_put(c->last, &sk, last)) {
				free(last);
				return -ENOMEM;
			}
			*last = zero;
		}
		if (hist_delta(now, last, delta))
			fn(ctx, &sk.key, delta);
		*last = *now;
	}
	return 0;
}

int collector_read(struct collector *c, collector_delta_fn fn, void *ctx)
{
	struct seismo_hist *now = malloc(sizeof(*now)), *delta = malloc(sizeof(*delta));
	int err = -ENOMEM;

	if (now && delta) {
		err = read_hist_map(c, HIST_PERCPU, fn, ctx, now, delta);
		if (!err)
			err = read_hist_map(c, HIST_SHARED, fn, ctx, now, delta);
	}
	free(now);
	free(delta);
	return err;
}

int collector_forget(struct collector *c, const struct seismo_hist_key *key)
{
	struct bpf_map *maps[] = { c->skel->maps.hists, c->skel->maps.hists_shared };
	int err = 0;

	for (uint32_t i = 0; i < 2; i++) {
		struct snapshot_key sk = { .key = *key, .map = i };
		free(hashmap_del(c->last, &sk));
		if (bpf_map_delete_elem(bpf_map__fd(maps[i]), key) && errno != ENOENT && !err)
			err = -errno;
	}
	return err;
}

int collector_counters(struct collector *c, uint64_t out[SEISMO_CNT_MAX])
{
	int fd = bpf_map__fd(c->skel->maps.counters);
	struct seismo_counters *per_cpu = calloc((size_t)c->ncpu, sizeof(*per_cpu));
	uint32_t zero = 0;

	if (!per_cpu)
		return -ENOMEM;
	memset(out, 0, SEISMO_CNT_MAX * sizeof(out[0]));
	if (bpf_map_lookup_elem(fd, &zero, per_cpu)) {
		int err = -errno;
		free(per_cpu);
		return err;
	}
	for (int cpu = 0; cpu < c->ncpu; cpu++)
		for (int i = 0; i < SEISMO_CNT_MAX; i++)
			out[i] += per_cpu[cpu].n[i];
	free(per_cpu);
	return 0;
}

int collector_endpoint(struct collector *c, uint64_t cgroup_id, uint16_t port, uint32_t process,
		       struct seismo_endpoint *out)
{
	struct seismo_endpoint_key key = { .cgroup_id = cgroup_id,
					   .local_port = port,
					   .process = port ? 0 : process };

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
	/* Socket storage cannot be walked from user space (its entries live
	 * in the sockets, ~120 bytes each, freed with them): not listed. */
	struct bpf_map *maps[] = { c->skel->maps.hists,
				   c->skel->maps.hists_shared,
				   c->sk_storage ? NULL : c->skel->maps.conns,
				   c->skel->maps.endpoints,
				   c->skel->maps.listen_ports,
				   c->skel->maps.thresholds,
				   c->skel->maps.sample_buckets };
	int n = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]) && n < max; i++) {
		struct bpf_map *m = maps[i];
		if (!m)
			continue;
		uint32_t entries = count_entries(bpf_map__fd(m), bpf_map__key_size(m));
		bool prealloc = !(bpf_map__map_flags(m) & BPF_F_NO_PREALLOC);
		/* Preallocated maps hold max_entries from the start. */
		uint64_t held = prealloc ? bpf_map__max_entries(m) : entries;
		uint64_t copies = bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_HASH ? (uint64_t)c->ncpu
									       : 1;

		out[n++] = (struct collector_map_usage){
			.name = bpf_map__name(m),
			.entries = entries,
			.max_entries = bpf_map__max_entries(m),
			.bytes = held *
				 (bpf_map__key_size(m) + bpf_map__value_size(m) * copies + 64),
		};
	}
	return n;
}

int collector_prog_stats(struct collector *c, struct collector_prog_stats *out, int max)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, c->skel->obj)
	{
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
	int fd = bpf_map__fd(c->skel->maps.thresholds);
	struct seismo_threshold old;

	/* Rewritten every interval, mostly unchanged: connections re-read
	 * their cached threshold only when one really changed. */
	if (bpf_map_lookup_elem(fd, &key, &old) == 0 && !memcmp(&old, th, sizeof(old)))
		return 0;
	if (bpf_map_update_elem(fd, &key, th, BPF_ANY))
		return -errno;
	__atomic_add_fetch(&c->skel->bss->thresholds_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

int collector_clear_threshold(struct collector *c, uint64_t cgroup_id, uint16_t port)
{
	struct seismo_endpoint_key key = { .cgroup_id = cgroup_id, .local_port = port };

	if (bpf_map_delete_elem(bpf_map__fd(c->skel->maps.thresholds), &key)) {
		if (errno != ENOENT)
			return -errno;
		return 0;
	}
	__atomic_add_fetch(&c->skel->bss->thresholds_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

int collector_poll_samples(struct collector *c, int timeout_ms, collector_sample_fn fn, void *ctx)
{
	c->sample_fn = fn;
	c->sample_ctx = ctx;
	return ring_buffer__poll(c->ring, timeout_ms);
}
