/* cli/locks.c: resolution inputs, and locks fetched, checked and verified. */
#include "cli/locks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "app/strv.h"
#include "catalog/req.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/snapshot.h"
#include "cli/trust.h"

#define REQ_FILE_MAX (1024 * 1024)
#define LOCK_MAX (64u * 1024 * 1024)
#define SIG_MAX (16 * 1024)

double
cli_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void
cli_inputs_init(struct cli_inputs *in)
{
    memset(in, 0, sizeof(*in));
}

void
cli_inputs_release(struct cli_inputs *in)
{
    free(in->req_text);
    if (in->have_wrangler)
        cli_wrangler_release(&in->wr);
    memset(in, 0, sizeof(*in));
}

int
cli_is_toml(const char *s)
{
    size_t n = strlen(s);

    return (n >= 5 && strcmp(s + n - 5, ".toml") == 0) ||
           (n >= 5 && strcmp(s + n - 5, ".json") == 0) ||
           (n >= 6 && strcmp(s + n - 6, ".jsonc") == 0);
}

int
cli_inputs_opt(struct cli_inputs *in, const char *cmd, int key, const char *arg)
{
    switch (key) {
    case CLI_RO_DATE: in->date = arg; return 0;
    case CLI_RO_FLAG:
        if (in->n_flags == CLI_FLAGS_MAX) {
            cli_usage_error(cmd, "more than %d --flag options", CLI_FLAGS_MAX);
            return -1;
        }
        in->flags[in->n_flags++] = arg;
        return 0;
    case CLI_RO_REQ: in->req_file = arg; return 0;
    case CLI_RO_ASOF: in->as_of = arg; return 0;
    case CLI_RO_EXPERIMENTAL: in->allow_experimental = 1; return 0;
    case CLI_RO_CONFIG: in->config = arg; return 0;
    case CLI_RO_LOCKED:
    case CLI_RO_FROZEN:
        if (in->lock_mode != CLI_LOCK_AUTO) {
            cli_usage_error(cmd, "give one of --locked and --frozen");
            return -1;
        }
        in->lock_mode = key == CLI_RO_LOCKED ? CLI_LOCK_LOCKED : CLI_LOCK_FROZEN;
        return 0;
    }
    cli_usage_error(cmd, "unexpected option");
    return -1;
}

int
cli_inputs_config(struct cli_inputs *in, const char *cmd, const char *path)
{
    if (!cli_is_toml(path) || in->config) {
        cli_usage_error(cmd, "'%s' is not a wrangler.toml, wrangler.json or wrangler.jsonc", path);
        return -1;
    }
    in->config = path;
    return 0;
}

int
cli_inputs_parse(struct cli *c, int argc, char **argv, struct cli_inputs *in, struct cli_opts *o,
                 int *rc)
{
    static const struct cli_opt opts[] = {CLI_RESOLVE_OPTS, {NULL, 0, 0, 0}};
    int k;

    *rc = CLI_EUSAGE;
    cli_opts_init(o, argc, argv);
    while ((k = cli_opts_next(c, o, opts)) > 0)
        if (cli_inputs_opt(in, argv[0], k, o->arg) < 0)
            return -1;
    if (k < 0)
        return -1;
    if (o->help) {
        *rc = cli_usage(argv[0]);
        return -1;
    }
    return 0;
}

