/* catalog/lines.h: Python lines (3.12, ...) and their end of support (DESIGN §2, §5).
 *
 * A line is {line, first_release, end_of_support, notes}; end_of_support defaults to
 * first_release + 5 years (same month and day). Lines are policy, not artifacts, so
 * an admin may change them at any time; every change is an event.
 */
#ifndef CATALOG_LINES_H
#define CATALOG_LINES_H

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"

#define CAT_SUPPORT_YEARS 5
#define CAT_WARNING_DAYS 180

/* 1 when s looks like a Python line "3.12". */
int cat_line_valid(const char *s);

/* The line ("3.12") of a full version ("3.12.1"); NULL when malformed. Caller frees. */
char *cat_line_of(const char *python_version);

/* All lines, oldest first, each with its status as of today. */
cJSON *cat_line_list(struct db *c, int today, struct app_err *err);
cJSON *cat_line_get(struct db *c, const char *line, int today, struct app_err *err);

/* Create or change a line from {first_release, end_of_support?, notes?}. *created
 * tells which. Returns the stored representation. */
cJSON *cat_line_put(struct db *c, const char *line, const cJSON *body, int today, int *created,
                    struct app_err *err);

/* "supported" / "ending" / "ended" for a line ending on eos, as of as_of. */
const char *cat_support_status(int eos, int as_of);

#endif
