/* Long file: the spool on disk and the sender share the batch list, the
 * backoff and the statistics; sections: spool, send, API.
 * The agent's event shipper (shipper.h). */
#include "shipper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "fileio.h"
#include "log.h"
#include "promtext.h"
#include "timefmt.h"

/* One batch file in the spool: NNNNNNNNNNNNNNNN-EVENTS.json.gz */
struct spooled {
	uint64_t seq;
	unsigned events;
	uint64_t bytes;
};

struct edge {
	char *caller;
	char *callee;
	char *endpoint;
	uint64_t requests;
};

struct shipper {
	struct shipper_config cfg;
	char *url;
	char *token;
	char *spool_dir;
	char *node;
	char *cluster;
	CURL *curl;
	json_t *pending; /* events submitted since the last flush */
	struct edge *edges;
	size_t n_edges;
	struct spooled *spool; /* oldest first */
	size_t n_spool;
	uint64_t next_seq;
	struct shipper_stats st;
	int64_t last_post_ms; /* last POST to the correlator (wall clock), for heartbeats */
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ spool */

static void spool_path(const struct shipper *s, const struct spooled *b, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%016llx-%u.json.gz", s->spool_dir, (unsigned long long)b->seq,
		 b->events);
}

static int cmp_spooled(const void *a, const void *b)
{
	const struct spooled *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int mkdir_p(const char *dir)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0750) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0750) && errno != EEXIST ? -1 : 0;
}

