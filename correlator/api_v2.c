/*
 * Alertmanager's API v2, as amtool and Grafana use it (docs/correlator.md).
 * Long file: the routes share one filter parser and the JSON shapes of
 * Alertmanager's OpenAPI; split by route, every helper would be exported.
 */
#include "api_v2.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "matcher.h"
#include "util.h"

/* Later than any real time: an alert with no end shows Go's zero time. */
#define LAST_SHOWN_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */

struct corr_api_v2 {
	struct corr_engine *engine;
	int64_t started_ms;
	char *original;
};

/* ------------------------------------------------------------ config */

static int is_secret_key(const char *p, size_t n)
{
	static const char *const keys[] = {
		"api_url",  "slack_api_url", "routing_key", "service_key",
		"password", "bearer_token",  "token",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == n && !strncmp(p, keys[i], n))
			return 1;
	return 0;
}

/* One line, with a secret's value replaced, appended to out. */
static void put_line(FILE *out, const char *line, size_t len)
{
	const char *p = line, *end = line + len;

	while (p < end && (*p == ' ' || *p == '-'))
		p++;
	const char *key = p;
	while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	if (p < end && *p == ':' && is_secret_key(key, (size_t)(p - key))) {
		const char *v = p + 1;
		while (v < end && *v == ' ')
			v++;
		if (v < end && *v != '#') {
			fprintf(out, "%.*s <secret>\n", (int)(p + 1 - line), line);
			return;
		}
	}
	fprintf(out, "%.*s\n", (int)len, line);
}

char *corr_api_v2_original_config(const char *text)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	int skipping = 0;

	if (!out)
		return NULL;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		/* A top-level key starts at column 0; comments and blanks belong to the
		 * block. */
		int top = len && line[0] != ' ' && line[0] != '\t' && line[0] != '#' &&
			  line[0] != '\r';
		if (top)
			skipping = !strncmp(line, "seismo:", 7);
		if (!skipping)
			put_line(out, line, len);
		line += len + (nl ? 1 : 0);
	}
	fclose(out);
	return buf;
}

struct corr_api_v2 *corr_api_v2_new(struct corr_engine *e)
{
	struct corr_api_v2 *api = calloc(1, sizeof(*api));
	const struct corr_config *cfg = corr_engine_config(e);
	char *text = NULL;

	if (!api)
		return NULL;
	api->engine = e;
	api->started_ms = corr_now_ms();
	if (cfg->path)
		text = corr_read_small_file(cfg->path, 16 << 20);
	if (cfg->path && !text)
		log_warn("api: cannot read %s again for /api/v2/status", cfg->path);
	api->original = corr_api_v2_original_config(
		text ? text : "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
	free(text);
	return api;
}

void corr_api_v2_free(struct corr_api_v2 *api)
{
	if (!api)
		return;
	free(api->original);
	free(api);
}

/* ----------------------------------------------------------- filters */

struct filters {
	struct corr_matchers matchers;
	int active, silenced, inhibited, unprocessed;
	int has_receiver;
	regex_t receiver;
	char err[512];
};

static int parse_bool(const char *key, const char *v, int *out, char *err, size_t errlen)
{
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else {
		snprintf(err, errlen, "%s: must be true or false, not \"%.32s\"", key, v);
		return -1;
	}
	return 0;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct filters *f = cls;
	char e[200];

	(void)kind;
	if (f->err[0])
		return MHD_NO;
	if (!value)
		value = "";
	if (!strcmp(key, "filter")) {
		if (corr_matchers_parse(&f->matchers, value, e, sizeof(e)))
			snprintf(f->err, sizeof(f->err), "filter \"%.64s\": %s", value, e);
	} else if (!strcmp(key, "active")) {
		parse_bool(key, value, &f->active, f->err, sizeof(f->err));
	} else if (!strcmp(key, "silenced")) {
		parse_bool(key, value, &f->silenced, f->err, sizeof(f->err));
	} else if (!strcmp(key, "inhibited")) {
		parse_bool(key, value, &f->inhibited, f->err, sizeof(f->err));
	} else if (!strcmp(key, "unprocessed")) {
		parse_bool(key, value, &f->unprocessed, f->err, sizeof(f->err));
	} else if (!strcmp(key, "receiver") && value[0] && !f->has_receiver) {
		/* Anchored like Alertmanager's ^(?:receiver)$. */
		size_t l = strlen(value) + 5;
		char *re = malloc(l);
		if (!re) {
			snprintf(f->err, sizeof(f->err), "out of memory");
			return MHD_NO;
		}
		snprintf(re, l, "^(%s)$", value);
		if (regcomp(&f->receiver, re, REG_EXTENDED | REG_NOSUB))
			snprintf(f->err, sizeof(f->err), "receiver: \"%.64s\" is not a valid regex",
				 value);
		else
			f->has_receiver = 1;
		free(re);
	}
	return f->err[0] ? MHD_NO : MHD_YES;
}

static int filters_parse(struct MHD_Connection *c, struct filters *f)
{
	memset(f, 0, sizeof(*f));
	f->active = f->silenced = f->inhibited = f->unprocessed = 1;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, f);
	return f->err[0] ? -1 : 0;
}

