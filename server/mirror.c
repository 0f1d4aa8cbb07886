/* server/mirror.c: serving as a read-only mirror (see mirror.h). */
#include "server/mirror.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/log.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "artifacts/minisign.h"
#include "catalog/snapload.h"
#include "db/migrate.h"
#include "server/api.h"
#include "server/artifacts_api.h"
#include "server/datalock.h"
#include "server/export.h"
#include "server/headers.h"
#include "server/resolve_api.h"

#define CACHE_SIGNATURE "public, max-age=60"

/* ---- following */

static void
on_advance(void *ctx, struct follow_doc *doc)
{
    struct srv *s = ctx;
    struct app_err err = {0};
    struct snap_meta m;
    struct snap *snap = snap_parse(doc->bytes, doc->len, &m, &err);

    if (!snap) {
        app_log(APP_LOG_ERROR, "mirror: cannot load the served snapshot: %s", err.msg);
        app_err_release(&err);
        return;
    }
    snapcache_pin(s->snaps, snap);
    /* Cached resolve answers belong to the version they were computed from. */
    db_generation_bump();
}

void
mirror_attach(struct srv *s, struct follower *f)
{
    struct follow_doc *d = follow_doc_get(f);

    s->mirror = f;
    snapcache_pin(s->snaps, NULL);
    if (d) {
        on_advance(s, d);
        follow_doc_put(d);
    }
    follow_on_advance(f, on_advance, s);
}

/* ---- the gate */

static int
is_read(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "OPTIONS");
}

/* The methods a mirror answers on url ("GET, HEAD", plus POST for resolve), into
 * allow; 0 when no route has that path. */
static int
read_methods(const char *url, char *allow, size_t size)
{
    struct srv_segs g;
    int known = 0, get = 0, post = 0;

    allow[0] = '\0';
    if (srv_path_split(url, &g) < 0)
        return 0;
    for (size_t t = 0; t < srv_n_route_tables; t++) {
        for (size_t i = 0; i < *srv_all_routes[t].n; i++) {
            const struct srv_route *rt = &srv_all_routes[t].routes[i];
            char *params[SRV_MAX_PARAMS];
            size_t n = 0;

            if (!srv_route_match(rt->pattern, &g, params, &n))
                continue;
            for (size_t k = 0; k < n; k++)
                free(params[k]);
            known = 1;
            get |= !strcmp(rt->method, "GET");
            post |= !strcmp(rt->method, "POST") && !strcmp(rt->pattern, "/v1/resolve");
        }
    }
    srv_segs_release(&g);
    snprintf(allow, size, "%s%s%s", get ? "GET, HEAD" : "", get && post ? ", " : "",
             post ? "POST" : "");
    return known;
}

int
mirror_refuse_write(struct srv_req *r, const char *url)
{
    char allow[32];

    if (is_read(r->method) || (!strcmp(url, "/v1/resolve") && !strcmp(r->method, "POST")))
        return 0;
    /* A path no route has stays a 404, as on any almanacd. */
    if (!read_methods(url, allow, sizeof(allow)))
        return 0;
    r->problem_upstream = follow_upstream(r->srv->mirror);
    app_fail(&r->err, APP_EMETHOD,
             "this server is a read-only mirror of %s: send %s %s to the upstream",
             follow_upstream(r->srv->mirror), r->method, url);
    srv_reply_problem(r, &r->err);
    srv_add_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    return 1;
}

