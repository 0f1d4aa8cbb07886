/* cli/d1_cmd.c: `almanac d1 execute`, the local D1 databases of `almanac run` and
 * `almanac dev`, as `wrangler d1 execute --local` does.
 *
 * The binary links no SQLite for this: it reads the worker's wrangler config (with
 * --env applied), writes it as JSON to a temporary file and runs
 * executor/d1-execute.mjs, which opens the same SQLite file the worker's binding
 * uses (STATE/d1/<database_id>.sqlite) and runs the statements in one transaction.
 * The script prints the results (stdout) and a summary (stderr) itself.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/err.h"
#include "app/json.h"
#include "app/mem.h"
#include "cli/cli.h"
#include "cli/wrangler.h"
#include "executor/host.h"

extern char **environ;

enum {
    D1_OPT_FILE = 1,
    D1_OPT_COMMAND,
    D1_OPT_PERSIST_TO,
    D1_OPT_CONFIG,
    D1_OPT_ENV,
    D1_OPT_LOCAL,
    D1_OPT_REMOTE,
    D1_OPT_PREVIEW,
    D1_OPT_YES,
};

/* The script's exit statuses (executor/d1-execute.mjs). */
#define D1_SCRIPT_SQL_ERROR 1
#define D1_SCRIPT_USAGE 2

struct d1_args {
    const char *binding;
    const char *file;
    const char *command;
    const char *persist_to;
    const char *config;
    const char *env_name;
};

static int
d1_parse(struct cli *c, int argc, char **argv, struct d1_args *a, int *rc)
{
    static const struct cli_opt opts[] = {
        {"file", 0, 1, D1_OPT_FILE},
        {"command", 0, 1, D1_OPT_COMMAND},
        {"persist-to", 0, 1, D1_OPT_PERSIST_TO},
        {"config", 'c', 1, D1_OPT_CONFIG},
        {"env", 'e', 1, D1_OPT_ENV},
        {"local", 0, 0, D1_OPT_LOCAL},
        {"remote", 0, 0, D1_OPT_REMOTE},
        {"preview", 0, 0, D1_OPT_PREVIEW},
        {"yes", 'y', 0, D1_OPT_YES},
        {NULL, 0, 0, 0},
    };
    struct cli_opts o;
    int k;

    *rc = CLI_EUSAGE;
    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0) {
        switch (k) {
        case D1_OPT_FILE: a->file = o.arg; break;
        case D1_OPT_COMMAND: a->command = o.arg; break;
        case D1_OPT_PERSIST_TO: a->persist_to = o.arg; break;
        case D1_OPT_CONFIG: a->config = o.arg; break;
        case D1_OPT_ENV: a->env_name = o.arg; break;
        case D1_OPT_LOCAL: break; /* the only mode there is */
        case D1_OPT_YES: break;   /* nothing asks for confirmation */
        case D1_OPT_REMOTE:
            return cli_usage_error(argv[0], "--remote: almanac runs D1 locally only; use "
                                            "`wrangler d1 execute --remote`"),
                   -1;
        case D1_OPT_PREVIEW:
            return cli_usage_error(argv[0], "--preview: almanac has no preview databases"), -1;
        default: break;
        }
    }
    if (k < 0)
        return -1;
    if (o.help) {
        *rc = cli_usage(argv[0]);
        return -1;
    }
    if (o.n_pos != 1)
        return cli_usage_error(argv[0], "give one D1 database: its binding or database_name"), -1;
    a->binding = o.pos[0];
    if (!a->file == !a->command)
        return cli_usage_error(argv[0], "give exactly one of --file and --command"), -1;
    return 0;
}

/* The d1-execute.mjs next to host.mjs (caller frees), or NULL with err set. */
static char *
d1_script(struct app_err *err)
{
    char *host = exe_find_host(err), *slash, *p;

    if (!host)
        return NULL;
    slash = strrchr(host, '/');
    p = slash ? xasprintf("%.*s/d1-execute.mjs", (int)(slash - host), host)
              : xstrdup("d1-execute.mjs");
    free(host);
    if (access(p, R_OK) != 0) {
        app_fail(err, APP_EINVAL, "cannot find the executor's d1-execute.mjs ('%s')", p);
        free(p);
        return NULL;
    }
    return p;
}

/* Write the config as JSON to a new temporary file; *path is the caller's to unlink
 * and free. */
