/* Long file: one resolution order (config rule, Kubernetes pod, container,
 * systemd unit, process:port) with the cgroup-path cache and the kubelet pod
 * list it consults; each source is a section below.
 * Service identity of a cgroup and port. */
#include "services.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <fnmatch.h>
#include <ftw.h>
#include <jansson.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hashmap.h"
#include "fileio.h"
#include "log.h"

struct services {
	const struct config *cfg;
	char cgroup_mount[256];
	struct hashmap *paths; /* cgroup id -> char* path relative to the mount */
	time_t last_scan;
	bool kubernetes;
	json_t *pods; /* last kubelet /pods document, parsed once per refresh */
	time_t podlist_at;
};

/* --- cgroup paths ------------------------------------------------------------------------ */

void services_cgroup2_mount(char *out, size_t size)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;

	out[0] = 0;
	if (!f)
		return;
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(out, size, "%s", m->mnt_dir);
			break;
		}
	endmntent(f);
}

/* nftw has no user pointer: the scan's state lives here for its duration. */
static struct {
	struct hashmap *paths;
	size_t prefix;
	uint64_t want;
	char *found;
	size_t found_size;
} scan;

static int scan_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *rel;
	char *copy;
	uint64_t id = st->st_ino;

	if (type != FTW_D)
		return 0;
	rel = path + scan.prefix;
	if (!*rel)
		rel = "/";
	if (scan.paths && !hashmap_get(scan.paths, &id) && (copy = strdup(rel)))
		if (hashmap_put(scan.paths, &id, copy))
			free(copy);
	if (id == scan.want && scan.found) {
		snprintf(scan.found, scan.found_size, "%s", rel);
		return 1;
	}
	return 0;
}

int services_cgroup_path(const char *mount, uint64_t id, char *out, size_t size)
{
	int rc;

	scan.paths = NULL;
	scan.prefix = strlen(mount);
	scan.want = id;
	scan.found = out;
	scan.found_size = size;
	rc = nftw(mount, scan_entry, 32, FTW_PHYS | FTW_MOUNT);
	scan.found = NULL;
	return rc == 1 ? 0 : -ENOENT;
}

/* The kernel resolves a cgroup id itself: a cgroupfs file handle is the
 * 64-bit id (FILEID_KERNFS). Exact, and unlike a directory scan it cannot
 * miss a cgroup created since the last scan. Needs CAP_DAC_READ_SEARCH. */
static char *path_by_handle(const char *mount, uint64_t id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(id), .handle_type = 0xfe /* FILEID_KERNFS */ } };
	char link[64], path[PATH_MAX];
	size_t prefix = strlen(mount);
	int mount_fd, fd;
	ssize_t n;

	memcpy(h.fh.f_handle, &id, sizeof(id));
	mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd < 0)
		return NULL;
	fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_CLOEXEC);
	close(mount_fd);
	if (fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (n <= 0 || (size_t)n < prefix || strncmp(path, mount, prefix))
		return NULL;
	path[n] = 0;
	return strdup(path[prefix] ? path + prefix : "/");
}

#define PATHS_MAX 20000

static void clear_paths(struct services *s)
{
	size_t pos = 0;
	const void *key;
	void *value;

	while (hashmap_next(s->paths, &pos, &key, &value))
		free(value);
	hashmap_free(s->paths);
	s->paths = hashmap_new(sizeof(uint64_t));
}

