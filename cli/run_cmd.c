/* cli/run_cmd.c: `almanac run`, the executor (DESIGN §10): resolve, verify, fetch,
 * lay out, then run the worker under Node.js on exactly the Pyodide it resolved to.
 *
 * Defaults that make `almanac run worker.py --request 'GET /'` work on its own:
 * the date is the server's today, the flags are ["python_workers"] when none are
 * given. With --snapshot the first run saves a memory snapshot after the worker's
 * imports under snapshots/ in the cache, keyed by the lock id and a hash of the
 * worker's source files; later runs start from it (a stale one is remade).
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <sodium.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/hash.h"
#include "app/mem.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/lockfile.h"
#include "cli/lockfiles.h"
#include "cli/locks.h"
#include "executor/cache.h"
#include "executor/layout.h"
#include "executor/snapkey.h"
#include "executor/host.h"

#define RUN_HEADERS_MAX 64
#define RUN_VARS_MAX 64
#define RUN_BODY_MAX (64u * 1024 * 1024)

enum {
    OPT_REQUEST = 1,
    OPT_HEADER,
    OPT_DATA,
    OPT_TIMINGS,
    OPT_SNAPSHOT,
    OPT_VAR,
    OPT_BODY_ONLY,
    OPT_TIMEOUT,
    OPT_ENV,
    OPT_ALLOW_NET,
    OPT_PERSIST_TO,
    OPT_FRESH,
    OPT_SCHEDULED,
    OPT_PORT,
    OPT_IP,
};

#define RUN_DEV_VARS_MAX (1024 * 1024)

struct run_args {
    struct cli_inputs in;
    const char *target; /* worker.py or wrangler.toml */
    char *worker;       /* absolute path of the worker module */
    const char *request;
    const char *headers[RUN_HEADERS_MAX];
    size_t n_headers;
    const char *data;
    const char *vars[RUN_VARS_MAX];
    size_t n_vars;
    int timings, snapshot, body_only;
    long long timeout_ms; /* 0: none */
    int allow_net, fresh;
    const char *persist_to; /* --persist-to DIR (state of the local bindings) */
    const char *scheduled;  /* --scheduled CRON: send a scheduled event instead */
    char *config_found;     /* the config found in the current directory */
    const char *ip;         /* dev: --ip (default 127.0.0.1) */
    int port;               /* dev: --port (default 8787) */
};

/* The phases of one run, in ms. */
struct run_times {
    double resolve, verify, fetch, layout, node, total;
};

/* A status line on a terminal during the silent phases: one line, rewritten in place
 * and erased when the phase ends; nothing when stdout or stderr is not a terminal. */
static int status_on = -1;

static int
status_wanted(const struct cli *c)
{
    if (status_on < 0)
        status_on = !c->quiet && !c->json && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
    return status_on;
}

