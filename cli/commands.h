/* cli/commands.h: the command table (CLI_COMMAND_GROUPS), lookup by leading words,
 * usage lines and help. The command being run is remembered here so a usage error
 * can print its usage line. */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include <stdio.h>

#include "cli/state.h"

/* The command whose name matches the most leading words of argv, or NULL; *words
 * receives how many words it took. */
const struct cli_cmd *cli_cmd_find(int argc, char **argv, int *words);

/* Remember cmd as the command being run (for usage lines). */
void cli_cmd_set_current(const struct cli_cmd *cmd);

/* Print the full help (commands, global options, environment, exit codes) to f. */
void cli_help_print(FILE *f);

/* `almanac help [COMMAND...]`: the help, or one command's usage; an exit code. */
int cli_help_cmd(int argc, char **argv);

/* Print "  almanac <name> <usage>" for every command whose first word is w; returns
 * how many were printed. */
int cli_cmd_list_family(FILE *f, const char *w);

/* Print "almanac: <msg>" and "usage: almanac <name> <usage>" for cmd_name to
 * stderr; returns CLI_EUSAGE. */
int cli_usage_error(const char *cmd_name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print the usage line of cmd_name, and its long help (cli/help.c), on stdout;
 * returns CLI_OK (for --help). */
int cli_usage(const char *cmd_name);

/* The help text after the command list: global options, environment, exit codes. */
extern const char cli_help_tail[];

#endif
