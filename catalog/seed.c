/* catalog/seed.c: the real seed catalog of DESIGN §13 and its idempotent loading. */
#include "catalog/seed.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/date.h"
#include "app/fs.h"
#include "app/json.h"
#include "app/log.h"
#include "app/mem.h"
#include "artifacts/npm.h"
#include "artifacts/pyodide.h"
#include "catalog/flagdb.h"
#include "catalog/lines.h"
#include "catalog/pkgsets.h"
#include "catalog/runtimes.h"

const struct seed_line seed_lines[] = {
    {"3.8", "2019-10-14"},  {"3.9", "2020-10-05"},  {"3.10", "2021-10-04"}, {"3.11", "2022-10-24"},
    {"3.12", "2023-10-02"}, {"3.13", "2024-10-07"}, {"3.14", "2025-10-07"}, {"3.15", "2026-10-01"},
};
const size_t seed_n_lines = sizeof(seed_lines) / sizeof(seed_lines[0]);

/* Seed v2: the platform's Python table as workerd's release of 2026-11-17 carries it
 * (DESIGN §13). The first seed (v1) had an experimental python_workers_20260817 in the
 * place of python_workers_314 and none of the flags after python_request_headers_...;
 * a data directory seeded by v1 keeps what it has (see seed_flags_load). */
const struct seed_flag seed_flags[] = {
    {"python_workers", NULL, NULL, NULL, NULL, 0, "0.26.4", 1,
     "run Python workers (Pyodide 0.26.4, CPython 3.12)"},
    {"python_workers_20250116", "no_python_workers_20250116", NULL, "python_workers", "2025-09-29",
     0, "0.28.3", 2, "Python workers on Pyodide 0.28.3 (CPython 3.13)"},
    {"python_workers_20260610", "no_python_workers_20260610", NULL, NULL, NULL, 0, "314.0.7", 3,
     "Python workers on Pyodide 314.0.7 (CPython 3.14)"},
    {"python_workers_314", "no_python_workers_314", NULL, "python_workers", "2026-09-08", 0,
     "314.0.7", 4, "Python workers on Pyodide 314.0.7 (CPython 3.14)"},
    {"python_workers_force_new_vendor_path", NULL, "2025-08-11", NULL, NULL, 0, NULL, 0,
     "vendored code is looked up in python_modules/ only (before: src/vendor too)"},
    {"python_no_global_handlers", "disable_python_no_global_handlers", "2025-08-14", NULL, NULL, 0,
     NULL, 0, "handlers must be exported by the worker module, not registered globally"},
    {"python_workflows", "disable_python_workflows", NULL, "python_workers", "2025-09-20", 0, NULL,
     0, "Python workflows support"},
    {"python_dedicated_snapshot", "disable_python_dedicated_snapshot", NULL,
     "python_workers_20250116", "2025-10-16", 0, NULL, 0,
     "a memory snapshot dedicated to each worker"},
    {"python_check_rng_state", "disable_python_check_rng_state", NULL, "python_workers",
     "2025-12-16", 0, NULL, 0, "check that the RNG state was not captured in a snapshot"},
    {"python_request_headers_preserve_commas", "disable_python_request_headers_preserve_commas",
     "2026-02-17", NULL, NULL, 0, NULL, 0, "request headers keep commas in values"},
    {"python_workflows_implicit_dependencies", "no_python_workflows_implicit_dependencies", NULL,
     "python_workers", "2026-02-25", 0, NULL, 0, "workflow steps get implicit dependencies"},
    {"enable_python_external_sdk", "disable_python_external_sdk", "2026-04-21", NULL, NULL, 0, NULL,
     0, "the built-in workers module gives way to the vendored workers-runtime-sdk"},
    {"python_process_pth_files", "disable_python_process_pth_files", "2026-05-26", NULL, NULL, 0,
     NULL, 0, ".pth files of vendored packages are processed"},
    {"python_shared_standard_library", NULL, NULL, "python_workers", "2026-11-19", 0, NULL, 0,
     "one standard library shared between Python workers"},
    {"python_zstd_snapshot", NULL, NULL, NULL, NULL, 1, NULL, 0,
     "experimental: zstd-compressed memory snapshots"},
    {"python_dedicated_snapshot_keep_import_caches",
     "no_python_dedicated_snapshot_keep_import_caches", NULL, NULL, NULL, 0, NULL, 0,
     "dedicated snapshots keep the import caches"},
    {"formdata_parser_supports_files", "formdata_parser_converts_files_to_strings", "2021-11-03",
     NULL, NULL, 0, NULL, 0, "FormData parsing yields File objects"},
    {"fetch_refuses_unknown_protocols", "fetch_treats_unknown_protocols_as_http", "2021-11-10",
     NULL, NULL, 0, NULL, 0, "fetch() refuses URLs with unknown schemes"},
    {"nodejs_compat", "no_nodejs_compat", NULL, NULL, NULL, 0, NULL, 0,
     "Node.js compatibility APIs"},
};
const size_t seed_n_flags = sizeof(seed_flags) / sizeof(seed_flags[0]);

