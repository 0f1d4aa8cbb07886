/* executor/cache.c: content-addressed blobs, concurrent verified downloads.
 *
 * A download goes: curl (zstd on the wire) -> libzstd streaming decompression ->
 * SHA-256 + BLAKE2b-512 + size count -> a temp file in blobs/tmp/; when the
 * transfer ends the digest, size and signature are checked, the file is fsynced,
 * made read-only and renamed to its digest name, and only then stamped.
 */
#include "executor/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>
#include <zstd.h>

#include "app/buf.h"
#include "app/fs.h"
#include "app/mem.h"

#define EXE_PARALLEL_DEFAULT 6
#define EXE_SIG_MAX (16 * 1024)
#define EXE_ERRBODY_MAX (64 * 1024)
#define EXE_STAMP_MAX 256
#define EXE_PROGRESS_MIN (1024 * 1024) /* no bar for small downloads */
#define EXE_PROGRESS_EVERY_NS 100000000LL
#define EXE_CONNECT_TIMEOUT_S 10L
/* Stop a transfer that makes less than 1 KiB/s progress for 60 s. */
#define EXE_LOW_SPEED 1024L
#define EXE_LOW_SPEED_TIME_S 60L

struct exe_cache {
    char *root;
};

const char *
exe_cache_root(const struct exe_cache *c)
{
    return c->root;
}

struct exe_cache *
exe_cache_open(const char *root, struct app_err *err)
{
    const char *env = getenv("ALMANAC_CACHE"), *home = getenv("HOME");
    struct exe_cache *c;
    char *dirs[2];

    c = xcalloc(1, sizeof(*c));
    if (root && *root)
        c->root = xstrdup(root);
    else if (env && *env)
        c->root = xstrdup(env);
    else
        c->root = xasprintf("%s/.cache/almanac", home && *home ? home : ".");
    dirs[0] = xasprintf("%s/blobs/sha256", c->root);
    dirs[1] = xasprintf("%s/blobs/tmp", c->root);
    for (size_t i = 0; i < 2; i++) {
        if (fs_mkdir_p(dirs[i]) < 0) {
            app_fail(err, APP_EINTERNAL, "cannot create cache directory '%s': %s", dirs[i],
                     strerror(errno));
            free(dirs[0]);
            free(dirs[1]);
            exe_cache_free(c);
            return NULL;
        }
    }
    free(dirs[0]);
    free(dirs[1]);
    return c;
}

void
exe_cache_free(struct exe_cache *c)
{
    if (!c)
        return;
    free(c->root);
    free(c);
}

char *
exe_cache_blob_path(const struct exe_cache *c, const char *hex)
{
    return xasprintf("%s/blobs/sha256/%.2s/%s", c->root, hex, hex);
}

static char *
side_path(const struct exe_cache *c, const char *hex, const char *suffix)
{
    return xasprintf("%s/blobs/sha256/%.2s/%s.%s", c->root, hex, hex, suffix);
}