int
cli_inputs_load(struct cli_inputs *in, struct app_err *err)
{
    if (in->config) {
        if (cli_wrangler_read(in->config, &in->wr, err) < 0)
            return -1;
        in->have_wrangler = 1;
        if (in->env_name && cli_wrangler_apply_env(&in->wr, in->env_name, err) < 0)
            return -1;
        if (in->wr.date && in->wr.date[0] == '<')
            return app_fail(err, APP_EINVAL,
                            "%s: compatibility_date is the template placeholder \"%s\": set a "
                            "date like \"2025-10-01\"",
                            in->config, in->wr.date);
        if (!in->date)
            in->date = in->wr.date;
        if (in->n_flags == 0)
            for (size_t i = 0; i < in->wr.n_flags && i < CLI_FLAGS_MAX; i++)
                in->flags[in->n_flags++] = in->wr.flags[i];
        if (!in->main)
            in->main = in->wr.main;
        if (!in->date)
            return app_fail(err, APP_EINVAL, "%s has no compatibility_date (or pass --date)",
                            in->config);
    }
    if (in->config && !in->req_file) {
        /* The project's requirements: pyproject.toml [project].dependencies, else a
         * requirements.txt beside the config. */
        char *pp = xasprintf("%s/pyproject.toml", in->wr.dir);
        char *rt = xasprintf("%s/requirements.txt", in->wr.dir);
        int rc = 0;

        if (access(pp, R_OK) == 0)
            rc = cli_pyproject_deps(pp, &in->req_text, err);
        if (rc == 0 && !in->req_text && access(rt, R_OK) == 0) {
            size_t len = 0;

            rc = file_read_all(rt, &in->req_text, &len, REQ_FILE_MAX, err);
            if (rc < 0)
                cli_wrap(err, APP_EINVAL, "cannot read requirements '%s'", rt);
        }
        free(pp);
        free(rt);
        if (rc < 0)
            return -1;
    }
    if (in->req_file) {
        size_t len = 0;

        if (file_read_all(in->req_file, &in->req_text, &len, REQ_FILE_MAX, err) < 0)
            return cli_wrap(err, APP_EINVAL, "cannot read requirements '%s'", in->req_file);
        if (memchr(in->req_text, '\0', len))
            return app_fail(err, APP_EINVAL, "requirements '%s' is not a text file", in->req_file);
    }
    return 0;
}

cJSON *
cli_inputs_body(const struct cli_inputs *in)
{
    cJSON *b = xjson(cJSON_CreateObject()), *flags;

    xjson(cJSON_AddStringToObject(b, "compatibility_date", in->date ? in->date : ""));
    flags = xjson(cJSON_AddArrayToObject(b, "compatibility_flags"));
    for (size_t i = 0; i < in->n_flags; i++)
        cJSON_AddItemToArray(flags, xjson(cJSON_CreateString(in->flags[i])));
    if (in->req_text)
        xjson(cJSON_AddStringToObject(b, "requirements", in->req_text));
    if (in->as_of)
        xjson(cJSON_AddStringToObject(b, "as_of", in->as_of));
    if (in->allow_experimental)
        xjson(cJSON_AddBoolToObject(b, "allow_experimental", 1));
    if (in->main)
        xjson(cJSON_AddStringToObject(b, "main", in->main));
    return b;
}

void
cli_lock_release(struct cli_lock *l)
{
    if (!l)
        return;
    free(l->bytes);
    free(l->signature);
    cJSON_Delete(l->lock);
    cJSON_Delete(l->response);
    memset(l, 0, sizeof(*l));
}

static int
id_valid(const char *id)
{
    return strncmp(id, "sha256:", 7) == 0 && sha256_hex_valid(id + 7);
}

/* GET a small text resource; -1 with err on failure. */
static int
get_text(struct cli *c, const char *path, size_t limit, char **out, size_t *len,
         struct app_err *err)
{
    struct cli_response r;
    int ret = -1;

    if (cli_request_raw(c, "GET", path, NULL, NULL, NULL, 0, limit, &r, err) < 0)
        return -1;
    if (r.status != 200) {
        cli_problem(c, &r, err);
        goto out;
    }
    *len = r.body.len;
    *out = buf_detach(&r.body, NULL);
    if (!*out)
        *out = xstrdup("");
    ret = 0;
out:
    cli_response_release(&r);
    return ret;
}

static int resolve_local(struct cli *c, const cJSON *body, int fresh, struct cli_lock *out,
                         struct app_err *err);

/* An unsigned answer to the request body: trusted only when it is byte for byte what
 * this client resolves for the same request from a verified snapshot. */
static int
check_own_resolution(struct cli *c, const struct cli_lock *l, const cJSON *body,
                     struct app_err *err)
{
    struct cli_lock mine;
    int quiet = c->quiet, ret = -1;

    c->quiet = 1;
    for (int fresh = 0; fresh < 2; fresh++) {
        if (resolve_local(c, body, fresh, &mine, err) < 0) {
            c->quiet = quiet;
            return cli_wrap(err, err->code == APP_EINVAL ? APP_EVERIFY : err->code,
                            "unsigned lock %s from %s cannot be checked", l->id, c->server);
        }
        /* A cached snapshot older than the server's catalog: sync once and compare
         * again before calling it a forgery. */
        if (c->offline || (mine.len == l->len && memcmp(mine.bytes, l->bytes, l->len) == 0))
            break;
        if (fresh == 0)
            cli_lock_release(&mine);
    }
    c->quiet = quiet;
    if (mine.len != l->len || memcmp(mine.bytes, l->bytes, l->len) != 0)
        app_fail(err, APP_EVERIFY,
                 "lock from %s: lock %s differs from this client's resolution %s of the same "
                 "request from the signed catalog snapshot: refusing it (a mirror cannot choose "
                 "another runtime)",
                 c->server, l->id, mine.id);
    else
        ret = 0;
    cli_lock_release(&mine);
    return ret;
}