static void filters_free(struct filters *f)
{
	corr_matchers_free(&f->matchers);
	if (f->has_receiver)
		regfree(&f->receiver);
}

static int receivers_match(const struct filters *f, const char *const *names, size_t n)
{
	if (!f->has_receiver)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!regexec(&f->receiver, names[i], 0, NULL, 0))
			return 1;
	return 0;
}

/* Alertmanager's alertFilter: resolved alerts are never listed. */
static int alert_passes(const struct filters *f, const struct corr_alert_state *st, int64_t now_ms)
{
	if (corr_alert_resolved(st->alert, now_ms))
		return 0;
	int muted = st->n_silenced || st->inhibited_by;
	if (!f->active && !muted)
		return 0;
	if (!f->silenced && st->n_silenced)
		return 0;
	if (!f->inhibited && st->inhibited_by)
		return 0;
	return corr_matchers_match(&f->matchers, &st->alert->labels);
}

/* ------------------------------------------------------------ alerts */

static void time_field(json_t *o, const char *key, int64_t ms)
{
	char buf[40];

	corr_time_format(ms > 0 && ms <= LAST_SHOWN_MS ? ms : 0, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
}

/* Alertmanager's gettableAlert. */
static json_t *alert_json(const struct corr_alert_state *st)
{
	const struct corr_alert *a = st->alert;
	json_t *o = json_object(), *rcv = json_array(), *sil = json_array(), *inh = json_array();
	char fp[17];

	if (!o || !rcv || !sil || !inh) {
		json_decref(o);
		json_decref(rcv);
		json_decref(sil);
		json_decref(inh);
		return NULL;
	}
	for (size_t i = 0; i < st->n_receivers; i++)
		json_array_append_new(rcv, json_pack("{s:s}", "name", st->receivers[i]));
	for (size_t i = 0; i < st->n_silenced; i++)
		json_array_append_new(sil, json_string(st->silenced_by[i]));
	if (st->inhibited_by) {
		snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)st->inhibited_by->fp);
		json_array_append_new(inh, json_string(fp));
	}
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)a->fp);
	json_object_set_new(o, "labels", corr_labels_to_json(&a->labels));
	json_object_set_new(o, "annotations", corr_labels_to_json(&a->annotations));
	time_field(o, "startsAt", a->starts_at_ms);
	time_field(o, "endsAt", a->ends_at_ms);
	time_field(o, "updatedAt", a->updated_at_ms ? a->updated_at_ms : a->starts_at_ms);
	json_object_set_new(o, "generatorURL",
			    json_string(a->generator_url ? a->generator_url : ""));
	json_object_set_new(o, "fingerprint", json_string(fp));
	json_object_set_new(o, "receivers", rcv);
	json_object_set_new(o, "status",
			    json_pack("{s:s,s:o,s:o}", "state",
				      st->n_silenced || st->inhibited_by ? "suppressed" : "active",
				      "silencedBy", sil, "inhibitedBy", inh));
	return o;
}

struct alerts_walk {
	const struct filters *f;
	int64_t now_ms;
	json_t *out;
};

static void on_alert(const struct corr_alert_state *st, void *arg)
{
	struct alerts_walk *w = arg;

	if (alert_passes(w->f, st, w->now_ms) &&
	    receivers_match(w->f, st->receivers, st->n_receivers))
		json_array_append_new(w->out, alert_json(st));
}

