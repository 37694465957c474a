/* Killing a share of a cgroup's processes on a schedule. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "chaos_kill.h"
#include "chaos_target.h"
#include "grammar.h"
#include "log.h"

void chaos_kill_spec_init(struct chaos_kill_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	snprintf(spec->name, sizeof(spec->name), "kill");
	spec->percent = 50;
	spec->interval_ns = 10ULL * 1000000000ULL;
	spec->duration_ns = 60ULL * 1000000000ULL;
}

int chaos_kill_apply_litmus_env(struct chaos_kill_spec *spec, const char *name, const char *value)
{
	uint64_t *duration = NULL;

	if (!strcmp(name, "TOTAL_CHAOS_DURATION"))
		duration = &spec->duration_ns;
	else if (!strcmp(name, "CHAOS_INTERVAL"))
		duration = &spec->interval_ns;
	if (duration) {
		if (chaos_parse_duration(value, 1000000000ULL, duration) || !*duration) {
			log_error("chaos: %s='%s' is not a duration in seconds", name, value);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(name, "FORCE")) {
		if (grammar_bool(value, &spec->force)) {
			log_error("chaos: FORCE='%s' is not true or false", value);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(name, "PODS_AFFECTED_PERC")) {
		char *end;
		double percent = strtod(value, &end);

		if (end == value || *end || percent < 0 || percent > 100) {
			log_error("chaos: PODS_AFFECTED_PERC='%s' is not a percentage", value);
			return -EINVAL;
		}
		/* Litmus treats 0 as "one pod" */
		spec->percent = percent;
		return 0;
	}
	return 1;
}

size_t chaos_kill_victim_count(size_t count, double percent)
{
	size_t want;

	if (!count)
		return 0;
	want = (size_t)ceil((double)count * percent / 100.0 - 1e-9);
	if (want == 0)
		want = 1;
	return want > count ? count : want;
}

void chaos_kill_choose(pid_t *pids, size_t count, size_t want, unsigned *seed)
{
	for (size_t i = 0; i < want && i < count; i++) {
		size_t j = i + (size_t)rand_r(seed) % (count - i);
		pid_t tmp = pids[i];

		pids[i] = pids[j];
		pids[j] = tmp;
	}
}

/* The cgroup directory seismo itself runs in, to refuse killing itself. */
static int own_cgroup(char *buf, size_t len)
{
	char root[CHAOS_PATH_MAX], line[CHAOS_PATH_MAX];
	FILE *file = fopen("/proc/self/cgroup", "r");
	int err = -ENOENT;

	if (!file)
		return -errno;
	if (chaos_cgroup2_root(root, sizeof(root))) {
		fclose(file);
		return -ENOENT;
	}
	while (fgets(line, sizeof(line), file)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s%s", root, line + 3);
			err = 0;
		}
	}
	fclose(file);
	return err;
}

int chaos_kill_validate(const struct chaos_kill_spec *spec, double max_duration_s)
{
	char dir[CHAOS_PATH_MAX], root[CHAOS_PATH_MAX], mine[CHAOS_PATH_MAX * 2];

	if (!spec->target[0]) {
		log_error("chaos: kill needs a target: --cgroup PATH or --service NAME.service");
		return -EINVAL;
	}
	if (spec->percent <= 0 || spec->percent > 100) {
		log_error("chaos: kill percentage %.3g must be in (0, 100]", spec->percent);
		return -EINVAL;
	}
	if (!spec->interval_ns || !spec->duration_ns || spec->duration_ns / 1e9 > max_duration_s) {
		log_error("chaos: kill interval %.1f s and duration %.1f s must be above 0, the "
			  "duration at most this node's max_duration %.0f s",
			  spec->interval_ns / 1e9, spec->duration_ns / 1e9, max_duration_s);
		return -ERANGE;
	}
	if (chaos_cgroup_resolve(spec->target, dir, sizeof(dir)) ||
	    chaos_cgroup2_root(root, sizeof(root)))
		return -ENOENT;
	if (!strcmp(dir, root) || !strcmp(dir, "/")) {
		log_error("chaos: refusing to kill processes of the root cgroup %s", dir);
		return -EPERM;
	}
	if (!own_cgroup(mine, sizeof(mine)) && !strncmp(mine, dir, strlen(dir)) &&
	    (mine[strlen(dir)] == '\0' || mine[strlen(dir)] == '/')) {
		log_error("chaos: refusing to kill cgroup %s: seismo itself runs in it", dir);
		return -EPERM;
	}
	return 0;
}

static int process_name(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *file;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	file = fopen(path, "r");
	if (!file || !fgets(buf, (int)len, file)) {
		if (file)
			fclose(file);
		snprintf(buf, len, "?");
		return -1;
	}
	fclose(file);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int chaos_kill_tick(struct chaos_kill_spec *spec, unsigned *seed, FILE *out)
{
	int sig = spec->force ? SIGKILL : SIGTERM, killed = 0, err;
	char dir[CHAOS_PATH_MAX], comm[64];
	pid_t *pids, self = getpid();
	size_t count, want, kept = 0;

	err = chaos_cgroup_resolve(spec->target, dir, sizeof(dir));
	if (err)
		return err;
	err = chaos_cgroup_pids(dir, &pids, &count);
	if (err)
		return err;
	/* never ourselves nor init, whatever the cgroup says */
	for (size_t i = 0; i < count; i++)
		if (pids[i] != self && pids[i] > 1)
			pids[kept++] = pids[i];
	want = chaos_kill_victim_count(kept, spec->percent);
	chaos_kill_choose(pids, kept, want, seed);
	spec->ticks++;
	for (size_t i = 0; i < want; i++) {
		process_name(pids[i], comm, sizeof(comm));
		if (spec->dry_run) {
			fprintf(out, "would send %s to %d (%s) in %s\n", strsignal(sig),
				(int)pids[i], comm, dir);
			continue;
		}
		if (kill(pids[i], sig)) {
			if (errno != ESRCH)
				log_warn("chaos: kill %d (%s): %s", (int)pids[i], comm,
					 strerror(errno));
			continue;
		}
		killed++;
		fprintf(out, "sent %s to %d (%s), %zu of %zu processes in %s\n",
			spec->force ? "SIGKILL" : "SIGTERM", (int)pids[i], comm, i + 1, kept, dir);
	}
	fflush(out);
	spec->killed += (unsigned)killed;
	free(pids);
	return killed;
}
