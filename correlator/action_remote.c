/*
 * The steps that act over HTTP:
 *   webhook     POST seismo.action/v1 JSON; retried like receivers are
 *               (seismo.notify_attempts, notify_backoff; 4xx other than
 *               408/429 is final)
 *   kubernetes  the API server's REST API with the service-account token
 *               and CA (in-cluster defaults): rollout-restart patches the
 *               pod template's kubectl.kubernetes.io/restartedAt
 *               annotation as kubectl does; scale reads the scale
 *               subresource and patches spec.replicas within min..max;
 *               delete-pod; cordon sets spec.unschedulable. Not retried:
 *               scale by add is not idempotent.
 *   agent       POST /api/v1/actions on a node's seismo agent, with the
 *               bearer token of actions.agent_token_file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "action_int.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v ? json_string(v) : json_null());
}

/* Response bodies are kept as text, bounded, in the audit. */
static void keep_response(json_t *result, long status, const char *body, const char *err)
{
	json_object_set_new(result, "http_status", json_integer(status));
	if (body) {
		json_t *s = json_string(body);
		json_object_set_new(result, "output", s ? s : json_string("(not UTF-8)"));
	}
	if (err && err[0])
		set_str(result, "error", err);
	json_object_set_new(result, "status",
			    json_string(status >= 200 && status < 300 ? "ok" : "failed"));
}

int action_run_webhook(const struct action_ctx *c, json_t *step, json_t *result)
{
	const struct corr_config *cfg = c->a->cfg;
	json_t *body = json_deep_copy(c->payload);
	char err[256] = "", *resp = NULL;
	long status = 0;
	int attempt;

	json_object_set_new(body, "version", json_string("seismo.action/v1"));
	json_object_set_new(body, "root_cause",
			    json_incref(json_object_get(c->labels, "root_cause")));
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	struct action_http rq = { .method = "POST",
				  .url = json_string_value(json_object_get(step, "url")),
				  .body = text,
				  .timeout_ms =
					  json_integer_value(json_object_get(step, "timeout_ms")) };
	for (attempt = 1; text; attempt++) {
		free(resp);
		err[0] = 0;
		status = action_http_do(&rq, &resp, err, sizeof(err));
		bool permanent = status >= 400 && status < 500 && status != 408 && status != 429;
		if ((status >= 200 && status < 300) || permanent ||
		    attempt >= cfg->notify_attempts || c->a->abort_now)
			break;
		int64_t delay = cfg->notify_backoff_ms << (attempt - 1);
		if (delay > 60000)
			delay = 60000;
		log_warn("actions: %s: webhook %s: %s; retry %d in %lld ms", c->id, rq.url,
			 err[0] ? err : "HTTP error", attempt, (long long)delay);
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	free(text);
	json_object_set_new(result, "attempts", json_integer(attempt));
	if (!err[0] && (status < 200 || status >= 300))
		snprintf(err, sizeof(err), "HTTP %ld", status);
	keep_response(result, status, resp, err);
	free(resp);
	return status >= 200 && status < 300 ? 0 : -1;
}

/* ---------------------------------------------------------- kubernetes */

struct kube {
	char api[512];
	char *token;
	const char *ca;
};

static int kube_open(const struct corr_runbooks *rbs, struct kube *k, char *err, size_t errlen)
{
	const char *tf = rbs->kube_token_file ? rbs->kube_token_file : SA_DIR "/token";

	if (rbs->kube_api) {
		snprintf(k->api, sizeof(k->api), "%s", rbs->kube_api);
	} else {
		const char *h = getenv("KUBERNETES_SERVICE_HOST"),
			   *p = getenv("KUBERNETES_SERVICE_PORT");
		if (!h) {
			snprintf(
				err, errlen,
				"no actions.kubernetes.api_server and not in a cluster (KUBERNETES_SERVICE_HOST unset)");
			return -1;
		}
		snprintf(k->api, sizeof(k->api),
			 strchr(h, ':') ? "https://[%s]:%s" : "https://%s:%s", h, p ? p : "443");
	}
	size_t l = strlen(k->api);
	if (l && k->api[l - 1] == '/')
		k->api[l - 1] = 0;
	/* Read per action: projected service-account tokens rotate. */
	k->token = corr_read_small_file(tf, 65536);
	if (!k->token) {
		snprintf(err, errlen, "service-account token %s: %s", tf, strerror(errno));
		return -1;
	}
	k->ca = rbs->kube_ca_file ? rbs->kube_ca_file : (rbs->kube_api ? NULL : SA_DIR "/ca.crt");
	return 0;
}

static long kube_call(const struct action_ctx *c, const struct kube *k, const char *method,
		      const char *path, const char *type, const char *body, int64_t timeout,
		      char **resp, char *err, size_t errlen)
{
	char url[1536];

	snprintf(url, sizeof(url), "%s%s", k->api, path);
	struct action_http rq = { .method = method,
				  .url = url,
				  .content_type = type,
				  .body = body,
				  .bearer = k->token,
				  .ca_file = k->ca,
				  .insecure = c->a->rbs->kube_insecure,
				  .timeout_ms = timeout };
	return action_http_do(&rq, resp, err, errlen);
}

/* Names go into URL paths: only what Kubernetes allows in object names. */
static bool kube_name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

int action_run_kubernetes(const struct action_ctx *c, json_t *step, json_t *result)
{
	const char *verb = json_string_value(json_object_get(step, "action"));
	const char *ns = json_string_value(json_object_get(step, "namespace"));
	const char *name = json_string_value(json_object_get(step, "name"));
	const char *res = json_string_value(json_object_get(step, "resource"));
	int64_t timeout = json_integer_value(json_object_get(step, "timeout_ms"));
	char err[1536] = "", path[1024], *resp = NULL, *body = NULL;
	const char *method = "PATCH", *type = "application/strategic-merge-patch+json";
	struct kube k = { 0 };
	long status = 0;

	if (!kube_name_ok(name) || (ns && !kube_name_ok(ns))) {
		snprintf(err, sizeof(err), "\"%s/%s\" is not a valid Kubernetes name", ns ? ns : "",
			 name ? name : "");
		keep_response(result, 0, NULL, err);
		return -1;
	}
	if (kube_open(c->a->rbs, &k, err, sizeof(err))) {
		keep_response(result, 0, NULL, err);
		return -1;
	}
	if (!strcmp(verb, "rollout-restart")) {
		char now[TIMEFMT_RFC3339_LEN];
		timefmt_rfc3339((int64_t)time(NULL) * 1000, false, now, sizeof(now));
		snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%s/%ss/%s", ns, res, name);
		json_t *p = json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template", "metadata",
				      "annotations", "kubectl.kubernetes.io/restartedAt", now);
		body = json_dumps(p, JSON_COMPACT);
		json_decref(p);
	} else if (!strcmp(verb, "scale")) {
		snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%s/%ss/%s/scale", ns, res,
			 name);
		status =
			kube_call(c, &k, "GET", path, NULL, NULL, timeout, &resp, err, sizeof(err));
		json_t *cur = resp ? json_loads(resp, 0, NULL) : NULL;
		json_t *rep = json_object_get(json_object_get(cur, "spec"), "replicas");
		if (status != 200 || !(json_is_integer(rep) || !json_object_get(cur, "spec"))) {
			json_decref(cur);
			if (!err[0])
				snprintf(err, sizeof(err), "reading the scale of %s/%s: HTTP %ld",
					 ns, name, status);
			goto done;
		}
		json_int_t from = json_integer_value(rep), to;
		json_decref(cur);
		json_t *add = json_object_get(step, "add");
		to = add ? from + json_integer_value(add)
			 : json_integer_value(json_object_get(step, "replicas"));
		json_int_t lo = json_integer_value(json_object_get(step, "min"));
		json_int_t hi = json_integer_value(json_object_get(step, "max"));
		to = to < lo ? lo : to > hi ? hi : to;
		json_object_set_new(result, "replicas_before", json_integer(from));
		json_object_set_new(result, "replicas_after", json_integer(to));
		free(resp);
		resp = NULL;
		type = "application/merge-patch+json";
		json_t *p = json_pack("{s:{s:I}}", "spec", "replicas", to);
		body = json_dumps(p, JSON_COMPACT);
		json_decref(p);
	} else if (!strcmp(verb, "delete-pod")) {
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns, name);
		method = "DELETE";
		type = "application/json";
		json_t *gp = json_object_get(step, "grace_period_seconds");
		if (gp) {
			json_t *p = json_pack("{s:s,s:s,s:O}", "kind", "DeleteOptions",
					      "apiVersion", "v1", "gracePeriodSeconds", gp);
			body = json_dumps(p, JSON_COMPACT);
			json_decref(p);
		}
	} else {
		snprintf(path, sizeof(path), "/api/v1/nodes/%s", name);
		json_t *p = json_pack("{s:{s:b}}", "spec", "unschedulable", 1);
		body = json_dumps(p, JSON_COMPACT);
		json_decref(p);
	}
	status = kube_call(c, &k, method, path, type, body, timeout, &resp, err, sizeof(err));
	if (!err[0] && (status < 200 || status >= 300))
		snprintf(err, sizeof(err), "%s %s: HTTP %ld", method, path, status);
