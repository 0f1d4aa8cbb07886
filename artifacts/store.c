/* artifacts/store.c: the content-addressed store: streaming zstd writer with
 * verify-fsync-rename, identity readers with skip-to-offset, and fsck.
 *
 * Crash safety follows the usual rename protocol: data reaches the temp file and
 * is fsynced before the rename, and the directory is fsynced after it, so after a
 * crash a digest name either does not exist or names a complete, verified file.
 */
#include "artifacts/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader: checking frames taken as they came */
#include <zstd.h>

#include "app/log.h"
#include "app/mem.h"

#define ART_DIR "artifacts"
#define ART_TMP_PREFIX ".tmp-"
#define ART_QUARANTINE "quarantine"
#define ART_SUSPECT "suspect" /* marks of artifacts that failed while served */
#define ART_SUFFIX ".zst"
#define ART_IO_CHUNK (256 * 1024)
#define ART_DCTX_POOL 16 /* decoders kept for reuse across readers */
/* Bytes decoded at a time when the rest of a stream is only checked, never sent: on
 * the stack, so small. */
#define ART_VERIFY_CHUNK (16 * 1024)

struct art_store {
    char *root; /* DATA/artifacts */
    int level;
    unsigned long swept; /* stale temp files removed by art_store_open */
};

struct art_writer {
    const struct art_store *s;
    char *tmp_path;
    int fd;
    ZSTD_CCtx *cctx;
    void *out;
    size_t out_cap;
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_state stored_sha;
    crypto_generichash_blake2b_state b2;
    uint64_t size;
    uint64_t stored_size;
    uint64_t expect_size;
    char expect[APP_SHA256_HEX];
    struct art_info info;
    int finished;
    int committed;
    int keep_stored; /* the caller gives the zstd frame itself: no compressor */
};

/* A decoder and its input buffer. Creating them per download costs an 8 MiB
 * window allocation (page faults) per request, so readers borrow them from a small
 * process-wide pool. */
struct dec {
    ZSTD_DCtx *dctx;
    uint8_t *in;
};

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dec pool[ART_DCTX_POOL];
static size_t pool_n;

struct art_reader {
    int fd;
    struct dec dec;
    ZSTD_DCtx *dctx; /* dec.dctx */
    uint8_t *in;     /* dec.in */
    ZSTD_inBuffer ib;
    uint64_t skip; /* identity bytes still to drop */
    size_t last;   /* last ZSTD_decompressStream hint: 0 at a frame end */
    int eof;
    char hex[APP_SHA256_HEX];
};

static int
io_fail(struct app_err *err, const char *what, const char *path)
{
    /* Paths stay in the server log; clients get the phrase only. */
    app_log(APP_LOG_ERROR, "store: %s '%s': %s", what, path, strerror(errno));
    return app_fail(err, APP_EINTERNAL, "artifact store: %s: %s", what, strerror(errno));
}

static int
write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t k = write(fd, c, n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static int
fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ret;

    if (fd < 0)
        return -1;
    ret = fsync(fd);
    close(fd);
    return ret;
}

/* Remove a temp file when no live writer holds its lock. Returns 1 if removed. */
static int
sweep_temp(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    int removed = 0;

    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        removed = unlinkat(dirfd, name, 0) == 0;
    close(fd);
    return removed;
}

static int
is_temp_name(const char *name)
{
    return strncmp(name, ART_TMP_PREFIX, strlen(ART_TMP_PREFIX)) == 0;
}

static void
sweep_temps(struct art_store *s)
{
    DIR *d = opendir(s->root);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL)
        if (is_temp_name(e->d_name))
            s->swept += (unsigned long)sweep_temp(dirfd(d), e->d_name);
    closedir(d);
}

