/*
 * The agent's side of runbook actions. The correlator's `agent` steps POST
 *   {"action": "chaos-stop", "experiment": NAME}
 *   {"action": "systemd-restart", "unit": "x.service"}
 * (plus incident and action_id, logged) with "Authorization: Bearer TOKEN".
 * Replies {"ok": true|false, "action", "output"|"error"}: 200 done, 400 bad
 * request, 401 token, 403 not allowed here, 404 off, 500 it failed.
 * Config:
 *   actions:
 *     token_file: /etc/seismo/actions.token   # required: no token, no actions
 *     allow: [chaos-stop, systemd-restart]     # default: chaos-stop only
 *     units: ['checkout*.service']             # globs systemd-restart may touch
 */
#include "actions.h"

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <microhttpd.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chaos_delay.h"
#include "fileio.h"
#include "log.h"

#define MAX_BODY 16384
#define MAX_UNITS 32

static struct {
	bool enabled;
	char token[512];
	bool allow_chaos_stop, allow_restart;
	char units[MAX_UNITS][128];
	int n_units;
} conf;

struct body {
	char buf[MAX_BODY + 1];
	size_t len;
	bool too_big;
};

static int read_token(struct yamlcfg *y, yaml_node_t *n, const char *path)
{
	char *token = file_read_trimmed(path, 4096);
	size_t len;

	if (!token)
		return yamlcfg_fail(y, n, "actions.token_file %s: %s", path, strerror(errno));
	len = strlen(token);
	if (len < sizeof(conf.token))
		memcpy(conf.token, token, len + 1);
	free(token);
	if (len >= sizeof(conf.token))
		return yamlcfg_fail(
			y, n, "actions.token_file %s: the token is longer than %zu characters",
			path, sizeof(conf.token) - 1);
	if (len < 16)
		return yamlcfg_fail(
			y, n, "actions.token_file %s: the token must be at least 16 characters",
			path);
	return 0;
}

int agent_actions_configure(struct yamlcfg *y, yaml_node_t *node)
{
	static const char *const keys[] = { "token_file", "allow", "units", NULL };
	char path[256] = "";
	yaml_node_t *n;

	memset(&conf, 0, sizeof(conf));
	if (!node)
		return 0;
	if (yamlcfg_check_keys(y, node, keys, "actions") ||
	    yamlcfg_string(y, yamlcfg_get(y, node, "token_file"), path, sizeof(path)))
		return -1;
	if (!path[0])
		return yamlcfg_fail(
			y, node,
			"actions: needs token_file (the correlator's actions.agent_token_file holds the same token)");
	if (read_token(y, yamlcfg_get(y, node, "token_file"), path))
		return -1;
	conf.allow_chaos_stop = true;
	n = yamlcfg_get(y, node, "allow");
	if (n) {
		if (n->type != YAML_SEQUENCE_NODE)
			return yamlcfg_fail(
				y, n,
				"actions.allow must be a list of chaos-stop, systemd-restart");
		conf.allow_chaos_stop = false;
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			char v[32] = "";
			yaml_node_t *e = yaml_document_get_node(&y->doc, *it);
			if (yamlcfg_string(y, e, v, sizeof(v)))
				return -1;
			if (!strcmp(v, "chaos-stop"))
				conf.allow_chaos_stop = true;
			else if (!strcmp(v, "systemd-restart"))
				conf.allow_restart = true;
			else
				return yamlcfg_fail(
					y, e,
					"actions.allow: unknown action \"%s\" (chaos-stop, systemd-restart)",
					v);
		}
	}
	n = yamlcfg_get(y, node, "units");
	if (n) {
		if (n->type != YAML_SEQUENCE_NODE)
			return yamlcfg_fail(y, n, "actions.units must be a list of unit globs");
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			if (conf.n_units == MAX_UNITS)
				return yamlcfg_fail(y, n, "actions.units: at most %d globs",
						    MAX_UNITS);
			if (yamlcfg_string(y, yaml_document_get_node(&y->doc, *it),
					   conf.units[conf.n_units], sizeof(conf.units[0])))
				return -1;
			conf.n_units++;
		}
	}
	if (conf.allow_restart && !conf.n_units)
		return yamlcfg_fail(
			y, node,
			"actions: systemd-restart needs units: the globs of units it may restart");
	conf.enabled = true;
	return 0;
}

