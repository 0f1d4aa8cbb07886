/* cli/wrangler.c: the worker's configuration (wrangler.toml / .json / .jsonc, and
 * pyproject.toml for its dependencies).
 *
 * TOML is read by the one TOML reader (cli/toml.c) into JSON, JSON/JSONC by cJSON
 * after blanking comments and trailing commas; the fields almanac needs are then
 * taken from that JSON by one function (json_fields), whatever the file's format.
 */
#include "cli/wrangler.h"
#include "cli/toml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/hash.h" /* file_read_all */
#include "app/mem.h"
#include "app/strv.h"

void
cli_wrangler_release(struct cli_wrangler *w)
{
    if (!w)
        return;
    free(w->path);
    free(w->dir);
    free(w->main);
    free(w->date);
    strv_free(w->flags, w->n_flags);
    cJSON_Delete(w->json);
    strv_free(w->deps, w->n_deps);
    memset(w, 0, sizeof(*w));
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int json_fields(struct cli_wrangler *w, struct app_err *err);

/* pyproject.toml: [project].dependencies from w->json (dependency groups are not
 * the worker's). */
static int
pyproject_fields(struct cli_wrangler *w, struct app_err *err)
{
    const cJSON *project = cJSON_GetObjectItemCaseSensitive(w->json, "project");
    const cJSON *deps = cJSON_GetObjectItemCaseSensitive(project, "dependencies"), *d;

    if (!deps)
        return 0;
    if (!cJSON_IsArray(deps))
        return app_fail(err, APP_EINVAL, "%s: [project].dependencies must be an array", w->path);
    w->deps = xcalloc((size_t)cJSON_GetArraySize(deps) + 1, sizeof(char *));
    cJSON_ArrayForEach (d, deps) {
        if (!cJSON_IsString(d))
            return app_fail(err, APP_EINVAL,
                            "%s: [project].dependencies must be an array of strings", w->path);
        w->deps[w->n_deps++] = xstrdup(d->valuestring);
    }
    return 0;
}

/* Start w for the file at path: its path and its directory (main is relative to it). */
static void
config_start(struct cli_wrangler *w, const char *path)
{
    const char *slash = strrchr(path, '/');

    memset(w, 0, sizeof(*w));
    w->path = xstrdup(path);
    w->dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    if (w->dir[0] == '\0') {
        free(w->dir);
        w->dir = xstrdup("/");
    }
}

/* A TOML file (wrangler.toml, pyproject.toml): the whole document as JSON (cli/toml.c,
 * so the bindings and [env.NAME] reach the executor as wrangler reads them), then the
 * fields from it. */
int
cli_wrangler_parse(const char *path, const char *text, size_t len, struct cli_wrangler *w,
                   struct app_err *err)
{
    config_start(w, path);
    w->json = cli_toml_parse(path, text, len, err);
    if (!w->json || json_fields(w, err) < 0 || pyproject_fields(w, err) < 0) {
        cli_wrangler_release(w);
        return -1;
    }
    return 0;
}

int
cli_wrangler_read(const char *path, struct cli_wrangler *w, struct app_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int ret;

    memset(w, 0, sizeof(*w));
    if (file_read_all(path, &text, &len, WRANGLER_MAX, err) < 0) {
        char why[APP_ERR_MSG_MAX];

        memcpy(why, err->msg, sizeof(why));
        return app_fail(err, APP_EINVAL, "cannot read '%s': %s", path, why);
    }
    if (ends_with(path, ".json") || ends_with(path, ".jsonc")) {
        ret = cli_wrangler_parse_json(path, text, len, w, err);
    } else {
        ret = cli_wrangler_parse(path, text, len, w, err);
    }
    free(text);
    return ret;
}

char *
cli_wrangler_find(const char *dir)
{
    static const char *const names[] = {"wrangler.json", "wrangler.jsonc", "wrangler.toml"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *p = xasprintf("%s/%s", dir, names[i]);

        if (access(p, R_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

/* Blank out comments and trailing commas in place (same length, newlines kept, so
 * positions still name the user's line and column). Returns 0, or -1 with *bad at an
 * unterminated comment or string. */
static int
jsonc_strip(char *s, size_t len, size_t *bad)
{
    size_t i = 0;

    while (i < len) {
        char ch = s[i];

        if (ch == '"') {
            size_t start = i++;

            while (i < len && s[i] != '"' && s[i] != '\n') {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                i++;
            }
            if (i >= len || s[i] != '"')
                return *bad = start, -1;
            i++;
        } else if (ch == '/' && i + 1 < len && s[i + 1] == '/') {
            while (i < len && s[i] != '\n')
                s[i++] = ' ';
        } else if (ch == '/' && i + 1 < len && s[i + 1] == '*') {
            size_t start = i;

            s[i++] = ' ';
            s[i++] = ' ';
            while (i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/')) {
                if (s[i] != '\n')
                    s[i] = ' ';
                i++;
            }
            if (i >= len)
                return *bad = start, -1;
            s[i++] = ' ';
            s[i++] = ' ';
        } else if (ch == ',') {
            size_t j = i + 1;

            /* A comma followed only by blanks (comments are blank by now, or are
             * blanked when reached) and a closing bracket is a trailing comma. */
            for (;;) {
                while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
                    j++;
                if (j + 1 < len && s[j] == '/' && s[j + 1] == '/') {
                    while (j < len && s[j] != '\n')
                        j++;
                    continue;
                }
                if (j + 1 < len && s[j] == '/' && s[j + 1] == '*') {
                    j += 2;
                    while (j + 1 < len && !(s[j] == '*' && s[j + 1] == '/'))
                        j++;
                    j += 2;
                    continue;
                }
                break;
            }
            if (j < len && (s[j] == '}' || s[j] == ']'))
                s[i] = ' ';
            i++;
        } else {
            i++;
        }
    }
    return 0;
}

static void
line_col(const char *s, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* main, date, flags and string vars from w->json. */
static int
json_fields(struct cli_wrangler *w, struct app_err *err)
{
    const cJSON *j = w->json, *v;

    free(w->main);
    free(w->date);
    strv_free(w->flags, w->n_flags);
    w->main = w->date = NULL;
    w->flags = NULL;
    w->n_flags = 0;
    w->has_flags = 0;
    if (!cJSON_IsObject(j))
        return app_fail(err, APP_EINVAL, "%s: the configuration must be a JSON object", w->path);
    v = cJSON_GetObjectItemCaseSensitive(j, "main");
    if (v && !cJSON_IsString(v))
        return app_fail(err, APP_EINVAL, "%s: \"main\" must be a string", w->path);
    if (v)
        w->main = xstrdup(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(j, "compatibility_date");
    if (v && !cJSON_IsString(v))
        return app_fail(err, APP_EINVAL, "%s: \"compatibility_date\" must be a string", w->path);
    if (v)
        w->date = xstrdup(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(j, "compatibility_flags");
    if (v) {
        const cJSON *f;

        if (!cJSON_IsArray(v))
            return app_fail(err, APP_EINVAL, "%s: \"compatibility_flags\" must be an array",
                            w->path);
        w->flags = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
        cJSON_ArrayForEach (f, v) {
            if (!cJSON_IsString(f))
                return app_fail(err, APP_EINVAL,
                                "%s: \"compatibility_flags\" must be an array of strings", w->path);
            w->flags[w->n_flags++] = xstrdup(f->valuestring);
        }
        w->has_flags = 1;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "vars");
    if (v && !cJSON_IsObject(v))
        return app_fail(err, APP_EINVAL, "%s: \"vars\" must be an object", w->path);
    return 0;
}

int
cli_wrangler_parse_json(const char *path, const char *text, size_t len, struct cli_wrangler *w,
                        struct app_err *err)
{
    char *copy = xmalloc(len + 1);
    const char *end = NULL;
    size_t bad = 0;
    int line, col, ret = -1;

    config_start(w, path);
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (memchr(text, '\0', len)) {
        app_fail(err, APP_EINVAL, "%s: not a text file", path);
        goto out;
    }
    if (jsonc_strip(copy, len, &bad) < 0) {
        line_col(text, bad, &line, &col);
        app_fail(err, APP_EINVAL, "%s:%d:%d: unterminated %s", path, line, col,
                 text[bad] == '"' ? "string" : "comment");
        goto out;
    }
    w->json = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
    if (!w->json) {
        size_t off = end && end >= copy && end <= copy + len ? (size_t)(end - copy) : 0;

        line_col(text, off, &line, &col);
        app_fail(err, APP_EINVAL, "%s:%d:%d: not valid JSON here", path, line, col);
        goto out;
    }
    while (end && end < copy + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end && end < copy + len) {
        line_col(text, (size_t)(end - copy), &line, &col);
        app_fail(err, APP_EINVAL, "%s:%d:%d: unexpected text after the configuration", path, line,
                 col);
        goto out;
    }
    ret = json_fields(w, err);
out:
    free(copy);
    if (ret < 0)
        cli_wrangler_release(w);
    return ret;
}

int
cli_wrangler_apply_env(struct cli_wrangler *w, const char *name, struct app_err *err)
{
    /* wrangler's non-inheritable keys: an environment has its own or none. */
    static const char *const own[] = {
        "vars",
        "define",
        "durable_objects",
        "kv_namespaces",
        "r2_buckets",
        "d1_databases",
        "services",
        "queues",
        "analytics_engine_datasets",
        "workflows",
        "vectorize",
        "hyperdrive",
        "send_email",
        "browser",
        "ai",
        "version_metadata",
        "tail_consumers",
    };
    cJSON *envs, *e, *item;

    envs = cJSON_GetObjectItemCaseSensitive(w->json, "env");
    e = cJSON_IsObject(envs) ? cJSON_GetObjectItemCaseSensitive(envs, name) : NULL;
    if (!cJSON_IsObject(e))
        return app_fail(err, APP_EINVAL, "%s has no environment '%s' (no [env.%s])", w->path, name,
                        name);
    e = cJSON_DetachItemViaPointer(envs, e);
    cJSON_DeleteItemFromObjectCaseSensitive(w->json, "env");
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(w->json, own[i]);
    while ((item = e->child) != NULL) {
        char *key = xstrdup(item->string);

        item = cJSON_DetachItemViaPointer(e, item);
        cJSON_DeleteItemFromObjectCaseSensitive(w->json, key);
        cJSON_AddItemToObject(w->json, key, item);
        free(key);
    }
    cJSON_Delete(e);
    return json_fields(w, err);
}

int
cli_pyproject_deps(const char *path, char **text, struct app_err *err)
{
    struct cli_wrangler w;
    struct buf b;

    *text = NULL;
    if (cli_wrangler_read(path, &w, err) < 0)
        return -1;
    if (w.n_deps) {
        buf_init(&b, WRANGLER_MAX);
        for (size_t i = 0; i < w.n_deps; i++)
            if (buf_printf(&b, "%s\n", w.deps[i]) < 0) {
                buf_release(&b);
                cli_wrangler_release(&w);
                return app_fail(err, APP_EINVAL, "%s: too many dependencies", path);
            }
        *text = buf_detach(&b, NULL);
    }
    cli_wrangler_release(&w);
    return 0;
}
