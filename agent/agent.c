/* Placeholder until its issue lands: the command exists, says so, and fails. */
#include <stdio.h>

#include "commands.h"

int cmd_agent(int argc, char **argv)
{
	fprintf(stderr, "seismo agent: not built yet\n");
	return 1;
}
