// SPDX-License-Identifier: GPL-2.0
/*
 * Per-service TCP request latency, measured in the kernel.
 *
 * Every TCP socket's traffic is seen at the socket layer (sock_send_length /
 * sock_recv_length, which fire once per send/recv whatever the syscall) and
 * folded into a per-connection state machine:
 *
 *   server role: first request byte read ... first response byte written
 *   client role: first request byte sent ... first response byte received
 *
 * Each completed turn adds one count to a log-linear histogram keyed by
 * service (cgroup), role, endpoint, HTTP method and status. Nothing per
 * request crosses to user space except samples of turns slower than their
 * service's threshold (or failing), capped by a token bucket per service.
 *
 * HTTP/1.x method, path and status are parsed from the first bytes of the
 * turn, read from the user buffer of the syscall in progress (its saved
 * registers). Turns whose bytes are not reachable that way (sendfile,
 * io_uring) are still timed, without method and status.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "seismo/latency.h"
#include "compat.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the agent between open and load. */
const volatile __u32 sample_one_in = 0; /* uniform context samples; 0 = off */
const volatile __u64 max_turn_ns = 600ULL * 1000000000ULL; /* longer = idle stream, not a turn */
/* Whether hists_shared takes the keys the per-CPU map has no room for (the
 * per-CPU map got less than max_histograms). */
const volatile bool hists_overflow = false;

/* Bumped by the agent whenever it changes a threshold: connections re-read
 * theirs only then, not on every turn. */
volatile __u32 thresholds_gen;

enum conn_phase {
	PHASE_IDLE = 0,
	PHASE_REQUEST = 1,  /* request bytes flowing (server read / client sent) */
	PHASE_RESPONSE = 2, /* response bytes flowing */
};

enum conn_flags {
	CONN_ENDPOINT_KNOWN = 1, /* remembered in the endpoints map (for .process) */
	CONN_NO_BUFFER = 2,      /* this turn's request had no user buffer to parse */
};

struct conn {
	__u64 start_ns;   /* first byte of the current request */
	__u64 cgroup_id;  /* the process that saw the request start */
	__u64 th_cgroup;  /* the threshold cache below is for this cgroup ... */
	__u64 th_ns;      /* ... the service's latency threshold, 0 = none */
	__u32 th_gen;     /* ... read at this thresholds_gen (+1, so 0 = never) */
	__u32 process;    /* client role: hash of the calling program's name */
	__u32 endpoint_process; /* the process the endpoint was remembered for */
	__u8 role;
	__u8 phase;
	__u8 method;
	__u8 flags;       /* enum conn_flags */
	char path[SEISMO_PATH_LEN];
};

/* Per-connection state in the socket itself: found by a pointer walk, no
 * hashing, freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct conn);
} conn_store SEC(".maps");

/* The same state keyed by struct sock address, for kernels that refuse
 * socket storage in tracing programs. LRU: connections that close without a
 * state change we see cannot leak. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

/* The histograms user space reads every interval, one copy per CPU: each
 * CPU adds to its own copy with plain stores (no shared cache line, no
 * atomics); user space sums the copies. A histogram is 3.6 KiB per CPU, so
 * the agent sizes this map from a memory budget and the CPU count (see
 * agent/collector.c); keys beyond it go to hists_shared. Not preallocated:
 * most keys never exist. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct seismo_hist_key);
	__type(value, struct seismo_hist);
} hists SEC(".maps");

/* Keys the per-CPU map has no room for: one copy, atomic adds. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct seismo_hist_key);
	__type(value, struct seismo_hist);
} hists_shared SEC(".maps");

/* A zeroed histogram to insert from: the BPF stack is too small for one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct seismo_hist);
} zero_hist SEC(".maps");

/* Which process answers on (cgroup, port), and which program makes a
 * cgroup's outbound calls (cgroup, 0, process): names services with no unit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct seismo_endpoint_key);
	__type(value, struct seismo_endpoint);
} endpoints SEC(".maps");

/* Listening ports per network namespace: the role of connections older than
 * the agent. Value: how many sockets listen there (SO_REUSEPORT). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct seismo_listen_key);
	__type(value, __u32);
} listen_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct seismo_counters);
} counters SEC(".maps");

/* Per-service sampling thresholds, written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct seismo_endpoint_key);
	__type(value, struct seismo_threshold);
} thresholds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct seismo_endpoint_key);
	__type(value, struct seismo_bucket_state);
} sample_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} samples SEC(".maps");

/* Only as many first bytes as the parsers look at: a request's method
 * ("OPTIONS ") and path, a response's status line ("HTTP/1.1 200"). */
