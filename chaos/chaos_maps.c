/* Loading the chaos_tc object, filling and pinning its maps. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/magic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "chaos_maps.h"
#include "chaos_tc.skel.h"
#include "log.h"

static const char *const pin_names[] = { "prog",       "chaos_config", "destinations", "flows",
					 "dist_table", "stats",	       "state" };
#define PIN_COUNT (sizeof(pin_names) / sizeof(pin_names[0]))

static int *maps_slot(struct chaos_maps *maps, size_t i)
{
	int *slots[PIN_COUNT] = { &maps->prog_fd,  &maps->config_fd, &maps->destinations_fd,
				  &maps->flows_fd, &maps->dist_fd,   &maps->stats_fd,
				  &maps->state_fd };
	return slots[i];
}

uint64_t chaos_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void chaos_maps_init(struct chaos_maps *maps)
{
	for (size_t i = 0; i < PIN_COUNT; i++)
		*maps_slot(maps, i) = -1;
}

void chaos_maps_close(struct chaos_maps *maps)
{
	for (size_t i = 0; i < PIN_COUNT; i++) {
		int *fd = maps_slot(maps, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

/* The state map belongs to user space alone, so it is created here rather
 * than in the BPF object. */
static int state_map_create(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "chaos_state", sizeof(uint32_t),
				sizeof(struct chaos_state), 1, NULL);

	if (fd < 0)
		log_error("chaos: creating the state map: %s", strerror(errno));
	return fd;
}

/* libbpf's messages (the verifier log among them) into seismo's log levels. */
static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG;

	if (ours > log_get_level())
		return 0;
	log_vmsg(ours, fmt, ap);
	return 0;
}

int chaos_maps_load(uint32_t l3_offset, struct chaos_tc_bpf **skel_out, struct chaos_maps *maps)
{
	struct chaos_tc_bpf *skel;
	int err;

	libbpf_set_print(libbpf_to_log);
	chaos_maps_init(maps);
	skel = chaos_tc_bpf__open();
	if (!skel) {
		err = -errno;
		log_error("chaos: opening the chaos_tc BPF object: %s", strerror(-err));
		return err;
	}
	skel->rodata->l3_offset = l3_offset;
	err = chaos_tc_bpf__load(skel);
	if (err) {
		log_error("chaos: loading chaos_tc (the verifier log is above): %s",
			  strerror(-err));
		goto fail;
	}
	maps->state_fd = state_map_create();
	if (maps->state_fd < 0) {
		err = -errno;
		goto fail;
	}
	/* own copies, so the maps outlive the skeleton if the caller wants */
	maps->prog_fd = dup(bpf_program__fd(skel->progs.chaos_egress));
	maps->config_fd = dup(bpf_map__fd(skel->maps.chaos_config));
	maps->destinations_fd = dup(bpf_map__fd(skel->maps.destinations));
	maps->flows_fd = dup(bpf_map__fd(skel->maps.flows));
	maps->dist_fd = dup(bpf_map__fd(skel->maps.dist_table));
	maps->stats_fd = dup(bpf_map__fd(skel->maps.stats));
	for (size_t i = 0; i < PIN_COUNT; i++) {
		if (*maps_slot(maps, i) < 0) {
			err = -errno;
			log_error("chaos: duplicating BPF descriptors: %s", strerror(errno));
			goto fail;
		}
	}
	*skel_out = skel;
	return 0;
fail:
	chaos_maps_close(maps);
	chaos_tc_bpf__destroy(skel);
	return err;
}

/* Inverse of the standard normal CDF by bisection on erfc: a few thousand
 * calls at start-up, exact to double precision, no approximation table. */