struct art_store *
art_store_open(const char *data_dir, int level, struct app_err *err)
{
    struct art_store *s;

    if (level == 0)
        level = ART_ZSTD_LEVEL_DEFAULT;
    if (level < 1 || level > ZSTD_maxCLevel()) {
        app_fail(err, APP_EINVAL, "zstd level %d is out of range 1..%d", level, ZSTD_maxCLevel());
        return NULL;
    }
    if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
        io_fail(err, "cannot create data directory", data_dir);
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    s->level = level;
    s->root = xasprintf("%s/%s", data_dir, ART_DIR);
    if (mkdir(s->root, 0700) < 0 && errno != EEXIST) {
        io_fail(err, "cannot create store directory", s->root);
        art_store_free(s);
        return NULL;
    }
    sweep_temps(s);
    return s;
}

void
art_store_free(struct art_store *s)
{
    if (!s)
        return;
    free(s->root);
    free(s);
}

int
art_store_level(const struct art_store *s)
{
    return s->level;
}

char *
art_store_path(const struct art_store *s, const char *hex)
{
    return xasprintf("%s/%.2s/%s%s", s->root, hex, hex, ART_SUFFIX);
}

int
art_store_has(const struct art_store *s, const char *hex)
{
    char *path = art_store_path(s, hex);
    struct stat sb;
    int ok = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);

    free(path);
    return ok;
}

static int
zstd_fail(struct app_err *err, const char *what, size_t code)
{
    return app_fail(err, APP_EINTERNAL, "artifact store: %s: %s", what, ZSTD_getErrorName(code));
}

static ZSTD_CCtx *
cctx_new(int level, uint64_t pledged, struct app_err *err)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t r;

    if (!c) {
        app_fail(err, APP_EINTERNAL, "artifact store: cannot create zstd context");
        return NULL;
    }
    r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, ART_ZSTD_WINDOW_LOG);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(r) && pledged != ART_SIZE_UNKNOWN)
        r = ZSTD_CCtx_setPledgedSrcSize(c, pledged);
    if (ZSTD_isError(r)) {
        zstd_fail(err, "cannot configure zstd", r);
        ZSTD_freeCCtx(c);
        return NULL;
    }
    return c;
}

static ZSTD_DCtx *
dctx_new(struct app_err *err)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();

    if (!d) {
        app_fail(err, APP_EINTERNAL, "artifact store: cannot create zstd context");
        return NULL;
    }
    /* Our frames never need more; a larger window means a foreign file. */
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, ART_ZSTD_WINDOW_LOG);
    return d;
}

struct art_writer *
art_writer_new(struct art_store *s, const char *expect_hex, uint64_t expect_size,
               struct app_err *err)
{
    struct art_writer *w;

    if (expect_hex && !sha256_hex_valid(expect_hex)) {
        app_fail(err, APP_EINVAL, "'%.80s' is not a lower-case hex sha256 digest", expect_hex);
        return NULL;
    }
    w = xcalloc(1, sizeof(*w));
    w->s = s;
    w->fd = -1;
    w->expect_size = expect_size;
    if (expect_hex)
        memcpy(w->expect, expect_hex, APP_SHA256_HEX);
    w->tmp_path = xasprintf("%s/%sXXXXXX", s->root, ART_TMP_PREFIX);
    w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
    if (w->fd < 0) {
        io_fail(err, "cannot create temp file", w->tmp_path);
        free(w->tmp_path);
        w->tmp_path = NULL;
        goto fail;
    }
    /* The lock tells sweepers this temp file has a live writer. */
    if (flock(w->fd, LOCK_EX) < 0) {
        io_fail(err, "cannot lock temp file", w->tmp_path);
        goto fail;
    }
    w->cctx = cctx_new(s->level, expect_size, err);
    if (!w->cctx)
        goto fail;
    w->out_cap = ZSTD_CStreamOutSize();
    w->out = xmalloc(w->out_cap);
    crypto_hash_sha256_init(&w->sha);
    crypto_hash_sha256_init(&w->stored_sha);
    crypto_generichash_blake2b_init(&w->b2, NULL, 0, ART_BLAKE2B_LEN);
    return w;
fail:
    art_writer_free(w);
    return NULL;
}

