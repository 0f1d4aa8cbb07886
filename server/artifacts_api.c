/* server/artifacts_api.c: artifact, signature and key routes (DESIGN §8).
 *
 *   POST /v1/artifacts                      upload raw bytes (publish, streamed)
 *   PUT  /v1/artifacts/sha256/{hex}         upload bytes that must hash to hex (publish; 409)
 *   GET  /v1/artifacts/sha256/{hex}         the bytes (also HEAD)
 *   GET  /v1/artifacts/sha256/{hex}/meta    row + Wasm facts
 *   GET  /v1/artifacts/sha256/{hex}/signature  minisign signature by the current key
 *   GET  /v1/keys, GET /v1/keys/{id}.pub    public keys
 *
 * Downloads: two representations of one content. A request that accepts zstd
 * (an explicit `zstd` coding with q > 0 in Accept-Encoding) and has no Range gets
 * the stored file as it is, sent from its descriptor (sendfile), with
 * `Content-Encoding: zstd`; every other request gets the identity bytes,
 * decompressed as they are sent, and may carry one `Range` (206/416; several
 * ranges or a malformed header are ignored and answered 200 in full). Each
 * representation has its own strong ETag, "<hex>" for identity and "<hex>+zstd"
 * for the zstd form, so If-Range can never splice bytes of the two; If-None-Match
 * accepts either (the content is the same). Repr-Digest is the SHA-256 of the
 * selected representation (RFC 9530); Content-Digest is sent with full bodies.
 *
 * Uploads: the body streams through the store writer (and the Wasm reader when it
 * is a module); nothing is visible before the commit. The media type is the
 * request's Content-Type (except curl's default form types), else guessed from
 * `?file_name=`, else application/octet-stream; for a digest almanac already knows,
 * its recorded file name and media type win. PUT with bytes that hash to another
 * digest is 409 (the digest in the path conflicts with the content), a malformed
 * Wasm module 422.
 */
#include "server/artifacts_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "app/hash.h"
#include "app/log.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "artifacts/idcache.h"
#include "artifacts/keys.h"
#include "artifacts/store.h"
#include "server/headers.h"
#include "server/resolve_api.h"

#define DL_BLOCK (256 * 1024)
#define CACHE_IMMUTABLE "public, max-age=31536000, immutable"
#define CACHE_SIGNATURE "public, max-age=60"
#define ETAG_MAX (APP_SHA256_HEX + 8)
#define DIGEST_HDR_MAX 64

/* Locks are signed by the resolve module through this hook. */
static int
sign_lock(void *ctx, const char *lock_id, const char *bytes, size_t len, int keep, char **sig,
          struct app_err *err)
{
    if (keep)
        return art_sign_lock(ctx, lock_id, bytes, len, sig, err);
    return art_sign_lock_transient(ctx, lock_id, bytes, len, sig, err);
}

int
srv_artifacts_init(struct srv *s, struct app_err *err)
{
    int ret = -1;

    s->store = art_store_open(s->cfg.data_dir, s->cfg.zstd_level, err);
    if (!s->store)
        goto out;
    /* A mirror signs nothing: no keys of its own (server/mirror.c serves the
     * upstream's signatures). */
    if (!s->mirror && !(s->keys = art_keys_open(s->cfg.data_dir, err)))
        goto out;
    if (s->cfg.identity_cache &&
        !(s->idcache = art_idcache_open(s->cfg.data_dir, s->cfg.identity_cache, err)))
        goto out;
    if (s->keys)
        srv_resolve_set_signer(sign_lock, s->keys);
    ret = 0;
out:
    if (ret < 0) {
        art_keys_free(s->keys);
        art_store_free(s->store);
        s->keys = NULL;
        s->store = NULL;
    }
    return ret;
}

void
srv_artifacts_fini(struct srv *s)
{
    if (s->keys)
        srv_resolve_set_signer(NULL, NULL);
    art_keys_free(s->keys);
    s->keys = NULL;
    art_store_free(s->store);
    s->store = NULL;
    art_idcache_free(s->idcache);
    s->idcache = NULL;
}

