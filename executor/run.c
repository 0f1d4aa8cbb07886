/* executor/run.c: the run pipeline after resolution (executor/run.h): lock files,
 * fetch, layout, snapshot key, host config, host run and the stale-snapshot retry. */
#include "executor/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "app/fs.h"
#include "app/mem.h"
#include "executor/host.h"
#include "executor/layout.h"
#include "executor/snapkey.h"

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *
str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "-";
}

void
exe_run_init(struct exe_run *r, const struct exe_plan *plan)
{
    memset(r, 0, sizeof(*r));
    r->plan = plan;
    r->snap_mode = "none";
}

void
exe_run_release(struct exe_run *r)
{
    cJSON_Delete(r->request);
    cJSON_Delete(r->config);
    cJSON_Delete(r->packages);
    free(r->files);
    free(r->host);
    free(r->dir);
    free(r->snap_path);
    free(r->config_path);
    exe_cache_free(r->cache);
    memset(r, 0, sizeof(*r));
}

int
exe_run_open(struct exe_run *r, struct app_err *err)
{
    if (!(r->host = exe_find_host(err)))
        return -1;
    if (!(r->cache = exe_cache_open(NULL, err)))
        return -1;
    return 0;
}

/* A body from --data: the text itself, or @FILE read whole and sent base64-encoded. */
static int
request_body(cJSON *req, const char *data, struct app_err *err)
{
    char *text = NULL, *b64;
    size_t len = 0, bl;

    if (data[0] != '@') {
        xjson(cJSON_AddStringToObject(req, "body", data));
        return 0;
    }
    if (file_read_all(data + 1, &text, &len, EXE_BODY_MAX, err) < 0) {
        char why[APP_ERR_MSG_MAX];

        memcpy(why, err->msg, sizeof(why));
        return app_fail(err, APP_EINVAL, "cannot read --data file '%s': %s", data + 1, why);
    }
    /* A file may be binary: it travels base64-encoded. */
    bl = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    b64 = xmalloc(bl);
    sodium_bin2base64(b64, bl, (const unsigned char *)text, len, sodium_base64_VARIANT_ORIGINAL);
    xjson(cJSON_AddStringToObject(req, "body", b64));
    xjson(cJSON_AddStringToObject(req, "body_encoding", "base64"));
    free(b64);
    free(text);
    return 0;
}

int
exe_run_request(struct exe_run *r, struct app_err *err)
{
    const struct exe_plan *p = r->plan;
    const char *line = p->request ? p->request : (p->data ? "POST /" : "GET /");
    const char *sp = strchr(line, ' ');
    cJSON *req = xjson(cJSON_CreateObject()), *hs;
    char *method = NULL, *target = NULL, *url = NULL;
    int ret = -1;

    if (!sp) {
        method = xstrdup(p->data ? "POST" : "GET");
        target = xstrdup(line);
    } else {
        method = xstrndup(line, (size_t)(sp - line));
        while (*sp == ' ')
            sp++;
        target = xstrdup(sp);
    }
    if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0)
        url = xstrdup(target);
    else if (target[0] == '/')
        url = xasprintf("http://localhost%s", target);
    else {
        app_fail(err, APP_EINVAL, "--request '%s' is not 'METHOD /path' or 'METHOD URL'", line);
        goto out;
    }
    for (char *m = method; *m; m++)
        if (*m >= 'a' && *m <= 'z')
            *m = (char)(*m - 'a' + 'A');
    xjson(cJSON_AddStringToObject(req, "method", method));
    xjson(cJSON_AddStringToObject(req, "url", url));
    hs = xjson(cJSON_AddArrayToObject(req, "headers"));
    for (size_t i = 0; i < p->n_headers; i++) {
        const char *colon = strchr(p->headers[i], ':'), *v;
        cJSON *pair;

        if (!colon) {
            app_fail(err, APP_EINVAL, "header '%s' is not 'Name: value'", p->headers[i]);
            goto out;
        }
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        pair = xjson(cJSON_CreateArray());
        {
            char *name = xstrndup(p->headers[i], (size_t)(colon - p->headers[i]));

            cJSON_AddItemToArray(pair, xjson(cJSON_CreateString(name)));
            free(name);
        }
        cJSON_AddItemToArray(pair, xjson(cJSON_CreateString(v)));
        cJSON_AddItemToArray(hs, pair);
    }
    if (p->data && request_body(req, p->data, err) < 0)
        goto out;
    cJSON_Delete(r->request);
    r->request = req;
    req = NULL;
    ret = 0;
out:
    cJSON_Delete(req);
    free(method);
    free(target);
    free(url);
    return ret;
}