static const char *cached_path(struct services *s, uint64_t id)
{
	const char *p = hashmap_get(s->paths, &id);
	time_t now = time(NULL);
	char *found;

	if (p || !s->cgroup_mount[0])
		return p;
	found = path_by_handle(s->cgroup_mount, id);
	if (found) {
		if (!hashmap_put(s->paths, &id, found))
			return found;
		free(found);
	}
	/* Cgroups come and go (pods, containers): the index is rebuilt from
	 * scratch when it has grown large, not pruned path by path. */
	if (hashmap_size(s->paths) > PATHS_MAX)
		clear_paths(s);
	/* A new cgroup: rescan, but not more than once a second. */
	if (now == s->last_scan)
		return NULL;
	s->last_scan = now;
	scan.paths = s->paths;
	scan.prefix = strlen(s->cgroup_mount);
	scan.want = 0;
	scan.found = NULL;
	nftw(s->cgroup_mount, scan_entry, 32, FTW_PHYS | FTW_MOUNT);
	scan.paths = NULL;
	return hashmap_get(s->paths, &id);
}

/* --- what a cgroup path tells ---------------------------------------------------------- */

static bool is_hex_id(const char *s, size_t len)
{
	if (len < 12)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "cri-containerd-<id>.scope", "docker-<id>.scope", "crio-<id>.scope", "<id>" */
static bool container_id_of(const char *comp, size_t len, char *out, size_t size)
{
	static const char *const prefixes[] = { "cri-containerd-", "docker-", "crio-",
						"containerd-",	   "libpod-", "" };
	const char *suffix = ".scope";
	size_t sl = strlen(suffix);

	if (len > sl && !strncmp(comp + len - sl, suffix, sl))
		len -= sl;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);
		if (len > pl && !strncmp(comp, prefixes[i], pl) && is_hex_id(comp + pl, len - pl)) {
			snprintf(out, size, "%.*s", (int)(len - pl), comp + pl);
			return true;
		}
	}
	return false;
}

/* "kubepods-burstable-pod1234_5678.slice" or "pod1234-5678" -> UID with dashes. */
static bool pod_uid_of(const char *comp, size_t len, char *out, size_t size)
{
	const char *p = NULL;

	for (size_t i = 0; i + 3 < len; i++)
		if (!strncmp(comp + i, "pod", 3) && (i == 0 || comp[i - 1] == '-'))
			p = comp + i + 3;
	if (!p)
		return false;
	size_t n = (size_t)(comp + len - p);
	if (n > 6 && !strncmp(comp + len - 6, ".slice", 6))
		n -= 6;
	if (n < 32 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i] == '_' ? '-' : p[i];
		if (!isxdigit((unsigned char)c) && c != '-')
			return false;
		out[i] = c;
	}
	out[n] = 0;
	return true;
}

enum service_source services_parse_cgroup(const char *path, struct service_identity *out)
{
	enum service_source src = SERVICE_PROCESS;
	bool in_kubepods = strstr(path, "kubepods") != NULL;
	const char *comp = path;

	snprintf(out->cgroup, sizeof(out->cgroup), "%s", path);
	while (*comp) {
		while (*comp == '/')
			comp++;
		size_t len = strcspn(comp, "/");
		if (!len)
			break;
		if (in_kubepods && pod_uid_of(comp, len, out->pod_uid, sizeof(out->pod_uid)))
			src = SERVICE_KUBERNETES;
		else if (container_id_of(comp, len, out->container_id, sizeof(out->container_id)))
			src = in_kubepods ? SERVICE_KUBERNETES : SERVICE_CONTAINER;
		else if (len > 8 && !strncmp(comp + len - 8, ".service", 8) &&
			 src == SERVICE_PROCESS) {
			/* The innermost unit wins: user@1000.service/app.service -> app. */
			snprintf(out->name, sizeof(out->name), "%.*s", (int)(len - 8), comp);
			src = SERVICE_SYSTEMD;
		} else if (len > 8 && !strncmp(comp + len - 8, ".service", 8)) {
			snprintf(out->name, sizeof(out->name), "%.*s", (int)(len - 8), comp);
		}
		comp += len;
	}
	if (src == SERVICE_CONTAINER)
		snprintf(out->name, sizeof(out->name), "container-%.12s", out->container_id);
	return src;
}

/* --- Kubernetes: the kubelet's pod list ------------------------------------------------ */