/* The served version, or NULL with a 503 in err: syncing, or expired. */
static struct follow_doc *
served(struct srv_req *r)
{
    struct follower *f = r->srv->mirror;
    struct follow_doc *d = follow_doc_get(f);
    struct follow_status st;
    long long now = (long long)time(NULL);
    char ex[APP_TIME_LEN];

    r->problem_upstream = follow_upstream(f);
    if (!d) {
        follow_status(f, &st);
        app_fail(&r->err, APP_EUNAVAILABLE,
                 "this mirror of %s is syncing: it serves no catalog version until it holds "
                 "every artifact of one (%lld artifact(s) pending%s%s)",
                 follow_upstream(f), st.pending, st.last_error[0] ? "; last error: " : "",
                 st.last_error);
        return NULL;
    }
    if (now >= d->meta.expires) {
        date_time_rfc3339(d->meta.expires, ex);
        app_fail(&r->err, APP_EUNAVAILABLE,
                 "this mirror's copy of %s (snapshot version %lld) expired at %s and the "
                 "upstream could not be read since: it serves nothing stale",
                 follow_upstream(f), d->meta.version, ex);
        follow_doc_put(d);
        return NULL;
    }
    return d;
}

/* ---- handlers */

static int
mh_health(struct srv_req *r)
{
    struct follow_status st;
    cJSON *o;
    char today[APP_DATE_LEN];
    int version;

    if (mig_version(r->db->db, &version, &r->err) < 0)
        return -1;
    follow_status(r->srv->mirror, &st);
    o = xjson(cJSON_CreateObject());
    date_format(date_today(), today);
    xjson(cJSON_AddStringToObject(o, "status", "ok"));
    /* On a mirror, version is the catalog version served (null while syncing). */
    if (st.version >= 0)
        xjson(cJSON_AddNumberToObject(o, "version", (double)st.version));
    else
        xjson(cJSON_AddNullToObject(o, "version"));
    xjson(cJSON_AddStringToObject(o, "server_version", ALMANAC_VERSION));
    xjson(cJSON_AddStringToObject(o, "today", today));
    xjson(cJSON_AddBoolToObject(o, "today_overridden", date_today_overridden()));
    xjson(cJSON_AddNumberToObject(o, "schema_version", version));
    xjson(cJSON_AddBoolToObject(o, "private_reads", r->srv->cfg.private_reads != 0));
    xjson(cJSON_AddBoolToObject(o, "mirror", 1));
    xjson(cJSON_AddStringToObject(o, "upstream", follow_upstream(r->srv->mirror)));
    if (st.lag_s >= 0)
        xjson(cJSON_AddNumberToObject(o, "lag_s", (double)st.lag_s));
    else
        xjson(cJSON_AddNullToObject(o, "lag_s"));
    xjson(cJSON_AddNumberToObject(o, "pending_artifacts", (double)st.pending));
    if (st.upstream >= 0)
        xjson(cJSON_AddNumberToObject(o, "upstream_version", (double)st.upstream));
    else
        xjson(cJSON_AddNullToObject(o, "upstream_version"));
    xjson(cJSON_AddStringToObject(o, "sync",
                                  st.version < 0                        ? "syncing"
                                  : (long long)time(NULL) >= st.expires ? "expired"
                                                                        : "serving"));
    if (st.last_error[0])
        xjson(cJSON_AddStringToObject(o, "last_error", st.last_error));
    srv_reply_json(r, 200, o);
    return 0;
}

static int
mh_ready(struct srv_req *r)
{
    struct follow_doc *d = served(r);
    cJSON *o, *arr;
    const char *names[] = {"database", "store", "catalog"};

    if (!d)
        return -1;
    follow_doc_put(d);
    o = xjson(cJSON_CreateObject());
    arr = xjson(cJSON_AddArrayToObject(o, "checks"));
    for (int i = 0; i < 3; i++) {
        cJSON *e = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(e, "name", names[i]));
        xjson(cJSON_AddBoolToObject(e, "ok", 1));
        cJSON_AddItemToArray(arr, e);
    }
    xjson(cJSON_AddStringToObject(o, "status", "ready"));
    srv_reply_json(r, 200, o);
    return 0;
}

static int
not_modified(struct srv_req *r, const char *tag)
{
    const char *inm = srv_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);

    return inm && (strstr(inm, tag) || strcmp(inm, "*") == 0);
}

static void
snap_headers(struct srv_req *r, const struct follow_doc *d, const char *etag)
{
    char version[32];

    snprintf(version, sizeof(version), "%lld", d->meta.version);
    srv_add_header(r, MHD_HTTP_HEADER_ETAG, etag);
    srv_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    srv_add_header(r, "Almanac-Snapshot-Version", version);
    srv_add_header(r, "Almanac-Snapshot-Digest", d->digest);
}

