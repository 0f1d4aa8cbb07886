/* executor/lockfiles.h: the files a verified lock needs (its core artifacts by role,
 * then its packages) and making them present in the cache.
 *
 * A lock's "artifacts" carry a role ("core-wasm", "core-js", "loader", "stdlib",
 * "lock") and its "packages" none; both carry sha256, size and file_name. Which
 * signatures are trusted is the caller's business: exe_fetch_files checks each
 * download through the exe_fetch's verify callback (the client's pinned keys).
 */
#ifndef EXECUTOR_LOCKFILES_H
#define EXECUTOR_LOCKFILES_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "executor/cache.h"

/* One file of a lock: a core artifact (role set) or a package (role NULL). */
struct exe_lock_file {
    struct exe_blob blob; /* hex, size, name (= file_name) */
    const char *role;     /* "core-wasm", ...; "core" when the lock names none; NULL for packages */
};

/* The files of lock, artifacts first, then packages; *out (caller frees) borrows its
 * strings from lock. Fails with APP_EUNAVAILABLE when an entry has no valid sha256
 * or a file_name that is not a plain file name (a malformed lock is the server's
 * fault, not the user's). */
int exe_lock_files(const cJSON *lock, struct exe_lock_file **out, size_t *n, struct app_err *err);

/* Make every file present in cache with f (server, verify callback, progress): the
 * cached ones are checked, the others downloaded and verified (exe_cache_fetch).
 * f's totals are reset and filled; each file's blob.downloaded and wire_bytes are
 * set. Fails as exe_cache_fetch does. */
int exe_fetch_files(struct exe_cache *cache, struct exe_fetch *f, struct exe_lock_file *files,
                    size_t n, struct app_err *err);

#endif