#define REQUEST_HEAD_LEN (8 + SEISMO_PATH_LEN)
#define STATUS_HEAD_LEN 12
#define HEAD_BUF SEISMO_HEAD_BUF /* the stack buffer: a power of two, so a mask bounds reads */

/* The process's name, not the thread's: a server's worker threads rename
 * themselves ("MHD-single", "tokio-runtime-w") but are the same service. */
static __always_inline void process_comm(char *comm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct *leader = task->group_leader;

	if (!leader || bpf_probe_read_kernel_str(comm, 16, leader->comm) < 0)
		bpf_get_current_comm(comm, 16);
}

/* Which program makes a call: a hash of the process name, so curl, python
 * and wrk in one cgroup are told apart, while the thousandth run of the same
 * cron script is the same series (a tgid would make a new one each time).
 * Never 0: 0 marks the server role. */
static __always_inline __u32 process_hash(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 w[2] = {};
	__u64 h;

	bpf_probe_read_kernel(w, sizeof(w), task->group_leader->comm);
	h = w[0] * 0x9E3779B97F4A7C15ULL ^ w[1] * 0xC2B2AE3D27D4EB4FULL;
	return ((__u32)(h >> 32) ^ (__u32)h) | 1;
}

static __always_inline struct seismo_counters *counters_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void count(__u32 which)
{
	struct seismo_counters *c = counters_get();

	if (c && which < SEISMO_CNT_MAX)
		c->n[which] += 1;
}

/* --- the first bytes of a transfer ---------------------------------------------- */

enum io_kind { IO_NONE = 0, IO_PLAIN, IO_IOVEC, IO_MSGHDR };
enum io_dir { IO_RECV = 0, IO_SEND = 1 };

/* The sock tracepoints fire inside the syscall that moves the bytes, so the
 * syscall's own registers (saved at kernel entry) say where the user buffer
 * is. No syscall hook and no per-thread map are needed. Transfers that did
 * not come from one of these syscalls (sendfile, splice, io_uring) have no
 * buffer to parse. */
static __always_inline __u8 io_kind_of(long nr, __u8 dir)
{
	if (dir == IO_RECV) {
		if (nr == SYS_READ_VAL || nr == SYS_RECVFROM_VAL)
			return IO_PLAIN;
		if (nr == SYS_READV_VAL)
			return IO_IOVEC;
		if (nr == SYS_RECVMSG_VAL)
			return IO_MSGHDR;
	} else {
		if (nr == SYS_WRITE_VAL || nr == SYS_SENDTO_VAL)
			return IO_PLAIN;
		if (nr == SYS_WRITEV_VAL)
			return IO_IOVEC;
		if (nr == SYS_SENDMSG_VAL)
			return IO_MSGHDR;
	}
	return IO_NONE;
}

/* Copies the first bytes of the turn (at most max) into head; returns how
 * many, or 0 when the buffer is not reachable. Called once per turn start. */
