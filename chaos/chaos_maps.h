/* The chaos_tc BPF object from user space: loading it, filling its maps
 * from a spec, pinning everything under /sys/fs/bpf/seismo/chaos/NAME so
 * another process (`stop`, `list`) can find an experiment, and the state
 * map that remembers what to restore. */
#ifndef SEISMO_CHAOS_MAPS_H
#define SEISMO_CHAOS_MAPS_H

#include <stdint.h>

#include "chaos_spec.h"

#define CHAOS_PIN_ROOT "/sys/fs/bpf/seismo/chaos"
#define CHAOS_QDISC_OPTIONS_MAX 2048

struct chaos_tc_bpf;

/* File descriptors of an experiment's maps and program, whether freshly
 * loaded or opened from their pins. -1 where absent. */
struct chaos_maps {
	int prog_fd;
	int config_fd;
	int destinations_fd;
	int flows_fd;
	int dist_fd;
	int stats_fd;
	int state_fd;
};

/* What an experiment changed, so any process can undo it. Lives in the
 * pinned `state` array map (user space only; the program never reads it). */
struct chaos_state {
	uint32_t version;
	int32_t pid;		   /* the process running it (may be gone) */
	uint64_t start_ns;	   /* CLOCK_MONOTONIC */
	uint64_t start_realtime_s; /* for humans */
	char ifname[32];
	int32_t ifindex;
	uint32_t netns_kind; /* enum chaos_netns_kind */
	uint64_t netns_dev;  /* st_dev/st_ino of the namespace at start */
	uint64_t netns_ino;
	char netns_path[CHAOS_PATH_MAX];
	uint32_t clsact_created; /* we created the clsact hook: destroy it */
	uint32_t tc_handle;	 /* our filter on clsact egress */
	uint32_t tc_priority;
	uint32_t fq_installed; /* we replaced the root qdisc with fq */
	/* the root qdisc found before: kind, handle, raw TCA_OPTIONS */
	char prev_kind[32];
	uint32_t prev_handle;
	uint32_t prev_is_default;   /* auto-attached by the kernel (handle 0) */
	uint16_t prev_options_type; /* nla_type of TCA_OPTIONS, flags included */
	uint16_t prev_pad;
	uint32_t prev_options_len;
	uint8_t prev_options[CHAOS_QDISC_OPTIONS_MAX];
};

#define CHAOS_STATE_VERSION 1

void chaos_maps_init(struct chaos_maps *maps);
void chaos_maps_close(struct chaos_maps *maps);

/* Opens and loads the object; l3_offset is 14 on Ethernet devices, 0 on
 * devices without a link-layer header. Logs the verifier's complaint. */
int chaos_maps_load(uint32_t l3_offset, struct chaos_tc_bpf **skel, struct chaos_maps *maps);

/* Fills destinations, the distribution table and finally the config (which
 * arms the program), so a packet never sees a half-written experiment. */
int chaos_maps_write_spec(const struct chaos_maps *maps, const struct chaos_delay_spec *spec,
			  uint64_t end_ns);

/* Reads or replaces the single config entry. */
int chaos_maps_read_config(const struct chaos_maps *maps, struct chaos_config *cfg);
int chaos_maps_write_config(const struct chaos_maps *maps, const struct chaos_config *cfg);

/* Sums the per-CPU counters into out[CHAOS_STAT_COUNT]. */
int chaos_maps_read_stats(const struct chaos_maps *maps, uint64_t *out);

/* Fills a distribution table (CHAOS_DIST_TABLE_SIZE entries). Exposed for
 * the tests. Uniform needs no table and leaves it zero. */
void chaos_dist_fill(enum chaos_jitter_dist dist, int32_t *table);

/* Mounts bpffs on /sys/fs/bpf if nothing is there, creates the pin root. */
int chaos_pin_root_prepare(void);
/* Pins program and maps into CHAOS_PIN_ROOT/name (must not exist yet). */
int chaos_maps_pin(const struct chaos_maps *maps, const char *name);
/* Opens the pins of experiment `name`; -ENOENT when there is none. */
int chaos_maps_open_pinned(const char *name, struct chaos_maps *maps);
/* Removes the pins and the directory; missing pins are not an error. */
int chaos_maps_unpin(const char *name);

int chaos_state_read(const struct chaos_maps *maps, struct chaos_state *state);
int chaos_state_write(const struct chaos_maps *maps, const struct chaos_state *state);

/* CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns(). */
uint64_t chaos_now_ns(void);

#endif
