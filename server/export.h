/* server/export.h: `almanacd export-static`: the read side of a data directory as a
 * plain file tree that any web server, object store or CDN serves as is (issue 14).
 *
 *   almanac-mirror.json                 {"almanac_mirror":1, snapshot, version, digest,
 *                                        issued_at, expires, keys, artifacts}
 *   catalog/snapshot.json[.zst|.minisig] the signed catalog snapshot
 *   keys.json, keys/<ID>.pub            the signing keys (current and retired)
 *   artifacts/sha256/<hex>[.zst|.minisig] every stored artifact: identity bytes, the
 *                                        stored zstd frame, its signature
 *
 * No index files, rewrites or content negotiation: the CLI asks for exact names.
 * Artifacts are content-addressed and written once; every file is written to a
 * temporary name and renamed, and the snapshot and the marker last, so a web server
 * serving the tree during a re-export never serves a snapshot naming an artifact
 * that is not there yet.
 */
#ifndef SERVER_EXPORT_H
#define SERVER_EXPORT_H

#include <stddef.h>

#include "app/err.h"
#include "artifacts/store.h"
#include "catalog/snapjson.h"
#include "db/db.h"

/* Export data_dir into out (created); ttl: the snapshot's lifetime in seconds.
 * Prints nothing; *n_artifacts (optional) counts the artifacts in the tree. */
int srv_export_static(const char *data_dir, const char *out, long long ttl, size_t *n_artifacts,
                      struct app_err *err);

/* A tree from documents signed elsewhere (`almanacd mirror --static`): the snapshot
 * and its signature, the keys and rotations exactly as the upstream served them. */
struct srv_export_doc {
    const char *bytes;
    size_t len;
    const char *signature;
    const struct snap_meta *meta;
    const char *digest;
    const char *keys_json;      /* GET /v1/keys */
    const char *rotations_json; /* GET /v1/key-rotations */
};

/* The signature of artifact hex (caller frees). */
typedef int (*srv_export_sig_fn)(void *ctx, const char *hex, char **sig, struct app_err *err);

/* Write the artifacts hexes (held in store, rows in c) with the signatures sig gives,
 * then the keys, then the snapshot and the marker last. */
int srv_export_from(struct db *c, struct art_store *store, const char *out,
                    const char *const *hexes, size_t n, srv_export_sig_fn sig, void *ctx,
                    const struct srv_export_doc *doc, struct app_err *err);

#endif
