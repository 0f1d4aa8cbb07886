/* cli/cli.h: the almanac command line: global state, the command table, option
 * parsing, exit codes and output helpers.
 *
 * Adding a command means adding one file and one line: write cli/foo_cmd.c that
 * defines `const struct cli_cmd cli_cmds_foo[]` (terminated by an entry with a NULL
 * name) and add `X(foo)` to CLI_COMMAND_GROUPS below. A command name may have
 * several words ("lock show", "workers list"): the dispatcher picks the entry whose
 * words match the most leading arguments.
 *
 * Exit codes are a contract with scripts (also printed by `almanac help`):
 *   0 ok, 1 usage or local input error, 2 the server refused the request (4xx
 *   problem document), 3 network, server (5xx) or local I/O error, 4 verification
 *   failed (signature, digest, size, pinned key changed), 5 the worker failed
 *   (Python exception or executor error in `almanac run`).
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"

#define CLI_DEFAULT_SERVER "http://127.0.0.1:8700"
#define ALMANAC_CLI_VERSION "0.1.0"

enum cli_exit {
    CLI_OK = 0,
    CLI_EUSAGE = 1,   /* bad arguments, unreadable or malformed local input */
    CLI_EREFUSED = 2, /* the server answered 4xx */
    CLI_ENET = 3,     /* network, 5xx, malformed response, local I/O */
    CLI_EVERIFY = 4,  /* signature, digest or size mismatch; pinned key changed */
    CLI_EWORKER = 5,  /* almanac run: the worker or the executor failed */
};

struct cli_trust;
struct cli_http;

/* Global state of one invocation. Owned strings are freed by cli_release. */
struct cli {
    char *server;            /* base URL, no trailing slash */
    const char *token;       /* ALMANAC_TOKEN (borrowed from the environment) */
    const char *key_file;    /* --key: pin this minisign public key instead of TOFU */
    int json;                /* --json: machine output on stdout */
    int quiet;               /* --quiet: no progress or notes on stderr */
    int tty_err;             /* stderr is a terminal (progress bars) */
    struct cli_http *http;   /* lazily created by cli/client.c */
    struct cli_trust *trust; /* lazily created by cli/trust.c */
};

struct cli_cmd {
    const char *name;    /* "resolve", "lock show"; NULL ends a table */
    const char *usage;   /* arguments after the name, for help */
    const char *summary; /* one line */
    /* Run with argv[0] the last word of the name; returns an enum cli_exit. */
    int (*run)(struct cli *c, int argc, char **argv);
};

/* The command groups, one per cli/<group>_cmd.c file. */
#define CLI_COMMAND_GROUPS(X)                                                                      \
    X(catalog)                                                                                     \
    X(fetch)                                                                                       \
    X(run)                                                                                         \
    X(admin)                                                                                       \
    X(trust)                                                                                       \
    X(workers)

#define CLI_DECLARE_GROUP(g) extern const struct cli_cmd cli_cmds_##g[];
CLI_COMMAND_GROUPS(CLI_DECLARE_GROUP)
#undef CLI_DECLARE_GROUP

/* ---- options ------------------------------------------------------------------ */

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

/* Print "almanac: <msg>" and "usage: almanac <name> <usage>" for cmd_name to
 * stderr; returns CLI_EUSAGE. */
int cli_usage_error(const char *cmd_name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print the usage line of cmd_name on stdout; returns CLI_OK (for --help). */
int cli_usage(const char *cmd_name);

/* ---- errors and output -------------------------------------------------------- */

/* The exit code for an error class as the CLI uses them: APP_EINVAL local input,
 * 4xx from the server (EAUTH, ENOTFOUND, EUNPROCESSABLE, ...), EUNAVAILABLE and
 * EINTERNAL network and I/O, ECONFLICT verification. */
int cli_exit_code(enum app_code code);

/* Put a prefix before err's message: "<prefix>: <old message>", with code (keep
 * the old class by passing err->code). Returns -1. */
int cli_wrap(struct app_err *err, enum app_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print err to stderr as "almanac: <message>" and, one per line, "  <code>:
 * <message>" for each entry of err->errors; returns cli_exit_code(err->code). */
int cli_report(const struct app_err *err);

/* cli_report, then release err (it may be reused); returns the exit code. For
 * commands that stop at their first error. */
int cli_report_release(struct app_err *err);

/* Print "almanac: <msg>" to stderr (unless c->quiet and not an error). */
void cli_note(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print v to stdout as indented JSON followed by a newline. */
void cli_print_json(const cJSON *v);

/* A table printed with aligned columns; cells are copied. */
struct cli_table;
struct cli_table *cli_table_new(size_t n_cols, const char *const *headers);
void cli_table_add(struct cli_table *t, const char *const *cells);
/* Print to stdout and free the table. */
void cli_table_print(struct cli_table *t);

/* obj[key] as a string, "-" when missing or null (for tables). */
const char *cli_str(const cJSON *obj, const char *key);

/* Release what c owns (HTTP handle, trust store, server string). */
void cli_release(struct cli *c);

#endif
