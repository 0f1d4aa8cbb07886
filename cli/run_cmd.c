/* cli/run_cmd.c: `almanac run` and `almanac dev` (DESIGN §10): the arguments, the
 * worker and its config, resolution and the lock's signature (the client's pinned
 * keys), then the executor's phases (executor/run.h: fetch, layout, snapshot key,
 * host config, host run) and the report.
 *
 * Defaults that make `almanac run worker.py --request 'GET /'` work on its own:
 * the date is the server's today, the flags are ["python_workers"] when none are
 * given. With --snapshot the first run saves a memory snapshot after the worker's
 * imports under snapshots/ in the cache (executor/snapkey.h); later runs start
 * from it (a stale one is remade).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "app/date.h"
#include "app/mem.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/lockfile.h"
#include "cli/lockfiles.h"
#include "cli/locks.h"
#include "executor/cache.h"
#include "executor/host.h"
#include "executor/run.h"

#define RUN_HEADERS_MAX 64
#define RUN_VARS_MAX 64

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

/* One run's state: the parsed arguments, the verified lock, the executor's plan
 * and its run (executor/run.h). `run` and `dev` share it. */
struct run_state {
    struct run_args a;
    struct run_times t;
    struct cli_lock lock;
    struct exe_plan plan;
    struct exe_run r;
    char *date, *project_dir;
    double t0;
};

static void
run_state_init(struct run_state *s)
{
    memset(s, 0, sizeof(*s));
    cli_inputs_init(&s->a.in);
    exe_run_init(&s->r, &s->plan);
    s->t0 = cli_now_ms();
}

static void
run_state_release(struct run_state *s)
{
    exe_run_release(&s->r);
    free(s->date);
    free(s->project_dir);
    free(s->a.worker);
    free(s->a.config_found);
    cli_lock_release(&s->lock);
    cli_inputs_release(&s->a.in);
    memset(s, 0, sizeof(*s));
}

static void
note(void *ctx, const char *text)
{
    const struct cli *c = ctx;

    if (!c->quiet)
        fprintf(stderr, "almanac: %s\n", text);
}

/* The executor's plan from the arguments (the lock comes in phase_resolve). */
static void
plan_of(struct cli *c, struct run_state *s, int serving)
{
    struct run_args *a = &s->a;
    struct exe_plan *p = &s->plan;

    s->project_dir = a->in.have_wrangler ? xstrdup(a->in.wr.dir) : xstrdup(a->worker);
    if (!a->in.have_wrangler)
        *strrchr(s->project_dir, '/') = '\0';
    p->worker = a->worker;
    p->project_dir = s->project_dir;
    p->config = a->in.have_wrangler ? a->in.wr.json : NULL;
    p->request = a->request;
    p->headers = a->headers;
    p->n_headers = a->n_headers;
    p->data = a->data;
    p->cron = a->scheduled;
    p->env_name = a->in.env_name;
    p->vars = a->vars;
    p->n_vars = a->n_vars;
    p->state_dir = a->persist_to;
    p->timeout_ms = a->timeout_ms;
    p->fresh = a->fresh;
    p->allow_net = a->allow_net;
    p->snapshot = a->snapshot;
    p->status = status_wanted(c);
    if (serving) {
        p->serve_ip = a->ip ? a->ip : "127.0.0.1";
        p->serve_port = a->port ? a->port : 8787;
    }
    p->note = note;
    p->note_ctx = c;
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

/* Every phase before the host runs. Returns an exit code, CLI_OK to go on. */
static int
run_prepare(struct cli *c, struct run_state *s, int serving, struct app_err *err)
{
    struct exe_run *r = &s->r;
    int rc;

    if (find_worker(&s->a, err) < 0)
        return cli_report(err);
    plan_of(c, s, serving);
    if ((!serving && exe_run_request(r, err) < 0) || exe_run_open(r, err) < 0)
        return cli_report(err);
    if ((rc = phase_resolve(c, s, err)) != CLI_OK)
        return rc;
    s->plan.lock = s->lock.lock;
    s->plan.lock_id = s->lock.id;
    if (exe_run_lock_files(r, err) < 0 || cli_fetch_setup(c, &r->fetch, err) < 0)
        return cli_report(err);
    status(c, "fetching %zu files of %s ...", r->n_files,
           cli_str(cJSON_GetObjectItemCaseSensitive(s->lock.lock, "runtime"), "id"));
    rc = exe_run_fetch(r, err);
    status_clear(c);
    if (rc < 0 || exe_run_layout(r, err) < 0 || exe_run_snapshot_key(r, err) < 0 ||
        exe_run_host_config(r, err) < 0)
        return cli_report(err);
    return CLI_OK;
}

static void
add_run_facts(struct run_state *s, cJSON *res)
{
    const struct exe_fetch *st = &s->r.fetch;
    cJSON *tj = xjson(cJSON_CreateObject());
    cJSON *fj = xjson(cJSON_CreateObject());

    xjson(cJSON_AddStringToObject(res, "lock_id", s->lock.id));
    xjson(cJSON_AddStringToObject(res, "layout", s->r.dir));
    xjson(cJSON_AddBoolToObject(res, "layout_reused", s->r.reused));
    xjson(cJSON_AddNumberToObject(fj, "downloaded", (double)st->n_downloaded));
    xjson(cJSON_AddNumberToObject(fj, "cached", (double)st->n_cached));
    xjson(cJSON_AddNumberToObject(fj, "bytes", (double)st->bytes_identity));
    xjson(cJSON_AddNumberToObject(fj, "wire_bytes", (double)st->bytes_wire));
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
    if (exe_run_worker(&s.r, &res, &err) < 0) {
        cli_report(&err);
        rc = CLI_EWORKER;
        goto out;
    }
    s.t.fetch = s.r.t.fetch;
    s.t.layout = s.r.t.layout;
    s.t.node = s.r.t.node;
    s.t.total = cli_now_ms() - s.t0;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "ok"))) {
        rc = report_failure(c, res);
        goto out;
    }
    if (c->json)
        add_run_facts(&s, res);
    if (s.a.timings)
        print_timings(&s.t, cJSON_GetObjectItemCaseSensitive(res, "timings"), &s.r.fetch,
                      s.r.snap_mode);
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
        if (exe_run_serve(&s.r, &code, &err) < 0) {
            rc = cli_report(&err);
            run_state_release(&s);
            break;
        }
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
