/* cli/opts.c: the option parser (see cli/opts.h). */
#include "cli/opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"
#include "cli/commands.h"
#include "cli/client.h"
#include "cli/help.h"
#include "cli/output.h"

#define CLI_WORD_MAX 64

enum {
    OPT_G_SERVER = 10001,
    OPT_G_JSON,
    OPT_G_KEY,
    OPT_G_QUIET,
    OPT_G_HELP,
    OPT_G_COLOR,
    OPT_G_OFFLINE
};

static const struct cli_opt global_opts[] = {
    {"server", 0, 1, OPT_G_SERVER}, {"json", 0, 0, OPT_G_JSON},
    {"key", 0, 1, OPT_G_KEY},       {"quiet", 'q', 0, OPT_G_QUIET},
    {"help", 'h', 0, OPT_G_HELP},   {"offline", 0, 0, OPT_G_OFFLINE},
    {"color", 0, 1, OPT_G_COLOR},   {NULL, 0, 0, 0},
};

void
cli_opts_init(struct cli_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->argc = argc;
    o->argv = argv;
    o->i = 1; /* argv[0] is the command word */
}

static const struct cli_opt *
find_long(const struct cli_opt *opts, const char *name, size_t n)
{
    for (size_t i = 0; opts && opts[i].name; i++)
        if (strlen(opts[i].name) == n && strncmp(opts[i].name, name, n) == 0)
            return &opts[i];
    return NULL;
}

static const struct cli_opt *
find_short(const struct cli_opt *opts, char ch)
{
    for (size_t i = 0; opts && opts[i].name; i++)
        if (opts[i].short_name && opts[i].short_name == ch)
            return &opts[i];
    return NULL;
}

/* Apply a global option; 0 when handled, -1 on a bad value. */
static int
apply_global(struct cli *c, struct cli_opts *o, int key, const char *arg)
{
    struct app_err err = {0};

    switch (key) {
    case OPT_G_SERVER:
        if (cli_set_server(c, arg, &err) < 0) {
            cli_report(&err);
            app_err_release(&err);
            return -1;
        }
        return 0;
    case OPT_G_JSON:
        c->json = 1;
        cli_json_errors = 1;
        return 0;
    case OPT_G_COLOR:
        if (cli_set_color(c, arg) < 0) {
            cli_usage_error(NULL, "--color '%s' is not auto, always or never", arg);
            return -1;
        }
        return 0;
    case OPT_G_KEY: c->key_file = arg; return 0;
    case OPT_G_QUIET: c->quiet = 1; return 0;
    case OPT_G_OFFLINE: c->offline = 1; return 0;
    case OPT_G_HELP: o->help = 1; return 0;
    }
    return 0;
}

int
cli_opts_next(struct cli *c, struct cli_opts *o, const struct cli_opt *opts)
{
    const char *cmd = o->argv[0];

    while (o->i < o->argc) {
        char *a = o->argv[o->i++];
        const struct cli_opt *opt = NULL;
        const char *value = NULL;
        int global;

        if (strcmp(a, "--") == 0) {
            while (o->i < o->argc) {
                if (o->n_pos == CLI_MAX_POS) {
                    cli_usage_error(cmd, "too many arguments");
                    return -1;
                }
                o->pos[o->n_pos++] = o->argv[o->i++];
            }
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (o->n_pos == CLI_MAX_POS) {
                cli_usage_error(cmd, "too many arguments");
                return -1;
            }
            o->pos[o->n_pos++] = a;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);

            opt = find_long(opts, name, n);
            global = !opt;
            if (!opt)
                opt = find_long(global_opts, name, n);
            if (!opt) {
                char word[CLI_WORD_MAX];
                const char *guess;

                snprintf(word, sizeof(word), "--%.*s", (int)n, name);
                guess = cli_did_you_mean(cmd, word);
                if (guess)
                    cli_usage_error(cmd, "unknown option '%s'; did you mean '%s'?", word, guess);
                else
                    cli_usage_error(cmd, "unknown option '%s'", word);
                return -1;
            }
            if (eq) {
                if (!opt->arg) {
                    cli_usage_error(cmd, "option '--%s' takes no value", opt->name);
                    return -1;
                }
                value = eq + 1;
            }
        } else {
            opt = find_short(opts, a[1]);
            global = !opt;
            if (!opt)
                opt = find_short(global_opts, a[1]);
            if (!opt) {
                cli_usage_error(cmd, "unknown option '-%c'", a[1]);
                return -1;
            }
            if (a[2]) {
                if (!opt->arg) {
                    cli_usage_error(cmd, "option '-%c' takes no value", a[1]);
                    return -1;
                }
                value = a + 2;
            }
        }
        if (opt->arg && !value) {
            if (o->i >= o->argc) {
                cli_usage_error(cmd, "option '--%s' needs a value", opt->name);
                return -1;
            }
            value = o->argv[o->i++];
        }
        o->arg = value;
        if (global) {
            if (apply_global(c, o, opt->key, value) < 0)
                return -1;
            continue;
        }
        return opt->key;
    }
    return 0;
}

int
cli_opts_end(const struct cli_opts *o, int k, const char *cmd_name, int *rc)
{
    if (k < 0) {
        *rc = CLI_EUSAGE;
        return -1;
    }
    if (o->help) {
        *rc = cli_usage(cmd_name);
        return -1;
    }
    if (o->n_pos) {
        *rc = cli_usage_error(cmd_name, "unexpected argument '%s'", o->pos[0]);
        return -1;
    }
    return 0;
}

int
cli_no_args(struct cli *c, int argc, char **argv, int *rc)
{
    static const struct cli_opt opts[] = {{NULL, 0, 0, 0}};
    struct cli_opts o;
    int k;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0)
        ;
    return cli_opts_end(&o, k, argv[0], rc);
}