__attribute__((format(printf, 2, 3))) static void
status(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    if (!status_wanted(c))
        return;
    fputs("\r\033[K", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

static void
status_clear(const struct cli *c)
{
    if (status_wanted(c)) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

static int
parse_args(struct cli *c, int argc, char **argv, struct run_args *a, int dev, int *rc)
{
    static const struct cli_opt opts[] = {
        CLI_RESOLVE_OPTS,
        {"request", 'X', 1, OPT_REQUEST},
        {"header", 'H', 1, OPT_HEADER},
        {"data", 0, 1, OPT_DATA},
        {"timings", 't', 0, OPT_TIMINGS},
        {"snapshot", 's', 0, OPT_SNAPSHOT},
        {"var", 0, 1, OPT_VAR},
        {"body-only", 'b', 0, OPT_BODY_ONLY},
        {"timeout", 0, 1, OPT_TIMEOUT},
        {"env", 'e', 1, OPT_ENV},
        {"allow-net", 0, 0, OPT_ALLOW_NET},
        {"persist-to", 0, 1, OPT_PERSIST_TO},
        {"fresh", 0, 0, OPT_FRESH},
        {"scheduled", 0, 1, OPT_SCHEDULED},
        {NULL, 0, 0, 0},
    };
    static const struct cli_opt dev_opts[] = {
        CLI_RESOLVE_OPTS,
        {"var", 0, 1, OPT_VAR},
        {"env", 'e', 1, OPT_ENV},
        {"allow-net", 0, 0, OPT_ALLOW_NET},
        {"persist-to", 0, 1, OPT_PERSIST_TO},
        {"fresh", 0, 0, OPT_FRESH},
        {"port", 'p', 1, OPT_PORT},
        {"ip", 0, 1, OPT_IP},
        {NULL, 0, 0, 0},
    };
    struct cli_opts o;
    int k;

    *rc = CLI_EUSAGE;
    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, dev ? dev_opts : opts)) > 0) {
        switch (k) {
        case OPT_REQUEST: a->request = o.arg; break;
        case OPT_HEADER:
            if (a->n_headers == RUN_HEADERS_MAX)
                return cli_usage_error(argv[0], "too many -H options"), -1;
            if (!strchr(o.arg, ':'))
                return cli_usage_error(argv[0], "header '%s' is not 'Name: value'", o.arg), -1;
            a->headers[a->n_headers++] = o.arg;
            break;
        case OPT_DATA: a->data = o.arg; break;
        case OPT_TIMINGS: a->timings = 1; break;
        case OPT_SNAPSHOT: a->snapshot = 1; break;
        case OPT_BODY_ONLY: a->body_only = 1; break;
        case OPT_ENV: a->in.env_name = o.arg; break;
        case OPT_ALLOW_NET: a->allow_net = 1; break;
        case OPT_PERSIST_TO: a->persist_to = o.arg; break;
        case OPT_FRESH: a->fresh = 1; break;
        case OPT_SCHEDULED: a->scheduled = o.arg; break;
        case OPT_IP: a->ip = o.arg; break;
        case OPT_PORT: {
            char *end = NULL;
            long p = strtol(o.arg, &end, 10);

            if (!end || *end || p < 1 || p > 65535)
                return cli_usage_error(argv[0], "--port '%s' is not a port number", o.arg), -1;
            a->port = (int)p;
            break;
        }
        case OPT_TIMEOUT: {
            char *end = NULL;
            double s = strtod(o.arg, &end);

            if (!end || *end || !(s > 0) || s > 86400)
                return cli_usage_error(argv[0], "--timeout '%s' is not a number of seconds", o.arg),
                       -1;
            a->timeout_ms = (long long)(s * 1000);
            break;
        }
        case OPT_VAR:
            if (a->n_vars == RUN_VARS_MAX)
                return cli_usage_error(argv[0], "too many --var options"), -1;
            if (!strchr(o.arg, '=') || o.arg[0] == '=')
                return cli_usage_error(argv[0], "--var '%s' is not NAME=VALUE", o.arg), -1;
            a->vars[a->n_vars++] = o.arg;
            break;
        default:
            if (cli_inputs_opt(&a->in, argv[0], k, o.arg) < 0)
                return -1;
        }
    }
    if (k < 0)
        return -1;
    if (o.help) {
        *rc = cli_usage(argv[0]);
        return -1;
    }
    if (o.n_pos > 1)
        return cli_usage_error(argv[0], "give one worker: a .py file, a wrangler config or "
                                        "a project directory"),
               -1;
    a->target = o.n_pos ? o.pos[0] : ".";
    return 0;
}