/* A lock with no signature is trusted only when its bytes equal this client's own
 * resolution from a verified catalog snapshot (issue 14): a mirror returns
 * "signature": null for locks the upstream never signed. */
static int
check_unsigned(struct cli *c, struct cli_lock *l, struct app_err *err)
{
    struct cli_snapshot *s = NULL;
    int ret;

    if (cli_snapshot_get(c, c->offline, &s, err) < 0)
        return cli_wrap(err, err->code == APP_EINVAL ? APP_EVERIFY : err->code,
                        "lock %s is unsigned and cannot be checked against a catalog snapshot",
                        l->id);
    ret = cli_snapshot_check_lock(s, l->bytes, l->len, err);
    if (ret < 0)
        cli_wrap(err, err->code, "lock from %s", c->server);
    cli_snapshot_free(s);
    return ret;
}

/* The bytes hash to id, then the signature verifies (or, for an unsigned lock,
 * the bytes are this client's own resolution). sig NULL: fetch it; unsigned set:
 * the server said there is none. */
static int
check_lock(struct cli *c, struct cli_lock *l, const char *sig, int unsigned_lock, const cJSON *body,
           struct app_err *err)
{
    char hex[APP_SHA256_HEX];
    char *fetched = NULL;
    size_t n;
    int ret;

    sha256_hex(l->bytes, l->len, hex);
    if (strcmp(hex, l->id + 7) != 0)
        return app_fail(err, APP_EVERIFY, "lock %s: its bytes hash to sha256:%s", l->id, hex);
    if (unsigned_lock)
        return body ? check_own_resolution(c, l, body, err) : check_unsigned(c, l, err);
    if (!sig) {
        char *esc = cli_escape(l->id), *path = xasprintf("/v1/locks/%s/signature", esc);

        ret = get_text(c, path, SIG_MAX, &fetched, &n, err);
        free(esc);
        free(path);
        if (ret < 0 && err->code == APP_ENOTFOUND) {
            /* No signature: usable only as the client's own resolution. */
            app_err_release(err);
            return body ? check_own_resolution(c, l, body, err) : check_unsigned(c, l, err);
        }
        if (ret < 0)
            return cli_wrap(err, err->code, "cannot get the signature of lock %s", l->id);
        sig = fetched;
    }
    ret = cli_trust_verify(c, l->bytes, l->len, sig, "lock", l->id + 7, err);
    if (ret == 0)
        l->signature = fetched ? fetched : xstrdup(sig);
    else
        free(fetched);
    return ret;
}

/* Resolve body (a POST /v1/resolve document) from the catalog snapshot, as the
 * server would: the same parser for requirements, the same today. */
static int
resolve_local(struct cli *c, const cJSON *body, int fresh, struct cli_lock *out,
              struct app_err *err)
{
    struct cli_snapshot *s = NULL;
    struct res_input in;
    struct res_output ro;
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(body, "compatibility_date");
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(body, "compatibility_flags");
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(body, "requirements");
    const cJSON *as_of = cJSON_GetObjectItemCaseSensitive(body, "as_of");
    const cJSON *main_file = cJSON_GetObjectItemCaseSensitive(body, "main"), *e;
    const char **fv = NULL;
    char **lines = NULL;
    size_t n_lines = 0, nf = 0;
    double t0 = cli_now_ms();
    int ret = -1;