static char *
dup_bytes(const char *p, size_t n)
{
    char *b = xmalloc(n ? n : 1);

    memcpy(b, p, n);
    return b;
}

static int
mh_snapshot(struct srv_req *r)
{
    struct follow_doc *d = served(r);
    char etag[160];
    int zstd;

    if (!d)
        return -1;
    zstd = srv_accepts_zstd(srv_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING)) && d->zst;
    snprintf(etag, sizeof(etag), "\"%s%s\"", d->digest + 7, zstd ? "+zstd" : "");
    if (not_modified(r, etag)) {
        srv_reply_empty(r, 304);
    } else if (zstd) {
        srv_reply_bytes(r, 200, "application/json", dup_bytes(d->zst, d->zlen), d->zlen);
        srv_add_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "zstd");
    } else {
        srv_reply_bytes(r, 200, "application/json", dup_bytes(d->bytes, d->len), d->len);
    }
    snap_headers(r, d, etag);
    srv_add_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    follow_doc_put(d);
    return 0;
}

static int
mh_snapshot_signature(struct srv_req *r)
{
    struct follow_doc *d = served(r);
    char etag[160];

    if (!d)
        return -1;
    snprintf(etag, sizeof(etag), "\"%s.minisig\"", d->digest + 7);
    if (not_modified(r, etag))
        srv_reply_empty(r, 304);
    else
        srv_reply_bytes(r, 200, "text/plain; charset=utf-8", xstrdup(d->signature),
                        strlen(d->signature));
    snap_headers(r, d, etag);
    follow_doc_put(d);
    return 0;
}

/* The upstream's document as it came (keys, rotations). */
static int
reply_doc(struct srv_req *r, int rotations)
{
    struct follow_doc *d = served(r);
    const char *text;

    if (!d)
        return -1;
    text = rotations ? d->rotations : d->keys;
    srv_reply_bytes(r, 200, "application/json", xstrdup(text), strlen(text));
    follow_doc_put(d);
    return 0;
}

static int
mh_keys(struct srv_req *r)
{
    return reply_doc(r, 0);
}

static int
mh_rotations(struct srv_req *r)
{
    return reply_doc(r, 1);
}

/* /v1/keys/{ID}.pub from the upstream's key list. */
static int
mh_key_file(struct srv_req *r)
{
    struct follow_doc *d = served(r);
    const char *file = r->params[0], *dot;
    cJSON *doc, *k;
    char id[ART_KEY_ID_LEN];
    int ret = -1;

    if (!d)
        return -1;
    dot = strrchr(file, '.');
    if (!dot || strcmp(dot, ".pub") != 0 || (size_t)(dot - file) != ART_KEY_ID_LEN - 1) {
        follow_doc_put(d);
        return app_fail(&r->err, APP_ENOTFOUND, "no key file '%s' (keys are <ID>.pub)", file);
    }
    memcpy(id, file, ART_KEY_ID_LEN - 1);
    id[ART_KEY_ID_LEN - 1] = '\0';
    doc = cJSON_Parse(d->keys);
    cJSON_ArrayForEach (k, cJSON_GetObjectItemCaseSensitive(doc, "keys")) {
        const char *kid = json_str_item(k, "id"), *pub = json_str_item(k, "public_key");

        if (kid && pub && strcmp(kid, id) == 0) {
            srv_reply_bytes(r, 200, "text/plain; charset=utf-8", xstrdup(pub), strlen(pub));
            ret = 0;
            break;
        }
    }
    if (ret < 0)
        app_fail(&r->err, APP_ENOTFOUND, "the upstream has no key %s", id);
    cJSON_Delete(doc);
    follow_doc_put(d);
    return ret;
}

