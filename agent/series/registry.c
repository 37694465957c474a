/* Long file: the series table, the interval summaries and their Prometheus
 * exposition all walk the same series and retired-series maps; splitting the
 * exposition out would need the registry's internals in a shared header.
 * The series stage: deltas from the collector become series (one per key)
 * and, at each interval's end, per-service summaries. */
#include "registry.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "hashmap.h"
#include "log.h"
#include "promtext.h"

struct registry {
	const struct config *cfg;
	registry_resolve_fn resolve;
	void *resolve_ctx;
	struct hashmap *series; /* hist key -> struct series */
	/* The interval being accumulated: summary key -> struct summary. */
	struct hashmap *open;
	struct summary *closed; /* the last closed interval's summaries */
	int n_closed;
	/* Totals of expired series, by label-set hash (struct merged): added to
	 * live series with the same labels so merged counters never go down;
	 * dropped once no live series has those labels. */
	struct hashmap *retired;
};

/* Summaries are keyed by role + service name + peer. */
struct summary_key {
	uint64_t hash;
	uint8_t role;
};

static const char *const method_names[SEISMO_METHOD_MAX] = {
	"", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
};

const char *registry_method_name(uint8_t method)
{
	return method < SEISMO_METHOD_MAX ? method_names[method] : "";
}

void registry_format_addr(const uint8_t addr[16], uint16_t port, char *out, size_t size)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char text[INET6_ADDRSTRLEN];

	if (!memcmp(addr, v4mapped, 12)) {
		inet_ntop(AF_INET, addr + 12, text, sizeof(text));
		snprintf(out, size, "%s:%u", text, port);
	} else {
		inet_ntop(AF_INET6, addr, text, sizeof(text));
		snprintf(out, size, "[%s]:%u", text, port);
	}
}

static bool is_loopback(const uint8_t addr[16])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t v6lo[16] = { [15] = 1 };

	return (!memcmp(addr, v4mapped, 12) && addr[12] == 127) || !memcmp(addr, v6lo, 16);
}

/* Series sharing a label set (two ports, two cgroups of one service) are
 * merged before printing: Prometheus forbids duplicate label sets. */
struct merged {
	char labels[1024];
	uint8_t role;
	uint64_t count, sum_ns;
	uint64_t *le;
};

static void series_labels(const struct series *s, char *out, size_t size);

static void free_merged_map(struct hashmap *m)
{
	size_t pos = 0;
	const void *key;
	void *value;

	if (!m)
		return;
	while (hashmap_next(m, &pos, &key, &value)) {
		free(((struct merged *)value)->le);
		free(value);
	}
	hashmap_free(m);
}

/* The merged entry for labels in m, made empty if new; NULL on ENOMEM. */
static struct merged *merged_get(struct hashmap *m, const char *labels, uint8_t role, int nb)
{
	uint64_t h = hashmap_hash_bytes(labels, strlen(labels));
	struct merged *e = hashmap_get(m, &h);

	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->le = calloc((size_t)nb, sizeof(*e->le))) || hashmap_put(m, &h, e)) {
		if (e)
			free(e->le);
		free(e);
		return NULL;
	}
	snprintf(e->labels, sizeof(e->labels), "%s", labels);
	e->role = role;
	return e;
}

static void merged_add(struct merged *m, uint64_t count, uint64_t sum_ns, const uint64_t *le,
		       int nb)
{
	m->count += count;
	m->sum_ns += sum_ns;
	for (int i = 0; i < nb; i++)
		m->le[i] += le[i];
}

struct registry *registry_new(const struct config *cfg, registry_resolve_fn resolve, void *ctx)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = cfg;
	r->resolve = resolve;
	r->resolve_ctx = ctx;
	r->series = hashmap_new(sizeof(struct seismo_hist_key));
	r->open = hashmap_new(sizeof(struct summary_key));
	r->retired = hashmap_new(sizeof(uint64_t));
	if (!r->series || !r->open || !r->retired) {
		registry_free(r);
		return NULL;
	}
	return r;
}

static void free_summaries(struct summary *s, int n)
{
	for (int i = 0; i < n; i++)
		free(s[i].fine);
	free(s);
}

void registry_free(struct registry *r)
{
	size_t pos = 0;
	const void *key;
	void *value;

	if (!r)
		return;
	if (r->series) {
		while (hashmap_next(r->series, &pos, &key, &value)) {
			free(((struct series *)value)->le);
			free(value);
		}
		hashmap_free(r->series);
	}
	if (r->open) {
		pos = 0;
		while (hashmap_next(r->open, &pos, &key, &value)) {
			free(((struct summary *)value)->fine);
			free(value);
		}
		hashmap_free(r->open);
	}
	free_summaries(r->closed, r->n_closed);
	free_merged_map(r->retired);
	free(r);
}

