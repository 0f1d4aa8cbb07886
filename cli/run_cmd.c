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
#include "cli/lockfiles.h"
#include "cli/locks.h"
#include "executor/cache.h"
#include "executor/layout.h"
#include "executor/run.h"

#define RUN_HEADERS_MAX 64
#define RUN_VARS_MAX 64
#define RUN_BODY_MAX (64u * 1024 * 1024)
#define RUN_SOURCE_MAX (64u * 1024 * 1024)

enum {
    OPT_REQUEST = 1,
    OPT_HEADER,
    OPT_DATA,
    OPT_TIMINGS,
    OPT_SNAPSHOT,
    OPT_VAR,
    OPT_BODY_ONLY,
    OPT_TIMEOUT,
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
};

/* The phases of one run, in ms. */
struct run_times {
    double resolve, verify, fetch, layout, node, total;
};

/* Core files under the names Pyodide loads them by. */
static const char *
core_name(const char *role, const char *file_name)
{
    if (strcmp(role, "core-wasm") == 0)
        return "pyodide.asm.wasm";
    if (strcmp(role, "loader") == 0)
        return "pyodide.mjs";
    if (strcmp(role, "stdlib") == 0)
        return "python_stdlib.zip";
    if (strcmp(role, "core-js") == 0)
        return file_name; /* pyodide.asm.js or pyodide.asm.mjs */
    return NULL;
}

static int
parse_args(struct cli *c, int argc, char **argv, struct run_args *a, int *rc)
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
        {NULL, 0, 0, 0},
    };
    struct cli_opts o;
    int k;

    *rc = CLI_EUSAGE;
    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0) {
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
    if (o.n_pos != 1)
        return cli_usage_error(argv[0], "give one worker: a .py file or a wrangler.toml"), -1;
    a->target = o.pos[0];
    return 0;
}

