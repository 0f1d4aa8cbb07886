/* catalog/locks.h: the store of issued locks, by id (the locks table).
 *
 * A lock is stored here with its exact bytes when it must outlive the server's
 * response cache: a worker pin, an end-of-support move, or a resolve asked to keep it
 * (`keep` with a publish token). Other resolves are not stored (a hostile client
 * must not grow the database): they live in server/resolve_api.c's cache. GET
 * /v1/locks/{id} and the workers registry give stored locks back byte for byte. Rows
 * are never changed: storing an id again is a no-op. The caller owns the
 * transaction, if any.
 */
#ifndef CATALOG_LOCKS_H
#define CATALOG_LOCKS_H

#include <stddef.h>

#include "app/err.h"
#include "db/db.h"

/* Store the len bytes of lock id (both borrowed), idempotently: an id already
 * stored keeps its first bytes. 500 on a database error. */
int cat_lock_store(struct db *c, const char *id, const char *bytes, size_t len,
                   struct app_err *err);

/* Load the stored bytes of lock id into *bytes (NUL-terminated, the caller frees)
 * and *len. 404 (APP_ENOTFOUND) when the id was never issued, 500 on a database
 * error. The id is not checked for shape; callers facing clients do that. */
int cat_lock_load(struct db *c, const char *id, char **bytes, size_t *len, struct app_err *err);

#endif