static void
stamp_text(const struct stat *st, char out[EXE_STAMP_MAX])
{
    snprintf(out, EXE_STAMP_MAX, "v1 %ju %ju %jd %jd %ld %jd %ld\n", (uintmax_t)st->st_dev,
             (uintmax_t)st->st_ino, (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec,
             st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

static int
stamp_matches(const struct exe_cache *c, const char *hex, const struct stat *st)
{
    char want[EXE_STAMP_MAX], got[EXE_STAMP_MAX];
    char *path = side_path(c, hex, "ok");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;

    free(path);
    if (fd < 0)
        return 0;
    n = read(fd, got, sizeof(got) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    got[n] = '\0';
    stamp_text(st, want);
    return strcmp(want, got) == 0;
}

static void
stamp_write(const struct exe_cache *c, const char *hex, const struct stat *st)
{
    char text[EXE_STAMP_MAX];
    char *path = side_path(c, hex, "ok"), *tmp = xasprintf("%s.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    stamp_text(st, text);
    if (fd >= 0) {
        ssize_t w = write(fd, text, strlen(text));

        close(fd);
        /* A stamp is only an optimisation: failing to write it costs a rehash. */
        if (w == (ssize_t)strlen(text))
            rename(tmp, path);
    }
    unlink(tmp);
    free(tmp);
    free(path);
}

void
exe_cache_restamp(struct exe_cache *c, const char *hex)
{
    char *path = exe_cache_blob_path(c, hex);
    struct stat st;

    if (stat(path, &st) == 0)
        stamp_write(c, hex, &st);
    free(path);
}

char *
exe_cache_signature(const struct exe_cache *c, const char *hex)
{
    char *path = side_path(c, hex, "sig"), *text = NULL;
    size_t len;

    if (file_read_all(path, &text, &len, EXE_SIG_MAX, NULL) < 0)
        text = NULL;
    free(path);
    return text;
}

int
exe_cache_check(struct exe_cache *c, const char *hex, uint64_t size, int full, struct app_err *err)
{
    char *path = exe_cache_blob_path(c, hex);
    char got[APP_SHA256_HEX];
    uint64_t got_size = 0;
    struct stat st;
    int ret = -1;

    if (stat(path, &st) < 0) {
        if (errno == ENOENT) {
            ret = 0;
        } else {
            app_fail(err, APP_EINTERNAL, "cannot read cache file '%s': %s", path, strerror(errno));
        }
        goto out;
    }
    if (size != EXE_SIZE_UNKNOWN && (uint64_t)st.st_size != size) {
        app_fail(err, APP_EVERIFY,
                 "cache file '%s' is corrupt: %jd bytes, the lock says %" PRIu64
                 " (remove it with 'almanac verify --repair')",
                 path, (intmax_t)st.st_size, size);
        goto out;
    }
    if (!full && stamp_matches(c, hex, &st)) {
        ret = 1;
        goto out;
    }
    if (sha256_file(path, got, &got_size, err) < 0)
        goto out;
    if (strcmp(got, hex) != 0) {
        app_fail(err, APP_EVERIFY,
                 "cache file '%s' is corrupt: its bytes hash to %s (remove it with "
                 "'almanac verify --repair')",
                 path, got);
        goto out;
    }
    stamp_write(c, hex, &st);
    ret = 1;
out:
    free(path);
    return ret;
}

int
exe_cache_remove(struct exe_cache *c, const char *hex, struct app_err *err)
{
    char *paths[3] = {exe_cache_blob_path(c, hex), side_path(c, hex, "ok"),
                      side_path(c, hex, "sig")};
    int ret = 0;

    for (size_t i = 0; i < 3; i++) {
        if (unlink(paths[i]) < 0 && errno != ENOENT && ret == 0)
            ret = app_fail(err, APP_EINTERNAL, "cannot remove '%s': %s", paths[i], strerror(errno));
        free(paths[i]);
    }
    return ret;
}

/* ---- downloads ---------------------------------------------------------------- */

struct dl {
    struct exe_blob *b;
    CURL *h, *sig_h;
    int fd;
    char *tmp;
    ZSTD_DStream *zs;
    int is_zstd, force_zstd;
    int frame_done; /* the last decompress call ended a frame */
    crypto_hash_sha256_state sha;
    crypto_generichash_state b2;
    uint64_t got;  /* identity bytes */
    uint64_t wire; /* bytes received */
    long status;
    struct buf errbody;
    struct buf sig;
    int done, sig_done;
    struct app_err err; /* the first local failure of this transfer */
};

__attribute__((format(printf, 3, 4))) static int
dl_fail(struct dl *d, enum app_code code, const char *fmt, ...)
{
    char msg[APP_ERR_MSG_MAX];
    va_list ap;

    if (d->err.code != APP_OK)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    app_fail(&d->err, code, "%s", msg);
    return -1;
}

/* Identity bytes: hash, count, write. */
static int
dl_sink(struct dl *d, const void *p, size_t n)
{
    const unsigned char *q = p;

    if (d->b->size != EXE_SIZE_UNKNOWN && d->got + n > d->b->size)
        return dl_fail(d, APP_EVERIFY,
                       "download of %s (%.16s) is larger than the lock says: corrupt or "
                       "tampered with; nothing was cached",
                       d->b->name, d->b->hex);
    crypto_hash_sha256_update(&d->sha, q, n);
    crypto_generichash_update(&d->b2, q, n);
    d->got += n;
    while (n > 0) {
        ssize_t w = write(d->fd, q, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return dl_fail(d, APP_EINTERNAL, "cannot write '%s': %s", d->tmp, strerror(errno));
        }
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t
dl_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    struct dl *d = userdata;
    size_t n = size * nmemb;
    static const char name[] = "content-encoding:";

    if (n > 5 && strncmp(line, "HTTP/", 5) == 0)
        d->is_zstd = d->force_zstd; /* a new response (after 100-continue) */
    if (n > sizeof(name) - 1 && strncasecmp(line, name, sizeof(name) - 1) == 0) {
        const char *v = line + sizeof(name) - 1;
        size_t k = n - (sizeof(name) - 1);

        while (k > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            k--;
        }
        d->is_zstd = d->force_zstd || (k >= 4 && strncasecmp(v, "zstd", 4) == 0);
    }
    return n;
}

static size_t
dl_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct dl *d = userdata;
    size_t n = size * nmemb;

    if (d->status == 0)
        curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &d->status);
    d->wire += n;
    if (d->status != 200) {
        if (d->errbody.len + n <= EXE_ERRBODY_MAX && buf_append(&d->errbody, ptr, n) < 0)
            return 0;
        return n;
    }
    if (!d->is_zstd)
        return dl_sink(d, ptr, n) < 0 ? 0 : n;
    {
        ZSTD_inBuffer in = {ptr, n, 0};
        unsigned char out[64 * 1024];
        int pending = 1;

        if (!d->zs) {
            d->zs = ZSTD_createDStream();
            if (!d->zs)
                abort();
            /* The HTTP zstd coding caps the window at 8 MiB (RFC 8878). */
            ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax, 23);
        }
        /* Feed all input; keep calling while the output buffer came back full (the
         * decoder may hold more). A call that consumed nothing and produced nothing
         * does not change whether the frame is complete. */
        while (in.pos < in.size || pending) {
            ZSTD_outBuffer o = {out, sizeof(out), 0};
            size_t before = in.pos;
            size_t r = ZSTD_decompressStream(d->zs, &o, &in);

            if (ZSTD_isError(r)) {
                dl_fail(d, APP_EVERIFY, "download of %s is not valid zstd: %s", d->b->name,
                        ZSTD_getErrorName(r));
                return 0;
            }
            if (in.pos > before || o.pos > 0)
                d->frame_done = r == 0;
            if (o.pos && dl_sink(d, out, o.pos) < 0)
                return 0;
            pending = o.pos == o.size;
            if (in.pos == before && o.pos == 0)
                break;
        }
    }
    return n;
}

static size_t
sig_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct dl *d = userdata;
    size_t n = size * nmemb;

    if (d->sig.len + n > EXE_SIG_MAX || buf_append(&d->sig, ptr, n) < 0)
        return 0;
    return n;
}

static CURL *
easy_new(const char *url, struct curl_slist *hdrs)
{
    CURL *h = curl_easy_init();

    if (!h)
        abort();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, EXE_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, EXE_LOW_SPEED);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, EXE_LOW_SPEED_TIME_S);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "almanac-executor");
    return h;
}