/* Flags of earlier seed versions that v2 no longer lists (kept where they exist). */
static const char *const seed_retired_flags[] = {"python_workers_20260817"};

static int
seed_lines_load(struct db *c, int today, struct app_err *err)
{
    for (size_t i = 0; i < seed_n_lines; i++) {
        struct app_err ignore = {0};
        cJSON *cur = cat_line_get(c, seed_lines[i].line, today, &ignore), *body, *out;
        int created;

        app_err_release(&ignore);
        if (cur) {
            cJSON_Delete(cur); /* an admin may have changed it: keep theirs */
            continue;
        }
        body = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(body, "first_release", seed_lines[i].first_release));
        out = cat_line_put(c, seed_lines[i].line, body, today, &created, err);
        cJSON_Delete(body);
        if (!out)
            return -1;
        cJSON_Delete(out);
    }
    return 0;
}

static int
is_published(const cJSON *o)
{
    const cJSON *s = cJSON_GetObjectItem(o, "state");

    return cJSON_IsString(s) && strcmp(s->valuestring, "published") == 0;
}

static int
seed_runtime_load(struct db *c, const char *cache_dir, const struct pyo_known_release *sr,
                  seed_store_fn store, void *ctx, struct app_err *err)
{
    struct pyo_dist d;
    struct app_err ignore = {0};
    char *dir = NULL, *set_id = NULL;
    cJSON *cur = NULL, *out = NULL;
    int created, ret = -1;

    memset(&d, 0, sizeof(d));
    dir = art_npm_fetch_pyodide(cache_dir, sr->version, err);
    if (!dir)
        goto out;
    if (pyo_read(dir, sr->release_date, &d, err) < 0)
        goto out;
    if (store) {
        for (size_t i = 0; i < d.n_core; i++)
            if (store(ctx, d.core[i].path, d.core[i].file_name, err) < 0)
                goto out;
    }
    cur = cat_runtime_get(c, d.id, &ignore);
    app_err_release(&ignore);
    if (!cur) {
        out = cat_runtime_put(c, d.id, d.runtime, &created, err);
        if (!out)
            goto out;
        cJSON_Delete(out);
        out = NULL;
    }
    if (!cur || !is_published(cur)) {
        out = cat_runtime_publish(c, d.id, err);
        if (!out)
            goto out;
        cJSON_Delete(out);
        out = NULL;
    }
    cJSON_Delete(cur);
    set_id = xasprintf("%s/%s", d.id, sr->release_date);
    cur = cat_pkgset_get(c, set_id, 1, &ignore);
    app_err_release(&ignore);
    if (!cur || !is_published(cur)) {
        out = cat_pkgset_put(c, set_id, d.lock, "imported from the npm pyodide package", &created,
                             err);
        if (!out)
            goto out;
        cJSON_Delete(out);
        out = cat_pkgset_publish(c, set_id, err);
        if (!out)
            goto out;
    }
    app_log(APP_LOG_INFO, "seeded %s (python %s) and package set %s", d.id,
            cJSON_GetObjectItem(d.runtime, "python")->valuestring, set_id);
    ret = 0;
out:
    cJSON_Delete(cur);
    cJSON_Delete(out);
    free(dir);
    free(set_id);
    pyo_release(&d);
    return ret;
}

/* The latest date at which sf turns on by itself (its enable date or implication
 * date), or 0 when it is opt-in only. */
static int
seed_flag_date(const struct seed_flag *sf)
{
    int d = 0, x;

    if (sf->enable_date && date_parse(sf->enable_date, &x) == 0 && x > d)
        d = x;
    if (sf->after && date_parse(sf->after, &x) == 0 && x > d)
        d = x;
    return d;
}

