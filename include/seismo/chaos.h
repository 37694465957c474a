/* Network chaos: what the tc egress program (bpf/chaos_tc.bpf.c) and the
 * `seismo chaos` CLI (agent/chaos_*.c) share. Kernel and user space both
 * include this file, so it uses only __u8/__u16/__u32/__u64. */
#ifndef SEISMO_CHAOS_H
#define SEISMO_CHAOS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Destination port ranges per experiment; the BPF loop is bounded by this. */
#define CHAOS_MAX_PORT_RANGES 16
/* Entries of the jitter distribution table (like netem's dist tables). */
#define CHAOS_DIST_TABLE_SIZE 4096
/* Table values are standard-deviation units scaled by this factor. */
#define CHAOS_DIST_SCALE 8192
/* Loss is given as a fraction of 2^32, so one random u32 decides a drop. */
#define CHAOS_LOSS_SCALE 4294967296.0
/* Flows remembered for in-order departure times (LRU beyond that). */
#define CHAOS_MAX_FLOWS 65536
/* Destination CIDRs per experiment (v4 and v6 together). */
#define CHAOS_MAX_CIDRS 1024

enum chaos_jitter_dist {
	CHAOS_DIST_UNIFORM = 0, /* latency ± jitter, every value equally likely */
	CHAOS_DIST_NORMAL = 1,	/* jitter is the standard deviation */
	CHAOS_DIST_PARETO = 2,	/* heavy tail above latency; jitter scales it */
};

enum chaos_config_flags {
	/* Set once user space finished filling the maps: before that, pass. */
	CHAOS_F_ARMED = 1 << 0,
	/* No CIDR given: every destination matches (the trie is not consulted). */
	CHAOS_F_ALL_DESTINATIONS = 1 << 1,
};

struct chaos_port_range {
	__u16 first; /* host byte order, inclusive */
	__u16 last;  /* inclusive */
};

/* The experiment, in the single entry of the `config` array map. The
 * program reads it on every packet, so `stop` can end an experiment by
 * setting end_ns to 0 from any process. */
struct chaos_config {
	__u64 end_ns;		/* CLOCK_MONOTONIC; at or past it every packet passes */
	__u64 latency_ns;	/* added to each matching packet's departure time */
	__u64 jitter_ns;	/* spread around latency, see enum chaos_jitter_dist */
	__u32 loss;		/* drop probability as a fraction of 2^32 */
	__u32 dist;		/* enum chaos_jitter_dist */
	__u32 flags;		/* enum chaos_config_flags */
	__u32 port_range_count; /* 0: every port matches */
	struct chaos_port_range port_ranges[CHAOS_MAX_PORT_RANGES];
};

/* Key of the `destinations` LPM trie. IPv4 addresses are stored as
 * IPv4-mapped IPv6 (::ffff:a.b.c.d, prefix + 96) so one trie serves both. */
struct chaos_cidr_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Key of the `flows` LRU map: the last departure time given to a flow, so
 * that jitter never reorders packets within it. */
struct chaos_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* network byte order, 0 for protocols without ports */
	__u16 dport;
	__u8 protocol;
	__u8 pad[3];
};

/* Per-CPU counters in the `stats` array map, summed by `seismo chaos list`. */
enum chaos_stat {
	CHAOS_STAT_SEEN,	 /* packets the program ran on */
	CHAOS_STAT_MATCHED,	 /* matched destination and port while active */
	CHAOS_STAT_DELAYED,	 /* given a later departure time */
	CHAOS_STAT_DROPPED,	 /* dropped by the loss setting */
	CHAOS_STAT_REORDER_HELD, /* departure raised to the flow's last one */
	CHAOS_STAT_EXPIRED,	 /* passed untouched because end_ns was reached */
	CHAOS_STAT_COUNT,
};

#endif