/* Picks up batches a previous run left behind: they are sent first. */
static int spool_scan(struct shipper *s)
{
	DIR *d = opendir(s->spool_dir);
	struct dirent *de;

	if (!d) {
		log_error("shipper: spool %s: %s", s->spool_dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		unsigned long long seq;
		unsigned events;
		int used = 0;
		char path[4096];
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", s->spool_dir, de->d_name);
		if (!strncmp(de->d_name, ".tmp-", 5)) {
			/* A write the last run did not finish: never acknowledged. */
			unlink(path);
			continue;
		}
		if (sscanf(de->d_name, "%16llx-%u.json.gz%n", &seq, &events, &used) != 2 ||
		    de->d_name[used] || stat(path, &sb))
			continue;
		struct spooled *g = realloc(s->spool, (s->n_spool + 1) * sizeof(*g));
		if (!g) {
			closedir(d);
			return -1;
		}
		s->spool = g;
		s->spool[s->n_spool++] = (struct spooled){ seq, events, (uint64_t)sb.st_size };
		s->st.spool_bytes += (uint64_t)sb.st_size;
		s->st.spool_events += events;
		if (seq >= s->next_seq)
			s->next_seq = seq + 1;
	}
	closedir(d);
	if (s->n_spool)
		qsort(s->spool, s->n_spool, sizeof(*s->spool), cmp_spooled);
	s->st.spool_batches = s->n_spool;
	if (s->n_spool)
		log_info("shipper: %zu batches (%llu events) waiting in %s from an earlier run",
			 s->n_spool, (unsigned long long)s->st.spool_events, s->spool_dir);
	return 0;
}

static void spool_remove_first(struct shipper *s)
{
	char path[4096];

	spool_path(s, &s->spool[0], path, sizeof(path));
	if (unlink(path) && errno != ENOENT)
		log_warn("shipper: removing %s: %s", path, strerror(errno));
	s->st.spool_bytes -= s->spool[0].bytes;
	s->st.spool_events -= s->spool[0].events;
	memmove(s->spool, s->spool + 1, (s->n_spool - 1) * sizeof(*s->spool));
	s->n_spool--;
	s->st.spool_batches = s->n_spool;
}

/* Keeps the spool under its size: the oldest batches go, counted. */
static void spool_evict(struct shipper *s)
{
	while (s->n_spool > 1 && s->st.spool_bytes > s->cfg.spool_max_bytes) {
		log_warn("shipper: spool over %zu bytes, dropping the oldest batch (%u events)",
			 s->cfg.spool_max_bytes, s->spool[0].events);
		s->st.events_dropped += s->spool[0].events;
		spool_remove_first(s);
	}
}

static int gzip_text(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream zs = { 0 };
	size_t cap = deflateBound(&zs, len) + 64;
	unsigned char *buf = malloc(cap);

	if (!buf)
		return -1;
	/* 15 + 16: a gzip header, what Content-Encoding: gzip means. */
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(buf);
		return -1;
	}
	cap = deflateBound(&zs, len) + 64;
	unsigned char *g = realloc(buf, cap);
	if (!g) {
		deflateEnd(&zs);
		free(buf);
		return -1;
	}
	buf = g;
	zs.next_in = (Bytef *)text;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)cap;
	int rc = deflate(&zs, Z_FINISH);
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Durable before it counts: write, fsync, rename, fsync the directory. */
static int spool_write(struct shipper *s, const unsigned char *data, size_t len, unsigned events)
{
	struct spooled b = { s->next_seq, events, len };
	char tmp[4096], path[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.tmp-%016llx", s->spool_dir, (unsigned long long)b.seq);
	spool_path(s, &b, path, sizeof(path));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		log_error("shipper: spool file %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, data, len) || fsync(fd)) {
		log_error("shipper: writing %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path)) {
		log_error("shipper: rename %s -> %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	int dfd = open(s->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	struct spooled *g = realloc(s->spool, (s->n_spool + 1) * sizeof(*g));
	if (!g)
		return -1;
	s->spool = g;
	s->spool[s->n_spool++] = b;
	s->next_seq++;
	s->st.spool_batches = s->n_spool;
	s->st.spool_bytes += len;
	s->st.spool_events += events;
	spool_evict(s);
	return 0;
}

static void free_edges(struct shipper *s)
{
	for (size_t i = 0; i < s->n_edges; i++) {
		free(s->edges[i].caller);
		free(s->edges[i].callee);
		free(s->edges[i].endpoint);
	}
	free(s->edges);
	s->edges = NULL;
	s->n_edges = 0;
}

static json_t *edges_json(const struct shipper *s)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < s->n_edges; i++) {
		json_t *e = json_pack("{s:s,s:I}", "caller", s->edges[i].caller, "requests",
				      (json_int_t)s->edges[i].requests);
		if (s->edges[i].callee)
			json_object_set_new(e, "callee", json_string(s->edges[i].callee));
		if (s->edges[i].endpoint)
			json_object_set_new(e, "endpoint", json_string(s->edges[i].endpoint));
		json_array_append_new(arr, e);
	}
	return arr;
}

/* Pending events and edges -> gzip batches in the spool. */
static int spool_pending(struct shipper *s, int64_t now_ms)
{
	size_t total = json_array_size(s->pending), off = 0;
	char sent_at[TIMEFMT_RFC3339_LEN];

	if (!total && !s->n_edges)
		return 0;
	timefmt_rfc3339(now_ms, false, sent_at, sizeof(sent_at));
	do {
		size_t n = total - off < s->cfg.batch_max_events ? total - off
								 : s->cfg.batch_max_events;
		json_t *events = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append(events, json_array_get(s->pending, off + i));
		json_t *batch = json_pack("{s:s,s:s,s:o,s:o}", "node", s->node, "sent_at", sent_at,
					  "events", events, "edges",
					  off == 0 ? edges_json(s) : json_array());
		if (batch && s->cluster)
			json_object_set_new(batch, "cluster", json_string(s->cluster));
		char *text = batch ? json_dumps(batch, JSON_COMPACT) : NULL;
		json_decref(batch);
		unsigned char *gz = NULL;
		size_t gz_len;
		int rc = !text || gzip_text(text, strlen(text), &gz, &gz_len) ||
			 spool_write(s, gz, gz_len, (unsigned)n);
		free(text);
		free(gz);
		if (rc)
			return -1;
		off += n;
	} while (off < total);
	json_array_clear(s->pending);
	free_edges(s);
	return 0;
}

/* ------------------------------------------------------------- send */

struct response {
	char buf[512];
	size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct response *r = arg;
	size_t n = size * nmemb, room = sizeof(r->buf) - 1 - r->len;

	memcpy(r->buf + r->len, ptr, n < room ? n : room);
	r->len += n < room ? n : room;
	r->buf[r->len] = 0;
	return n;
}

/* POSTs one spooled batch; returns the HTTP status or 0 on a transfer error. */
static long post_batch(struct shipper *s, const unsigned char *body, size_t len,
		       struct response *resp, char *err, size_t errlen)
{
	struct curl_slist *hdr = NULL;
	char auth[4200], ebuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *c = s->curl;

	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Content-Encoding: gzip");
	if (s->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->token);
		hdr = curl_slist_append(hdr, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	return status;
}

static void back_off(struct shipper *s, int64_t now_ms)
{
	unsigned f = ++s->st.consecutive_failures;
	uint64_t delay = s->cfg.backoff_initial_ms;

	for (unsigned i = 1; i < f && delay < s->cfg.backoff_max_ms; i++)
		delay *= 2;
	if (delay > s->cfg.backoff_max_ms)
		delay = s->cfg.backoff_max_ms;
	/* Jitter: agents that lost the correlator together do not return together. */
	delay = delay / 2 + (uint64_t)(drand48() * (double)(delay / 2 + 1));
	s->st.next_attempt_ms = now_ms + (int64_t)delay;
}

/* Sends spooled batches oldest first; stops at the first failure. */
static int send_spool(struct shipper *s, int64_t now_ms)
{
	int delivered = 0;

	for (unsigned posts = 0; s->n_spool && posts < s->cfg.max_posts_per_flush; posts++) {
		char path[4096], err[256] = "";
		char *body;
		size_t len;
		struct response resp = { .len = 0 };

		if (now_ms < s->st.next_attempt_ms)
			break;
		spool_path(s, &s->spool[0], path, sizeof(path));
		if (file_read(path, SIZE_MAX, &body, &len)) {
			log_error("shipper: cannot read spooled %s (%s), dropped", path,
				  strerror(errno));
			s->st.events_dropped += s->spool[0].events;
			spool_remove_first(s);
			continue;
		}
		long status =
			post_batch(s, (const unsigned char *)body, len, &resp, err, sizeof(err));
		s->last_post_ms = now_ms;
		free(body);
		if (status >= 200 && status < 300) {
			s->st.events_delivered += s->spool[0].events;
			s->st.batches_delivered++;
			delivered += (int)s->spool[0].events;
			s->st.consecutive_failures = 0;
			s->st.next_attempt_ms = 0;
			spool_remove_first(s);
			continue;
		}
		if (status >= 400 && status < 500 && status != 408 && status != 429) {
			/* The correlator says the batch itself is wrong: resending won't help. */
			log_error("shipper: %s rejected a batch of %u events (HTTP %ld): %s",
				  s->url, s->spool[0].events, status, resp.buf);
			s->st.events_rejected += s->spool[0].events;
			spool_remove_first(s);
			continue;
		}
		s->st.post_failures++;
		back_off(s, now_ms);
		if (!err[0])
			snprintf(err, sizeof(err), "HTTP %ld %.200s", status, resp.buf);
		log_warn("shipper: %s: %s; %zu batches wait, retry in %lld ms", s->url, err,
			 s->n_spool, (long long)(s->st.next_attempt_ms - now_ms));
		break;
	}
	return delivered;
}

/* ------------------------------------------------------------- API */

static int setup_curl(struct shipper *s)
{
	CURL *c = curl_easy_init();

	if (!c)
		return -1;
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->cfg.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->cfg.timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "seismo-agent/" SEISMO_VERSION);
	if (s->cfg.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->cfg.ca_file);
	if (s->cfg.cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, s->cfg.cert_file);
	if (s->cfg.key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, s->cfg.key_file);
	if (s->cfg.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	s->curl = c;
	return 0;
}

static char *events_url(const char *url)
{
	size_t l = strlen(url);
	char *out;

	if (strstr(url, "/api/v1/events"))
		return strdup(url);
	while (l && url[l - 1] == '/')
		l--;
	if (asprintf(&out, "%.*s/api/v1/events", (int)l, url) < 0)
		return NULL;
	return out;
}

/* Callers fill the config from fixed-size strings: "" means not set. */
static const char *unset_if_empty(const char *v)
{
	return v && v[0] ? v : NULL;
}

struct shipper *shipper_new(const struct shipper_config *given)
{
	struct shipper *s = calloc(1, sizeof(*s));
	struct shipper_config c = *given;
	const struct shipper_config *cfg = &c;

	if (!s)
		return NULL;
	c.url = unset_if_empty(c.url);
	c.token = unset_if_empty(c.token);
	c.token_file = unset_if_empty(c.token_file);
	c.ca_file = unset_if_empty(c.ca_file);
	c.cert_file = unset_if_empty(c.cert_file);
	c.key_file = unset_if_empty(c.key_file);
	c.spool_dir = unset_if_empty(c.spool_dir);
	c.cluster = unset_if_empty(c.cluster);
	s->cfg = c;
	if (!s->cfg.spool_max_bytes)
		s->cfg.spool_max_bytes = 64 << 20;
	if (!s->cfg.batch_max_events)
		s->cfg.batch_max_events = 500;
	if (!s->cfg.backoff_initial_ms)
		s->cfg.backoff_initial_ms = 1000;
	if (!s->cfg.backoff_max_ms)
		s->cfg.backoff_max_ms = 300000;
	if (!s->cfg.timeout_ms)
		s->cfg.timeout_ms = 10000;
	if (!s->cfg.max_posts_per_flush)
		s->cfg.max_posts_per_flush = 64;
	s->pending = json_array();
	if (!s->pending)
		goto fail;
	if (!cfg->url) {
		log_info("shipper: no correlator configured; events are logged");
		return s;
	}
	if (!cfg->node || !cfg->node[0]) {
		log_error("shipper: a node name is required to ship events");
		goto fail;
	}
	s->url = events_url(cfg->url);
	s->spool_dir = strdup(cfg->spool_dir ? cfg->spool_dir : SHIPPER_DEFAULT_SPOOL_DIR);
	s->node = strdup(cfg->node);
	s->cluster = dup_or_null(cfg->cluster);
	if (!s->url || !s->spool_dir || !s->node || (cfg->cluster && !s->cluster))
		goto fail;
	if (cfg->token_file) {
		s->token = file_read_trimmed(cfg->token_file, 4096);
		if (!s->token) {
			log_error("shipper: token file %s: %s", cfg->token_file, strerror(errno));
			goto fail;
		}
	} else if (cfg->token && !(s->token = strdup(cfg->token))) {
		goto fail;
	}
	if (mkdir_p(s->spool_dir)) {
		log_error("shipper: cannot create spool %s: %s", s->spool_dir, strerror(errno));
		goto fail;
	}
	if (spool_scan(s) || setup_curl(s))
		goto fail;
	spool_evict(s);
	log_info("shipper: events go to %s, spool %s (max %zu bytes)", s->url, s->spool_dir,
		 s->cfg.spool_max_bytes);
	return s;
fail:
	shipper_free(s);
	return NULL;
}

int shipper_submit(struct shipper *s, json_t *event)
{
	if (!json_is_object(event))
		return -1;
	s->st.events_submitted++;
	if (!s->url) {
		char *text = json_dumps(event, JSON_COMPACT);
		log_info("event %s", text ? text : "(unprintable)");
		free(text);
		return 0;
	}
	return json_array_append(s->pending, event) ? -1 : 0;
}

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int shipper_add_edge(struct shipper *s, const char *caller, const char *callee,
		     const char *endpoint, uint64_t requests)
{
	if (!caller || (!callee && !endpoint))
		return -1;
	if (!s->url)
		return 0;
	for (size_t i = 0; i < s->n_edges; i++)
		if (!strcmp(s->edges[i].caller, caller) && str_eq(s->edges[i].callee, callee) &&
		    str_eq(s->edges[i].endpoint, endpoint)) {
			s->edges[i].requests += requests;
			return 0;
		}
	struct edge *g = realloc(s->edges, (s->n_edges + 1) * sizeof(*g));
	if (!g)
		return -1;
	s->edges = g;
	struct edge *e = &s->edges[s->n_edges];
	e->caller = strdup(caller);
	e->callee = dup_or_null(callee);
	e->endpoint = dup_or_null(endpoint);
	e->requests = requests;
	if (!e->caller || (callee && !e->callee) || (endpoint && !e->endpoint)) {
		free(e->caller);
		free(e->callee);
		free(e->endpoint);
		return -1;
	}
	s->n_edges++;
	return 0;
}

/*
 * When the spool cannot be written (disk full, read-only), events wait in
 * memory, but not without bound: beyond a few batches the oldest go, counted
 * like spool evictions.
 */
static void bound_pending(struct shipper *s)
{
	size_t max = 10 * s->cfg.batch_max_events, n = json_array_size(s->pending);

	if (n <= max)
		return;
	log_warn("shipper: spool unwritable, dropping the %zu oldest pending events", n - max);
	s->st.events_dropped += n - max;
	while (json_array_size(s->pending) > max)
		json_array_remove(s->pending, 0);
}

/*
 * A quiet node still says it is alive: an empty batch when nothing was
 * posted for SHIPPER_HEARTBEAT_MS, so the correlator can tell a
 * dead agent from a long anomaly (its stale_after). Not spooled: a missed
 * heartbeat is made up by the next one.
 */
static void heartbeat(struct shipper *s, int64_t now_ms)
{
	unsigned char *gz;
	size_t len;
	char err[256] = "";
	struct response resp = { .len = 0 };

	if (!s->last_post_ms)
		s->last_post_ms = now_ms; /* the first one a heartbeat after the start */
	if (s->n_spool || now_ms < s->st.next_attempt_ms ||
	    now_ms - s->last_post_ms < SHIPPER_HEARTBEAT_MS)
		return;
	json_t *b = json_pack("{s:s,s:s?,s:[]}", "node", s->node, "cluster", s->cluster, "events");
	char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!text || gzip_text(text, strlen(text), &gz, &len)) {
		free(text);
		return;
	}
	free(text);
	long status = post_batch(s, gz, len, &resp, err, sizeof(err));
	free(gz);
	s->last_post_ms = now_ms;
	if (status < 200 || status >= 300)
		log_warn("shipper: heartbeat to %s: %s", s->url, err[0] ? err : resp.buf);
}

int shipper_flush_ms(struct shipper *s, int64_t now_ms)
{
	if (!s->url)
		return 0;
	if (spool_pending(s, now_ms)) {
		bound_pending(s);
		return -1;
	}
	int delivered = send_spool(s, now_ms);
	heartbeat(s, now_ms);
	return delivered;
}

int shipper_flush(struct shipper *s, time_t now)
{
	/* The agent passes seconds; keep sub-second backoff meaningful. */
	int64_t ms = (int64_t)now * 1000;
	int64_t wall = wall_ms();

	if (wall / 1000 == (int64_t)now)
		ms = wall;
	return shipper_flush_ms(s, ms);
}

void shipper_get_stats(const struct shipper *s, struct shipper_stats *out)
{
	*out = s->st;
}

void shipper_write_metrics(const struct shipper *s, FILE *out)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} m[] = {
		{ "seismo_shipper_events_submitted_total", "counter",
		  "Events handed to the shipper.",
		  offsetof(struct shipper_stats, events_submitted) },
		{ "seismo_shipper_events_delivered_total", "counter",
		  "Events the correlator acknowledged.",
		  offsetof(struct shipper_stats, events_delivered) },
		{ "seismo_shipper_events_dropped_total", "counter",
		  "Events dropped because the spool was full (oldest first).",
		  offsetof(struct shipper_stats, events_dropped) },
		{ "seismo_shipper_events_rejected_total", "counter",
		  "Events in batches the correlator refused with a 4xx.",
		  offsetof(struct shipper_stats, events_rejected) },
		{ "seismo_shipper_batches_delivered_total", "counter", "Batches acknowledged.",
		  offsetof(struct shipper_stats, batches_delivered) },
		{ "seismo_shipper_post_failures_total", "counter",
		  "POSTs that failed (network or 5xx) and will be retried.",
		  offsetof(struct shipper_stats, post_failures) },
		{ "seismo_shipper_spool_batches", "gauge", "Batches waiting in the spool.",
		  offsetof(struct shipper_stats, spool_batches) },
		{ "seismo_shipper_spool_bytes", "gauge", "Bytes in the spool.",
		  offsetof(struct shipper_stats, spool_bytes) },
		{ "seismo_shipper_spool_events", "gauge", "Events waiting in the spool.",
		  offsetof(struct shipper_stats, spool_events) },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		prom_family(out, m[i].name, m[i].type, m[i].help);
		prom_u64(out, m[i].name, NULL,
			 *(const uint64_t *)((const char *)&s->st + m[i].off));
	}
	prom_family(out, "seismo_shipper_consecutive_failures", "gauge",
		    "Failed attempts since the last success.");
	prom_u64(out, "seismo_shipper_consecutive_failures", NULL, s->st.consecutive_failures);
}

void shipper_free(struct shipper *s)
{
	if (!s)
		return;
	if (s->url && s->spool_dir && s->pending && spool_pending(s, wall_ms()))
		log_error("shipper: %zu pending events could not be spooled at exit",
			  json_array_size(s->pending));
	if (s->curl)
		curl_easy_cleanup(s->curl);
	json_decref(s->pending);
	free_edges(s);
	free(s->spool);
	free(s->url);
	free(s->token);
	free(s->spool_dir);
	free(s->node);
	free(s->cluster);
	free(s);
}