/* A callee on loopback is named after the service listening on its port in
 * the same network namespace. The series do not carry the namespace, so:
 * a caller in a pod matches only servers in its own pod (each pod has its
 * own loopback); a caller on the host matches any server (a host process,
 * or a hostNetwork pod, which shares the host's loopback). Runs once per
 * interval, over the series still unnamed. */
static void name_local_peers(struct registry *r)
{
	size_t pos = 0, pos2;
	const void *key;
	void *value, *value2;

	while (hashmap_next(r->series, &pos, &key, &value)) {
		struct series *c = value;
		if (c->key.role != SEISMO_ROLE_CLIENT || c->peer_service[0] ||
		    !is_loopback(c->key.remote_addr))
			continue;
		pos2 = 0;
		while (hashmap_next(r->series, &pos2, &key, &value2)) {
			const struct series *srv = value2;
			if (srv->key.role == SEISMO_ROLE_SERVER &&
			    srv->key.local_port == c->key.remote_port &&
			    (!c->id.pod_uid[0] || !strcmp(srv->id.pod_uid, c->id.pod_uid))) {
				snprintf(c->peer_service, sizeof(c->peer_service), "%s",
					 srv->id.name);
				break;
			}
		}
	}
}

static struct series *series_get(struct registry *r, const struct seismo_hist_key *key)
{
	struct series *s = hashmap_get(r->series, key);

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->le = calloc((size_t)r->cfg->n_buckets, sizeof(*s->le));
	if (!s->le || hashmap_put(r->series, key, s)) {
		free(s->le);
		free(s);
		return NULL;
	}
	s->key = *key;
	r->resolve(r->resolve_ctx, key, &s->id);
	if (key->role == SEISMO_ROLE_CLIENT)
		registry_format_addr(key->remote_addr, key->remote_port, s->peer, sizeof(s->peer));
	return s;
}

static struct summary *summary_get(struct registry *r, const struct series *s)
{
	char text[512];
	struct summary_key k;
	struct summary *sum;

	memset(&k, 0, sizeof(k)); /* padding is hashed too */
	k.role = s->key.role;
	snprintf(text, sizeof(text), "%s|%s", s->id.name, s->peer);
	k.hash = hashmap_hash_bytes(text, strlen(text));
	sum = hashmap_get(r->open, &k);
	if (sum)
		return sum;
	sum = calloc(1, sizeof(*sum));
	if (!sum)
		return NULL;
	sum->fine = calloc(SEISMO_HIST_BUCKETS, sizeof(*sum->fine));
	if (!sum->fine || hashmap_put(r->open, &k, sum)) {
		free(sum->fine);
		free(sum);
		return NULL;
	}
	snprintf(sum->service, sizeof(sum->service), "%s", s->id.name);
	snprintf(sum->peer, sizeof(sum->peer), "%s", s->peer);
	sum->id = &s->id;
	sum->origin = s;
	sum->role = s->key.role;
	sum->cgroup_id = s->key.cgroup_id;
	return sum;
}

void registry_add(struct registry *r, const struct seismo_hist_key *key,
		  const struct seismo_hist *delta, double now)
{
	struct series *s = series_get(r, key);
	struct summary *sum;
	const double *bounds = r->cfg->buckets;
	int nb = r->cfg->n_buckets;

	if (!s) {
		log_warn("out of memory: a histogram delta was dropped");
		return;
	}
	s->count += delta->count;
	s->sum_ns += delta->sum_ns;
	s->last_change = now;
	/* Coarse "le" buckets from the fine ones, by each fine bucket's midpoint. */
	for (uint32_t b = 0, i = 0; b < SEISMO_HIST_BUCKETS; b++) {
		if (!delta->buckets[b])
			continue;
		double mid = ((double)seismo_hist_lower_ns(b) +
			      (double)(b + 1 < SEISMO_HIST_BUCKETS ? seismo_hist_lower_ns(b + 1)
								   : seismo_hist_lower_ns(b))) /
			     2e9;
		while (i < (uint32_t)nb && bounds[i] < mid)
			i++;
		for (uint32_t j = i; j < (uint32_t)nb; j++)
			s->le[j] += delta->buckets[b];
	}
	sum = summary_get(r, s);
	if (!sum)
		return;
	sum->requests += delta->count;
	sum->sum_ns += delta->sum_ns;
	if (key->status >= 500 && key->status < 600)
		sum->errors += delta->count;
	for (uint32_t b = 0; b < SEISMO_HIST_BUCKETS; b++)
		sum->fine[b] += delta->buckets[b];
}

