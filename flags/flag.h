/* flags/flag.h: the compatibility-flag model and the date+flags compiler.
 *
 * Pure: no I/O, no globals, no clock. The caller passes the flag definitions (a
 * catalog snapshot), the worker's date and flags, and "today"; the compiler returns
 * the enabled set, the errors and the warnings of DESIGN §3. Errors are collected,
 * not just the first, and ordered by kind (the enum order below), then by name.
 *
 * Decisions where DESIGN §3 is silent:
 * - A name given twice is one duplicate_flag error; an unknown name is reported once
 *   however often it is given. A NULL date is invalid_date ("missing"), name "".
 * - After errors, out->enabled is still filled as far as it can be: with an invalid
 *   date only the flags enabled by name; a contradictory flag counts as on (named);
 *   a date in the future is still used. Callers refuse any result with errors.
 * - Only naming an experimental flag needs allow_experimental; one that is on by
 *   date or implication is simply on.
 * - redundant_flag warns for a flag enabled by name that would be on without its
 *   name: by its own enable_date ("is on by default since D") or through an
 *   implication from flags that are on anyway ("is implied by 'x' since D"). Names
 *   are judged in name order, each redundant one dropped before the next, so removing
 *   all warned names at once leaves the enabled set unchanged. No warnings without a
 *   valid date, nor for a flag that already has a contradictory/experimental error.
 * - Bundle ties (two enabled flags with the same order) go to the lower name.
 * - Implications naming an undefined flag never fire.
 */
#ifndef FLAGS_FLAG_H
#define FLAGS_FLAG_H

#include <stddef.h>

struct flag_implied {
    char *flag; /* the implying flag's enable name */
    int after;  /* days since epoch: applies when date >= after */
};

/* The largest bundle order a flag may carry: orders are small ranks (the platform
 * has a handful of bundles), and the cap keeps them in an int wherever they are read
 * (publish checks, the snapshot parser). */
#define FLAG_BUNDLE_ORDER_MAX 1000000

struct flag_def {
    char *name;          /* enable name */
    char *disable;       /* disable name or NULL */
    int has_enable_date; /* on by default for dates >= enable_date */
    int enable_date;
    struct flag_implied *implied;
    size_t n_implied;
    int experimental;
    /* Bundle: bundle_order > 0 when the flag selects a runtime (DESIGN §4), at most
     * FLAG_BUNDLE_ORDER_MAX. */
    int bundle_order;
    char *bundle_runtime;
    char *bundle_package_set;
};

/* Error kinds in their reporting order (DESIGN §3.5). */
enum flag_issue_kind {
    FLAG_INVALID_DATE = 0,
    FLAG_DATE_IN_FUTURE,
    FLAG_UNKNOWN,
    FLAG_DUPLICATE,
    FLAG_CONTRADICTORY,
    FLAG_EXPERIMENTAL,
    FLAG_REDUNDANT, /* a warning, never an error */
};

struct flag_issue {
    enum flag_issue_kind kind;
    char *code;       /* machine code: "invalid_date", ..., "redundant_flag" */
    char *name;       /* the offending flag name or the date string */
    char *message;    /* one human sentence */
    char *suggestion; /* "did you mean" name or NULL (unknown_flag only) */
};

struct flag_input {
    const char *date;         /* compatibility_date as given */
    const char *const *flags; /* compatibility_flags as given */
    size_t n_flags;
    int allow_experimental;
    int today; /* days since epoch (UTC), injected */
};

struct flag_result {
    int date;       /* parsed date (valid only when no invalid_date) */
    char **enabled; /* enable names, sorted by strcmp */
    size_t n_enabled;
    const struct flag_def *bundle; /* enabled bundle flag with the highest order, or NULL */
    struct flag_issue *errors;
    size_t n_errors;
    struct flag_issue *warnings;
    size_t n_warnings;
};

/* Compile a date and flags against defs. Returns 0 when there are no errors, -1
 * when out->errors is non-empty; out is filled either way and must be released with
 * flag_result_release. defs is borrowed and must outlive out (out->bundle points in). */
int flag_compile(const struct flag_def *defs, size_t n_defs, const struct flag_input *in,
                 struct flag_result *out);

void flag_result_release(struct flag_result *r);

/* 1 when name is in r->enabled. */
int flag_result_has(const struct flag_result *r, const char *name);

/* Levenshtein distance, used for "did you mean" (exported for reuse and tests). */
size_t flag_edit_distance(const char *a, const char *b);

/* The closest name among all enable and disable names, or NULL when none is close
 * enough (distance > max(2, len/3)). Borrowed from defs. */
const char *flag_suggest(const struct flag_def *defs, size_t n_defs, const char *name);

/* The def whose enable name is name (the first one in defs order), or NULL.
 * Borrowed from defs. */
const struct flag_def *flag_find(const struct flag_def *defs, size_t n_defs, const char *name);

/* The machine code of an issue kind ("invalid_date", ..., "redundant_flag"); static. */
const char *flag_kind_code(enum flag_issue_kind kind);

#endif
