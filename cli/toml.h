/* cli/toml.h: a whole TOML 1.0 document as JSON, for wrangler.toml.
 *
 * The worker's bindings (`[[kv_namespaces]]`, `[[d1_databases]]`,
 * `[durable_objects]`, `[[migrations]]`, `[assets]`, `[env.NAME.…]`, ...) reach the
 * executor as the same JSON wrangler builds from the file, so the parser covers the
 * language: tables, arrays of tables, dotted and quoted keys, inline tables, arrays
 * spanning lines, all four string forms, integers (decimal, 0x, 0o, 0b, with _),
 * floats (inf, nan), booleans. Dates and times become their text as strings (as
 * wrangler's JSON has them). Redefining a key or a table is an error, as TOML says.
 * Bounded: nesting at most TOML_MAX_DEPTH.
 */
#ifndef CLI_TOML_H
#define CLI_TOML_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"

#define TOML_MAX_DEPTH 64

/* Parse text (len bytes; path is for messages) into a JSON object (caller frees
 * with cJSON_Delete). NULL with APP_EINVAL "<path>:<line>: <reason>" on an error. */
cJSON *cli_toml_parse(const char *path, const char *text, size_t len, struct app_err *err);

#endif
