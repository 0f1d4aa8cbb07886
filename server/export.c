/* server/export.c: write a static mirror tree (see export.h). */
#include "server/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "app/date.h"
#include "app/fs.h"
#include "app/json.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "artifacts/keys.h"
#include "artifacts/store.h"
#include "catalog/snapissue.h"
#include "catalog/snapload.h"
#include "db/db.h"

#define EXPORT_CHUNK (256 * 1024)

struct exporter {
    const char *out;
    struct db *c;
    struct art_store *store;
    struct art_keys *keys;    /* signs (export-static), or NULL: */
    srv_export_sig_fn sig_fn; /* the signatures come from elsewhere (a mirror's) */
    void *sig_ctx;
    char **hexes;
    size_t n, cap;
};

/* A temp file next to path, for write-then-rename. */
static int
tmp_open(const char *path, char **tmp, struct app_err *err)
{
    int fd;

    *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    fd = open(*tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        app_fail(err, APP_EINTERNAL, "cannot create '%s': %s", *tmp, strerror(errno));
    return fd;
}

static int
write_all(int fd, const char *p, size_t n, const char *what, struct app_err *err)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", what, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Close, fsync and rename tmp to path; unlinks tmp on failure. */
static int
tmp_commit(int fd, char *tmp, const char *path, struct app_err *err)
{
    int ret = 0;

    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        ret = app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ret;
}

static int
put_file(const char *path, const char *data, size_t len, struct app_err *err)
{
    char *tmp = NULL;
    int fd = tmp_open(path, &tmp, err);

    if (fd < 0 || write_all(fd, data, len, path, err) < 0) {
        if (fd >= 0)
            close(fd), unlink(tmp);
        free(tmp);
        return -1;
    }
    return tmp_commit(fd, tmp, path, err);
}

static int
collect(void *ctx, const char *hex)
{
    struct exporter *x = ctx;

    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->hexes = xrealloc(x->hexes, x->cap * sizeof(*x->hexes));
    }
    x->hexes[x->n++] = xstrdup(hex);
    return 0;
}

/* A source of bytes for write_from: up to n into buf; 0 at the end, -1 with err. */
typedef ssize_t (*export_read_fn)(void *src, char *buf, size_t n, struct app_err *err);

/* path, written through a temp file and renamed, from whatever read gives. */
static int
write_from(export_read_fn read_fn, void *src, const char *path, struct app_err *err)
{
    char *tmp = NULL, *buf = xmalloc(EXPORT_CHUNK);
    int fd = tmp_open(path, &tmp, err), ret = -1;
    ssize_t r;

    if (fd < 0)
        goto out;
    while ((r = read_fn(src, buf, EXPORT_CHUNK, err)) > 0)
        if (write_all(fd, buf, (size_t)r, path, err) < 0)
            goto out;
    if (r < 0)
        goto out;
    ret = tmp_commit(fd, tmp, path, err);
    fd = -1;
    tmp = NULL;
out:
    if (fd >= 0)
        close(fd), unlink(tmp);
    free(tmp);
    free(buf);
    return ret;
}

struct stored_src {
    int fd;
    const char *hex;
};