int registry_end_interval(struct registry *r, const struct summary **out)
{
	size_t pos = 0, n, i = 0;
	const void *key;
	void *value;
	struct summary *closed;

	/* A pod the kubelet did not list yet is asked about again. */
	while (hashmap_next(r->series, &pos, &key, &value)) {
		struct series *s = value;
		if (s->id.provisional)
			r->resolve(r->resolve_ctx, &s->key, &s->id);
	}
	name_local_peers(r);
	/* Every known series' service gets a summary, idle ones too: a service
	 * whose traffic stopped is news, not silence. */
	pos = 0;
	while (hashmap_next(r->series, &pos, &key, &value))
		summary_get(r, value);
	n = hashmap_size(r->open);
	closed = calloc(n ? n : 1, sizeof(*closed));
	if (!closed)
		return -1;
	pos = 0;
	while (hashmap_next(r->open, &pos, &key, &value)) {
		struct summary *s = value;
		snprintf(s->peer_service, sizeof(s->peer_service), "%s", s->origin->peer_service);
		s->p50 = histogram_quantile(s->fine, 0.50);
		s->p90 = histogram_quantile(s->fine, 0.90);
		s->p99 = histogram_quantile(s->fine, 0.99);
		free(s->fine);
		s->fine = NULL;
		closed[i++] = *s;
		free(s);
	}
	/* Start the next interval empty. */
	hashmap_free(r->open);
	r->open = hashmap_new(sizeof(struct summary_key));
	free_summaries(r->closed, r->n_closed);
	r->closed = closed;
	r->n_closed = (int)i;
	*out = closed;
	return (int)i;
}

void registry_expire(struct registry *r, double now, double ttl,
		     void (*forget)(void *ctx, const struct seismo_hist_key *key), void *ctx)
{
	struct seismo_hist_key *gone = NULL;
	size_t pos = 0, n = 0, cap = 0;
	const void *key;
	void *value;

	while (hashmap_next(r->series, &pos, &key, &value)) {
		const struct series *s = value;
		if (now - s->last_change <= ttl)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct seismo_hist_key *grown = realloc(gone, cap * sizeof(*gone));
			if (!grown)
				break;
			gone = grown;
		}
		gone[n++] = s->key;
	}
	for (size_t i = 0; i < n; i++) {
		struct series *s = hashmap_del(r->series, &gone[i]);
		forget(ctx, &gone[i]);
		if (!s)
			continue;
		char labels[1024];
		series_labels(s, labels, sizeof(labels));
		struct merged *m = merged_get(r->retired, labels, s->key.role, r->cfg->n_buckets);
		if (m)
			merged_add(m, s->count, s->sum_ns, s->le, r->cfg->n_buckets);
		free(s->le);
		free(s);
	}
	free(gone);
}

size_t registry_series_count(const struct registry *r)
{
	return hashmap_size(r->series);
}

void registry_foreach_series(struct registry *r, void (*fn)(void *ctx, const struct series *s),
			     void *ctx)
{
	size_t pos = 0;
	const void *key;
	void *value;

	while (hashmap_next(r->series, &pos, &key, &value))
		fn(ctx, value);
}

/* --- Prometheus exposition ------------------------------------------------------------- */

/* The label set of a series, as Prometheus text: service, namespace, pod,
 * app, team, method, status (+ peer, peer_service for client calls). */
static void series_labels(const struct series *s, char *out, size_t size)
{
	char esc[300];
	size_t o = 0;

#define ADD(name, value)                                                                      \
	do {                                                                                  \
		if ((value)[0] && o < size) {                                                 \
			prom_escape_label((value), esc, sizeof(esc));                         \
			o += (size_t)snprintf(out + o, size - o, "%s%s=\"%s\"", o ? "," : "", \
					      (name), esc);                                   \
		}                                                                             \
	} while (0)
	char status[8] = "";
	if (s->key.status)
		snprintf(status, sizeof(status), "%u", s->key.status);
	ADD("service", s->id.name);
	ADD("namespace", s->id.namespace_);
	ADD("pod", s->id.pod);
	ADD("container", s->id.container);
	ADD("app", s->id.app);
	ADD("team", s->id.team);
	for (int i = 0; i < s->id.n_extra; i++)
		ADD(s->id.extra[i].name, s->id.extra[i].value);
	ADD("method", registry_method_name(s->key.method));
	ADD("status", status);
	ADD("protocol", s->key.method || s->key.status ? "http" : "tcp");
	if (s->key.role == SEISMO_ROLE_CLIENT) {
		ADD("peer", s->peer);
		ADD("peer_service", s->peer_service);
	}
#undef ADD
	if (o >= size)
		out[size - 1] = 0;
}

