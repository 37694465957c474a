/* `seismo chaos`: the command line of network and process chaos.
 * Parsing only; the work happens in chaos_run/chaos_delay/chaos_kill. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_cli.h"
#include "chaos_config.h"
#include "chaos_delay.h"
#include "chaos_kind.h"
#include "chaos_litmus.h"
#include "chaos_run.h"
#include "commands.h"
#include "log.h"

static const char chaos_usage[] =
	"usage: seismo chaos SUBCOMMAND [OPTIONS]\n"
	"\n"
	"  delay     delay, jitter and drop a device's outgoing packets (tc BPF + fq)\n"
	"  kill      kill a share of a cgroup's or service's processes every interval\n"
	"  run FILE  run a Litmus ChaosEngine (pod-network-latency, pod-delete) on this node\n"
	"  stop      the kill switch: end experiments now and restore the qdiscs\n"
	"  list      the experiments pinned in " CHAOS_PIN_ROOT "\n"
	"\n"
	"Every experiment ends by itself in the kernel at its end time, even if seismo\n"
	"is killed. 'seismo chaos SUBCOMMAND --help' describes each one.\n";

static const char delay_usage[] =
	"usage: seismo chaos delay [OPTIONS]\n"
	"\n"
	"Gives matching outgoing packets of a device a later departure time (tc clsact\n"
	"egress BPF program, enforced by an fq root qdisc sized for the delay), keeping\n"
	"each flow in order, and drops a share of them. The previous root qdisc is\n"
	"restored at the end, on SIGINT/SIGTERM, or by 'seismo chaos stop'.\n"
	"\n"
	"  -i, --interface DEV       device (default eth0; Litmus NETWORK_INTERFACE)\n"
	"      --netns PATH          network namespace file (/var/run/netns/X, /proc/PID/ns/net)\n"
	"      --pid PID             the network namespace of a process\n"
	"      --cgroup CGROUP       ... of the processes of a cgroup v2 path\n"
	"      --service NAME        ... of the processes of systemd service NAME(.service)\n"
	"  -d, --destination CIDRS   comma-separated IPv4/IPv6 CIDRs (default all;\n"
	"                            Litmus DESTINATION_IPS); may repeat\n"
	"  -p, --ports LIST          destination ports, e.g. 80,8000-8100 (DESTINATION_PORTS)\n"
	"  -l, --latency TIME        added delay, e.g. 500ms; bare numbers are ms (NETWORK_LATENCY)\n"
	"  -j, --jitter TIME         spread; bare numbers are ms (JITTER)\n"
	"      --distribution D      uniform (latency±jitter, default), normal (jitter = sd),\n"
	"                            pareto (latency + heavy tail averaging jitter)\n"
	"      --loss PERCENT        drop this share of matching packets\n"
	"  -t, --duration TIME       default 60s; bare numbers are s (TOTAL_CHAOS_DURATION)\n"
	"      --rate PPS            expected packets/s through the device, sizes fq (10000)\n"
	"      --flow-rate PPS       expected packets/s of the busiest flow (1000)\n"
	"      --name NAME           experiment name (default delay-DEV)\n"
	"      --env NAME=VALUE      a Litmus env variable; the same names are also read\n"
	"                            from the environment (options given later win)\n"
	"      --probe SPEC          HTTP probe, see below; may repeat\n"
	"      --report FILE         verdict JSON (default " CHAOS_DEFAULT_REPORT_DIR
	"/NAME-TIME.json, '-' none)\n"
	"      --config FILE         agent config with the chaos: section\n"
	"                            (default " CHAOS_DEFAULT_CONFIG ")\n"
	"  -n, --dry-run             print the plan, change nothing\n"
	"\n"
	"Probe SPEC: 'NAME url=URL [status=200 | status!=500 | status=200,204]\n"
	"  [mode=SOT|EOT|Edge|Continuous|OnChaos] [timeout=5s] [interval=2s] [retry=1]\n"
	"  [stop-on-failure]'. A failing stop-on-failure probe rolls back at once.\n"
	"\n"
	"Exit status: 0 verdict Pass, 1 Fail or Stopped, 2 refused or error.\n";

static const char kill_usage[] =
	"usage: seismo chaos kill (--cgroup CGROUP | --service NAME) [OPTIONS]\n"
	"\n"
	"Every interval, sends SIGTERM (SIGKILL with --force) to a share of the\n"
	"processes in a cgroup v2 directory (path, or relative to the cgroup2 mount)\n"
	"or a systemd service, for a duration: the seed's pod-delete on a node.\n"
	"\n"
	"      --cgroup CGROUP       target cgroup\n"
	"      --service NAME        target service (NAME or NAME.service)\n"
	"      --percent P           share of its processes per interval (50;\n"
	"                            Litmus PODS_AFFECTED_PERC); at least one\n"
	"      --interval TIME       default 10s; bare numbers are s (CHAOS_INTERVAL)\n"
	"  -t, --duration TIME       default 60s (TOTAL_CHAOS_DURATION)\n"
	"      --force               SIGKILL instead of SIGTERM (FORCE=true)\n"
	"      --name NAME           experiment name (default kill)\n"
	"      --env NAME=VALUE      a Litmus env variable\n"
	"      --probe SPEC          HTTP probe as for 'delay'; may repeat\n"
	"      --report FILE         verdict JSON\n"
	"      --config FILE         agent config with the chaos: section\n"
	"  -n, --dry-run             print which processes one tick would pick, kill none\n";

static const char run_usage[] =
	"usage: seismo chaos run FILE [--target CGROUP] [--interface DEV] [--dry-run]\n"
	"                              [--report FILE] [--config FILE]\n"
	"\n"
	"Runs the experiments of a Litmus ChaosEngine on this node, one after the other:\n"
	"pod-network-latency and pod-network-loss as 'delay' on NETWORK_INTERFACE (or\n"
	"--interface), pod-delete as 'kill' on the service named by appinfo.applabel\n"
	"(app=NAME -> NAME.service) or --target. httpProbe entries become probes.\n";

static const char stop_usage[] =
	"usage: seismo chaos stop [NAME... | --all | --expired]\n"
	"\n"
	"The kill switch: marks the experiment over in its BPF map (packets pass at\n"
	"once), detaches the program, restores the saved root qdisc and removes the\n"
	"pins. Works from any process, also after the one that started it died.\n"
	"Without arguments stops every experiment. --expired cleans up only those\n"
	"past their end whose process is gone (after a SIGKILL): safe for a timer.\n";

static const char list_usage[] =
	"usage: seismo chaos list [--json]\n"
	"\n"
	"The pinned experiments, their settings, time left and counters.\n";

static int load_limits(const struct cli *cli, struct chaos_limits *limits)
{
	return chaos_limits_load(cli->config_path ? cli->config_path : CHAOS_DEFAULT_CONFIG,
				 cli->config_path != NULL, limits);
}

/* Runs the parsed experiment under the node's limits (chaos: section). */
static int run_with_limits(struct cli *cli)
{
	struct chaos_limits limits;

	if (load_limits(cli, &limits))
		return 2;
	return chaos_run(&cli->exp, &limits);
}

