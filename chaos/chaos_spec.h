/* What a network chaos experiment asks for, and the parsers that turn
 * command-line options, Litmus env values and YAML into it. */
#ifndef SEISMO_CHAOS_SPEC_H
#define SEISMO_CHAOS_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seismo/chaos.h"

#define CHAOS_NAME_MAX 64
#define CHAOS_PATH_MAX 256

/* How the target network namespace was named. */
enum chaos_netns_kind {
	CHAOS_NETNS_CURRENT = 0, /* the one seismo runs in */
	CHAOS_NETNS_PATH,	 /* /var/run/netns/NAME, /proc/PID/ns/net, ... */
	CHAOS_NETNS_PID,	 /* the namespace of a process */
	CHAOS_NETNS_CGROUP,	 /* the namespace of a process in a cgroup/service */
};

struct chaos_delay_spec {
	char name[CHAOS_NAME_MAX]; /* pin directory name; default delay-IFNAME */
	char ifname[32];
	enum chaos_netns_kind netns_kind;
	char netns_arg[CHAOS_PATH_MAX]; /* path, pid or cgroup as given */
	uint64_t latency_ns;
	uint64_t jitter_ns;
	enum chaos_jitter_dist dist;
	double loss_percent;
	uint64_t duration_ns;
	/* expected packet rate, for sizing fq's limits (packets/s) */
	uint32_t rate_pps;
	uint32_t flow_rate_pps;
	struct chaos_cidr_key cidrs[CHAOS_MAX_CIDRS];
	size_t cidr_count;
	struct chaos_port_range ports[CHAOS_MAX_PORT_RANGES];
	size_t port_count;
	bool dry_run;
};

/* Defaults: eth0, no delay, uniform jitter, 60 s, 10k pkt/s (1k per flow). */
void chaos_spec_init(struct chaos_delay_spec *spec);

/* The shared duration grammar (common/grammar.h: "500ms", "1.5s", "250us",
 * "1h30m"); a bare number is in default_unit_ns (1e6 for Litmus latencies
 * in ms, 1e9 for durations). -EINVAL, or -ERANGE when far too long. */
int chaos_parse_duration(const char *text, uint64_t default_unit_ns, uint64_t *out_ns);

/* "10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1" into the trie's key
 * (IPv4 as ::ffff:a.b.c.d with prefix + 96). Host bits are cleared. */
int chaos_parse_cidr(const char *text, struct chaos_cidr_key *key);

/* Comma-separated list of CIDRs appended to spec (Litmus DESTINATION_IPS). */
int chaos_spec_add_cidrs(struct chaos_delay_spec *spec, const char *list);

/* Comma-separated "80", "8000-8100" appended to spec (DESTINATION_PORTS). */
int chaos_spec_add_ports(struct chaos_delay_spec *spec, const char *list);

/* "uniform", "normal", "pareto"; -1 on anything else. */
int chaos_parse_dist(const char *text);
const char *chaos_dist_name(enum chaos_jitter_dist dist);

/* Applies one Litmus env variable (NETWORK_LATENCY, JITTER, DESTINATION_IPS,
 * DESTINATION_PORTS, TOTAL_CHAOS_DURATION, NETWORK_INTERFACE,
 * NETWORK_PACKET_LOSS_PERCENTAGE). Returns 0, -EINVAL for a bad value
 * (logged with the name), or 1 when the name is not one of them. */
int chaos_spec_apply_litmus_env(struct chaos_delay_spec *spec, const char *name, const char *value);

/* Formats a trie key back to "a.b.c.d/n" or "x::/n". */
void chaos_cidr_format(const struct chaos_cidr_key *key, char *buf, size_t len);

/* Writes the BPF config struct for this spec, ending at end_ns. */
void chaos_spec_to_config(const struct chaos_delay_spec *spec, uint64_t end_ns,
			  struct chaos_config *cfg);

#endif
