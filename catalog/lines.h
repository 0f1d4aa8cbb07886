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
#include "catalog/pyline.h"
#include "db/db.h"

/* All lines, oldest first, each with its status as of today. */
cJSON *cat_line_list(struct db *c, int today, struct app_err *err);
cJSON *cat_line_get(struct db *c, const char *line, int today, struct app_err *err);

/* Create or change a line from {first_release, end_of_support?, notes?}. *created
 * tells which. Returns the stored representation. */
cJSON *cat_line_put(struct db *c, const char *line, const cJSON *body, int today, int *created,
                    struct app_err *err);

#endif
