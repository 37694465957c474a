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

enum conn_phase {
	PHASE_IDLE = 0,
	PHASE_REQUEST = 1,  /* request bytes flowing (server read / client sent) */
	PHASE_RESPONSE = 2, /* response bytes flowing */
};

struct conn {
	__u64 start_ns;   /* first byte of the current request */
	__u64 cgroup_id;  /* the process that saw the request start */
	__u8 role;
	__u8 phase;
	__u8 method;
	__u8 endpoint_known; /* remembered in the endpoints map already */
	__u16 status;
	__u16 pad2;
	char path[SEISMO_PATH_LEN];
};

/* Per-connection state, keyed by struct sock address. LRU: connections that
 * close without a state change we see cannot leak. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

/* The histograms user space reads every interval. Not preallocated: a
 * histogram is 3.6 KiB and most keys never exist. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct seismo_hist_key);
	__type(value, struct seismo_hist);
} hists SEC(".maps");

/* A zeroed histogram to insert from: the BPF stack is too small for one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct seismo_hist);
} zero_hist SEC(".maps");

/* Which process answers on (cgroup, port): names services with no unit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct seismo_endpoint_key);
	__type(value, struct seismo_endpoint);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SEISMO_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
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

#define HEAD_LEN 48 /* enough for "OPTIONS " + a path prefix */
#define STATUS_LINE_LEN 16 /* "HTTP/1.1 200 " and a little: all a response needs */

/* The process's name, not the thread's: a server's worker threads rename
 * themselves ("MHD-single", "tokio-runtime-w") but are the same service. */
static __always_inline void process_comm(char *comm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (!leader || bpf_core_read_str(comm, 16, &leader->comm) < 0)
		bpf_get_current_comm(comm, 16);
}

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += 1;
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

/* Copies the first bytes of the turn into head; returns how many, or 0 when
 * the buffer is not reachable. */
static __always_inline int read_head(struct sock *sk, __u8 dir, int len, int max, char *head)
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
	n &= HEAD_LEN + 15;
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
		if (j >= len || j >= HEAD_LEN)
			break;
		char c = h[j & (HEAD_LEN - 1 + 16)];
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

static __always_inline void maybe_sample(struct sock *sk, struct conn *c, __u64 latency, __u64 now,
					 __u16 lport)
{
	struct seismo_endpoint_key key = {
		.cgroup_id = c->cgroup_id,
		.local_port = c->role == SEISMO_ROLE_SERVER ? lport : 0,
	};
	struct seismo_threshold *th = bpf_map_lookup_elem(&thresholds, &key);
	__u8 reason = 0;

	if (th && th->latency_ns && latency > th->latency_ns)
		reason |= SEISMO_SAMPLE_SLOW;
	if (c->status >= 500)
		reason |= SEISMO_SAMPLE_ERROR;
	if (sample_one_in && bpf_get_prandom_u32() % sample_one_in == 0)
		reason |= SEISMO_SAMPLE_UNIFORM;
	if (!reason)
		return;
	if (reason != SEISMO_SAMPLE_UNIFORM) {
		struct seismo_threshold dflt = { .rate_per_sec = 10, .burst = 20 };
		if (!take_token(&key, th ? th : &dflt, now)) {
			count(SEISMO_CNT_SAMPLES_SUPPRESSED);
			return;
		}
	}

	struct seismo_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s) {
		count(SEISMO_CNT_SAMPLES_LOST);
		return;
	}
	__builtin_memset(s, 0, sizeof(*s));
	s->time_ns = now;
	s->latency_ns = latency;
	s->cgroup_id = c->cgroup_id;
	s->pid = bpf_get_current_pid_tgid() >> 32;
	s->status = c->status;
	s->role = c->role;
	s->method = c->method;
	s->reason = reason;
	read_addrs(sk, s->local_addr, s->remote_addr, &s->local_port, &s->remote_port, &s->family);
	process_comm(s->comm);
	__builtin_memcpy(s->path, c->path, SEISMO_PATH_LEN);
	bpf_ringbuf_submit(s, 0);
	count(SEISMO_CNT_SAMPLES);
}

