/* cli/wrangler.h: the part of a wrangler.toml almanac needs.
 *
 * A bounded reader for a TOML subset: top-level `key = value` pairs before the
 * first table header, where the keys read are `main` (string),
 * `compatibility_date` (string or a bare TOML local date) and `compatibility_flags`
 * (array of strings, may span lines, trailing comma allowed), and string values of
 * the [vars] table (given to the worker as env). Strings are basic ("...", with
 * \" \\ \n \t \r \uXXXX escapes) or literal ('...'); `#` starts a comment outside
 * strings. Other keys and tables are skipped when their values are simple (strings,
 * numbers, booleans, dates, arrays, inline tables on one line); anything else is an
 * error naming the line.
 */
#ifndef CLI_WRANGLER_H
#define CLI_WRANGLER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"

#define WRANGLER_MAX (1024 * 1024)

struct cli_wrangler {
    char *path; /* the file read */
    char *dir;  /* its directory (main is relative to it) */
    char *main; /* NULL when absent */
    char *date; /* NULL when absent */
    char **flags;
    size_t n_flags;
    int has_flags;                  /* compatibility_flags was present */
    char **var_names, **var_values; /* [vars] string values */
    size_t n_vars;
    cJSON *json; /* the whole config as JSON (for a TOML file: the keys read above) */
    char **deps; /* pyproject.toml: [project].dependencies */
    size_t n_deps;
};

/* wrangler.json / wrangler.jsonc: JSON with // and block comments and trailing
 * commas (wrangler's own reading). Errors name "<path>:<line>:<column>". Fills
 * main, date, flags and vars (string values; json keeps every type). */
int cli_wrangler_parse_json(const char *path, const char *text, size_t len, struct cli_wrangler *w,
                            struct app_err *err);

/* Apply [env.NAME] / "env": {"NAME": ...} overrides as wrangler does: the keys the
 * environment sets replace the top level's; bindings and vars are not inherited. */
int cli_wrangler_apply_env(struct cli_wrangler *w, const char *name, struct app_err *err);

/* The file the config is read from in dir, in wrangler's order (wrangler.json,
 * wrangler.jsonc, wrangler.toml); NULL when none (caller frees). */
char *cli_wrangler_find(const char *dir);

/* Read path (TOML, or JSON/JSONC by its extension); on failure APP_EINVAL with
 * "<path>:<line>: <reason>". */
int cli_wrangler_read(const char *path, struct cli_wrangler *w, struct app_err *err);

/* Parse text (for tests and fuzzing); path is used in messages only. */
int cli_wrangler_parse(const char *path, const char *text, size_t len, struct cli_wrangler *w,
                       struct app_err *err);

void cli_wrangler_release(struct cli_wrangler *w);

/* The requirements of a pyproject.toml: [project].dependencies, one per line in
 * *text (caller frees); never the dependency groups (the platform's tooling lives
 * there). 0 with *text NULL when the file has none; -1 (APP_EINVAL) when it cannot
 * be read. */
int cli_pyproject_deps(const char *path, char **text, struct app_err *err);

#endif
