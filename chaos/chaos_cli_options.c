/* `seismo chaos` options: the long option table and the parsers that fill
 * struct cli (experiment specs, probes, Litmus environment). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_cli.h"
#include "chaos_kind.h"
#include "log.h"

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

static int bad_value(const char *option, const char *value, const char *expected)
{
	log_error("chaos: --%s '%s': expected %s", option, value, expected);
	return -EINVAL;
}

static int parse_number(const char *option, const char *text, double min, double max, double *out)
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
int chaos_cli_apply_process_env(struct chaos_experiment *exp)
{
	static const char *const names[] = { "NETWORK_INTERFACE",
					     "NETWORK_LATENCY",
					     "JITTER",
					     "DESTINATION_IPS",
					     "DESTINATION_PORTS",
					     "TOTAL_CHAOS_DURATION",
					     "NETWORK_PACKET_LOSS_PERCENTAGE",
					     "CHAOS_INTERVAL",
					     "FORCE",
					     "PODS_AFFECTED_PERC" };

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

int chaos_cli_delay_option(struct cli *cli, int opt, const char *arg)
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

int chaos_cli_kill_option(struct cli *cli, int opt, const char *arg)
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
int chaos_cli_parse_options(int argc, char **argv, struct cli *cli, chaos_cli_option_fn handler,
			    const char *usage, int *positional_index)
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
