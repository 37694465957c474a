/* Shared by bpf/latency.bpf.c and the agent: map keys, values, and the
 * log-linear histogram bucketing. Only __u8..__u64 types, so both sides see
 * the same layout. */
#ifndef SEISMO_LATENCY_H
#define SEISMO_LATENCY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Histogram: values in units of 32 ns. Below 64 units (2.048 us) one bucket
 * per unit; above, 32 buckets per power of two. A bucket's midpoint is then
 * within 1/64 (1.6%) of any value in it, from 1 us up to 2^37 ns (137 s);
 * larger values land in the last bucket.
 */
#define SEISMO_HIST_UNIT_SHIFT 5
#define SEISMO_HIST_LINEAR 64
#define SEISMO_HIST_SUB_BITS 5
#define SEISMO_HIST_SUB (1 << SEISMO_HIST_SUB_BITS)
#define SEISMO_HIST_MAX_LOG2 31 /* highest power of two in units: 2^31 * 32 ns */
#define SEISMO_HIST_BUCKETS (SEISMO_HIST_LINEAR + (SEISMO_HIST_MAX_LOG2 - 6 + 1) * SEISMO_HIST_SUB)

/* floor(log2(v)) for v > 0 without clz, which the BPF target lacks. */
static inline __u32 seismo_log2(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFFFF) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static inline __u32 seismo_hist_bucket(__u64 ns)
{
	__u64 u = ns >> SEISMO_HIST_UNIT_SHIFT;
	__u32 e;

	if (u < SEISMO_HIST_LINEAR)
		return (__u32)u;
	e = seismo_log2(u);
	if (e > SEISMO_HIST_MAX_LOG2)
		return SEISMO_HIST_BUCKETS - 1;
	return SEISMO_HIST_LINEAR + (e - 6) * SEISMO_HIST_SUB +
	       (__u32)((u >> (e - SEISMO_HIST_SUB_BITS)) & (SEISMO_HIST_SUB - 1));
}

/* Lowest value (ns) that falls into bucket b; user space only needs this. */
static inline __u64 seismo_hist_lower_ns(__u32 b)
{
	__u32 e, sub;

	if (b < SEISMO_HIST_LINEAR)
		return (__u64)b << SEISMO_HIST_UNIT_SHIFT;
	e = (b - SEISMO_HIST_LINEAR) / SEISMO_HIST_SUB + 6;
	sub = (b - SEISMO_HIST_LINEAR) % SEISMO_HIST_SUB;
	return (((__u64)1 << e) + ((__u64)sub << (e - SEISMO_HIST_SUB_BITS)))
	       << SEISMO_HIST_UNIT_SHIFT;
}

enum seismo_role {
	SEISMO_ROLE_UNKNOWN = 0,
	SEISMO_ROLE_SERVER = 1, /* accepted the connection: measures processing time */
	SEISMO_ROLE_CLIENT = 2, /* opened the connection: measures the call */
};

enum seismo_method {
	SEISMO_METHOD_NONE = 0, /* not HTTP/1.x: a generic request/response turn */
	SEISMO_METHOD_GET,
	SEISMO_METHOD_HEAD,
	SEISMO_METHOD_POST,
	SEISMO_METHOD_PUT,
	SEISMO_METHOD_DELETE,
	SEISMO_METHOD_PATCH,
	SEISMO_METHOD_OPTIONS,
	SEISMO_METHOD_CONNECT,
	SEISMO_METHOD_TRACE,
	SEISMO_METHOD_MAX,
};

/* One histogram per (service cgroup, role, endpoint, method, status). */
struct seismo_hist_key {
	__u64 cgroup_id;
	__u8 remote_addr[16]; /* client role: the callee, IPv4 as ::ffff:a.b.c.d */
	__u16 remote_port;    /* client role only */
	__u16 local_port;     /* server role: the port the service answers on */
	__u16 status;	      /* HTTP status code; 0 when not HTTP or unparsed */
	__u8 role;	      /* enum seismo_role */
	__u8 method;	      /* enum seismo_method */
	__u32 process;	      /* client role: which program of the cgroup calls (a hash
			       * of its process name, never 0); 0 for the server role */
	__u32 pad;	      /* zero: keys are compared as bytes */
};