static __always_inline int read_head(__u8 dir, int len, int max, char *head)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct iovec iov;
	struct user_msghdr msg;
	__u64 base;
	__u8 kind;

	if (!regs)
		return 0;
	kind = io_kind_of(SYSCALL_NR(regs), dir);
	if (kind == IO_NONE)
		return 0;
	base = SYSCALL_ARG2(regs);
	if (kind == IO_MSGHDR) {
		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)base))
			return 0;
		base = (__u64)msg.msg_iov;
	}
	if (kind != IO_PLAIN) {
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)base))
			return 0;
		base = (__u64)iov.iov_base;
		if ((__u64)len > iov.iov_len)
			len = iov.iov_len;
	}
	if (len > max)
		len = max;
	if (len <= 0)
		return 0;
	/* Only the bytes this transfer moved: the rest of the buffer is stale.
	 * The mask keeps the size provably within head for the verifier. */
	__u32 n = (__u32)len;
	asm volatile("" : "+r"(n)); /* keep clang from dropping the mask */
	n &= HEAD_BUF - 1;
	if (!n || bpf_probe_read_user(head, n, (void *)base))
		return 0;
	return (int)n;
}

/* --- HTTP/1.x parsing of the first bytes ------------------------------------- */

static __always_inline bool has4(const char *h, char a, char b, char c, char d)
{
	return h[0] == a && h[1] == b && h[2] == c && h[3] == d;
}

/* Returns the method and the offset of the request target, or NONE. */
static __always_inline __u8 parse_method(const char *h, int len, int *target)
{
	__u8 m = SEISMO_METHOD_NONE;
	int skip = 0;

	if (len < 8)
		return SEISMO_METHOD_NONE;
	if (has4(h, 'G', 'E', 'T', ' ')) { m = SEISMO_METHOD_GET; skip = 4; }
	else if (has4(h, 'P', 'O', 'S', 'T') && h[4] == ' ') { m = SEISMO_METHOD_POST; skip = 5; }
	else if (has4(h, 'P', 'U', 'T', ' ')) { m = SEISMO_METHOD_PUT; skip = 4; }
	else if (has4(h, 'H', 'E', 'A', 'D') && h[4] == ' ') { m = SEISMO_METHOD_HEAD; skip = 5; }
	else if (has4(h, 'D', 'E', 'L', 'E') && h[6] == ' ') { m = SEISMO_METHOD_DELETE; skip = 7; }
	else if (has4(h, 'P', 'A', 'T', 'C') && h[5] == ' ') { m = SEISMO_METHOD_PATCH; skip = 6; }
	else if (has4(h, 'O', 'P', 'T', 'I') && h[7] == ' ') { m = SEISMO_METHOD_OPTIONS; skip = 8; }
	else if (has4(h, 'C', 'O', 'N', 'N') && h[7] == ' ') { m = SEISMO_METHOD_CONNECT; skip = 8; }
	else if (has4(h, 'T', 'R', 'A', 'C') && h[5] == ' ') { m = SEISMO_METHOD_TRACE; skip = 6; }
	*target = skip;
	return m;
}

static __always_inline void copy_path(const char *h, int len, int start, char *path)
{
	/* Bounded so the verifier sees the loop end; stops at the first blank. */
	for (int i = 0; i < SEISMO_PATH_LEN - 1; i++) {
		int j = start + i;
		if (j >= len || j >= HEAD_BUF)
			break;
		char c = h[j & (HEAD_BUF - 1)];
		if (c == ' ' || c == '?' || c == '\r' || c == '\n' || c == 0)
			break;
		path[i] = c;
	}
}

