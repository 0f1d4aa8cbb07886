/* server/follow.c: follow an upstream almanacd (see follow.h). */
#include "server/follow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/stat.h>

#include <curl/curl.h>
#include <sodium.h>
#include <zstd.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/fs.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/log.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "artifacts/rotchain.h"
#include "artifacts/store.h"
#include "db/db.h"
#include "server/api.h"

#define FOLLOW_CONNECT_TIMEOUT_MS 5000L
/* Small documents (signatures, keys, events) must arrive within this... */
#define FOLLOW_DOC_TIMEOUT_MS 30000L
/* ...artifacts may take long, but not stall: abort below 1 KiB/s for 30 s. */
#define FOLLOW_LOW_SPEED_BYTES 1024L
#define FOLLOW_LOW_SPEED_S 30L
#define FOLLOW_SMALL_MAX (1024 * 1024)
#define FOLLOW_EVENTS_PAGE 1000
#define FOLLOW_SNAPSHOT_ZSTD_LEVEL 9
/* Snapshot and signature are read separately: an upstream that re-issues between
 * the two is read again this many times. */
#define FOLLOW_SNAPSHOT_TRIES 3

struct follower {
    struct follow_cfg cfg;
    char *upstream;
    struct db *c;
    struct art_store *store;
    struct art_ring ring;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct follow_doc *served;
    long long seen_version, seen_issued_at; /* highest verified (rollback) */
    long long synced_at;                    /* last full read of the upstream, 0: never */
    long long pending;
    long long event_seq;
    int events_off; /* the upstream's events need a token: poll the snapshot */
    char last_error[APP_ERR_MSG_MAX];
    follow_advance_fn on_advance;
    void *advance_ctx;
    pthread_t thread;
    int running, stop, wake;
};

/* ---- documents */

void
follow_doc_put(struct follow_doc *d)
{
    if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    free(d->bytes);
    free(d->zst);
    free(d->signature);
    free(d->keys);
    free(d->rotations);
    if (d->snap)
        snap_free(d->snap);
    free(d);
}

struct follow_doc *
follow_doc_get(struct follower *f)
{
    struct follow_doc *d;

    pthread_mutex_lock(&f->mu);
    d = f->served;
    if (d)
        __atomic_add_fetch(&d->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&f->mu);
    return d;
}

/* A document from its parts (taken over); parses bytes. NULL with err. */
static struct follow_doc *
doc_new(char *bytes, size_t len, char *sig, char *keys, char *rotations, struct app_err *err)
{
    struct follow_doc *d = xcalloc(1, sizeof(*d));
    char hex[APP_SHA256_HEX];
    size_t bound;

    d->refs = 1;
    d->bytes = bytes;
    d->len = len;
    d->signature = sig;
    d->keys = keys;
    d->rotations = rotations;
    d->snap = snap_parse(bytes, len, &d->meta, err);
    if (!d->snap) {
        follow_doc_put(d);
        return NULL;
    }
    sha256_hex(bytes, len, hex);
    snprintf(d->digest, sizeof(d->digest), "sha256:%s", hex);
    bound = ZSTD_compressBound(len);
    d->zst = xmalloc(bound);
    d->zlen = ZSTD_compress(d->zst, bound, bytes, len, FOLLOW_SNAPSHOT_ZSTD_LEVEL);
    if (ZSTD_isError(d->zlen)) {
        free(d->zst);
        d->zst = NULL;
        d->zlen = 0;
    }
    return d;
}

/* ---- HTTP */

struct sink {
    struct buf *body;      /* small documents */
    struct art_upload *up; /* artifacts */
    crypto_generichash_blake2b_state *b2;
    int zstd; /* the artifact came as its zstd file: stored as it is */
    struct app_err err;
    int failed;
};

/* Note a zstd body: the upstream sends its stored file as it is, which the store
 * keeps without compressing it again (level 19 costs seconds per large module). */
static size_t
on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * n;
    static const char name[] = "content-encoding:";

    if (len > sizeof(name) - 1 && !strncasecmp(p, name, sizeof(name) - 1)) {
        const char *v = p + sizeof(name) - 1;
        size_t k = len - (sizeof(name) - 1);

        while (k && (*v == ' ' || *v == '\t'))
            v++, k--;
        while (k && (v[k - 1] == '\r' || v[k - 1] == '\n' || v[k - 1] == ' '))
            k--;
        s->zstd = k == 4 && !strncasecmp(v, "zstd", 4);
    }
    return len;
}