static int
mh_artifact_signature(struct srv_req *r)
{
    char *sig = NULL;

    if (!sha256_hex_valid(r->params[0]))
        return app_fail(&r->err, APP_EINVAL, "'%s' is not 64 lower-case hex digits", r->params[0]);
    if (follow_artifact_signature(r->db, r->params[0], &sig, &r->err) < 0)
        return -1;
    srv_reply_bytes(r, 200, "text/plain; charset=utf-8", sig, strlen(sig));
    srv_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, CACHE_SIGNATURE);
    return 0;
}

static const struct srv_route *
find_route(const struct srv_route *table, size_t n, const char *method, const char *pattern)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(table[i].method, method) && !strcmp(table[i].pattern, pattern))
            return &table[i];
    return NULL;
}

static int
lock_id_valid(const char *id)
{
    return strncmp(id, "sha256:", 7) == 0 && sha256_hex_valid(id + 7);
}

/* A lock this mirror computed (the resolve module's cache), else the upstream's. */
static int
mh_lock(struct srv_req *r)
{
    const struct srv_route *own =
        find_route(srv_resolve_routes, srv_resolve_n_routes, "GET", "/v1/locks/{id}");
    char *bytes = NULL, *sig = NULL;
    size_t len = 0;

    if (own->handle(r) == 0)
        return 0;
    if (r->err.code != APP_ENOTFOUND || !lock_id_valid(r->params[0]))
        return -1;
    app_err_release(&r->err);
    if (follow_upstream_lock(r->srv->mirror, r->params[0], &bytes, &len, &sig, &r->err) < 0) {
        if (r->err.code != APP_ENOTFOUND)
            return -1;
        return app_fail(&r->err, APP_ENOTFOUND,
                        "lock '%s' is neither cached here nor stored on the upstream %s; "
                        "resolve the same inputs again to get it back",
                        r->params[0], follow_upstream(r->srv->mirror));
    }
    free(sig);
    srv_reply_lock(r, r->params[0], bytes, len);
    return 0;
}

/* Only the upstream signs: its signature when it has the lock, else 404. */
static int
mh_lock_signature(struct srv_req *r)
{
    char *bytes = NULL, *sig = NULL;
    size_t len = 0;

    if (!lock_id_valid(r->params[0]))
        return app_fail(&r->err, APP_EINVAL, "lock id '%s' is not 'sha256:' and 64 hex digits",
                        r->params[0]);
    if (follow_upstream_lock(r->srv->mirror, r->params[0], &bytes, &len, &sig, &r->err) < 0 &&
        r->err.code != APP_ENOTFOUND)
        return -1;
    free(bytes);
    if (!sig) {
        app_err_release(&r->err);
        return app_fail(&r->err, APP_ENOTFOUND,
                        "the upstream %s has not signed lock '%s'; a mirror signs nothing: "
                        "check the lock against the signed catalog snapshot (almanac "
                        "verify-lock)",
                        follow_upstream(r->srv->mirror), r->params[0]);
    }
    srv_reply_bytes(r, 200, "text/plain; charset=utf-8", sig, strlen(sig));
    return 0;
}

/* A cached read for key at the served version (or, with any_version, the newest
 * kept); 1 found, 0 not, -1 err. */
static int
read_cached(struct db *c, const char *key, long long version, int any_version, long *status,
            char **body, size_t *len, struct app_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (db_prepare(c, &st, "SELECT version, status, body FROM mirror_reads WHERE key = ?1", err) <
        0)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = db_next(st, err);
    if (rc == 1 && (any_version || sqlite3_column_int64(st, 0) == version)) {
        *status = (long)sqlite3_column_int64(st, 1);
        *len = (size_t)sqlite3_column_bytes(st, 2);
        *body = xmalloc(*len + 1);
        memcpy(*body, sqlite3_column_blob(st, 2), *len);
    } else if (rc == 1) {
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static void
read_store(struct db *c, const char *key, long long version, long status, const char *body,
           size_t len)
{
    sqlite3_stmt *st;
    struct app_err err = {0};

    if (db_prepare(c, &st,
                   "INSERT OR REPLACE INTO mirror_reads(key, version, status, body)"
                   " VALUES(?1, ?2, ?3, ?4)",
                   &err) == 0) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, version);
        sqlite3_bind_int64(st, 3, status);
        sqlite3_bind_blob(st, 4, body, (int)len, SQLITE_STATIC);
        if (db_step_done(st, &err, "cache a catalog read") < 0)
            app_log(APP_LOG_WARN, "mirror: %s", err.msg);
        sqlite3_finalize(st);
    }
    app_err_release(&err);
}