    memset(&in, 0, sizeof(in));
    memset(&ro, 0, sizeof(ro));
    memset(out, 0, sizeof(*out));
    if ((fresh && !c->offline ? cli_snapshot_sync(c, &s, err)
                              : cli_snapshot_get(c, c->offline, &s, err)) < 0)
        return -1;
    fv = xcalloc((size_t)cJSON_GetArraySize(flags) + 1, sizeof(*fv));
    cJSON_ArrayForEach (e, flags)
        if (cJSON_IsString(e))
            fv[nf++] = e->valuestring;
    if (cJSON_IsString(reqs) &&
        req_split_text(reqs->valuestring, strlen(reqs->valuestring), &lines, &n_lines, err) < 0)
        goto out;
    in.date = cJSON_IsString(date) ? date->valuestring : "";
    in.flags = fv, in.n_flags = nf;
    in.requirements = (const char *const *)lines, in.n_requirements = n_lines;
    in.as_of = cJSON_IsString(as_of) ? as_of->valuestring : NULL;
    in.allow_experimental =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "allow_experimental"));
    if (cJSON_IsString(main_file)) {
        size_t n = strlen(main_file->valuestring);

        in.python_entry = n > 3 && strcmp(main_file->valuestring + n - 3, ".py") == 0;
    }
    in.today = date_today();
    if (res_resolve(s->snap, &in, &ro, err) < 0) {
        cli_wrap(err, err->code, "cannot resolve from catalog snapshot version %lld",
                 s->meta.version);
        goto out;
    }
    snprintf(out->id, sizeof(out->id), "%s", ro.lock_id);
    out->bytes = ro.lock_bytes;
    out->len = ro.lock_len;
    ro.lock_bytes = NULL;
    out->lock = cJSON_ParseWithLength(out->bytes, out->len);
    out->response = res_response(&ro);
    xjson(cJSON_AddNullToObject(out->response, "signature"));
    xjson(cJSON_AddNumberToObject(out->response, "snapshot_version", (double)s->meta.version));
    out->verify_ms = cli_now_ms() - t0;
    if (!c->quiet)
        fprintf(stderr, "almanac: resolved locally from catalog snapshot version %lld (%s)\n",
                s->meta.version, s->source);
    ret = 0;
out:
    res_output_release(&ro);
    strv_free(lines, n_lines);
    free(fv);
    cli_snapshot_free(s);
    return ret;
}

int
cli_lock_resolve(struct cli *c, const cJSON *body, struct cli_lock *out, struct app_err *err)
{
    const cJSON *id, *lock, *sig;
    cJSON *resp = NULL;
    double t0 = cli_now_ms(), t1;
    long status = 0;

    memset(out, 0, sizeof(*out));
    if (c->offline)
        return resolve_local(c, body, 0, out, err);
    if (cli_request(c, "POST", "/v1/resolve", body, &resp, &status, err) < 0) {
        /* A plain file server refuses the POST: a static mirror tree resolves here. */
        if ((status == 404 || status == 405 || status == 501) && cli_server_is_static(c)) {
            app_err_release(err);
            return resolve_local(c, body, 0, out, err);
        }
        return -1;
    }
    t1 = cli_now_ms();
    out->fetch_ms = t1 - t0;
    id = cJSON_GetObjectItemCaseSensitive(resp, "lock_id");
    lock = cJSON_GetObjectItemCaseSensitive(resp, "lock");
    sig = cJSON_GetObjectItemCaseSensitive(resp, "signature");
    if (!cJSON_IsString(id) || !id_valid(id->valuestring) || !cJSON_IsObject(lock)) {
        cJSON_Delete(resp);
        return app_fail(err, APP_EUNAVAILABLE, "the resolve answer has no lock_id or lock");
    }
    snprintf(out->id, sizeof(out->id), "%s", id->valuestring);
    /* The answer embeds the lock as canonical JSON, so serializing it canonically
     * gives back the signed bytes; if not, the server's stored bytes decide. */
    out->bytes = json_canonical(lock, &out->len);
    {
        char hex[APP_SHA256_HEX];

        sha256_hex(out->bytes, out->len, hex);
        if (strcmp(hex, out->id + 7) != 0) {
            char *esc = cli_escape(out->id), *path = xasprintf("/v1/locks/%s", esc);

            free(out->bytes);
            out->bytes = NULL;
            if (get_text(c, path, LOCK_MAX, &out->bytes, &out->len, err) < 0) {
                free(esc);
                free(path);
                cli_lock_release(out);
                cJSON_Delete(resp);
                return -1;
            }
            free(esc);
            free(path);
        }
    }
    if (check_lock(c, out, cJSON_IsString(sig) ? sig->valuestring : NULL, cJSON_IsNull(sig), body,
                   err) < 0) {
        cli_lock_release(out);
        cJSON_Delete(resp);
        return -1;
    }
    out->verify_ms = cli_now_ms() - t1;
    out->lock = cJSON_ParseWithLength(out->bytes, out->len);
    if (!out->lock) {
        cli_lock_release(out);
        cJSON_Delete(resp);
        return app_fail(err, APP_EUNAVAILABLE, "lock %s is not JSON", id->valuestring);
    }
    out->response = resp;
    return 0;
}