int
exe_run_lock_files(struct exe_run *r, struct app_err *err)
{
    free(r->files);
    r->files = NULL;
    r->n_files = 0;
    return exe_lock_files(r->plan->lock, &r->files, &r->n_files, err);
}

int
exe_run_fetch(struct exe_run *r, struct app_err *err)
{
    double t0 = now_ms();
    int rc = exe_fetch_files(r->cache, &r->fetch, r->files, r->n_files, err);

    r->t.fetch = now_ms() - t0;
    return rc;
}

int
exe_run_layout(struct exe_run *r, struct app_err *err)
{
    double t0 = now_ms();
    int rc;

    free(r->dir);
    cJSON_Delete(r->packages);
    r->dir = NULL;
    r->packages = NULL;
    rc = exe_layout_lock(r->cache, r->plan->lock, r->files, r->n_files, r->plan->worker, &r->dir,
                         &r->packages, &r->reused, err);
    r->t.layout = now_ms() - t0;
    return rc;
}

int
exe_run_snapshot_key(struct exe_run *r, struct app_err *err)
{
    const struct exe_plan *p = r->plan;
    char key[EXE_SNAPKEY_LEN];
    struct stat sb;

    if (!p->snapshot)
        return 0;
    if (exe_snapshot_key(p->lock_id, p->worker, p->project_dir, p->config,
                         cJSON_GetObjectItemCaseSensitive(p->lock, "enabled_flags"), key, err) < 0)
        return -1;
    free(r->snap_path);
    r->snap_path = xasprintf("%s/snapshots/%s.snap", exe_cache_root(r->cache), key);
    r->snap_mode = stat(r->snap_path, &sb) == 0 ? "load" : "make";
    return 0;
}

/* Secrets from a dotenv file into env: NAME=value lines, # comments, optional
 * quotes, optional "export ". A missing file is not an error. */
static int
dev_vars_read(const char *file, cJSON *env, struct app_err *err)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0;

    if (access(file, F_OK) != 0)
        return 0;
    if (file_read_all(file, &text, &len, EXE_DEV_VARS_MAX, err) < 0) {
        char why[APP_ERR_MSG_MAX];

        memcpy(why, err->msg, sizeof(why));
        return app_fail(err, APP_EINVAL, "cannot read '%s': %s", file, why);
    }
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq, *k, *v, *e;

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
 * the secrets of .dev.vars (or .dev.vars.NAME with an env name), then the plan's
 * vars, each later one winning. */
static int
env_json(const struct exe_plan *p, cJSON **out, struct app_err *err)
{
    cJSON *env = xjson(cJSON_CreateObject());
    const cJSON *v;
    char *named = NULL, *plain = NULL;
    int ret = -1;

    *out = NULL;
    cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive(p->config, "vars"))
        cJSON_AddItemToObject(env, v->string, xjson(cJSON_Duplicate(v, 1)));
    named = p->env_name ? xasprintf("%s/.dev.vars.%s", p->project_dir, p->env_name) : NULL;
    plain = xasprintf("%s/.dev.vars", p->project_dir);
    if (dev_vars_read(named && access(named, F_OK) == 0 ? named : plain, env, err) < 0)
        goto out;
    for (size_t i = 0; i < p->n_vars; i++) {
        const char *eq = strchr(p->vars[i], '=');
        char *name;

        if (!eq || eq == p->vars[i]) {
            app_fail(err, APP_EINVAL, "var '%s' is not NAME=VALUE", p->vars[i]);
            goto out;
        }
        name = xstrndup(p->vars[i], (size_t)(eq - p->vars[i]));
        cJSON_DeleteItemFromObjectCaseSensitive(env, name);
        xjson(cJSON_AddStringToObject(env, name, eq + 1));
        free(name);
    }
    *out = env;
    env = NULL;
    ret = 0;
out:
    cJSON_Delete(env);
    free(named);
    free(plain);
    return ret;
}

