/* Silences: added, updated, expired, and their API views. */
#include "dispatch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "util.h"

static int silence_matchers(json_t *arr, struct corr_matchers *ms, char *err, size_t errlen)
{
	size_t i;
	json_t *m;

	if (!json_is_array(arr) || !json_array_size(arr)) {
		snprintf(err, errlen, "matchers: must be a non-empty array");
		return -1;
	}
	json_array_foreach(arr, i, m) {
		json_t *name = json_object_get(m, "name"), *value = json_object_get(m, "value");
		json_t *re = json_object_get(m, "isRegex"), *eq = json_object_get(m, "isEqual");
		if (!json_is_string(name) || !json_is_string(value) ||
		    (re && !json_is_boolean(re)) || (eq && !json_is_boolean(eq))) {
			snprintf(
				err, errlen,
				"matchers[%zu]: needs string name and value, boolean isRegex/isEqual",
				i);
			return -1;
		}
		int regex = json_is_true(re), equal = !eq || json_is_true(eq);
		enum corr_match_op op = regex ? (equal ? CORR_MATCH_RE : CORR_MATCH_NRE)
					      : (equal ? CORR_MATCH_EQ : CORR_MATCH_NE);
		char e[300];
		if (corr_matchers_add(ms, json_string_value(name), op, json_string_value(value), e,
				      sizeof(e))) {
			snprintf(err, errlen, "matchers[%zu]: %s", i, e);
			return -1;
		}
	}
	return 0;
}

static void new_silence_id(char *id)
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t t = (uint64_t)corr_now_ms();
		memset(r, 0, sizeof(r));
		memcpy(r, &t, sizeof(t));
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(id, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
}

int corr_dispatch_add_silence(struct corr_dispatch *d, json_t *body, int64_t now_ms, char *id,
			      char *err, size_t errlen)
{
	struct silence s = { 0 };
	json_t *starts = json_object_get(body, "startsAt"), *ends = json_object_get(body, "endsAt");
	json_t *given = json_object_get(body, "id");

	if (!json_is_object(body)) {
		snprintf(err, errlen, "silence: must be a JSON object");
		return -1;
	}
	if (silence_matchers(json_object_get(body, "matchers"), &s.matchers, err, errlen))
		goto fail;
	if (!json_is_string(ends) || corr_time_parse(json_string_value(ends), &s.ends_ms)) {
		snprintf(err, errlen, "endsAt: must be an RFC 3339 timestamp");
		goto fail;
	}
	s.starts_ms = now_ms;
	if (starts && !json_is_null(starts) &&
	    (!json_is_string(starts) || corr_time_parse(json_string_value(starts), &s.starts_ms))) {
		snprintf(err, errlen, "startsAt: must be an RFC 3339 timestamp");
		goto fail;
	}
	if (s.ends_ms <= s.starts_ms) {
		snprintf(err, errlen, "endsAt must be after startsAt");
		goto fail;
	}
	if (given && json_is_string(given) && json_string_length(given) == 36)
		snprintf(s.id, sizeof(s.id), "%s", json_string_value(given));
	else
		new_silence_id(s.id);
	s.body = json_deep_copy(body);
	if (!s.body) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_object_set_new(s.body, "id", json_string(s.id));
	/* A stored silence keeps its time; a new or changed one is stamped now. */
	if (!json_is_string(json_object_get(s.body, "updatedAt"))) {
		char stamp[32];
		corr_time_format(now_ms, stamp, sizeof(stamp));
		json_object_set_new(s.body, "updatedAt", json_string(stamp));
	}
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_silences; i++)
		if (!strcmp(d->silences[i].id, s.id)) {
			corr_matchers_free(&d->silences[i].matchers);
			json_decref(d->silences[i].body);
			d->silences[i] = s;
			goto stored;
		}
	struct silence *g = realloc(d->silences, (d->n_silences + 1) * sizeof(*g));
	if (!g) {
		pthread_mutex_unlock(&d->lock);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	d->silences = g;
	d->silences[d->n_silences++] = s;
stored:
	pthread_mutex_unlock(&d->lock);
	memcpy(id, s.id, sizeof(s.id));
	return 0;
fail:
	corr_matchers_free(&s.matchers);
	json_decref(s.body);
	return -1;
}

int corr_dispatch_expire_silence(struct corr_dispatch *d, const char *id, int64_t now_ms)
{
	int rc = -1;
	char stamp[32];

	corr_time_format(now_ms, stamp, sizeof(stamp));
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_silences; i++)
		if (!strcmp(d->silences[i].id, id)) {
			if (d->silences[i].ends_ms > now_ms)
				d->silences[i].ends_ms = now_ms;
			json_object_set_new(d->silences[i].body, "endsAt", json_string(stamp));
			json_object_set_new(d->silences[i].body, "updatedAt", json_string(stamp));
			rc = 0;
		}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static json_t *silence_view(const struct silence *s, int64_t now_ms)
{
	json_t *j = json_deep_copy(s->body);
	const char *state = now_ms < s->starts_ms ? "pending"
			    : now_ms < s->ends_ms ? "active"
						  : "expired";

	if (j)
		json_object_set_new(j, "status", json_pack("{s:s}", "state", state));
	return j;
}

json_t *corr_dispatch_silences_json(struct corr_dispatch *d, int64_t now_ms)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; arr && i < d->n_silences; i++)
		json_array_append_new(arr, silence_view(&d->silences[i], now_ms));
	pthread_mutex_unlock(&d->lock);
	return arr;
}

json_t *corr_dispatch_silence_json(struct corr_dispatch *d, const char *id, int64_t now_ms)
{
	json_t *j = NULL;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_silences; i++)
		if (!strcmp(d->silences[i].id, id))
			j = silence_view(&d->silences[i], now_ms);
	pthread_mutex_unlock(&d->lock);
	return j;
}