/* Catalog reads (lines, runtimes, package sets, flags): nothing a client trusts
 * (that is the signed snapshot), so the upstream's answer is shown as it came,
 * fetched once per served version, path, query and today; when the upstream is
 * unreachable, the newest answer kept. */
static int
mh_catalog_read(struct srv_req *r)
{
    struct follow_doc *d = served(r);
    char today[APP_DATE_LEN], *key, *path, *body = NULL;
    long status = 0;
    size_t len = 0;
    long long version;
    struct app_err e = {0};
    int rc;

    if (!d)
        return -1;
    version = d->meta.version;
    follow_doc_put(d);
    date_format(date_today(), today);
    path = r->raw_query && *r->raw_query ? xasprintf("%s?%s", r->path, r->raw_query)
                                         : xstrdup(r->path);
    key = xasprintf("%s %s", today, path);
    rc = read_cached(r->db, key, version, 0, &status, &body, &len, &r->err);
    if (rc == 0) {
        if (follow_fetch(r->srv->mirror, path, &status, &body, &len, &e) == 0) {
            read_store(r->db, key, version, status, body, len);
            rc = 1;
        } else {
            rc = read_cached(r->db, key, version, 1, &status, &body, &len, &r->err);
            if (rc == 0)
                app_fail(&r->err, APP_EUNAVAILABLE,
                         "this mirror has not read %s from its upstream yet and cannot now: %s",
                         r->path, e.msg);
        }
    }
    app_err_release(&e);
    free(key);
    free(path);
    if (rc <= 0)
        return -1;
    if (status == 404) {
        free(body);
        return app_fail(&r->err, APP_ENOTFOUND, "no such object '%s' on the upstream %s", r->path,
                        follow_upstream(r->srv->mirror));
    }
    srv_reply_bytes(r, 200, "application/json", body, len);
    return 0;
}

static const struct srv_route mirror_routes[] = {
    {"GET", "/v1/python", 0, mh_catalog_read, NULL},
    {"GET", "/v1/python/{line}", 0, mh_catalog_read, NULL},
    {"GET", "/v1/runtimes", 0, mh_catalog_read, NULL},
    {"GET", "/v1/runtimes/{id}", 0, mh_catalog_read, NULL},
    {"GET", "/v1/package-sets", 0, mh_catalog_read, NULL},
    {"GET", "/v1/package-sets/{id+}", 0, mh_catalog_read, NULL},
    {"GET", "/v1/package-sets/{id+}/pyodide-lock.json", 0, mh_catalog_read, NULL},
    {"GET", "/v1/flags", 0, mh_catalog_read, NULL},
    {"GET", "/v1/flags/{name}", 0, mh_catalog_read, NULL},
    {"GET", "/v1/health", 0, mh_health, NULL},
    {"GET", "/v1/ready", 0, mh_ready, NULL},
    {"GET", "/v1/catalog/snapshot", 0, mh_snapshot, NULL},
    {"GET", "/v1/catalog/snapshot/signature", 0, mh_snapshot_signature, NULL},
    {"GET", "/v1/keys", 0, mh_keys, NULL},
    {"GET", "/v1/keys/{file}", 0, mh_key_file, NULL},
    {"GET", "/v1/key-rotations", 0, mh_rotations, NULL},
    {"GET", "/v1/artifacts/sha256/{hex}/signature", 0, mh_artifact_signature, NULL},
    {"GET", "/v1/locks/{id}", 0, mh_lock, NULL},
    {"GET", "/v1/locks/{id}/signature", 0, mh_lock_signature, NULL},
};