static __always_inline void record_turn(struct sock *sk, struct conn *c, __u64 now)
{
	struct seismo_hist_key key = {};
	struct seismo_hist *h;
	__u64 latency = now - c->start_ns;
	__u8 local[16] = {}, family;
	__u16 lport, rport;

	if (latency > max_turn_ns)
		return;
	key.cgroup_id = c->cgroup_id;
	key.role = c->role;
	key.method = c->method;
	key.status = c->status;
	lport = sk->__sk_common.skc_num;
	if (c->role == SEISMO_ROLE_SERVER) {
		/* The server's key is its own port; the peer is just a client,
		 * so its address is not even read. */
		key.local_port = lport;
	} else {
		read_addrs(sk, local, key.remote_addr, &lport, &rport, &family);
		key.remote_port = rport;
	}

	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		__u32 zero = 0;
		struct seismo_hist *z = bpf_map_lookup_elem(&zero_hist, &zero);
		if (!z)
			return;
		bpf_map_update_elem(&hists, &key, z, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h) {
			count(SEISMO_CNT_HIST_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, latency);
	__u32 b = seismo_hist_bucket(latency);
	asm volatile("" : "+r"(b)); /* the verifier must see this bound check */
	if (b < SEISMO_HIST_BUCKETS)
		__sync_fetch_and_add(&h->buckets[b], 1);
	count(SEISMO_CNT_EXCHANGES);
	if (c->method != SEISMO_METHOD_NONE || c->status)
		count(SEISMO_CNT_HTTP);
	maybe_sample(sk, c, latency, now, lport);
}

/* Port 0 stands for a service's outbound calls. */
static __always_inline void remember_endpoint(struct sock *sk, __u64 cgroup_id, __u8 role)
{
	struct seismo_endpoint_key key = {
		.cgroup_id = cgroup_id,
		.local_port = role == SEISMO_ROLE_SERVER ? sk->__sk_common.skc_num : 0,
	};
	struct seismo_endpoint ep = {};

	if (bpf_map_lookup_elem(&endpoints, &key))
		return;
	ep.tgid = bpf_get_current_pid_tgid() >> 32;
	process_comm(ep.comm);
	bpf_map_update_elem(&endpoints, &key, &ep, BPF_ANY);
}

/* --- the state machine ---------------------------------------------------------- */

static __always_inline bool is_tcp_inet(struct sock *sk)
{
	__u16 fam = sk->__sk_common.skc_family;

	return (fam == AF_INET_VAL || fam == AF_INET6_VAL) && sk->sk_protocol == IPPROTO_TCP_VAL;
}

static __always_inline struct conn *conn_get(struct sock *sk, __u8 first_dir)
{
	__u64 key = (__u64)sk;
	struct conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c)
		return c;
	/* A connection older than the agent: whoever receives first serves. */
	struct conn fresh = {
		.role = first_dir == IO_RECV ? SEISMO_ROLE_SERVER : SEISMO_ROLE_CLIENT,
	};
	bpf_map_update_elem(&conns, &key, &fresh, BPF_NOEXIST);
	count(SEISMO_CNT_CONN_NEW);
	return bpf_map_lookup_elem(&conns, &key);
}

/* The first bytes of a request: start timing, parse method and path. */
static __always_inline void start_request(struct sock *sk, struct conn *c, __u8 dir, int len,
					  __u64 now)
{
	char head[HEAD_LEN + 16] = {};
	int target = 0, n;

	c->start_ns = now;
	c->cgroup_id = bpf_get_current_cgroup_id();
	c->phase = PHASE_REQUEST;
	c->status = 0;
	__builtin_memset(c->path, 0, sizeof(c->path));
	/* Once per connection: keep-alive requests need no map lookup here. */
	if (!c->endpoint_known) {
		remember_endpoint(sk, c->cgroup_id, c->role);
		c->endpoint_known = 1;
	}
	n = read_head(sk, dir, len, HEAD_LEN, head);
	if (!n) {
		c->method = SEISMO_METHOD_NONE;
		count(SEISMO_CNT_NO_BUFFER);
		return;
	}
	c->method = parse_method(head, n, &target);
	if (c->method != SEISMO_METHOD_NONE)
		copy_path(head, n, target, c->path);
}