static double normal_quantile(double p)
{
	double lo = -10, hi = 10;

	for (int i = 0; i < 80; i++) {
		double mid = (lo + hi) / 2;

		if (0.5 * erfc(-mid / M_SQRT2) < p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

void chaos_dist_fill(enum chaos_jitter_dist dist, int32_t *table)
{
	for (int i = 0; i < CHAOS_DIST_TABLE_SIZE; i++) {
		double p = (i + 0.5) / CHAOS_DIST_TABLE_SIZE, value;

		switch (dist) {
		case CHAOS_DIST_NORMAL:
			value = normal_quantile(p);
			break;
		case CHAOS_DIST_PARETO:
			/* Pareto(x_m = 1, alpha = 3) minus 1 has mean 0.5: doubled,
			 * the extra delay averages one jitter, always >= 0 */
			value = 2 * (pow(1 - p, -1.0 / 3) - 1);
			break;
		default:
			value = 0;
		}
		table[i] = (int32_t)lround(value * CHAOS_DIST_SCALE);
	}
}

static int fill_dist(const struct chaos_maps *maps, enum chaos_jitter_dist dist)
{
	static int32_t table[CHAOS_DIST_TABLE_SIZE];

	chaos_dist_fill(dist, table);
	for (uint32_t i = 0; i < CHAOS_DIST_TABLE_SIZE; i++) {
		if (bpf_map_update_elem(maps->dist_fd, &i, &table[i], BPF_ANY)) {
			log_error("chaos: writing dist_table[%u]: %s", i, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

int chaos_maps_write_spec(const struct chaos_maps *maps, const struct chaos_delay_spec *spec,
			  uint64_t end_ns)
{
	struct chaos_config cfg;
	uint32_t one = 1;
	int err;

	for (size_t i = 0; i < spec->cidr_count; i++) {
		if (bpf_map_update_elem(maps->destinations_fd, &spec->cidrs[i], &one, BPF_ANY)) {
			char text[64];

			err = -errno;
			chaos_cidr_format(&spec->cidrs[i], text, sizeof(text));
			log_error("chaos: adding destination %s: %s", text, strerror(-err));
			return err;
		}
	}
	if (spec->dist != CHAOS_DIST_UNIFORM) {
		err = fill_dist(maps, spec->dist);
		if (err)
			return err;
	}
	chaos_spec_to_config(spec, end_ns, &cfg);
	return chaos_maps_write_config(maps, &cfg);
}

int chaos_maps_read_config(const struct chaos_maps *maps, struct chaos_config *cfg)
{
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(maps->config_fd, &zero, cfg)) {
		log_error("chaos: reading the config map: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int chaos_maps_write_config(const struct chaos_maps *maps, const struct chaos_config *cfg)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(maps->config_fd, &zero, cfg, BPF_ANY)) {
		log_error("chaos: writing the config map: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int chaos_maps_read_stats(const struct chaos_maps *maps, uint64_t *out)
{
	int cpus = libbpf_num_possible_cpus();
	uint64_t *values;

	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	values = calloc((size_t)cpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (uint32_t stat = 0; stat < CHAOS_STAT_COUNT; stat++) {
		out[stat] = 0;
		if (bpf_map_lookup_elem(maps->stats_fd, &stat, values)) {
			int err = -errno;

			log_error("chaos: reading stats[%u]: %s", stat, strerror(errno));
			free(values);
			return err;
		}
		for (int cpu = 0; cpu < cpus; cpu++)
			out[stat] += values[cpu];
	}
	free(values);
	return 0;
}

static int mkdir_if_missing(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST) {
		log_error("chaos: creating %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int chaos_pin_root_prepare(void)
{
	struct statfs fs;

	if (statfs("/sys/fs/bpf", &fs)) {
		log_error("chaos: /sys/fs/bpf: %s", strerror(errno));
		return -errno;
	}
	if (fs.f_type != BPF_FS_MAGIC && mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		log_error("chaos: mounting bpffs on /sys/fs/bpf: %s", strerror(errno));
		return -errno;
	}
	if (mkdir_if_missing("/sys/fs/bpf/seismo") || mkdir_if_missing(CHAOS_PIN_ROOT))
		return -errno;
	return 0;
}

static void pin_path(const char *name, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s", CHAOS_PIN_ROOT, name, pin_names[i]);
}

int chaos_maps_pin(const struct chaos_maps *maps, const char *name)
{
	char path[CHAOS_PATH_MAX + 64];
	int err;

	err = chaos_pin_root_prepare();
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s", CHAOS_PIN_ROOT, name);
	if (mkdir(path, 0700)) {
		err = -errno;
		if (err == -EEXIST)
			log_error("chaos: an experiment named '%s' is pinned already (%s); "
				  "'seismo chaos stop %s' ends it",
				  name, path, name);
		else
			log_error("chaos: creating %s: %s", path, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < PIN_COUNT; i++) {
		pin_path(name, i, path, sizeof(path));
		if (bpf_obj_pin(*maps_slot((struct chaos_maps *)maps, i), path)) {
			err = -errno;
			log_error("chaos: pinning %s: %s", path, strerror(-err));
			chaos_maps_unpin(name);
			return err;
		}
	}
	return 0;
}

int chaos_maps_open_pinned(const char *name, struct chaos_maps *maps)
{
	char path[CHAOS_PATH_MAX + 64];

	chaos_maps_init(maps);
	for (size_t i = 0; i < PIN_COUNT; i++) {
		int fd;

		pin_path(name, i, path, sizeof(path));
		fd = bpf_obj_get(path);
		if (fd < 0) {
			int err = -errno;

			if (err != -ENOENT)
				log_error("chaos: opening %s: %s", path, strerror(-err));
			chaos_maps_close(maps);
			return err;
		}
		*maps_slot(maps, i) = fd;
	}
	return 0;
}

int chaos_maps_unpin(const char *name)
{
	char path[CHAOS_PATH_MAX + 64];
	int err = 0;

	for (size_t i = 0; i < PIN_COUNT; i++) {
		pin_path(name, i, path, sizeof(path));
		if (unlink(path) && errno != ENOENT) {
			err = -errno;
			log_error("chaos: removing %s: %s", path, strerror(errno));
		}
	}
	snprintf(path, sizeof(path), "%s/%s", CHAOS_PIN_ROOT, name);
	if (rmdir(path) && errno != ENOENT) {
		err = -errno;
		log_error("chaos: removing %s: %s", path, strerror(errno));
	}
	return err;
}

int chaos_state_read(const struct chaos_maps *maps, struct chaos_state *state)
{
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(maps->state_fd, &zero, state)) {
		log_error("chaos: reading the state map: %s", strerror(errno));
		return -errno;
	}
	if (state->version != CHAOS_STATE_VERSION) {
		log_error("chaos: state map has version %u, this seismo writes %u", state->version,
			  CHAOS_STATE_VERSION);
		return -EPROTO;
	}
	return 0;
}

int chaos_state_write(const struct chaos_maps *maps, const struct chaos_state *state)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(maps->state_fd, &zero, state, BPF_ANY)) {
		log_error("chaos: writing the state map: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