static void
dl_release(struct dl *d)
{
    if (d->h)
        curl_easy_cleanup(d->h);
    if (d->sig_h)
        curl_easy_cleanup(d->sig_h);
    if (d->fd >= 0)
        close(d->fd);
    if (d->tmp) {
        unlink(d->tmp);
        free(d->tmp);
    }
    ZSTD_freeDStream(d->zs);
    buf_release(&d->errbody);
    buf_release(&d->sig);
    app_err_release(&d->err);
}

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
progress_draw(const struct dl *ds, size_t n, uint64_t total, int final)
{
    uint64_t got = 0;
    size_t done = 0;
    char bar[31];
    size_t fill;

    for (size_t i = 0; i < n; i++) {
        got += ds[i].got;
        done += ds[i].done;
    }
    if (final) {
        fprintf(stderr, "\r%-78s\r", "");
        return;
    }
    fill = total ? (size_t)((got > total ? total : got) * 30 / total) : 0;
    memset(bar, '#', fill);
    memset(bar + fill, '.', 30 - fill);
    bar[30] = '\0';
    fprintf(stderr, "\rfetching %zu/%zu [%s] %5.1f/%.1f MB", done, n, bar, (double)got / 1e6,
            (double)total / 1e6);
    fflush(stderr);
}

/* The problem document's detail of a failed download, or a generic line. */
static void
dl_http_error(struct dl *d, const char *server)
{
    cJSON *doc = d->errbody.len ? cJSON_ParseWithLength(d->errbody.data, d->errbody.len) : NULL;
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(doc, "detail");
    enum app_code code = app_code_of_status(d->status);

    if (d->status == 404)
        app_fail(&d->err, code,
                 "%s (%.16s) is not stored on %s (its bytes were never uploaded: "
                 "POST /v1/artifacts)",
                 d->b->name, d->b->hex, server);
    else
        app_fail(&d->err, code, "cannot download %s: server answered %ld%s%s", d->b->name,
                 d->status, cJSON_IsString(detail) ? ": " : "",
                 cJSON_IsString(detail) ? detail->valuestring : "");
    cJSON_Delete(doc);
}