/* The first bytes of a response: parse the status and record the turn. */
static __always_inline void start_response(struct sock *sk, struct conn *c, __u8 dir, int len,
					   __u64 now)
{
	char head[HEAD_LEN + 16] = {};
	int n = read_head(sk, dir, len, STATUS_LINE_LEN, head); /* "HTTP/1.1 200" */

	c->status = n ? parse_status(head, n) : 0;
	c->phase = PHASE_RESPONSE;
	record_turn(sk, c, now);
}

static __always_inline int on_transfer(struct sock *sk, int len, __u8 dir)
{
	struct conn *c;
	__u64 now;

	if (len <= 0 || !is_tcp_inet(sk))
		return 0;
	c = conn_get(sk, dir);
	if (!c)
		return 0;
	now = bpf_ktime_get_ns();
	/* The request direction is recv for a server and send for a client. */
	__u8 request_dir = c->role == SEISMO_ROLE_SERVER ? IO_RECV : IO_SEND;

	if (dir == request_dir) {
		if (c->phase != PHASE_REQUEST)
			start_request(sk, c, dir, len, now);
	} else if (c->phase == PHASE_REQUEST) {
		start_response(sk, c, dir, len, now);
	}
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(sock_recv, struct sock *sk, int ret, int flags)
{
	if (flags & MSG_PEEK_VAL) /* data stays queued: the real read comes later */
		return 0;
	return on_transfer(sk, ret, IO_RECV);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sock_send, struct sock *sk, int ret, int flags)
{
	return on_transfer(sk, ret, IO_SEND);
}

/*
 * The same transfers seen from tcp_sendmsg/tcp_recvmsg, for kernels without
 * the sock tracepoints (< 6.3) that allow fentry. Where both load, these are
 * cheaper: they fire for TCP only, not for every unix or UDP socket. The
 * agent picks a variant by trying this one first and disabling the loser's
 * autoload (see agent/collector.c).
 */
SEC("fexit/tcp_sendmsg")
int BPF_PROG(tcp_send_exit, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	return on_transfer(sk, ret, IO_SEND);
}

static __always_inline int recv_done(struct sock *sk, int flags, int ret)
{
	if (flags & MSG_PEEK_VAL)
		return 0;
	return on_transfer(sk, ret, IO_RECV);
}

/* tcp_recvmsg's signature changed twice: 5.19 folded nonblock into flags
 * (commit ec095263a965), 6.10 dropped addr_len. One program per signature;
 * the agent loads the one whose argument count matches the kernel's BTF. */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(tcp_recv_exit6, struct sock *sk, struct msghdr *msg, size_t len, int nonblock,
	     int flags, int *addr_len, int ret)
{
	return recv_done(sk, flags, ret);
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(tcp_recv_exit5, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	return recv_done(sk, flags, ret);
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(tcp_recv_exit4, struct sock *sk, struct msghdr *msg, size_t len, int flags, int ret)
{
	return recv_done(sk, flags, ret);
}

/* Connection roles from the handshake, and cleanup at close. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sock_state, struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;

	if (sk->sk_protocol != IPPROTO_TCP_VAL)
		return 0;
	if (newstate == TCP_ESTABLISHED_VAL) {
		struct conn fresh = {};
		if (oldstate == TCP_SYN_RECV_VAL)
			fresh.role = SEISMO_ROLE_SERVER;
		else if (oldstate == TCP_SYN_SENT_VAL)
			fresh.role = SEISMO_ROLE_CLIENT;
		else
			return 0;
		bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY);
		count(SEISMO_CNT_CONN_NEW);
	} else if (newstate == TCP_CLOSE_VAL) {
		bpf_map_delete_elem(&conns, &key);
	}
	return 0;
}
