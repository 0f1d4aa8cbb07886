/* tests/lib/fixtures.h: shared test data, one copy.
 *
 * fx_seed_flags: the seed flags of DESIGN §13 (from catalog/seed.c's table) as
 * flag_defs, bundles pointing at "pyodide-<version>" and its package set.
 * fx_snap_new: a small synthetic published catalog in memory, on those flags:
 *   lines     the seed's, 3.8 to 3.15, each ending 5 years after its first release
 *             (3.12 ends 2028-10-02, 3.13 2029-10-07, 3.14 2030-10-07; 3.15 has no bundle)
 *   runtimes  pyodide-0.26.4 (3.12), pyodide-0.28.3 (3.13), pyodide-314.0.7 (3.14)
 *   sets      0.26.4: duckdb 1.1.2, numpy 1.26.4, pandas 2.2.0 (numpy, pytz),
 *                     pydantic 2.9.2, pytz 2024.1, regex 2024.9.11
 *             0.28.3: numpy 2.2.5, pydantic 2.10.6, pytz 2025.1 (no duckdb, no pandas:
 *                     a move from 3.12 is blocked for workers that need them)
 *             314.0.7: duckdb 1.2.0, numpy 2.3.1, pandas 2.3.0 (numpy, pytz),
 *                     pydantic 2.11.0, pytz 2025.2
 * Everything is heap memory owned by the snapshot (snap_free). fx_db_load writes the
 * same catalog as published rows, for tests of the SQL side (no npm, no network).
 */
#ifndef TESTS_LIB_FIXTURES_H
#define TESTS_LIB_FIXTURES_H

#include <stddef.h>

#include "app/err.h"
#include "catalog/snapshot.h"
#include "db/db.h"
#include "flags/flag.h"

/* "Today" for tests: 2026-11-25, the day DESIGN §15 was measured. */
#define FX_TODAY "2026-11-25"

/* Days of a YYYY-MM-DD date; aborts on a bad date (test data only). */
int fx_day(const char *date);

/* The seed flags, sorted by name; free with fx_flags_free. */
struct flag_def *fx_seed_flags(size_t *n);
void fx_flags_free(struct flag_def *defs, size_t n);

/* The synthetic catalog; free with snap_free. */
struct snap *fx_snap_new(void);

/* Insert s (lines, runtimes, artifacts, package sets, packages, flags) into c as
 * published rows, in one transaction. */
int fx_db_load(struct db *c, const struct snap *s, struct app_err *err);

#endif