static int reply(struct MHD_Connection *conn, unsigned status, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	struct MHD_Response *r = MHD_create_response_from_buffer(text ? strlen(text) : 2,
								 text ? text : "{}",
								 text ? MHD_RESPMEM_MUST_FREE
								      : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	int rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static int fail(struct MHD_Connection *conn, unsigned status, const char *action, const char *msg)
{
	return reply(conn, status,
		     json_pack("{s:b,s:s?,s:s}", "ok", 0, "action", action, "error", msg));
}

static bool token_ok(struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	size_t a, b = strlen(conf.token);
	unsigned diff;

	if (!h || strncmp(h, "Bearer ", 7))
		return false;
	h += 7;
	a = strlen(h);
	diff = (unsigned)(a ^ b);
	for (size_t i = 0; i < a; i++)
		diff |= (unsigned char)h[i] ^ (unsigned char)conf.token[i % b];
	return diff == 0;
}

/* systemctl restart UNIT, bounded to 60 s; output kept for the reply. */
static int restart_unit(const char *unit, char *out, size_t outlen)
{
	int p[2];
	pid_t pid;
	size_t used = 0;
	int status = 0;
	time_t deadline = time(NULL) + 60;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execlp("systemctl", "systemctl", "restart", "--", unit, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		if (poll(&pf, 1, 500) > 0) {
			ssize_t r = read(p[0], out + used, outlen - 1 - used);
			if (r <= 0)
				break;
			used += (size_t)r;
			if (used == outlen - 1)
				break;
		}
		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			break;
		}
	}
	out[used] = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int perform(struct MHD_Connection *conn, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, 0, &jerr);
	const char *action = json_string_value(json_object_get(j, "action"));
	const char *incident = json_string_value(json_object_get(j, "incident"));
	char out[4096] = "", msg[512];
	int rc;

	if (!json_is_object(j) || !action) {
		json_decref(j);
		return fail(conn, 400, NULL, "body must be a JSON object with \"action\"");
	}
	if (!strcmp(action, "chaos-stop")) {
		const char *name = json_string_value(json_object_get(j, "experiment"));
		if (!conf.allow_chaos_stop)
			rc = fail(conn, 403, action, "chaos-stop is not in actions.allow");
		else if (!name)
			rc = fail(conn, 400, action, "chaos-stop needs \"experiment\"");
		else {
			int err = chaos_delay_stop(name);
			log_warn("actions: chaos-stop %s for incident %s: %s", name,
				 incident ? incident : "?", err ? strerror(-err) : "stopped");
			snprintf(msg, sizeof(msg), "experiment %s: %s", name,
				 err == -ENOENT ? "no such experiment"
				 : err		? strerror(-err)
						: "stopped");
			rc = err ? fail(conn, err == -ENOENT ? 404 : 500, action, msg)
				 : reply(conn, 200,
					 json_pack("{s:b,s:s,s:s}", "ok", 1, "action", action,
						   "output", msg));
		}
	} else if (!strcmp(action, "systemd-restart")) {
		const char *unit = json_string_value(json_object_get(j, "unit"));
		bool allowed = false;
		for (int i = 0; unit && i < conf.n_units; i++)
			allowed |= fnmatch(conf.units[i], unit, 0) == 0;
		if (!conf.allow_restart)
			rc = fail(conn, 403, action, "systemd-restart is not in actions.allow");
		else if (!unit || unit[0] == '-')
			rc = fail(conn, 400, action, "systemd-restart needs \"unit\"");
		else if (!allowed)
			rc = fail(conn, 403, action, "the unit matches none of actions.units");
		else {
			int st = restart_unit(unit, out, sizeof(out));
			log_warn("actions: systemd-restart %s for incident %s: exit %d", unit,
				 incident ? incident : "?", st);
			rc = reply(conn, st == 0 ? 200 : 500,
				   json_pack("{s:b,s:s,s:s,s:i}", "ok", st == 0, "action", action,
					     "output", out, "exit_code", st));
		}
	} else {
		rc = fail(conn, 400, action, "unknown action (chaos-stop, systemd-restart)");
	}
	json_decref(j);
	return rc;
}

int agent_actions_http(struct MHD_Connection *conn, const char *upload, size_t *upload_size,
		       void **state)
{
	struct body *b = *state;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*state = b;
		return MHD_YES;
	}
	if (*upload_size) {
		if (b->len + *upload_size > MAX_BODY)
			b->too_big = true;
		else {
			memcpy(b->buf + b->len, upload, *upload_size);
			b->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!conf.enabled)
		return fail(conn, 404, NULL, "actions are off on this agent (no actions: section)");
	if (!token_ok(conn))
		return fail(conn, 401, NULL, "missing or wrong bearer token");
	if (b->too_big)
		return fail(conn, 413, NULL, "body too large");
	return perform(conn, b->buf, b->len);
}

void agent_actions_completed(void **state)
{
	free(*state);
	*state = NULL;
}
