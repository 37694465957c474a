/* Parsing of a network chaos experiment: durations, CIDRs, port ranges,
 * distributions and Litmus's env names, into struct chaos_delay_spec. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chaos_spec.h"
#include "grammar.h"
#include "log.h"

void chaos_spec_init(struct chaos_delay_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	snprintf(spec->ifname, sizeof(spec->ifname), "eth0");
	spec->dist = CHAOS_DIST_UNIFORM;
	spec->duration_ns = 60ULL * 1000000000ULL;
	spec->rate_pps = 10000;
	spec->flow_rate_pps = 1000;
}

int chaos_parse_duration(const char *text, uint64_t default_unit_ns, uint64_t *out_ns)
{
	int64_t ns;
	int rc = grammar_duration(text, (int64_t)default_unit_ns, &ns);

	if (rc)
		return rc == GRAMMAR_RANGE ? -ERANGE : -EINVAL;
	*out_ns = (uint64_t)ns;
	return 0;
}

static void cidr_clear_host_bits(struct chaos_cidr_key *key)
{
	for (unsigned bit = key->prefixlen; bit < 128; bit++)
		key->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
}

int chaos_parse_cidr(const char *text, struct chaos_cidr_key *key)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t addr_len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;
	int v4;
	char *end;

	if (addr_len == 0 || addr_len >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, addr_len);
	addr[addr_len] = '\0';
	memset(key, 0, sizeof(*key));
	v4 = !strchr(addr, ':');
	if (v4) {
		key->addr[10] = key->addr[11] = 0xff;
		if (inet_pton(AF_INET, addr, &key->addr[12]) != 1)
			return -EINVAL;
	} else if (inet_pton(AF_INET6, addr, key->addr) != 1) {
		return -EINVAL;
	}
	prefix = v4 ? 32 : 128;
	if (slash) {
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || prefix > (v4 ? 32u : 128u))
			return -EINVAL;
	}
	key->prefixlen = (uint32_t)(v4 ? prefix + 96 : prefix);
	cidr_clear_host_bits(key);
	return 0;
}

void chaos_cidr_format(const struct chaos_cidr_key *key, char *buf, size_t len)
{
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
	char addr[INET6_ADDRSTRLEN];

	if (key->prefixlen >= 96 && !memcmp(key->addr, v4_mapped, 12)) {
		inet_ntop(AF_INET, &key->addr[12], addr, sizeof(addr));
		snprintf(buf, len, "%s/%u", addr, key->prefixlen - 96);
	} else {
		inet_ntop(AF_INET6, key->addr, addr, sizeof(addr));
		snprintf(buf, len, "%s/%u", addr, key->prefixlen);
	}
}

/* Calls add(item) for each comma-separated, space-trimmed item of list. */
static int for_each_item(const char *list, struct chaos_delay_spec *spec,
			 int (*add)(struct chaos_delay_spec *, const char *))
{
	char *copy = strdup(list), *save = NULL, *item;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item && !err; item = strtok_r(NULL, ",", &save)) {
		char *end;

		while (*item == ' ' || *item == '\t')
			item++;
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item)
			err = add(spec, item);
	}
	free(copy);
	return err;
}

static int add_cidr(struct chaos_delay_spec *spec, const char *item)
{
	if (spec->cidr_count >= CHAOS_MAX_CIDRS) {
		log_error("chaos: more than %d destination CIDRs", CHAOS_MAX_CIDRS);
		return -E2BIG;
	}
	if (chaos_parse_cidr(item, &spec->cidrs[spec->cidr_count])) {
		log_error("chaos: '%s' is not an IPv4/IPv6 address or CIDR", item);
		return -EINVAL;
	}
	spec->cidr_count++;
	return 0;
}

int chaos_spec_add_cidrs(struct chaos_delay_spec *spec, const char *list)
{
	return for_each_item(list, spec, add_cidr);
}

static int parse_port(const char *text, uint16_t *port)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || *end || value > 65535)
		return -EINVAL;
	*port = (uint16_t)value;
	return 0;
}

