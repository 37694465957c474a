/* The chaos_tc program run on crafted packets through BPF_PROG_TEST_RUN:
 * departure times, destination CIDR and port matching, loss rate, expiry
 * and per-flow ordering. Each case loads a fresh object, so map state
 * (flows, counters) never leaks between cases. Needs CAP_BPF; skips (77)
 * where the kernel refuses to load BPF at all. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <math.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../chaos/chaos_maps.h"
#include "../../chaos/chaos_spec.h"
#include "chaos_tc.skel.h"

#define MS 1000000ULL
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* bytes starts 2 bytes into aligned storage, so the IP header behind the
 * 14-byte Ethernet header is 4-byte aligned (as NICs arrange it) */
struct packet {
	uint8_t storage[136] __attribute__((aligned(8)));
	uint8_t *bytes;
	size_t len;
};

/* Ethernet + IPv4 or IPv6 + TCP/UDP; dst is an address literal. */
static void build_packet(struct packet *pkt, const char *dst, uint8_t proto, uint16_t sport,
			 uint16_t dport)
{
	struct ethhdr *eth;
	uint8_t *l4;

	memset(pkt, 0, sizeof(*pkt));
	pkt->bytes = pkt->storage + 2;
	eth = (struct ethhdr *)pkt->bytes;
	if (strchr(dst, ':')) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->ip6_vfc = 6 << 4;
		ip6->ip6_nxt = proto;
		ip6->ip6_hlim = 64;
		ip6->ip6_plen =
			htons(proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr));
		assert_int_equal(inet_pton(AF_INET6, "fd99::1", &ip6->ip6_src), 1);
		assert_int_equal(inet_pton(AF_INET6, dst, &ip6->ip6_dst), 1);
		l4 = (uint8_t *)(ip6 + 1);
	} else {
		struct iphdr *ip = (struct iphdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = proto;
		assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &ip->saddr), 1);
		assert_int_equal(inet_pton(AF_INET, dst, &ip->daddr), 1);
		l4 = (uint8_t *)(ip + 1);
	}
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = (struct tcphdr *)l4;

		tcp->source = htons(sport);
		tcp->dest = htons(dport);
		tcp->doff = 5;
		pkt->len = (size_t)(l4 - pkt->bytes) + sizeof(*tcp);
	} else {
		struct udphdr *udp = (struct udphdr *)l4;

		udp->source = htons(sport);
		udp->dest = htons(dport);
		udp->len = htons(sizeof(*udp));
		pkt->len = (size_t)(l4 - pkt->bytes) + sizeof(*udp);
	}
	if (eth->h_proto == htons(ETH_P_IP)) {
		struct iphdr *ip = (struct iphdr *)(eth + 1);

		ip->tot_len = htons((uint16_t)(pkt->len - sizeof(*eth)));
	}
}

struct fixture {
	struct chaos_tc_bpf *skel;
	struct chaos_maps maps;
};

static int setup(void **state)
{
	static struct fixture fx;

	if (chaos_maps_load(14, &fx.skel, &fx.maps))
		return -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	chaos_maps_close(&fx->maps);
	chaos_tc_bpf__destroy(fx->skel);
	return 0;
}

struct run_result {
	int retval;
	uint64_t tstamp;
	uint64_t before, after; /* CLOCK_MONOTONIC around the run */
};

static struct run_result run_packet(struct fixture *fx, const struct packet *pkt, int repeat)
{
	struct __sk_buff ctx_in = {}, ctx_out = {};
	struct run_result result;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt->bytes,
		    .data_size_in = (uint32_t)pkt->len, .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = repeat);

	result.before = chaos_now_ns();
	assert_int_equal(bpf_prog_test_run_opts(fx->maps.prog_fd, &opts), 0);
	result.after = chaos_now_ns();
	result.retval = (int)opts.retval;
	result.tstamp = ctx_out.tstamp;
	return result;
}

