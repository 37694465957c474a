/*
 * seismo-correlator actions ...: a small client of the actions API, so an
 * on-call engineer can list, approve and deny actions and pull the kill
 * switch from a shell.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "action_int.h"
#include "util.h"

static void cli_usage(FILE *f)
{
	fprintf(f, "usage: seismo-correlator actions [--url URL] [--token-file FILE] COMMAND\n"
		   "\n"
		   "commands:\n"
		   "  list [--state STATE] [--incident ID]   actions, newest first\n"
		   "  show ID                               one action with its results\n"
		   "  approve ID [--by WHO] [--comment TEXT] run a pending action\n"
		   "  deny ID [--by WHO] [--comment TEXT]    refuse a pending action\n"
		   "  kill [--by WHO] [--reason TEXT]        engage the kill switch: nothing runs\n"
		   "  release [--by WHO]                     release the kill switch\n"
		   "  killswitch                             show the kill switch\n"
		   "  runbooks                               runbooks and their circuit breakers\n"
		   "  reset RUNBOOK [--by WHO]               close a runbook's circuit breaker\n"
		   "\n"
		   "--url defaults to $SEISMO_CORRELATOR_URL or http://127.0.0.1:9465; the bearer\n"
		   "token is read from --token-file or $SEISMO_CORRELATOR_TOKEN_FILE. --by\n"
		   "defaults to $USER.\n");
}

static size_t grow(char *ptr, size_t size, size_t nmemb, void *arg)
{
	FILE *f = arg;
	return fwrite(ptr, size, nmemb, f);
}

static long call(const char *base, const char *token, const char *method, const char *path,
		 json_t *body, json_t **reply)
{
	char url[2048], auth[4200], *text = NULL, *resp = NULL;
	size_t len = 0;
	long status = 0;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	FILE *m = open_memstream(&resp, &len);

	*reply = NULL;
	if (!c || !m) {
		fprintf(stderr, "seismo-correlator actions: out of memory\n");
		return 0;
	}
	snprintf(url, sizeof(url), "%s%s", base, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, m);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	}
	CURLcode rc = curl_easy_perform(c);
	fclose(m);
	if (rc != CURLE_OK)
		fprintf(stderr, "seismo-correlator actions: %s: %s\n", url, curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (resp)
		*reply = json_loads(resp, 0, NULL);
	free(resp);
	free(text);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static void print_list(json_t *r)
{
	size_t i;
	json_t *o;
	json_t *k = json_object_get(r, "kill_switch");

	if (json_is_true(json_object_get(k, "engaged")))
		printf("KILL SWITCH ENGAGED%s%s\n",
		       json_string_value(json_object_get(k, "by")) ? " by " : " (file)",
		       json_string_value(json_object_get(k, "by")) ?: "");
	printf("%-16s  %-9s  %-20s  %-7s  %-16s  %-16s  %s\n", "ID", "STATE", "RUNBOOK", "MODE",
	       "INCIDENT", "TARGET", "REASON / DECIDED BY");
	json_array_foreach(json_object_get(r, "actions"), i, o) {
		const char *reason = json_string_value(json_object_get(o, "reason"));
		const char *by = json_string_value(json_object_get(o, "decided_by"));
		printf("%-16s  %-9s  %-20s  %-7s  %-16s  %-16s  %s%s%s\n",
		       json_string_value(json_object_get(o, "id")),
		       json_string_value(json_object_get(o, "state")),
		       json_string_value(json_object_get(o, "runbook")),
		       json_string_value(json_object_get(o, "mode")),
		       json_string_value(json_object_get(o, "incident")),
		       json_string_value(json_object_get(o, "target")), reason ? reason : "",
		       reason && by ? "; " : "", by ? by : "");
	}
}

int corr_actions_cli(int argc, char **argv)
{
	const char *base = getenv("SEISMO_CORRELATOR_URL"),
		   *tf = getenv("SEISMO_CORRELATOR_TOKEN_FILE");
	const char *by = getenv("USER"), *comment = NULL, *reason = NULL, *state = NULL,
		   *incident = NULL;
	const char *pos[3] = { 0 };
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = !strcmp(a, "--url")		? &base
				   : !strcmp(a, "--token-file") ? &tf
				   : !strcmp(a, "--by")		? &by
				   : !strcmp(a, "--comment")	? &comment
				   : !strcmp(a, "--reason")	? &reason
				   : !strcmp(a, "--state")	? &state
				   : !strcmp(a, "--incident")	? &incident
								: NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_usage(stdout);
			return 0;
		}
		if (dst) {
			if (++i >= argc) {
				fprintf(stderr, "seismo-correlator actions: %s needs a value\n", a);
				return 2;
			}
			*dst = argv[i];
		} else if (a[0] == '-' || npos == 3) {
			fprintf(stderr, "seismo-correlator actions: unexpected '%s'\n", a);
			cli_usage(stderr);
			return 2;
		} else {
			pos[npos++] = a;
		}
	}
	if (!npos) {
		cli_usage(stderr);
		return 2;
	}
	if (!base)
		base = "http://127.0.0.1:9465";
	char *token = NULL;
	if (tf && !(token = corr_read_small_file(tf, 4096))) {
		fprintf(stderr, "seismo-correlator actions: token file %s: %s\n", tf,
			strerror(errno));
		return 1;
	}
	const char *cmd = pos[0];
	bool needs_id = !strcmp(cmd, "show") || !strcmp(cmd, "approve") || !strcmp(cmd, "deny") ||
			!strcmp(cmd, "reset");
	if (needs_id != (npos == 2) || (!by && (needs_id && strcmp(cmd, "show")))) {
		fprintf(stderr, "seismo-correlator actions: %s\n",
			needs_id && npos != 2	 ? "this command takes one ID (or RUNBOOK)"
			: !needs_id && npos != 1 ? "this command takes no argument"
						 : "--by is needed ($USER is unset)");
		free(token);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char path[1024];
	json_t *body = NULL, *reply = NULL;
	const char *method = "GET";
	if (!strcmp(cmd, "list")) {
		char *es = state ? curl_easy_escape(NULL, state, 0) : NULL;
		char *ei = incident ? curl_easy_escape(NULL, incident, 0) : NULL;
		snprintf(path, sizeof(path), "/api/v1/actions%s%s%s%s%s", es || ei ? "?" : "",
			 es ? "state=" : "", es ? es : "",
			 es && ei ? "&incident="
			 : ei	  ? "incident="
				  : "",
			 ei ? ei : "");
		curl_free(es);
		curl_free(ei);
	} else if (!strcmp(cmd, "show")) {
		snprintf(path, sizeof(path), "/api/v1/actions/%s", pos[1]);
	} else if (!strcmp(cmd, "approve") || !strcmp(cmd, "deny")) {
		snprintf(path, sizeof(path), "/api/v1/actions/%s/%s", pos[1], cmd);
		method = "POST";
		body = json_pack("{s:s,s:s?}", "by", by, "comment", comment);
	} else if (!strcmp(cmd, "kill") || !strcmp(cmd, "release")) {
		snprintf(path, sizeof(path), "/api/v1/actions/killswitch");
		method = "POST";
		body = json_pack("{s:b,s:s,s:s?}", "engaged", !strcmp(cmd, "kill"), "by",
				 by ? by : "", "reason", reason);
	} else if (!strcmp(cmd, "killswitch")) {
		snprintf(path, sizeof(path), "/api/v1/actions/killswitch");
	} else if (!strcmp(cmd, "runbooks")) {
		snprintf(path, sizeof(path), "/api/v1/runbooks");
	} else if (!strcmp(cmd, "reset")) {
		snprintf(path, sizeof(path), "/api/v1/runbooks/%s/reset", pos[1]);
		method = "POST";
		body = json_pack("{s:s}", "by", by);
	} else {
		fprintf(stderr, "seismo-correlator actions: unknown command '%s'\n", cmd);
		cli_usage(stderr);
		free(token);
		curl_global_cleanup();
		return 2;
	}
	long status = call(base, token, method, path, body, &reply);
	int rc = status >= 200 && status < 300 ? 0 : 1;
	if (rc) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "seismo-correlator actions: %s %s: %s (HTTP %ld)\n", method, path,
			e ? e : "no answer", status);
	} else if (!strcmp(cmd, "list")) {
		print_list(reply);
	} else {
		char *t = json_dumps(reply, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", t ? t : "{}");
		free(t);
	}
	json_decref(body);
	json_decref(reply);
	free(token);
	curl_global_cleanup();
	return rc;
}
