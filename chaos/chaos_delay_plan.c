/* Network delay experiments before anything is touched: validation against
 * the node's limits, and the plan a dry run prints. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chaos_delay.h"
#include "chaos_qdisc.h"
#include "chaos_target.h"
#include "chaos_tc.skel.h"
#include "log.h"

#define NS_PER_S 1000000000ULL

/* The largest jitter multiple a table (or uniform) can produce, so limits
 * apply to the worst delay rather than the average one. */
double chaos_delay_jitter_max_units(enum chaos_jitter_dist dist)
{
	static int32_t table[CHAOS_DIST_TABLE_SIZE];
	int32_t max = 0;

	if (dist == CHAOS_DIST_UNIFORM)
		return 1;
	chaos_dist_fill(dist, table);
	for (int i = 0; i < CHAOS_DIST_TABLE_SIZE; i++)
		if (abs(table[i]) > max)
			max = abs(table[i]);
	return (double)max / CHAOS_DIST_SCALE;
}

uint64_t chaos_delay_worst_ns(const struct chaos_delay_spec *spec)
{
	return spec->latency_ns +
	       (uint64_t)((double)spec->jitter_ns * chaos_delay_jitter_max_units(spec->dist));
}

int chaos_delay_name_is_valid(const char *name)
{
	if (!*name || name[0] == '.')
		return 0;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return 0;
	return 1;
}

int chaos_delay_validate(const struct chaos_delay_spec *spec, const struct chaos_limits *limits)
{
	uint64_t worst = chaos_delay_worst_ns(spec);

	if (!limits->enabled) {
		log_error("chaos: disabled on this node (chaos.enabled: false in %s)",
			  limits->source);
		return -EPERM;
	}
	if (!chaos_delay_name_is_valid(spec->name)) {
		log_error(
			"chaos: experiment name '%s' may only hold letters, digits, '-', '_', '.'",
			spec->name);
		return -EINVAL;
	}
	if (spec->latency_ns == 0 && spec->jitter_ns == 0 && spec->loss_percent == 0) {
		log_error("chaos: nothing to inject: give --latency, --jitter or --loss");
		return -EINVAL;
	}
	if (spec->loss_percent < 0 || spec->loss_percent > 100) {
		log_error("chaos: loss %.3g%% is not a percentage", spec->loss_percent);
		return -EINVAL;
	}
	if (worst > limits->max_latency_ns) {
		log_error("chaos: latency %.3f ms + jitter (%s, up to %.3f ms) exceeds this node's "
			  "max_latency %.3f ms (%s)",
			  spec->latency_ns / 1e6, chaos_dist_name(spec->dist),
			  (double)(worst - spec->latency_ns) / 1e6, limits->max_latency_ns / 1e6,
			  limits->source);
		return -ERANGE;
	}
	if (spec->duration_ns == 0 || spec->duration_ns > limits->max_duration_ns) {
		log_error("chaos: duration %.1f s must be above 0 and at most this node's "
			  "max_duration %.1f s (%s)",
			  spec->duration_ns / 1e9, limits->max_duration_ns / 1e9, limits->source);
		return -ERANGE;
	}
	if (spec->dist == CHAOS_DIST_UNIFORM && spec->jitter_ns > spec->latency_ns)
		log_warn("chaos: jitter above latency: delays below zero are sent at once");
	return 0;
}

static const char *netns_kind_name(enum chaos_netns_kind kind)
{
	static const char *const names[] = { "current", "path", "pid", "cgroup" };

	return names[kind];
}

void chaos_delay_print_plan(const struct chaos_delay_spec *spec, FILE *out)
{
	struct chaos_fq_params fq;
	char cidr[64];

	chaos_fq_params_for(chaos_delay_worst_ns(spec), spec->rate_pps, spec->flow_rate_pps, &fq);
	fprintf(out, "plan for experiment '%s' (dry run: nothing is changed)\n", spec->name);
	fprintf(out, "  device        %s in network namespace %s%s%s\n", spec->ifname,
		netns_kind_name(spec->netns_kind), spec->netns_arg[0] ? " " : "", spec->netns_arg);
	fprintf(out, "  destinations  ");
	if (!spec->cidr_count)
		fprintf(out, "all");
	for (size_t i = 0; i < spec->cidr_count; i++) {
		chaos_cidr_format(&spec->cidrs[i], cidr, sizeof(cidr));
		fprintf(out, "%s%s", i ? ", " : "", cidr);
	}
	fprintf(out, "\n  ports         ");
	if (!spec->port_count)
		fprintf(out, "all");
	for (size_t i = 0; i < spec->port_count; i++) {
		if (spec->ports[i].first == spec->ports[i].last)
			fprintf(out, "%s%u", i ? ", " : "", spec->ports[i].first);
		else
			fprintf(out, "%s%u-%u", i ? ", " : "", spec->ports[i].first,
				spec->ports[i].last);
	}
	fprintf(out, "\n  latency       %.3f ms, jitter %.3f ms (%s)\n", spec->latency_ns / 1e6,
		spec->jitter_ns / 1e6, chaos_dist_name(spec->dist));
	fprintf(out, "  loss          %.3f %%\n", spec->loss_percent);
	fprintf(out, "  duration      %.1f s (ends in the kernel even if seismo dies)\n",
		spec->duration_ns / 1e9);
	fprintf(out, "steps:\n");
	fprintf(out, "  1. check that the kernel has the fq qdisc (in a scratch namespace)\n");
	fprintf(out, "  2. save the root qdisc of %s to restore it afterwards\n", spec->ifname);
	fprintf(out, "  3. load chaos_tc and pin it under %s/%s\n", CHAOS_PIN_ROOT, spec->name);
	fprintf(out,
		"  4. replace the root qdisc with fq handle %x: limit %u flow_limit %u "
		"horizon %u us (sized for %u pkt/s, %u per flow), no pacing\n",
		CHAOS_FQ_HANDLE >> 16, fq.limit, fq.flow_limit, fq.horizon_us, spec->rate_pps,
		spec->flow_rate_pps);
	fprintf(out, "  5. attach chaos_tc to clsact egress of %s\n", spec->ifname);
	fprintf(out,
		"  6. at the end, on SIGINT/SIGTERM or 'seismo chaos stop %s': detach, "
		"restore the saved qdisc, unpin\n",
		spec->name);
}