/* Run the compressor over in with the given directive and write what it emits. */
static int
writer_pump(struct art_writer *w, ZSTD_inBuffer *in, ZSTD_EndDirective mode, struct app_err *err)
{
    for (;;) {
        ZSTD_outBuffer ob = {w->out, w->out_cap, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &ob, in, mode);

        if (ZSTD_isError(left))
            return zstd_fail(err, "compression failed", left);
        if (ob.pos) {
            if (write_all(w->fd, w->out, ob.pos) < 0)
                return io_fail(err, "cannot write temp file", w->tmp_path);
            crypto_hash_sha256_update(&w->stored_sha, w->out, ob.pos);
            w->stored_size += ob.pos;
        }
        if (mode == ZSTD_e_end ? left == 0 : in->pos == in->size)
            return 0;
    }
}

void
art_writer_keep_stored(struct art_writer *w)
{
    ZSTD_freeCCtx(w->cctx);
    w->cctx = NULL;
    w->keep_stored = 1;
}

int
art_writer_write_stored(struct art_writer *w, const void *p, size_t n, struct app_err *err)
{
    if (!w->keep_stored || w->finished)
        return app_fail(err, APP_EINTERNAL, "artifact store: stored bytes to a compressing writer");
    if (write_all(w->fd, p, n) < 0)
        return io_fail(err, "cannot write temp file", w->tmp_path);
    crypto_hash_sha256_update(&w->stored_sha, p, n);
    w->stored_size += n;
    return 0;
}

/* A frame taken as it came must be one our readers serve as a zstd body: a window of
 * at most ART_ZSTD_WINDOW_LOG and the content checksum (readers check it). */
static int
check_frame_header(struct art_writer *w, struct app_err *err)
{
    uint8_t head[ZSTD_FRAMEHEADERSIZE_MAX];
    ZSTD_frameHeader h;
    ssize_t n = pread(w->fd, head, sizeof(head), 0);

    if (n < 0)
        return io_fail(err, "cannot read temp file", w->tmp_path);
    if (ZSTD_getFrameHeader(&h, head, (size_t)n) != 0 || h.frameType != ZSTD_frame)
        return app_fail(err, APP_EINVAL, "the zstd body does not start with a zstd frame");
    if (h.windowSize > (1ULL << ART_ZSTD_WINDOW_LOG) || !h.checksumFlag)
        return app_fail(err, APP_EINVAL,
                        "the zstd frame needs a window of at most %u KiB and a content checksum",
                        (1U << ART_ZSTD_WINDOW_LOG) / 1024);
    return 0;
}

int
art_writer_write(struct art_writer *w, const void *p, size_t n, struct app_err *err)
{
    ZSTD_inBuffer in = {p, n, 0};

    if (w->finished)
        return app_fail(err, APP_EINTERNAL, "artifact store: write after finish");
    if (w->expect_size != ART_SIZE_UNKNOWN && n > w->expect_size - w->size)
        return app_fail(err, APP_ECONFLICT, "content is longer than the declared %llu bytes",
                        (unsigned long long)w->expect_size);
    crypto_hash_sha256_update(&w->sha, p, n);
    crypto_generichash_blake2b_update(&w->b2, p, n);
    w->size += n;
    if (w->keep_stored)
        return 0;
    return writer_pump(w, &in, ZSTD_e_continue, err);
}

/* The decoding half of verify_fd: a decoder and the hashes of what it produces. */
struct verify {
    ZSTD_DCtx *dctx;
    uint8_t *out;
    size_t out_cap, last;
    crypto_hash_sha256_state sha;
    crypto_generichash_blake2b_state b2;
    uint64_t size;
};