static int cmd_delay(int argc, char **argv)
{
	static struct cli cli;
	int rc;

	memset(&cli, 0, sizeof(cli));
	cli.exp.kind = CHAOS_EXPERIMENT_DELAY;
	chaos_spec_init(&cli.exp.delay);
	if (chaos_cli_apply_process_env(&cli.exp))
		return 2;
	rc = chaos_cli_parse_options(argc, argv, &cli, chaos_cli_delay_option, delay_usage, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!cli.exp.delay.name[0])
		snprintf(cli.exp.delay.name, sizeof(cli.exp.delay.name), "delay-%s",
			 cli.exp.delay.ifname);
	return run_with_limits(&cli);
}

static int cmd_kill(int argc, char **argv)
{
	static struct cli cli;
	int rc;

	memset(&cli, 0, sizeof(cli));
	cli.exp.kind = CHAOS_EXPERIMENT_KILL;
	chaos_kill_spec_init(&cli.exp.kill);
	if (chaos_cli_apply_process_env(&cli.exp))
		return 2;
	rc = chaos_cli_parse_options(argc, argv, &cli, chaos_cli_kill_option, kill_usage, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	return run_with_limits(&cli);
}

static int cmd_run(int argc, char **argv)
{
	static struct chaos_experiment exps[CHAOS_LITMUS_MAX_EXPERIMENTS];
	static struct cli cli;
	struct chaos_litmus_overrides overrides;
	struct chaos_limits limits;
	size_t count = 0;
	int rc, first, worst = 0;

	memset(&cli, 0, sizeof(cli));
	rc = chaos_cli_parse_options(argc, argv, &cli, NULL, run_usage, &first);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (first != argc - 1) {
		log_error("chaos: run takes exactly one ChaosEngine file");
		fputs(run_usage, stderr);
		return 2;
	}
	overrides.target = cli.target;
	overrides.interface = cli.interface;
	if (load_limits(&cli, &limits) || chaos_litmus_load(argv[first], &overrides, exps, &count))
		return 2;
	for (size_t i = 0; i < count; i++) {
		exps[i].delay.dry_run = exps[i].kill.dry_run = cli.exp.delay.dry_run;
		snprintf(exps[i].report_path, sizeof(exps[i].report_path), "%s",
			 cli.exp.report_path);
		rc = chaos_run(&exps[i], &limits);
		if (rc > worst)
			worst = rc;
		if (rc == 2)
			break;
	}
	return worst;
}

static int cmd_stop(int argc, char **argv)
{
	static struct cli cli;
	int rc, first, failures = 0;

	memset(&cli, 0, sizeof(cli));
	rc = chaos_cli_parse_options(argc, argv, &cli, NULL, stop_usage, &first);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (cli.expired)
		return chaos_delay_stop_orphans() ? 1 : 0;
	if (cli.all || first == argc)
		return chaos_delay_stop_all() ? 1 : 0;
	for (int i = first; i < argc; i++) {
		if (chaos_delay_stop(argv[i]))
			failures++;
		else
			printf("stopped %s\n", argv[i]);
	}
	return failures ? 1 : 0;
}

static int cmd_list(int argc, char **argv)
{
	static struct cli cli;
	int rc;

	memset(&cli, 0, sizeof(cli));
	rc = chaos_cli_parse_options(argc, argv, &cli, NULL, list_usage, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	return chaos_delay_list(stdout, cli.json) ? 1 : 0;
}

int cmd_chaos(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subcommands[] = {
		{ "delay", cmd_delay }, { "kill", cmd_kill }, { "run", cmd_run },
		{ "stop", cmd_stop },	{ "list", cmd_list },
	};

	if (argc < 2) {
		fputs(chaos_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(chaos_usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	log_error("chaos: unknown subcommand '%s'", argv[1]);
	fputs(chaos_usage, stderr);
	return 2;
}