/* The worker module's absolute path, from the target and the wrangler.toml. */
static int
find_worker(struct run_args *a, struct app_err *err)
{
    char *path;
    struct stat sb;

    /* A project directory (the current one by default): its config, in wrangler's order. */
    if (stat(a->target, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (!a->in.config) {
            a->config_found = cli_wrangler_find(a->target);
            if (!a->config_found)
                return app_fail(err, APP_EINVAL,
                                "no wrangler.json, wrangler.jsonc or wrangler.toml in '%s' "
                                "(or give the worker's .py file)",
                                a->target);
            a->in.config = a->config_found;
        }
    } else if (cli_is_toml(a->target)) {
        if (a->in.config)
            return app_fail(err, APP_EINVAL, "give the wrangler config once");
        a->in.config = a->target;
    }
    if (cli_inputs_load(&a->in, err) < 0)
        return -1;
    if (a->in.config) {
        if (!a->in.wr.main)
            return app_fail(err, APP_EINVAL, "%s has no 'main' (the worker's .py file)",
                            a->in.config);
        if (strchr(a->in.wr.main, '<'))
            return app_fail(err, APP_EINVAL,
                            "%s: main is the template placeholder \"%s\": name the worker's "
                            ".py file",
                            a->in.config, a->in.wr.main);
        path = a->in.wr.main[0] == '/' ? xstrdup(a->in.wr.main)
                                       : xasprintf("%s/%s", a->in.wr.dir, a->in.wr.main);
    } else {
        path = xstrdup(a->target);
    }
    a->worker = realpath(path, NULL);
    if (!a->worker) {
        app_fail(err, APP_EINVAL, "cannot open worker '%s': %s", path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    {
        size_t n = strlen(a->worker);

        if (n < 4 || strcmp(a->worker + n - 3, ".py") != 0)
            return app_fail(err, APP_EINVAL, "worker '%s' is not a .py file", a->worker);
    }
    if (!a->in.main) {
        const char *slash = strrchr(a->worker, '/');

        a->in.main = slash ? slash + 1 : a->worker;
    }
    return 0;
}

/* The date when none was given: the server's today (it may be pinned). */
static int
default_date(struct cli *c, char **date, struct app_err *err)
{
    cJSON *h = NULL;
    const cJSON *t;

    /* Offline, or a static tree with no health route: the local today. */
    if (c->offline || cli_server_is_static(c)) {
        char d[APP_DATE_LEN];

        date_format(date_today(), d);
        *date = xstrdup(d);
        return 0;
    }
    if (cli_request(c, "GET", "/v1/health", NULL, &h, NULL, err) < 0)
        return -1;
    t = cJSON_GetObjectItemCaseSensitive(h, "today");
    if (!cJSON_IsString(t)) {
        cJSON_Delete(h);
        return app_fail(err, APP_EUNAVAILABLE, "the server did not say today's date");
    }
    *date = xstrdup(t->valuestring);
    cJSON_Delete(h);
    return 0;
}

/* {method, url, headers, body} for the host. */
static int
request_json(const struct run_args *a, cJSON **out, struct app_err *err)
{
    const char *req = a->request ? a->request : (a->data ? "POST /" : "GET /");
    const char *sp = strchr(req, ' ');
    cJSON *r = xjson(cJSON_CreateObject()), *hs;
    char *method, *target, *url;

    *out = NULL;
    if (!sp) {
        method = xstrdup(a->data ? "POST" : "GET");
        target = xstrdup(req);
    } else {
        method = xstrndup(req, (size_t)(sp - req));
        while (*sp == ' ')
            sp++;
        target = xstrdup(sp);
    }
    if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0)
        url = xstrdup(target);
    else if (target[0] == '/')
        url = xasprintf("http://localhost%s", target);
    else {
        app_fail(err, APP_EINVAL, "--request '%s' is not 'METHOD /path' or 'METHOD URL'", req);
        free(method);
        free(target);
        cJSON_Delete(r);
        return -1;
    }
    for (char *m = method; *m; m++)
        if (*m >= 'a' && *m <= 'z')
            *m = (char)(*m - 'a' + 'A');
    xjson(cJSON_AddStringToObject(r, "method", method));
    xjson(cJSON_AddStringToObject(r, "url", url));
    hs = xjson(cJSON_AddArrayToObject(r, "headers"));
    for (size_t i = 0; i < a->n_headers; i++) {
        const char *colon = strchr(a->headers[i], ':'), *v = colon + 1;
        char *name = xstrndup(a->headers[i], (size_t)(colon - a->headers[i]));
        cJSON *pair = xjson(cJSON_CreateArray());

        while (*v == ' ' || *v == '\t')
            v++;
        cJSON_AddItemToArray(pair, xjson(cJSON_CreateString(name)));
        cJSON_AddItemToArray(pair, xjson(cJSON_CreateString(v)));
        cJSON_AddItemToArray(hs, pair);
        free(name);
    }
    if (a->data) {
        if (a->data[0] == '@') {
            char *text = NULL;
            size_t len = 0;

            if (file_read_all(a->data + 1, &text, &len, RUN_BODY_MAX, err) < 0) {
                cli_wrap(err, APP_EINVAL, "cannot read --data file '%s'", a->data + 1);
                free(method);
                free(target);
                free(url);
                cJSON_Delete(r);
                return -1;
            }
            /* A file may be binary: it travels base64-encoded. */
            {
                size_t bl = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
                char *b64 = xmalloc(bl);

                sodium_bin2base64(b64, bl, (const unsigned char *)text, len,
                                  sodium_base64_VARIANT_ORIGINAL);
                xjson(cJSON_AddStringToObject(r, "body", b64));
                xjson(cJSON_AddStringToObject(r, "body_encoding", "base64"));
                free(b64);
            }
            free(text);
        } else {
            xjson(cJSON_AddStringToObject(r, "body", a->data));
        }
    }
    free(method);
    free(target);
    free(url);
    *out = r;
    return 0;
}

/* Secrets from a dotenv file: NAME=value lines, # comments, optional quotes,
 * optional "export ". A missing file is not an error. */
static int
dev_vars_read(const char *file, cJSON *env, struct app_err *err)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0;
    int lineno = 0;

    if (access(file, F_OK) != 0)
        return 0;
    if (file_read_all(file, &text, &len, RUN_DEV_VARS_MAX, err) < 0)
        return cli_wrap(err, APP_EINVAL, "cannot read '%s'", file);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq, *k, *v, *e;

        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '#' || *line == '\0' || *line == '\r')
            continue;
        if (strncmp(line, "export ", 7) == 0)
            line += 7;
        eq = strchr(line, '=');
        if (!eq || eq == line) {
            free(text);
            return app_fail(err, APP_EINVAL, "%s: a line is not NAME=value", file);
        }
        *eq = '\0';
        k = line;
        for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
            e[-1] = '\0';
        v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        e = v + strlen(v);
        while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (e - v >= 2 && (*v == '"' || *v == '\'') && e[-1] == *v) {
            e[-1] = '\0';
            v++;
        } else if ((e = strstr(v, " #")) != NULL) {
            *e = '\0';
        }
        cJSON_DeleteItemFromObjectCaseSensitive(env, k);
        xjson(cJSON_AddStringToObject(env, k, v));
    }
    free(text);
    return 0;
}

