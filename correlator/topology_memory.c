/*
 * What the topology holds in memory: label sets shared by the anomalies
 * that carry them, and forgetting incidents the retention drops.
 */
#include "topology_int.h"

#include <stdio.h>
#include <string.h>

struct label_set *topo_intern_labels(struct corr_topology *t, struct corr_labels *ls)
{
	char key[17];
	int i;

	snprintf(key, sizeof(key), "%016llx", (unsigned long long)corr_labels_fingerprint(ls));
	i = corr_strmap_get(&t->lset_index, key);
	if (i >= 0 && corr_labels_equal(&t->lsets[i]->ls, ls)) {
		t->lsets[i]->refs++;
		corr_labels_free(ls);
		return t->lsets[i];
	}
	struct label_set *set = calloc(1, sizeof(*set));
	if (!set)
		return NULL;
	if (t->free_lsets.n) {
		set->slot = t->free_lsets.v[--t->free_lsets.n];
	} else {
		struct label_set **g = realloc(t->lsets, (t->n_lsets + 1) * sizeof(*g));
		if (!g) {
			free(set);
			return NULL;
		}
		t->lsets = g;
		set->slot = (int)t->n_lsets++;
	}
	/* A fingerprint collision (never seen) just keeps its own copy, unindexed. */
	if (i < 0) {
		if (corr_strmap_put(&t->lset_index, key, set->slot)) {
			intvec_push(&t->free_lsets, set->slot); /* room exists: it was popped */
			free(set);
			return NULL;
		}
		memcpy(set->key, key, sizeof(key));
	}
	set->ls = *ls;
	memset(ls, 0, sizeof(*ls));
	set->refs = 1;
	t->lsets[set->slot] = set;
	return set;
}

void topo_release_labels(struct corr_topology *t, struct label_set *set)
{
	if (!set || --set->refs)
		return;
	if (set->key[0])
		corr_strmap_del(&t->lset_index, set->key);
	t->lsets[set->slot] = NULL;
	intvec_push(&t->free_lsets, set->slot); /* on failure the slot is lost, not memory */
	corr_labels_free(&set->ls);
	free(set);
}

static void intvec_remove(struct intvec *iv, int x)
{
	for (size_t i = 0; i < iv->n; i++)
		if (iv->v[i] == x) {
			iv->v[i] = iv->v[--iv->n];
			return;
		}
}

/* Frees what an anomaly holds and puts its slot up for reuse. */
static void forget_anomaly(struct corr_topology *t, int ai)
{
	struct anomaly *a = &t->an[ai];

	intvec_remove(&t->svc[a->service].anoms, ai);
	corr_strmap_del(&t->an_index, a->id);
	free(a->id);
	free(a->node);
	topo_release_labels(t, a->labels);
	free(a->dep_services.v);
	memset(a, 0, sizeof(*a));
	a->incident = -1;
	if (intvec_push(&t->free_an, ai))
		return; /* the slot is lost, not the memory it held */
}

/*
 * Slots below first_live are all forgotten, or merged into one that is
 * (a merge always goes into the older, lower slot): nothing refers to
 * them any more, so they leave the array. Done when they are at least
 * half of it, so each slot is moved a bounded number of times.
 */
static void drop_dead_slots(struct corr_topology *t)
{
	size_t dead = t->first_live - t->inc_base, held = t->n_inc - t->inc_base;

	if (dead < 64 || dead * 2 < held)
		return;
	for (size_t i = 0; i < dead; i++) {
		free(t->inc[i].anoms.v); /* a merged slot's, emptied */
		free(t->inc[i].causes);
	}
	memmove(t->inc, t->inc + dead, (held - dead) * sizeof(*t->inc));
	t->inc_base = t->first_live;
	if (held == dead) {
		free(t->inc);
		t->inc = NULL;
		return;
	}
	struct incident *g = realloc(t->inc, (held - dead) * sizeof(*g));
	if (g) /* else it stays larger than needed: no harm */
		t->inc = g;
}

size_t corr_topology_forget(struct corr_topology *t, int64_t before_ms, int *gone, size_t max)
{
	size_t n = 0;
	bool all_gone = true;

	for (size_t i = t->first_live; i < t->n_inc && n < max; i++) {
		struct incident *inc = incident_at(t, (int)i);
		struct corr_incident_view v;
		if (inc->forgotten || inc->merged_into >= 0)
			continue;
		if (corr_topology_view(t, (int)i, &v) || !v.resolved || v.end_ms >= before_ms) {
			all_gone = false;
			continue;
		}
		for (size_t k = 0; k < inc->anoms.n; k++)
			forget_anomaly(t, inc->anoms.v[k]);
		free(inc->anoms.v);
		free(inc->causes);
		memset(&inc->anoms, 0, sizeof(inc->anoms));
		inc->causes = NULL;
		inc->n_causes = 0;
		inc->forgotten = true;
		gone[n++] = (int)i;
		if (all_gone)
			t->first_live = i + 1;
	}
	drop_dead_slots(t);
	return n;
}

int corr_topology_each_firing_of_node(const struct corr_topology *t, const char *node,
				      corr_topology_anomaly_cb cb, void *arg)
{
	for (size_t i = 0; i < t->n_an; i++) {
		const struct anomaly *a = &t->an[i];
		if (!a->id || a->end_ms || strcmp(a->node, node))
			continue;
		int rc = cb(a->id, t->svc[a->service].name, a->start_ms, &a->labels->ls, arg);
		if (rc)
			return rc;
	}
	return 0;
}
