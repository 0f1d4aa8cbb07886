/* catalog/req.h: requirements.txt lines parsed into names and version assertions.
 *
 * Pure: no I/O. DESIGN §6: a package set decides versions, so a line carries only a
 * name and, optionally, assertions that are checked against the version the set
 * resolved, never used to choose one.
 *
 * Accepted lines (PEP 508 subset), whitespace allowed between tokens:
 *     name [ '[' extra, ... ']' ] [ op version { ',' op version } ]
 *     op is one of ==  !=  <  <=  >  >=
 * Ignored: blank lines, lines starting with '#', and an inline comment (a '#' after
 * whitespace, as pip does); surrounding whitespace is trimmed. Extras are accepted
 * and ignored. Refused with invalid_requirement: '===', '~=', wildcard versions
 * ('==1.26.*'), URLs and direct references ('name @ url'), options ('-r', '-e',
 * '--hash'), environment markers (';'), line continuations ('\'), control
 * characters, malformed names and versions, lines over REQ_LINE_MAX bytes, more than
 * REQ_MAX_SPECS assertions or REQ_MAX_EXTRAS extras for one name. Names are
 * normalized per PEP 503. The same name on several lines is one requirement holding
 * all their assertions and extras.
 *
 * Versions follow PEP 440: [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local], with the
 * usual spellings (alpha, beta, c, pre, preview, rev, r, '-N' for post, a leading
 * 'v', '-', '_' or '.' separators, case-insensitive). They are ordered as PEP 440
 * orders them: numeric release components, missing ones are 0 (1.26 == 1.26.0);
 * 1.0.dev1 < 1.0a1 < 1.0b1 < 1.0rc1 < 1.0 < 1.0.post1; a local label sorts after the
 * same version without one, but an assertion without a local label ignores the
 * candidate's (so '==2.1' holds for 2.1+cpu). Assertions are plain comparisons in
 * that order: '<2' holds for 2.0rc1 (PEP 440's extra pre-release exclusions for
 * choosing versions do not apply to checking one).
 */
#ifndef CATALOG_REQ_H
#define CATALOG_REQ_H

#include <stddef.h>

#include "app/err.h"

/* Most release components a version may have ("1.2.3" has 3). */
#define REQ_VERSION_MAX_PARTS 16
/* Limits on one requirement: a lock must not carry whatever a client sends. */
#define REQ_LINE_MAX 512  /* bytes of a line, comment stripped */
#define REQ_MAX_SPECS 32  /* assertions of one name, all its lines together */
#define REQ_MAX_EXTRAS 32 /* distinct extras of one name */

enum req_op {
    REQ_EQ = 0, /* == */
    REQ_NE,     /* != */
    REQ_LT,     /* <  */
    REQ_LE,     /* <= */
    REQ_GT,     /* >  */
    REQ_GE,     /* >= */
};

struct req_spec {
    enum req_op op;
    char *version; /* as written on the line, validated */
};

struct req {
    char *name;             /* normalized (PEP 503) */
    char *line;             /* the first line naming it, comment stripped and trimmed */
    struct req_spec *specs; /* all assertions of all its lines, sorted, no duplicates */
    size_t n_specs, cap_specs;
    char **extras; /* normalized (PEP 503), sorted, no duplicates */
    size_t n_extras;
};

/* The PEP 503 form of name: lower case, each run of '-', '_', '.' becomes one '-'.
 * No validation. The caller frees the result. */
char *req_normalize(const char *name);

/* Split a requirements.txt text of len bytes into lines: on '\n', dropping a '\r'
 * before it and a UTF-8 byte order mark at the start; a final newline does not start
 * an empty line. *lines (free with strv_free) may be NULL when *n is 0.
 * Returns -1 (APP_EINVAL, nothing allocated) when text holds a NUL byte. */
int req_split_text(const char *text, size_t len, char ***lines, size_t *n, struct app_err *err);

/* Parse n lines (a NULL line counts as blank). On success returns 0 with *out (free
 * with req_free_all; NULL when there are no requirements) holding one req per
 * distinct name in order of first appearance. When any line is invalid returns -1,
 * *out NULL, err->code APP_EUNPROCESSABLE and one err->errors entry per invalid
 * line, in line order: {code: "invalid_requirement", message, line}, where line is
 * the line trimmed and without its comment and the message names the reason and the
 * 1-based line number. err may be NULL (the details are dropped). */
int req_parse_lines(const char *const *lines, size_t n, struct req **out, size_t *n_out,
                    struct app_err *err);

/* The canonical form of r, as a lock records it: name, then "[extras]" when there
 * are any (normalized, sorted, deduplicated), then the assertions joined by ','
 * (sorted by version, then operator; versions lower-cased; duplicates dropped).
 * Two requirements that mean the same give the same string. The caller frees it. */
char *req_canonical(const struct req *r);

/* Free n reqs and the array; NULL does nothing. */
void req_free_all(struct req *r, size_t n);

/* 1 when v is a version this module can parse and order, else 0. */
int req_version_valid(const char *v);

/* Order two versions as described above: <0, 0 or >0. A total order: valid versions
 * sort before invalid ones, and invalid ones compare with strcmp. */
int req_version_cmp(const char *a, const char *b);

/* Check version against every assertion of r. Returns 1 when all hold, 0 when one
 * fails and then sets *failed (when failed is not NULL) to the first that fails. An
 * invalid version satisfies only '!=' assertions that differ from it as strings. */
int req_check(const struct req *r, const char *version, const struct req_spec **failed);

/* "==", "!=", ...; static. */
const char *req_op_str(enum req_op op);

#endif
