/* executor/cache.h: the local content-addressed artifact cache (DESIGN §10).
 *
 * Layout under the cache root (ALMANAC_CACHE, default ~/.cache/almanac):
 *   blobs/sha256/<ab>/<hex>       the identity bytes of digest <hex>, read-only
 *   blobs/sha256/<ab>/<hex>.sig   the minisign signature it was verified with
 *   blobs/sha256/<ab>/<hex>.ok    a stamp: device, inode, size, mtime and ctime of
 *                                 the blob when it was last hashed and found right
 *   blobs/tmp/                    downloads in progress
 *   workers/, snapshots/          per-worker layouts and memory snapshots
 *
 * Invariants: a blob is renamed into place only after its SHA-256, its size and its
 * signature were checked, so a name always promises its content; a blob is never
 * fetched when a good one is present. Checking a blob before use compares the
 * stamp with the file (a write through any hard link changes mtime and ctime) and
 * hashes it again whenever they differ; a full check always hashes. A blob whose
 * bytes do not match its name is refused (APP_EVERIFY), never used and never
 * silently replaced: `almanac verify --repair` removes it.
 *
 * Downloads run concurrently (curl multi), ask for the zstd representation
 * (`Accept-Encoding: zstd`) and decompress it with libzstd as it streams, hashing
 * SHA-256 and BLAKE2b-512 of the identity bytes on the way.
 */
#ifndef EXECUTOR_CACHE_H
#define EXECUTOR_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "app/err.h"
#include "app/hash.h"

#define EXE_SIZE_UNKNOWN UINT64_MAX

struct exe_cache;

/* Open (creating) the cache at root, or at ALMANAC_CACHE / ~/.cache/almanac when
 * root is NULL. */
struct exe_cache *exe_cache_open(const char *root, struct app_err *err);
void exe_cache_free(struct exe_cache *c);

/* The cache root (borrowed). */
const char *exe_cache_root(const struct exe_cache *c);

/* The path of blob hex (caller frees); it may not exist. */
char *exe_cache_blob_path(const struct exe_cache *c, const char *hex);

/* Check blob hex: returns 1 when present and good, 0 when absent, -1 when present
 * but wrong (APP_EVERIFY: its digest or size differs) or unreadable. size may be
 * EXE_SIZE_UNKNOWN. full: hash even when the stamp matches. */
int exe_cache_check(struct exe_cache *c, const char *hex, uint64_t size, int full,
                    struct app_err *err);

/* Record that blob hex is good as it is now (after linking it changed its ctime). */
void exe_cache_restamp(struct exe_cache *c, const char *hex);

/* The stored signature of blob hex (caller frees), NULL when there is none. */
char *exe_cache_signature(const struct exe_cache *c, const char *hex);

/* One artifact to make present. */
struct exe_blob {
    const char *hex;  /* sha256 of the identity bytes */
    uint64_t size;    /* EXE_SIZE_UNKNOWN when the lock does not say */
    const char *name; /* file name, for messages */
    /* Filled by exe_cache_fetch. */
    int downloaded;      /* 1 when it was fetched in this call */
    uint64_t wire_bytes; /* bytes received (compressed when zstd) */
};

/* Called for each downloaded blob before it is renamed into place: check the
 * signature text against the content's BLAKE2b-512 and size. Return -1 with err to
 * refuse the blob. */
typedef int (*exe_verify_fn)(void *ctx, const struct exe_blob *b, const uint8_t blake2b[64],
                             uint64_t size, const char *sig_text, struct app_err *err);

struct exe_fetch {
    const char *server; /* base URL: blobs come from <server>/v1/artifacts/sha256/<hex>;
                           NULL: offline, a blob missing from the cache is an error */
    int static_tree;    /* server is a static mirror tree: <server>/artifacts/sha256/<hex>.zst
                           and .minisig, plain files */
    exe_verify_fn verify;
    void *verify_ctx;
    int progress;     /* draw a progress bar on stderr */
    int max_parallel; /* 0: default */
    /* Totals, filled by exe_cache_fetch. */
    size_t n_downloaded, n_cached;
    uint64_t bytes_identity, bytes_wire;
};

/* Make every blob of bs present: blobs in the cache are checked (stamp), the others
 * downloaded concurrently with their signatures, verified and renamed into place.
 * All downloads are attempted; the first failure is reported. Failures:
 * APP_EVERIFY digest, size or signature mismatch (the download is dropped);
 * APP_ENOTFOUND the server does not have the bytes; APP_EUNAVAILABLE network or
 * server error; APP_EINTERNAL local I/O. */
int exe_cache_fetch(struct exe_cache *c, struct exe_fetch *f, struct exe_blob *bs, size_t n,
                    struct app_err *err);

/* Walk every blob: hash it, and call fn with its hex, size and the check result
 * (0 good, -1 bad with err filled). repair: remove bad blobs. Returns -1 only when
 * the cache cannot be read. */
struct exe_cache_walk {
    void (*fn)(void *ctx, const char *hex, uint64_t size, int rc, const struct app_err *e);
    void *ctx;
    int repair;
    size_t checked, bad, removed;
};
int exe_cache_verify_all(struct exe_cache *c, struct exe_cache_walk *w, struct app_err *err);

/* Remove blob hex and its stamp and signature (repair). */
int exe_cache_remove(struct exe_cache *c, const char *hex, struct app_err *err);

#endif