static void copy_label(json_t *labels, const char *const *keys, char *out, size_t size)
{
	for (; *keys; keys++) {
		const char *v = json_string_value(json_object_get(labels, *keys));
		if (v && *v) {
			snprintf(out, size, "%s", v);
			return;
		}
	}
}

/* "checkout-7d9f8b6c5-x2x4q" -> "checkout" when labels name nothing. */
static void owner_name(json_t *meta, const char *pod, char *out, size_t size)
{
	json_t *owners = json_object_get(meta, "ownerReferences");
	const char *owner = json_string_value(json_object_get(json_array_get(owners, 0), "name"));
	const char *kind = json_string_value(json_object_get(json_array_get(owners, 0), "kind"));

	if (owner && kind && !strcmp(kind, "ReplicaSet")) {
		const char *dash = strrchr(owner, '-');
		snprintf(out, size, "%.*s", dash ? (int)(dash - owner) : (int)strlen(owner), owner);
	} else if (owner) {
		snprintf(out, size, "%s", owner);
	} else {
		snprintf(out, size, "%s", pod);
	}
}

static void container_name(json_t *pod, const char *id, char *out, size_t size)
{
	json_t *statuses = json_object_get(json_object_get(pod, "status"), "containerStatuses");
	size_t i;
	json_t *st;

	json_array_foreach(statuses, i, st) {
		const char *cid = json_string_value(json_object_get(st, "containerID"));
		const char *sep = cid ? strstr(cid, "://") : NULL;
		if (sep && !strcmp(sep + 3, id)) {
			snprintf(out, size, "%s", json_string_value(json_object_get(st, "name")));
			return;
		}
	}
}

/* Fills out from the pod whose UID is out->pod_uid. 0 if found. */
static int apply_pods(json_t *doc, struct service_identity *out)
{
	static const char *const app_keys[] = { "app.kubernetes.io/name", "app", "k8s-app", NULL };
	static const char *const team_keys[] = { "team", "app.kubernetes.io/part-of", NULL };
	json_t *items = json_object_get(doc, "items"), *pod;
	size_t i;

	json_array_foreach(items, i, pod) {
		json_t *meta = json_object_get(pod, "metadata");
		const char *uid = json_string_value(json_object_get(meta, "uid"));
		json_t *labels = json_object_get(meta, "labels");

		if (!uid || strcmp(uid, out->pod_uid))
			continue;
		snprintf(out->pod, sizeof(out->pod), "%s",
			 json_string_value(json_object_get(meta, "name")) ?: "");
		snprintf(out->namespace_, sizeof(out->namespace_), "%s",
			 json_string_value(json_object_get(meta, "namespace")) ?: "");
		copy_label(labels, app_keys, out->app, sizeof(out->app));
		copy_label(labels, team_keys, out->team, sizeof(out->team));
		if (out->app[0])
			snprintf(out->name, sizeof(out->name), "%s", out->app);
		else
			owner_name(meta, out->pod, out->name, sizeof(out->name));
		if (out->container_id[0])
			container_name(pod, out->container_id, out->container,
				       sizeof(out->container));
		return 0;
	}
	return -ENOENT;
}

int services_apply_podlist(const char *json, size_t len, struct service_identity *out)
{
	json_error_t error;
	json_t *doc = json_loadb(json, len, 0, &error);
	int rc;

	if (!doc) {
		log_warn("kubelet pod list is not JSON: %s (line %d)", error.text, error.line);
		return -EINVAL;
	}
	rc = apply_pods(doc, out);
	json_decref(doc);
	return rc;
}

struct body {
	char *data;
	size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *user)
{
	struct body *b = user;
	size_t add = size * n;
	char *grown = realloc(b->data, b->len + add + 1);

	if (!grown)
		return 0;
	memcpy(grown + b->len, ptr, add);
	b->data = grown;
	b->len += add;
	b->data[b->len] = 0;
	return add;
}