static void spec_for(struct chaos_delay_spec *spec, uint64_t latency, uint64_t jitter,
		     const char *cidrs, const char *ports)
{
	chaos_spec_init(spec);
	spec->latency_ns = latency;
	spec->jitter_ns = jitter;
	if (cidrs)
		assert_int_equal(chaos_spec_add_cidrs(spec, cidrs), 0);
	if (ports)
		assert_int_equal(chaos_spec_add_ports(spec, ports), 0);
}

static void arm(struct fixture *fx, const struct chaos_delay_spec *spec)
{
	assert_int_equal(chaos_maps_write_spec(&fx->maps, spec,
					       chaos_now_ns() + 3600ULL * 1000 * MS),
			 0);
}

static uint64_t stat_of(struct fixture *fx, enum chaos_stat stat)
{
	uint64_t stats[CHAOS_STAT_COUNT];

	assert_int_equal(chaos_maps_read_stats(&fx->maps, stats), 0);
	return stats[stat];
}

/* Nothing happens before user space arms the config. */
static void test_unarmed_passes(void **state)
{
	struct fixture *fx = *state;
	struct packet pkt;
	struct run_result r;

	build_packet(&pkt, "10.0.0.1", IPPROTO_TCP, 1234, 80);
	r = run_packet(fx, &pkt, 1);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.tstamp, 0);
	assert_int_equal(stat_of(fx, CHAOS_STAT_MATCHED), 0);
}

/* Departure = now + latency, where now lies between the run's bounds. */
static void test_departure_time(void **state)
{
	static const struct {
		uint64_t latency;
		const char *dst;
		uint8_t proto;
	} cases[] = {
		{ 10 * MS, "10.0.0.1", IPPROTO_TCP },
		{ 500 * MS, "10.0.0.2", IPPROTO_UDP },
		{ 1, "fd00::5", IPPROTO_TCP },
		{ 2000 * MS, "2001:db8::1", IPPROTO_UDP },
	};
	struct fixture *fx = *state;
	struct chaos_delay_spec spec;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct packet pkt;
		struct run_result r;

		spec_for(&spec, cases[i].latency, 0, NULL, NULL);
		arm(fx, &spec);
		build_packet(&pkt, cases[i].dst, cases[i].proto, (uint16_t)(40000 + i), 443);
		r = run_packet(fx, &pkt, 1);
		assert_int_equal(r.retval, TC_ACT_OK);
		assert_in_range(r.tstamp, r.before + cases[i].latency, r.after + cases[i].latency);
	}
	assert_int_equal(stat_of(fx, CHAOS_STAT_DELAYED), 4);
}

/* LPM trie: v4 and v6 CIDRs, host bits ignored, non-IP traffic untouched. */
static void test_cidr_matching(void **state)
{
	static const struct {
		const char *dst;
		int delayed;
	} cases[] = {
		{ "10.1.2.3", 1 },	 { "10.255.255.255", 1 }, { "11.0.0.1", 0 },
		{ "192.168.7.9", 1 },	 { "192.168.7.10", 0 },	  { "172.16.0.1", 0 },
		{ "fd12:3456::1", 1 },	 { "fe80::1", 0 },	  { "2001:db8::1", 0 },
		{ "2001:db8:1::42", 1 },
	};
	struct fixture *fx = *state;
	struct chaos_delay_spec spec;

	spec_for(&spec, 5 * MS, 0, "10.9.9.9/8, 192.168.7.9, fd00::/8,2001:db8:1::/48", NULL);
	arm(fx, &spec);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct packet pkt;
		struct run_result r;

		build_packet(&pkt, cases[i].dst, IPPROTO_TCP, (uint16_t)(30000 + i), 80);
		r = run_packet(fx, &pkt, 1);
		assert_int_equal(r.retval, TC_ACT_OK);
		if (cases[i].delayed)
			assert_true(r.tstamp >= r.before + 5 * MS);
		else
			assert_int_equal(r.tstamp, 0);
	}
}

