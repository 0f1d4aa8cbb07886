/* server/resolve_api.c: POST|GET /v1/resolve, GET /v1/diff, GET /v1/locks/{id}.
 *
 * Resolution runs on the shared catalog snapshot. Responses are cached by their
 * inputs and "today" for one catalog generation, so a repeated request costs a hash
 * lookup. A lock goes to the database only when something depends on it: a worker
 * deploy pins it (workers module), or a client with a publish (or admin) token asks
 * to keep it ("keep": true / ?keep=1). Other locks live in the same bounded LRU cache as the
 * responses (app/lrucache.h), so anonymous clients cannot fill the disk;
 * GET /v1/locks/{id} answers from the database, then from the cache, and an evicted
 * lock is a 404 that says to resolve the same inputs again. Cache misses and diffs
 * are charged to the client's rate limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/lrucache.h"
#include "app/mem.h"
#include "catalog/diff.h"
#include "catalog/locks.h"
#include "catalog/req.h"
#include "catalog/resolve.h"
#include "catalog/snapload.h"
#include "server/api.h"
#include "server/follow.h"
#include "server/inputs.h"
#include "server/resolve_api.h"
#include "server/metrics.h"

static srv_resolve_sign_fn sign_hook;
static void *sign_ctx;

void
srv_resolve_set_signer(srv_resolve_sign_fn fn, void *ctx)
{
    sign_hook = fn;
    sign_ctx = ctx;
}

void
srv_resolve_fini(void)
{
}

/* The cache key: every input that changes the answer, canonically. */
static char *
cache_key(const struct res_input *in)
{
    cJSON *k = xjson(cJSON_CreateObject());
    cJSON *f = xjson(cJSON_AddArrayToObject(k, "f"));
    cJSON *q = xjson(cJSON_AddArrayToObject(k, "r"));
    char *s;

    xjson(cJSON_AddStringToObject(k, "d", in->date ? in->date : ""));
    json_add_str_or_null(k, "a", in->as_of);
    xjson(cJSON_AddNumberToObject(k, "t", in->today));
    xjson(cJSON_AddBoolToObject(k, "x", in->allow_experimental));
    xjson(cJSON_AddBoolToObject(k, "p", in->python_entry));
    for (size_t i = 0; i < in->n_flags; i++)
        cJSON_AddItemToArray(f, xjson(cJSON_CreateString(in->flags[i] ? in->flags[i] : "")));
    for (size_t i = 0; i < in->n_requirements; i++)
        cJSON_AddItemToArray(
            q, xjson(cJSON_CreateString(in->requirements[i] ? in->requirements[i] : "")));
    s = json_canonical(k, NULL);
    cJSON_Delete(k);
    return s;
}

int
srv_resolve_run(struct srv *s, struct db *c, const struct res_input *in, struct res_output *out,
                struct app_err *err)
{
    struct snap *snap = snapcache_get(s->snaps, c, err);
    int ret;

    if (!snap)
        return -1;
    ret = res_resolve(snap, in, out, err);
    snapcache_put(s->snaps, snap);
    return ret;
}

/* "keep": true in the body or ?keep=1: store the lock for good. Needs a token. */
static int
want_keep(struct srv_req *r, const cJSON *body, int *keep)
{
    *keep = 0;
    if (body && json_bool(body, "keep", 0, keep, &r->err) < 0)
        return -1;
    if (!body && srv_query(r, "keep")) {
        const char *v = srv_query(r, "keep");

        if (!strcmp(v, "1") || !strcmp(v, "true"))
            *keep = 1;
        else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0)
            return app_fail(&r->err, APP_EINVAL, "query 'keep' must be 1 or 0");
    }
    if (*keep && r->srv->mirror) {
        /* Keeping is a write: a mirror keeps nothing of its own. */
        r->problem_upstream = follow_upstream(r->srv->mirror);
        app_fail(&r->err, APP_EMETHOD,
                 "this server is a read-only mirror of %s: keep the lock on the upstream",
                 follow_upstream(r->srv->mirror));
        srv_reply_problem(r, &r->err);
        srv_add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
        return -1;
    }
    if (*keep && srv_req_auth(r, DB_SCOPE_PUBLISH) < 0) {
        if (r->err.code == APP_EAUTH)
            app_fail(&r->err, APP_EAUTH,
                     "keeping a lock needs a publish token: send 'Authorization: Bearer <token>'");
        return -1;
    }
    return 0;
}

