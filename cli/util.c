/* cli/util.c: option parsing, exit codes, error reports, tables and JSON output
 * shared by every command. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/trust.h"

enum { OPT_G_SERVER = 10001, OPT_G_JSON, OPT_G_KEY, OPT_G_QUIET, OPT_G_HELP };

static const struct cli_opt global_opts[] = {
    {"server", 0, 1, OPT_G_SERVER}, {"json", 0, 0, OPT_G_JSON},   {"key", 0, 1, OPT_G_KEY},
    {"quiet", 'q', 0, OPT_G_QUIET}, {"help", 'h', 0, OPT_G_HELP}, {NULL, 0, 0, 0},
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
    case OPT_G_JSON: c->json = 1; return 0;
    case OPT_G_KEY: c->key_file = arg; return 0;
    case OPT_G_QUIET: c->quiet = 1; return 0;
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
                cli_usage_error(cmd, "unknown option '--%.*s'", (int)n, name);
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

int
cli_exit_code(enum app_code code)
{
    switch (code) {
    case APP_OK: return CLI_OK;
    case APP_EINVAL: return CLI_EUSAGE;
    case APP_EAUTH:
    case APP_ENOTFOUND:
    case APP_EMETHOD:
    case APP_ETOOLARGE:
    case APP_EMEDIA:
    case APP_ERANGE:
    case APP_EUNPROCESSABLE: return CLI_EREFUSED;
    case APP_EINTERNAL:
    case APP_EUNAVAILABLE: return CLI_ENET;
    case APP_ECONFLICT: return CLI_EVERIFY;
    }
    return CLI_ENET;
}

int
cli_wrap(struct app_err *err, enum app_code code, const char *fmt, ...)
{
    char old[APP_ERR_MSG_MAX], prefix[APP_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return -1;
    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    return app_fail(err, code, "%s: %s", prefix, old);
}

int
cli_report(const struct app_err *err)
{
    const cJSON *e;

    fprintf(stderr, "almanac: %s\n", err->msg[0] ? err->msg : "failed");
    cJSON_ArrayForEach (e, err->errors) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");

        if (cJSON_IsString(msg))
            fprintf(stderr, "  %s: %s\n", cJSON_IsString(code) ? code->valuestring : "error",
                    msg->valuestring);
    }
    return cli_exit_code(err->code);
}

int
cli_report_release(struct app_err *err)
{
    int rc = cli_report(err);

    app_err_release(err);
    return rc;
}

void
cli_note(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    if (c->quiet)
        return;
    fputs("almanac: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Indented JSON with two spaces, like most tools print it (cJSON_Print uses tabs). */
static void
print_json_at(const cJSON *v, int depth)
{
    const cJSON *x;

    if ((cJSON_IsArray(v) || cJSON_IsObject(v)) && v->child) {
        int obj = cJSON_IsObject(v);

        fputc(obj ? '{' : '[', stdout);
        for (x = v->child; x; x = x->next) {
            printf("\n%*s", 2 * (depth + 1), "");
            if (obj) {
                cJSON *key = xjson(cJSON_CreateString(x->string ? x->string : ""));
                char *ks = cJSON_PrintUnformatted(key);

                if (!ks)
                    abort();
                printf("%s: ", ks);
                free(ks);
                cJSON_Delete(key);
            }
            print_json_at(x, depth + 1);
            if (x->next)
                fputc(',', stdout);
        }
        printf("\n%*s%c", 2 * depth, "", obj ? '}' : ']');
        return;
    }
    {
        char *s = cJSON_PrintUnformatted(v);

        if (!s)
            abort();
        fputs(s, stdout);
        free(s);
    }
}

void
cli_print_json(const cJSON *v)
{
    print_json_at(v, 0);
    fputc('\n', stdout);
}

const char *
cli_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : "-";
}

struct cli_table {
    size_t n_cols, n_rows, cap;
    char **cells; /* row-major, the header row first */
};

struct cli_table *
cli_table_new(size_t n_cols, const char *const *headers)
{
    struct cli_table *t = xcalloc(1, sizeof(*t));

    t->n_cols = n_cols;
    cli_table_add(t, headers);
    return t;
}

void
cli_table_add(struct cli_table *t, const char *const *cells)
{
    if (t->n_rows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->cells = xrealloc(t->cells, t->cap * t->n_cols * sizeof(*t->cells));
    }
    for (size_t i = 0; i < t->n_cols; i++)
        t->cells[t->n_rows * t->n_cols + i] = xstrdup(cells[i] ? cells[i] : "-");
    t->n_rows++;
}

void
cli_table_print(struct cli_table *t)
{
    size_t *w = xcalloc(t->n_cols, sizeof(*w));

    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t i = 0; i < t->n_cols; i++) {
            size_t n = strlen(t->cells[r * t->n_cols + i]);

            if (n > w[i])
                w[i] = n;
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < t->n_cols; i++) {
            const char *s = t->cells[r * t->n_cols + i];

            if (i + 1 == t->n_cols)
                printf("%s\n", s);
            else
                printf("%-*s  ", (int)w[i], s);
        }
    }
    for (size_t k = 0; k < t->n_rows * t->n_cols; k++)
        free(t->cells[k]);
    free(t->cells);
    free(t);
    free(w);
}

void
cli_release(struct cli *c)
{
    cli_http_free(c->http);
    c->http = NULL;
    cli_trust_free(c->trust);
    c->trust = NULL;
    free(c->server);
    c->server = NULL;
}
