/* `seismo chaos`: the command line of network and process chaos.
 * Parsing only; the work happens in chaos_run/chaos_delay/chaos_kill. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const char list_usage[] = "usage: seismo chaos list [--json]\n"
				 "\n"
				 "The pinned experiments, their settings, time left and counters.\n";

enum long_only_option {
	OPT_NETNS = 256,
	OPT_PID,
	OPT_CGROUP,
	OPT_SERVICE,
	OPT_DISTRIBUTION,
	OPT_LOSS,
	OPT_RATE,
	OPT_FLOW_RATE,
	OPT_NAME,
	OPT_ENV,
	OPT_PROBE,
	OPT_REPORT,
	OPT_CONFIG,
	OPT_PERCENT,
	OPT_INTERVAL,
	OPT_FORCE,
	OPT_TARGET,
	OPT_ALL,
	OPT_JSON,
	OPT_EXPIRED,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "interface", required_argument, NULL, 'i' },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "destination", required_argument, NULL, 'd' },
	{ "ports", required_argument, NULL, 'p' },
	{ "latency", required_argument, NULL, 'l' },
	{ "jitter", required_argument, NULL, 'j' },
	{ "distribution", required_argument, NULL, OPT_DISTRIBUTION },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "duration", required_argument, NULL, 't' },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "flow-rate", required_argument, NULL, OPT_FLOW_RATE },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "probe", required_argument, NULL, OPT_PROBE },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "percent", required_argument, NULL, OPT_PERCENT },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "expired", no_argument, NULL, OPT_EXPIRED },
	{ NULL, 0, NULL, 0 },
};

/* What every subcommand's options may set. */
struct cli {
	struct chaos_experiment exp;
	const char *config_path;
	const char *target;
	const char *interface;
	int all;
	int json;
	int expired;
};

static int bad_value(const char *option, const char *value, const char *expected)
{
	log_error("chaos: --%s '%s': expected %s", option, value, expected);
	return -EINVAL;
}

static int parse_number(const char *option, const char *text, double min, double max,
			double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	if (errno || end == text || *end || *out < min || *out > max)
		return bad_value(option, text, "a number in range");
	return 0;
}

static int add_probe(struct chaos_experiment *exp, const char *text)
{
	if (exp->probe_count == CHAOS_MAX_PROBES) {
		log_error("chaos: at most %d probes", CHAOS_MAX_PROBES);
		return -E2BIG;
	}
	if (chaos_probe_parse_cli(text, &exp->probes[exp->probe_count]))
		return -EINVAL;
	exp->probe_count++;
	return 0;
}

static int apply_env_assignment(struct chaos_experiment *exp, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	char name[64];
	int rc;

	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof(name))
		return bad_value("env", assignment, "NAME=VALUE");
	memcpy(name, assignment, (size_t)(eq - assignment));
	name[eq - assignment] = '\0';
	rc = chaos_kind_of(exp)->apply_litmus_env(exp, name, eq + 1);
	if (rc > 0) {
		log_error("chaos: --env %s: not a Litmus name this experiment uses", name);
		return -EINVAL;
	}
	return rc;
}