static struct db *
need_cat(struct srv_req *r)
{
    struct db *c = srv_db(r);

    if (!c)
        app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    return c;
}

static int
check_hex(struct srv_req *r, const char *hex)
{
    if (!sha256_hex_valid(hex))
        return app_fail(&r->err, APP_EINVAL,
                        "'%.80s' is not a sha256 digest (64 lower-case hex digits)", hex);
    return 0;
}

/* --- uploads ------------------------------------------------------------------ */

/* Per-request upload state. A failure while the body streams is kept here and
 * reported once the body is complete: a reply queued in the middle of an upload
 * does not reach the client (libmicrohttpd drops it), so the rest of the body is
 * read and discarded instead (bounded by the upload limit). */
struct upload_state {
    struct art_upload *u;
    int failed;
    struct app_err err;
};

static void
upload_state_free(void *p)
{
    struct upload_state *st = p;

    if (!st)
        return;
    art_upload_free(st->u);
    app_err_release(&st->err);
    free(st);
}

/* curl and browsers label raw bodies with form types; those say nothing. */
static const char *
upload_media_type(struct srv_req *r)
{
    const char *ct = srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

    if (!ct || !*ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 ||
        strncasecmp(ct, "multipart/form-data", 19) == 0)
        return NULL;
    return ct;
}

static struct upload_state *
upload_start(struct srv_req *r)
{
    const char *hex = NULL, *cl = srv_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t size = ART_SIZE_UNKNOWN;
    struct upload_state *st = r->state;

    if (st)
        return st;
    st = xcalloc(1, sizeof(*st));
    r->state = st;
    r->state_free = upload_state_free;
    if (strcmp(r->route->method, "PUT") == 0) {
        hex = r->params[0];
        if (check_hex(r, hex) < 0)
            goto fail;
    }
    if (cl && *cl && strspn(cl, "0123456789") == strlen(cl) && strlen(cl) < 20)
        size = strtoull(cl, NULL, 10);
    st->u = art_upload_new(r->srv->store, hex, size, srv_query(r, "file_name"),
                           upload_media_type(r), &r->err);
    if (!st->u)
        goto fail;
    return st;
fail:
    st->failed = 1;
    st->err = r->err;
    memset(&r->err, 0, sizeof(r->err));
    return st;
}

static int
upload_chunk(struct srv_req *r, const char *data, size_t n)
{
    struct upload_state *st = upload_start(r);

    if (st->failed)
        return 0; /* drain; upload_done reports */
    if (art_upload_write(st->u, data, n, &st->err) < 0) {
        st->failed = 1;
        art_upload_free(st->u); /* drop the temp file now */
        st->u = NULL;
    }
    return 0;
}

static int
upload_done(struct srv_req *r)
{
    struct upload_state *st = upload_start(r); /* an empty body never called upload */
    struct art_row row;
    struct db *c;
    cJSON *out;
    char *loc;
    int created = 0;

    if (st->failed) {
        app_err_release(&r->err);
        r->err = st->err;
        memset(&st->err, 0, sizeof(st->err));
        return -1;
    }
    if (!(c = need_cat(r)))
        return -1;
    if (art_upload_commit(st->u, c, &row, &created, &r->err) < 0)
        return -1;
    out = art_row_json(&row, 0);
    loc = xasprintf("/v1/artifacts/sha256/%s", row.sha256);
    srv_reply_json(r, created ? 201 : 200, out);
    srv_add_header(r, MHD_HTTP_HEADER_LOCATION, loc);
    free(loc);
    art_row_release(&row);
    return 0;
}

/* --- downloads ---------------------------------------------------------------- */

