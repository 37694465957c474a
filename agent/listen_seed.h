/* Which TCP ports listen, per network namespace, as the kernel says in
 * /proc/PID/net/tcp{,6}: seeds the latency programs' listen_ports map at
 * start, so connections older than the agent get their role right. */
#ifndef SEISMO_LISTEN_SEED_H
#define SEISMO_LISTEN_SEED_H

/* Adds every listening (namespace, port) found under proc_root (normally
 * "/proc") to the BPF hash map map_fd (struct seismo_listen_key -> __u32
 * count of listening sockets). Entries the kernel made meanwhile are kept.
 * Returns how many ports were added, or -errno. */
int listen_seed(int map_fd, const char *proc_root);

#endif