/* Counts only grow; user space takes deltas (modulo 2^32 for buckets). */
struct seismo_hist {
	__u64 count;
	__u64 sum_ns;
	__u32 buckets[SEISMO_HIST_BUCKETS];
};

/* Who answers on a server endpoint: lets user space name services that have
 * no unit or container (process name + port). */
struct seismo_endpoint_key {
	__u64 cgroup_id;
	__u16 local_port;
	__u16 pad;
	__u32 process; /* outbound calls (port 0): the hist key's process; else 0 */
};

struct seismo_endpoint {
	__u32 tgid;
	char comm[16];
};

/* Self-monitoring counters (per-CPU array, summed by user space). */
enum seismo_counter {
	SEISMO_CNT_EXCHANGES, /* request/response turns recorded */
	SEISMO_CNT_HIST_FULL, /* turns lost: histogram map full */
	SEISMO_CNT_CONN_NEW,  /* connections first seen */
	SEISMO_CNT_HTTP,      /* turns whose first bytes parsed as HTTP/1.x */
	SEISMO_CNT_NO_BUFFER, /* turns without a user buffer to parse (sendfile, io_uring) */
	SEISMO_CNT_SAMPLES,   /* samples sent to the ring buffer */
	SEISMO_CNT_SAMPLES_SUPPRESSED, /* over threshold but over the token bucket */
	SEISMO_CNT_SAMPLES_LOST,       /* ring buffer full */
	SEISMO_CNT_CONN_ADOPTED, /* connections older than the agent, role from listening ports */
	SEISMO_CNT_MAX,
};

/* All counters in one per-CPU array element: one lookup per turn. */
struct seismo_counters {
	__u64 n[SEISMO_CNT_MAX];
};

/* Ports in LISTEN state per network namespace: a connection older than the
 * agent whose local port is one of them was accepted (server role). Seeded
 * by the agent from /proc/PID/net/tcp{,6}, kept current by the kernel. */
struct seismo_listen_key {
	__u32 netns; /* the namespace's inode number (ns/net) */
	__u16 port;
	__u16 pad;
};

/* --- kernel-side anomaly sampling --------------------------------------- */

/* Per-service sampling policy, written by the agent. Keyed like endpoints
 * (cgroup + local port for servers, cgroup + 0 for a service's client calls). */
struct seismo_threshold {
	__u64 latency_ns;   /* a slower turn is a sample; 0 = no latency sampling */
	__u32 rate_per_sec; /* token bucket refill */
	__u32 burst;	    /* token bucket size */
};

struct seismo_bucket_state {
	__u64 last_ns;
	__u64 tokens_milli; /* tokens x 1000, so slow refills are not lost */
};

#define SEISMO_PATH_LEN 32

struct seismo_sample {
	__u64 time_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 latency_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u16 status;
	__u8 role;
	__u8 method;
	__u8 reason; /* 1 = slow, 2 = error status, 4 = uniform 1-in-N */
	__u8 family; /* AF_INET / AF_INET6 */
	__u16 local_port;
	__u16 remote_port;
	__u8 pad[2];
	__u8 local_addr[16];
	__u8 remote_addr[16];
	char comm[16];
	char path[SEISMO_PATH_LEN]; /* HTTP request target prefix */
};

/* The HTTP parsers' test harness (latency.bpf.c: parse_head_test, run by
 * tests/bpf/test_latency.c through BPF_PROG_TEST_RUN). */
#define SEISMO_HEAD_BUF 64
struct seismo_parse_case {
	char head[SEISMO_HEAD_BUF]; /* in: the first bytes of a transfer */
	__s32 len;		    /* in: how many bytes the transfer moved */
	__u32 method;		    /* out: enum seismo_method */
	__u32 status;		    /* out: HTTP status, 0 = none */
	char path[SEISMO_PATH_LEN]; /* out */
};

#define SEISMO_SAMPLE_SLOW 1
#define SEISMO_SAMPLE_ERROR 2
#define SEISMO_SAMPLE_UNIFORM 4

#endif