/* Decode one step of ib and hash the output; returns the bytes produced or -1. */
static ssize_t
verify_step(struct verify *v, ZSTD_inBuffer *ib, const char *hex, struct app_err *err)
{
    ZSTD_outBuffer ob = {v->out, v->out_cap, 0};

    v->last = ZSTD_decompressStream(v->dctx, &ob, ib);
    if (ZSTD_isError(v->last))
        return app_fail(err, APP_EINTERNAL, "artifact %s is corrupt: %s", hex,
                        ZSTD_getErrorName(v->last));
    crypto_hash_sha256_update(&v->sha, v->out, ob.pos);
    crypto_generichash_blake2b_update(&v->b2, v->out, ob.pos);
    v->size += ob.pos;
    return (ssize_t)ob.pos;
}

/* Decompress fd from its start and hash the identity bytes; fills size, sha256,
 * blake2b, stored_size and stored_sha256 of info. */
static int
verify_fd(int fd, const char *hex, struct art_info *info, struct app_err *err)
{
    struct verify v = {0};
    crypto_hash_sha256_state ssha;
    uint8_t d[APP_SHA256_LEN], bd[ART_BLAKE2B_LEN];
    uint8_t *in = NULL;
    uint64_t off = 0;
    int ret = -1;

    v.dctx = dctx_new(err);
    if (!v.dctx)
        return -1;
    v.out_cap = ZSTD_DStreamOutSize();
    v.out = xmalloc(v.out_cap);
    in = xmalloc(ART_IO_CHUNK);
    crypto_hash_sha256_init(&v.sha);
    crypto_hash_sha256_init(&ssha);
    crypto_generichash_blake2b_init(&v.b2, NULL, 0, ART_BLAKE2B_LEN);
    for (;;) {
        ssize_t n = pread(fd, in, ART_IO_CHUNK, (off_t)off);
        ZSTD_inBuffer ib;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            app_fail(err, APP_EINTERNAL, "artifact %s is unreadable: %s", hex, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        off += (uint64_t)n;
        crypto_hash_sha256_update(&ssha, in, (size_t)n);
        ib = (ZSTD_inBuffer){in, (size_t)n, 0};
        while (ib.pos < ib.size)
            if (verify_step(&v, &ib, hex, err) < 0)
                goto out;
    }
    /* Flush what the decoder still holds for a frame whose input is all in. */
    while (v.last != 0) {
        ZSTD_inBuffer ib = {NULL, 0, 0};
        ssize_t k = verify_step(&v, &ib, hex, err);

        if (k < 0)
            goto out;
        if (k == 0)
            break;
    }
    if (off == 0 || v.last != 0) {
        app_fail(err, APP_EINTERNAL, "artifact %s is corrupt: truncated zstd frame", hex);
        goto out;
    }
    crypto_hash_sha256_final(&v.sha, d);
    hex_encode(d, sizeof(d), info->sha256);
    crypto_hash_sha256_final(&ssha, d);
    hex_encode(d, sizeof(d), info->stored_sha256);
    crypto_generichash_blake2b_final(&v.b2, bd, sizeof(bd));
    hex_encode(bd, sizeof(bd), info->blake2b);
    info->size = v.size;
    info->stored_size = off;
    if (strcmp(info->sha256, hex) != 0) {
        app_fail(err, APP_EINTERNAL, "artifact %s is corrupt: its content hashes to %s", hex,
                 info->sha256);
        goto out;
    }
    ret = 0;
out:
    free(in);
    free(v.out);
    ZSTD_freeDCtx(v.dctx);
    return ret;
}

int
art_writer_finish(struct art_writer *w, struct art_info *info, struct app_err *err)
{
    ZSTD_inBuffer in = {NULL, 0, 0};
    uint8_t d[APP_SHA256_LEN], bd[ART_BLAKE2B_LEN];
    struct art_info back;

    if (w->finished) {
        if (info)
            *info = w->info;
        return 0;
    }
    if (w->expect_size != ART_SIZE_UNKNOWN && w->size != w->expect_size)
        return app_fail(err, APP_ECONFLICT, "content is %llu bytes, not the declared %llu",
                        (unsigned long long)w->size, (unsigned long long)w->expect_size);
    if (!w->keep_stored && writer_pump(w, &in, ZSTD_e_end, err) < 0)
        return -1;
    if (w->keep_stored && check_frame_header(w, err) < 0)
        return -1;
    crypto_hash_sha256_final(&w->sha, d);
    hex_encode(d, sizeof(d), w->info.sha256);
    crypto_hash_sha256_final(&w->stored_sha, d);
    hex_encode(d, sizeof(d), w->info.stored_sha256);
    crypto_generichash_blake2b_final(&w->b2, bd, sizeof(bd));
    hex_encode(bd, sizeof(bd), w->info.blake2b);
    w->info.size = w->size;
    w->info.stored_size = w->stored_size;
    w->finished = 1;
    if (w->expect[0] && strcmp(w->expect, w->info.sha256) != 0)
        return app_fail(err, APP_ECONFLICT, "content hashes to %s, not %s", w->info.sha256,
                        w->expect);
    if (fsync(w->fd) < 0)
        return io_fail(err, "cannot fsync temp file", w->tmp_path);
    /* Read back what reached the file: a short write or a compressor bug must not
     * become a stored artifact. */
    if (verify_fd(w->fd, w->info.sha256, &back, err) < 0)
        return -1;
    if (back.stored_size != w->stored_size || strcmp(back.stored_sha256, w->info.stored_sha256))
        return app_fail(err, APP_EINTERNAL, "artifact store: temp file changed while written");
    if (info)
        *info = w->info;
    return 0;
}

int
art_writer_commit(struct art_writer *w, struct art_info *info, struct app_err *err)
{
    char *dir = NULL, *path = NULL;
    struct art_info old;
    struct app_err verr = {0};
    int ret = -1, made_dir = 0;

    if (w->committed)
        return app_fail(err, APP_EINTERNAL, "artifact store: commit twice");
    if (art_writer_finish(w, NULL, err) < 0)
        return -1;
    dir = xasprintf("%s/%.2s", w->s->root, w->info.sha256);
    path = art_store_path(w->s, w->info.sha256);
    if (mkdir(dir, 0700) == 0)
        made_dir = 1;
    else if (errno != EEXIST) {
        io_fail(err, "cannot create directory", dir);
        goto out;
    }
    if (made_dir && fsync_dir(w->s->root) < 0) {
        io_fail(err, "cannot fsync directory", w->s->root);
        goto out;
    }
    if (access(path, F_OK) == 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int good = fd >= 0 && verify_fd(fd, w->info.sha256, &old, &verr) == 0;

        if (fd >= 0)
            close(fd);
        if (good) {
            unlink(w->tmp_path);
            w->committed = 1;
            w->info.existed = 1;
            /* Report the file that is actually stored. */
            w->info.stored_size = old.stored_size;
            memcpy(w->info.stored_sha256, old.stored_sha256, APP_SHA256_HEX);
            ret = 0;
            goto out;
        }
        app_log(APP_LOG_WARN, "store: replacing corrupt %s: %s", w->info.sha256, verr.msg);
    }
    if (rename(w->tmp_path, path) < 0) {
        io_fail(err, "cannot rename temp file", path);
        goto out;
    }
    w->committed = 1;
    if (fsync_dir(dir) < 0) {
        io_fail(err, "cannot fsync directory", dir);
        goto out;
    }
    ret = 0;
out:
    if (ret == 0 && info)
        *info = w->info;
    app_err_release(&verr);
    free(dir);
    free(path);
    return ret;
}

void
art_writer_free(struct art_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp_path && !w->committed)
        unlink(w->tmp_path);
    ZSTD_freeCCtx(w->cctx);
    free(w->out);
    free(w->tmp_path);
    free(w);
}