/* A finished transfer: check everything, then publish the blob. */
static int
dl_finish(struct exe_cache *c, struct exe_fetch *f, struct dl *d, CURLcode rc, CURLcode sig_rc)
{
    unsigned char digest[APP_SHA256_LEN], b2[crypto_generichash_BYTES_MAX];
    char hex[APP_SHA256_HEX];
    char *path = NULL, *sigpath = NULL, *dir = NULL;
    long sig_status = 0;
    int ret = -1;

    if (d->err.code != APP_OK)
        return -1;
    if (rc != CURLE_OK)
        return app_fail(&d->err, APP_EUNAVAILABLE, "cannot download %s from %s: %s", d->b->name,
                        f->server, curl_easy_strerror(rc));
    if (d->status != 200) {
        dl_http_error(d, f->server);
        return -1;
    }
    if (d->is_zstd && !d->frame_done)
        return app_fail(&d->err, APP_EVERIFY, "download of %s ended inside a zstd frame",
                        d->b->name);
    crypto_hash_sha256_final(&d->sha, digest);
    crypto_generichash_final(&d->b2, b2, sizeof(b2));
    hex_encode(digest, sizeof(digest), hex);
    if (strcmp(hex, d->b->hex) != 0)
        return app_fail(&d->err, APP_EVERIFY,
                        "download of %s is corrupt or tampered with: its bytes hash to %s, not "
                        "%s; nothing was cached",
                        d->b->name, hex, d->b->hex);
    if (d->b->size != EXE_SIZE_UNKNOWN && d->got != d->b->size)
        return app_fail(&d->err, APP_EVERIFY,
                        "download of %s has %" PRIu64 " bytes, the lock says %" PRIu64
                        ": corrupt or tampered with; nothing was cached",
                        d->b->name, d->got, d->b->size);
    if (sig_rc != CURLE_OK)
        return app_fail(&d->err, APP_EUNAVAILABLE, "cannot download the signature of %s: %s",
                        d->b->name, curl_easy_strerror(sig_rc));
    curl_easy_getinfo(d->sig_h, CURLINFO_RESPONSE_CODE, &sig_status);
    if (sig_status != 200)
        return app_fail(&d->err, APP_EVERIFY,
                        "%s has no signature on the server (answered %ld): refusing it", d->b->name,
                        sig_status);
    if (f->verify && f->verify(f->verify_ctx, d->b, b2, d->got, d->sig.data, &d->err) < 0)
        return -1;
    if (fsync(d->fd) < 0 || fchmod(d->fd, 0444) < 0)
        return app_fail(&d->err, APP_EINTERNAL, "cannot write '%s': %s", d->tmp, strerror(errno));
    dir = xasprintf("%s/blobs/sha256/%.2s", c->root, d->b->hex);
    path = exe_cache_blob_path(c, d->b->hex);
    sigpath = side_path(c, d->b->hex, "sig");
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        app_fail(&d->err, APP_EINTERNAL, "cannot create '%s': %s", dir, strerror(errno));
        goto out;
    }
    {
        int sfd = open(sigpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int ok = sfd >= 0 && write(sfd, d->sig.data, d->sig.len) == (ssize_t)d->sig.len;

        if (sfd >= 0)
            close(sfd);
        if (!ok) {
            app_fail(&d->err, APP_EINTERNAL, "cannot write '%s'", sigpath);
            goto out;
        }
    }
    if (rename(d->tmp, path) < 0) {
        app_fail(&d->err, APP_EINTERNAL, "cannot rename into '%s': %s", path, strerror(errno));
        goto out;
    }
    free(d->tmp);
    d->tmp = NULL;
    {
        struct stat st;

        if (fstat(d->fd, &st) == 0)
            stamp_write(c, d->b->hex, &st);
    }
    d->b->downloaded = 1;
    d->b->wire_bytes = d->wire;
    ret = 0;
out:
    free(dir);
    free(path);
    free(sigpath);
    return ret;
}

