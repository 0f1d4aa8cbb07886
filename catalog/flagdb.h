/* catalog/flagdb.h: compatibility flags in the catalog database.
 *
 * Representation: {name, disable_flag, enable_date, implied_by: [{flag, after}],
 * experimental, description, bundle: {runtime, package_set, order} | null, state,
 * created_at, published_at}. A flag may be published only when every date it carries
 * (enable_date, each `after`) is later than today, so publishing never changes what an
 * existing (date, flags) pair resolved to (DESIGN §2). Published flags are immutable
 * except their description.
 */
#ifndef CATALOG_FLAGDB_H
#define CATALOG_FLAGDB_H

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"

cJSON *cat_flag_list(struct db *c, struct app_err *err);
cJSON *cat_flag_get(struct db *c, const char *name, struct app_err *err);
cJSON *cat_flag_put(struct db *c, const char *name, const cJSON *body, int *created,
                    struct app_err *err);
/* today: days since epoch; force skips the future-date rule (seeding history only). */
cJSON *cat_flag_publish(struct db *c, const char *name, int today, int force, struct app_err *err);

#endif