static __always_inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/1.x NNN" -> NNN, else 0. */
static __always_inline __u16 parse_status(const char *h, int len)
{
	if (len < 12 || !has4(h, 'H', 'T', 'T', 'P') || h[4] != '/' || h[8] != ' ')
		return 0;
	if (!is_digit(h[9]) || !is_digit(h[10]) || !is_digit(h[11]))
		return 0;
	return (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
}

/* --- recording a turn ----------------------------------------------------------- */

static __always_inline void read_addrs(struct sock *sk, __u8 *local, __u8 *remote,
				       __u16 *lport, __u16 *rport, __u8 *family)
{
	__u16 fam = sk->__sk_common.skc_family;

	*family = (__u8)fam;
	*lport = sk->__sk_common.skc_num;
	*rport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (fam == AF_INET6_VAL) {
		*(struct in6_addr *)local = sk->__sk_common.skc_v6_rcv_saddr;
		*(struct in6_addr *)remote = sk->__sk_common.skc_v6_daddr;
		return;
	}
	/* IPv4 as ::ffff:a.b.c.d so one key layout serves both families. */
	local[10] = remote[10] = 0xff;
	local[11] = remote[11] = 0xff;
	*(__u32 *)&local[12] = sk->__sk_common.skc_rcv_saddr;
	*(__u32 *)&remote[12] = sk->__sk_common.skc_daddr;
}

static __always_inline bool take_token(struct seismo_endpoint_key *key,
				       const struct seismo_threshold *th, __u64 now)
{
	struct seismo_bucket_state *b = bpf_map_lookup_elem(&sample_buckets, key);
	__u64 cap = (__u64)th->burst * 1000;

	if (!b) {
		struct seismo_bucket_state fresh = { .last_ns = now, .tokens_milli = cap };
		bpf_map_update_elem(&sample_buckets, key, &fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&sample_buckets, key);
		if (!b)
			return false;
	}
	/* Racy across CPUs by design: a cap, not an accountant. */
	__u64 elapsed = now - b->last_ns;
	__u64 add = elapsed / 1000 * th->rate_per_sec / 1000; /* milli-tokens */
	__u64 tokens = b->tokens_milli + add;

	if (tokens > cap)
		tokens = cap;
	if (add)
		b->last_ns = now;
	if (tokens < 1000) {
		b->tokens_milli = tokens;
		return false;
	}
	b->tokens_milli = tokens - 1000;
	return true;
}

/* The service's latency threshold, cached in the connection until the
 * agent changes any threshold (thresholds_gen) or another cgroup uses it. */
static __always_inline __u64 threshold_ns(struct conn *c, __u16 lport)
{
	__u32 gen = thresholds_gen + 1;

	if (c->th_gen == gen && c->th_cgroup == c->cgroup_id)
		return c->th_ns;
	struct seismo_endpoint_key key = {
		.cgroup_id = c->cgroup_id,
		.local_port = c->role == SEISMO_ROLE_SERVER ? lport : 0,
	};
	struct seismo_threshold *th = bpf_map_lookup_elem(&thresholds, &key);

	c->th_ns = th ? th->latency_ns : 0;
	c->th_cgroup = c->cgroup_id;
	c->th_gen = gen;
	return c->th_ns;
}

static __always_inline void maybe_sample(struct sock *sk, struct conn *c, __u16 status,
					 __u64 latency, __u64 now, __u16 lport,
					 struct seismo_counters *cnt)
{
	__u64 limit = threshold_ns(c, lport);
	__u8 reason = 0;

	if (limit && latency > limit)
		reason |= SEISMO_SAMPLE_SLOW;
	if (status >= 500)
		reason |= SEISMO_SAMPLE_ERROR;
	if (sample_one_in && bpf_get_prandom_u32() % sample_one_in == 0)
		reason |= SEISMO_SAMPLE_UNIFORM;
	if (!reason)
		return;
	/* Off the common path from here: a sample is rare by design. */
	struct seismo_endpoint_key key = {
		.cgroup_id = c->cgroup_id,
		.local_port = c->role == SEISMO_ROLE_SERVER ? lport : 0,
	};
	if (reason != SEISMO_SAMPLE_UNIFORM) {
		struct seismo_threshold *th = bpf_map_lookup_elem(&thresholds, &key);
		struct seismo_threshold dflt = { .rate_per_sec = 10, .burst = 20 };
		if (!take_token(&key, th ? th : &dflt, now)) {
			cnt->n[SEISMO_CNT_SAMPLES_SUPPRESSED] += 1;
			return;
		}
	}

	struct seismo_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s) {
		cnt->n[SEISMO_CNT_SAMPLES_LOST] += 1;
		return;
	}
	__builtin_memset(s, 0, sizeof(*s));
	s->time_ns = now;
	s->latency_ns = latency;
	s->cgroup_id = c->cgroup_id;
	s->pid = bpf_get_current_pid_tgid() >> 32;
	s->status = status;
	s->role = c->role;
	s->method = c->method;
	s->reason = reason;
	read_addrs(sk, s->local_addr, s->remote_addr, &s->local_port, &s->remote_port, &s->family);
	process_comm(s->comm);
	__builtin_memcpy(s->path, c->path, SEISMO_PATH_LEN);
	bpf_ringbuf_submit(s, 0);
	cnt->n[SEISMO_CNT_SAMPLES] += 1;
}

