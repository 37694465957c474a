/*
 * Internal to the correlator's config reader, which is split by section:
 * config.c (the document, global/seismo, defaults, load/free),
 * config_yaml.c (typed readers over common/yamlcfg.c), config_route.c
 * (the routing tree and inhibit rules), config_receivers.c (receivers and
 * their integrations). Not for other modules: they use config.h.
 */
#ifndef CORR_CONFIG_INT_H
#define CORR_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "yamlcfg.h"

/* Everything the walk over one YAML document needs. The document, its
 * errors ("file:line:column: ...") and the scalar grammar are common/
 * yamlcfg.c's, shared with every other config reader. */
struct cfg_parse {
	struct yamlcfg y;
	struct corr_config *cfg;
	const char *name;
};

/* Sets the error ("file:line:column: ...") once; returns -1. */
int corr_cfg_fail(struct cfg_parse *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void corr_cfg_warn(struct cfg_parse *p, const yaml_node_t *n, const char *what);
const char *corr_cfg_scalar(const yaml_node_t *n);
yaml_node_t *corr_cfg_node(struct cfg_parse *p, int id);

/* Calls fn for each key of a mapping; fn returns 0 or -1. */
typedef int (*corr_cfg_pair_fn)(struct cfg_parse *p, const char *key, yaml_node_t *key_node,
				yaml_node_t *val, void *arg);

int corr_cfg_each_pair(struct cfg_parse *p, yaml_node_t *map, const char *what, corr_cfg_pair_fn fn,
		       void *arg);

/* Typed values: the shared grammar for booleans, durations (ms) and sizes. */
int corr_cfg_str(struct cfg_parse *p, yaml_node_t *v, const char *key, char **out);
int corr_cfg_bool(struct cfg_parse *p, yaml_node_t *v, const char *key, bool *out);
int corr_cfg_duration(struct cfg_parse *p, yaml_node_t *v, const char *key, int64_t *out);
int corr_cfg_size(struct cfg_parse *p, yaml_node_t *v, uint64_t min, uint64_t max, size_t *out);
int corr_cfg_long(struct cfg_parse *p, yaml_node_t *v, const char *key, long min, long max,
		  long *out);
int corr_cfg_str_list(struct cfg_parse *p, yaml_node_t *v, const char *key, char ***out, size_t *n);
void corr_cfg_free_str_list(char **list, size_t n);
/* match: {k: v} / match_re: {k: re}, and matchers: ['k = v'] lists. */
int corr_cfg_match_map(struct cfg_parse *p, yaml_node_t *v, const char *key, enum corr_match_op op,
		       struct corr_matchers *ms);
int corr_cfg_matcher_list(struct cfg_parse *p, yaml_node_t *v, const char *key,
			  struct corr_matchers *ms);

/* Sections (receivers first: routes check the receivers they name). */
int corr_cfg_parse_receivers(struct cfg_parse *p, yaml_node_t *v, struct corr_config *cfg);
int corr_cfg_parse_route(struct cfg_parse *p, yaml_node_t *n, struct corr_route *r,
			 struct corr_route *parent);
int corr_cfg_parse_inhibit(struct cfg_parse *p, yaml_node_t *v, struct corr_config *cfg);
void corr_cfg_free_route(struct corr_route *r);
void corr_cfg_free_integration(struct corr_integration *in);

#endif