static void write_family(struct registry *r, FILE *out, uint8_t role, const char *name,
			 const char *help_hist, const char *help_total)
{
	struct hashmap *byset = hashmap_new(sizeof(uint64_t));
	int nb = r->cfg->n_buckets;
	size_t pos = 0, n_gone = 0;
	const void *key;
	void *value;
	uint64_t *gone;

	if (!byset)
		return;
	while (hashmap_next(r->series, &pos, &key, &value)) {
		const struct series *s = value;
		char labels[1024];
		struct merged *m;

		if (s->key.role != role)
			continue;
		series_labels(s, labels, sizeof(labels));
		m = merged_get(byset, labels, role, nb);
		if (m)
			merged_add(m, s->count, s->sum_ns, s->le, nb);
	}
	/* Expired series still count where their label set lives on. */
	gone = calloc(hashmap_size(r->retired) + 1, sizeof(*gone));
	pos = 0;
	while (gone && hashmap_next(r->retired, &pos, &key, &value)) {
		const struct merged *old = value;
		struct merged *live = hashmap_get(byset, key);
		if (old->role != role)
			continue;
		if (live)
			merged_add(live, old->count, old->sum_ns, old->le, nb);
		else
			gone[n_gone++] = *(const uint64_t *)key;
	}
	for (size_t i = 0; i < n_gone; i++) {
		struct merged *old = hashmap_del(r->retired, &gone[i]);
		if (old) {
			free(old->le);
			free(old);
		}
	}
	free(gone);

	const char *total = role == SEISMO_ROLE_SERVER ? "http_requests_total"
						       : "http_client_requests_total";
	char family[96], bucket[112], sum[112], count[112], labels[1100];

	snprintf(family, sizeof(family), "%s_seconds", name);
	snprintf(bucket, sizeof(bucket), "%s_seconds_bucket", name);
	snprintf(sum, sizeof(sum), "%s_seconds_sum", name);
	snprintf(count, sizeof(count), "%s_seconds_count", name);
	prom_family(out, family, "histogram", help_hist);
	pos = 0;
	while (hashmap_next(byset, &pos, &key, &value)) {
		const struct merged *m = value;
		for (int i = 0; i < nb; i++) {
			snprintf(labels, sizeof(labels), "%s,le=\"%g\"", m->labels,
				 r->cfg->buckets[i]);
			prom_u64(out, bucket, labels, m->le[i]);
		}
		snprintf(labels, sizeof(labels), "%s,le=\"+Inf\"", m->labels);
		prom_u64(out, bucket, labels, m->count);
		prom_double(out, sum, m->labels, (double)m->sum_ns / 1e9, 9);
		prom_u64(out, count, m->labels, m->count);
	}
	prom_family(out, total, "counter", help_total);
	pos = 0;
	while (hashmap_next(byset, &pos, &key, &value)) {
		struct merged *m = value;
		prom_u64(out, total, m->labels, m->count);
		free(m->le);
		free(m);
	}
	hashmap_free(byset);
}

void registry_write_metrics(struct registry *r, FILE *out)
{
	write_family(r, out, SEISMO_ROLE_SERVER, "http_request_duration",
		     "Time a service took to answer: first request byte read to first response "
		     "byte written, measured in the kernel.",
		     "Requests (request/response turns) a service answered.");
	write_family(r, out, SEISMO_ROLE_CLIENT, "http_client_request_duration",
		     "Time a service waited on a call: first request byte sent to first "
		     "response byte received, by callee (peer).",
		     "Calls a service made, by callee (peer).");

	/* Full-resolution quantiles of the last interval, per service. */
	prom_family(
		out, "seismo_request_duration_quantile_seconds", "gauge",
		"Quantiles of the last interval from the kernel's full histogram (error <= 1.6%).");
	for (int i = 0; i < r->n_closed; i++) {
		const struct summary *s = &r->closed[i];
		char svc[300], peer[160], labels[600];
		const double qs[] = { s->p50, s->p90, s->p99 };
		const char *qn[] = { "0.5", "0.9", "0.99" };

		if (!s->requests)
			continue;
		prom_escape_label(s->service, svc, sizeof(svc));
		prom_escape_label(s->peer, peer, sizeof(peer));
		for (int q = 0; q < 3; q++) {
			snprintf(labels, sizeof(labels),
				 "service=\"%s\",role=\"%s\"%s%s%s,quantile=\"%s\"", svc,
				 s->role == SEISMO_ROLE_SERVER ? "server" : "client",
				 s->peer[0] ? ",peer=\"" : "", peer, s->peer[0] ? "\"" : "", qn[q]);
			prom_double(out, "seismo_request_duration_quantile_seconds", labels, qs[q],
				    9);
		}
	}
}
