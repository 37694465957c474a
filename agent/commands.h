/* The subcommands of the `seismo` binary; each lives in its own file. */
#ifndef SEISMO_COMMANDS_H
#define SEISMO_COMMANDS_H

int cmd_agent(int argc, char **argv);  /* agent.c */
int cmd_top(int argc, char **argv);    /* top.c */
int cmd_replay(int argc, char **argv); /* replay.c */
int cmd_chaos(int argc, char **argv);  /* chaos_cli.c */
int cmd_doctor(int argc, char **argv); /* doctor.c */

#endif