/* The stored row of hex, or -1 with 400/404 in r->err. */
static int
load_stored(struct srv_req *r, const char *hex, struct art_row *row)
{
    struct db *c;

    if (check_hex(r, hex) < 0 || !(c = need_cat(r)))
        return -1;
    if (artdb_get(c, hex, row, &r->err) < 0)
        return -1;
    if (!row->stored) {
        if (row->file_name)
            app_fail(&r->err, APP_ENOTFOUND,
                     "artifact sha256:%s (%s) is known but not stored yet; upload its bytes "
                     "with PUT /v1/artifacts/sha256/%s",
                     hex, row->file_name, hex);
        else
            app_fail(&r->err, APP_ENOTFOUND,
                     "artifact sha256:%s is known but not stored yet; upload its bytes "
                     "with PUT /v1/artifacts/sha256/%s",
                     hex, hex);
        art_row_release(row);
        return -1;
    }
    return 0;
}

/* "sha-256=:<base64>:" from a hex digest; "" when hex is not one. */
static void
digest_header(const char *hex, char out[DIGEST_HDR_MAX])
{
    uint8_t d[APP_SHA256_LEN];
    char b[sodium_base64_ENCODED_LEN(APP_SHA256_LEN, sodium_base64_VARIANT_ORIGINAL)];

    out[0] = '\0';
    if (!hex || hex_decode(hex, d, sizeof(d)) < 0)
        return;
    sodium_bin2base64(b, sizeof(b), d, sizeof(d), sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, DIGEST_HDR_MAX, "sha-256=:%s:", b);
}

static void
common_headers(struct srv_req *r, const struct art_row *row, int zstd)
{
    char etag[ETAG_MAX];

    snprintf(etag, sizeof(etag), "\"%s%s\"", row->sha256, zstd ? "+zstd" : "");
    srv_add_header(r, MHD_HTTP_HEADER_ETAG, etag);
    srv_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, CACHE_IMMUTABLE);
    srv_add_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    srv_add_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    srv_add_header(r, "X-Content-Type-Options", "nosniff");
}

struct dl {
    const struct art_store *store;
    char hex[APP_SHA256_HEX];
    uint64_t start; /* first identity byte */
    uint64_t len;   /* bytes to send */
    struct art_reader *rd;
};

static ssize_t
dl_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct dl *d = cls;
    struct app_err err = {0};
    ssize_t n;

    if (pos >= d->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (!d->rd) {
        d->rd = art_reader_open(d->store, d->hex, d->start + pos, &err);
        if (!d->rd)
            goto fail;
    }
    if (max > d->len - pos)
        max = (size_t)(d->len - pos);
    n = art_reader_read(d->rd, buf, max, &err);
    /* The last bytes go out only once the rest of the stream checks out (content
     * checksums are at frame ends): a damaged artifact gives a cut response, never
     * a complete one of wrong bytes. */
    if (n > 0 && pos + (uint64_t)n == d->len && art_reader_verify_rest(d->rd, &err) < 0)
        goto corrupt;
    if (n > 0)
        return n;
    if (n == 0)
        app_fail(&err, APP_EINTERNAL, "artifact %s ends early", d->hex);
    else if (strstr(err.msg, "corrupt"))
        goto corrupt;
fail:
    app_log(APP_LOG_ERROR, "download: %s", err.msg);
    return MHD_CONTENT_READER_END_WITH_ERROR;
corrupt:
    /* Abort, log, and mark it for fsck (almanacd fsck re-verifies and clears). */
    art_store_mark_suspect(d->store, d->hex);
    app_log(APP_LOG_ERROR, "download aborted: %s; marked for 'almanacd fsck'", err.msg);
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
dl_free(void *cls)
{
    struct dl *d = cls;

    art_reader_free(d->rd);
    free(d);
}

static int
reply_zstd(struct srv_req *r, const struct art_row *row)
{
    struct MHD_Response *resp;
    char digest[DIGEST_HDR_MAX];
    uint64_t stored_size;
    int fd;

    if (art_store_open_stored(r->srv->store, row->sha256, &fd, &stored_size, &r->err) < 0)
        return -1;
    resp = MHD_create_response_from_fd64(stored_size, fd);
    if (!resp) {
        close(fd);
        return app_fail(&r->err, APP_EINTERNAL, "cannot create response");
    }
    srv_reply_response(r, 200, resp);
    srv_set_resp_len(r, stored_size);
    common_headers(r, row, 1);
    srv_add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, row->media_type);
    srv_add_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "zstd");
    digest_header(row->stored_sha256, digest);
    if (digest[0]) {
        srv_add_header(r, "Repr-Digest", digest);
        srv_add_header(r, "Content-Digest", digest);
    }
    return 0;
}

