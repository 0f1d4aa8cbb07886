/* catalog/pkgsets.h: package sets: a dated set of packages for one runtime.
 *
 * Created from a pyodide-lock.json (PUT body), as a draft, then published;
 * published sets are immutable except notes and deprecated. Package names and their
 * depends are PEP 503 normalized on the way in (real locks say `pydantic_core` for the
 * package `pydantic-core`); every depends must name a package of the set. Each
 * package's digest becomes a known (external) artifact until its bytes are uploaded.
 */
#ifndef CATALOG_PKGSETS_H
#define CATALOG_PKGSETS_H

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"

/* 1 when id is "<runtime id>/<YYYY-MM-DD>"; fills rt (caller frees) and date. */
int cat_pkgset_id_split(const char *id, char **runtime, int *date);

cJSON *cat_pkgset_list(struct db *c, struct app_err *err);
/* With packages (sorted by name) unless brief. */
cJSON *cat_pkgset_get(struct db *c, const char *id, int brief, struct app_err *err);

/* Create or replace a draft set from a pyodide-lock.json object; the lock's
 * info.abi_version must match the runtime's ABI. */
cJSON *cat_pkgset_put(struct db *c, const char *id, const cJSON *lock, const char *notes,
                      int *created, struct app_err *err);

cJSON *cat_pkgset_publish(struct db *c, const char *id, struct app_err *err);

/* A pyodide-lock.json for the set whose file names are this server's artifact URLs
 * under base_url (the configured --public-url, e.g. "https://almanac.example"; ""
 * for server-relative URLs); the caller frees. */
cJSON *cat_pkgset_export(struct db *c, const char *id, const char *base_url, struct app_err *err);

#endif
