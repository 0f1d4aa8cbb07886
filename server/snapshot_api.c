/* server/snapshot_api.c: GET /v1/catalog/snapshot and .../signature (issue 14).
 *
 * The snapshot is the whole published catalog in one signed canonical document
 * (catalog/snapjson.h), so clients and mirrors resolve by themselves and check any
 * lock. This module keeps the current document in memory (with its zstd form) and
 * asks catalog/snapissue.c for a new one when the catalog generation moved or half
 * the document's lifetime passed. The document and its signature are served from
 * the same cached pair; a client that reads them across a re-issue sees a digest
 * mismatch and reads both again.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "app/mem.h"
#include "artifacts/keys.h"
#include "catalog/snapissue.h"
#include "catalog/snapload.h"
#include "server/api.h"
#include "server/artifacts_api.h"
#include "server/headers.h"

/* zstd level for the compressed form: made once per issued document. */
#define SNAPSHOT_ZSTD_LEVEL 9

struct snapdoc {
    struct cat_snapshot s;
    char *zst;
    size_t zlen;
    unsigned long generation;
};

static struct snapdoc cur;
static int have_cur;
static pthread_mutex_t cur_mu = PTHREAD_MUTEX_INITIALIZER;

void
srv_snapshot_fini(void)
{
    pthread_mutex_lock(&cur_mu);
    cat_snapshot_release(&cur.s);
    free(cur.zst);
    memset(&cur, 0, sizeof(cur));
    have_cur = 0;
    pthread_mutex_unlock(&cur_mu);
}

static int
sign_cb(void *ctx, const char *bytes, size_t len, long long version, long long expires, char **sig,
        char key_id[ART_KEY_ID_LEN], struct app_err *err)
{
    return art_sign_snapshot(ctx, bytes, len, version, expires, sig, key_id, err);
}

static long long
ttl_of(const struct srv *s)
{
    return s->cfg.snapshot_ttl > 0 ? s->cfg.snapshot_ttl : CAT_SNAPSHOT_TTL_DEFAULT;
}

/* Make cur current; called with cur_mu held. */
static int
refresh(struct srv_req *r)
{
    struct snap *s = NULL;
    struct cat_snapshot fresh = {0};
    char key_id[ART_KEY_ID_LEN];
    unsigned long gen = db_generation();
    long long version = 0, now = (long long)time(NULL);
    size_t bound;
    int ret = -1;

    /* The key may have been rotated by `almanacd key rotate` in another process. */
    if (art_keys_current(r->srv->keys, key_id, &r->err) < 0)
        return -1;
    if (have_cur && cur.generation == gen && strcmp(cur.s.key_id, key_id) == 0 &&
        !cat_snapshot_stale(&cur.s.meta, now, ttl_of(r->srv)))
        return 0;
    s = snap_load_versioned(r->db, &version, &r->err);
    if (!s || cat_snapshot_current(r->db, s, version, now, ttl_of(r->srv), key_id, sign_cb,
                                   r->srv->keys, &fresh, &r->err) < 0)
        goto out;
    cat_snapshot_release(&cur.s);
    free(cur.zst);
    cur.s = fresh;
    memset(&fresh, 0, sizeof(fresh));
    bound = ZSTD_compressBound(cur.s.len);
    cur.zst = xmalloc(bound);
    cur.zlen = ZSTD_compress(cur.zst, bound, cur.s.bytes, cur.s.len, SNAPSHOT_ZSTD_LEVEL);
    if (ZSTD_isError(cur.zlen)) {
        free(cur.zst);
        cur.zst = NULL;
        cur.zlen = 0;
    }
    cur.generation = gen;
    have_cur = 1;
    ret = 0;
out:
    if (s)
        snap_free(s);
    cat_snapshot_release(&fresh);
    return ret;
}

/* 1 when If-None-Match names tag (or "*"). */
static int
not_modified(struct srv_req *r, const char *tag)
{
    const char *inm = srv_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);

    return inm && (strstr(inm, tag) || strcmp(inm, "*") == 0);
}

static void
common_headers(struct srv_req *r, const char *etag)
{
    char version[32];

    snprintf(version, sizeof(version), "%lld", cur.s.meta.version);
    srv_add_header(r, MHD_HTTP_HEADER_ETAG, etag);
    /* It changes in place (same URL, new version): caches must revalidate. */
    srv_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    srv_add_header(r, "Almanac-Snapshot-Version", version);
    srv_add_header(r, "Almanac-Snapshot-Digest", cur.s.digest);
}

static int
h_snapshot(struct srv_req *r)
{
    char etag[160];
    int zstd, ret = -1;

    zstd = srv_accepts_zstd(srv_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    pthread_mutex_lock(&cur_mu);
    if (refresh(r) < 0)
        goto out;
    zstd = zstd && cur.zst;
    snprintf(etag, sizeof(etag), "\"%s%s\"", cur.s.digest + 7, zstd ? "+zstd" : "");
    if (not_modified(r, etag)) {
        srv_reply_empty(r, 304);
    } else if (zstd) {
        char *b = xmalloc(cur.zlen);

        memcpy(b, cur.zst, cur.zlen);
        srv_reply_bytes(r, 200, "application/json", b, cur.zlen);
        srv_add_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "zstd");
    } else {
        char *b = xmalloc(cur.s.len);

        memcpy(b, cur.s.bytes, cur.s.len);
        srv_reply_bytes(r, 200, "application/json", b, cur.s.len);
    }
    common_headers(r, etag);
    srv_add_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    ret = 0;
out:
    pthread_mutex_unlock(&cur_mu);
    return ret;
}

static int
h_signature(struct srv_req *r)
{
    char etag[160];
    int ret = -1;

    pthread_mutex_lock(&cur_mu);
    if (refresh(r) < 0)
        goto out;
    snprintf(etag, sizeof(etag), "\"%s.minisig\"", cur.s.digest + 7);
    if (not_modified(r, etag))
        srv_reply_empty(r, 304);
    else
        srv_reply_bytes(r, 200, "text/plain; charset=utf-8", xstrdup(cur.s.signature),
                        strlen(cur.s.signature));
    common_headers(r, etag);
    ret = 0;
out:
    pthread_mutex_unlock(&cur_mu);
    return ret;
}

static int
h_rotations(struct srv_req *r)
{
    cJSON *arr = art_keys_rotations(r->srv->keys, &r->err), *o;

    if (!arr)
        return -1;
    o = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(o, "rotations", arr);
    srv_reply_json(r, 200, o);
    return 0;
}

const struct srv_route srv_snapshot_routes[] = {
    {"GET", "/v1/key-rotations", 0, h_rotations, NULL},
    {"GET", "/v1/catalog/snapshot", 0, h_snapshot, NULL},
    {"GET", "/v1/catalog/snapshot/signature", 0, h_signature, NULL},
};
const size_t srv_snapshot_n_routes = sizeof(srv_snapshot_routes) / sizeof(srv_snapshot_routes[0]);
