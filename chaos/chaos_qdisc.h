/* The root qdisc of a device over rtnetlink: whether the kernel has fq at
 * all, what is installed now, installing fq sized for an experiment and
 * putting the previous one back exactly. Hand-rolled rtnetlink over
 * AF_NETLINK (a few messages; libmnl's -dev package is not in the build
 * set), rather than `tc`, so the previous qdisc's options are saved and
 * replayed as the kernel's own bytes instead of re-parsed text. */
#ifndef SEISMO_CHAOS_QDISC_H
#define SEISMO_CHAOS_QDISC_H

#include <stddef.h>
#include <stdint.h>

#include "chaos_maps.h"

/* Handle of the fq qdisc seismo installs ("5e15:"), so a leftover one is
 * recognisable in `tc qdisc show`. */
#define CHAOS_FQ_HANDLE 0x5e150000u

struct chaos_fq_params {
	uint32_t limit;	     /* packets in the whole qdisc */
	uint32_t flow_limit; /* packets per flow */
	uint32_t horizon_us; /* departure times further out are capped */
};

/* The root qdisc as the kernel reports it. */
struct chaos_root_qdisc {
	char kind[32];
	uint32_t handle;
	int is_default;	       /* handle 0: attached by the kernel, not configured */
	uint16_t options_type; /* nla_type of TCA_OPTIONS, flags included */
	uint32_t options_len;
	uint8_t options[CHAOS_QDISC_OPTIONS_MAX];
	int has_children; /* configured qdiscs below the root */
};

/* 0 if the kernel can create an fq qdisc, tried in a throwaway network
 * namespace so nothing of the user's is touched. Otherwise a negative
 * errno and, in why, a sentence naming the missing module. */
int chaos_qdisc_probe_fq(char *why, size_t why_len);

/* fq's limits for a delay: packets in flight during the longest delay at
 * the given rates, with headroom (fq's defaults drop at ~1000 pkt/s per
 * flow with 100 ms delay). */
void chaos_fq_params_for(uint64_t max_delay_ns, uint32_t rate_pps, uint32_t flow_rate_pps,
			 struct chaos_fq_params *params);

int chaos_qdisc_get_root(int ifindex, struct chaos_root_qdisc *root);

/* Replaces the root qdisc with fq (handle CHAOS_FQ_HANDLE, no pacing of
 * its own: it only enforces departure times). */
int chaos_qdisc_install_fq(int ifindex, const struct chaos_fq_params *params);

/* Puts back what chaos_qdisc_get_root() saw before install: deletes seismo's
 * fq if the previous one was the kernel's default (which then comes back
 * by itself), else re-creates it from its saved kind, handle and options. */
int chaos_qdisc_restore(int ifindex, const struct chaos_state *state);

/* Copies a root qdisc into the state to restore later. */
void chaos_qdisc_save(const struct chaos_root_qdisc *root, struct chaos_state *state);

#endif
