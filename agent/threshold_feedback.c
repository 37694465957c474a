/* Sampling thresholds: detector baselines -> kernel threshold map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "log.h"
#include "threshold_feedback.h"

struct thresholds {
	struct threshold_feedback *f;
	struct hashmap *by_name; /* name hash -> double* seconds */
};

static void collect_threshold(const char *service, double seconds, void *user)
{
	struct thresholds *t = user;
	uint64_t key = hashmap_hash_bytes(service, strlen(service));
	double *v = malloc(sizeof(*v));

	if (!v)
		return;
	*v = seconds;
	free(hashmap_del(t->by_name, &key));
	if (hashmap_put(t->by_name, &key, v))
		free(v);
}

static void apply_threshold(void *ctx, const struct series *s)
{
	struct thresholds *t = ctx;
	const struct config *cfg = t->f->cfg;
	uint64_t key = hashmap_hash_bytes(s->id.name, strlen(s->id.name));
	double *seconds = hashmap_get(t->by_name, &key);
	struct seismo_threshold th = {
		.rate_per_sec = (uint32_t)cfg->sampling.rate_per_sec,
		.burst = (uint32_t)cfg->sampling.burst,
	};

	if (s->key.role != SEISMO_ROLE_SERVER || !seconds || !(*seconds > 0))
		return;
	double limit = *seconds > cfg->sampling.min_latency ? *seconds : cfg->sampling.min_latency;
	th.latency_ns = (uint64_t)(limit * 1e9);
	int err =
		collector_set_threshold(t->f->collector, s->key.cgroup_id, s->key.local_port, &th);
	if (err && !t->f->warned) {
		log_warn("cannot write a sampling threshold into the kernel (%s): services "
			 "without one are sampled only on errors",
			 strerror(-err));
		t->f->warned = true;
	}
}

void threshold_feedback_update(struct threshold_feedback *f, const struct detector *det,
			       struct registry *registry)
{
	struct thresholds t = { .f = f, .by_name = hashmap_new(sizeof(uint64_t)) };
	size_t pos = 0;
	const void *key;
	void *value;

	if (!t.by_name)
		return;
	detector_foreach_threshold(det, collect_threshold, &t);
	registry_foreach_series(registry, apply_threshold, &t);
	while (hashmap_next(t.by_name, &pos, &key, &value))
		free(value);
	hashmap_free(t.by_name);
}