/* The env the worker sees besides its bindings: the config's vars (any JSON type),
 * the secrets of .dev.vars (or .dev.vars.NAME with --env NAME), then --var. */
static int
env_json(const struct run_args *a, const char *project_dir, cJSON **out, struct app_err *err)
{
    cJSON *env = xjson(cJSON_CreateObject());
    const cJSON *vars, *v;

    *out = NULL;
    if (a->in.have_wrangler) {
        vars = cJSON_GetObjectItemCaseSensitive(a->in.wr.json, "vars");
        cJSON_ArrayForEach (v, vars)
            cJSON_AddItemToObject(env, v->string, xjson(cJSON_Duplicate(v, 1)));
    }
    {
        char *named =
            a->in.env_name ? xasprintf("%s/.dev.vars.%s", project_dir, a->in.env_name) : NULL;
        char *plain = xasprintf("%s/.dev.vars", project_dir);
        int rc = dev_vars_read(named && access(named, F_OK) == 0 ? named : plain, env, err);

        free(named);
        free(plain);
        if (rc < 0) {
            cJSON_Delete(env);
            return -1;
        }
    }
    for (size_t i = 0; i < a->n_vars; i++) {
        const char *eq = strchr(a->vars[i], '=');
        char *name = xstrndup(a->vars[i], (size_t)(eq - a->vars[i]));

        cJSON_DeleteItemFromObjectCaseSensitive(env, name);
        xjson(cJSON_AddStringToObject(env, name, eq + 1));
        free(name);
    }
    *out = env;
    return 0;
}

static double
num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void
print_timings(const struct run_times *t, const cJSON *ht, const struct exe_fetch *st,
              const char *snap_mode)
{
    double startup = num(ht, "node_startup_ms"), boot = num(ht, "boot_ms");
    double install = num(ht, "install_ms"), import = num(ht, "import_ms");
    double handler = num(ht, "handler_ms"), snap = num(ht, "snapshot_ms");
    double host_total = num(ht, "total_ms");
    double host_other = t->node - (startup + boot + install + import + handler + snap);
    double before_boot = t->resolve + t->verify + t->fetch + t->layout + startup +
                         (host_total - (startup + boot + install + import + handler + snap));
    double sum = t->resolve + t->verify + t->fetch + t->layout + t->node;

    fprintf(stderr, "timings (ms):\n");
    fprintf(stderr, "  resolve     %8.1f\n", t->resolve);
    fprintf(stderr, "  verify      %8.1f\n", t->verify);
    fprintf(stderr, "  fetch       %8.1f   (%zu downloaded, %zu cached)\n", t->fetch,
            st->n_downloaded, st->n_cached);
    fprintf(stderr, "  layout      %8.1f\n", t->layout);
    fprintf(stderr, "  node start  %8.1f\n", startup);
    fprintf(stderr, "  boot        %8.1f%s\n", boot,
            !strcmp(snap_mode, "load") ? "   (from snapshot)" : "");
    fprintf(stderr, "  install     %8.1f\n", install);
    fprintf(stderr, "  import      %8.1f\n", import);
    fprintf(stderr, "  handler     %8.1f\n", handler);
    if (strcmp(snap_mode, "none") != 0)
        fprintf(stderr, "  snapshot    %8.1f   (%s)\n", snap,
                !strcmp(snap_mode, "make") ? "made" : "restored files");
    fprintf(stderr, "  host other  %8.1f\n", host_other);
    fprintf(stderr, "  other       %8.1f\n", t->total - sum);
    fprintf(stderr, "  total       %8.1f   (before Pyodide boots: %.1f)\n", t->total, before_boot);
}

static int
print_response(const struct cli *c, const struct run_args *a, cJSON *res)
{
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(res, "body");
    const cJSON *enc = cJSON_GetObjectItemCaseSensitive(res, "body_encoding");
    const cJSON *h;

    if (c->json) {
        cli_print_json(res);
        return 0;
    }
    if (a->scheduled) {
        printf("scheduled event handled (cron \"%s\")\n", a->scheduled);
        return 0;
    }
    if (!a->body_only) {
        printf("HTTP %d\n", (int)num(res, "status"));
        cJSON_ArrayForEach (h, cJSON_GetObjectItemCaseSensitive(res, "headers")) {
            const cJSON *k = cJSON_GetArrayItem(h, 0), *v = cJSON_GetArrayItem(h, 1);

            if (cJSON_IsString(k) && cJSON_IsString(v))
                printf("%s: %s\n", k->valuestring, v->valuestring);
        }
        printf("\n");
    }
    if (cJSON_IsString(body)) {
        if (cJSON_IsString(enc) && strcmp(enc->valuestring, "base64") == 0) {
            size_t bl = strlen(body->valuestring), n = 0;
            unsigned char *bin = xmalloc(bl + 1);

            if (sodium_base642bin(bin, bl + 1, body->valuestring, bl, NULL, &n, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) == 0)
                fwrite(bin, 1, n, stdout);
            free(bin);
        } else {
            size_t n = strlen(body->valuestring);

            fputs(body->valuestring, stdout);
            if (!a->body_only && isatty(STDOUT_FILENO) && n && body->valuestring[n - 1] != '\n')
                fputc('\n', stdout);
        }
    }
    return 0;
}

