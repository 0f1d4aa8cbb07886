/* catalog/diff.h: what changes between two resolutions (GET /v1/diff). Pure. */
#ifndef CATALOG_DIFF_H
#define CATALOG_DIFF_H

#include <cjson/cJSON.h>

#include "app/err.h"
#include "catalog/resolve.h"
#include "catalog/snapshot.h"

/* Resolve from and to against s and describe the change {from, to, flags: {on,
 * off}, runtime, package_set, packages: [...]}. When either side does not resolve:
 * NULL, APP_EUNPROCESSABLE with each side's problems in err->errors (each with
 * "side": "from" or "to"). */
cJSON *res_diff(const struct snap *s, const struct res_input *from, const struct res_input *to,
                struct app_err *err);

#endif
