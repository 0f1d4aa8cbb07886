/* cli/lockfiles.h: the glue between the client's pinned keys and the executor's
 * cache: a lock's files (executor/lockfiles.h) fetched with their signatures checked
 * against the pinned keys, and cached blobs re-verified. */
#ifndef CLI_LOCKFILES_H
#define CLI_LOCKFILES_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "cli/state.h"
#include "cli/locks.h"
#include "executor/cache.h"
#include "executor/lockfiles.h"

/* Set f up for this invocation: the server (none under --offline, a static tree's
 * paths for a static mirror), downloads verified against the pinned keys (loaded
 * here), a progress bar on a terminal. f->verify_ctx points at c. */
int cli_fetch_setup(struct cli *c, struct exe_fetch *f, struct app_err *err);

/* Make every file of a lock present in cache: fetch what is missing with its
 * signature verified against the pinned key, check what is there. Files the
 * server does not store and the cache does not have are an error naming them.
 * *stats gets the totals. */
int cli_fetch_lock(struct cli *c, struct exe_cache *cache, struct exe_lock_file *files, size_t n,
                   struct exe_fetch *stats, struct app_err *err);

/* Full check of one cached blob: SHA-256 against its name and size, and its stored
 * signature against the pinned keys (kind artifact). 0 good, -1 with err. */
int cli_verify_blob(struct cli *c, struct exe_cache *cache, const char *hex, uint64_t size,
                    struct app_err *err);

/* Only the signature part of cli_verify_blob (the caller hashed already). */
int cli_verify_signature(struct cli *c, struct exe_cache *cache, const char *hex,
                         struct app_err *err);

#endif