int
exe_run_host_config(struct exe_run *r, struct app_err *err)
{
    const struct exe_plan *p = r->plan;
    cJSON *config = xjson(cJSON_CreateObject()), *env = NULL, *sn;
    char *lf = NULL, *abs = NULL, *sd = NULL;
    int ret = -1;

    if (env_json(p, &env, err) < 0)
        goto out;
    lf = xasprintf("%s/pyodide-lock.json", r->dir);
    xjson(cJSON_AddStringToObject(config, "dir", r->dir));
    xjson(cJSON_AddStringToObject(config, "lock_file", lf));
    cJSON_AddItemToObject(config, "packages",
                          r->packages ? xjson(cJSON_Duplicate(r->packages, 1))
                                      : xjson(cJSON_CreateArray()));
    xjson(cJSON_AddStringToObject(config, "worker", p->worker));
    if (r->request) {
        cJSON_AddItemToObject(config, "request", r->request);
        r->request = NULL;
    }
    cJSON_AddItemToObject(config, "env", env);
    env = NULL;
    cJSON_AddItemToObject(
        config, "flags",
        xjson(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(p->lock, "enabled_flags"), 1)));
    if (p->config)
        cJSON_AddItemToObject(config, "config", xjson(cJSON_Duplicate(p->config, 1)));
    /* The host resolves paths against its own working directory: give it absolute ones. */
    abs = realpath(p->project_dir, NULL);
    xjson(cJSON_AddStringToObject(config, "project_dir", abs ? abs : p->project_dir));
    sd = p->state_dir ? xstrdup(p->state_dir)
                      : xasprintf("%s/.almanac/state", abs ? abs : p->project_dir);
    xjson(cJSON_AddStringToObject(config, "state_dir", sd));
    xjson(cJSON_AddBoolToObject(config, "fresh", p->fresh));
    xjson(cJSON_AddBoolToObject(config, "allow_net", p->allow_net));
    if (p->cron) {
        xjson(cJSON_AddStringToObject(config, "event", "scheduled"));
        xjson(cJSON_AddStringToObject(config, "cron", p->cron));
    }
    sn = xjson(cJSON_AddObjectToObject(config, "snapshot"));
    xjson(cJSON_AddStringToObject(sn, "mode", r->snap_mode));
    if (r->snap_path)
        xjson(cJSON_AddStringToObject(sn, "path", r->snap_path));
    if (p->serve_port > 0) {
        cJSON *sv = xjson(cJSON_AddObjectToObject(config, "serve"));

        xjson(cJSON_AddStringToObject(sv, "ip", p->serve_ip ? p->serve_ip : "127.0.0.1"));
        xjson(cJSON_AddNumberToObject(sv, "port", p->serve_port));
    } else {
        xjson(cJSON_AddBoolToObject(config, "timings", 1));
    }
    if (p->status) {
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(p->lock, "runtime");
        char *label =
            xasprintf("Pyodide %s / Python %s", str_of(rt, "pyodide"), str_of(rt, "python"));

        xjson(cJSON_AddStringToObject(config, "status", label));
        free(label);
    }
    if (p->timeout_ms > 0)
        xjson(cJSON_AddNumberToObject(config, "timeout_ms", (double)p->timeout_ms));
    cJSON_Delete(r->config);
    r->config = config;
    config = NULL;
    free(r->config_path);
    r->config_path = xasprintf("%s.run.%ld.json", r->dir, (long)getpid());
    ret = 0;
out:
    cJSON_Delete(config);
    cJSON_Delete(env);
    free(lf);
    free(abs);
    free(sd);
    return ret;
}

int
exe_snapshot_retry(const char *snap_mode, const cJSON *result)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(result, "error");
    const char *code = str_of(e, "code");

    if (!snap_mode || strcmp(snap_mode, "load") != 0)
        return 0;
    return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(result, "ok")) &&
           (!strcmp(code, "snapshot_stale") || !strcmp(code, "snapshot_invalid") ||
            !strcmp(code, "snapshot_missing"));
}

int
exe_run_worker(struct exe_run *r, cJSON **result, struct app_err *err)
{
    int ret;

    *result = NULL;
    ret = exe_run_host(r->host, r->config, r->config_path, result, &r->t.node, err);
    if (ret == 0 && exe_snapshot_retry(r->snap_mode, *result)) {
        cJSON *sn = cJSON_GetObjectItemCaseSensitive(r->config, "snapshot");
        double node2 = 0;

        if (r->plan->note) {
            char *text =
                xasprintf("snapshot %s is stale (%s); making a new one", r->snap_path,
                          str_of(cJSON_GetObjectItemCaseSensitive(*result, "error"), "message"));

            r->plan->note(r->plan->note_ctx, text);
            free(text);
        }
        cJSON_Delete(*result);
        *result = NULL;
        r->snap_mode = "make";
        cJSON_ReplaceItemInObjectCaseSensitive(sn, "mode", xjson(cJSON_CreateString("make")));
        ret = exe_run_host(r->host, r->config, r->config_path, result, &node2, err);
        r->t.node += node2;
    }
    unlink(r->config_path);
    return ret;
}

int
exe_run_serve(struct exe_run *r, int *exit_code, struct app_err *err)
{
    int ret = exe_serve_host(r->host, r->config, r->config_path, exit_code, err);

    unlink(r->config_path);
    return ret;
}
