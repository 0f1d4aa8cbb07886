/* tests/lib/fixtures.h: shared test data, one copy.
 *
 * fx_seed_flags: the seed flags of DESIGN §13 (from catalog/seed.c's table) as
 * flag_defs, bundles pointing at "pyodide-<version>" and its package set.
 * fx_snap_new: a small synthetic published catalog in memory, on those flags:
 *   lines     3.12 (ends 2028-10-02), 3.13 (ends 2029-10-07), 3.14 (ends 2030-10-07)
 *   runtimes  pyodide-0.26.4 (3.12), pyodide-0.28.3 (3.13), pyodide-314.0.7 (3.14)
 *   sets      0.26.4: numpy 1.26.4, pandas 2.2.0 (numpy, pytz), pytz 2024.1, regex 2024.9.11
 *             0.28.3: numpy 2.0.2, pytz 2025.1 (no pandas: a move from 3.12 is blocked
 *                     for workers that need it)
 *             314.0.7: numpy 2.2.0, pandas 2.3.0 (numpy, pytz), pytz 2025.2
 * Everything is heap memory owned by the snapshot (snap_free).
 */
#ifndef TESTS_LIB_FIXTURES_H
#define TESTS_LIB_FIXTURES_H

#include <stddef.h>

#include "catalog/snapshot.h"
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

#endif