/* The worker's error: its traceback or the executor's message. */
static int
report_failure(const struct cli *c, cJSON *res)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(res, "error");
    const char *type = cli_str(e, "type");
    const cJSON *tb = cJSON_GetObjectItemCaseSensitive(e, "traceback");

    if (c->json)
        cli_print_json(res);
    if (!strcmp(type, "PlatformError")) {
        fprintf(stderr, "%s\n", cli_str(e, "message"));
        fprintf(stderr, "almanac: the platform would refuse this worker (see above)\n");
    } else if (!strcmp(type, "PythonError")) {
        if (cJSON_IsString(tb))
            fprintf(stderr, "%s", tb->valuestring);
        fprintf(stderr, "almanac: the worker raised: %s\n", cli_str(e, "message"));
    } else {
        fprintf(stderr, "almanac: the executor failed: %s\n", cli_str(e, "message"));
    }
    return CLI_EWORKER;
}

static int
snapshot_retry(const cJSON *res)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(res, "error");
    const char *code = cli_str(e, "code");

    return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(res, "ok")) &&
           (!strcmp(code, "snapshot_stale") || !strcmp(code, "snapshot_invalid") ||
            !strcmp(code, "snapshot_missing"));
}

/* One run's state, from the parsed arguments to the host's config. `run` and `dev`
 * share it: each phase below fills part of it. */
struct run_state {
    struct run_args a;
    struct run_times t;
    struct cli_lock lock;
    struct exe_lock_file *files;
    size_t n;
    struct exe_cache *cache;
    struct exe_fetch st;
    cJSON *request, *config;
    char *date, *host, *dir, *snap_path, *project_dir, *config_path;
    const char *snap_mode;
    int reused;
    double t0;
};

static void
run_state_init(struct run_state *s)
{
    memset(s, 0, sizeof(*s));
    cli_inputs_init(&s->a.in);
    s->snap_mode = "none";
    s->t0 = cli_now_ms();
}

static void
run_state_release(struct run_state *s)
{
    cJSON_Delete(s->request);
    cJSON_Delete(s->config);
    free(s->files);
    free(s->date);
    free(s->host);
    free(s->dir);
    free(s->snap_path);
    free(s->project_dir);
    free(s->config_path);
    free(s->a.worker);
    free(s->a.config_found);
    exe_cache_free(s->cache);
    cli_lock_release(&s->lock);
    cli_inputs_release(&s->a.in);
    memset(s, 0, sizeof(*s));
}

/* Phase: the date and flags (defaults for a bare .py), resolution and the lock's
 * signature. Returns an exit code, CLI_OK to go on. */
static int
phase_resolve(struct cli *c, struct run_state *s, struct app_err *err)
{
    struct run_args *a = &s->a;
    cJSON *body;
    double t1 = cli_now_ms();
    int date_given = a->in.date != NULL, rc;

    if (!a->in.date) {
        if (default_date(c, &s->date, err) < 0)
            return cli_report(err);
        a->in.date = s->date;
    }
    if (a->in.n_flags == 0 && !(a->in.have_wrangler && a->in.wr.has_flags)) {
        a->in.flags[a->in.n_flags++] = "python_workers";
        /* A bare .py runs as the platform's loader runs a dynamic Python worker. */
        if (!a->in.have_wrangler && !date_given) {
            a->in.flags[a->in.n_flags++] = "disable_python_external_sdk";
            if (!c->quiet)
                fprintf(stderr,
                        "almanac: no wrangler config: running with today's date %s (the "
                        "server's) and flags python_workers, disable_python_external_sdk\n",
                        a->in.date);
        }
    }
    body = cli_inputs_body(&a->in);
    status(c, "resolving %s ...", a->in.date);
    rc = cli_lockfile_resolve(c, &a->in, body, &s->lock, err);
    status_clear(c);
    cJSON_Delete(body);
    if (rc < 0)
        return cli_report(err);
    s->t.resolve = cli_now_ms() - t1 - s->lock.verify_ms;
    s->t.verify = s->lock.verify_ms;
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(s->lock.lock, "runtime"))) {
        fprintf(stderr, "almanac: date %s with these flags resolves to no Python runtime\n",
                a->in.date);
        return CLI_EREFUSED;
    }
    {
        const cJSON *w;

        cJSON_ArrayForEach (w, cJSON_GetObjectItemCaseSensitive(s->lock.response, "warnings"))
            if (!c->quiet)
                fprintf(stderr, "almanac: warning: %s\n", cli_str(w, "message"));
    }
    return CLI_OK;
}

