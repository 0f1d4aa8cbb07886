/* cli/lockfiles.h: the glue between verified locks and the executor's cache: which
 * blobs a lock needs, fetching them with signature checks, and re-verifying. */
#ifndef CLI_LOCKFILES_H
#define CLI_LOCKFILES_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "cli/state.h"
#include "cli/locks.h"
#include "executor/cache.h"

/* One file of a lock: a core artifact (role set) or a package (role NULL). */
struct cli_lock_file {
    struct exe_blob blob; /* hex, size, name (= file_name) */
    const char *role;     /* "core-wasm", ...; NULL for packages */
};

/* The files of a lock (pointers borrow from lock). Fails with APP_EUNAVAILABLE
 * when the lock is malformed (bad digest, file name). */
int cli_lock_files(const cJSON *lock, struct cli_lock_file **out, size_t *n, struct app_err *err);

/* Make every file of lock present in cache: fetch what is missing with its
 * signature verified against the pinned key, check what is there. Files the
 * server does not store and the cache does not have are an error naming them. */
int cli_fetch_lock(struct cli *c, struct exe_cache *cache, const cJSON *lock,
                   struct cli_lock_file *files, size_t n, struct exe_fetch *stats,
                   struct app_err *err);

/* Full check of one cached blob: SHA-256 against its name and size, and its stored
 * signature against the pinned keys (kind artifact). 0 good, -1 with err. */
int cli_verify_blob(struct cli *c, struct exe_cache *cache, const char *hex, uint64_t size,
                    struct app_err *err);

/* Only the signature part of cli_verify_blob (the caller hashed already). */
int cli_verify_signature(struct cli *c, struct exe_cache *cache, const char *hex,
                         struct app_err *err);

#endif
