/* cli/state.h: the almanac command line's shared types: the state of one invocation,
 * the command table entry and the exit codes.
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
 *   (Python exception or executor error in `almanac run`), 6 `almanac check`: the
 *   worker's Python line has ended (or ends soon, with --fail-on ending).
 */
#ifndef CLI_STATE_H
#define CLI_STATE_H

#include <stddef.h>

#define CLI_DEFAULT_SERVER "http://127.0.0.1:8700"
#define ALMANAC_CLI_VERSION "0.1.0"

enum cli_exit {
    CLI_OK = 0,
    CLI_EUSAGE = 1,   /* bad arguments, unreadable or malformed local input */
    CLI_EREFUSED = 2, /* the server answered 4xx */
    CLI_ENET = 3,     /* network, 5xx, malformed response, local I/O */
    CLI_EVERIFY = 4,  /* signature, digest or size mismatch; pinned key changed */
    CLI_EWORKER = 5,  /* almanac run: the worker or the executor failed */
    CLI_ECHECK = 6,   /* almanac check: the Python line ended (or ends within the window) */
};

struct cli_trust;
struct cli_http;

/* Global state of one invocation. Owned strings are freed by cli_release. */
struct cli {
    char *server;   /* base URL in use, no trailing slash */
    char **servers; /* ALMANAC_SERVER / --server as a list, tried in order */
    size_t n_servers, server_i;
    int fell_back;           /* a server failed and the next one is in use */
    int static_tree;         /* -1 unknown, 0 almanacd, 1 a static mirror tree */
    const char *token;       /* ALMANAC_TOKEN (borrowed from the environment) */
    const char *key_file;    /* --key: pin this minisign public key instead of TOFU */
    int json;                /* --json: machine output on stdout */
    int quiet;               /* --quiet: no progress or notes on stderr */
    int offline;             /* --offline: no network; the verified snapshot and cache */
    int tty_err;             /* stderr is a terminal (progress bars) */
    int color;               /* --color: colour on stdout (cli/output.h) */
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
    X(mirror)                                                                                      \
    X(workers)                                                                                     \
    X(project)                                                                                     \
    X(tools)                                                                                       \
    X(d1)

#define CLI_DECLARE_GROUP(g) extern const struct cli_cmd cli_cmds_##g[];
CLI_COMMAND_GROUPS(CLI_DECLARE_GROUP)
#undef CLI_DECLARE_GROUP

#endif
