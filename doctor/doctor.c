/*
 * seismo doctor: checks whether this node can run the agent and chaos, and
 * says in plain words what works and what does not. Exit status 0 when the
 * agent can run, 1 when it cannot, 2 on a usage error.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include "commands.h"
#include "doctor.h"
#include "log.h"

#define DEFAULT_MAP_MIB 16

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seismo doctor [--json] [--map-mib N] [--verbose]\n"
		"\n"
		"Checks whether this node can run the seismo agent and seismo chaos:\n"
		"kernel version, BTF, capabilities, tracefs/bpffs/cgroup2 mounts, which\n"
		"BPF hooks load and attach (tracepoint, raw_tp, tp_btf, fentry, kprobe,\n"
		"tc), ring buffer and LPM trie maps, the fq and netem qdiscs, and map\n"
		"memory limits, and which socket hook variant the agent itself would attach\n"
		"(latency-hooks). Every hook is really loaded and attached, then removed.\n"
		"\n"
		"  --json        one JSON object on stdout, for automation\n"
		"  --map-mib N   size of the test map in MiB (default %d)\n"
		"  --verbose     show libbpf's own messages\n"
		"  -h, --help    this text\n"
		"\n"
		"Exit status: 0 the agent can run, 1 it cannot, 2 usage error.\n",
		DEFAULT_MAP_MIB);
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static int verbose_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

static bool can_run(const struct doctor_report *report, enum doctor_need need)
{
	for (size_t i = 0; i < report->count; i++)
		if (report->checks[i].need == need && report->checks[i].status == DOCTOR_FAIL)
			return false;
	return true;
}

/* Names of the checks for NEED that did not pass, comma separated. */
static void list_problems(const struct doctor_report *report, enum doctor_need need, char *buf,
			  size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < report->count && used < len; i++) {
		const struct doctor_check *c = &report->checks[i];

		if (c->need == need && c->status != DOCTOR_OK)
			used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "", c->name);
	}
}

static void print_text(const struct doctor_report *report)
{
	char problems[512];
	struct utsname uts;

	if (uname(&uts) == 0)
		printf("seismo doctor %s on %s (kernel %s)\n\n", SEISMO_VERSION, uts.nodename,
		       uts.release);
	for (size_t i = 0; i < report->count; i++) {
		const struct doctor_check *c = &report->checks[i];
		const char *status = doctor_status_name(c->status);

		printf("  %-5s %-15s %s\n", c->status == DOCTOR_FAIL ? "FAIL" : status, c->name,
		       c->detail);
	}
	printf("\n");
	list_problems(report, DOCTOR_NEED_AGENT, problems, sizeof(problems));
	if (can_run(report, DOCTOR_NEED_AGENT))
		printf("agent: can run%s%s\n", problems[0] ? "; warnings: " : "", problems);
	else
		printf("agent: CANNOT run; see %s\n", problems);
	list_problems(report, DOCTOR_NEED_CHAOS, problems, sizeof(problems));
	if (!problems[0])
		printf("chaos: can run, every feature available\n");
	else if (doctor_find(report, "chaos-tc") &&
		 doctor_find(report, "chaos-tc")->status != DOCTOR_FAIL)
		printf("chaos: can run, limited or unverified: %s\n", problems);
	else
		printf("chaos: cannot inject network faults; see %s\n", problems);
}

static int print_json(const struct doctor_report *report)
{
	json_t *root = json_object(), *checks = json_array();
	struct utsname uts;
	int err = -1;

	if (!root || !checks)
		goto cleanup;
	for (size_t i = 0; i < report->count; i++) {
		const struct doctor_check *c = &report->checks[i];

		if (json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s}", "name", c->name,
							    "status", doctor_status_name(c->status),
							    "needed_by", doctor_need_name(c->need),
							    "detail", c->detail)))
			goto cleanup;
	}
	if (json_object_set_new(root, "seismo_version", json_string(SEISMO_VERSION)) ||
	    json_object_set_new(root, "kernel", json_string(uname(&uts) ? "" : uts.release)) ||
	    json_object_set_new(root, "agent_can_run",
				json_boolean(can_run(report, DOCTOR_NEED_AGENT))) ||
	    json_object_set_new(root, "chaos_tc_works",
				json_boolean(doctor_passed(report, "chaos-tc"))) ||
	    json_object_set_new(root, "chaos_delay_works",
				json_boolean(doctor_passed(report, "chaos-tc") &&
					     doctor_passed(report, "qdisc-fq") &&
					     doctor_passed(report, "cap-sys-admin"))) ||
	    json_object_set(root, "checks", checks))
		goto cleanup;
	if (json_dumpf(root, stdout, JSON_INDENT(2)) == 0 && fputc('\n', stdout) != EOF)
		err = 0;
cleanup:
	if (err)
		log_error("doctor: cannot build or write the JSON report");
	json_decref(checks);
	json_decref(root);
	return err;
}

static void run_checks(struct doctor_report *report)
{
	doctor_check_kernel(report);
	doctor_check_btf(report);
	doctor_check_privileges(report);
	doctor_check_mounts(report);
	doctor_check_memory(report);
	doctor_check_hooks(report);
	doctor_check_qdiscs(report);
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "map-mib", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static struct doctor_report report; /* large: keep it off the stack */
	bool json = false, verbose = false;
	char *end;
	int opt;

	memset(&report, 0, sizeof(report));
	report.map_mib = DEFAULT_MAP_MIB;
	while ((opt = getopt_long(argc, argv, "jm:vh", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'm':
			report.map_mib = strtoul(optarg, &end, 10);
			if (*end || !report.map_mib || report.map_mib > 4096) {
				fprintf(stderr, "seismo doctor: --map-mib '%s': want 1..4096\n",
					optarg);
				return 2;
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "seismo doctor: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	libbpf_set_print(verbose ? verbose_libbpf : quiet_libbpf);
	run_checks(&report);
	if (json) {
		if (print_json(&report))
			return 2;
	} else {
		print_text(&report);
	}
	return can_run(&report, DOCTOR_NEED_AGENT) ? 0 : 1;
}