int
cli_lock_get(struct cli *c, const char *id, struct cli_lock *out, struct app_err *err)
{
    char *esc, *path;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!id_valid(id))
        return app_fail(err, APP_EINVAL, "lock id '%s' is not 'sha256:' and 64 hex digits", id);
    snprintf(out->id, sizeof(out->id), "%s", id);
    esc = cli_escape(id);
    path = xasprintf("/v1/locks/%s", esc);
    rc = get_text(c, path, LOCK_MAX, &out->bytes, &out->len, err);
    free(esc);
    free(path);
    if (rc < 0 || check_lock(c, out, NULL, 0, NULL, err) < 0) {
        cli_lock_release(out);
        return -1;
    }
    out->lock = cJSON_ParseWithLength(out->bytes, out->len);
    if (!out->lock) {
        cli_lock_release(out);
        return app_fail(err, APP_EUNAVAILABLE, "lock %s is not JSON", id);
    }
    return 0;
}

static void
print_strings(const char *label, const cJSON *arr)
{
    const cJSON *x;
    int first = 1;

    printf("%-14s", label);
    cJSON_ArrayForEach (x, arr) {
        if (cJSON_IsString(x)) {
            printf("%s%s", first ? "" : ", ", x->valuestring);
            first = 0;
        }
    }
    printf("%s\n", first ? "-" : "");
}

void
cli_lock_print(const struct cli_lock *l)
{
    const cJSON *lk = l->lock, *rt = cJSON_GetObjectItemCaseSensitive(lk, "runtime");
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(l->response, "policy");
    const cJSON *warn = cJSON_GetObjectItemCaseSensitive(l->response, "warnings");
    const cJSON *pkgs = cJSON_GetObjectItemCaseSensitive(lk, "packages"), *p;
    const cJSON *up = cJSON_GetObjectItemCaseSensitive(pol, "upgrade");

    printf("%-14s%s\n", "lock", l->id);
    printf("%-14s%s\n", "date", cli_str(lk, "compatibility_date"));
    print_strings("flags", cJSON_GetObjectItemCaseSensitive(lk, "compatibility_flags"));
    print_strings("enabled", cJSON_GetObjectItemCaseSensitive(lk, "enabled_flags"));
    if (cJSON_IsObject(rt)) {
        printf("%-14s%s (Pyodide %s, CPython %s, Emscripten %s, %s)\n", "runtime",
               cli_str(rt, "id"), cli_str(rt, "pyodide"), cli_str(rt, "python"),
               cli_str(rt, "emscripten"), cli_str(rt, "abi"));
        printf("%-14s%s\n", "package set", cli_str(lk, "package_set"));
        printf("%-14s%s\n", "bundle flag", cli_str(lk, "bundle_flag"));
    } else {
        printf("%-14s%s\n", "runtime", "none (no Python bundle flag is on)");
    }
    if (cJSON_IsObject(pol)) {
        printf("%-14s%s as of %s (Python %s, end of support %s)\n", "policy",
               cli_str(pol, "status"), cli_str(pol, "as_of"), cli_str(pol, "python_line"),
               cli_str(pol, "end_of_support"));
        if (cJSON_IsObject(up)) {
            const cJSON *from = cJSON_GetObjectItemCaseSensitive(up, "from");
            const cJSON *to = cJSON_GetObjectItemCaseSensitive(up, "to");

            printf("%-14smoved from %s (Python %s) to %s (Python %s)\n%-14s%s\n", "upgrade",
                   cli_str(from, "runtime"), cli_str(from, "python_line"), cli_str(to, "runtime"),
                   cli_str(to, "python_line"), "", cli_str(up, "reason"));
        }
    }
    if (cJSON_GetArraySize(pkgs) > 0) {
        printf("packages:\n");
        cJSON_ArrayForEach (p, pkgs) {
            /* Format 2 keeps "stored" beside the lock (a map by sha256); format 1
             * carried it in each entry. */
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(p, "stored");

            if (!st)
                st = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(l->response, "stored"), cli_str(p, "sha256"));

            printf("  %-28s %-14s %s%s\n", cli_str(p, "name"), cli_str(p, "version"),
                   cli_str(p, "file_name"), cJSON_IsFalse(st) ? "  (not stored)" : "");
        }
    }
    cJSON_ArrayForEach (p, warn)
        fprintf(stderr, "almanac: warning: %s\n", cli_str(p, "message"));
}