/* Phase: every artifact into the cache, then the worker's layout directory. */
static int
phase_fetch_layout(struct cli *c, struct run_state *s, cJSON **pkgs, struct app_err *err)
{
    double t1 = cli_now_ms();

    if (exe_lock_files(s->lock.lock, &s->files, &s->n, err) < 0)
        return cli_report(err);
    status(c, "fetching %zu files of %s ...", s->n,
           cli_str(cJSON_GetObjectItemCaseSensitive(s->lock.lock, "runtime"), "id"));
    if (cli_fetch_lock(c, s->cache, s->files, s->n, &s->st, err) < 0) {
        status_clear(c);
        return cli_report(err);
    }
    status_clear(c);
    s->t.fetch = cli_now_ms() - t1;
    t1 = cli_now_ms();
    if (exe_layout_lock(s->cache, s->lock.lock, s->files, s->n, s->a.worker, &s->dir, pkgs,
                        &s->reused, err) < 0)
        return cli_report(err);
    s->t.layout = cli_now_ms() - t1;
    return CLI_OK;
}

/* Phase: the snapshot's path and mode (--snapshot), keyed by the lock and the worker. */
static int
phase_snapshot_key(struct run_state *s, struct app_err *err)
{
    char key[EXE_SNAPKEY_LEN];
    struct stat sb;

    if (!s->a.snapshot)
        return CLI_OK;
    {
        char *pd = s->a.in.have_wrangler ? xstrdup(s->a.in.wr.dir) : xstrdup(s->a.worker);
        int rc;

        if (!s->a.in.have_wrangler)
            *strrchr(pd, '/') = '\0';
        rc = exe_snapshot_key(
            s->lock.id, s->a.worker, pd, s->a.in.have_wrangler ? s->a.in.wr.json : NULL,
            cJSON_GetObjectItemCaseSensitive(s->lock.lock, "enabled_flags"), key, err);
        free(pd);
        if (rc < 0)
            return cli_report(err);
    }
    s->snap_path = xasprintf("%s/snapshots/%s.snap", exe_cache_root(s->cache), key);
    s->snap_mode = stat(s->snap_path, &sb) == 0 ? "load" : "make";
    return CLI_OK;
}

/* Phase: the host's config (executor/README.md). Takes pkgs. */
static int
phase_host_config(struct run_state *s, cJSON *pkgs, struct app_err *err)
{
    struct run_args *a = &s->a;
    cJSON *config = xjson(cJSON_CreateObject()), *env = NULL;
    char *lf = xasprintf("%s/pyodide-lock.json", s->dir), *abs;

    s->config = config;
    xjson(cJSON_AddStringToObject(config, "dir", s->dir));
    xjson(cJSON_AddStringToObject(config, "lock_file", lf));
    free(lf);
    cJSON_AddItemToObject(config, "packages", pkgs);
    xjson(cJSON_AddStringToObject(config, "worker", a->worker));
    if (s->request) {
        cJSON_AddItemToObject(config, "request", s->request);
        s->request = NULL;
    }
    s->project_dir = a->in.have_wrangler ? xstrdup(a->in.wr.dir) : xstrdup(a->worker);
    if (!a->in.have_wrangler)
        *strrchr(s->project_dir, '/') = '\0';
    if (env_json(a, s->project_dir, &env, err) < 0)
        return cli_report(err);
    cJSON_AddItemToObject(config, "env", env);
    cJSON_AddItemToObject(
        config, "flags",
        xjson(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s->lock.lock, "enabled_flags"), 1)));
    if (a->in.have_wrangler)
        cJSON_AddItemToObject(config, "config", xjson(cJSON_Duplicate(a->in.wr.json, 1)));
    abs = realpath(s->project_dir, NULL);
    xjson(cJSON_AddStringToObject(config, "project_dir", abs ? abs : s->project_dir));
    if (a->persist_to) {
        xjson(cJSON_AddStringToObject(config, "state_dir", a->persist_to));
    } else {
        char *sd = xasprintf("%s/.almanac/state", abs ? abs : s->project_dir);

        xjson(cJSON_AddStringToObject(config, "state_dir", sd));
        free(sd);
    }
    free(abs);
    xjson(cJSON_AddBoolToObject(config, "fresh", a->fresh));
    xjson(cJSON_AddBoolToObject(config, "allow_net", a->allow_net));
    if (a->scheduled) {
        xjson(cJSON_AddStringToObject(config, "event", "scheduled"));
        xjson(cJSON_AddStringToObject(config, "cron", a->scheduled));
    }
    {
        cJSON *sn = xjson(cJSON_AddObjectToObject(config, "snapshot"));

        xjson(cJSON_AddStringToObject(sn, "mode", s->snap_mode));
        if (s->snap_path)
            xjson(cJSON_AddStringToObject(sn, "path", s->snap_path));
    }
    xjson(cJSON_AddBoolToObject(config, "timings", 1));
    if (status_on > 0) {
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(s->lock.lock, "runtime");
        char *label =
            xasprintf("Pyodide %s / Python %s", cli_str(rt, "pyodide"), cli_str(rt, "python"));

        xjson(cJSON_AddStringToObject(config, "status", label));
        free(label);
    }
    if (a->timeout_ms > 0)
        xjson(cJSON_AddNumberToObject(config, "timeout_ms", (double)a->timeout_ms));
    s->config_path = xasprintf("%s.run.%ld.json", s->dir, (long)getpid());
    return CLI_OK;
}