done:
	json_object_set_new(result, "request",
			    json_pack("{s:s,s:s}", "method", method, "path", path));
	/* A deleted pod's or patched object's full body is noise in the audit. */
	if (resp && strlen(resp) > 2048)
		resp[2048] = 0;
	keep_response(result, status, status >= 200 && status < 300 ? NULL : resp, err);
	free(resp);
	free(body);
	free(k.token);
	return status >= 200 && status < 300 ? 0 : -1;
}

/* --------------------------------------------------------------- agent */

int action_run_agent(const struct action_ctx *c, json_t *step, json_t *result)
{
	const char *tf = c->a->rbs->agent_token_file;
	char err[512] = "", url[1024], *resp = NULL, *token = NULL;
	const char *base = json_string_value(json_object_get(step, "url"));

	if (tf && !(token = corr_read_small_file(tf, 4096))) {
		snprintf(err, sizeof(err), "agent token %s: %s", tf, strerror(errno));
		keep_response(result, 0, NULL, err);
		return -1;
	}
	size_t bl = strlen(base);
	snprintf(url, sizeof(url), "%.*s/api/v1/actions",
		 (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base);
	json_t *b = json_pack("{s:O,s:O,s:O}", "action", json_object_get(step, "action"),
			      "incident", json_object_get(c->payload, "incident"), "action_id",
			      json_object_get(c->payload, "action"));
	const char *k = json_object_get(step, "unit") ? "unit" : "experiment";
	json_object_set(b, k, json_object_get(step, k));
	char *body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	struct action_http rq = { .method = "POST",
				  .url = url,
				  .body = body,
				  .bearer = token,
				  .timeout_ms =
					  json_integer_value(json_object_get(step, "timeout_ms")) };
	long status = action_http_do(&rq, &resp, err, sizeof(err));
	if (!err[0] && (status < 200 || status >= 300))
		snprintf(err, sizeof(err), "agent answered HTTP %ld", status);
	keep_response(result, status, resp, err);
	free(resp);
	free(body);
	free(token);
	return status >= 200 && status < 300 ? 0 : -1;
}
