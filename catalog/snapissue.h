/* catalog/snapissue.h: issuing the signed catalog snapshot (server library only).
 *
 * The newest issued document lives in the `snapshots` table, so every server thread
 * and every restart serves the same bytes until a new one is issued, and `previous`
 * can name the document before it. A new document is issued when the catalog's
 * version moved (any committed catalog change), when the signing key changed, or
 * when half of the current document's lifetime has passed: clients never see an
 * expired snapshot from a running server even when nothing changed.
 */
#ifndef CATALOG_SNAPISSUE_H
#define CATALOG_SNAPISSUE_H

#include <stddef.h>

#include "app/err.h"
#include "artifacts/minisign.h"
#include "catalog/snapjson.h"
#include "db/db.h"

/* The default lifetime of a snapshot (7 days) and the shortest accepted (tests). */
#define CAT_SNAPSHOT_TTL_DEFAULT (7LL * 86400)
#define CAT_SNAPSHOT_TTL_MIN 2LL
/* Issued documents kept in the table (the newest first). */
#define CAT_SNAPSHOTS_KEPT 8

/* Signs bytes as a snapshot of version that expires at `expires` (seconds since the
 * epoch): *sig (caller frees) is the minisign text, key_id the signing key. */
typedef int (*cat_snapshot_sign_fn)(void *ctx, const char *bytes, size_t len, long long version,
                                    long long expires, char **sig, char key_id[ART_KEY_ID_LEN],
                                    struct app_err *err);

struct cat_snapshot {
    struct snap_meta meta;
    char digest[SNAPJSON_DIGEST_LEN]; /* "sha256:<hex>" of bytes */
    char key_id[ART_KEY_ID_LEN];
    char *bytes; /* canonical document */
    size_t len;
    char *signature;
};

void cat_snapshot_release(struct cat_snapshot *s);

/* The catalog version: the sequence number of the newest catalog event (python
 * lines, runtimes, package sets, flags, artifacts); 0 for an empty catalog. */
int cat_snapshot_version(struct db *c, long long *version, struct app_err *err);

/* The current document: the newest issued one when it is still good for version
 * `version`, key `key_id` and time `now`, else a fresh one built from s (which must
 * have been read at `version`), signed through sign and recorded. ttl is the
 * lifetime in seconds. *out is filled either way. */
int cat_snapshot_current(struct db *c, const struct snap *s, long long version, long long now,
                         long long ttl, const char *key_id, cat_snapshot_sign_fn sign, void *ctx,
                         struct cat_snapshot *out, struct app_err *err);

/* 1 when doc (issued at meta) should be replaced at now with lifetime ttl. */
int cat_snapshot_stale(const struct snap_meta *m, long long now, long long ttl);

#endif
