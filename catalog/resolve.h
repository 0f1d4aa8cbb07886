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
#define RES_LOCK_ID_LEN 72 /* "sha256:" + 64 hex digits + NUL, with room */
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

/* Resolution problem kinds after the flag compiler's (enum flag_issue_kind), in
 * reporting order. */
enum res_issue_kind {
    RES_PYTHON_REQUIRED = 100,
    RES_INVALID_REQUIREMENT,
    RES_UNSUPPORTED,
    RES_NOT_SATISFIED,
    RES_UPGRADE_BLOCKED,
    RES_NO_RUNTIME,
};

/* One problem or warning, typed: kind orders problems (then name); the subject
 * fields that do not apply are NULL. Rendered to {code, message, <subject
 * fields>} only at the edge (res_issues_render). */
struct res_issue {
    int kind; /* enum flag_issue_kind or enum res_issue_kind; 0 for warnings */
    char *code, *message;
    char *name;             /* a package (unsupported, not satisfied) */
    char *flag, *date;      /* the flag or date a flag issue is about */
    char *field;            /* the input field of a bad date */
    char *suggestion;       /* "did you mean" */
    char *line;             /* an invalid requirement line */
    char *requirement;      /* a requirement not satisfied ... */
    char *resolved_version; /* ... and the version the set has */
    char *python_line;      /* a line without a supported successor */
    char *from, *to;        /* runtimes of a blocked upgrade ... */
    char **packages;        /* ... and the packages blocking it, sorted */
    size_t n_packages;
};

struct res_issues {
    struct res_issue *v;
    size_t n;
};

/* Free every issue and the vector; safe on a zeroed struct. */
void res_issues_release(struct res_issues *is);

/* Append the issues as JSON objects to *arr (created when NULL). */
void res_issues_render(const struct res_issues *is, cJSON **arr);

struct res_output {
    cJSON *lock;      /* the lock object */
    char *lock_bytes; /* canonical bytes */
    size_t lock_len;
    char lock_id[RES_LOCK_ID_LEN]; /* "sha256:<hex>" */
    cJSON *policy;                 /* {as_of, python_line, end_of_support, status, upgrade} */
    cJSON *warnings;               /* [{code, message, ...}] */
    int as_of;                     /* the as_of date used */
};

/* Resolve. When the input does not resolve returns -1 with err->code
 * APP_EUNPROCESSABLE, a summary message, and every problem in *issues (optional;
 * the caller releases it) in a stable order: by kind, then name. Other failures
 * (too many inputs: APP_ETOOLARGE; a broken snapshot: APP_EINTERNAL) leave *issues
 * empty. */
int res_resolve_issues(const struct snap *s, const struct res_input *in, struct res_output *out,
                       struct res_issues *issues, struct app_err *err);

/* res_resolve_issues with the problems rendered into err->errors (the edge form
 * the API serves). */
int res_resolve(const struct snap *s, const struct res_input *in, struct res_output *out,
                struct app_err *err);
void res_output_release(struct res_output *out);

/* The response document {lock_id, lock, policy, warnings}; borrows nothing. */
cJSON *res_response(const struct res_output *out);

#endif
