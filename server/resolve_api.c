/* server/resolve_api.c: POST|GET /v1/resolve, GET /v1/diff, GET /v1/locks/{id}.
 *
 * Resolution runs on the shared catalog snapshot. Responses are cached by their
 * normalized inputs and "today", and the cache empties when the catalog changes, so a
 * repeated request costs a hash lookup. Every issued lock is stored (by id) so
 * GET /v1/locks/{id} returns its exact bytes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/diff.h"
#include "catalog/locks.h"
#include "catalog/req.h"
#include "catalog/resolve.h"
#include "catalog/snapload.h"
#include "server/api.h"
#include "server/inputs.h"
#include "server/resolve_api.h"
#include "server/metrics.h"

#define RCACHE_SLOTS 4096

struct rcache_slot {
    char *key;
    char *body;
    size_t len;
    unsigned long generation;
};

static struct rcache_slot rcache[RCACHE_SLOTS];
static pthread_mutex_t rcache_mu = PTHREAD_MUTEX_INITIALIZER;
static srv_resolve_sign_fn sign_hook;
static void *sign_ctx;

void
srv_resolve_set_signer(srv_resolve_sign_fn fn, void *ctx)
{
    sign_hook = fn;
    sign_ctx = ctx;
}

static size_t
rcache_index(const char *key)
{
    /* FNV-1a: the key is already a canonical string. */
    uint64_t h = 1469598103934665603ull;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h % RCACHE_SLOTS);
}

static char *
rcache_get(const char *key, size_t *len)
{
    struct rcache_slot *s = &rcache[rcache_index(key)];
    char *out = NULL;

    pthread_mutex_lock(&rcache_mu);
    if (s->key && s->generation == db_generation() && strcmp(s->key, key) == 0) {
        out = xmalloc(s->len + 1);
        memcpy(out, s->body, s->len + 1);
        *len = s->len;
    }
    pthread_mutex_unlock(&rcache_mu);
    return out;
}

static void
rcache_put(const char *key, const char *body, size_t len, unsigned long generation)
{
    struct rcache_slot *s = &rcache[rcache_index(key)];

    pthread_mutex_lock(&rcache_mu);
    free(s->key);
    free(s->body);
    s->key = xstrdup(key);
    s->body = xstrndup(body, len);
    s->len = len;
    s->generation = generation;
    pthread_mutex_unlock(&rcache_mu);
}

void
srv_resolve_fini(void)
{
    pthread_mutex_lock(&rcache_mu);
    for (size_t i = 0; i < RCACHE_SLOTS; i++) {
        free(rcache[i].key);
        free(rcache[i].body);
        memset(&rcache[i], 0, sizeof(rcache[i]));
    }
    pthread_mutex_unlock(&rcache_mu);
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
    if (ret == 0 && cat_lock_store(c, out->lock_id, out->lock_bytes, out->lock_len, err) < 0) {
        res_output_release(out);
        return -1;
    }
    return ret;
}

static int
do_resolve(struct srv_req *r, struct srv_inputs *x)
{
    struct res_output out;
    unsigned long gen = db_generation();
    struct db *c;
    char *key, *body;
    size_t len;
    cJSON *resp;

    x->in.today = date_today();
    key = cache_key(&x->in);
    body = rcache_get(key, &len);
    srv_metrics_resolve_cache(body != NULL);
    if (body) {
        free(key);
        srv_reply_bytes(r, 200, "application/json", body, len);
        return 0;
    }
    c = srv_db(r);
    if (!c) {
        free(key);
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    }
    if (srv_resolve_run(r->srv, c, &x->in, &out, &r->err) < 0) {
        free(key);
        return -1;
    }
    resp = res_response(&out);
    if (sign_hook) {
        char *sig = NULL;

        if (sign_hook(sign_ctx, out.lock_id, out.lock_bytes, out.lock_len, &sig, &r->err) < 0) {
            cJSON_Delete(resp);
            res_output_release(&out);
            free(key);
            return -1;
        }
        xjson(cJSON_AddStringToObject(resp, "signature", sig));
        free(sig);
    }
    body = json_canonical(resp, &len);
    cJSON_Delete(resp);
    res_output_release(&out);
    rcache_put(key, body, len, gen);
    free(key);
    srv_reply_bytes(r, 200, "application/json", body, len);
    return 0;
}

static int
h_resolve_post(struct srv_req *r)
{
    struct srv_inputs x = {0};
    cJSON *body = srv_body_json(r);
    int ret = -1;

    if (!body)
        return -1;
    if (srv_inputs_from_json(body, SRV_INPUTS_AS_OF, &x, &r->err) == 0)
        ret = do_resolve(r, &x);
    srv_inputs_release(&x);
    cJSON_Delete(body);
    return ret;
}

static int
h_resolve_get(struct srv_req *r)
{
    struct srv_inputs x = {0};
    int ret = -1;

    if (srv_inputs_from_query(r, "date", &x) == 0)
        ret = do_resolve(r, &x);
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
    if (srv_inputs_from_query(r, "from", &a) < 0 || srv_inputs_from_query(r, "to", &b) < 0)
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

/* The stored bytes of lock id as a client named it: 400 unless it is
 * "sha256:<64 hex>", 404 when never issued. */
static int
lock_load(struct db *c, const char *id, char **bytes, size_t *len, struct app_err *err)
{
    if (!lock_id_valid(id))
        return app_fail(err, APP_EINVAL, "lock id '%s' is not 'sha256:' and 64 hex digits", id);
    return cat_lock_load(c, id, bytes, len, err);
}

static int
h_lock_get(struct srv_req *r)
{
    struct db *c = srv_db(r);
    char *bytes = NULL;
    size_t len = 0;
    char etag[80];

    if (!c)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    if (lock_load(c, r->params[0], &bytes, &len, &r->err) < 0)
        return -1;
    snprintf(etag, sizeof(etag), "\"%s\"", r->params[0] + 7);
    srv_reply_bytes(r, 200, "application/json", bytes, len);
    srv_add_header(r, "ETag", etag);
    srv_add_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    return 0;
}

static int
h_lock_signature(struct srv_req *r)
{
    struct db *c = srv_db(r);
    char *bytes = NULL, *sig = NULL;
    size_t len = 0;
    int ret;

    if (!c)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    if (!sign_hook)
        return app_fail(&r->err, APP_ENOTFOUND, "this server does not sign locks");
    if (lock_load(c, r->params[0], &bytes, &len, &r->err) < 0)
        return -1;
    ret = sign_hook(sign_ctx, r->params[0], bytes, len, &sig, &r->err);
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
