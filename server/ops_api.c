/* server/ops_api.c: operator routes: GET /metrics, GET /v1/ready, and token
 * management over /v1/tokens (admin). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/json.h"
#include "app/log.h"
#include "app/mem.h"
#include "server/api.h"
#include "db/tokens.h"
#include "server/metrics.h"

/* Metrics pages are a few kilobytes per route; this bounds a pathological one. */
#define METRICS_PAGE_MAX (8u * 1024 * 1024)

static int
h_metrics(struct srv_req *r)
{
    struct buf b;
    struct db *c = r->db;

    buf_init(&b, METRICS_PAGE_MAX);
    srv_metrics_render(&b, c);
    srv_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8",
                    b.data ? b.data : xstrdup(""), b.len);
    return 0;
}

/* One readiness check into the detail of a failure. */
static void
check(struct buf *failed, int ok, const char *what)
{
    if (ok)
        return;
    if ((failed->len && buf_puts(failed, "; ") < 0) || buf_puts(failed, what) < 0)
        abort();
}

static int
h_ready(struct srv_req *r)
{
    cJSON *o, *arr;
    struct db *c = r->db;
    sqlite3_stmt *st = NULL;
    long long runtimes = -1;
    char *store = xasprintf("%s/artifacts", r->srv->cfg.data_dir);
    int store_ok = access(store, R_OK | W_OK | X_OK) == 0;
    struct buf failed;
    const char *names[] = {"database", "store", "catalog"};
    int oks[3];

    free(store);
    if (c &&
        db_prepare(c, &st, "SELECT count(*) FROM runtimes WHERE state = 'published'", NULL) == 0 &&
        sqlite3_step(st) == SQLITE_ROW)
        runtimes = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    oks[0] = runtimes >= 0;
    oks[1] = store_ok;
    oks[2] = runtimes > 0;
    buf_init(&failed, 0);
    check(&failed, oks[0], "the catalog database does not answer");
    check(&failed, oks[1], "the artifact store is not writable");
    check(&failed, oks[2], "the catalog has no published runtime (run almanacd seed)");
    if (failed.len) {
        app_fail(&r->err, APP_EUNAVAILABLE, "not ready: %s", failed.data);
        buf_release(&failed);
        return -1;
    }
    buf_release(&failed);
    o = xjson(cJSON_CreateObject());
    arr = xjson(cJSON_AddArrayToObject(o, "checks"));
    for (int i = 0; i < 3; i++) {
        cJSON *e = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(e, "name", names[i]));
        xjson(cJSON_AddBoolToObject(e, "ok", oks[i]));
        cJSON_AddItemToArray(arr, e);
    }
    xjson(cJSON_AddStringToObject(o, "status", "ready"));
    srv_reply_json(r, 200, o);
    return 0;
}

static int
h_tokens_list(struct srv_req *r)
{
    struct db *c = r->db;
    cJSON *arr, *o;

    if (!c)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    arr = db_token_list(c, &r->err);
    if (!arr)
        return -1;
    o = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(o, "tokens", arr);
    srv_reply_json(r, 200, o);
    return 0;
}

static const char *
opt_string(cJSON *body, const char *key, struct app_err *err, int *bad)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        app_fail(err, APP_EINVAL, "'%s' must be a string", key);
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

static int
h_tokens_create(struct srv_req *r)
{
    cJSON *body = srv_body_json(r), *o;
    const char *name, *scope_s, *expires;
    enum db_scope scope = DB_SCOPE_ADMIN;
    char *token = NULL, *nm = NULL;
    struct db *c;
    int bad = 0, ret = -1;

    if (!body)
        return -1;
    if (!cJSON_IsObject(body)) {
        app_fail(&r->err, APP_EINVAL, "the body must be a JSON object");
        goto out;
    }
    for (cJSON *f = body->child; f; f = f->next) {
        if (strcmp(f->string, "name") && strcmp(f->string, "scope") &&
            strcmp(f->string, "expires")) {
            app_fail(&r->err, APP_EINVAL, "unknown field '%.64s'", f->string);
            goto out;
        }
    }
    name = opt_string(body, "name", &r->err, &bad);
    scope_s = opt_string(body, "scope", &r->err, &bad);
    expires = opt_string(body, "expires", &r->err, &bad);
    if (bad)
        goto out;
    if (scope_s && db_scope_parse(scope_s, &scope) < 0) {
        app_fail(&r->err, APP_EINVAL, "scope '%.32s' is not read, publish or admin", scope_s);
        goto out;
    }
    c = r->db;
    if (!c) {
        app_fail(&r->err, APP_EINTERNAL, "database unavailable");
        goto out;
    }
    if (db_token_create(c, name, scope, expires, &token, &nm, &r->err) < 0)
        goto out;
    app_log(APP_LOG_INFO, "admin: token %s created token %s (scope %s)", r->principal, nm,
            db_scope_name(scope));
    o = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(o, "name", nm));
    xjson(cJSON_AddStringToObject(o, "scope", db_scope_name(scope)));
    xjson(cJSON_AddStringToObject(o, "token", token));
    if (expires)
        xjson(cJSON_AddStringToObject(o, "expires", expires));
    else
        xjson(cJSON_AddNullToObject(o, "expires"));
    srv_reply_json(r, 201, o);
    ret = 0;
out:
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    free(nm);
    cJSON_Delete(body);
    return ret;
}

static int
h_tokens_revoke(struct srv_req *r)
{
    struct db *c = r->db;

    if (!c)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    if (db_token_revoke(c, r->params[0], &r->err) < 0)
        return -1;
    app_log(APP_LOG_INFO, "admin: token %s revoked token %s", r->principal, r->params[0]);
    srv_reply_empty(r, 204);
    return 0;
}

const struct srv_route srv_ops_routes[] = {
    {"GET", "/metrics", SRV_PRIVATE, h_metrics, NULL},
    {"GET", "/v1/ready", 0, h_ready, NULL},
    {"GET", "/v1/tokens", SRV_ADMIN, h_tokens_list, NULL},
    {"POST", "/v1/tokens", SRV_ADMIN, h_tokens_create, NULL},
    {"DELETE", "/v1/tokens/{name}", SRV_ADMIN, h_tokens_revoke, NULL},
};
const size_t srv_ops_n_routes = sizeof(srv_ops_routes) / sizeof(srv_ops_routes[0]);