static int add_port_range(struct chaos_delay_spec *spec, const char *item)
{
	struct chaos_port_range range;
	char first[16];
	const char *dash = strchr(item, '-');
	size_t first_len = dash ? (size_t)(dash - item) : strlen(item);

	if (spec->port_count >= CHAOS_MAX_PORT_RANGES) {
		log_error("chaos: more than %d port ranges", CHAOS_MAX_PORT_RANGES);
		return -E2BIG;
	}
	if (first_len == 0 || first_len >= sizeof(first))
		goto bad;
	memcpy(first, item, first_len);
	first[first_len] = '\0';
	if (parse_port(first, &range.first))
		goto bad;
	range.last = range.first;
	if (dash && parse_port(dash + 1, &range.last))
		goto bad;
	if (range.last < range.first)
		goto bad;
	spec->ports[spec->port_count++] = range;
	return 0;
bad:
	log_error("chaos: '%s' is not a port or port range (e.g. 80 or 8000-8100)", item);
	return -EINVAL;
}

int chaos_spec_add_ports(struct chaos_delay_spec *spec, const char *list)
{
	return for_each_item(list, spec, add_port_range);
}

int chaos_parse_dist(const char *text)
{
	if (!strcasecmp(text, "uniform"))
		return CHAOS_DIST_UNIFORM;
	if (!strcasecmp(text, "normal"))
		return CHAOS_DIST_NORMAL;
	if (!strcasecmp(text, "pareto"))
		return CHAOS_DIST_PARETO;
	return -1;
}

const char *chaos_dist_name(enum chaos_jitter_dist dist)
{
	switch (dist) {
	case CHAOS_DIST_NORMAL:
		return "normal";
	case CHAOS_DIST_PARETO:
		return "pareto";
	default:
		return "uniform";
	}
}

static int litmus_duration(const char *name, const char *value, uint64_t unit, uint64_t *out)
{
	if (chaos_parse_duration(value, unit, out)) {
		log_error("chaos: %s='%s' is not a duration", name, value);
		return -EINVAL;
	}
	return 0;
}

int chaos_spec_apply_litmus_env(struct chaos_delay_spec *spec, const char *name, const char *value)
{
	if (!strcmp(name, "NETWORK_LATENCY")) /* Litmus: milliseconds */
		return litmus_duration(name, value, 1000000ULL, &spec->latency_ns);
	if (!strcmp(name, "JITTER")) /* milliseconds */
		return litmus_duration(name, value, 1000000ULL, &spec->jitter_ns);
	if (!strcmp(name, "TOTAL_CHAOS_DURATION")) /* seconds */
		return litmus_duration(name, value, 1000000000ULL, &spec->duration_ns);
	if (!strcmp(name, "DESTINATION_IPS"))
		return chaos_spec_add_cidrs(spec, value);
	if (!strcmp(name, "DESTINATION_PORTS"))
		return chaos_spec_add_ports(spec, value);
	if (!strcmp(name, "NETWORK_INTERFACE")) {
		if (!*value || strlen(value) >= sizeof(spec->ifname)) {
			log_error("chaos: NETWORK_INTERFACE='%s' is not a device name", value);
			return -EINVAL;
		}
		snprintf(spec->ifname, sizeof(spec->ifname), "%s", value);
		return 0;
	}
	if (!strcmp(name, "NETWORK_PACKET_LOSS_PERCENTAGE")) {
		char *end;
		double loss;

		errno = 0;
		loss = strtod(value, &end);
		if (errno || end == value || *end || loss < 0 || loss > 100) {
			log_error("chaos: %s='%s' is not a percentage", name, value);
			return -EINVAL;
		}
		spec->loss_percent = loss;
		return 0;
	}
	return 1;
}

void chaos_spec_to_config(const struct chaos_delay_spec *spec, uint64_t end_ns,
			  struct chaos_config *cfg)
{
	double loss = spec->loss_percent / 100.0 * CHAOS_LOSS_SCALE;

	memset(cfg, 0, sizeof(*cfg));
	cfg->end_ns = end_ns;
	cfg->latency_ns = spec->latency_ns;
	cfg->jitter_ns = spec->jitter_ns;
	cfg->loss = loss >= CHAOS_LOSS_SCALE - 1 ? UINT32_MAX : (uint32_t)loss;
	cfg->dist = spec->dist;
	cfg->flags = CHAOS_F_ARMED | (spec->cidr_count ? 0 : CHAOS_F_ALL_DESTINATIONS);
	cfg->port_range_count = (uint32_t)spec->port_count;
	for (size_t i = 0; i < spec->port_count; i++)
		cfg->port_ranges[i] = spec->ports[i];
}
