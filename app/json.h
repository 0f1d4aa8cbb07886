/* app/json.h: canonical JSON and typed field access with clear errors.
 *
 * Canonical form (locks, signatures): object keys sorted by byte value, no
 * insignificant whitespace, UTF-8 as given, integers without exponent, strings
 * escaped minimally (", \, control characters as \u00XX except \b\f\n\r\t).
 */
#ifndef APP_JSON_H
#define APP_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"

/* Serialize v canonically; the caller frees the result. */
char *json_canonical(const cJSON *v, size_t *len);

/* Parse a request body; on failure fills err (400, with the position). */
cJSON *json_parse(const char *s, size_t len, struct app_err *err);

/* Typed reads of obj[key]. `required` 0 means a missing or null field yields the
 * default (NULL / 0) without error. Wrong types fail with 400 naming the field. */
int json_string(const cJSON *obj, const char *key, int required, const char **out,
                struct app_err *err);
int json_bool(const cJSON *obj, const char *key, int required, int *out, struct app_err *err);
int json_int(const cJSON *obj, const char *key, int required, long long *out, struct app_err *err);
/* An array of strings; *out points into obj (borrowed), *n its length. */
int json_string_array(const cJSON *obj, const char *key, int required, const cJSON **out,
                      struct app_err *err);

/* Add a string or JSON null when s is NULL. */
void json_add_str_or_null(cJSON *obj, const char *key, const char *s);

/* obj[key] when it is a string, else NULL (obj may be NULL). Borrowed. */
const char *json_str_item(const cJSON *obj, const char *key);

#endif