const struct srv_route *
mirror_route(struct srv_req *r, const struct srv_route *rt)
{
    const struct srv_route *m = find_route(
        mirror_routes, sizeof(mirror_routes) / sizeof(mirror_routes[0]), rt->method, rt->pattern);
    struct follow_doc *d;

    /* Health, readiness and the dashboard say what state the mirror is in. */
    if (m && (!strcmp(rt->pattern, "/v1/health") || !strcmp(rt->pattern, "/v1/ready")))
        return m;
    if (!strncmp(rt->pattern, "/ui/", 4) || !strcmp(rt->pattern, "/metrics"))
        return rt;
    d = served(r);
    if (!d)
        return NULL;
    follow_doc_put(d);
    return m ? m : rt;
}

/* ---- static trees */

struct sig_ctx {
    struct db *c;
};

static int
static_sig(void *ctx, const char *hex, char **sig, struct app_err *err)
{
    struct sig_ctx *x = ctx;

    return follow_artifact_signature(x->c, hex, sig, err);
}

int
mirror_write_static(struct follower *f, const char *data_dir, const char *out,
                    struct follow_doc *doc, struct app_err *err)
{
    struct sig_ctx x = {0};
    struct art_store *store = NULL;
    struct srv_export_doc e = {.bytes = doc->bytes,
                               .len = doc->len,
                               .signature = doc->signature,
                               .meta = &doc->meta,
                               .digest = doc->digest,
                               .keys_json = doc->keys,
                               .rotations_json = doc->rotations};
    const char **hexes = NULL;
    size_t n = 0;
    int ret = -1;

    (void)f;
    x.c = db_open(data_dir, err);
    if (!x.c)
        return -1;
    store = art_store_open(data_dir, 0, err);
    if (!store)
        goto out;
    hexes = follow_doc_hexes(doc, &n);
    ret = srv_export_from(x.c, store, out, hexes, n, static_sig, &x, &e, err);
out:
    free(hexes);
    art_store_free(store);
    db_close(x.c);
    return ret;
}

struct static_ctx {
    struct follower *f;
    const char *data, *out;
};

/* After each advance: the tree follows (the snapshot and its marker last). */
static void
static_advance(void *ctx, struct follow_doc *doc)
{
    struct static_ctx *x = ctx;
    struct app_err err = {0};

    if (mirror_write_static(x->f, x->data, x->out, doc, &err) < 0)
        app_log(APP_LOG_ERROR, "mirror: cannot write the static tree %s: %s", x->out, err.msg);
    else
        app_log(APP_LOG_INFO, "mirror: static tree %s is at version %lld", x->out,
                doc->meta.version);
    app_err_release(&err);
}

int
mirror_static_run(const struct follow_cfg *cfg, const char *out, int once, struct app_err *err)
{
    struct data_lock *lock = NULL;
    struct follower *f = NULL;
    struct static_ctx x = {0};
    struct follow_doc *d;
    sigset_t sigs;
    int sig, ret = -1;

    if (!(lock = data_lock_take(cfg->data_dir, err)) || !(f = follow_open(cfg, err)))
        goto out;
    x = (struct static_ctx){f, cfg->data_dir, out};
    /* A tree left behind by a crash is brought to the served version first. */
    d = follow_doc_get(f);
    if (d) {
        static_advance(&x, d);
        follow_doc_put(d);
    }
    follow_on_advance(f, static_advance, &x);
    if (once) {
        ret = follow_sync(f, err);
        goto out;
    }
    /* Blocked before the follower's thread starts, so only this thread takes them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (follow_start(f, err) < 0)
        goto out;
    app_log(APP_LOG_INFO, "mirror: following %s into the static tree %s (data %s, pid %ld)",
            follow_upstream(f), out, cfg->data_dir, (long)getpid());
    sigwait(&sigs, &sig);
    app_log(APP_LOG_INFO, "stopped");
    ret = 0;
out:
    follow_free(f);
    data_lock_release(lock);
    return ret;
}