static int
reply_identity(struct srv_req *r, const struct art_row *row)
{
    const char *range = srv_header(r, MHD_HTTP_HEADER_RANGE);
    const char *if_range = srv_header(r, MHD_HTTP_HEADER_IF_RANGE);
    uint64_t size = (uint64_t)row->size, start = 0, len = size;
    struct MHD_Response *resp;
    char digest[DIGEST_HDR_MAX], cr[96];
    unsigned status = 200;
    struct dl *d;

    if (range && if_range) {
        char etag[ETAG_MAX];

        /* If-Range: the range only for our identity tag, else the whole body. */
        snprintf(etag, sizeof(etag), "\"%s\"", row->sha256);
        if (strcmp(if_range, etag) != 0)
            range = NULL;
    }
    if (range) {
        int pr = srv_parse_range(range, size, &start, &len);

        if (pr < 0) {
            snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
            app_fail(&r->err, APP_ERANGE, "range '%.60s' is outside the %llu bytes", range,
                     (unsigned long long)size);
            srv_reply_problem(r, &r->err);
            srv_add_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
            return 0;
        }
        if (pr > 0)
            status = 206;
        else
            start = 0, len = size;
    }
    resp = NULL;
    if (r->srv->idcache && !r->is_head) {
        /* A decompressed copy on disk: sent with sendfile, like any static file. */
        struct app_err e = {0};
        int fd = -1;

        if (art_idcache_get(r->srv->idcache, r->srv->store, row->sha256, size, &fd, &e) > 0) {
            resp = MHD_create_response_from_fd_at_offset64(len, fd, start);
            if (!resp)
                close(fd);
        } else if (e.code != APP_OK) {
            app_log(APP_LOG_ERROR, "identity cache: %s", e.msg);
        }
        app_err_release(&e);
    }
    if (!resp) {
        d = xcalloc(1, sizeof(*d));
        d->store = r->srv->store;
        memcpy(d->hex, row->sha256, APP_SHA256_HEX);
        d->start = start;
        d->len = len;
        resp = MHD_create_response_from_callback(len, DL_BLOCK, dl_read, d, dl_free);
        if (!resp) {
            dl_free(d);
            return app_fail(&r->err, APP_EINTERNAL, "cannot create response");
        }
    }
    srv_reply_response(r, status, resp);
    srv_set_resp_len(r, len);
    common_headers(r, row, 0);
    srv_add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, row->media_type);
    digest_header(row->sha256, digest);
    srv_add_header(r, "Repr-Digest", digest);
    if (status == 206) {
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)(start + len - 1), (unsigned long long)size);
        srv_add_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    } else {
        srv_add_header(r, "Content-Digest", digest);
    }
    return 0;
}

static int
h_get(struct srv_req *r)
{
    const char *inm = srv_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    struct art_row row;
    int zstd, ret;

    if (load_stored(r, r->params[0], &row) < 0)
        return -1;
    /* A Range always selects the identity form: ranges count identity bytes. */
    zstd = srv_accepts_zstd(srv_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING)) &&
           !srv_header(r, MHD_HTTP_HEADER_RANGE);
    if (inm && srv_none_match(inm, row.sha256)) {
        srv_reply_empty(r, 304);
        common_headers(r, &row, zstd);
        art_row_release(&row);
        return 0;
    }
    ret = zstd ? reply_zstd(r, &row) : reply_identity(r, &row);
    art_row_release(&row);
    return ret;
}

