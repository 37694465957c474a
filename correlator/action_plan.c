/*
 * A runbook's steps made concrete for one incident: ${label} templates
 * expanded, every setting an executor needs copied in. The plan is stored
 * with the action, so what a person approves is exactly what runs, even
 * after a restart with a changed config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_int.h"

static int put_expanded(json_t *o, const char *key, const char *tmpl, const struct corr_labels *ls,
			char *err, size_t errlen)
{
	if (!tmpl)
		return 0;
	char *v = corr_rb_expand(tmpl, ls, err, errlen);
	if (!v)
		return -1;
	json_object_set_new(o, key, json_string(v));
	free(v);
	return 0;
}

static json_t *plan_step(const struct rb_step *st, const struct corr_labels *ls, char *err,
			 size_t errlen)
{
	json_t *o = json_pack("{s:s,s:I}", "kind", corr_rb_kind_name(st->kind), "timeout_ms",
			      (json_int_t)st->timeout_ms);

	if (!o)
		return NULL;
	switch (st->kind) {
	case RB_WEBHOOK:
		if (put_expanded(o, "url", st->url, ls, err, errlen))
			goto fail;
		break;
	case RB_EXEC: {
		json_t *argv = json_array();
		json_object_set_new(o, "command", argv);
		for (size_t i = 0; i < st->argc; i++) {
			char *v = corr_rb_expand(st->argv[i], ls, err, errlen);
			if (!v)
				goto fail;
			json_array_append_new(argv, json_string(v));
			free(v);
		}
		break;
	}
	case RB_KUBERNETES:
		json_object_set_new(o, "action", json_string(corr_rb_kube_verb_name(st->verb)));
		if ((st->resource && put_expanded(o, "resource", st->resource, ls, err, errlen)) ||
		    put_expanded(o, "namespace", st->namespace_, ls, err, errlen) ||
		    put_expanded(o, "name", st->name, ls, err, errlen))
			goto fail;
		if (st->verb == RB_KUBE_SCALE) {
			json_object_set_new(o, st->has_add ? "add" : "replicas",
					    json_integer(st->has_add ? st->add : st->replicas));
			json_object_set_new(o, "min", json_integer(st->min_replicas));
			json_object_set_new(o, "max", json_integer(st->max_replicas));
		}
		if (st->verb == RB_KUBE_DELETE_POD && st->grace_seconds >= 0)
			json_object_set_new(o, "grace_period_seconds",
					    json_integer(st->grace_seconds));
		break;
	case RB_AGENT:
		json_object_set_new(o, "action", json_string(st->agent_action));
		if (put_expanded(o, "url", st->url, ls, err, errlen) ||
		    put_expanded(o,
				 !strcmp(st->agent_action, "systemd-restart") ? "unit"
									      : "experiment",
				 st->agent_arg, ls, err, errlen))
			goto fail;
		break;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *action_plan(const struct corr_runbook *rb, const struct corr_labels *labels, char *err,
		    size_t errlen)
{
	json_t *plan = json_array();

	for (size_t i = 0; plan && i < rb->n_steps; i++) {
		json_t *s = plan_step(&rb->steps[i], labels, err, errlen);
		if (!s) {
			json_decref(plan);
			return NULL;
		}
		json_array_append_new(plan, s);
	}
	return plan;
}

static void step_text(json_t *s, FILE *f)
{
	const char *kind = json_string_value(json_object_get(s, "kind"));
	const char *act = json_string_value(json_object_get(s, "action"));

	if (!strcmp(kind, "webhook")) {
		fprintf(f, "webhook POST %s", json_string_value(json_object_get(s, "url")));
	} else if (!strcmp(kind, "exec")) {
		size_t i;
		json_t *v;
		fputs("exec", f);
		json_array_foreach(json_object_get(s, "command"), i, v)
			fprintf(f, " %s", json_string_value(v));
	} else if (!strcmp(kind, "kubernetes")) {
		const char *res = json_string_value(json_object_get(s, "resource"));
		const char *ns = json_string_value(json_object_get(s, "namespace"));
		fprintf(f, "kubernetes %s %s%s%s%s%s", act, res ? res : "", res ? "/" : "",
			ns ? ns : "", ns ? "/" : "", json_string_value(json_object_get(s, "name")));
		if (json_object_get(s, "add"))
			fprintf(f, " add %lld (%lld..%lld)",
				(long long)json_integer_value(json_object_get(s, "add")),
				(long long)json_integer_value(json_object_get(s, "min")),
				(long long)json_integer_value(json_object_get(s, "max")));
		else if (json_object_get(s, "replicas"))
			fprintf(f, " to %lld",
				(long long)json_integer_value(json_object_get(s, "replicas")));
	} else {
		const char *arg = json_string_value(json_object_get(s, "unit"));
		fprintf(f, "agent %s %s %s", json_string_value(json_object_get(s, "url")), act,
			arg ? arg : json_string_value(json_object_get(s, "experiment")));
	}
}

char *action_plan_text(json_t *plan)
{
	char *out = NULL;
	size_t len = 0, i;
	json_t *s;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	json_array_foreach(plan, i, s) {
		if (i)
			fputs("; ", f);
		step_text(s, f);
	}
	fclose(f);
	return out;
}