/* The worker module's absolute path, from the target and the wrangler.toml. */
static int
find_worker(struct run_args *a, struct app_err *err)
{
    char *path;

    if (cli_is_toml(a->target)) {
        if (a->in.config)
            return app_fail(err, APP_EINVAL, "give the wrangler.toml once");
        a->in.config = a->target;
    }
    if (cli_inputs_load(&a->in, err) < 0)
        return -1;
    if (a->in.config) {
        if (!a->in.wr.main)
            return app_fail(err, APP_EINVAL, "%s has no 'main' (the worker's .py file)",
                            a->in.config);
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

/* A hash of the worker's sources: the module and its sibling .py files (what its
 * imports can reach in the worker directory), names and bytes. */
static int
worker_hash(const char *worker, char out[APP_SHA256_HEX], struct app_err *err)
{
    char *dir = xstrdup(worker), *slash = strrchr(dir, '/');
    crypto_hash_sha256_state st;
    struct dirent **names = NULL;
    unsigned char d[APP_SHA256_LEN];
    int n, ret = -1;

    *slash = '\0';
    crypto_hash_sha256_init(&st);
    n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        app_fail(err, APP_EINVAL, "cannot list '%s': %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t len = strlen(nm);

        if (len > 3 && strcmp(nm + len - 3, ".py") == 0 && nm[0] != '.') {
            char *p = xasprintf("%s/%s", dir, nm), *text = NULL;
            size_t tl = 0;

            if (file_read_all(p, &text, &tl, RUN_SOURCE_MAX, NULL) == 0) {
                crypto_hash_sha256_update(&st, (const unsigned char *)nm, len + 1);
                crypto_hash_sha256_update(&st, (const unsigned char *)text, tl);
            }
            free(text);
            free(p);
        }
    }
    crypto_hash_sha256_final(&st, d);
    hex_encode(d, sizeof(d), out);
    ret = 0;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    return ret;
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

static cJSON *
env_json(const struct run_args *a)
{
    cJSON *env = xjson(cJSON_CreateObject());

    if (a->in.have_wrangler)
        for (size_t i = 0; i < a->in.wr.n_vars; i++) {
            cJSON_DeleteItemFromObjectCaseSensitive(env, a->in.wr.var_names[i]);
            xjson(cJSON_AddStringToObject(env, a->in.wr.var_names[i], a->in.wr.var_values[i]));
        }
    for (size_t i = 0; i < a->n_vars; i++) {
        const char *eq = strchr(a->vars[i], '=');
        char *name = xstrndup(a->vars[i], (size_t)(eq - a->vars[i]));

        cJSON_DeleteItemFromObjectCaseSensitive(env, name);
        xjson(cJSON_AddStringToObject(env, name, eq + 1));
        free(name);
    }
    return env;
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
    if (!strcmp(type, "PythonError")) {
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

/* The worker's directory: core files under Pyodide's names, the packages under
 * their file names, and a pyodide-lock.json for exactly this lock. *dir (caller
 * frees) is keyed by the worker's path; *pkgs lists the packages to install. */
static int
lay_out(struct exe_cache *cache, const struct cli_lock *lock, const struct cli_lock_file *files,
        size_t n, const char *worker, char **dir, cJSON **pkgs, int *reused, struct app_err *err)
{
    struct exe_layout_file *lay = xcalloc(n ? n : 1, sizeof(*lay));
    char key[APP_SHA256_HEX];
    char *shipped = NULL, *lock_text;
    const cJSON *p;
    size_t k = 0;
    int ret;

    for (size_t i = 0; i < n; i++) {
        const char *name = files[i].blob.name;

        if (files[i].role) {
            /* The runtime's own lock only lends its "info" to the one written here. */
            if (!strcmp(files[i].role, "lock")) {
                free(shipped);
                shipped = exe_cache_blob_path(cache, files[i].blob.hex);
                continue;
            }
            name = core_name(files[i].role, files[i].blob.name);
            if (!name)
                continue;
        }
        lay[k].name = name;
        lay[k].hex = files[i].blob.hex;
        k++;
    }
    sha256_hex(worker, strlen(worker), key);
    *dir = xasprintf("%s/workers/%.16s", exe_cache_root(cache), key);
    lock_text = exe_pyodide_lock(lock->lock, shipped);
    ret = exe_layout_build(cache, *dir, lay, k, lock_text, reused, err);
    *pkgs = xjson(cJSON_CreateArray());
    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(lock->lock, "packages"))
        cJSON_AddItemToArray(*pkgs, xjson(cJSON_CreateString(cli_str(p, "name"))));
    free(lock_text);
    free(shipped);
    free(lay);
    return ret;
}

static int
cmd_run(struct cli *c, int argc, char **argv)
{
    struct run_args a;
    struct run_times t = {0};
    struct cli_lock lock = {0};
    struct cli_lock_file *files = NULL;
    struct exe_cache *cache = NULL;
    struct exe_fetch st;
    struct app_err err = {0};
    cJSON *body = NULL, *config = NULL, *request = NULL, *res = NULL, *pkgs = NULL;
    char *date = NULL, *host = NULL, *dir = NULL;
    char *config_path = NULL, *snap_path = NULL;
    char wh[APP_SHA256_HEX];
    const char *snap_mode = "none", *default_flag = "python_workers";
    size_t n = 0;
    double t0 = cli_now_ms(), t1;
    int rc = CLI_EUSAGE, reused = 0;

    memset(&a, 0, sizeof(a));
    memset(&st, 0, sizeof(st));
    cli_inputs_init(&a.in);
    if (parse_args(c, argc, argv, &a, &rc) < 0)
        goto out;
    if (find_worker(&a, &err) < 0 || request_json(&a, &request, &err) < 0 ||
        !(host = exe_find_host(&err)) || !(cache = exe_cache_open(NULL, &err))) {
        rc = cli_report(&err);
        goto out;
    }
    /* ---- resolve and verify */
    t1 = cli_now_ms();
    if (!a.in.date) {
        if (default_date(c, &date, &err) < 0) {
            rc = cli_report(&err);
            goto out;
        }
        a.in.date = date;
    }
    if (a.in.n_flags == 0 && !(a.in.have_wrangler && a.in.wr.has_flags))
        a.in.flags[a.in.n_flags++] = default_flag;
    body = cli_inputs_body(&a.in);
    if (cli_lock_resolve(c, body, &lock, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    t.resolve = cli_now_ms() - t1 - lock.verify_ms;
    t.verify = lock.verify_ms;
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(lock.lock, "runtime"))) {
        fprintf(stderr, "almanac: date %s with these flags resolves to no Python runtime\n",
                a.in.date);
        rc = CLI_EREFUSED;
        goto out;
    }
    {
        const cJSON *w;

        cJSON_ArrayForEach (w, cJSON_GetObjectItemCaseSensitive(lock.response, "warnings"))
            if (!c->quiet)
                fprintf(stderr, "almanac: warning: %s\n", cli_str(w, "message"));
    }
    /* ---- fetch */
    t1 = cli_now_ms();
    if (cli_lock_files(lock.lock, &files, &n, &err) < 0 ||
        cli_fetch_lock(c, cache, lock.lock, files, n, &st, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    t.fetch = cli_now_ms() - t1;
    /* ---- lay out */
    t1 = cli_now_ms();
    if (lay_out(cache, &lock, files, n, a.worker, &dir, &pkgs, &reused, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    t.layout = cli_now_ms() - t1;
    /* ---- snapshot and config */
    if (a.snapshot) {
        struct stat sb;

        if (worker_hash(a.worker, wh, &err) < 0) {
            rc = cli_report(&err);
            goto out;
        }
        snap_path =
            xasprintf("%s/snapshots/%.32s-%.32s.snap", exe_cache_root(cache), lock.id + 7, wh);
        snap_mode = stat(snap_path, &sb) == 0 ? "load" : "make";
    }
    config = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(config, "dir", dir));
    {
        char *lf = xasprintf("%s/pyodide-lock.json", dir);

        xjson(cJSON_AddStringToObject(config, "lock_file", lf));
        free(lf);
    }
    cJSON_AddItemToObject(config, "packages", pkgs);
    pkgs = NULL;
    xjson(cJSON_AddStringToObject(config, "worker", a.worker));
    cJSON_AddItemToObject(config, "request", request);
    request = NULL;
    cJSON_AddItemToObject(config, "env", env_json(&a));
    {
        cJSON *s = xjson(cJSON_AddObjectToObject(config, "snapshot"));

        xjson(cJSON_AddStringToObject(s, "mode", snap_mode));
        if (snap_path)
            xjson(cJSON_AddStringToObject(s, "path", snap_path));
    }
    xjson(cJSON_AddBoolToObject(config, "timings", 1));
    if (a.timeout_ms > 0)
        xjson(cJSON_AddNumberToObject(config, "timeout_ms", (double)a.timeout_ms));
    config_path = xasprintf("%s.run.%ld.json", dir, (long)getpid());
    /* ---- run */
    if (exe_run_host(host, config, config_path, &res, &t.node, &err) < 0) {
        unlink(config_path);
        cli_report(&err);
        rc = CLI_EWORKER;
        goto out;
    }
    if (!strcmp(snap_mode, "load") && snapshot_retry(res)) {
        double node2 = 0;
        cJSON *s = cJSON_GetObjectItemCaseSensitive(config, "snapshot");

        if (!c->quiet)
            fprintf(stderr, "almanac: snapshot %s is stale (%s); making a new one\n", snap_path,
                    cli_str(cJSON_GetObjectItemCaseSensitive(res, "error"), "message"));
        cJSON_Delete(res);
        res = NULL;
        snap_mode = "make";
        cJSON_ReplaceItemInObjectCaseSensitive(s, "mode", xjson(cJSON_CreateString("make")));
        if (exe_run_host(host, config, config_path, &res, &node2, &err) < 0) {
            unlink(config_path);
            cli_report(&err);
            rc = CLI_EWORKER;
            goto out;
        }
        t.node += node2;
    }
    unlink(config_path);
    t.total = cli_now_ms() - t0;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "ok"))) {
        rc = report_failure(c, res);
        goto out;
    }
    if (c->json) {
        cJSON *tj = xjson(cJSON_CreateObject());
        cJSON *fj = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(res, "lock_id", lock.id));
        xjson(cJSON_AddStringToObject(res, "layout", dir));
        xjson(cJSON_AddBoolToObject(res, "layout_reused", reused));
        xjson(cJSON_AddNumberToObject(fj, "downloaded", (double)st.n_downloaded));
        xjson(cJSON_AddNumberToObject(fj, "cached", (double)st.n_cached));
        xjson(cJSON_AddNumberToObject(fj, "bytes", (double)st.bytes_identity));
        xjson(cJSON_AddNumberToObject(fj, "wire_bytes", (double)st.bytes_wire));
        cJSON_AddItemToObject(res, "fetch", fj);
        xjson(cJSON_AddNumberToObject(tj, "resolve_ms", t.resolve));
        xjson(cJSON_AddNumberToObject(tj, "verify_ms", t.verify));
        xjson(cJSON_AddNumberToObject(tj, "fetch_ms", t.fetch));
        xjson(cJSON_AddNumberToObject(tj, "layout_ms", t.layout));
        xjson(cJSON_AddNumberToObject(tj, "node_ms", t.node));
        xjson(cJSON_AddNumberToObject(tj, "total_ms", t.total));
        cJSON_AddItemToObject(res, "almanac_timings", tj);
    }
    if (a.timings)
        print_timings(&t, cJSON_GetObjectItemCaseSensitive(res, "timings"), &st, snap_mode);
    if (!c->json && !a.timings)
        cJSON_DeleteItemFromObjectCaseSensitive(res, "timings");
    print_response(c, &a, res);
    rc = CLI_OK;
out:
    cJSON_Delete(res);
    cJSON_Delete(config);
    cJSON_Delete(request);
    cJSON_Delete(body);
    free(config_path);
    free(snap_path);
    cJSON_Delete(pkgs);
    free(dir);
    free(files);
    free(host);
    free(date);
    free(a.worker);
    exe_cache_free(cache);
    cli_lock_release(&lock);
    app_err_release(&err);
    cli_inputs_release(&a.in);
    return rc;
}

const struct cli_cmd cli_cmds_run[] = {
    {"run",
     "WORKER.py|wrangler.toml [--request 'GET /path'] [-H 'Name: value']... "
     "[--data BODY|@FILE] [--var NAME=VALUE]... [--date D] [--flag F]... "
     "[-r requirements.txt] [--timings] [--snapshot] [--timeout SECONDS] [--body-only]",
     "run a Python worker on the exact Pyodide its date resolves to", cmd_run},
    {NULL, NULL, NULL, NULL},
};
