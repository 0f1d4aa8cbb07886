/* catalog/snapjson.h: the signed catalog snapshot document (DESIGN §8, issue 14).
 *
 * Pure: a struct snap to its canonical JSON document and back, so the server can
 * publish what it resolves from and a client can resolve from exactly the same data.
 * The document (GET /v1/catalog/snapshot) is one canonical JSON object:
 *
 *   {"format":1, "version":N, "issued_at":T, "expires":T, "previous":"sha256:.."|null,
 *    "python_lines":[{line, first_release, end_of_support}],
 *    "runtimes":[{id, pyodide, python, python_line, emscripten, abi,
 *                 artifacts:[{role, file_name, sha256, size, stored}]}],
 *    "package_sets":[{id, runtime, packages:[{name, version, file_name, sha256,
 *                     size|null, stored, package_type, install_dir, depends, imports}]}],
 *    "flags":[{name, disable|null, enable_date|null, experimental,
 *              implied_by:[{flag, after}], bundle:{runtime, package_set, order}|null}]}
 *
 * Every field the resolver reads is in it, and nothing else: a lock computed from a
 * parsed document is byte-identical to the server's. Drafts are never in a snap.
 * `version` only grows (the catalog's event sequence), T is RFC 3339 UTC, `previous`
 * is the sha256 of the document issued before this one.
 */
#ifndef CATALOG_SNAPJSON_H
#define CATALOG_SNAPJSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "catalog/snapshot.h"

#define SNAPJSON_FORMAT 1
/* The largest snapshot document a client accepts (five runtimes with ~350 packages
 * each are about 1 MiB). */
#define SNAPJSON_MAX (64u * 1024 * 1024)
#define SNAPJSON_DIGEST_LEN 72 /* "sha256:" + 64 hex + NUL */

struct snap_meta {
    long long version;
    long long issued_at, expires;       /* seconds since the epoch (UTC) */
    char previous[SNAPJSON_DIGEST_LEN]; /* "" when there is none */
};

/* The document for s with meta m; the caller frees it. */
cJSON *snap_json(const struct snap *s, const struct snap_meta *m);

/* Parse a document (already verified by the caller or not: every field is checked
 * for type and shape). Returns a snap with refs 1 and fills *m; NULL with
 * APP_EINVAL naming the first bad field. */
struct snap *snap_parse(const char *bytes, size_t len, struct snap_meta *m, struct app_err *err);

#endif
