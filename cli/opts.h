/* cli/opts.h: the option parser every command uses: long and short options, values,
 * positional arguments, and the global options accepted anywhere on the line. */
#ifndef CLI_OPTS_H
#define CLI_OPTS_H

#include "app/err.h"
#include "cli/state.h"

/* One option of a command. key is returned by cli_opts_next; arg says whether the
 * option takes a value (--name VALUE, --name=VALUE, -x VALUE, -xVALUE). */
struct cli_opt {
    const char *name; /* long name without dashes */
    char short_name;  /* 0 for none */
    int arg;          /* 1: takes a value */
    int key;          /* > 0 */
};

/* Option parser state. Positional arguments are collected in pos (up to
 * CLI_MAX_POS). Global options (--server URL, --json, --key FILE, --quiet) are
 * accepted anywhere and applied to c. */
#define CLI_MAX_POS 16
struct cli_opts {
    int argc;
    char **argv;
    int i;
    const char *arg; /* the value of the option just returned */
    const char *pos[CLI_MAX_POS];
    int n_pos;
    int help; /* --help / -h was given */
};

void cli_opts_init(struct cli_opts *o, int argc, char **argv);

/* The next command option: its key (> 0), 0 at the end, or -1 after printing a
 * usage error (unknown option, missing value, too many arguments). */
int cli_opts_next(struct cli *c, struct cli_opts *o, const struct cli_opt *opts);

/* Finish parsing the options of a command that takes no positional arguments,
 * after its cli_opts_next loop ended with k. Returns 0 when the command goes on,
 * or -1 with *rc set to the exit code when it must stop: k < 0 (the usage error
 * is already printed), --help (the usage line is printed) or a positional
 * argument (a usage error is printed). */
int cli_opts_end(const struct cli_opts *o, int k, const char *cmd_name, int *rc);

/* Parse the arguments of a command that takes no options of its own and no
 * positional arguments (global options still apply to c); 0 or -1 with *rc set,
 * as cli_opts_end. */
int cli_no_args(struct cli *c, int argc, char **argv, int *rc);

#endif