/* Adds one turn to its histogram: this CPU's copy when the per-CPU map has
 * (or makes) room for the key, else the shared overflow map. Returns false
 * when neither can hold it. */
static __always_inline bool hist_add(const struct seismo_hist_key *key, __u64 latency)
{
	__u32 b = seismo_hist_bucket(latency);
	struct seismo_hist *h = bpf_map_lookup_elem(&hists, key);

	asm volatile("" : "+r"(b)); /* the verifier must see the bound checks below */
	if (h) {
		/* Only this CPU writes this copy: plain adds. Count first, as
		 * user space expects (collector.c: hist_delta). */
		h->count += 1;
		h->sum_ns += latency;
		if (b < SEISMO_HIST_BUCKETS)
			h->buckets[b] += 1;
		return true;
	}
	h = hists_overflow ? bpf_map_lookup_elem(&hists_shared, key) : NULL;
	if (!h) {
		__u32 zero = 0;
		struct seismo_hist *z = bpf_map_lookup_elem(&zero_hist, &zero);
		if (!z)
			return false;
		long err = bpf_map_update_elem(&hists, key, z, BPF_NOEXIST);
		if (!err || err == -EEXIST_VAL) { /* made, or another CPU made it */
			h = bpf_map_lookup_elem(&hists, key);
			if (h) {
				h->count += 1;
				h->sum_ns += latency;
				if (b < SEISMO_HIST_BUCKETS)
					h->buckets[b] += 1;
				return true;
			}
		}
		if (!hists_overflow)
			return false;
		bpf_map_update_elem(&hists_shared, key, z, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists_shared, key);
		if (!h)
			return false;
	}
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, latency);
	if (b < SEISMO_HIST_BUCKETS)
		__sync_fetch_and_add(&h->buckets[b], 1);
	return true;
}

static __always_inline void record_turn(struct sock *sk, struct conn *c, __u16 status, __u64 now)
{
	struct seismo_hist_key key;
	struct seismo_counters *cnt;
	__u64 latency = now - c->start_ns;
	__u8 local[16] = {}, family;
	__u16 lport, rport;
	bool counted;

	if (latency > max_turn_ns)
		return;
	__builtin_memset(&key, 0, sizeof(key));
	key.cgroup_id = c->cgroup_id;
	key.role = c->role;
	key.method = c->method;
	key.status = status;
	lport = sk->__sk_common.skc_num;
	if (c->role == SEISMO_ROLE_SERVER) {
		/* The server's key is its own port; the peer is just a client,
		 * so its address is not even read. */
		key.local_port = lport;
	} else {
		read_addrs(sk, local, key.remote_addr, &lport, &rport, &family);
		key.remote_port = rport;
		key.process = c->process;
	}
	counted = hist_add(&key, latency);
	cnt = counters_get(); /* the turn's one counters lookup */
	if (!cnt)
		return;
	if (!counted) {
		cnt->n[SEISMO_CNT_HIST_FULL] += 1;
		return;
	}
	cnt->n[SEISMO_CNT_EXCHANGES] += 1;
	if (c->method != SEISMO_METHOD_NONE || status)
		cnt->n[SEISMO_CNT_HTTP] += 1;
	if (c->flags & CONN_NO_BUFFER)
		cnt->n[SEISMO_CNT_NO_BUFFER] += 1;
	maybe_sample(sk, c, status, latency, now, lport, cnt);
}

/* Port 0 stands for a service's outbound calls, one entry per calling
 * program (process), so each is named after itself. */