static int by_fingerprint(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "fingerprint")),
		      json_string_value(json_object_get(*(json_t *const *)b, "fingerprint")));
}

/* Sorts a JSON array in place with cmp over its elements. */
static void sort_array(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static json_t *get_alerts(struct corr_api_v2 *api, const struct filters *f)
{
	struct alerts_walk w = { f, corr_now_ms(), json_array() };

	if (!w.out)
		return NULL;
	corr_dispatch_each_alert(corr_engine_dispatch(api->engine), w.now_ms, on_alert, &w);
	sort_array(w.out, by_fingerprint);
	return w.out;
}

static void on_group(const struct corr_labels *labels, const char *receiver,
		     const struct corr_alert_state *alerts, size_t n, void *arg)
{
	struct alerts_walk *w = arg;
	const char *names[1] = { receiver };

	if (!receivers_match(w->f, names, 1))
		return;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (alert_passes(w->f, &alerts[i], w->now_ms))
			json_array_append_new(arr, alert_json(&alerts[i]));
	if (!json_array_size(arr)) {
		json_decref(arr);
		return;
	}
	sort_array(arr, by_fingerprint);
	json_array_append_new(w->out,
			      json_pack("{s:o,s:{s:s},s:o}", "labels", corr_labels_to_json(labels),
					"receiver", "name", receiver, "alerts", arr));
}

/* Alertmanager's AlertGroups order: by labels (LabelSet.Before), then receiver.
 */
static int group_order(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	struct corr_alert la = { 0 }, lb = { 0 };
	char err[64];
	int c;

	corr_labels_from_json(&la.labels, json_object_get(x, "labels"), "", err, sizeof(err));
	corr_labels_from_json(&lb.labels, json_object_get(y, "labels"), "", err, sizeof(err));
	/* The job/instance rule of alerts does not apply to groups: compare sets. */
	if (corr_labels_equal(&la.labels, &lb.labels))
		c = strcmp(
			json_string_value(json_object_get(json_object_get(x, "receiver"), "name")),
			json_string_value(json_object_get(json_object_get(y, "receiver"), "name")));
	else
		c = corr_labels_before(&la.labels, &lb.labels) ? -1 : 1;
	corr_labels_free(&la.labels);
	corr_labels_free(&lb.labels);
	return c;
}

static json_t *get_groups(struct corr_api_v2 *api, const struct filters *f)
{
	struct alerts_walk w = { f, corr_now_ms(), json_array() };

	if (!w.out)
		return NULL;
	corr_dispatch_each_group(corr_engine_dispatch(api->engine), w.now_ms, on_group, &w);
	sort_array(w.out, group_order);
	return w.out;
}

/* ---------------------------------------------------------- silences */

/* The stored silence as Alertmanager's gettableSilence (every field there). */
static void silence_normalise(json_t *s)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(s, "matchers"), i, m) {
		if (!json_is_boolean(json_object_get(m, "isEqual")))
			json_object_set_new(m, "isEqual", json_true());
		if (!json_is_boolean(json_object_get(m, "isRegex")))
			json_object_set_new(m, "isRegex", json_false());
	}
	if (!json_is_string(json_object_get(s, "createdBy")))
		json_object_set_new(s, "createdBy", json_string(""));
	if (!json_is_string(json_object_get(s, "comment")))
		json_object_set_new(s, "comment", json_string(""));
	if (!json_is_string(json_object_get(s, "updatedAt")))
		json_object_set(s, "updatedAt", json_object_get(s, "startsAt"));
}

/* Alertmanager's silenceMatchesFilterLabels: a filter is checked against
 * the silence's own matchers read as labels. */
static int silence_passes(json_t *s, const struct corr_matchers *filters)
{
	struct corr_labels ls = { 0 };
	size_t i;
	json_t *m;
	int ok = 1;

	json_array_foreach(json_object_get(s, "matchers"), i, m) {
		const char *n = json_string_value(json_object_get(m, "name"));
		const char *v = json_string_value(json_object_get(m, "value"));
		if (n && v)
			corr_labels_set(&ls, n, v);
	}
	for (i = 0; ok && i < filters->n; i++) {
		const struct corr_matcher *f = &filters->v[i];
		int positive = f->op == CORR_MATCH_EQ || f->op == CORR_MATCH_RE;
		if ((positive && !corr_labels_get(&ls, f->name)) || !corr_matcher_matches(f, &ls))
			ok = 0;
	}
	corr_labels_free(&ls);
	return ok;
}