static int
d1_write_config(const cJSON *json, char **path, struct app_err *err)
{
    const char *tmp = getenv("TMPDIR");
    char *text = NULL, *p = xasprintf("%s/almanac-d1-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FILE *f = NULL;
    int fd, ret = -1;

    fd = mkstemp(p);
    if (fd < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create a temporary file '%s': %s", p, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(p);
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", p, strerror(errno));
        goto out;
    }
    text = json_canonical(json, NULL);
    if (fputs(text, f) == EOF || fclose(f) != 0) {
        f = NULL;
        unlink(p);
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", p, strerror(errno));
        goto out;
    }
    f = NULL;
    *path = p;
    p = NULL;
    ret = 0;
out:
    if (f)
        fclose(f);
    free(text);
    free(p);
    return ret;
}

/* Run node SCRIPT with argv (stdout and stderr shared with ours); *status is its
 * wait status. */
static int
d1_spawn(char **argv, int *status, struct app_err *err)
{
    const char *node = exe_node();
    pid_t pid;

    errno = posix_spawnp(&pid, node, NULL, NULL, argv, environ);
    if (errno != 0)
        return app_fail(err, APP_EINTERNAL,
                        "cannot start '%s' (Node.js): %s; install nodejs or set ALMANAC_NODE", node,
                        strerror(errno));
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return app_fail(err, APP_EINTERNAL, "waiting for node: %s", strerror(errno));
    return 0;
}

static int
cmd_d1_execute(struct cli *c, int argc, char **argv)
{
    struct d1_args a = {0};
    struct cli_wrangler wr = {0};
    struct app_err err = {0};
    char *found = NULL, *script = NULL, *config_path = NULL, *state = NULL;
    char *cargv[12] = {0};
    int rc, n = 0, status = 0, have_wr = 0;

    if (d1_parse(c, argc, argv, &a, &rc) < 0)
        return rc;
    if (!a.config) {
        found = cli_wrangler_find(".");
        if (!found) {
            app_fail(&err, APP_EINVAL,
                     "no wrangler.json, wrangler.jsonc or wrangler.toml in the current "
                     "directory (or pass --config)");
            rc = cli_report(&err);
            goto out;
        }
        a.config = found;
    }
    if (cli_wrangler_read(a.config, &wr, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    have_wr = 1;
    if (a.env_name && cli_wrangler_apply_env(&wr, a.env_name, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (!wr.json) {
        app_fail(&err, APP_EINVAL, "%s: no configuration read", a.config);
        rc = cli_report(&err);
        goto out;
    }
    script = d1_script(&err);
    if (!script || d1_write_config(wr.json, &config_path, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    state = a.persist_to ? xstrdup(a.persist_to) : xasprintf("%s/.almanac/state", wr.dir);
    cargv[n++] = xstrdup(exe_node());
    cargv[n++] = xstrdup(script);
    cargv[n++] = xstrdup("--config-json");
    cargv[n++] = xstrdup(config_path);
    cargv[n++] = xstrdup("--state-dir");
    cargv[n++] = xstrdup(state);
    cargv[n++] = xstrdup(a.file ? "--file" : "--command");
    cargv[n++] = xstrdup(a.file ? a.file : a.command);
    if (c->json)
        cargv[n++] = xstrdup("--json");
    cargv[n++] = xstrdup("--");
    cargv[n++] = xstrdup(a.binding);
    fflush(stdout);
    fflush(stderr);
    if (d1_spawn(cargv, &status, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        rc = CLI_OK;
    else if (WIFEXITED(status) &&
             (WEXITSTATUS(status) == D1_SCRIPT_SQL_ERROR || WEXITSTATUS(status) == D1_SCRIPT_USAGE))
        rc = CLI_EUSAGE; /* the script printed its one line */
    else {
        fprintf(stderr, "almanac: d1 execute: node %s %s\n", script,
                WIFSIGNALED(status) ? "was killed" : "failed");
        rc = CLI_ENET;
    }
out:
    if (config_path) {
        unlink(config_path);
        free(config_path);
    }
    for (int i = 0; i < n; i++)
        free(cargv[i]);
    if (have_wr)
        cli_wrangler_release(&wr);
    free(state);
    free(script);
    free(found);
    app_err_release(&err);
    return rc;
}

const struct cli_cmd cli_cmds_d1[] = {
    {"d1 execute",
     "BINDING (--file FILE.sql | --command SQL) [--persist-to DIR] [--config FILE] "
     "[--env NAME] [--local] [--json]",
     "run SQL on a local D1 database of `almanac run`/`dev` (like wrangler d1 execute --local)",
     cmd_d1_execute},
    {NULL, NULL, NULL, NULL},
};