/* Whether the catalog was seeded before (by any seed version). */
static int
seed_seen_before(struct db *c)
{
    struct app_err ignore = {0};
    cJSON *cur = cat_flag_get(c, "python_workers", &ignore);
    int seen = cur != NULL;

    app_err_release(&ignore);
    cJSON_Delete(cur);
    return seen;
}

/* A fresh catalog gets the whole table, as history. A catalog seeded before gets only
 * what changes no lock already issued: a new flag that is opt-in or dated after today.
 * Each row not applied is listed with the reason (the compatibility promise outranks
 * the seed). */
static int
seed_flags_load(struct db *c, int today, struct app_err *err)
{
    int upgrade = seed_seen_before(c);

    for (size_t i = 0; upgrade && i < sizeof(seed_retired_flags) / sizeof(seed_retired_flags[0]);
         i++) {
        struct app_err ignore = {0};
        cJSON *cur = cat_flag_get(c, seed_retired_flags[i], &ignore);

        app_err_release(&ignore);
        if (cur)
            app_log(APP_LOG_WARN,
                    "seed: not applied: removing %s (an earlier seed's flag; issued locks may "
                    "name it)",
                    seed_retired_flags[i]);
        cJSON_Delete(cur);
    }
    for (size_t i = 0; i < seed_n_flags; i++) {
        const struct seed_flag *sf = &seed_flags[i];
        struct app_err ignore = {0};
        cJSON *cur = cat_flag_get(c, sf->name, &ignore), *body, *out;
        int created, d = seed_flag_date(sf);

        app_err_release(&ignore);
        if (cur && is_published(cur)) {
            cJSON_Delete(cur);
            continue;
        }
        cJSON_Delete(cur);
        if (upgrade && d && d <= today) {
            char ds[APP_DATE_LEN];

            date_format(d, ds);
            app_log(APP_LOG_WARN,
                    "seed: not applied: %s (on by date %s, not after today: it would change "
                    "what issued locks resolve to)",
                    sf->name, ds);
            continue;
        }
        body = xjson(cJSON_CreateObject());
        json_add_str_or_null(body, "disable_flag", sf->disable);
        json_add_str_or_null(body, "enable_date", sf->enable_date);
        xjson(cJSON_AddBoolToObject(body, "experimental", sf->experimental));
        xjson(cJSON_AddStringToObject(body, "description", sf->description));
        {
            cJSON *imp = xjson(cJSON_AddArrayToObject(body, "implied_by"));

            if (sf->implied_by) {
                cJSON *o = xjson(cJSON_CreateObject());

                xjson(cJSON_AddStringToObject(o, "flag", sf->implied_by));
                xjson(cJSON_AddStringToObject(o, "after", sf->after));
                cJSON_AddItemToArray(imp, o);
            }
        }
        if (sf->bundle_version) {
            cJSON *b = xjson(cJSON_AddObjectToObject(body, "bundle"));
            char *rt = xasprintf("pyodide-%s", sf->bundle_version);
            char *set = xasprintf("%s/%s", rt, pyo_release_date(sf->bundle_version));

            xjson(cJSON_AddStringToObject(b, "runtime", rt));
            xjson(cJSON_AddStringToObject(b, "package_set", set));
            xjson(cJSON_AddNumberToObject(b, "order", sf->order));
            free(rt);
            free(set);
        } else {
            xjson(cJSON_AddNullToObject(body, "bundle"));
        }
        out = cat_flag_put(c, sf->name, body, &created, err);
        cJSON_Delete(body);
        if (!out)
            return -1;
        cJSON_Delete(out);
        /* The seed is history: its dates are in the past by design. */
        out = cat_flag_publish(c, sf->name, today, 1, err);
        if (!out)
            return -1;
        cJSON_Delete(out);
    }
    return 0;
}

int
seed_run(struct db *c, const char *cache_dir, seed_store_fn store, void *store_ctx,
         struct app_err *err)
{
    int today = date_today();

    if (seed_lines_load(c, today, err) < 0)
        return -1;
    for (size_t i = 0; i < pyo_n_releases; i++)
        if (seed_runtime_load(c, cache_dir, &pyo_releases[i], store, store_ctx, err) < 0)
            return -1;
    return seed_flags_load(c, today, err);
}
