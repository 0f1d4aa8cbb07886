/* artifacts/idcache.h: a bounded on-disk cache of decompressed hot artifacts
 * (DESIGN §8), so identity downloads are a plain file sent with sendfile instead of
 * zstd decompressed per request.
 *
 * DATA/identity-cache/<hex> holds the identity bytes of a stored artifact. A miss
 * fills it from the store (decompressed, checked against the digest and size while
 * written, then renamed into place: a reader never sees a partial file); a hit
 * touches the file's mtime, and when a fill would pass the byte limit the least
 * recently used files are removed first (an open descriptor keeps serving a file
 * removed under it). An artifact larger than the whole limit is not cached. The
 * cache holds only copies: deleting the directory loses nothing.
 */
#ifndef ARTIFACTS_IDCACHE_H
#define ARTIFACTS_IDCACHE_H

#include <stdint.h>

#include "app/err.h"
#include "artifacts/store.h"

#define ART_IDCACHE_DEFAULT (1024ull * 1024 * 1024) /* 1 GiB */

struct art_idcache;

/* Open (creating) DATA/identity-cache with a limit of max_bytes; temp files of
 * interrupted fills are removed and the sizes of the files there are summed. */
struct art_idcache *art_idcache_open(const char *data_dir, uint64_t max_bytes, struct app_err *err);
void art_idcache_free(struct art_idcache *ic);

/* *fd: a descriptor on the identity bytes of stored artifact hex (size bytes),
 * filled from store on a miss; the caller closes it. Returns 1 on success, 0 when
 * the artifact is not cacheable (larger than the limit), -1 with err on failure
 * (the caller may still stream from the store). */
int art_idcache_get(struct art_idcache *ic, const struct art_store *store, const char *hex,
                    uint64_t size, int *fd, struct app_err *err);

#endif
