/*
 * exec steps: runs a program on the correlator host, in its own process
 * group, with the incident in environment variables (SEISMO_ACTION_ID,
 * SEISMO_INCIDENT, SEISMO_RUNBOOK, SEISMO_TARGET, SEISMO_LABEL_<NAME>) and
 * the action as JSON on stdin. stdout and stderr are kept (up to
 * actions.max_output_bytes). On timeout or the kill switch the whole group
 * gets SIGTERM, then SIGKILL after 2 s.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "action_int.h"
#include "util.h"

extern char **environ;

static char **build_env(const struct action_ctx *c)
{
	size_t n = 0, cap = 64;
	char **env = calloc(cap, sizeof(char *));
	const char *key;
	json_t *v;

	if (!env)
		return NULL;
	/* PATH, HOME and the like from the correlator: the command runs as it does. */
	for (char **e = environ; *e && n < cap - 40; e++)
		if (strncmp(*e, "SEISMO_", 7))
			env[n++] = strdup(*e);
	static const char *const fixed[][2] = { { "SEISMO_ACTION_ID", "action" },
						{ "SEISMO_INCIDENT", "incident" },
						{ "SEISMO_RUNBOOK", "runbook" },
						{ "SEISMO_TARGET", "target" } };
	for (size_t i = 0; i < 4; i++) {
		const char *val = json_string_value(json_object_get(c->payload, fixed[i][1]));
		if (asprintf(&env[n], "%s=%s", fixed[i][0], val ? val : "") < 0)
			env[n] = NULL;
		n++;
	}
	json_object_foreach(c->labels, key, v) {
		char name[96];
		size_t j = 0;
		if (n >= cap - 1) {
			char **g = realloc(env, cap * 2 * sizeof(char *));
			if (!g)
				break;
			env = g;
			cap *= 2;
		}
		j = (size_t)snprintf(name, sizeof(name), "SEISMO_LABEL_");
		for (const char *p = key; *p && j < sizeof(name) - 1; p++)
			name[j++] = (char)toupper((unsigned char)*p);
		name[j] = 0;
		if (asprintf(&env[n], "%s=%s", name, json_string_value(v) ?: "") < 0)
			env[n] = NULL;
		n++;
	}
	env[n] = NULL;
	return env;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int action_run_exec(const struct action_ctx *c, json_t *step, json_t *result)
{
	json_t *cmd = json_object_get(step, "command");
	size_t argc = json_array_size(cmd);
	int64_t timeout = json_integer_value(json_object_get(step, "timeout_ms"));
	size_t max_out = (size_t)c->a->rbs->max_output_bytes;
	char **argv = calloc(argc + 1, sizeof(char *));
	char **env = build_env(c);
	char *input = json_dumps(c->payload, JSON_COMPACT);
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int rc = -1;

	if (!argv || !env || !input || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		json_object_set_new(result, "status", json_string("failed"));
		json_object_set_new(result, "error", json_string("cannot prepare the command"));
		goto out;
	}
	for (size_t i = 0; i < argc; i++)
		argv[i] = (char *)json_string_value(json_array_get(cmd, i));
	pid_t pid = fork();
	if (pid < 0) {
		json_object_set_new(result, "status", json_string("failed"));
		json_object_set_new(result, "error", json_string(strerror(errno)));
		goto out;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execve(argv[0], argv, env);
		_exit(127);
	}
	setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	size_t in_len = strlen(input), in_off = 0, kept = 0;
	char *buf = malloc(max_out + 1);
	bool truncated = false;
	int64_t deadline = corr_now_ms() + timeout, kill_at = 0;
	const char *stopped = NULL;
	int status = 0;
	for (;;) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { in[1], POLLOUT, 0 } };
		int nfds = in[1] >= 0 ? 2 : 1;
		poll(p, (nfds_t)nfds, 50);
		if (p[0].revents) {
			char tmp[4096];
			ssize_t r = read(out[0], tmp, sizeof(tmp));
			if (r <= 0)
				break;
			size_t take = (size_t)r;
			if (kept + take > max_out) {
				take = max_out - kept;
				truncated = true;
			}
			if (buf)
				memcpy(buf + kept, tmp, take);
			kept += take;
		}
		if (nfds == 2 && p[1].revents) {
			ssize_t w = p[1].revents & POLLOUT
					    ? write(in[1], input + in_off, in_len - in_off)
					    : -1;
			if (w > 0)
				in_off += (size_t)w;
			if (w < 0 || in_off == in_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		int64_t now = corr_now_ms();
		if (!stopped && (now > deadline || c->a->abort_now)) {
			stopped = now > deadline ? "timeout" : "kill switch engaged";
			kill(-pid, SIGTERM);
			kill_at = now + 2000;
		}
		if (kill_at && now > kill_at) {
			kill(-pid, SIGKILL);
			kill_at = 0;
		}
	}
	/* Output closed: the command (or what inherited its stdout) is done. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (buf) {
		buf[kept] = 0;
		json_t *o = json_stringn(buf, kept);
		/* Not UTF-8 (or cut inside a character): keep it readable as ASCII. */
		for (size_t i = 0; !o && i < kept; i++)
			if ((unsigned char)buf[i] >= 0x80)
				buf[i] = '?';
		json_object_set_new(result, "output", o ? o : json_stringn(buf, kept));
		free(buf);
	}
	json_object_set_new(result, "output_truncated", json_boolean(truncated));
	if (WIFEXITED(status)) {
		json_object_set_new(result, "exit_code", json_integer(WEXITSTATUS(status)));
		rc = WEXITSTATUS(status) == 0 && !stopped ? 0 : -1;
		if (WEXITSTATUS(status) == 127)
			json_object_set_new(result, "error",
					    json_string("command not found or not executable"));
		else if (rc && !stopped)
			json_object_set_new(result, "error", json_string("non-zero exit status"));
	} else if (WIFSIGNALED(status)) {
		json_object_set_new(result, "signal", json_integer(WTERMSIG(status)));
		rc = -1;
	}
	if (stopped)
		json_object_set_new(result, "error", json_string(stopped));
	json_object_set_new(result, "status", json_string(rc ? "failed" : "ok"));
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	free(argv);
	free_strv(env);
	free(input);
	return rc;
}