/* Fetches the kubelet's pod list: every `refresh`, or sooner (at most every
 * MISS_REFRESH_S) when a pod is not in it yet. */
#define MISS_REFRESH_S 5

static void refresh_podlist(struct services *s, bool missing)
{
	const struct config *cfg = s->cfg;
	struct curl_slist *headers = NULL;
	struct body body = { 0 };
	char auth[4096 + 32];
	char *token;
	CURL *curl;
	CURLcode rc;
	long status = 0;

	time_t age = time(NULL) - s->podlist_at;

	if (age < (time_t)cfg->kubernetes.refresh && !(missing && age >= MISS_REFRESH_S))
		return;
	s->podlist_at = time(NULL);
	curl = curl_easy_init();
	if (!curl)
		return;
	token = file_read_trimmed(cfg->kubernetes.token_file, 4096);
	if (token) {
		token[strcspn(token, "\r\n")] = 0;
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers = curl_slist_append(headers, auth);
		free(token);
	}
	curl_easy_setopt(curl, CURLOPT_URL, cfg->kubernetes.pods_url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (cfg->kubernetes.ca_file[0] && !access(cfg->kubernetes.ca_file, R_OK))
		curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->kubernetes.ca_file);
	if (cfg->kubernetes.insecure_skip_verify) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK || status != 200) {
		log_warn("kubelet pod list %s: %s (HTTP %ld); pods keep their UIDs as names",
			 cfg->kubernetes.pods_url,
			 rc != CURLE_OK ? curl_easy_strerror(rc) : "failed", status);
		free(body.data);
	} else {
		json_error_t error;
		json_t *doc = json_loadb(body.data, body.len, 0, &error);
		if (doc) {
			json_decref(s->pods);
			s->pods = doc;
		} else {
			log_warn("kubelet pod list from %s is not JSON: %s (line %d)",
				 cfg->kubernetes.pods_url, error.text, error.line);
		}
		free(body.data);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
}

/* --- full process names ------------------------------------------------------------------ */

/* Base name of a path, cut at a process title's separator ("postgres: writer"). */
static void base_name(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	const char *b = slash ? slash + 1 : path;

	snprintf(out, size, "%.*s", (int)strcspn(b, ": "), b);
}

static bool read_proc(uint32_t tgid, const char *what, char *buf, size_t size, size_t *len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/%s", tgid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	*len = (size_t)n;
	return true;
}

