/*
 * libFuzzer target for the YAML reader every config shares (common/
 * yamlcfg.c) and its grammar (common/grammar.c): whatever a config file
 * holds, loading it and reading every value as each kind must neither crash
 * nor leak, an error must name file:line:column, and an accepted value must
 * be one the grammar documents. Aliases, anchors and deep nesting included.
 * Built by `make build/fuzz/yamlcfg_fuzz` (mk/common.mk); run by
 * tests/integration/config_fuzz.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grammar.h"
#include "yamlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.yaml"

/* "fuzz.yaml:LINE:COLUMN: " and a message. */
static void check_error(const struct yamlcfg *y)
{
	unsigned line, column;
	int used = 0;

	if (sscanf(y->error, NAME ":%u:%u: %n", &line, &column, &used) != 2 || !used || !line ||
	    !column || !y->error[used])
		abort();
}

/* Reads node as every kind of scalar; each verdict must match the grammar's. */
static void read_scalar(struct yamlcfg *y, yaml_node_t *node)
{
	const char *text = (const char *)node->data.scalar.value;
	bool b = false, gb = false;
	double seconds = -1;
	int64_t ns = -1, gns;
	uint64_t bytes, gbytes;
	unsigned long ul;
	char buf[64], path[256];

	yamlcfg_path(y, node, path, sizeof(path));
	y->error[0] = 0;
	if (!yamlcfg_bool(y, node, &b) != !grammar_bool(text, &gb) || (y->error[0] == 0 && b != gb))
		abort();
	if (y->error[0])
		check_error(y);
	y->error[0] = 0;
	if (!yamlcfg_duration_ns(y, node, 0, &ns)) {
		if (grammar_duration(text, 0, &gns) || ns != gns || ns < 0)
			abort();
	} else {
		check_error(y);
	}
	y->error[0] = 0;
	if (!yamlcfg_duration(y, node, &seconds) && seconds < 0)
		abort();
	y->error[0] = 0;
	if (!yamlcfg_size(y, node, 0, UINT64_MAX, &bytes)) {
		if (grammar_size(text, &gbytes) || bytes != gbytes)
			abort();
	} else {
		check_error(y);
	}
	y->error[0] = 0;
	if (!yamlcfg_uint(y, node, 10, 1000, &ul) && (ul < 10 || ul > 1000))
		abort();
	y->error[0] = 0;
	if (!yamlcfg_string(y, node, buf, sizeof(buf)) && strlen(buf) >= sizeof(buf))
		abort();
	y->error[0] = 0;
}

/* Every node once (aliases share nodes: the document's node table, not a
 * walk, so a cycle cannot loop). */
static void read_all(struct yamlcfg *y)
{
	static const char *const allowed[] = { "a", "b", "interval", NULL };
	char path[256];

	for (yaml_node_t *n = y->doc.nodes.start; n < y->doc.nodes.top; n++) {
		yamlcfg_path(y, n, path, sizeof(path));
		if (n->type == YAML_SCALAR_NODE) {
			read_scalar(y, n);
		} else if (n->type == YAML_MAPPING_NODE) {
			(void)yamlcfg_get(y, n, "interval");
			if (yamlcfg_check_keys(y, n, allowed, "fuzz"))
				check_error(y);
			y->error[0] = 0;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yamlcfg y;
	char text[64];

	if (yamlcfg_load_string(&y, NAME, (const char *)data, size)) {
		check_error(&y);
	} else {
		read_all(&y);
	}
	yamlcfg_free(&y);
	/* The grammar on the raw bytes too, as a flag's value would reach it. */
	if (size < sizeof(text)) {
		int64_t ns;
		uint64_t bytes;
		bool b;

		memcpy(text, data, size);
		text[size] = 0;
		if (!grammar_duration(text, GRAMMAR_NS_PER_S, &ns) && ns < 0)
			abort();
		(void)grammar_size(text, &bytes);
		if (!grammar_bool(text, &b) && strcasecmp(text, b ? "true" : "false") &&
		    !strchr("yYnN01oO", text[0]))
			abort();
	}
	return 0;
}