/* Destination port ranges, for TCP and UDP alike. */
static void test_port_matching(void **state)
{
	static const struct {
		uint16_t dport;
		uint8_t proto;
		int delayed;
	} cases[] = {
		{ 80, IPPROTO_TCP, 1 },	  { 81, IPPROTO_TCP, 0 },    { 7999, IPPROTO_UDP, 0 },
		{ 8000, IPPROTO_UDP, 1 }, { 8050, IPPROTO_TCP, 1 },  { 8100, IPPROTO_TCP, 1 },
		{ 8101, IPPROTO_TCP, 0 }, { 65535, IPPROTO_UDP, 1 }, { 0, IPPROTO_UDP, 0 },
	};
	struct fixture *fx = *state;
	struct chaos_delay_spec spec;

	spec_for(&spec, 5 * MS, 0, "10.0.0.0/8", "80,8000-8100,65535");
	arm(fx, &spec);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct packet pkt;
		struct run_result r;

		build_packet(&pkt, "10.0.0.1", cases[i].proto, (uint16_t)(20000 + i),
			     cases[i].dport);
		r = run_packet(fx, &pkt, 1);
		if (cases[i].delayed)
			assert_true(r.tstamp >= r.before + 5 * MS);
		else
			assert_int_equal(r.tstamp, 0);
	}
}

/* The drop rate of N packets stays within 6 standard deviations of the
 * binomial mean (a false failure about once in 10^9 runs). */
static void test_loss_rate(void **state)
{
	static const double rates[] = { 0, 1, 30, 100 };
	const int n = 20000;

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct fixture fx;
		struct chaos_delay_spec spec;
		struct packet pkt;
		double p = rates[i] / 100, mean = n * p, sd = sqrt(n * p * (1 - p));
		uint64_t dropped;

		assert_int_equal(chaos_maps_load(14, &fx.skel, &fx.maps), 0);
		spec_for(&spec, 0, 0, NULL, NULL);
		spec.loss_percent = rates[i];
		arm(&fx, &spec);
		build_packet(&pkt, "10.0.0.1", IPPROTO_UDP, 5000, 53);
		run_packet(&fx, &pkt, n);
		dropped = stat_of(&fx, CHAOS_STAT_DROPPED);
		assert_int_equal(stat_of(&fx, CHAOS_STAT_MATCHED), n);
		assert_true((double)dropped >= mean - 6 * sd - 1e-9);
		assert_true((double)dropped <= mean + 6 * sd + 1e-9);
		chaos_maps_close(&fx.maps);
		chaos_tc_bpf__destroy(fx.skel);
	}
}

/* Past end_ns every packet passes untouched, and is counted as expired. */
static void test_expiry(void **state)
{
	struct fixture *fx = *state;
	struct chaos_delay_spec spec;
	struct packet pkt;
	struct run_result r;

	spec_for(&spec, 50 * MS, 0, NULL, NULL);
	spec.loss_percent = 100;
	assert_int_equal(chaos_maps_write_spec(&fx->maps, &spec, chaos_now_ns() - 1), 0);
	build_packet(&pkt, "10.0.0.1", IPPROTO_TCP, 1000, 80);
	r = run_packet(fx, &pkt, 10);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.tstamp, 0);
	assert_int_equal(stat_of(fx, CHAOS_STAT_EXPIRED), 10);
	assert_int_equal(stat_of(fx, CHAOS_STAT_DROPPED), 0);
}

/* Uniform jitter: each delay within latency ± jitter; distinct flows so the
 * ordering rule does not raise any of them. Both halves are reached. */
static void test_uniform_jitter_bounds(void **state)
{
	struct fixture *fx = *state;
	struct chaos_delay_spec spec;
	int below = 0, above = 0;

	spec_for(&spec, 100 * MS, 20 * MS, NULL, NULL);
	arm(fx, &spec);
	for (int i = 0; i < 400; i++) {
		struct packet pkt;
		struct run_result r;

		build_packet(&pkt, "10.0.0.1", IPPROTO_UDP, (uint16_t)(10000 + i), 9);
		r = run_packet(fx, &pkt, 1);
		assert_in_range(r.tstamp, r.before + 80 * MS, r.after + 120 * MS);
		below += r.tstamp < r.before + 100 * MS;
		above += r.tstamp > r.after + 100 * MS;
	}
	assert_true(below > 100 && above > 100); /* expectation 200 each */
}

/* Within one flow departures never go backwards: tstamp = max(candidate,
 * last); other flows are not held back by it. */