/* Every phase before the host runs. Returns an exit code, CLI_OK to go on. */
static int
run_prepare(struct cli *c, struct run_state *s, int serving, struct app_err *err)
{
    cJSON *pkgs = NULL;
    int rc;

    if (find_worker(&s->a, err) < 0 || (!serving && request_json(&s->a, &s->request, err) < 0) ||
        !(s->host = exe_find_host(err)) || !(s->cache = exe_cache_open(NULL, err)))
        return cli_report(err);
    if ((rc = phase_resolve(c, s, err)) != CLI_OK)
        return rc;
    if ((rc = phase_fetch_layout(c, s, &pkgs, err)) != CLI_OK) {
        cJSON_Delete(pkgs);
        return rc;
    }
    if ((rc = phase_snapshot_key(s, err)) != CLI_OK) {
        cJSON_Delete(pkgs);
        return rc;
    }
    return phase_host_config(s, pkgs, err);
}

/* Phase: run the host; a stale or broken snapshot is remade once. */
static int
phase_host_run(struct cli *c, struct run_state *s, cJSON **res, struct app_err *err)
{
    int ret = exe_run_host(s->host, s->config, s->config_path, res, &s->t.node, err);

    if (ret == 0 && !strcmp(s->snap_mode, "load") && snapshot_retry(*res)) {
        double node2 = 0;
        cJSON *sn = cJSON_GetObjectItemCaseSensitive(s->config, "snapshot");

        if (!c->quiet)
            fprintf(stderr, "almanac: snapshot %s is stale (%s); making a new one\n", s->snap_path,
                    cli_str(cJSON_GetObjectItemCaseSensitive(*res, "error"), "message"));
        cJSON_Delete(*res);
        *res = NULL;
        s->snap_mode = "make";
        cJSON_ReplaceItemInObjectCaseSensitive(sn, "mode", xjson(cJSON_CreateString("make")));
        ret = exe_run_host(s->host, s->config, s->config_path, res, &node2, err);
        s->t.node += node2;
    }
    unlink(s->config_path);
    return ret;
}

static void
add_run_facts(struct run_state *s, cJSON *res)
{
    cJSON *tj = xjson(cJSON_CreateObject());
    cJSON *fj = xjson(cJSON_CreateObject());

    xjson(cJSON_AddStringToObject(res, "lock_id", s->lock.id));
    xjson(cJSON_AddStringToObject(res, "layout", s->dir));
    xjson(cJSON_AddBoolToObject(res, "layout_reused", s->reused));
    xjson(cJSON_AddNumberToObject(fj, "downloaded", (double)s->st.n_downloaded));
    xjson(cJSON_AddNumberToObject(fj, "cached", (double)s->st.n_cached));
    xjson(cJSON_AddNumberToObject(fj, "bytes", (double)s->st.bytes_identity));
    xjson(cJSON_AddNumberToObject(fj, "wire_bytes", (double)s->st.bytes_wire));
    cJSON_AddItemToObject(res, "fetch", fj);
    xjson(cJSON_AddNumberToObject(tj, "resolve_ms", s->t.resolve));
    xjson(cJSON_AddNumberToObject(tj, "verify_ms", s->t.verify));
    xjson(cJSON_AddNumberToObject(tj, "fetch_ms", s->t.fetch));
    xjson(cJSON_AddNumberToObject(tj, "layout_ms", s->t.layout));
    xjson(cJSON_AddNumberToObject(tj, "node_ms", s->t.node));
    xjson(cJSON_AddNumberToObject(tj, "total_ms", s->t.total));
    cJSON_AddItemToObject(res, "almanac_timings", tj);
}

static int
cmd_run(struct cli *c, int argc, char **argv)
{
    struct run_state s;
    struct app_err err = {0};
    cJSON *res = NULL;
    int rc = CLI_EUSAGE;

    run_state_init(&s);
    if (parse_args(c, argc, argv, &s.a, 0, &rc) < 0)
        goto out;
    if ((rc = run_prepare(c, &s, 0, &err)) != CLI_OK)
        goto out;
    if (phase_host_run(c, &s, &res, &err) < 0) {
        cli_report(&err);
        rc = CLI_EWORKER;
        goto out;
    }
    s.t.total = cli_now_ms() - s.t0;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "ok"))) {
        rc = report_failure(c, res);
        goto out;
    }
    if (c->json)
        add_run_facts(&s, res);
    if (s.a.timings)
        print_timings(&s.t, cJSON_GetObjectItemCaseSensitive(res, "timings"), &s.st, s.snap_mode);
    if (!c->json && !s.a.timings)
        cJSON_DeleteItemFromObjectCaseSensitive(res, "timings");
    print_response(c, &s.a, res);
    rc = CLI_OK;