static ssize_t
read_stored(void *src, char *buf, size_t n, struct app_err *err)
{
    struct stored_src *s = src;
    ssize_t r;

    while ((r = read(s->fd, buf, n)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        app_fail(err, APP_EINTERNAL, "cannot read artifact %s: %s", s->hex, strerror(errno));
    return r;
}

static ssize_t
read_identity(void *src, char *buf, size_t n, struct app_err *err)
{
    return art_reader_read(src, buf, n, err);
}

/* <hex>.zst: the stored frame as it is. */
static int
export_zst(struct exporter *x, const char *hex, const char *path, struct app_err *err)
{
    struct stored_src src = {-1, hex};
    uint64_t size;
    int ret;

    if (art_store_open_stored(x->store, hex, &src.fd, &size, err) < 0)
        return -1;
    ret = write_from(read_stored, &src, path, err);
    close(src.fd);
    return ret;
}

/* <hex>: the identity bytes, decompressed and checked by the store's reader. */
static int
export_identity(struct exporter *x, const char *hex, const char *path, struct app_err *err)
{
    struct art_reader *rd = art_reader_open(x->store, hex, 0, err);
    int ret;

    if (!rd)
        return -1;
    ret = write_from(read_identity, rd, path, err);
    art_reader_free(rd);
    return ret;
}

static int
export_artifact(struct exporter *x, const char *hex, struct app_err *err)
{
    struct art_row row;
    char *base = xasprintf("%s/artifacts/sha256/%s", x->out, hex);
    char *zst = xasprintf("%s.zst", base), *sigp = xasprintf("%s.minisig", base), *sig = NULL;
    int ret = -1;

    memset(&row, 0, sizeof(row));
    if (artdb_get(x->c, hex, &row, err) < 0)
        goto out;
    if (!x->keys) {
        /* A mirror's tree: the upstream's signature, fetched and verified already. */
        if (x->sig_fn(x->sig_ctx, hex, &sig, err) < 0)
            goto out;
    } else if (!row.blake2b[0]) {
        struct art_info info;

        if (art_store_verify(x->store, hex, &info, err) < 0)
            goto out;
        memcpy(row.blake2b, info.blake2b, sizeof(row.blake2b));
    }
    /* Content-addressed: a file already there under its digest is that content. */
    if ((access(zst, F_OK) != 0 && export_zst(x, hex, zst, err) < 0) ||
        (access(base, F_OK) != 0 && export_identity(x, hex, base, err) < 0))
        goto out;
    if ((x->keys &&
         art_sign_artifact(x->keys, hex, (uint64_t)row.size, row.blake2b, &sig, err) < 0) ||
        put_file(sigp, sig, strlen(sig), err) < 0)
        goto out;
    ret = 0;
out:
    art_row_release(&row);
    free(base);
    free(zst);
    free(sigp);
    free(sig);
    return ret;
}

static int
export_keys(struct exporter *x, struct app_err *err)
{
    cJSON *list = art_keys_list(x->keys, err), *doc, *k;
    char *text = NULL;
    int ret = -1;

    if (!list)
        return -1;
    cJSON_ArrayForEach (k, list) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(k, "id");
        const cJSON *pub = cJSON_GetObjectItemCaseSensitive(k, "public_key");
        char *p;
        int rc;

        if (!cJSON_IsString(id) || !cJSON_IsString(pub))
            continue;
        p = xasprintf("%s/keys/%s.pub", x->out, id->valuestring);
        rc = put_file(p, pub->valuestring, strlen(pub->valuestring), err);
        free(p);
        if (rc < 0) {
            cJSON_Delete(list);
            return -1;
        }
    }
    {
        cJSON *rot = art_keys_rotations(x->keys, err), *rd;
        char *rt, *rp;
        int rc;

        if (!rot) {
            cJSON_Delete(list);
            return -1;
        }
        rd = xjson(cJSON_CreateObject());
        cJSON_AddItemToObject(rd, "rotations", rot);
        rt = json_canonical(rd, NULL);
        rp = xasprintf("%s/keys/rotations.json", x->out);
        rc = put_file(rp, rt, strlen(rt), err);
        free(rp);
        free(rt);
        cJSON_Delete(rd);
        if (rc < 0) {
            cJSON_Delete(list);
            return -1;
        }
    }
    doc = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(doc, "keys", list);
    text = json_canonical(doc, NULL);
    {
        char *p = xasprintf("%s/keys.json", x->out);

        ret = put_file(p, text, strlen(text), err);
        free(p);
    }
    free(text);
    cJSON_Delete(doc);
    return ret;
}

static int
sign_cb(void *ctx, const char *bytes, size_t len, long long version, long long expires, char **sig,
        char key_id[ART_KEY_ID_LEN], struct app_err *err)
{
    return art_sign_snapshot(ctx, bytes, len, version, expires, sig, key_id, err);
}

/* The document, its zstd form and signature, then the marker: a web server serving
 * the tree meanwhile never serves a snapshot naming an artifact not there yet. */
static int
write_snapshot(const char *out, const struct srv_export_doc *doc, struct app_err *err)
{
    char ia[APP_TIME_LEN], ex[APP_TIME_LEN];
    char *p = NULL, *z = NULL, *marker = NULL;
    size_t zb, zl;
    cJSON *m = NULL;
    int ret = -1;

    zb = ZSTD_compressBound(doc->len);
    z = xmalloc(zb);
    zl = ZSTD_compress(z, zb, doc->bytes, doc->len, 19);
    if (ZSTD_isError(zl)) {
        app_fail(err, APP_EINTERNAL, "cannot compress the snapshot: %s", ZSTD_getErrorName(zl));
        goto out;
    }
    p = xasprintf("%s/catalog/snapshot.json", out);
    if (put_file(p, doc->bytes, doc->len, err) < 0)
        goto out;
    free(p);
    p = xasprintf("%s/catalog/snapshot.json.zst", out);
    if (put_file(p, z, zl, err) < 0)
        goto out;
    free(p);
    p = xasprintf("%s/catalog/snapshot.json.minisig", out);
    if (put_file(p, doc->signature, strlen(doc->signature), err) < 0)
        goto out;
    date_time_rfc3339(doc->meta->issued_at, ia);
    date_time_rfc3339(doc->meta->expires, ex);
    m = xjson(cJSON_CreateObject());
    xjson(cJSON_AddNumberToObject(m, "almanac_mirror", 1));
    xjson(cJSON_AddStringToObject(m, "snapshot", "catalog/snapshot.json"));
    xjson(cJSON_AddNumberToObject(m, "version", (double)doc->meta->version));
    xjson(cJSON_AddStringToObject(m, "digest", doc->digest));
    xjson(cJSON_AddStringToObject(m, "issued_at", ia));
    xjson(cJSON_AddStringToObject(m, "expires", ex));
    xjson(cJSON_AddStringToObject(m, "keys", "keys.json"));
    xjson(cJSON_AddStringToObject(m, "artifacts", "artifacts/sha256/"));
    marker = json_canonical(m, NULL);
    free(p);
    p = xasprintf("%s/almanac-mirror.json", out);
    if (put_file(p, marker, strlen(marker), err) < 0)
        goto out;
    ret = 0;
out:
    cJSON_Delete(m);
    free(marker);
    free(p);
    free(z);
    return ret;
}

static int
export_snapshot(struct exporter *x, long long ttl, struct app_err *err)
{
    struct snap *s = NULL;
    struct cat_snapshot doc = {0};
    struct srv_export_doc d;
    char key_id[ART_KEY_ID_LEN];
    long long version = 0;
    int ret = -1;

    s = snap_load_versioned(x->c, &version, err);
    if (!s || art_keys_current(x->keys, key_id, err) < 0 ||
        cat_snapshot_current(x->c, s, version, (long long)time(NULL), ttl, key_id, sign_cb, x->keys,
                             &doc, err) < 0)
        goto out;
    d = (struct srv_export_doc){.bytes = doc.bytes,
                                .len = doc.len,
                                .signature = doc.signature,
                                .meta = &doc.meta,
                                .digest = doc.digest};
    ret = write_snapshot(x->out, &d, err);
out:
    cat_snapshot_release(&doc);
    if (s)
        snap_free(s);
    return ret;
}

/* keys.json, keys/<ID>.pub and keys/rotations.json from the documents a mirror
 * holds (its upstream's, as they came). */
static int
write_keys_from(const char *out, const struct srv_export_doc *doc, struct app_err *err)
{
    cJSON *kd = cJSON_Parse(doc->keys_json), *k;
    char *p;
    int ret = -1;

    if (!kd) {
        app_fail(err, APP_EINTERNAL, "the upstream's keys are not JSON");
        goto out;
    }
    cJSON_ArrayForEach (k, cJSON_GetObjectItemCaseSensitive(kd, "keys")) {
        const char *id = json_str_item(k, "id"), *pub = json_str_item(k, "public_key");
        int rc;

        if (!id || !pub || !art_key_id_valid(id))
            continue;
        p = xasprintf("%s/keys/%s.pub", out, id);
        rc = put_file(p, pub, strlen(pub), err);
        free(p);
        if (rc < 0)
            goto out;
    }
    p = xasprintf("%s/keys/rotations.json", out);
    ret = put_file(p, doc->rotations_json, strlen(doc->rotations_json), err);
    free(p);
    if (ret < 0)
        goto out;
    p = xasprintf("%s/keys.json", out);
    ret = put_file(p, doc->keys_json, strlen(doc->keys_json), err);
    free(p);
out:
    cJSON_Delete(kd);
    return ret;
}

static int
make_dirs(const char *out, struct app_err *err)
{
    static const char *const sub[] = {"artifacts/sha256", "catalog", "keys"};

    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        char *dir = xasprintf("%s/%s", out, sub[i]);
        int rc = fs_mkdir_p(dir);

        if (rc < 0)
            app_fail(err, APP_EINTERNAL, "cannot create '%s': %s", dir, strerror(errno));
        free(dir);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int
srv_export_from(struct db *c, struct art_store *store, const char *out, const char *const *hexes,
                size_t n, srv_export_sig_fn sig, void *ctx, const struct srv_export_doc *doc,
                struct app_err *err)
{
    struct exporter x = {0};

    x.out = out;
    x.c = c;
    x.store = store;
    x.sig_fn = sig;
    x.sig_ctx = ctx;
    if (make_dirs(out, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (export_artifact(&x, hexes[i], err) < 0)
            return -1;
    if (write_keys_from(out, doc, err) < 0)
        return -1;
    return write_snapshot(out, doc, err);
}

int
srv_export_static(const char *data_dir, const char *out, long long ttl, size_t *n_artifacts,
                  struct app_err *err)
{
    struct exporter x = {0};
    int ret = -1;

    x.out = out;
    x.c = db_open(data_dir, err);
    if (!x.c)
        goto out;
    x.store = art_store_open(data_dir, 0, err);
    x.keys = x.store ? art_keys_open(data_dir, err) : NULL;
    if (!x.keys)
        goto out;
    if (make_dirs(out, err) < 0)
        goto out;
    if (artdb_each_stored(x.c, collect, &x, err) < 0)
        goto out;
    for (size_t i = 0; i < x.n; i++)
        if (export_artifact(&x, x.hexes[i], err) < 0)
            goto out;
    if (export_keys(&x, err) < 0 || export_snapshot(&x, ttl, err) < 0)
        goto out;
    if (n_artifacts)
        *n_artifacts = x.n;
    ret = 0;
out:
    for (size_t i = 0; i < x.n; i++)
        free(x.hexes[i]);
    free(x.hexes);
    art_keys_free(x.keys);
    art_store_free(x.store);
    db_close(x.c);
    return ret;
}
