/* catalog/resolve.h: date + flags + requirements -> one exact lock (DESIGN §3-7).
 *
 * Pure: a function of the snapshot, the input and `today`. The lock is a JSON object
 * serialized canonically (sorted keys, no whitespace); its id is "sha256:" + hex of
 * those bytes, so identical inputs on the same catalog give byte-identical locks.
 * Artifact URLs in the lock are server-relative ("/v1/artifacts/sha256/<hex>") so the
 * bytes do not depend on how the server was reached.
 */
#ifndef CATALOG_RESOLVE_H
#define CATALOG_RESOLVE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "catalog/snapshot.h"

#define RES_LOCK_FORMAT 1
#define RES_MAX_FLAGS 256
#define RES_MAX_REQUIREMENTS 1024

struct res_input {
    const char *date;
    const char *const *flags;
    size_t n_flags;
    const char *const *requirements; /* requirements.txt lines */
    size_t n_requirements;
    const char *as_of; /* NULL: today */
    int allow_experimental;
    int python_entry; /* a Python entry point was given (needs python_workers) */
    int today;
};

struct res_output {
    cJSON *lock;      /* the lock object */
    char *lock_bytes; /* canonical bytes */
    size_t lock_len;
    char lock_id[72]; /* "sha256:<hex>" */
    cJSON *policy;    /* {as_of, python_line, end_of_support, status, upgrade} */
    cJSON *warnings;  /* [{code, message, ...}] */
    int as_of;        /* the as_of date used */
};

/* Resolve. On failure returns -1 with err->code APP_EUNPROCESSABLE and every
 * problem in err->errors, in a stable order (by kind, then subject). */
int res_resolve(const struct snap *s, const struct res_input *in, struct res_output *out,
                struct app_err *err);
void res_output_release(struct res_output *out);

/* The response document {lock_id, lock, policy, warnings}; borrows nothing. */
cJSON *res_response(const struct res_output *out);

#endif