static void
lock_key(char *key, size_t size, const char *lock_id)
{
    snprintf(key, size, "l:%s", lock_id);
}

static int
do_resolve(struct srv_req *r, struct srv_inputs *x, int keep)
{
    struct res_output out;
    unsigned long gen = db_generation();
    struct db *c;
    char *key, *rkey, *body;
    char lkey[80];
    size_t len;
    cJSON *resp;
    int ret = -1;

    x->in.today = date_today();
    key = cache_key(&x->in);
    rkey = xasprintf("r:%s", key);
    free(key);
    body = keep ? NULL : lcache_get(r->srv->lcache, rkey, &len, &gen);
    srv_metrics_resolve_cache(body != NULL);
    if (body) {
        free(rkey);
        srv_reply_bytes(r, 200, "application/json", body, len);
        return 0;
    }
    if (srv_rate_take(r) < 0) {
        free(rkey);
        return -1;
    }
    c = srv_db(r);
    if (!c) {
        free(rkey);
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    }
    if (srv_resolve_run(r->srv, c, &x->in, &out, &r->err) < 0) {
        free(rkey);
        return -1;
    }
    resp = res_response(&out);
    if (sign_hook) {
        char *sig = NULL;

        if (sign_hook(sign_ctx, out.lock_id, out.lock_bytes, out.lock_len, keep, &sig, &r->err) < 0)
            goto out;
        xjson(cJSON_AddStringToObject(resp, "signature", sig));
        free(sig);
    } else {
        /* A mirror: the upstream never signed this lock; clients check it against
         * the signed snapshot. */
        xjson(cJSON_AddNullToObject(resp, "signature"));
    }
    if (keep && cat_lock_store(c, out.lock_id, out.lock_bytes, out.lock_len, &r->err) < 0)
        goto out;
    lock_key(lkey, sizeof(lkey), out.lock_id);
    lcache_put(r->srv->lcache, lkey, out.lock_bytes, out.lock_len, gen);
    body = json_canonical(resp, &len);
    lcache_put(r->srv->lcache, rkey, body, len, gen);
    if (keep) {
        /* Say so, in this answer only: the cached one serves anonymous clients. */
        free(body);
        xjson(cJSON_AddBoolToObject(resp, "kept", 1));
        body = json_canonical(resp, &len);
    }
    srv_reply_bytes(r, 200, "application/json", body, len);
    ret = 0;
out:
    cJSON_Delete(resp);
    res_output_release(&out);
    free(rkey);
    return ret;
}

static int
h_resolve_post(struct srv_req *r)
{
    static const char *const fields[] = {"compatibility_date",
                                         "compatibility_flags",
                                         "requirements",
                                         "as_of",
                                         "allow_experimental",
                                         "main",
                                         "keep",
                                         NULL};
    struct srv_inputs x = {0};
    cJSON *body = srv_body_json_closed(r, fields);
    int ret = -1, keep = 0;

    if (!body)
        return -1;
    if (srv_inputs_from_json(body, SRV_INPUTS_AS_OF, &x, &r->err) == 0 &&
        want_keep(r, body, &keep) == 0)
        ret = do_resolve(r, &x, keep);
    srv_inputs_release(&x);
    cJSON_Delete(body);
    return ret;
}

static int
h_resolve_get(struct srv_req *r)
{
    struct srv_inputs x = {0};
    int ret = -1, keep = 0;

    if (srv_inputs_from_query(r, "date", &x) == 0 && want_keep(r, NULL, &keep) == 0)
        ret = do_resolve(r, &x, keep);
    srv_inputs_release(&x);
    return ret;
}

