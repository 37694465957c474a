/* Which TCP ports listen, per network namespace, as the kernel says in
 * /proc/PID/net/tcp{,6}: seeds the latency programs' listen_ports map at
 * start, so connections older than the agent get their role right. */
#ifndef SEISMO_LISTEN_SEED_H
#define SEISMO_LISTEN_SEED_H

#include <stdint.h>

/* Calls fn once per (namespace inode, port) that has sockets in LISTEN
 * state, with how many (SO_REUSEPORT), reading one process per namespace
 * under proc_root. Returns the number of pairs, or -errno. */
typedef void (*listen_seed_fn)(void *ctx, uint32_t netns, uint16_t port, uint32_t sockets);
int listen_seed_scan(const char *proc_root, listen_seed_fn fn, void *ctx);

/* Adds every listening (namespace, port) found under proc_root (normally
 * "/proc") to the BPF hash map map_fd (struct seismo_listen_key -> __u32
 * count of listening sockets). Entries the kernel made meanwhile are kept.
 * Returns how many ports were added, or -errno. */
int listen_seed(int map_fd, const char *proc_root);

#endif
