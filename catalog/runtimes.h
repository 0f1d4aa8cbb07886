/* catalog/runtimes.h: Pyodide runtimes and their core artifacts (DESIGN §2).
 *
 * A runtime is created as a draft and published once; a published runtime is
 * immutable (409) except for `notes` and `deprecated`. Its core files are recorded by
 * role with sha256 and size, and each digest is known in the artifacts table
 * (stored or external).
 */
#ifndef CATALOG_RUNTIMES_H
#define CATALOG_RUNTIMES_H

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"

/* The longest object id (runtimes, package-set runtime parts): room for any real
 * "pyodide-<version>" with a suffix, short enough for a URL segment and a log line. */
#define CAT_ID_MAX 100

/* The roles a runtime's core files play; publishing needs all of them. */
extern const char *const cat_runtime_roles[];
extern const size_t cat_n_runtime_roles;

/* 1 when s is a usable object id: [a-z0-9][a-z0-9._-]*, at most CAT_ID_MAX bytes. */
int cat_id_valid(const char *s);

cJSON *cat_runtime_list(struct db *c, struct app_err *err);
cJSON *cat_runtime_get(struct db *c, const char *id, struct app_err *err);

/* Create or replace a draft runtime from {pyodide, python, emscripten, abi,
 * release_date, artifacts: [{role, file_name, sha256, size}], notes?, deprecated?}.
 * On a published runtime only notes/deprecated may differ (else 409). */
cJSON *cat_runtime_put(struct db *c, const char *id, const cJSON *body, int *created,
                       struct app_err *err);

/* Publish a draft (all core roles present, python line known). Publishing twice is a
 * no-op that returns the object. */
cJSON *cat_runtime_publish(struct db *c, const char *id, struct app_err *err);

#endif
