/* cli/wrangler.h: the part of a worker's configuration almanac needs.
 *
 * wrangler.toml is read whole by the one TOML reader (cli/toml.h) into the JSON
 * wrangler builds from it; wrangler.json / wrangler.jsonc are JSON with comments and
 * trailing commas. From that JSON: `main`, `compatibility_date` and
 * `compatibility_flags` (their types checked); everything else (vars, bindings,
 * [env.NAME]) stays in `json` for the executor. pyproject.toml is read by the same
 * TOML reader for its [project].dependencies.
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
    int has_flags; /* compatibility_flags was present */
    cJSON *json;   /* the whole config as JSON */
    char **deps;   /* pyproject.toml: [project].dependencies */
    size_t n_deps;
};

/* wrangler.json / wrangler.jsonc: JSON with // and block comments and trailing
 * commas (wrangler's own reading). Errors name "<path>:<line>:<column>". Fills
 * main, date and flags; json keeps the whole document. */
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

/* Parse TOML text (cli_wrangler_read's TOML path; also for tests and fuzzing): path
 * names the file in messages and gives w->dir. */
int cli_wrangler_parse(const char *path, const char *text, size_t len, struct cli_wrangler *w,
                       struct app_err *err);

void cli_wrangler_release(struct cli_wrangler *w);

/* The requirements of a pyproject.toml: [project].dependencies, one per line in
 * *text (caller frees); never the dependency groups (the platform's tooling lives
 * there). 0 with *text NULL when the file has none; -1 (APP_EINVAL) when it cannot
 * be read. */
int cli_pyproject_deps(const char *path, char **text, struct app_err *err);

#endif
