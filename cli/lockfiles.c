/* cli/lockfiles.c: fetch a lock's files into the cache with signatures checked. */
#include "cli/lockfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "app/buf.h"
#include "app/fs.h"
#include "app/hash.h"
#include "app/mem.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/trust.h"

#define BLAKE_CHUNK (256 * 1024)

static int
add_file(const cJSON *e, const char *role, struct cli_lock_file *f, struct app_err *err)
{
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(e, "sha256");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "file_name");

    if (!cJSON_IsString(sha) || !sha256_hex_valid(sha->valuestring))
        return app_fail(err, APP_EUNAVAILABLE, "lock entry '%s' has no valid sha256",
                        cli_str(e, "name"));
    if (!cJSON_IsString(name) || fs_name_check(name->valuestring, NULL) < 0)
        return app_fail(err, APP_EUNAVAILABLE, "lock entry %.16s has a bad file_name",
                        sha->valuestring);
    f->blob.hex = sha->valuestring;
    f->blob.name = name->valuestring;
    f->blob.size = cJSON_IsNumber(size) && size->valuedouble >= 0 ? (uint64_t)size->valuedouble
                                                                  : EXE_SIZE_UNKNOWN;
    f->role = role;
    return 0;
}

int
cli_lock_files(const cJSON *lock, struct cli_lock_file **out, size_t *n, struct app_err *err)
{
    const cJSON *arts = cJSON_GetObjectItemCaseSensitive(lock, "artifacts");
    const cJSON *pkgs = cJSON_GetObjectItemCaseSensitive(lock, "packages"), *e;
    size_t cap = (size_t)cJSON_GetArraySize(arts) + (size_t)cJSON_GetArraySize(pkgs);
    struct cli_lock_file *fs = xcalloc(cap ? cap : 1, sizeof(*fs));
    size_t k = 0;

    cJSON_ArrayForEach (e, arts) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(e, "role");

        if (add_file(e, cJSON_IsString(role) ? role->valuestring : "core", &fs[k], err) < 0)
            goto fail;
        k++;
    }
    cJSON_ArrayForEach (e, pkgs) {
        if (add_file(e, NULL, &fs[k], err) < 0)
            goto fail;
        k++;
    }
    *out = fs;
    *n = k;
    return 0;
fail:
    free(fs);
    return -1;
}

struct verify_ctx {
    struct cli *c;
};

static int
verify_download(void *ctx, const struct exe_blob *b, const uint8_t blake2b[64], uint64_t size,
                const char *sig_text, struct app_err *err)
{
    struct verify_ctx *v = ctx;

    if (cli_trust_verify_prehashed(v->c, blake2b, size, sig_text, "artifact", b->hex, err) < 0)
        return cli_wrap(err, APP_EVERIFY, "download of %s refused", b->name);
    return 0;
}

int
cli_fetch_lock(struct cli *c, struct exe_cache *cache, const cJSON *lock,
               struct cli_lock_file *files, size_t n, struct exe_fetch *stats, struct app_err *err)
{
    struct exe_blob *bs = xcalloc(n ? n : 1, sizeof(*bs));
    struct verify_ctx v = {c};
    int ret = -1;

    /* "stored" in a lock is what the server had when it issued the lock: bytes
     * uploaded since are fetched all the same, and a 404 says what is missing. */
    (void)lock;
    if (cli_trust_load(c, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        bs[i] = files[i].blob;
    memset(stats, 0, sizeof(*stats));
    stats->server = c->offline ? NULL : c->server;
    stats->static_tree = !c->offline && cli_server_is_static(c);
    stats->verify = verify_download;
    stats->verify_ctx = &v;
    stats->progress = c->tty_err && !c->quiet && !c->json;
    if (exe_cache_fetch(cache, stats, bs, n, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        files[i].blob.downloaded = bs[i].downloaded;
        files[i].blob.wire_bytes = bs[i].wire_bytes;
    }
    ret = 0;
out:
    free(bs);
    return ret;
}

static int
blake2b_file(const char *path, uint8_t out[64], uint64_t *size, struct app_err *err)
{
    crypto_generichash_state st;
    unsigned char *chunk = xmalloc(BLAKE_CHUNK);
    int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

    *size = 0;
    if (fd < 0) {
        app_fail(err, APP_EINTERNAL, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    crypto_generichash_init(&st, NULL, 0, 64);
    for (;;) {
        ssize_t r = read(fd, chunk, BLAKE_CHUNK);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            app_fail(err, APP_EINTERNAL, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        crypto_generichash_update(&st, chunk, (size_t)r);
        *size += (uint64_t)r;
    }
    crypto_generichash_final(&st, out, 64);
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    free(chunk);
    return ret;
}

int
cli_verify_signature(struct cli *c, struct exe_cache *cache, const char *hex, struct app_err *err)
{
    char *path = NULL, *sig = NULL;
    uint8_t b2[64];
    uint64_t got = 0;
    int ret = -1;

    sig = exe_cache_signature(cache, hex);
    if (!sig) {
        app_fail(err, APP_EVERIFY, "cache file %.16s has no stored signature", hex);
        goto out;
    }
    path = exe_cache_blob_path(cache, hex);
    if (blake2b_file(path, b2, &got, err) < 0)
        goto out;
    if (cli_trust_verify_prehashed(c, b2, got, sig, "artifact", hex, err) < 0)
        goto out;
    ret = 0;
out:
    free(path);
    free(sig);
    return ret;
}

int
cli_verify_blob(struct cli *c, struct exe_cache *cache, const char *hex, uint64_t size,
                struct app_err *err)
{
    int rc = exe_cache_check(cache, hex, size, 1, err);

    if (rc < 0)
        return -1;
    if (rc == 0)
        return app_fail(err, APP_EVERIFY, "%.16s is not in the cache (run 'almanac fetch')", hex);
    return cli_verify_signature(c, cache, hex, err);
}