/* Start the transfers of d (data and signature). */
static int
dl_start(struct exe_cache *c, struct exe_fetch *f, CURLM *m, struct dl *d, struct curl_slist *hdrs,
         struct app_err *err)
{
    char *url, *sig_url;

    if (f->static_tree) {
        /* Plain files: the zstd sibling (no content negotiation) and the .minisig. */
        url = xasprintf("%s/artifacts/sha256/%s.zst", f->server, d->b->hex);
        sig_url = xasprintf("%s/artifacts/sha256/%s.minisig", f->server, d->b->hex);
        d->force_zstd = d->is_zstd = 1;
    } else {
        url = xasprintf("%s/v1/artifacts/sha256/%s", f->server, d->b->hex);
        sig_url = xasprintf("%s/signature", url);
    }

    d->tmp = xasprintf("%s/blobs/tmp/%.16s.XXXXXX", c->root, d->b->hex);
    d->fd = mkstemp(d->tmp);
    if (d->fd < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create a temporary file in '%s/blobs/tmp': %s",
                 c->root, strerror(errno));
        free(d->tmp);
        d->tmp = NULL;
        free(url);
        free(sig_url);
        return -1;
    }
    crypto_hash_sha256_init(&d->sha);
    crypto_generichash_init(&d->b2, NULL, 0, crypto_generichash_BYTES_MAX);
    d->h = easy_new(url, hdrs);
    curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, dl_write);
    curl_easy_setopt(d->h, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(d->h, CURLOPT_HEADERFUNCTION, dl_header);
    curl_easy_setopt(d->h, CURLOPT_HEADERDATA, d);
    curl_easy_setopt(d->h, CURLOPT_PRIVATE, d);
    d->sig_h = easy_new(sig_url, NULL);
    curl_easy_setopt(d->sig_h, CURLOPT_WRITEFUNCTION, sig_write);
    curl_easy_setopt(d->sig_h, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(d->sig_h, CURLOPT_PRIVATE, d);
    curl_multi_add_handle(m, d->h);
    curl_multi_add_handle(m, d->sig_h);
    free(url);
    free(sig_url);
    return 0;
}

int
exe_cache_fetch(struct exe_cache *c, struct exe_fetch *f, struct exe_blob *bs, size_t n,
                struct app_err *err)
{
    struct dl *ds = xcalloc(n ? n : 1, sizeof(*ds));
    struct curl_slist *hdrs = NULL;
    CURLM *m = NULL;
    CURLcode *rcs = xcalloc(2 * (n ? n : 1), sizeof(*rcs));
    size_t nd = 0, failed = 0;
    uint64_t total = 0;
    int64_t last_draw = 0;
    int running = 0, bar;
    int ret = -1;

    f->n_downloaded = f->n_cached = 0;
    f->bytes_identity = f->bytes_wire = 0;
    /* What is already here (and good) is not fetched; a bad blob stops everything. */
    for (size_t i = 0; i < n; i++) {
        int rc;

        bs[i].downloaded = 0;
        bs[i].wire_bytes = 0;
        /* The same digest twice in one request is fetched once. */
        for (size_t k = 0; k < nd; k++)
            if (strcmp(ds[k].b->hex, bs[i].hex) == 0)
                goto next;
        rc = exe_cache_check(c, bs[i].hex, bs[i].size, 0, err);
        if (rc < 0)
            goto out;
        if (rc == 1) {
            f->n_cached++;
            continue;
        }
        ds[nd].fd = -1;
        buf_init(&ds[nd].errbody, 0);
        buf_init(&ds[nd].sig, 0);
        ds[nd].b = &bs[i];
        if (bs[i].size != EXE_SIZE_UNKNOWN)
            total += bs[i].size;
        nd++;
    next:;
    }
    if (nd == 0) {
        ret = 0;
        goto out;
    }
    if (!f->server) {
        app_fail(err, APP_EINVAL,
                 "%zu artifact%s (%s first) %s not in the cache and --offline forbids downloading",
                 nd, nd == 1 ? "" : "s", ds[0].b->name, nd == 1 ? "is" : "are");
        goto out;
    }
    m = curl_multi_init();
    if (!m)
        abort();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)(f->max_parallel > 0 ? f->max_parallel : EXE_PARALLEL_DEFAULT));
    hdrs = curl_slist_append(NULL, "Accept-Encoding: zstd");
    for (size_t i = 0; i < nd; i++)
        if (dl_start(c, f, m, &ds[i], hdrs, err) < 0)
            goto out;
    bar = f->progress && total >= EXE_PROGRESS_MIN;
    do {
        CURLMsg *msg;
        int left;

        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        while ((msg = curl_multi_info_read(m, &left))) {
            struct dl *d = NULL;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
            if (msg->easy_handle == d->h) {
                rcs[2 * (size_t)(d - ds)] = msg->data.result;
                d->done = 1;
            } else {
                rcs[2 * (size_t)(d - ds) + 1] = msg->data.result;
                d->sig_done = 1;
            }
        }
        if (bar && now_ns() - last_draw > EXE_PROGRESS_EVERY_NS) {
            progress_draw(ds, nd, total, 0);
            last_draw = now_ns();
        }
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    } while (running);
    if (bar)
        progress_draw(ds, nd, total, 1);
    for (size_t i = 0; i < nd; i++) {
        struct dl *d = &ds[i];

        if (!d->done || !d->sig_done) {
            if (d->err.code == APP_OK)
                app_fail(&d->err, APP_EUNAVAILABLE, "download of %s did not finish", d->b->name);
        } else if (dl_finish(c, f, d, rcs[2 * i], rcs[2 * i + 1]) == 0) {
            f->n_downloaded++;
            f->bytes_identity += d->got;
            f->bytes_wire += d->wire;
            continue;
        }
        failed++;
    }
    if (failed == 0) {
        ret = 0;
        goto out;
    }
    /* Report the most serious failure first: verification beats availability. */
    {
        struct dl *first = NULL;

        for (size_t i = 0; i < nd; i++)
            if (ds[i].err.code != APP_OK &&
                (!first || (ds[i].err.code == APP_EVERIFY && first->err.code != APP_EVERIFY)))
                first = &ds[i];
        if (failed == 1)
            app_fail(err, first->err.code, "%s", first->err.msg);
        else
            app_fail(err, first->err.code, "%zu of %zu downloads failed; %s", failed, nd,
                     first->err.msg);
        for (size_t i = 0; failed > 1 && i < nd; i++)
            if (ds[i].err.code != APP_OK)
                app_err_add(err, "download_failed", "%s", ds[i].err.msg);
    }
