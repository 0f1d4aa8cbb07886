/* artifacts/idcache.c: the identity cache (see idcache.h). */
#include "artifacts/idcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "app/fs.h"
#include "app/hash.h"
#include "app/mem.h"

#define IDC_CHUNK (256 * 1024)

struct art_idcache {
    pthread_mutex_t mu;
    char *dir;
    uint64_t max, total;
};

struct idc_file {
    char name[APP_SHA256_HEX];
    struct timespec mtime;
    uint64_t size;
};

static int
is_hex_name(const char *s)
{
    return strlen(s) == APP_SHA256_HEX - 1 && sha256_hex_valid(s);
}

struct art_idcache *
art_idcache_open(const char *data_dir, uint64_t max_bytes, struct app_err *err)
{
    struct art_idcache *ic = xcalloc(1, sizeof(*ic));
    DIR *d;
    struct dirent *e;

    pthread_mutex_init(&ic->mu, NULL);
    ic->dir = xasprintf("%s/identity-cache", data_dir);
    ic->max = max_bytes;
    if (fs_mkdir_p(ic->dir) < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create the identity cache: %s", strerror(errno));
        art_idcache_free(ic);
        return NULL;
    }
    d = opendir(ic->dir);
    while (d && (e = readdir(d))) {
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        if (!is_hex_name(e->d_name)) {
            /* A temp file of a fill interrupted by a crash. */
            unlinkat(dirfd(d), e->d_name, 0);
            continue;
        }
        if (fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            ic->total += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return ic;
}

void
art_idcache_free(struct art_idcache *ic)
{
    if (!ic)
        return;
    pthread_mutex_destroy(&ic->mu);
    free(ic->dir);
    free(ic);
}

static int
cmp_mtime(const void *a, const void *b)
{
    const struct idc_file *x = a, *y = b;

    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return 0;
}

/* With ic->mu held: remove least recently used files until need more bytes fit. */
static void
evict(struct art_idcache *ic, uint64_t need)
{
    struct idc_file *fs = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(ic->dir);
    struct dirent *e;

    if (!d)
        return;
    ic->total = 0;
    while ((e = readdir(d))) {
        struct stat st;

        if (!is_hex_name(e->d_name) || fstatat(dirfd(d), e->d_name, &st, 0) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            fs = xrealloc(fs, cap * sizeof(*fs));
        }
        memcpy(fs[n].name, e->d_name, APP_SHA256_HEX);
        fs[n].mtime = st.st_mtim;
        fs[n].size = (uint64_t)st.st_size;
        ic->total += fs[n].size;
        n++;
    }
    qsort(fs, n, sizeof(*fs), cmp_mtime);
    for (size_t i = 0; i < n && ic->total + need > ic->max; i++) {
        if (unlinkat(dirfd(d), fs[i].name, 0) == 0)
            ic->total -= fs[i].size;
    }
    closedir(d);
    free(fs);
}

/* Decompress hex into a temp file, check digest and size, rename into place. */
static int
fill(struct art_idcache *ic, const struct art_store *store, const char *hex, uint64_t size,
     const char *path, struct app_err *err)
{
    struct art_reader *rd = art_reader_open(store, hex, 0, err);
    char *tmp = xasprintf("%s/.fill.%s.%ld.%lx", ic->dir, hex, (long)getpid(),
                          (unsigned long)pthread_self());
    char *buf = xmalloc(IDC_CHUNK), got[APP_SHA256_HEX];
    crypto_hash_sha256_state sha;
    unsigned char digest[crypto_hash_sha256_BYTES];
    uint64_t n = 0;
    int fd = -1, ret = -1, rc;

    if (!rd)
        goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create an identity cache file: %s", strerror(errno));
        goto out;
    }
    crypto_hash_sha256_init(&sha);
    for (;;) {
        ssize_t r = art_reader_read(rd, buf, IDC_CHUNK, err);

        if (r < 0)
            goto out;
        if (r == 0)
            break;
        crypto_hash_sha256_update(&sha, (unsigned char *)buf, (size_t)r);
        n += (uint64_t)r;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(fd, buf + off, (size_t)(r - off));

            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                app_fail(err, APP_EINTERNAL, "cannot write the identity cache: %s",
                         strerror(errno));
                goto out;
            }
            off += w;
        }
    }
    crypto_hash_sha256_final(&sha, digest);
    hex_encode(digest, sizeof(digest), got);
    /* The store verified on write; a disk that changed since must not be copied. */
    if (n != size || strcmp(got, hex) != 0) {
        app_fail(err, APP_EINTERNAL, "stored artifact %s does not match its digest", hex);
        goto out;
    }
    /* A hit is served by size alone, never re-hashed, so the bytes must be on disk
     * before the name is: without the fsync a crash can leave a full-size file of
     * zeros under the new name on a delayed-allocation filesystem. A copy that never
     * got its name is a temp file, removed at open. */
    if (fsync(fd) != 0) {
        app_fail(err, APP_EINTERNAL, "cannot write the identity cache: %s", strerror(errno));
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc != 0) {
        app_fail(err, APP_EINTERNAL, "cannot write the identity cache: %s", strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        app_fail(err, APP_EINTERNAL, "cannot fill the identity cache: %s", strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (ret < 0)
        unlink(tmp);
    art_reader_free(rd);
    free(tmp);
    free(buf);
    return ret;
}

int
art_idcache_get(struct art_idcache *ic, const struct art_store *store, const char *hex,
                uint64_t size, int *fd, struct app_err *err)
{
    char *path;
    struct stat st;
    int ret = -1;

    if (!ic || size > ic->max || !sha256_hex_valid(hex))
        return 0;
    path = xasprintf("%s/%s", ic->dir, hex);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0 && fstat(*fd, &st) == 0 && (uint64_t)st.st_size == size) {
        futimens(*fd, NULL); /* recently used */
        ret = 1;
        goto out;
    }
    if (*fd >= 0) {
        /* Wrong size (a torn copy after a crash): replace it. */
        close(*fd);
        *fd = -1;
        unlink(path);
    }
    pthread_mutex_lock(&ic->mu);
    if (ic->total + size > ic->max)
        evict(ic, size);
    pthread_mutex_unlock(&ic->mu);
    if (fill(ic, store, hex, size, path, err) < 0)
        goto out;
    pthread_mutex_lock(&ic->mu);
    ic->total += size;
    pthread_mutex_unlock(&ic->mu);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        app_fail(err, APP_EINTERNAL, "cannot open the identity cache: %s", strerror(errno));
        goto out;
    }
    ret = 1;
out:
    free(path);
    return ret;
}