void services_full_name(uint32_t tgid, const char *comm, char *out, size_t size)
{
	char buf[4096], name[256], exe[PATH_MAX];
	const char *args[2] = { NULL, NULL };
	size_t len, clen = strlen(comm);
	ssize_t n;

	snprintf(out, size, "%s", comm);
	/* Only a name the kernel cut (15 characters) needs looking up. */
	if (!tgid || clen < 15)
		return;
	/* The same process still (not a pid reused since the kernel saw it). */
	if (!read_proc(tgid, "comm", buf, sizeof(buf), &len))
		return;
	buf[strcspn(buf, "\n")] = 0;
	if (strcmp(buf, comm))
		return;
	/* argv[0]; argv[1] when an interpreter runs a script (comm is the script's). */
	if (read_proc(tgid, "cmdline", buf, sizeof(buf), &len)) {
		args[0] = buf;
		if (strlen(buf) + 1 < len)
			args[1] = buf + strlen(buf) + 1;
	}
	for (int i = 0; i < 2; i++) {
		if (!args[i])
			continue;
		base_name(args[i], name, sizeof(name));
		if (strlen(name) > clen && !strncmp(name, comm, clen)) {
			snprintf(out, size, "%s", name);
			return;
		}
	}
	/* The executable: readable for the agent's own user's processes, or with
	 * CAP_SYS_PTRACE; a cmdline is readable by all. */
	snprintf(buf, sizeof(buf), "/proc/%u/exe", tgid);
	n = readlink(buf, exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	base_name(exe, name, sizeof(name));
	if (strlen(name) > clen && !strncmp(name, comm, clen))
		snprintf(out, size, "%s", name);
}

/* --- the config's explicit rules ------------------------------------------------------- */

static const struct config_service *match_rule(const struct config *cfg, const char *path,
					       uint16_t port, const char *comm)
{
	for (int i = 0; i < cfg->n_services; i++) {
		const struct config_service *r = &cfg->services[i];
		if (r->cgroup[0] && fnmatch(r->cgroup, path, 0))
			continue;
		if (r->comm[0] && strcmp(r->comm, comm))
			continue;
		if (r->port && r->port != port)
			continue;
		return r;
	}
	return NULL;
}

/* --- putting it together --------------------------------------------------------------- */

struct services *services_new(const struct config *cfg)
{
	struct services *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = cfg;
	s->paths = hashmap_new(sizeof(uint64_t));
	if (!s->paths) {
		free(s);
		return NULL;
	}
	services_cgroup2_mount(s->cgroup_mount, sizeof(s->cgroup_mount));
	if (!s->cgroup_mount[0])
		log_warn("no cgroup v2 mount found: services are named by process and port");
	s->kubernetes = cfg->kubernetes.enabled == 1 ||
			(cfg->kubernetes.enabled == -1 && getenv("KUBERNETES_SERVICE_HOST"));
	return s;
}

void services_free(struct services *s)
{
	size_t pos = 0;
	const void *key;
	void *value;

	if (!s)
		return;
	while (hashmap_next(s->paths, &pos, &key, &value))
		free(value);
	hashmap_free(s->paths);
	json_decref(s->pods);
	free(s);
}

void services_resolve(struct services *s, uint64_t cgroup_id, uint16_t port, const char *comm,
		      uint32_t tgid, struct service_identity *out)
{
	const char *path = cached_path(s, cgroup_id);
	const struct config_service *rule;

	memset(out, 0, sizeof(*out));
	out->source = services_parse_cgroup(path ? path : "", out);
	if (out->source == SERVICE_KUBERNETES && s->kubernetes) {
		refresh_podlist(s, false);
		if (!s->pods || apply_pods(s->pods, out)) {
			refresh_podlist(s, true);
			if (s->pods)
				apply_pods(s->pods, out);
		}
	}
	if (out->source == SERVICE_KUBERNETES && !out->pod[0]) {
		/* Not in the pod list yet: named by UID for now, asked again. */
		if (!out->name[0])
			snprintf(out->name, sizeof(out->name), "pod-%.8s", out->pod_uid);
		out->provisional = s->kubernetes;
	}
	if (out->source == SERVICE_PROCESS) {
		/* Process name + listening port; a service's outbound calls (port 0)
		 * carry just the name. */
		char name[64];

		services_full_name(tgid, comm && *comm ? comm : "unknown", name, sizeof(name));
		if (port)
			snprintf(out->name, sizeof(out->name), "%s:%u", name, port);
		else
			snprintf(out->name, sizeof(out->name), "%s", name);
	}
	rule = match_rule(s->cfg, out->cgroup, port, comm ? comm : "");
	if (rule) {
		snprintf(out->name, sizeof(out->name), "%s", rule->name);
		out->source = SERVICE_CONFIG;
		for (int i = 0; i < rule->n_labels; i++) {
			const struct config_label *l = &rule->labels[i];
			if (!strcmp(l->name, "team"))
				snprintf(out->team, sizeof(out->team), "%s", l->value);
			else if (!strcmp(l->name, "app"))
				snprintf(out->app, sizeof(out->app), "%s", l->value);
			else if (!strcmp(l->name, "namespace"))
				snprintf(out->namespace_, sizeof(out->namespace_), "%s", l->value);
			else
				out->extra[out->n_extra++] = *l;
		}
	}
}
