/* seismo: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int cmd_version(int argc, char **argv)
{
	printf("seismo %s\n", SEISMO_VERSION);
	return 0;
}

static const struct command commands[] = {
	{ "agent", cmd_agent, "run the node agent: kernel latency histograms -> /metrics, events" },
	{ "top", cmd_top, "live per-service view (requests/s, error %, p50, p99)" },
	{ "replay", cmd_replay, "run the anomaly detector offline over a CSV time series" },
	{ "chaos", cmd_chaos, "inject network delay/jitter/loss or kill processes, with probes" },
	{ "doctor", cmd_doctor, "check whether this node can run the agent and chaos" },
	{ "version", cmd_version, "print the version" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: seismo COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'seismo COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "seismo: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