out:
    for (size_t i = 0; i < nd; i++) {
        if (m && ds[i].h)
            curl_multi_remove_handle(m, ds[i].h);
        if (m && ds[i].sig_h)
            curl_multi_remove_handle(m, ds[i].sig_h);
        dl_release(&ds[i]);
    }
    if (m)
        curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    free(rcs);
    free(ds);
    return ret;
}

/* ---- walking the cache ------------------------------------------------------ */

static int
is_hex64(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == 64;
}

int
exe_cache_verify_all(struct exe_cache *c, struct exe_cache_walk *w, struct app_err *err)
{
    char *top = xasprintf("%s/blobs/sha256", c->root);
    DIR *d = opendir(top);
    struct dirent *e;

    w->checked = w->bad = w->removed = 0;
    if (!d) {
        app_fail(err, APP_EINTERNAL, "cannot read '%s': %s", top, strerror(errno));
        free(top);
        return -1;
    }
    while ((e = readdir(d))) {
        char *sub;
        DIR *sd;
        struct dirent *f;

        if (e->d_name[0] == '.' || strlen(e->d_name) != 2)
            continue;
        sub = xasprintf("%s/%s", top, e->d_name);
        sd = opendir(sub);
        while (sd && (f = readdir(sd))) {
            struct app_err fe = {0};
            char *path;
            struct stat st;
            uint64_t size;
            int rc;

            if (!is_hex64(f->d_name))
                continue;
            path = xasprintf("%s/%s", sub, f->d_name);
            size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
            rc = exe_cache_check(c, f->d_name, EXE_SIZE_UNKNOWN, 1, &fe) == 1 ? 0 : -1;
            w->checked++;
            if (rc < 0) {
                w->bad++;
                if (w->repair && exe_cache_remove(c, f->d_name, NULL) == 0)
                    w->removed++;
            }
            if (w->fn)
                w->fn(w->ctx, f->d_name, size, rc, &fe);
            app_err_release(&fe);
            free(path);
        }
        if (sd)
            closedir(sd);
        free(sub);
    }
    closedir(d);
    free(top);
    return 0;
}
