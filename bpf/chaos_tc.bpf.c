// SPDX-License-Identifier: GPL-2.0
/* Network chaos on a device's egress (tc clsact): matching packets get a
 * later earliest-departure time (skb->tstamp), which the fq qdisc enforces,
 * or are dropped. Everything the program needs is in maps, and the end of
 * the experiment is one of them: once end_ns is past, every packet passes
 * untouched, whether or not the process that started it is still alive. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "seismo/chaos.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IP_OFFSET_MASK 0x1FFF

/* Where the network header starts: 14 behind an Ethernet header, 0 on
 * devices without a link-layer header (tun, wireguard). Set before load. */
const volatile __u32 l3_offset = 14;

/* The experiment; one entry, rewritten by user space (stop sets end_ns 0). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct chaos_config);
} chaos_config SEC(".maps");

/* Destination CIDRs to affect; ignored with CHAOS_F_ALL_DESTINATIONS. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CHAOS_MAX_CIDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct chaos_cidr_key);
	__type(value, __u32);
} destinations SEC(".maps");

/* Last departure time per flow: a jittered packet never leaves before the
 * one sent ahead of it in the same flow (fq would otherwise reorder). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CHAOS_MAX_FLOWS);
	__type(key, struct chaos_flow_key);
	__type(value, __u64);
} flows SEC(".maps");

/* Normal/pareto jitter: inverse-CDF samples in CHAOS_DIST_SCALE units,
 * filled by user space, indexed by a random number (netem's approach). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CHAOS_DIST_TABLE_SIZE);
	__type(key, __u32);
	__type(value, __s32);
} dist_table SEC(".maps");

/* Counters for `seismo chaos list` and the tests (enum chaos_stat). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CHAOS_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *value = bpf_map_lookup_elem(&stats, &stat);

	if (value)
		*value += 1;
}

/* Fills the flow key from the IPv4/IPv6 and TCP/UDP headers; returns 0 when
 * the packet is neither IPv4 nor IPv6 (it is then left alone). */
static __always_inline int parse_flow(struct __sk_buff *skb, struct chaos_flow_key *key)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	void *l4 = NULL;
	__u32 off = l3_offset;

	if (off > 64)
		return 0;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;

		if ((void *)(ip + 1) > data_end)
			return 0;
		/* IPv4-mapped IPv6, as the trie stores it */
		key->saddr[10] = key->saddr[11] = 0xff;
		key->daddr[10] = key->daddr[11] = 0xff;
		__builtin_memcpy(&key->saddr[12], &ip->saddr, 4);
		__builtin_memcpy(&key->daddr[12], &ip->daddr, 4);
		key->protocol = ip->protocol;
		/* later fragments carry no ports */
		if (!(ip->frag_off & bpf_htons(IP_OFFSET_MASK)) && ip->ihl >= 5)
			l4 = (void *)ip + ip->ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		__builtin_memcpy(key->saddr, &ip6->saddr, 16);
		__builtin_memcpy(key->daddr, &ip6->daddr, 16);
		/* extension headers are not walked: such packets have port 0 */
		key->protocol = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		return 0;
	}
	if (l4 && (key->protocol == IPPROTO_TCP || key->protocol == IPPROTO_UDP)) {
		struct udphdr *ports = l4; /* TCP and UDP start with the ports */

		if ((void *)(ports + 1) <= data_end) {
			key->sport = ports->source;
			key->dport = ports->dest;
		}
	}
	return 1;
}

static __always_inline int port_matches(const struct chaos_config *cfg, __u16 dport_net)
{
	__u16 port = bpf_ntohs(dport_net);

	if (cfg->port_range_count == 0)
		return 1;
	for (__u32 i = 0; i < CHAOS_MAX_PORT_RANGES; i++) {
		if (i >= cfg->port_range_count)
			break;
		if (port >= cfg->port_ranges[i].first && port <= cfg->port_ranges[i].last)
			return 1;
	}
	return 0;
}

static __always_inline int destination_matches(const struct chaos_config *cfg,
					       const struct chaos_flow_key *flow)
{
	struct chaos_cidr_key key = { .prefixlen = 128 };

	if (cfg->flags & CHAOS_F_ALL_DESTINATIONS)
		return 1;
	__builtin_memcpy(key.addr, flow->daddr, 16);
	return bpf_map_lookup_elem(&destinations, &key) != NULL;
}

/* Signed offset around the latency, in ns, drawn from the configured
 * distribution. Multiplications stay within 64 bits for jitter < 2^39 ns
 * (about 9 minutes); user space caps jitter far below that. */
static __always_inline __s64 jitter_offset(const struct chaos_config *cfg)
{
	__u64 jitter = cfg->jitter_ns;
	__u32 index;
	__s32 *sample;

	if (!jitter)
		return 0;
	if (cfg->dist == CHAOS_DIST_UNIFORM) {
		/* 24 random bits spread over [0, 2*jitter], then centred */
		__u64 r = bpf_get_prandom_u32() >> 8;

		return (__s64)((r * (2 * jitter + 1)) >> 24) - (__s64)jitter;
	}
	index = bpf_get_prandom_u32() % CHAOS_DIST_TABLE_SIZE;
	sample = bpf_map_lookup_elem(&dist_table, &index);
	if (!sample)
		return 0;
	/* no signed division in older BPF ISAs: scale the magnitude */
	if (*sample < 0)
		return -(__s64)((jitter * (__u64)(-*sample)) / CHAOS_DIST_SCALE);
	return (__s64)((jitter * (__u64)*sample) / CHAOS_DIST_SCALE);
}

SEC("tc")
int chaos_egress(struct __sk_buff *skb)
{
	struct chaos_flow_key flow = {};
	struct chaos_config *cfg;
	__u64 now, base, departure, *last;
	__u32 zero = 0;
	__s64 delay;

	count(CHAOS_STAT_SEEN);
	cfg = bpf_map_lookup_elem(&chaos_config, &zero);
	if (!cfg || !(cfg->flags & CHAOS_F_ARMED))
		return TC_ACT_OK;
	now = bpf_ktime_get_ns();
	if (now >= cfg->end_ns) {
		count(CHAOS_STAT_EXPIRED);
		return TC_ACT_OK;
	}
	if (!parse_flow(skb, &flow) || !port_matches(cfg, flow.dport) ||
	    !destination_matches(cfg, &flow))
		return TC_ACT_OK;
	count(CHAOS_STAT_MATCHED);

	if (cfg->loss && bpf_get_prandom_u32() < cfg->loss) {
		count(CHAOS_STAT_DROPPED);
		return TC_ACT_SHOT;
	}

	delay = (__s64)cfg->latency_ns + jitter_offset(cfg);
	if (delay <= 0)
		return TC_ACT_OK;
	/* A departure time TCP already set (EDT pacing) is the packet's real
	 * send time: the delay adds to it. Other stamps are not trusted. */
	base = now;
	if (skb->tstamp_type == BPF_SKB_TSTAMP_DELIVERY_MONO && skb->tstamp > now)
		base = skb->tstamp;
	departure = base + (__u64)delay;

	last = bpf_map_lookup_elem(&flows, &flow);
	if (last && *last > departure) {
		departure = *last;
		count(CHAOS_STAT_REORDER_HELD);
	}
	if (last)
		*last = departure;
	else
		bpf_map_update_elem(&flows, &flow, &departure, BPF_ANY);

	bpf_skb_set_tstamp(skb, departure, BPF_SKB_TSTAMP_DELIVERY_MONO);
	count(CHAOS_STAT_DELAYED);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