/* Litmus names present in the environment, applied before the options. */
static int apply_process_env(struct chaos_experiment *exp)
{
	static const char *const names[] = { "NETWORK_INTERFACE", "NETWORK_LATENCY", "JITTER",
					     "DESTINATION_IPS", "DESTINATION_PORTS",
					     "TOTAL_CHAOS_DURATION", "NETWORK_PACKET_LOSS_PERCENTAGE",
					     "CHAOS_INTERVAL", "FORCE", "PODS_AFFECTED_PERC" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *value = getenv(names[i]);
		int rc;

		if (!value)
			continue;
		rc = chaos_kind_of(exp)->apply_litmus_env(exp, names[i], value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_delay_option(struct cli *cli, int opt, const char *arg)
{
	struct chaos_delay_spec *spec = &cli->exp.delay;
	double number;
	int dist;

	switch (opt) {
	case 'i':
		if (!*arg || strlen(arg) >= sizeof(spec->ifname))
			return bad_value("interface", arg, "a device name");
		snprintf(spec->ifname, sizeof(spec->ifname), "%s", arg);
		return 0;
	case OPT_NETNS:
	case OPT_PID:
	case OPT_CGROUP:
	case OPT_SERVICE:
		spec->netns_kind = opt == OPT_NETNS ? CHAOS_NETNS_PATH
				   : opt == OPT_PID ? CHAOS_NETNS_PID
						    : CHAOS_NETNS_CGROUP;
		snprintf(spec->netns_arg, sizeof(spec->netns_arg), "%s%s", arg,
			 opt == OPT_SERVICE && !strstr(arg, ".service") ? ".service" : "");
		return 0;
	case 'd':
		return chaos_spec_add_cidrs(spec, arg);
	case 'p':
		return chaos_spec_add_ports(spec, arg);
	case 'l':
		return chaos_parse_duration(arg, 1000000ULL, &spec->latency_ns)
			       ? bad_value("latency", arg, "a time such as 100ms")
			       : 0;
	case 'j':
		return chaos_parse_duration(arg, 1000000ULL, &spec->jitter_ns)
			       ? bad_value("jitter", arg, "a time such as 10ms")
			       : 0;
	case 't':
		return chaos_parse_duration(arg, 1000000000ULL, &spec->duration_ns)
			       ? bad_value("duration", arg, "a time such as 60s")
			       : 0;
	case OPT_DISTRIBUTION:
		dist = chaos_parse_dist(arg);
		if (dist < 0)
			return bad_value("distribution", arg, "uniform, normal or pareto");
		spec->dist = (enum chaos_jitter_dist)dist;
		return 0;
	case OPT_LOSS:
		if (parse_number("loss", arg, 0, 100, &spec->loss_percent))
			return -EINVAL;
		return 0;
	case OPT_RATE:
	case OPT_FLOW_RATE:
		if (parse_number(opt == OPT_RATE ? "rate" : "flow-rate", arg, 1, 1e8, &number))
			return -EINVAL;
		*(opt == OPT_RATE ? &spec->rate_pps : &spec->flow_rate_pps) = (uint32_t)number;
		return 0;
	case OPT_NAME:
		snprintf(spec->name, sizeof(spec->name), "%s", arg);
		return 0;
	case 'n':
		spec->dry_run = true;
		return 0;
	}
	return 1;
}

static int parse_kill_option(struct cli *cli, int opt, const char *arg)
{
	struct chaos_kill_spec *spec = &cli->exp.kill;

	switch (opt) {
	case OPT_CGROUP:
		snprintf(spec->target, sizeof(spec->target), "%s", arg);
		return 0;
	case OPT_SERVICE:
		snprintf(spec->target, sizeof(spec->target), "%s%s", arg,
			 strstr(arg, ".service") ? "" : ".service");
		return 0;
	case OPT_PERCENT:
		return parse_number("percent", arg, 0, 100, &spec->percent) ? -EINVAL : 0;
	case OPT_INTERVAL:
		return chaos_parse_duration(arg, 1000000000ULL, &spec->interval_ns)
			       ? bad_value("interval", arg, "a time such as 10s")
			       : 0;
	case 't':
		return chaos_parse_duration(arg, 1000000000ULL, &spec->duration_ns)
			       ? bad_value("duration", arg, "a time such as 60s")
			       : 0;
	case OPT_FORCE:
		spec->force = true;
		return 0;
	case OPT_NAME:
		snprintf(spec->name, sizeof(spec->name), "%s", arg);
		return 0;
	case 'n':
		spec->dry_run = true;
		return 0;
	}
	return 1;
}

static int parse_common_option(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case OPT_ENV:
		return apply_env_assignment(&cli->exp, arg);
	case OPT_PROBE:
		return add_probe(&cli->exp, arg);
	case OPT_REPORT:
		snprintf(cli->exp.report_path, sizeof(cli->exp.report_path), "%s", arg);
		return 0;
	case OPT_CONFIG:
		cli->config_path = arg;
		return 0;
	case OPT_TARGET:
		cli->target = arg;
		return 0;
	case 'i':
		cli->interface = arg;
		return 0;
	case 'n':
		cli->exp.delay.dry_run = cli->exp.kill.dry_run = true;
		return 0;
	case OPT_ALL:
		cli->all = 1;
		return 0;
	case OPT_JSON:
		cli->json = 1;
		return 0;
	case OPT_EXPIRED:
		cli->expired = 1;
		return 0;
	}
	return 1;
}

/* Parses argv with the option handler of the subcommand; unknown options
 * and stray arguments are errors unless positional is given. */
static int parse_options(int argc, char **argv, struct cli *cli,
			 int (*handler)(struct cli *, int, const char *), const char *usage,
			 int *positional_index)
{
	int opt;

	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "hi:d:p:l:j:t:n", long_options, NULL)) != -1) {
		int rc;

		if (opt == 'h') {
			fputs(usage, stdout);
			return 1;
		}
		if (opt == '?') {
			fputs(usage, stderr);
			return -EINVAL;
		}
		rc = handler ? handler(cli, opt, optarg) : 1;
		if (rc > 0)
			rc = parse_common_option(cli, opt, optarg);
		if (rc > 0) {
			log_error("chaos: option -%c/--%s does not apply to '%s'",
				  opt < 256 ? opt : '-', argv[optind - 1], argv[0]);
			return -EINVAL;
		}
		if (rc)
			return rc;
	}
	if (positional_index) {
		*positional_index = optind;
	} else if (optind < argc) {
		log_error("chaos: unexpected argument '%s'", argv[optind]);
		fputs(usage, stderr);
		return -EINVAL;
	}
	return 0;
}

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
	if (apply_process_env(&cli.exp))
		return 2;
	rc = parse_options(argc, argv, &cli, parse_delay_option, delay_usage, NULL);
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
	if (apply_process_env(&cli.exp))
		return 2;
	rc = parse_options(argc, argv, &cli, parse_kill_option, kill_usage, NULL);
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
	rc = parse_options(argc, argv, &cli, NULL, run_usage, &first);
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
	rc = parse_options(argc, argv, &cli, NULL, stop_usage, &first);
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
	rc = parse_options(argc, argv, &cli, NULL, list_usage, NULL);
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
		{ "stop", cmd_stop },   { "list", cmd_list },
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
