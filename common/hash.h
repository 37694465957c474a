/* FNV-1a, written once: 64-bit for label fingerprints (Prometheus uses the
 * same), hash tables, ETags and names; 128-bit for ids that must not
 * collide across a fleet (anomaly and event ids). Stable across hosts and
 * releases, which is all these uses need; none is a defence against a
 * chosen-input attacker. */
#ifndef SEISMO_HASH_H
#define SEISMO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV64_OFFSET 14695981039346656037ULL

/* Continues hash over data: start with FNV64_OFFSET, chain for several fields. */
uint64_t fnv1a64(uint64_t hash, const void *data, size_t len);
/* fnv1a64 of a NUL-terminated string, from FNV64_OFFSET. */
uint64_t fnv1a64_str(const char *s);

typedef unsigned __int128 fnv128_t;

fnv128_t fnv1a128_offset(void);
fnv128_t fnv1a128(fnv128_t hash, const void *data, size_t len);

#endif