out:
    cJSON_Delete(res);
    app_err_release(&err);
    run_state_release(&s);
    return rc;
}

/* `almanac dev`: resolve, fetch and lay out as `run` does, then keep the host serving.
 * The host ends with EXE_SERVE_RERESOLVE when the config, the requirements or
 * .dev.vars change: everything is done again from the arguments. */
static int
cmd_dev(struct cli *c, int argc, char **argv)
{
    struct app_err err = {0};
    int rc = CLI_EUSAGE, started = 0;

    for (;;) {
        struct run_state s;
        int code = 0;

        run_state_init(&s);
        if (parse_args(c, argc, argv, &s.a, 1, &rc) < 0) {
            run_state_release(&s);
            break;
        }
        if (started)
            s.a.fresh = 0; /* --fresh empties the state once, not on each re-resolve */
        if ((rc = run_prepare(c, &s, 1, &err)) != CLI_OK) {
            run_state_release(&s);
            break;
        }
        {
            cJSON *sv = xjson(cJSON_AddObjectToObject(s.config, "serve"));

            xjson(cJSON_AddStringToObject(sv, "ip", s.a.ip ? s.a.ip : "127.0.0.1"));
            xjson(cJSON_AddNumberToObject(sv, "port", s.a.port ? s.a.port : 8787));
        }
        cJSON_DeleteItemFromObjectCaseSensitive(s.config, "timings");
        if (exe_serve_host(s.host, s.config, s.config_path, &code, &err) < 0) {
            rc = cli_report(&err);
            unlink(s.config_path);
            run_state_release(&s);
            break;
        }
        unlink(s.config_path);
        run_state_release(&s);
        started = 1;
        if (code == EXE_SERVE_RERESOLVE)
            continue;
        rc = code == 0 ? CLI_OK : CLI_EWORKER;
        break;
    }
    app_err_release(&err);
    return rc;
}

const struct cli_cmd cli_cmds_run[] = {
    {"run",
     "[WORKER.py|wrangler.json|wrangler.jsonc|wrangler.toml|DIR] (default: the config in the "
     "current directory, found in wrangler's order)\n"
     "  --request 'METHOD /path'  the request (default GET /, POST / with --data)\n"
     "  -H 'Name: value'          a request header (repeatable)\n"
     "  --data BODY|@FILE         the request body\n"
     "  --scheduled CRON          send a scheduled event instead of a request\n"
     "  --env NAME                apply the config's environment NAME and .dev.vars.NAME\n"
     "  --var NAME=VALUE          one more var (repeatable; wins over vars and .dev.vars)\n"
     "  --date D, --flag F        compatibility date and flags (default: the config's; a bare\n"
     "                            .py: the server's today, python_workers and\n"
     "                            disable_python_external_sdk)\n"
     "  -r requirements.txt       the worker's requirements (default: pyproject.toml\n"
     "                            [project].dependencies, else requirements.txt, beside\n"
     "                            the config)\n"
     "  --allow-experimental      allow experimental flags (default: refused)\n"
     "  --allow-net               let the worker reach the network (default: refused)\n"
     "  --persist-to DIR          state of the local bindings (default PROJECT/.almanac/state)\n"
     "  --fresh                   start the local bindings from empty state\n"
     "  --snapshot                save/reuse a memory snapshot after the worker's imports\n"
     "  --timeout SECONDS         bound on import + handler (default: none)\n"
     "  --timings, --body-only    phase timings on stderr; print the body only",
     "run a Python worker on the exact Pyodide its date resolves to", cmd_run},
    {"dev",
     "[WORKER.py|wrangler.json|wrangler.jsonc|wrangler.toml|DIR] (default: the config in the "
     "current directory)\n"
     "  --ip IP                   address to listen on (default 127.0.0.1)\n"
     "  -p, --port PORT           port to listen on (default 8787)\n"
     "  --env NAME                apply the config's environment NAME and .dev.vars.NAME\n"
     "  --var NAME=VALUE          one more var (repeatable)\n"
     "  --date D, --flag F, -r requirements.txt, --allow-experimental   as for run\n"
     "  --allow-net               let the worker reach the network (default: refused)\n"
     "  --persist-to DIR          state of the local bindings (default PROJECT/.almanac/state)\n"
     "  --fresh                   start the local bindings from empty state\n"
     "One Pyodide stays warm; one access line per request; the worker is reloaded when its\n"
     "files change (resolved again when the config, requirements or .dev.vars change);\n"
     "GET /__scheduled?cron=EXPR sends a scheduled event. Ctrl-C stops it.",
     "serve a Python worker locally, like wrangler dev", cmd_dev},
    {NULL, NULL, NULL, NULL},
};