static __always_inline void remember_endpoint(struct sock *sk, struct conn *c)
{
	struct seismo_endpoint_key key = {
		.cgroup_id = c->cgroup_id,
		.local_port = c->role == SEISMO_ROLE_SERVER ? sk->__sk_common.skc_num : 0,
		.process = c->role == SEISMO_ROLE_SERVER ? 0 : c->process,
	};
	struct seismo_endpoint ep = {};

	c->flags |= CONN_ENDPOINT_KNOWN;
	c->endpoint_process = c->process;
	if (bpf_map_lookup_elem(&endpoints, &key))
		return;
	ep.tgid = bpf_get_current_pid_tgid() >> 32;
	process_comm(ep.comm);
	bpf_map_update_elem(&endpoints, &key, &ep, BPF_ANY);
}

/* --- per-connection state ------------------------------------------------------- */

static __always_inline bool is_tcp_inet(struct sock *sk)
{
	__u16 fam = sk->__sk_common.skc_family;

	return (fam == AF_INET_VAL || fam == AF_INET6_VAL) && sk->sk_protocol == IPPROTO_TCP_VAL;
}

/* sks: socket storage (true) or the hash (false). Always a constant where
 * these are inlined, so each program references one of the two maps only. */
static __always_inline struct conn *conn_find(struct sock *sk, bool sks)
{
	if (sks)
		return bpf_sk_storage_get(&conn_store, sk, 0, 0);
	__u64 key = (__u64)sk;
	return bpf_map_lookup_elem(&conns, &key);
}

/* Fresh state for sk with role (replacing any there was). */
static __always_inline struct conn *conn_make(struct sock *sk, __u8 role, bool sks)
{
	struct conn *c;

	if (sks) {
		c = bpf_sk_storage_get(&conn_store, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (c) {
			__builtin_memset(c, 0, sizeof(*c));
			c->role = role;
		}
		return c;
	}
	struct conn fresh = { .role = role };
	__u64 key = (__u64)sk;
	if (bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY))
		return NULL;
	return bpf_map_lookup_elem(&conns, &key);
}