static size_t
on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * n;

    if (s->body) {
        if (buf_append(s->body, p, len) < 0) {
            app_fail(&s->err, APP_ETOOLARGE, "answer is larger than %zu bytes", s->body->limit);
            s->failed = 1;
            return 0;
        }
        return len;
    }
    if (s->zstd) {
        if (art_upload_write_zstd(s->up, p, len, &s->err) < 0) {
            s->failed = 1;
            return 0;
        }
        return len;
    }
    crypto_generichash_blake2b_update(s->b2, (const unsigned char *)p, len);
    if (art_upload_write(s->up, p, len, &s->err) < 0) {
        s->failed = 1;
        return 0;
    }
    return len;
}

/* Abort a transfer under way when the follower is asked to stop (SIGTERM must not
 * wait for a large artifact). */
static int
on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct follower *f = ctx;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return __atomic_load_n(&f->stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/* GET upstream + path into sink; *status the HTTP status. -1 with APP_EUNAVAILABLE
 * when the upstream cannot be reached, or the sink's error. */
static int
http_get(struct follower *f, const char *path, struct sink *s, long *status, int big,
         struct app_err *err)
{
    CURL *h = curl_easy_init();
    char *url = xasprintf("%s%s", f->upstream, path);
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    CURLcode rc;
    int ret = -1;

    if (!h) {
        free(url);
        return app_fail(err, APP_EINTERNAL, "cannot start an HTTP client");
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, FOLLOW_CONNECT_TIMEOUT_MS);
    if (big) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, FOLLOW_LOW_SPEED_BYTES);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, FOLLOW_LOW_SPEED_S);
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, FOLLOW_DOC_TIMEOUT_MS);
    }
    curl_easy_setopt(h, CURLOPT_USERAGENT, "almanacd-mirror/" ALMANAC_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (s->up) {
        /* Ask for the stored form; whatever comes (identity included) is checked. */
        hdrs = curl_slist_append(NULL, "Accept-Encoding: zstd");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    }
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (s->failed) {
        app_fail(err, s->err.code, "%s: %s", url, s->err.msg);
    } else if (rc != CURLE_OK) {
        app_fail(err, APP_EUNAVAILABLE, "upstream %s: %s", url,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        ret = 0;
    }
    app_err_release(&s->err);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    free(url);
    return ret;
}

/* A small document: 200 only; 404 is APP_ENOTFOUND, 401/403 APP_EAUTH. */
static int
get_doc(struct follower *f, const char *path, size_t limit, char **out, size_t *len,
        struct app_err *err)
{
    struct buf b;
    struct sink s = {0};
    long status = 0;

    buf_init(&b, limit);
    s.body = &b;
    if (http_get(f, path, &s, &status, 0, err) < 0) {
        buf_release(&b);
        return -1;
    }
    if (status != 200) {
        buf_release(&b);
        return app_fail(err,
                        status == 404                    ? APP_ENOTFOUND
                        : status == 401 || status == 403 ? APP_EAUTH
                                                         : APP_EUNAVAILABLE,
                        "upstream %s%s answered %ld", f->upstream, path, status);
    }
    if (buf_append(&b, "", 1) < 0) {
        buf_release(&b);
        return app_fail(err, APP_ETOOLARGE, "upstream %s%s is too large", f->upstream, path);
    }
    *out = buf_detach(&b, len);
    (*len)--;
    return 0;
}

int
follow_fetch(struct follower *f, const char *path, long *status, char **body, size_t *len,
             struct app_err *err)
{
    struct buf b;
    struct sink s = {0};

    buf_init(&b, 16 * FOLLOW_SMALL_MAX);
    s.body = &b;
    if (http_get(f, path, &s, status, 0, err) < 0) {
        buf_release(&b);
        return -1;
    }
    if (*status != 200 && *status != 404) {
        buf_release(&b);
        return app_fail(err, APP_EUNAVAILABLE, "upstream %s%s answered %ld", f->upstream, path,
                        *status);
    }
    *body = buf_detach(&b, len);
    return 0;
}

/* ---- state */

/* Step a statement that returns no row, and finalize it. */
static int
done(sqlite3_stmt *st, struct app_err *err, const char *what)
{
    int rc = db_step_done(st, err, what);

    sqlite3_finalize(st);
    return rc;
}

static void
set_error(struct follower *f, const char *msg)
{
    pthread_mutex_lock(&f->mu);
    snprintf(f->last_error, sizeof(f->last_error), "%s", msg);
    pthread_mutex_unlock(&f->mu);
}

static int
add_key(struct follower *f, const char *id, const char *b64, const char *source,
        struct app_err *err)
{
    sqlite3_stmt *st;
    char now[APP_TIME_LEN];

    date_now_rfc3339(now);
    if (db_prepare(f->c, &st,
                   "INSERT OR IGNORE INTO mirror_keys(id, public_key, source, added_at)"
                   " VALUES(?1, ?2, ?3, ?4)",
                   err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b64, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    return done(st, err, "record an upstream key");
}

/* The ring is read by request threads (follow_upstream_lock): change it under mu. */
static void
ring_add(struct follower *f, const char *id, const char *b64)
{
    pthread_mutex_lock(&f->mu);
    art_ring_add(&f->ring, id, b64);
    pthread_mutex_unlock(&f->mu);
}

static void
reached_key(void *ctx, const char *old_id, const char *new_id, const char *b64, const char *date)
{
    struct follower *f = ctx;
    struct app_err e = {0};

    if (add_key(f, new_id, b64, "rotation", &e) < 0)
        app_log(APP_LOG_ERROR, "mirror: cannot record key %s: %s", new_id, e.msg);
    else
        app_log(APP_LOG_INFO, "mirror: following the upstream's key rotation %s -> %s (%s)", old_id,
                new_id, date[0] ? date : "undated");
    app_err_release(&e);
}

/* Make key id trusted: first use (nothing trusted yet), or the rotation chain. */
static int
trust_key(struct follower *f, const char *id, struct app_err *err)
{
    char *text = NULL, *b64 = NULL, *path;
    char got[ART_KEY_ID_LEN];
    size_t len;
    cJSON *doc = NULL;
    int ret = -1;

    if (art_ring_find(&f->ring, id))
        return 0;
    if (f->ring.n == 0) {
        path = xasprintf("/v1/keys/%s.pub", id);
        ret = get_doc(f, path, ART_PUBKEY_TEXT_MAX * 4, &text, &len, err);
        free(path);
        if (ret < 0)
            goto out;
        ret = -1;
        if (art_ring_pubkey(text, got, &b64, err) < 0 || strcmp(got, id) != 0) {
            app_fail(err, APP_EVERIFY, "the upstream's key file for %s is not that key", id);
            goto out;
        }
        app_log(APP_LOG_WARN,
                "mirror: trusting the upstream's key %s on first use (pin it with "
                "--upstream-key to be sure)",
                id);
        ret = add_key(f, id, b64, "first-use", err);
        if (ret == 0)
            ring_add(f, id, b64);
        goto out;
    }
    if (get_doc(f, "/v1/key-rotations", FOLLOW_SMALL_MAX, &text, &len, err) < 0)
        goto out;
    doc = cJSON_ParseWithLength(text, len);
    if (!doc) {
        app_fail(err, APP_EVERIFY, "the upstream's key rotations are not JSON");
        goto out;
    }
    pthread_mutex_lock(&f->mu);
    ret = art_ring_follow(&f->ring, cJSON_GetObjectItemCaseSensitive(doc, "rotations"), id,
                          reached_key, f, err);
    pthread_mutex_unlock(&f->mu);
out:
    cJSON_Delete(doc);
    free(text);
    free(b64);
    return ret;
}

/* Verify a signature with the trusted keys, following rotations to its key. */
static int
verify(struct follower *f, const void *content, size_t len, const uint8_t *b2, uint64_t size,
       const char *sig, const char *kind, const char *hex, char key_id[ART_KEY_ID_LEN],
       struct app_err *err)
{
    char id[ART_KEY_ID_LEN];

    if (art_sig_key_id(sig, id, err) < 0)
        return app_fail(err, APP_EVERIFY, "%s %.16s: the upstream's signature is malformed", kind,
                        hex);
    if (trust_key(f, id, err) < 0)
        return -1;
    return art_ring_verify(&f->ring, content, len, b2, size, sig, kind, hex, key_id, err);
}

static int
load_state(struct follower *f, struct app_err *err)
{
    sqlite3_stmt *st;
    char *bytes = NULL, *sig = NULL, *keys = NULL, *rot = NULL;
    size_t len = 0;
    int rc, ret = -1;

    if (db_prepare(f->c, &st, "SELECT id, public_key FROM mirror_keys ORDER BY rowid", err) < 0)
        return -1;
    while ((rc = db_next(st, err)) == 1)
        art_ring_add(&f->ring, db_col_text(st, 0), db_col_text(st, 1));
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    if (db_prepare(f->c, &st,
                   "SELECT upstream, seen_version, seen_issued_at, snapshot, signature, keys,"
                   " rotations, synced_at, event_seq FROM mirror_state WHERE id = 1",
                   err) < 0)
        return -1;
    rc = db_next(st, err);
    if (rc <= 0)
        sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        if (db_prepare(f->c, &st, "INSERT INTO mirror_state(id, upstream) VALUES(1, ?1)", err) < 0)
            return -1;
        sqlite3_bind_text(st, 1, f->upstream, -1, SQLITE_STATIC);
        return done(st, err, "record the upstream");
    }
    if (strcmp(db_col_text(st, 0), f->upstream) != 0) {
        app_fail(err, APP_ECONFLICT,
                 "this data directory mirrors %s, not %s (use another --data directory)",
                 db_col_text(st, 0), f->upstream);
        sqlite3_finalize(st);
        return -1;
    }
    f->seen_version = sqlite3_column_int64(st, 1);
    f->seen_issued_at = sqlite3_column_int64(st, 2);
    f->synced_at = sqlite3_column_int64(st, 7);
    f->event_seq = sqlite3_column_int64(st, 8);
    if (sqlite3_column_type(st, 3) == SQLITE_BLOB) {
        len = (size_t)sqlite3_column_bytes(st, 3);
        bytes = xmalloc(len + 1);
        memcpy(bytes, sqlite3_column_blob(st, 3), len);
        bytes[len] = '\0';
        sig = db_col_dup(st, 4);
        keys = db_col_dup(st, 5);
        rot = db_col_dup(st, 6);
    }
    sqlite3_finalize(st);
    if (bytes) {
        f->served = doc_new(bytes, len, sig, keys, rot, err);
        bytes = sig = keys = rot = NULL;
        if (!f->served)
            goto out;
    }
    ret = 0;
out:
    free(bytes);
    free(sig);
    free(keys);
    free(rot);
    return ret;
}

int
follow_dir_upstream(struct db *c, char **upstream, struct app_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (db_prepare(c, &st, "SELECT upstream FROM mirror_state WHERE id = 1", err) < 0)
        return -1;
    rc = db_next(st, err);
    if (rc == 1)
        *upstream = db_col_dup(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* --upstream-key FILE: trusted from the start, whatever the upstream says. */
static int
pin_key(struct follower *f, const char *path, struct app_err *err)
{
    char *text = NULL, *b64 = NULL;
    char id[ART_KEY_ID_LEN];
    size_t len;
    int ret = -1;

    if (file_read_all(path, &text, &len, ART_PUBKEY_TEXT_MAX * 4, err) < 0 ||
        art_ring_pubkey(text, id, &b64, err) < 0 || add_key(f, id, b64, "pinned", err) < 0)
        goto out;
    ring_add(f, id, b64);
    ret = 0;
out:
    free(text);
    free(b64);
    return ret;
}

struct follower *
follow_open(const struct follow_cfg *cfg, struct app_err *err)
{
    struct follower *f = xcalloc(1, sizeof(*f));
    char *keys = xasprintf("%s/keys", cfg->data_dir);
    struct stat st;
    size_t n;
    int ok = 0;

    f->cfg = *cfg;
    f->upstream = xstrdup(cfg->upstream);
    n = strlen(f->upstream);
    while (n > 0 && f->upstream[n - 1] == '/')
        f->upstream[--n] = '\0';
    f->cfg.upstream = f->upstream;
    if (!f->cfg.poll_s)
        f->cfg.poll_s = FOLLOW_POLL_DEFAULT_S;
    if (!f->cfg.snapshot_poll_s)
        f->cfg.snapshot_poll_s = FOLLOW_SNAPSHOT_POLL_DEFAULT_S;
    f->seen_version = -1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    /* An almanacd's own data (it has signing keys) is never turned into a mirror. */
    if (stat(keys, &st) == 0) {
        app_fail(err, APP_ECONFLICT,
                 "'%s' is an almanacd data directory with signing keys, not a mirror's: give "
                 "the mirror a directory of its own",
                 cfg->data_dir);
        goto out;
    }
    if (fs_mkdir_p(cfg->data_dir) < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create '%s': %s", cfg->data_dir, strerror(errno));
        goto out;
    }
    f->c = db_open(cfg->data_dir, err);
    if (!f->c)
        goto out;
    f->store = art_store_open(cfg->data_dir, cfg->zstd_level, err);
    if (!f->store || load_state(f, err) < 0 ||
        (cfg->upstream_key && pin_key(f, cfg->upstream_key, err) < 0))
        goto out;
    ok = 1;
out:
    free(keys);
    if (!ok) {
        follow_free(f);
        return NULL;
    }
    return f;
}

void
follow_free(struct follower *f)
{
    if (!f)
        return;
    follow_stop(f);
    follow_doc_put(f->served);
    art_ring_release(&f->ring);
    art_store_free(f->store);
    db_close(f->c);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
    free(f->upstream);
    free(f);
}

void
follow_on_advance(struct follower *f, follow_advance_fn fn, void *ctx)
{
    f->on_advance = fn;
    f->advance_ctx = ctx;
}

const char *
follow_upstream(const struct follower *f)
{
    return f->upstream;
}

void
follow_status(struct follower *f, struct follow_status *st)
{
    long long now = (long long)time(NULL);

    pthread_mutex_lock(&f->mu);
    st->version = f->served ? f->served->meta.version : -1;
    st->expires = f->served ? f->served->meta.expires : 0;
    st->lag_s = f->synced_at ? now - f->synced_at : -1;
    if (st->lag_s < 0 && f->synced_at)
        st->lag_s = 0;
    st->pending = f->pending;
    st->upstream = f->seen_version;
    snprintf(st->last_error, sizeof(st->last_error), "%s", f->last_error);
    pthread_mutex_unlock(&f->mu);
}

/* ---- artifacts */

static int
held(struct follower *f, const char *hex, struct app_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (db_prepare(f->c, &st, "SELECT 1 FROM mirror_signatures WHERE sha256 = ?1", err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    rc = db_exists(st, err);
    if (rc <= 0)
        return rc;
    return art_store_has(f->store, hex);
}

int
follow_artifact_signature(struct db *c, const char *hex, char **sig, struct app_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (db_prepare(c, &st, "SELECT signature FROM mirror_signatures WHERE sha256 = ?1", err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    rc = db_next(st, err);
    if (rc == 1)
        *sig = db_col_dup(st, 0);
    sqlite3_finalize(st);
    if (rc == 0)
        return app_fail(err, APP_ENOTFOUND, "artifact %s is not held by this mirror", hex);
    return rc == 1 ? 0 : -1;
}

/* Fetch one artifact: its signature first, then the bytes through the store's
 * writer, verified (size, digest, signature) before they become visible. */
static int
fetch_artifact(struct follower *f, const char *hex, long long size, const char *file_name,
               struct app_err *err)
{
    char *path = NULL, *sig = NULL;
    size_t sl;
    struct sink s = {0};
    crypto_generichash_blake2b_state b2;
    uint8_t b2out[ART_BLAKE2B_LEN];
    char key_id[ART_KEY_ID_LEN];
    long status = 0;
    sqlite3_stmt *st;
    int ret = -1;

    path = xasprintf("/v1/artifacts/sha256/%s/signature", hex);
    if (get_doc(f, path, ART_SIG_TEXT_MAX, &sig, &sl, err) < 0)
        goto out;
    free(path);
    path = xasprintf("/v1/artifacts/sha256/%s", hex);
    s.up = art_upload_new(f->store, hex, size >= 0 ? (uint64_t)size : ART_SIZE_UNKNOWN, file_name,
                          NULL, err);
    if (!s.up)
        goto out;
    crypto_generichash_blake2b_init(&b2, NULL, 0, ART_BLAKE2B_LEN);
    s.b2 = &b2;
    if (http_get(f, path, &s, &status, 1, err) < 0)
        goto out;
    if (status != 200) {
        app_fail(err, APP_EUNAVAILABLE, "upstream %s%s answered %ld", f->upstream, path, status);
        goto out;
    }
    if (s.zstd) {
        /* The store decoded the frame: its BLAKE2b is the identity bytes'. */
        struct art_info info;

        if (art_upload_finish(s.up, &info, err) < 0)
            goto out;
        if (hex_decode(info.blake2b, b2out, sizeof(b2out)) < 0) {
            app_fail(err, APP_EINTERNAL, "artifact %.16s: the store gave no BLAKE2b", hex);
            goto out;
        }
    } else {
        crypto_generichash_blake2b_final(&b2, b2out, sizeof(b2out));
    }
    if (verify(f, NULL, 0, b2out, (uint64_t)size, sig, "artifact", hex, key_id, err) < 0)
        goto out;
    /* The writer checks the size and the digest; nothing is visible before this. */
    if (art_upload_commit(s.up, f->c, NULL, NULL, err) < 0)
        goto out;
    if (db_prepare(f->c, &st,
                   "INSERT OR REPLACE INTO mirror_signatures(sha256, signature, key_id)"
                   " VALUES(?1, ?2, ?3)",
                   err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sig, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, key_id, -1, SQLITE_STATIC);
    ret = done(st, err, "record an artifact signature");
out:
    art_upload_free(s.up);
    free(path);
    free(sig);
    return ret;
}

struct want {
    const char *hex, *file_name;
    long long size;
};

/* Every stored artifact the document names (a digest once). */
static size_t
wanted(const struct snap *s, struct want **out)
{
    size_t n = 0, cap = 0;
    struct want *w = NULL;

    for (size_t i = 0; i < s->n_runtimes + s->n_sets; i++) {
        size_t m = i < s->n_runtimes ? s->runtimes[i].n_arts : s->sets[i - s->n_runtimes].n_pkgs;

        for (size_t j = 0; j < m; j++) {
            struct want x;
            int stored, dup = 0;

            if (i < s->n_runtimes) {
                const struct snap_artifact *a = &s->runtimes[i].arts[j];

                x = (struct want){a->sha256, a->file_name, a->size};
                stored = a->stored;
            } else {
                const struct snap_pkg *p = &s->sets[i - s->n_runtimes].pkgs[j];

                x = (struct want){p->sha256, p->file_name, p->size};
                stored = p->stored;
            }
            if (!stored || !x.hex || !sha256_hex_valid(x.hex))
                continue;
            for (size_t k = 0; k < n && !dup; k++)
                dup = strcmp(w[k].hex, x.hex) == 0;
            if (dup)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                w = xrealloc(w, cap * sizeof(*w));
            }
            w[n++] = x;
        }
    }
    *out = w;
    return n;
}

const char **
follow_doc_hexes(const struct follow_doc *d, size_t *n)
{
    struct want *w = NULL;
    const char **h;

    *n = wanted(d->snap, &w);
    h = xcalloc(*n ? *n : 1, sizeof(*h));
    for (size_t i = 0; i < *n; i++)
        h[i] = w[i].hex;
    free(w);
    return h;
}

/* ---- a round */

static int
record_seen(struct follower *f, const struct snap_meta *m, struct app_err *err)
{
    sqlite3_stmt *st;

    if (db_prepare(f->c, &st,
                   "UPDATE mirror_state SET seen_version = ?1, seen_issued_at = ?2 WHERE id = 1",
                   err) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, m->version);
    sqlite3_bind_int64(st, 2, m->issued_at);
    if (done(st, err, "record the snapshot version") < 0)
        return -1;
    pthread_mutex_lock(&f->mu);
    f->seen_version = m->version;
    f->seen_issued_at = m->issued_at;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

/* Serve d: one transaction, then memory, then the callback. Takes d over. */
static int
advance(struct follower *f, struct follow_doc *d, long long now, struct app_err *err)
{
    sqlite3_stmt *st;
    struct follow_doc *old;

    if (db_prepare(f->c, &st,
                   "UPDATE mirror_state SET version = ?1, digest = ?2, issued_at = ?3,"
                   " expires = ?4, snapshot = ?5, signature = ?6, keys = ?7, rotations = ?8,"
                   " synced_at = ?9 WHERE id = 1",
                   err) < 0) {
        follow_doc_put(d);
        return -1;
    }
    sqlite3_bind_int64(st, 1, d->meta.version);
    sqlite3_bind_text(st, 2, d->digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, d->meta.issued_at);
    sqlite3_bind_int64(st, 4, d->meta.expires);
    sqlite3_bind_blob(st, 5, d->bytes, (int)d->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, d->signature, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, d->keys, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, d->rotations, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, now);
    if (done(st, err, "record the served snapshot") < 0) {
        follow_doc_put(d);
        return -1;
    }
    pthread_mutex_lock(&f->mu);
    old = f->served;
    f->served = d;
    f->synced_at = now;
    f->pending = 0;
    pthread_mutex_unlock(&f->mu);
    follow_doc_put(old);
    app_log(APP_LOG_INFO, "mirror: serving upstream snapshot version %lld (%s)", d->meta.version,
            d->digest);
    if (f->on_advance)
        f->on_advance(f->advance_ctx, d);
    return 0;
}

static int
touch_synced(struct follower *f, long long now, struct app_err *err)
{
    sqlite3_stmt *st;

    if (db_prepare(f->c, &st, "UPDATE mirror_state SET synced_at = ?1 WHERE id = 1", err) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    if (done(st, err, "record the sync time") < 0)
        return -1;
    pthread_mutex_lock(&f->mu);
    f->synced_at = now;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

/* The upstream's newest document and its signature, verified. */
static int
read_snapshot(struct follower *f, char **bytes, size_t *len, char **sig, struct snap_meta *m,
              struct app_err *err)
{
    for (int t = 0; t < FOLLOW_SNAPSHOT_TRIES; t++) {
        char hex[APP_SHA256_HEX];
        size_t sl;
        struct snap *s;

        free(*bytes);
        free(*sig);
        *bytes = *sig = NULL;
        app_err_release(err);
        if (get_doc(f, "/v1/catalog/snapshot", SNAPJSON_MAX, bytes, len, err) < 0 ||
            get_doc(f, "/v1/catalog/snapshot/signature", ART_SIG_TEXT_MAX, sig, &sl, err) < 0)
            return -1;
        sha256_hex(*bytes, *len, hex);
        if (verify(f, *bytes, *len, NULL, *len, *sig, "snapshot", hex, NULL, err) < 0) {
            /* Re-issued between the two reads: read both again. */
            if (err->code == APP_EVERIFY && strstr(err->msg, "another object"))
                continue;
            return -1;
        }
        s = snap_parse(*bytes, *len, m, err);
        if (!s)
            return -1;
        snap_free(s);
        return 0;
    }
    return -1;
}

int
follow_sync(struct follower *f, struct app_err *err)
{
    char *bytes = NULL, *sig = NULL, *keys = NULL, *rot = NULL;
    size_t len = 0, kl, rl, n = 0, missing = 0;
    struct snap_meta m;
    struct follow_doc *d = NULL, *cur;
    struct want *w = NULL;
    long long now;
    int ret = -1, failures = 0;
    char ex[APP_TIME_LEN];

    if (read_snapshot(f, &bytes, &len, &sig, &m, err) < 0)
        goto out;
    now = (long long)time(NULL);
    /* Freeze: the real clock. */
    if (now >= m.expires) {
        date_time_rfc3339(m.expires, ex);
        app_fail(err, APP_EVERIFY,
                 "the upstream's snapshot version %lld expired at %s: refusing a frozen catalog",
                 m.version, ex);
        goto out;
    }
    if (m.version < f->seen_version ||
        (m.version == f->seen_version && m.issued_at < f->seen_issued_at)) {
        app_fail(err, APP_EVERIFY,
                 "the upstream's snapshot is version %lld, older than version %lld already "
                 "verified: refusing a rollback",
                 m.version, f->seen_version);
        goto out;
    }
    if (record_seen(f, &m, err) < 0)
        goto out;
    cur = follow_doc_get(f);
    if (cur && strcmp(cur->signature, sig) == 0 && cur->len == len &&
        memcmp(cur->bytes, bytes, len) == 0) {
        follow_doc_put(cur);
        ret = touch_synced(f, now, err);
        goto out;
    }
    follow_doc_put(cur);
    if (get_doc(f, "/v1/keys", FOLLOW_SMALL_MAX, &keys, &kl, err) < 0 ||
        get_doc(f, "/v1/key-rotations", FOLLOW_SMALL_MAX, &rot, &rl, err) < 0)
        goto out;
    d = doc_new(bytes, len, sig, keys, rot, err);
    bytes = sig = keys = rot = NULL;
    if (!d)
        goto out;
    n = wanted(d->snap, &w);
    for (size_t i = 0; i < n; i++) {
        int h = held(f, w[i].hex, err);

        if (h < 0)
            goto out;
        if (!h)
            missing++;
    }
    pthread_mutex_lock(&f->mu);
    f->pending = (long long)missing;
    pthread_mutex_unlock(&f->mu);
    if (missing)
        app_log(APP_LOG_INFO,
                "mirror: upstream snapshot version %lld names %zu artifact(s) not "
                "held here; fetching",
                m.version, missing);
    for (size_t i = 0; i < n; i++) {
        struct app_err e = {0};
        int h = held(f, w[i].hex, err);

        if (h < 0)
            goto out;
        if (h)
            continue;
        if (fetch_artifact(f, w[i].hex, w[i].size, w[i].file_name, &e) < 0) {
            app_log(APP_LOG_ERROR, "mirror: artifact %s (%s) refused: %s", w[i].hex,
                    w[i].file_name ? w[i].file_name : "?", e.msg);
            if (!failures++)
                app_fail(err, e.code == APP_EUNAVAILABLE ? APP_EUNAVAILABLE : APP_EVERIFY,
                         "artifact %s: %s", w[i].hex, e.msg);
            app_err_release(&e);
            if (err->code == APP_EUNAVAILABLE)
                goto out;
            continue;
        }
        pthread_mutex_lock(&f->mu);
        f->pending--;
        pthread_mutex_unlock(&f->mu);
    }
    if (failures) {
        app_log(APP_LOG_WARN,
                "mirror: version %lld is not served: %d artifact(s) could not be fetched and "
                "verified",
                m.version, failures);
        goto out;
    }
    ret = advance(f, d, now, err);
    d = NULL;
out:
    if (ret < 0)
        set_error(f, err->msg);
    else
        set_error(f, "");
    follow_doc_put(d);
    free(w);
    free(bytes);
    free(sig);
    free(keys);
    free(rot);
    return ret;
}

/* ---- the loop */

/* 1 when the upstream's events moved since the last look (or cannot be read:
 * then the snapshot is polled on its own interval), 0 when not, -1 when the
 * upstream is unreachable. */
static int
events_moved(struct follower *f, struct app_err *err)
{
    char *path, *text = NULL;
    size_t len;
    cJSON *doc, *arr, *last;
    int moved = 0;
    sqlite3_stmt *st;

    if (f->events_off)
        return 0;
    path = xasprintf("/v1/events?after=%lld&limit=%d", f->event_seq, FOLLOW_EVENTS_PAGE);
    if (get_doc(f, path, 16 * FOLLOW_SMALL_MAX, &text, &len, err) < 0) {
        free(path);
        if (err->code == APP_EAUTH || err->code == APP_ENOTFOUND) {
            app_log(APP_LOG_INFO,
                    "mirror: the upstream's events are not public (%s); polling "
                    "the snapshot instead",
                    err->msg);
            f->events_off = 1;
            app_err_release(err);
            return 0;
        }
        return -1;
    }
    free(path);
    doc = cJSON_ParseWithLength(text, len);
    free(text);
    arr = cJSON_GetObjectItemCaseSensitive(doc, "events");
    last = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1) : NULL;
    if (last) {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(last, "seq");

        if (cJSON_IsNumber(seq) && (long long)seq->valuedouble > f->event_seq) {
            f->event_seq = (long long)seq->valuedouble;
            moved = 1;
            if (db_prepare(f->c, &st, "UPDATE mirror_state SET event_seq = ?1 WHERE id = 1", err) ==
                0) {
                sqlite3_bind_int64(st, 1, f->event_seq);
                done(st, err, "record the event cursor");
            }
            app_err_release(err);
        }
    }
    cJSON_Delete(doc);
    return moved;
}

/* Sleep up to s seconds unless stopped or woken; 1 when stopping. */
static int
nap(struct follower *f, unsigned s)
{
    struct timespec until;
    int stop;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s;
    pthread_mutex_lock(&f->mu);
    while (!f->stop && !f->wake && pthread_cond_timedwait(&f->cond, &f->mu, &until) != ETIMEDOUT)
        ;
    f->wake = 0;
    stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    return stop;
}

static void *
loop(void *arg)
{
    struct follower *f = arg;
    unsigned backoff = 0;
    long long last_sync = 0;
    int need = 1;

    for (;;) {
        struct app_err err = {0};
        long long now = (long long)time(NULL);
        int moved;

        moved = events_moved(f, &err);
        if (moved < 0) {
            app_err_release(&err);
            need = 1;
        } else if (moved > 0) {
            need = 1;
        } else if (!need && !f->events_off) {
            /* The upstream answered and nothing moved: the served version is its
             * newest as of now (lag 0). */
            pthread_mutex_lock(&f->mu);
            if (f->served && f->served->meta.version == f->seen_version)
                f->synced_at = now;
            pthread_mutex_unlock(&f->mu);
        }
        if (need || now - last_sync >= (long long)f->cfg.snapshot_poll_s) {
            if (follow_sync(f, &err) < 0) {
                backoff = backoff ? backoff * 2 : f->cfg.poll_s;
                if (backoff > FOLLOW_BACKOFF_MAX_S)
                    backoff = FOLLOW_BACKOFF_MAX_S;
                app_log(err.code == APP_EUNAVAILABLE ? APP_LOG_WARN : APP_LOG_ERROR,
                        "mirror: sync with %s failed (retrying in %us): %s", f->upstream, backoff,
                        err.msg);
                app_err_release(&err);
                if (nap(f, backoff))
                    break;
                continue;
            }
            backoff = 0;
            need = 0;
            last_sync = (long long)time(NULL);
        }
        if (nap(f, f->cfg.poll_s))
            break;
    }
    return NULL;
}

int
follow_start(struct follower *f, struct app_err *err)
{
    if (pthread_create(&f->thread, NULL, loop, f) != 0)
        return app_fail(err, APP_EINTERNAL, "cannot start the mirror's follower thread");
    f->running = 1;
    return 0;
}

void
follow_stop(struct follower *f)
{
    if (!f->running)
        return;
    pthread_mutex_lock(&f->mu);
    __atomic_store_n(&f->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    f->running = 0;
}

int
follow_upstream_lock(struct follower *f, const char *id, char **bytes, size_t *len, char **sig,
                     struct app_err *err)
{
    char *path = xasprintf("/v1/locks/%s", id), hex[APP_SHA256_HEX];
    size_t sl;
    struct app_err e = {0};
    int ret = -1;

    *bytes = *sig = NULL;
    if (get_doc(f, path, FOLLOW_SMALL_MAX * 16, bytes, len, err) < 0)
        goto out;
    sha256_hex(*bytes, *len, hex);
    if (strcmp(hex, id + 7) != 0) {
        app_fail(err, APP_EUNAVAILABLE, "the upstream's lock %s does not hash to its id", id);
        goto out;
    }
    free(path);
    path = xasprintf("/v1/locks/%s/signature", id);
    if (get_doc(f, path, ART_SIG_TEXT_MAX, sig, &sl, &e) == 0) {
        pthread_mutex_lock(&f->mu);
        /* The ring is the follower thread's; a copy of the check under the lock. */
        if (art_ring_verify(&f->ring, *bytes, *len, NULL, *len, *sig, "lock", hex, NULL, &e) < 0) {
            free(*sig);
            *sig = NULL;
        }
        pthread_mutex_unlock(&f->mu);
    }
    app_err_release(&e);
    ret = 0;
out:
    if (ret < 0) {
        free(*bytes);
        *bytes = NULL;
    }
    app_err_release(&e);
    free(path);
    return ret;
}
