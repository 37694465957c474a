/* `seismo chaos` command line, shared by the subcommands (chaos_cli.c) and
 * the option parsers (chaos_cli_options.c). */
#ifndef SEISMO_CHAOS_CLI_H
#define SEISMO_CHAOS_CLI_H

#include "chaos_experiment.h"

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

/* A subcommand's option handler: 0 done, 1 not one of its options, <0 error (logged). */
typedef int (*chaos_cli_option_fn)(struct cli *cli, int opt, const char *arg);

int chaos_cli_delay_option(struct cli *cli, int opt, const char *arg);
int chaos_cli_kill_option(struct cli *cli, int opt, const char *arg);
/* Litmus names present in the environment, applied before the options. */
int chaos_cli_apply_process_env(struct chaos_experiment *exp);
/* Parses argv with the option handler of the subcommand; unknown options
 * and stray arguments are errors unless positional_index is given.
 * 0, 1 after --help (printed), or <0. */
int chaos_cli_parse_options(int argc, char **argv, struct cli *cli, chaos_cli_option_fn handler,
			    const char *usage, int *positional_index);

#endif
