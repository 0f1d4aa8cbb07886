/* artifacts/pyodide.c: read a Pyodide distribution folder. */
#include "artifacts/pyodide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"

/* The Pyodide releases almanac knows (DESIGN §13): the seed catalog imports these. */
const struct pyo_known_release pyo_releases[] = {
    {"0.26.4", "2024-11-15"}, {"0.27.7", "2025-06-04"},  {"0.28.3", "2025-09-22"},
    {"0.29.3", "2026-03-17"}, {"314.0.7", "2026-09-14"},
};
const size_t pyo_n_releases = sizeof(pyo_releases) / sizeof(pyo_releases[0]);

const char *
pyo_release_date(const char *version)
{
    for (size_t i = 0; i < pyo_n_releases; i++)
        if (strcmp(pyo_releases[i].version, version) == 0)
            return pyo_releases[i].release_date;
    return NULL;
}

static cJSON *
read_json(const char *path, struct app_err *err)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *v;

    if (file_read_all(path, &text, &len, PYO_LOCK_MAX, err) < 0)
        return NULL;
    v = cJSON_ParseWithLength(text, len);
    free(text);
    if (!v)
        app_fail(err, APP_EINVAL, "'%s' is not valid JSON", path);
    return v;
}

static int
add_core(struct pyo_dist *d, const char *dir, const char *role, const char *const *names,
         struct app_err *err)
{
    if (d->n_core == PYO_CORE_MAX)
        return app_fail(err, APP_EINTERNAL, "more than %d core files", PYO_CORE_MAX);
    for (size_t i = 0; names[i]; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);

        if (access(path, R_OK) == 0) {
            struct pyo_core_file *f = &d->core[d->n_core++];

            f->role = role;
            f->path = path;
            f->file_name = xstrdup(names[i]);
            return 0;
        }
        free(path);
    }
    return app_fail(err, APP_EINVAL, "'%s' is not a Pyodide distribution: no %s in it", dir,
                    names[0]);
}

/* "emscripten_3_1_58" -> "3.1.58". */
static char *
emscripten_version(const char *platform)
{
    char *v;

    if (!platform || strncmp(platform, "emscripten_", 11) != 0)
        return NULL;
    v = xstrdup(platform + 11);
    for (char *p = v; *p; p++)
        if (*p == '_')
            *p = '.';
    return v;
}

int
pyo_read(const char *dir, const char *release_date, struct pyo_dist *out, struct app_err *err)
{
    static const char *const wasm[] = {"pyodide.asm.wasm", NULL};
    static const char *const js[] = {"pyodide.asm.mjs", "pyodide.asm.js", NULL};
    static const char *const loader[] = {"pyodide.mjs", NULL};
    static const char *const stdlib[] = {"python_stdlib.zip", NULL};
    static const char *const lock[] = {"pyodide-lock.json", NULL};
    cJSON *pkg = NULL, *arts;
    const cJSON *info;
    const char *version = NULL, *python = NULL, *abi = NULL, *platform = NULL;
    char *path = NULL, *emsc = NULL, *abi_tag = NULL;
    int days, ret = -1;

    memset(out, 0, sizeof(*out));
    path = xasprintf("%s/package.json", dir);
    pkg = read_json(path, err);
    if (!pkg)
        goto out;
    if (json_string(pkg, "version", 1, &version, err) < 0)
        goto out;
    out->version = xstrdup(version);
    out->id = xasprintf("pyodide-%s", version);
    free(path);
    path = xasprintf("%s/pyodide-lock.json", dir);
    out->lock = read_json(path, err);
    if (!out->lock)
        goto out;
    info = cJSON_GetObjectItemCaseSensitive(out->lock, "info");
    if (json_string(info, "python", 1, &python, err) < 0 ||
        json_string(info, "abi_version", 1, &abi, err) < 0 ||
        json_string(info, "platform", 1, &platform, err) < 0)
        goto out;
    emsc = emscripten_version(platform);
    if (!emsc) {
        app_fail(err, APP_EINVAL, "lock info.platform '%s' is not emscripten_X_Y_Z", platform);
        goto out;
    }
    if (!release_date)
        release_date = pyo_release_date(version);
    if (!release_date) {
        app_fail(err, APP_EINVAL,
                 "no release date known for Pyodide %s: give one (--release-date YYYY-MM-DD)",
                 version);
        goto out;
    }
    if (date_parse(release_date, &days) < 0) {
        app_fail(err, APP_EINVAL, "release date '%s' is not a valid date (YYYY-MM-DD)",
                 release_date);
        goto out;
    }
    if (add_core(out, dir, "core-wasm", wasm, err) < 0 ||
        add_core(out, dir, "core-js", js, err) < 0 ||
        add_core(out, dir, "loader", loader, err) < 0 ||
        add_core(out, dir, "stdlib", stdlib, err) < 0 || add_core(out, dir, "lock", lock, err) < 0)
        goto out;
    abi_tag = xasprintf("pyodide_%s", abi);
    out->runtime = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(out->runtime, "pyodide", version));
    xjson(cJSON_AddStringToObject(out->runtime, "python", python));
    xjson(cJSON_AddStringToObject(out->runtime, "emscripten", emsc));
    xjson(cJSON_AddStringToObject(out->runtime, "abi", abi_tag));
    xjson(cJSON_AddStringToObject(out->runtime, "release_date", release_date));
    arts = xjson(cJSON_AddArrayToObject(out->runtime, "artifacts"));
    for (size_t i = 0; i < out->n_core; i++) {
        char hex[APP_SHA256_HEX];
        uint64_t size;
        cJSON *a;

        if (sha256_file(out->core[i].path, hex, &size, err) < 0)
            goto out;
        a = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(a, "role", out->core[i].role));
        xjson(cJSON_AddStringToObject(a, "file_name", out->core[i].file_name));
        xjson(cJSON_AddStringToObject(a, "sha256", hex));
        xjson(cJSON_AddNumberToObject(a, "size", (double)size));
        cJSON_AddItemToArray(arts, a);
    }
    ret = 0;
out:
    if (ret < 0)
        pyo_release(out);
    cJSON_Delete(pkg);
    free(path);
    free(emsc);
    free(abi_tag);
    return ret;
}

void
pyo_release(struct pyo_dist *d)
{
    if (!d)
        return;
    free(d->id);
    free(d->version);
    cJSON_Delete(d->runtime);
    cJSON_Delete(d->lock);
    for (size_t i = 0; i < d->n_core; i++) {
        free(d->core[i].path);
        free(d->core[i].file_name);
    }
    memset(d, 0, sizeof(*d));
}
