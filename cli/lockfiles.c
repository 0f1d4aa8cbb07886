/* cli/lockfiles.c: fetch a lock's files into the cache with signatures checked. */
#include "cli/lockfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "app/mem.h"
#include "artifacts/minisign.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/trust.h"

#define BLAKE_CHUNK (256 * 1024)

static int
verify_download(void *ctx, const struct exe_blob *b, const uint8_t blake2b[ART_BLAKE2B_LEN],
                uint64_t size, const char *sig_text, struct app_err *err)
{
    struct cli *c = ctx;

    if (cli_trust_verify_prehashed(c, blake2b, size, sig_text, "artifact", b->hex, err) < 0)
        return cli_wrap(err, APP_EVERIFY, "download of %s refused", b->name);
    return 0;
}

int
cli_fetch_setup(struct cli *c, struct exe_fetch *f, struct app_err *err)
{
    memset(f, 0, sizeof(*f));
    if (cli_trust_load(c, err) < 0)
        return -1;
    f->server = c->offline ? NULL : c->server;
    f->static_tree = !c->offline && cli_server_is_static(c);
    f->verify = verify_download;
    f->verify_ctx = c;
    f->progress = c->tty_err && !c->quiet && !c->json;
    return 0;
}

int
cli_fetch_lock(struct cli *c, struct exe_cache *cache, struct exe_lock_file *files, size_t n,
               struct exe_fetch *stats, struct app_err *err)
{
    /* "stored" in a lock is what the server had when it issued the lock: bytes
     * uploaded since are fetched all the same, and a 404 says what is missing. */
    if (cli_fetch_setup(c, stats, err) < 0)
        return -1;
    return exe_fetch_files(cache, stats, files, n, err);
}

static int
blake2b_file(const char *path, uint8_t out[ART_BLAKE2B_LEN], uint64_t *size, struct app_err *err)
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
    uint8_t b2[ART_BLAKE2B_LEN];
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