static int silence_rank(json_t *s)
{
	const char *state =
		json_string_value(json_object_get(json_object_get(s, "status"), "state"));

	return !state ? 3 : !strcmp(state, "active") ? 0 : !strcmp(state, "pending") ? 1 : 2;
}

static int64_t silence_time(json_t *s, const char *key)
{
	int64_t ms = 0;

	corr_time_parse(json_string_value(json_object_get(s, key)), &ms);
	return ms;
}

/* Alertmanager's sortSilences: active (ending soonest first), pending
 * (starting soonest first), expired (most recently ended first). */
static int silence_order(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int rx = silence_rank(x), ry = silence_rank(y);
	int64_t tx, ty;

	if (rx != ry)
		return rx - ry;
	if (rx == 1) {
		tx = silence_time(x, "startsAt");
		ty = silence_time(y, "startsAt");
	} else {
		tx = silence_time(x, "endsAt");
		ty = silence_time(y, "endsAt");
	}
	if (rx == 2)
		return tx > ty ? -1 : tx < ty;
	return tx < ty ? -1 : tx > ty;
}

static json_t *get_silences(struct corr_api_v2 *api, const struct filters *f)
{
	json_t *all = corr_dispatch_silences_json(corr_engine_dispatch(api->engine), corr_now_ms());
	json_t *out = json_array();
	size_t i;
	json_t *s;

	json_array_foreach(all, i, s) {
		if (!silence_passes(s, &f->matchers))
			continue;
		silence_normalise(s);
		json_array_append(out, s);
	}
	json_decref(all);
	sort_array(out, silence_order);
	return out;
}

/* ------------------------------------------------------------ status */

static json_t *get_status(struct corr_api_v2 *api)
{
	char up[40];
	json_t *cluster = corr_engine_cluster_json(api->engine);

	corr_time_format(api->started_ms, up, sizeof(up));
	if (!cluster)
		cluster = json_pack("{s:s,s:s,s:[]}", "name", "", "status", "disabled", "peers");
	return json_pack("{s:o,s:{s:s},s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s}}", "cluster", cluster,
			 "config", "original", api->original ? api->original : "", "uptime", up,
			 "versionInfo", "version", SEISMO_VERSION, "branch", "", "buildDate", "",
			 "buildUser", "", "goVersion", "none (seismo-correlator is C)", "revision",
			 "");
}

static json_t *get_receivers(struct corr_api_v2 *api)
{
	const struct corr_config *cfg = corr_engine_config(api->engine);
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < cfg->n_receivers; i++)
		json_array_append_new(arr, json_pack("{s:s}", "name", cfg->receivers[i].name));
	return arr;
}

/* ------------------------------------------------------------- route */

int corr_api_v2_get(struct corr_api_v2 *api, struct MHD_Connection *c, const char *url,
		    unsigned *status, json_t **body)
{
	struct filters f;
	int alerts = !strcmp(url, "/api/v2/alerts"), groups = !strcmp(url, "/api/v2/alerts/groups");

	*status = 200;
	if (alerts || groups || !strcmp(url, "/api/v2/silences")) {
		if (filters_parse(c, &f)) {
			*status = 400;
			*body = json_pack("{s:s}", "error", f.err);
		} else {
			*body = alerts	 ? get_alerts(api, &f)
				: groups ? get_groups(api, &f)
					 : get_silences(api, &f);
		}
		filters_free(&f);
	} else if (!strncmp(url, "/api/v2/silence/", 16)) {
		*body = corr_dispatch_silence_json(corr_engine_dispatch(api->engine), url + 16,
						   corr_now_ms());
		if (*body) {
			silence_normalise(*body);
		} else {
			*status = 404;
			*body = json_pack("{s:s}", "error", "no such silence");
		}
	} else if (!strcmp(url, "/api/v2/receivers")) {
		*body = get_receivers(api);
	} else if (!strcmp(url, "/api/v2/status")) {
		*body = get_status(api);
	} else {
		return 0;
	}
	return 1;
}