static __always_inline __u32 netns_of(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* A connection older than the agent (its handshake was not seen): it was
 * accepted if its local port listens in its namespace, else we opened it.
 * Who happens to receive first says nothing: a keep-alive client caught
 * between request and response receives first. */
static __always_inline struct conn *conn_adopt(struct sock *sk, bool sks)
{
	struct seismo_listen_key lk = {};
	struct seismo_counters *cnt;
	struct conn *c;
	__u8 role;

	if (!is_tcp_inet(sk))
		return NULL;
	lk.netns = netns_of(sk);
	lk.port = sk->__sk_common.skc_num;
	role = bpf_map_lookup_elem(&listen_ports, &lk) ? SEISMO_ROLE_SERVER : SEISMO_ROLE_CLIENT;
	c = conn_make(sk, role, sks);
	cnt = counters_get();
	if (c && cnt) {
		cnt->n[SEISMO_CNT_CONN_NEW] += 1;
		cnt->n[SEISMO_CNT_CONN_ADOPTED] += 1;
	}
	return c;
}

/* --- the state machine ---------------------------------------------------------- */

/* The first bytes of a request: start timing, parse method and path. */
static __always_inline void start_request(struct sock *sk, struct conn *c, __u8 dir, int len)
{
	char head[HEAD_BUF] = {};
	int target = 0, n;

	c->start_ns = bpf_ktime_get_ns();
	c->cgroup_id = bpf_get_current_cgroup_id();
	c->phase = PHASE_REQUEST;
	c->flags &= ~CONN_NO_BUFFER;
	__builtin_memset(c->path, 0, sizeof(c->path));
	if (c->role == SEISMO_ROLE_CLIENT)
		c->process = process_hash();
	/* Once per connection (and calling program): keep-alive requests
	 * need no map lookup here. */
	if (!(c->flags & CONN_ENDPOINT_KNOWN) || c->endpoint_process != c->process)
		remember_endpoint(sk, c);
	n = read_head(dir, len, REQUEST_HEAD_LEN, head);
	if (!n) {
		c->method = SEISMO_METHOD_NONE;
		c->flags |= CONN_NO_BUFFER;
		return;
	}
	c->method = parse_method(head, n, &target);
	if (c->method != SEISMO_METHOD_NONE)
		copy_path(head, n, target, c->path);
}

/* The first bytes of a response: parse the status and record the turn. */
static __always_inline void start_response(struct sock *sk, struct conn *c, __u8 dir, int len)
{
	char head[HEAD_BUF] = {};
	__u64 now = bpf_ktime_get_ns();
	int n = read_head(dir, len, STATUS_HEAD_LEN, head);

	c->phase = PHASE_RESPONSE;
	record_turn(sk, c, n ? parse_status(head, n) : 0, now);
}

/* Every TCP transfer comes here. Most are continuations (more bytes of a
 * turn already started: a large response, a streamed request): those cost
 * the state lookup and the phase check, nothing else. */
static __always_inline int on_transfer(struct sock *sk, int len, __u8 dir, bool sks)
{
	struct conn *c;

	if (len <= 0)
		return 0;
	c = conn_find(sk, sks);
	if (!c) {
		c = conn_adopt(sk, sks);
		if (!c)
			return 0;
	}
	/* The request direction is recv for a server and send for a client. */
	__u8 request_dir = c->role == SEISMO_ROLE_SERVER ? IO_RECV : IO_SEND;

	if (dir == request_dir) {
		if (c->phase != PHASE_REQUEST)
			start_request(sk, c, dir, len);
	} else if (c->phase == PHASE_REQUEST) {
		start_response(sk, c, dir, len);
	}
	return 0;
}

/* Connection roles from the handshake, listening ports, cleanup at close. */
static __always_inline void listen_port_add(struct sock *sk, int delta)
{
	struct seismo_listen_key lk = {};
	__u32 one = 1, *n;

	lk.netns = netns_of(sk);
	lk.port = sk->__sk_common.skc_num;
	n = bpf_map_lookup_elem(&listen_ports, &lk);
	if (delta > 0) {
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			bpf_map_update_elem(&listen_ports, &lk, &one, BPF_NOEXIST);
	} else if (n) {
		if (*n <= 1)
			bpf_map_delete_elem(&listen_ports, &lk);
		else
			__sync_fetch_and_add(n, -1);
	}
}

static __always_inline int on_state(struct sock *sk, int oldstate, int newstate, bool sks)
{
	if (sk->sk_protocol != IPPROTO_TCP_VAL)
		return 0;
	if (newstate == TCP_ESTABLISHED_VAL) {
		__u8 role;
		if (oldstate == TCP_SYN_RECV_VAL)
			role = SEISMO_ROLE_SERVER;
		else if (oldstate == TCP_SYN_SENT_VAL)
			role = SEISMO_ROLE_CLIENT;
		else
			return 0;
		if (conn_make(sk, role, sks))
			count(SEISMO_CNT_CONN_NEW);
	} else if (newstate == TCP_LISTEN_VAL) {
		listen_port_add(sk, 1);
	} else if (newstate == TCP_CLOSE_VAL) {
		if (oldstate == TCP_LISTEN_VAL)
			listen_port_add(sk, -1);
		/* Socket storage goes with the socket; the hash needs help. */
		if (!sks) {
			__u64 key = (__u64)sk;
			bpf_map_delete_elem(&conns, &key);
		}
	}
	return 0;
}

/*
 * The programs, once per connection-state store: _sk (socket storage) and
 * _hash (the fallback). The agent probes which hook and which store this
 * kernel takes, best first, and turns off the autoload of the others
 * (agent/collector.c).
 *
 * tp_btf on sock_{send,recv}_length (Linux >= 6.3) fires for every socket
 * transfer (unix and UDP too: they fail the state lookup at once). fexit on
 * tcp_sendmsg/tcp_recvmsg fires for TCP only, where fentry is allowed.
 * tcp_recvmsg's signature changed twice: 5.19 folded nonblock into flags
 * (commit ec095263a965), 6.10 dropped addr_len. One program per signature;
 * the agent loads the one whose argument count matches the kernel's BTF.
 */
#define LATENCY_PROGRAMS(store, sks)                                                             \
	SEC("tp_btf/sock_recv_length")                                                           \
	int BPF_PROG(sock_recv_##store, struct sock *sk, int ret, int flags)                     \
	{                                                                                        \
		if (flags & MSG_PEEK_VAL) /* data stays queued: the real read comes later */     \
			return 0;                                                                \
		return on_transfer(sk, ret, IO_RECV, sks);                                       \
	}                                                                                        \
	SEC("tp_btf/sock_send_length")                                                           \
	int BPF_PROG(sock_send_##store, struct sock *sk, int ret, int flags)                     \
	{                                                                                        \
		return on_transfer(sk, ret, IO_SEND, sks);                                       \
	}                                                                                        \
	SEC("fexit/tcp_sendmsg")                                                                 \
	int BPF_PROG(tcp_send_exit_##store, struct sock *sk, struct msghdr *msg, size_t size,    \
		     int ret)                                                                    \
	{                                                                                        \
		return on_transfer(sk, ret, IO_SEND, sks);                                       \
	}                                                                                        \
	SEC("fexit/tcp_recvmsg")                                                                 \
	int BPF_PROG(tcp_recv_exit6_##store, struct sock *sk, struct msghdr *msg, size_t len,    \
		     int nonblock, int flags, int *addr_len, int ret)                            \
	{                                                                                        \
		return flags & MSG_PEEK_VAL ? 0 : on_transfer(sk, ret, IO_RECV, sks);            \
	}                                                                                        \
	SEC("fexit/tcp_recvmsg")                                                                 \
	int BPF_PROG(tcp_recv_exit5_##store, struct sock *sk, struct msghdr *msg, size_t len,    \
		     int flags, int *addr_len, int ret)                                          \
	{                                                                                        \
		return flags & MSG_PEEK_VAL ? 0 : on_transfer(sk, ret, IO_RECV, sks);            \
	}                                                                                        \
	SEC("fexit/tcp_recvmsg")                                                                 \
	int BPF_PROG(tcp_recv_exit4_##store, struct sock *sk, struct msghdr *msg, size_t len,    \
		     int flags, int ret)                                                         \
	{                                                                                        \
		return flags & MSG_PEEK_VAL ? 0 : on_transfer(sk, ret, IO_RECV, sks);            \
	}                                                                                        \
	SEC("tp_btf/inet_sock_set_state")                                                        \
	int BPF_PROG(sock_state_##store, struct sock *sk, int oldstate, int newstate)            \
	{                                                                                        \
		return on_state(sk, oldstate, newstate, sks);                                    \
	}

LATENCY_PROGRAMS(sk, true)
LATENCY_PROGRAMS(hash, false)

/*
 * The HTTP parsers on fixed bytes, for tests/bpf/test_latency.c through
 * BPF_PROG_TEST_RUN (the tracing programs above cannot be test-run). The
 * agent never loads it.
 */
SEC("syscall")
int parse_head_test(struct seismo_parse_case *pc)
{
	char head[HEAD_BUF], path[SEISMO_PATH_LEN] = {};
	int len = pc->len, target = 0;

	if (len > REQUEST_HEAD_LEN)
		len = REQUEST_HEAD_LEN;
	if (len < 0)
		len = 0;
	__builtin_memcpy(head, pc->head, sizeof(head));
	pc->method = parse_method(head, len, &target);
	if (pc->method != SEISMO_METHOD_NONE)
		copy_path(head, len, target, path);
	__builtin_memcpy(pc->path, path, sizeof(path));
	pc->status = parse_status(head, len > STATUS_HEAD_LEN ? STATUS_HEAD_LEN : len);
	return 0;
}
