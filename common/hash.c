#include "hash.h"

#include <string.h>

uint64_t fnv1a64(uint64_t hash, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		hash ^= p[i];
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

uint64_t fnv1a64_str(const char *s)
{
	return fnv1a64(FNV64_OFFSET, s, strlen(s));
}

fnv128_t fnv1a128_offset(void)
{
	return ((fnv128_t)0x6c62272e07bb0142ULL << 64) | 0x62b821756295c58dULL;
}

fnv128_t fnv1a128(fnv128_t hash, const void *data, size_t len)
{
	const fnv128_t prime = ((fnv128_t)0x0000000001000000ULL << 64) | 0x000000000000013bULL;
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		hash ^= p[i];
		hash *= prime;
	}
	return hash;
}