static void test_flow_order(void **state)
{
	struct fixture *fx = *state;
	struct chaos_delay_spec spec;
	struct packet flow_a, flow_b;
	struct chaos_flow_key key = {};
	uint64_t previous = 0, held_until;
	struct run_result r;

	spec_for(&spec, 100 * MS, 90 * MS, NULL, NULL);
	arm(fx, &spec);
	build_packet(&flow_a, "10.0.0.1", IPPROTO_TCP, 1111, 80);
	for (int i = 0; i < 300; i++) {
		r = run_packet(fx, &flow_a, 1);
		assert_true(r.tstamp >= previous);
		previous = r.tstamp;
	}
	assert_true(stat_of(fx, CHAOS_STAT_REORDER_HELD) > 0);

	/* a flow whose last departure is far ahead: the next packet waits for it */
	held_until = chaos_now_ns() + 10000 * MS;
	key.saddr[10] = key.saddr[11] = key.daddr[10] = key.daddr[11] = 0xff;
	inet_pton(AF_INET, "192.0.2.1", &key.saddr[12]);
	inet_pton(AF_INET, "10.0.0.2", &key.daddr[12]);
	key.sport = htons(2222);
	key.dport = htons(80);
	key.protocol = IPPROTO_TCP;
	assert_int_equal(bpf_map_update_elem(fx->maps.flows_fd, &key, &held_until, BPF_ANY), 0);
	build_packet(&flow_b, "10.0.0.2", IPPROTO_TCP, 2222, 80);
	r = run_packet(fx, &flow_b, 1);
	assert_int_equal(r.tstamp, held_until);
	/* same addresses, other source port: its own flow, not held */
	build_packet(&flow_b, "10.0.0.2", IPPROTO_TCP, 2223, 80);
	r = run_packet(fx, &flow_b, 1);
	assert_true(r.tstamp < held_until);
}

/* Normal and pareto tables shape the delay; pareto never goes below the
 * latency. */
static void test_table_distributions(void **state)
{
	struct fixture *fx = *state;
	struct chaos_delay_spec spec;
	double sum = 0, sum_sq = 0;
	const int n = 2000;

	spec_for(&spec, 200 * MS, 10 * MS, NULL, NULL);
	spec.dist = CHAOS_DIST_NORMAL;
	arm(fx, &spec);
	for (int i = 0; i < n; i++) {
		struct packet pkt;
		struct run_result r;
		double delay_ms;

		build_packet(&pkt, "10.0.0.1", IPPROTO_UDP, (uint16_t)(1024 + i), 9);
		r = run_packet(fx, &pkt, 1);
		/* the run's own duration is noise of a few µs here */
		delay_ms = (double)(r.tstamp - r.before) / MS;
		sum += delay_ms;
		sum_sq += delay_ms * delay_ms;
	}
	{
		double mean = sum / n, sd = sqrt(sum_sq / n - mean * mean);

		/* standard error of the mean is 10/sqrt(2000) = 0.22 ms */
		assert_true(fabs(mean - 200) < 2);
		assert_true(sd > 8.5 && sd < 11.5);
	}

	spec.dist = CHAOS_DIST_PARETO;
	arm(fx, &spec);
	for (int i = 0; i < 500; i++) {
		struct packet pkt;
		struct run_result r;

		build_packet(&pkt, "10.0.0.1", IPPROTO_UDP, (uint16_t)(5000 + i), 10);
		r = run_packet(fx, &pkt, 1);
		assert_true(r.tstamp >= r.before + 200 * MS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unarmed_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_departure_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cidr_matching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_matching, setup, teardown),
		cmocka_unit_test(test_loss_rate),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uniform_jitter_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_distributions, setup, teardown),
	};
	struct chaos_tc_bpf *skel;
	struct chaos_maps maps;

	/* probe once: no BPF at all is a missing capability, not a failure */
	if (chaos_maps_load(14, &skel, &maps)) {
		printf("skip: cannot load BPF programs here (%s)\n", strerror(errno));
		return 77;
	}
	chaos_maps_close(&maps);
	chaos_tc_bpf__destroy(skel);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
