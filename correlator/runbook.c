/* Runbook lookups, names and ${label} templates. */
#include "runbook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct corr_runbook *corr_runbooks_find(const struct corr_runbooks *rbs, const char *name)
{
	for (size_t i = 0; rbs && i < rbs->n; i++)
		if (!strcmp(rbs->v[i].name, name))
			return &rbs->v[i];
	return NULL;
}

const char *corr_rb_mode_name(enum rb_mode m)
{
	switch (m) {
	case RB_SUGGEST:
		return "suggest";
	case RB_APPROVE:
		return "approve";
	case RB_AUTO:
		return "auto";
	}
	return "unknown";
}

const char *corr_rb_kind_name(enum rb_kind k)
{
	switch (k) {
	case RB_WEBHOOK:
		return "webhook";
	case RB_EXEC:
		return "exec";
	case RB_KUBERNETES:
		return "kubernetes";
	case RB_AGENT:
		return "agent";
	}
	return "unknown";
}

const char *corr_rb_kube_verb_name(enum rb_kube_verb v)
{
	switch (v) {
	case RB_KUBE_ROLLOUT_RESTART:
		return "rollout-restart";
	case RB_KUBE_SCALE:
		return "scale";
	case RB_KUBE_DELETE_POD:
		return "delete-pod";
	case RB_KUBE_CORDON:
		return "cordon";
	}
	return "unknown";
}

char *corr_rb_expand(const char *tmpl, const struct corr_labels *ls, char *err, size_t errlen)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (const char *p = tmpl; *p;) {
		const char *end;
		if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}'))) {
			char name[128];
			snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
			const char *v = corr_labels_get(ls, name);
			if (!v) {
				fclose(f);
				free(out);
				snprintf(err, errlen, "the incident has no label \"%s\" for ${%s}",
					 name, name);
				return NULL;
			}
			fputs(v, f);
			p = end + 1;
			continue;
		}
		fputc(*p++, f);
	}
	if (fclose(f)) {
		free(out);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return out;
}
