/* catalog/seed.h: the seed catalog of DESIGN §13 (real data), and loading it.
 *
 * Seeding is idempotent: a line already present, and a runtime, package set or flag
 * already published, is left alone (no event; an admin's change to a line is kept),
 * so running it twice changes nothing.
 */
#ifndef CATALOG_SEED_H
#define CATALOG_SEED_H

#include <stddef.h>

#include "app/err.h"
#include "db/db.h"

/* The seed data (DESIGN §13), one copy: loaded by seed_run and used by the tests'
 * fixtures. */
struct seed_line {
    const char *line, *first_release;
};

struct seed_flag {
    const char *name, *disable, *enable_date; /* NULL when none */
    const char *implied_by, *after;           /* implied by a flag after a date, or NULL */
    int experimental;
    const char *bundle_version; /* Pyodide version of the bundle, or NULL */
    int order;                  /* bundle order, 0 for plain flags */
    const char *description;
};

extern const struct seed_line seed_lines[];
extern const size_t seed_n_lines;
extern const struct seed_flag seed_flags[];
extern const size_t seed_n_flags;

/* Hook to store a core file's bytes while seeding (set by the server when an artifact
 * store exists); NULL means record digests only. */
typedef int (*seed_store_fn)(void *ctx, const char *path, const char *file_name,
                             struct app_err *err);

/* Load lines, runtimes (importing each distribution from cache_dir, fetching it with
 * `npm pack` when missing), package sets and flags. Progress and every seed row not
 * applied (with the reason) go to app/log. */
int seed_run(struct db *c, const char *cache_dir, seed_store_fn store, void *store_ctx,
             struct app_err *err);

#endif
