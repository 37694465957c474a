/* Field readers shared by ingest.c (agent batches) and ingest_am.c (Alertmanager webhook). */
#ifndef CORR_INGEST_INT_H
#define CORR_INGEST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "json_fast.h"

/* A bounded string field, malloc'd into *out (NULL when absent and optional). 0 or -1. */
int ingest_get_string(const struct jf_value *obj, const char *key, size_t max, int required,
		      const char *where, char **out, char *err, size_t errlen);
/* A required string field left in the batch's arena. 0 or -1. */
int ingest_peek_string(const struct jf_value *obj, const char *key, size_t max, const char *where,
		       const char **out, char *err, size_t errlen);
/* An RFC 3339 timestamp field in ms (0 when absent and optional). 0 or -1. */
int ingest_get_time(const struct jf_value *obj, const char *key, int required, const char *where,
		    int64_t *out, char *err, size_t errlen);

#endif