static int
open_stored(const struct art_store *s, const char *hex, struct app_err *err)
{
    char *path;
    int fd;

    if (!sha256_hex_valid(hex))
        return app_fail(err, APP_EINVAL, "'%.80s' is not a lower-case hex sha256 digest", hex);
    path = art_store_path(s, hex);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            app_fail(err, APP_ENOTFOUND, "artifact sha256:%s is not stored", hex);
        else
            io_fail(err, "cannot open artifact", path);
    }
    free(path);
    return fd;
}

int
art_store_open_stored(const struct art_store *s, const char *hex, int *fd, uint64_t *stored_size,
                      struct app_err *err)
{
    struct stat sb;
    int f = open_stored(s, hex, err);

    if (f < 0)
        return -1;
    if (fstat(f, &sb) < 0) {
        close(f);
        return app_fail(err, APP_EINTERNAL, "artifact store: cannot stat: %s", strerror(errno));
    }
    *fd = f;
    *stored_size = (uint64_t)sb.st_size;
    return 0;
}

static int
dec_get(struct dec *d, struct app_err *err)
{
    pthread_mutex_lock(&pool_mu);
    if (pool_n > 0) {
        *d = pool[--pool_n];
        pthread_mutex_unlock(&pool_mu);
        return 0;
    }
    pthread_mutex_unlock(&pool_mu);
    d->dctx = dctx_new(err);
    if (!d->dctx)
        return -1;
    d->in = xmalloc(ART_IO_CHUNK);
    return 0;
}

