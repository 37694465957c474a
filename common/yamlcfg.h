/* Reading YAML configuration with libyaml's document API, with errors that
 * name the file, line, column and key ("agent.yaml:12:14: sampling.burst:
 * ..."). Every config reader uses it (agent, chaos, Litmus, correlator,
 * runbooks), and its scalar readers parse with common/grammar.h, so a
 * boolean, duration or size is spelled the same in every file
 * (docs/config.md, "Grammar"). */
#ifndef SEISMO_YAMLCFG_H
#define SEISMO_YAMLCFG_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

struct yamlcfg {
	yaml_document_t doc;
	const char *file; /* for messages */
	char error[512];  /* first error, "file:line:column: message" */
	bool loaded;
	int open_errno; /* set when the file could not be opened (ENOENT, ...) */
};

/* Loads from a file, or from text when file is NULL (name used in messages).
 * Returns 0, or -1 with cfg->error set. An empty document is an empty map. */
int yamlcfg_load_file(struct yamlcfg *cfg, const char *path);
int yamlcfg_load_string(struct yamlcfg *cfg, const char *name, const char *text, size_t len);
void yamlcfg_free(struct yamlcfg *cfg);

yaml_node_t *yamlcfg_root(struct yamlcfg *cfg);
/* Child of a mapping by key, or NULL. */
yaml_node_t *yamlcfg_get(struct yamlcfg *cfg, yaml_node_t *map, const char *key);
/* Sets cfg->error ("file:line:column: ...") if not set yet; returns -1. */
int yamlcfg_fail(struct yamlcfg *cfg, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int yamlcfg_vfail(struct yamlcfg *cfg, const yaml_node_t *node, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Where node sits, as "correlator.url" or "services[2].match.port" ("" for
 * the root). Only for messages: it searches the document. */
void yamlcfg_path(struct yamlcfg *cfg, const yaml_node_t *node, char *buf, size_t size);
/* Fails on any key of map not in allowed (NULL-terminated): typos are errors. */
int yamlcfg_check_keys(struct yamlcfg *cfg, yaml_node_t *map, const char *const *allowed,
		       const char *where);

/* Scalar readers: return 0 (and leave *out alone) when node is NULL; on a
 * bad value, -1 with an error naming the key's path. */
int yamlcfg_string(struct yamlcfg *cfg, yaml_node_t *node, char *out, size_t size);
int yamlcfg_bool(struct yamlcfg *cfg, yaml_node_t *node, bool *out);
int yamlcfg_uint(struct yamlcfg *cfg, yaml_node_t *node, unsigned long min, unsigned long max,
		 unsigned long *out);
int yamlcfg_double(struct yamlcfg *cfg, yaml_node_t *node, double min, double max, double *out);
/* A duration with its unit (grammar_duration): "250ms", "10s", "1h30m". A
 * bare number other than 0 is an error ("write 10s"): 10 could mean seconds
 * or milliseconds, and the reader would be guessing. */
int yamlcfg_duration(struct yamlcfg *cfg, yaml_node_t *node, double *seconds);
int yamlcfg_duration_ms(struct yamlcfg *cfg, yaml_node_t *node, int64_t *ms);
/* As above in nanoseconds, where a bare number means bare_unit_ns (0: an
 * error): for the few keys that took bare numbers before the grammar was
 * shared (chaos.max_latency in ms, ...), documented at each key. */
int yamlcfg_duration_ns(struct yamlcfg *cfg, yaml_node_t *node, int64_t bare_unit_ns, int64_t *ns);
/* Bytes (grammar_size): 65536, 64KiB, 1MiB, 10MB; within [min, max]. */
int yamlcfg_size(struct yamlcfg *cfg, yaml_node_t *node, uint64_t min, uint64_t max,
		 uint64_t *bytes);
/* Text forms for flags and fields outside a YAML node: the unit is required
 * (0 aside), or a bare number is seconds (for flags whose help says so). */
int yamlcfg_parse_duration_unit(const char *text, double *seconds);
int yamlcfg_parse_duration(const char *text, double *seconds);

#endif