static int
h_diff(struct srv_req *r)
{
    struct srv_inputs a = {0}, b = {0};
    struct snap *snap = NULL;
    struct db *c = srv_db(r);
    cJSON *out = NULL;
    int ret = -1;

    if (!c)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    if (srv_inputs_from_query(r, "from", &a) < 0 || srv_inputs_from_query(r, "to", &b) < 0 ||
        srv_rate_take(r) < 0)
        goto out;
    a.in.today = b.in.today = date_today();
    snap = snapcache_get(r->srv->snaps, c, &r->err);
    if (!snap)
        goto out;
    out = res_diff(snap, &a.in, &b.in, &r->err);
    if (out) {
        srv_reply_json(r, 200, out);
        ret = 0;
    }
out:
    snapcache_put(r->srv->snaps, snap);
    srv_inputs_release(&a);
    srv_inputs_release(&b);
    return ret;
}

/* "sha256:<64 hex>" */
static int
lock_id_valid(const char *id)
{
    return strncmp(id, "sha256:", 7) == 0 && sha256_hex_valid(id + 7);
}

/* The bytes of lock id as a client named it: 400 unless it is "sha256:<64 hex>";
 * from the database (pinned or kept locks: *stored 1), else from the cache; 404
 * otherwise. */
static int
lock_load(struct srv_req *r, struct db *c, const char *id, char **bytes, size_t *len, int *stored,
          struct app_err *err)
{
    char key[80];

    *stored = 0;
    if (!lock_id_valid(id))
        return app_fail(err, APP_EINVAL, "lock id '%s' is not 'sha256:' and 64 hex digits", id);
    if (cat_lock_load(c, id, bytes, len, err) == 0) {
        *stored = 1;
        return 0;
    }
    if (err->code != APP_ENOTFOUND)
        return -1;
    lock_key(key, sizeof(key), id);
    *bytes = lcache_get(r->srv->lcache, key, len, NULL);
    if (*bytes) {
        app_err_release(err);
        return 0;
    }
    return app_fail(err, APP_ENOTFOUND,
                    "lock '%s' is not stored here: only locks pinned by a worker or kept on "
                    "request are stored, others are served while cached; resolve the same inputs "
                    "again to get it back (the same inputs give the same lock)",
                    id);
}

static int
h_lock_get(struct srv_req *r)
{
    struct db *c = srv_db(r);
    char *bytes = NULL;
    size_t len = 0;
    int stored;

    if (!c)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    if (lock_load(r, c, r->params[0], &bytes, &len, &stored, &r->err) < 0)
        return -1;
    srv_reply_lock(r, r->params[0], bytes, len);
    return 0;
}

void
srv_reply_lock(struct srv_req *r, const char *lock_id, char *bytes, size_t len)
{
    /* The ETag is the digest without its "sha256:" prefix. */
    char etag[80];

    snprintf(etag, sizeof(etag), "\"%s\"", lock_id + 7);
    srv_reply_bytes(r, 200, "application/json", bytes, len);
    srv_add_header(r, "ETag", etag);
    srv_add_header(r, "Cache-Control", "public, max-age=31536000, immutable");
}

static int
h_lock_signature(struct srv_req *r)
{
    struct db *c = srv_db(r);
    char *bytes = NULL, *sig = NULL;
    size_t len = 0;
    int ret, stored;

    if (!c)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    if (!sign_hook)
        return app_fail(&r->err, APP_ENOTFOUND, "this server does not sign locks");
    if (lock_load(r, c, r->params[0], &bytes, &len, &stored, &r->err) < 0)
        return -1;
    ret = sign_hook(sign_ctx, r->params[0], bytes, len, stored, &sig, &r->err);
    free(bytes);
    if (ret < 0)
        return -1;
    srv_reply_bytes(r, 200, "text/plain; charset=utf-8", sig, strlen(sig));
    return 0;
}

const struct srv_route srv_resolve_routes[] = {
    {"POST", "/v1/resolve", 0, h_resolve_post, NULL},
    {"GET", "/v1/resolve", 0, h_resolve_get, NULL},
    {"GET", "/v1/diff", 0, h_diff, NULL},
    {"GET", "/v1/locks/{id}", 0, h_lock_get, NULL},
    {"GET", "/v1/locks/{id}/signature", 0, h_lock_signature, NULL},
};
const size_t srv_resolve_n_routes = sizeof(srv_resolve_routes) / sizeof(srv_resolve_routes[0]);
