#include "listen_seed.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>

#include "hashmap.h"
#include "log.h"
#include "seismo/latency.h"

#define TCP_LISTEN_STATE 0x0A /* include/net/tcp_states.h, as /proc prints it */

/* Counts the listening sockets of one namespace's /proc/PID/net/tcp or tcp6
 * into ports (seismo_listen_key -> count). */
static void read_table(const char *path, unsigned int netns, struct hashmap *ports)
{
	FILE *f = fopen(path, "r");
	char line[512];

	if (!f)
		return;			     /* the process exited meanwhile, or no IPv6 */
	if (!fgets(line, sizeof(line), f)) { /* the header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		/* "  0: 0100007F:1F90 00000000:0000 0A ..." */
		char local[64], remote[64];
		unsigned int state, port;
		char *colon;

		if (sscanf(line, "%*s %63s %63s %x", local, remote, &state) != 3 ||
		    state != TCP_LISTEN_STATE)
			continue;
		colon = strrchr(local, ':');
		if (!colon || sscanf(colon + 1, "%x", &port) != 1 || port > 0xffff)
			continue;
		struct seismo_listen_key key = { .netns = netns, .port = (__u16)port };
		uint32_t *n = hashmap_get(ports, &key);
		if (n) {
			(*n)++;
			continue;
		}
		n = malloc(sizeof(*n));
		if (!n || hashmap_put(ports, &key, n)) {
			free(n);
			continue;
		}
		*n = 1;
	}
	fclose(f);
}

int listen_seed_scan(const char *proc_root, listen_seed_fn fn, void *ctx)
{
	struct hashmap *seen = hashmap_new(sizeof(uint64_t)); /* namespaces read */
	struct hashmap *ports = hashmap_new(sizeof(struct seismo_listen_key));
	DIR *proc = opendir(proc_root);
	struct dirent *de;
	size_t pos = 0;
	const void *key;
	void *value;
	int err = 0;

	if (!seen || !ports || !proc) {
		err = proc ? -ENOMEM : -errno;
		goto out;
	}
	/* One process per namespace is enough: the table lists all of its sockets. */
	while ((de = readdir(proc))) {
		char path[320];
		struct stat st;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root, de->d_name);
		if (stat(path, &st))
			continue;
		uint64_t ino = st.st_ino;
		if (hashmap_get(seen, &ino) || hashmap_put(seen, &ino, (void *)1))
			continue;
		snprintf(path, sizeof(path), "%s/%s/net/tcp", proc_root, de->d_name);
		read_table(path, (unsigned int)ino, ports);
		snprintf(path, sizeof(path), "%s/%s/net/tcp6", proc_root, de->d_name);
		read_table(path, (unsigned int)ino, ports);
	}
	while (hashmap_next(ports, &pos, &key, &value)) {
		const struct seismo_listen_key *k = key;
		fn(ctx, k->netns, k->port, *(uint32_t *)value);
	}
	err = (int)hashmap_size(ports);
out:
	if (proc)
		closedir(proc);
	pos = 0;
	while (ports && hashmap_next(ports, &pos, &key, &value))
		free(value);
	hashmap_free(ports);
	hashmap_free(seen);
	return err;
}

struct seed_ctx {
	int map_fd;
	int added;
	int err;
};

static void seed_one(void *ctx, uint32_t netns, uint16_t port, uint32_t sockets)
{
	struct seed_ctx *sc = ctx;
	struct seismo_listen_key key = { .netns = netns, .port = port };

	/* NOEXIST: an entry the kernel made since the programs attached is newer. */
	if (bpf_map_update_elem(sc->map_fd, &key, &sockets, BPF_NOEXIST) == 0)
		sc->added++;
	else if (errno != EEXIST && !sc->err)
		sc->err = -errno;
}

int listen_seed(int map_fd, const char *proc_root)
{
	struct seed_ctx sc = { .map_fd = map_fd };
	int n = listen_seed_scan(proc_root, seed_one, &sc);

	if (n < 0)
		return n;
	log_debug("listening ports seeded: %d of %d (namespace, port) pairs", sc.added, n);
	return sc.err ? sc.err : sc.added;
}
