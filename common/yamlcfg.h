/* Reading YAML configuration with libyaml's document API, with errors that
 * name the file, line and key. Shared by every config reader. */
#ifndef SEISMO_YAMLCFG_H
#define SEISMO_YAMLCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

struct yamlcfg {
	yaml_document_t doc;
	const char *file; /* for messages */
	char error[512];  /* first error, "file:line: message" */
	bool loaded;
};

/* Loads from a file, or from text when file is NULL (name used in messages).
 * Returns 0, or -1 with cfg->error set. An empty document is an empty map. */
int yamlcfg_load_file(struct yamlcfg *cfg, const char *path);
int yamlcfg_load_string(struct yamlcfg *cfg, const char *name, const char *text, size_t len);
void yamlcfg_free(struct yamlcfg *cfg);

yaml_node_t *yamlcfg_root(struct yamlcfg *cfg);
/* Child of a mapping by key, or NULL. */
yaml_node_t *yamlcfg_get(struct yamlcfg *cfg, yaml_node_t *map, const char *key);
/* Sets cfg->error ("file:line: ...") if not set yet; returns -1. */
int yamlcfg_fail(struct yamlcfg *cfg, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fails on any key of map not in allowed (NULL-terminated): typos are errors. */
int yamlcfg_check_keys(struct yamlcfg *cfg, yaml_node_t *map, const char *const *allowed,
		       const char *where);

/* Scalar readers: return 0 (and leave *out alone) when node is NULL. */
int yamlcfg_string(struct yamlcfg *cfg, yaml_node_t *node, char *out, size_t size);
int yamlcfg_bool(struct yamlcfg *cfg, yaml_node_t *node, bool *out);
int yamlcfg_uint(struct yamlcfg *cfg, yaml_node_t *node, unsigned long min, unsigned long max,
		 unsigned long *out);
int yamlcfg_double(struct yamlcfg *cfg, yaml_node_t *node, double min, double max, double *out);
/* A duration with its unit: "250ms", "10s", "5m", "1h", "7d", "1w". A bare
 * number other than 0 is an error ("write 10s"): 10 could mean seconds or
 * milliseconds, and the reader would be guessing. */
int yamlcfg_duration(struct yamlcfg *cfg, yaml_node_t *node, double *seconds);
int yamlcfg_parse_duration_unit(const char *text, double *seconds);
/* As above, but a bare number is seconds (for tools whose flags say so). */
int yamlcfg_parse_duration(const char *text, double *seconds);

#endif