static void
dec_put(struct dec *d)
{
    if (!d->dctx)
        return;
    /* Drop any half-decoded frame; the parameters (window limit) stay. */
    ZSTD_DCtx_reset(d->dctx, ZSTD_reset_session_only);
    pthread_mutex_lock(&pool_mu);
    if (pool_n < ART_DCTX_POOL) {
        pool[pool_n++] = *d;
        d->dctx = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    if (d->dctx) {
        ZSTD_freeDCtx(d->dctx);
        free(d->in);
    }
    d->dctx = NULL;
    d->in = NULL;
}

struct art_reader *
art_reader_open(const struct art_store *s, const char *hex, uint64_t offset, struct app_err *err)
{
    struct art_reader *r;
    int fd = open_stored(s, hex, err);

    if (fd < 0)
        return NULL;
    r = xcalloc(1, sizeof(*r));
    r->fd = fd;
    r->skip = offset;
    r->last = 1; /* no frame seen yet: an empty file is truncated */
    memcpy(r->hex, hex, APP_SHA256_HEX);
    if (dec_get(&r->dec, err) < 0) {
        art_reader_free(r);
        return NULL;
    }
    r->dctx = r->dec.dctx;
    r->in = r->dec.in;
    return r;
}

/* Decompress into out until it is full or the frame ends; returns the bytes produced
 * (0 at the end) or -1. Filling the whole buffer matters for downloads: each call is
 * one send to the client, so a half-empty buffer doubles the per-byte overhead. */
static ssize_t
reader_step(struct art_reader *r, uint8_t *out, size_t n, struct app_err *err)
{
    ZSTD_outBuffer ob = {out, n, 0};

    while (ob.pos < ob.size) {
        if (r->ib.pos == r->ib.size && !r->eof) {
            ssize_t k = read(r->fd, r->in, ART_IO_CHUNK);

            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return app_fail(err, APP_EINTERNAL, "artifact %s is unreadable: %s", r->hex,
                                strerror(errno));
            if (k == 0)
                r->eof = 1;
            r->ib = (ZSTD_inBuffer){r->in, (size_t)k, 0};
        }
        if (r->eof && r->ib.pos == r->ib.size) {
            /* Drain what the decoder holds, then check the frame ended. */
            ZSTD_inBuffer empty = {NULL, 0, 0};
            size_t before = ob.pos;

            if (r->last == 0)
                break;
            r->last = ZSTD_decompressStream(r->dctx, &ob, &empty);
            if (ZSTD_isError(r->last))
                return app_fail(err, APP_EINTERNAL, "artifact %s is corrupt: %s", r->hex,
                                ZSTD_getErrorName(r->last));
            if (ob.pos > before)
                continue;
            if (r->last != 0)
                return app_fail(err, APP_EINTERNAL, "artifact %s is corrupt: truncated zstd frame",
                                r->hex);
            break;
        }
        r->last = ZSTD_decompressStream(r->dctx, &ob, &r->ib);
        if (ZSTD_isError(r->last))
            return app_fail(err, APP_EINTERNAL, "artifact %s is corrupt: %s", r->hex,
                            ZSTD_getErrorName(r->last));
    }
    return (ssize_t)ob.pos;
}

ssize_t
art_reader_read(struct art_reader *r, void *buf, size_t n, struct app_err *err)
{
    while (r->skip > 0) {
        size_t chunk = r->skip < n ? (size_t)r->skip : n;
        ssize_t k = reader_step(r, buf, chunk, err);

        if (k <= 0)
            return k;
        r->skip -= (uint64_t)k;
    }
    if (n == 0)
        return 0;
    return reader_step(r, buf, n, err);
}

int
art_reader_verify_rest(struct art_reader *r, struct app_err *err)
{
    uint8_t scratch[ART_VERIFY_CHUNK];
    ssize_t k;

    r->skip = 0;
    while ((k = reader_step(r, scratch, sizeof(scratch), err)) > 0)
        ;
    return k < 0 ? -1 : 0;
}

void
art_store_mark_suspect(const struct art_store *s, const char *hex)
{
    char *dir = xasprintf("%s/%s", s->root, ART_SUSPECT);
    char *path = xasprintf("%s/%s", dir, hex);
    int fd;

    if (!sha256_hex_valid(hex))
        goto out;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        goto out;
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
out:
    free(dir);
    free(path);
}

void
art_reader_free(struct art_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    dec_put(&r->dec);
    free(r);
}

int
art_store_verify(const struct art_store *s, const char *hex, struct art_info *info,
                 struct app_err *err)
{
    int fd = open_stored(s, hex, err), ret;

    if (fd < 0)
        return -1;
    memset(info, 0, sizeof(*info));
    ret = verify_fd(fd, hex, info, err);
    close(fd);
    return ret;
}

int
art_zstd_compress(const void *p, size_t n, int level, void **out, size_t *out_len,
                  struct app_err *err)
{
    ZSTD_CCtx *c = cctx_new(level ? level : ART_ZSTD_LEVEL_DEFAULT, n, err);
    size_t cap = ZSTD_compressBound(n), r;
    void *buf;

    if (!c)
        return -1;
    buf = xmalloc(cap);
    r = ZSTD_compress2(c, buf, cap, p, n);
    ZSTD_freeCCtx(c);
    if (ZSTD_isError(r)) {
        free(buf);
        return zstd_fail(err, "compression failed", r);
    }
    *out = buf;
    *out_len = r;
    return 0;
}

static void
fsck_report(struct art_fsck *f, enum art_fsck_kind kind, const char *name,
            const struct art_info *info, const char *detail)
{
    if (f->report)
        f->report(f->ctx, kind, name, info, detail);
}

/* Move a corrupt file aside so the digest can be uploaded again. */
static int
quarantine(const struct art_store *s, const char *path, const char *hex)
{
    char *qdir = xasprintf("%s/%s", s->root, ART_QUARANTINE);
    char *qpath = xasprintf("%s/%s%s.%lld", qdir, hex, ART_SUFFIX, (long long)time(NULL));
    int ret = -1;

    if (mkdir(qdir, 0700) < 0 && errno != EEXIST)
        goto out;
    if (rename(path, qpath) < 0)
        goto out;
    ret = 0;
out:
    free(qdir);
    free(qpath);
    return ret;
}

static int
is_hex_prefix(const char *name)
{
    return strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

/* Verify the files of one prefix directory. */
static void
fsck_dir(const struct art_store *s, struct art_fsck *f, const char *prefix)
{
    char *dir = xasprintf("%s/%s", s->root, prefix);
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d) {
        fsck_report(f, ART_FSCK_STRAY, prefix, NULL, "cannot open directory");
        f->stray++;
        free(dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char hex[APP_SHA256_HEX];
        struct app_err err = {0};
        struct art_info info;
        size_t len = strlen(e->d_name);
        char *path;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (len != 64 + strlen(ART_SUFFIX) || strcmp(e->d_name + 64, ART_SUFFIX) != 0 ||
            strncmp(e->d_name, prefix, 2) != 0) {
            char *name = xasprintf("%s/%s", prefix, e->d_name);

            fsck_report(f, ART_FSCK_STRAY, name, NULL, "not an artifact file name");
            f->stray++;
            free(name);
            continue;
        }
        memcpy(hex, e->d_name, 64);
        hex[64] = '\0';
        if (!sha256_hex_valid(hex)) {
            fsck_report(f, ART_FSCK_STRAY, e->d_name, NULL, "not an artifact file name");
            f->stray++;
            continue;
        }
        f->checked++;
        if (art_store_verify(s, hex, &info, &err) == 0) {
            fsck_report(f, ART_FSCK_OK, hex, &info, NULL);
            continue;
        }
        f->corrupt++;
        fsck_report(f, ART_FSCK_CORRUPT, hex, NULL, err.msg);
        path = art_store_path(s, hex);
        if (f->repair && quarantine(s, path, hex) == 0) {
            f->quarantined++;
            fsck_report(f, ART_FSCK_QUARANTINE, hex, NULL, "moved to quarantine");
        }
        free(path);
        app_err_release(&err);
    }
    closedir(d);
    free(dir);
}

/* After the walk every stored file was verified: report and clear the marks. */
static void
fsck_suspects(const struct art_store *s, struct art_fsck *f)
{
    char *dir = xasprintf("%s/%s", s->root, ART_SUSPECT);
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d) {
        while ((e = readdir(d)) != NULL) {
            char *path;

            if (!sha256_hex_valid(e->d_name))
                continue;
            f->suspects++;
            fsck_report(f, ART_FSCK_SUSPECT, e->d_name, NULL,
                        "failed a checksum while being served; re-verified by this fsck");
            path = xasprintf("%s/%s", dir, e->d_name);
            unlink(path);
            free(path);
        }
        closedir(d);
    }
    free(dir);
}

int
art_store_fsck(const struct art_store *s, struct art_fsck *f, struct app_err *err)
{
    DIR *d = opendir(s->root);
    struct dirent *e;
    char **prefixes = NULL;
    size_t n = 0;

    f->checked = f->corrupt = f->stray = f->quarantined = f->suspects = 0;
    f->temps = s->swept; /* removed when the store was opened */
    if (!d)
        return io_fail(err, "cannot open store", s->root);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, ART_QUARANTINE) == 0 || strcmp(e->d_name, ART_SUSPECT) == 0)
            continue;
        if (is_temp_name(e->d_name)) {
            if (sweep_temp(dirfd(d), e->d_name)) {
                f->temps++;
                fsck_report(f, ART_FSCK_TEMP, e->d_name, NULL, "stale temp file removed");
            }
            continue;
        }
        if (!is_hex_prefix(e->d_name)) {
            f->stray++;
            fsck_report(f, ART_FSCK_STRAY, e->d_name, NULL, "not part of the store");
            continue;
        }
        prefixes = xrealloc(prefixes, (n + 1) * sizeof(*prefixes));
        prefixes[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        fsck_dir(s, f, prefixes[i]);
        free(prefixes[i]);
    }
    free(prefixes);
    fsck_suspects(s, f);
    return 0;
}