static int
h_meta(struct srv_req *r)
{
    struct art_row row;
    struct db *c;

    if (check_hex(r, r->params[0]) < 0 || !(c = need_cat(r)))
        return -1;
    if (artdb_get(c, r->params[0], &row, &r->err) < 0)
        return -1;
    srv_reply_json(r, 200, art_row_json(&row, 1));
    art_row_release(&row);
    return 0;
}

static int
h_signature(struct srv_req *r)
{
    struct art_row row;
    char *text = NULL;
    int ret = -1;

    if (load_stored(r, r->params[0], &row) < 0)
        return -1;
    if (!row.blake2b[0]) {
        /* Stored by an older path without facts: compute them once. */
        struct art_info info;
        struct db *c = need_cat(r);

        if (!c || art_store_verify(r->srv->store, row.sha256, &info, &r->err) < 0 ||
            artdb_record(c, &info, NULL, NULL, NULL, NULL, &r->err) < 0)
            goto out;
        memcpy(row.blake2b, info.blake2b, sizeof(row.blake2b));
    }
    if (art_sign_artifact(r->srv->keys, row.sha256, (uint64_t)row.size, row.blake2b, &text,
                          &r->err) < 0)
        goto out;
    srv_reply_bytes(r, 200, "text/plain; charset=utf-8", text, strlen(text));
    srv_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, CACHE_SIGNATURE);
    ret = 0;
out:
    art_row_release(&row);
    return ret;
}

static int
h_keys(struct srv_req *r)
{
    cJSON *arr = art_keys_list(r->srv->keys, &r->err), *o;

    if (!arr)
        return -1;
    o = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(o, "keys", arr);
    srv_reply_json(r, 200, o);
    return 0;
}

/* The pattern matcher sees "{id}.pub" as one segment: split it here. */
static int
h_key_file(struct srv_req *r)
{
    const char *file = r->params[0];
    size_t n = strlen(file);
    char id[ART_KEY_ID_LEN];
    char *text = NULL;

    /* <id>.pub: the id's hex digits (ART_KEY_ID_LEN less its NUL) and the suffix. */
    if (n != ART_KEY_ID_LEN - 1 + 4 || strcmp(file + ART_KEY_ID_LEN - 1, ".pub") != 0)
        return app_fail(&r->err, APP_ENOTFOUND, "no key file '%.60s' (want <id>.pub)", file);
    memcpy(id, file, ART_KEY_ID_LEN - 1);
    id[ART_KEY_ID_LEN - 1] = '\0';
    if (art_keys_pubkey(r->srv->keys, id, &text, &r->err) < 0)
        return -1;
    srv_reply_bytes(r, 200, "text/plain; charset=utf-8", text, strlen(text));
    return 0;
}

const struct srv_route srv_artifacts_routes[] = {
    {"POST", "/v1/artifacts", SRV_PUBLISH | SRV_STREAM, upload_done, upload_chunk},
    {"PUT", "/v1/artifacts/sha256/{hex}", SRV_PUBLISH | SRV_STREAM, upload_done, upload_chunk},
    {"GET", "/v1/artifacts/sha256/{hex}", 0, h_get, NULL},
    /* The same bytes under their file name, for clients such as Pyodide that read the
     * package type from the URL's extension (the pyodide-lock.json export uses it). */
    {"GET", "/v1/artifacts/sha256/{hex}/file/{name}", 0, h_get, NULL},
    {"GET", "/v1/artifacts/sha256/{hex}/meta", 0, h_meta, NULL},
    {"GET", "/v1/artifacts/sha256/{hex}/signature", 0, h_signature, NULL},
    {"GET", "/v1/keys", 0, h_keys, NULL},
    {"GET", "/v1/keys/{file}", 0, h_key_file, NULL},
};
const size_t srv_artifacts_n_routes =
    sizeof(srv_artifacts_routes) / sizeof(srv_artifacts_routes[0]);
