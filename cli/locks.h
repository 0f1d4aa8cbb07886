/* cli/locks.h: resolution inputs from the command line, and verified locks.
 *
 * A lock is only handed to a command after its bytes hash to its id and its
 * signature verified against the pinned key (cli/trust.h); there is no way to get
 * an unverified lock from this module.
 */
#ifndef CLI_LOCKS_H
#define CLI_LOCKS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/buf.h"
#include "app/err.h"
#include "cli/opts.h"
#include "cli/state.h"
#include "cli/wrangler.h"

/* Option keys shared by resolve, fetch, run, diff (2000-2099 are reserved). */
enum {
    CLI_RO_DATE = 2000,
    CLI_RO_FLAG,
    CLI_RO_REQ,
    CLI_RO_ASOF,
    CLI_RO_EXPERIMENTAL,
    CLI_RO_CONFIG,
    CLI_RO_LOCKED,
    CLI_RO_FROZEN,
};

/* Put these in a command's option table to accept the resolution options. */
// clang-format off
#define CLI_RESOLVE_OPTS                                                        \
    {"date", 'd', 1, CLI_RO_DATE},                                              \
    {"flag", 'f', 1, CLI_RO_FLAG},                                              \
    {"requirements", 'r', 1, CLI_RO_REQ},                                       \
    {"as-of", 0, 1, CLI_RO_ASOF},                                               \
    {"allow-experimental", 0, 0, CLI_RO_EXPERIMENTAL},                          \
    {"config", 'c', 1, CLI_RO_CONFIG},                                          \
    {"locked", 0, 0, CLI_RO_LOCKED},                                            \
    {"frozen", 0, 0, CLI_RO_FROZEN}
// clang-format on

#define CLI_FLAGS_MAX 256

/* What to resolve. Strings are borrowed from argv, except what the wrangler.toml
 * and the requirements file provide. */
struct cli_inputs {
    const char *date;
    const char *flags[CLI_FLAGS_MAX];
    size_t n_flags;
    const char *req_file; /* -r */
    char *req_text;       /* its contents */
    const char *as_of;
    int allow_experimental;
    const char *config; /* --config or a positional wrangler.toml */
    struct cli_wrangler wr;
    int have_wrangler;
    const char *main;     /* the worker entry point, when known */
    const char *env_name; /* --env NAME: the config's environment to apply */
    int lock_mode;        /* enum cli_lock_mode: how almanac.lock is used (cli/lockfile.h) */
};

/* How a command uses the almanac.lock beside the config (cli/lockfile.h). --offline
 * is a global option (c->offline, one meaning everywhere: no network at all); it
 * makes the mode CLI_LOCK_OFFLINE where a lock file is read (cli_lockfile_mode). */
enum cli_lock_mode { CLI_LOCK_AUTO = 0, CLI_LOCK_LOCKED, CLI_LOCK_FROZEN, CLI_LOCK_OFFLINE };

void cli_inputs_init(struct cli_inputs *in);
void cli_inputs_release(struct cli_inputs *in);

/* Take option key (one of CLI_RO_*) with its value; returns 0, or -1 after
 * printing a usage error for cmd. */
int cli_inputs_opt(struct cli_inputs *in, const char *cmd, int key, const char *arg);

/* Take a positional wrangler.toml path (borrowed) as the config; returns 0, or -1
 * after printing a usage error for cmd when path is not a .toml or a config was
 * already given. */
int cli_inputs_config(struct cli_inputs *in, const char *cmd, const char *path);

/* Parse argv of a command whose only own options are CLI_RESOLVE_OPTS into in
 * (initialised by the caller) and o (its positional arguments, borrowed from
 * argv, are left for the command to check). Returns 0 when the command goes on,
 * or -1 with *rc set to the exit code when it must stop: a usage error (printed)
 * or --help (usage printed). */
int cli_inputs_parse(struct cli *c, int argc, char **argv, struct cli_inputs *in,
                     struct cli_opts *o, int *rc);

/* Read the wrangler.toml (if any) and the requirements file; values given on the
 * command line win over the file's (flags: the command line's replace the file's).
 * APP_EINVAL on unreadable or malformed files. */
int cli_inputs_load(struct cli_inputs *in, struct app_err *err);

/* The body of POST /v1/resolve for in (caller frees). */
cJSON *cli_inputs_body(const struct cli_inputs *in);

/* The requirement lines of text joined by ',' into out (the query form of
 * /v1/diff); comments and blank lines dropped. */
int cli_requirements_query(const char *text, struct buf *out, struct app_err *err);

/* 1 when s names a wrangler config file (.toml, .json or .jsonc). */
int cli_is_toml(const char *s);

/* A verified lock. */
struct cli_lock {
    char id[80];     /* "sha256:<hex>" */
    char *bytes;     /* the exact signed bytes */
    char *signature; /* the minisign signature text over bytes */
    size_t len;
    cJSON *lock;      /* parsed bytes */
    cJSON *response;  /* the resolve response (policy, warnings); NULL for cli_lock_get */
    double fetch_ms;  /* time spent asking the server */
    double verify_ms; /* time spent checking the digest and the signature */
};

/* A monotonic clock in milliseconds (for --timings). */
double cli_now_ms(void);

/* POST /v1/resolve with body, then check and verify the lock. */
int cli_lock_resolve(struct cli *c, const cJSON *body, struct cli_lock *out, struct app_err *err);

/* GET /v1/locks/{id} and its signature, and verify. */
int cli_lock_get(struct cli *c, const char *id, struct cli_lock *out, struct app_err *err);

void cli_lock_release(struct cli_lock *l);

/* Print a resolution for humans: runtime, package set, flags, packages, policy,
 * warnings. */
void cli_lock_print(const struct cli_lock *l);

#endif
