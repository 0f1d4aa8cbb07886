/* catalog/runtimes.c: runtimes in the catalog database. */
#include "catalog/runtimes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/fs.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "catalog/lines.h"
#include "catalog/pyline.h"
#include "db/events.h"

const char *const cat_runtime_roles[] = {"core-wasm", "core-js", "loader", "stdlib", "lock"};
const size_t cat_n_runtime_roles = sizeof(cat_runtime_roles) / sizeof(cat_runtime_roles[0]);

int
cat_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > CAT_ID_MAX)
        return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return 0;
    }
    return 1;
}

static int
role_valid(const char *role)
{
    for (size_t i = 0; i < cat_n_runtime_roles; i++)
        if (strcmp(cat_runtime_roles[i], role) == 0)
            return 1;
    return 0;
}

static cJSON *
artifact_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *a = xjson(cJSON_CreateObject());

    (void)ctx;
    (void)err;
    xjson(cJSON_AddStringToObject(a, "role", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(a, "file_name", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(a, "sha256", db_col_text(st, 2)));
    xjson(cJSON_AddNumberToObject(a, "size", (double)sqlite3_column_int64(st, 3)));
    xjson(cJSON_AddBoolToObject(a, "stored", sqlite3_column_int(st, 4)));
    return a;
}

static cJSON *
runtime_artifacts(struct db *c, const char *id, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st,
                   "SELECT ra.role, ra.file_name, ra.sha256, ra.size, COALESCE(a.stored, 0)"
                   " FROM runtime_artifacts ra LEFT JOIN artifacts a ON a.sha256 = ra.sha256"
                   " WHERE ra.runtime_id = ? ORDER BY ra.role",
                   err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return db_rows_json(st, artifact_row, NULL, err);
}

#define RT_COLS                                                                                    \
    "id, pyodide, python, python_line, emscripten, abi, release_date, state, deprecated,"          \
    " notes, created_at, published_at"

static cJSON *
runtime_row(sqlite3_stmt *st)
{
    cJSON *o = xjson(cJSON_CreateObject());

    xjson(cJSON_AddStringToObject(o, "id", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(o, "pyodide", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(o, "python", db_col_text(st, 2)));
    xjson(cJSON_AddStringToObject(o, "python_line", db_col_text(st, 3)));
    xjson(cJSON_AddStringToObject(o, "emscripten", db_col_text(st, 4)));
    xjson(cJSON_AddStringToObject(o, "abi", db_col_text(st, 5)));
    xjson(cJSON_AddStringToObject(o, "release_date", db_col_text(st, 6)));
    xjson(cJSON_AddStringToObject(o, "state", db_col_text(st, 7)));
    xjson(cJSON_AddBoolToObject(o, "deprecated", sqlite3_column_int(st, 8)));
    json_add_str_or_null(o, "notes", db_col_text(st, 9));
    xjson(cJSON_AddStringToObject(o, "created_at", db_col_text(st, 10)));
    json_add_str_or_null(o, "published_at", db_col_text(st, 11));
    return o;
}

/* A runtime with its artifacts (ctx: the connection for the child query). */
static cJSON *
runtime_with_artifacts(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *o = runtime_row(st);
    cJSON *arts = runtime_artifacts(ctx, cJSON_GetObjectItem(o, "id")->valuestring, err);

    if (!arts) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddItemToObject(o, "artifacts", arts);
    return o;
}

cJSON *
cat_runtime_list(struct db *c, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st, "SELECT " RT_COLS " FROM runtimes ORDER BY release_date, id", err) < 0)
        return NULL;
    return db_rows_json(st, runtime_with_artifacts, c, err);
}

cJSON *
cat_runtime_get(struct db *c, const char *id, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *o = NULL, *arts;
    int rc;

    if (db_prepare(c, &st, "SELECT " RT_COLS " FROM runtimes WHERE id = ?", err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = db_next(st, err);
    if (rc > 0)
        o = runtime_row(st);
    else if (rc == 0)
        app_fail(err, APP_ENOTFOUND, "runtime '%s' is not in the catalog", id);
    sqlite3_finalize(st);
    if (!o)
        return NULL;
    arts = runtime_artifacts(c, id, err);
    if (!arts) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddItemToObject(o, "artifacts", arts);
    return o;
}

/* A published runtime may only change notes and deprecated. */
static int
check_published_change(const cJSON *cur, const cJSON *body, const char *id, struct app_err *err)
{
    static const char *const fixed[] = {"pyodide", "python", "emscripten", "abi", "release_date"};

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(body, fixed[i]);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cur, fixed[i]);

        if (b && !cJSON_IsNull(b) && !cJSON_Compare(b, v, 1))
            return app_fail(err, APP_ECONFLICT,
                            "runtime '%s' is published; only notes and deprecated can change "
                            "('%s' differs)",
                            id, fixed[i]);
    }
    {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(body, "artifacts");
        const cJSON *cur_arts = cJSON_GetObjectItemCaseSensitive(cur, "artifacts");
        const cJSON *x;

        if (!b || cJSON_IsNull(b))
            return 0;
        if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) != cJSON_GetArraySize(cur_arts))
            goto differs;
        cJSON_ArrayForEach (x, b) {
            const cJSON *y;
            int found = 0;

            cJSON_ArrayForEach (y, cur_arts) {
                if (cJSON_Compare(cJSON_GetObjectItem(x, "role"), cJSON_GetObjectItem(y, "role"),
                                  1) &&
                    cJSON_Compare(cJSON_GetObjectItem(x, "sha256"),
                                  cJSON_GetObjectItem(y, "sha256"), 1))
                    found = 1;
            }
            if (!found)
                goto differs;
        }
        return 0;
    }
differs:
    return app_fail(err, APP_ECONFLICT, "runtime '%s' is published; its artifacts cannot change",
                    id);
}

struct rt_fields {
    const char *pyodide, *python, *emscripten, *abi, *release_date, *notes;
    int deprecated, has_deprecated;
    const cJSON *artifacts;
    char *line;
};

static int
parse_fields(const cJSON *body, struct rt_fields *f, struct app_err *err)
{
    const cJSON *a;
    int days;

    memset(f, 0, sizeof(*f));
    if (!cJSON_IsObject(body))
        return app_fail(err, APP_EINVAL, "request body must be a JSON object");
    if (json_string(body, "pyodide", 1, &f->pyodide, err) < 0 ||
        json_string(body, "python", 1, &f->python, err) < 0 ||
        json_string(body, "emscripten", 1, &f->emscripten, err) < 0 ||
        json_string(body, "abi", 1, &f->abi, err) < 0 ||
        json_string(body, "release_date", 1, &f->release_date, err) < 0 ||
        json_string(body, "notes", 0, &f->notes, err) < 0 ||
        json_bool(body, "deprecated", 0, &f->deprecated, err) < 0)
        return -1;
    f->has_deprecated = cJSON_GetObjectItemCaseSensitive(body, "deprecated") != NULL;
    if (date_parse(f->release_date, &days) < 0)
        return app_fail(err, APP_EINVAL, "release_date '%s' is not a valid date (YYYY-MM-DD)",
                        f->release_date);
    f->line = cat_pyline_of(f->python);
    if (!f->line)
        return app_fail(err, APP_EINVAL, "python '%s' is not a version like '3.12.1'", f->python);
    a = cJSON_GetObjectItemCaseSensitive(body, "artifacts");
    if (a && !cJSON_IsNull(a)) {
        const cJSON *x;

        if (!cJSON_IsArray(a))
            return app_fail(err, APP_EINVAL, "field 'artifacts' must be an array");
        cJSON_ArrayForEach (x, a) {
            const char *role, *file, *sha;
            long long size;

            if (!cJSON_IsObject(x))
                return app_fail(err, APP_EINVAL, "each artifact must be an object");
            if (json_string(x, "role", 1, &role, err) < 0 ||
                json_string(x, "file_name", 1, &file, err) < 0 ||
                json_string(x, "sha256", 1, &sha, err) < 0 ||
                json_int(x, "size", 1, &size, err) < 0)
                return -1;
            if (!role_valid(role))
                return app_fail(err, APP_EINVAL,
                                "artifact role '%s' is not one of core-wasm, core-js, loader, "
                                "stdlib, lock",
                                role);
            if (!sha256_hex_valid(sha))
                return app_fail(err, APP_EINVAL,
                                "artifact sha256 '%s' is not 64 lower-case hex digits", sha);
            if (size < 0)
                return app_fail(err, APP_EINVAL, "artifact size must not be negative");
            if (fs_name_check(file, NULL) < 0)
                return app_fail(err, APP_EINVAL,
                                "artifact file_name '%s' must be a plain file name", file);
            for (const cJSON *y = a->child; y != x; y = y->next)
                if (strcmp(cJSON_GetObjectItem(y, "role")->valuestring, role) == 0)
                    return app_fail(err, APP_EINVAL, "artifact role '%s' is given twice", role);
        }
        f->artifacts = a;
    }
    return 0;
}

static int
exec_bound(struct db *c, const char *sql, const char *const *vals, size_t n, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;

    if (db_prepare(c, &st, sql, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (vals[i])
            sqlite3_bind_text(st, (int)i + 1, vals[i], -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE)
        ret = 0;
    else
        db_sql_fail(c, err, "cannot store runtime");
    sqlite3_finalize(st);
    return ret;
}

cJSON *
cat_runtime_put(struct db *c, const char *id, const cJSON *body, int *created, struct app_err *err)
{
    struct rt_fields f;
    cJSON *cur = NULL, *out = NULL;
    struct app_err ignore = {0};
    char now[APP_TIME_LEN];

    if (!cat_id_valid(id)) {
        app_fail(err, APP_EINVAL, "runtime id '%s' must match [a-z0-9][a-z0-9._-]*", id);
        return NULL;
    }
    if (parse_fields(body, &f, err) < 0)
        goto out;
    date_now_rfc3339(now);
    if (db_begin(c, err) < 0)
        goto out;
    cur = cat_runtime_get(c, id, &ignore);
    app_err_release(&ignore);
    *created = cur == NULL;
    {
        sqlite3_stmt *st = NULL;
        int have_line;

        if (db_prepare(c, &st, "SELECT 1 FROM python_lines WHERE line = ?", err) < 0)
            goto fail;
        sqlite3_bind_text(st, 1, f.line, -1, SQLITE_STATIC);
        have_line = db_exists(st, err);
        if (have_line < 0)
            goto fail;
        if (!have_line) {
            app_fail(err, APP_EUNPROCESSABLE,
                     "python line '%s' is not in the catalog; add it with PUT /v1/python/%s",
                     f.line, f.line);
            goto fail;
        }
    }
    if (cur && strcmp(cJSON_GetObjectItem(cur, "state")->valuestring, "published") == 0) {
        const char *vals[] = {f.notes, f.has_deprecated ? (f.deprecated ? "1" : "0") : NULL, id};

        if (check_published_change(cur, body, id, err) < 0)
            goto fail;
        if (exec_bound(c,
                       "UPDATE runtimes SET notes = ?1, deprecated = COALESCE(?2, deprecated)"
                       " WHERE id = ?3",
                       vals, 3, err) < 0)
            goto fail;
    } else {
        const char *vals[] = {id,           f.pyodide, f.python,       f.line,
                              f.emscripten, f.abi,     f.release_date, f.deprecated ? "1" : "0",
                              f.notes,      now};
        const cJSON *x;

        if (exec_bound(c,
                       "INSERT INTO runtimes(id, pyodide, python, python_line, emscripten, abi,"
                       " release_date, deprecated, notes, created_at)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT(id) DO UPDATE SET"
                       " pyodide=?2, python=?3, python_line=?4, emscripten=?5, abi=?6,"
                       " release_date=?7, deprecated=?8, notes=?9",
                       vals, 10, err) < 0)
            goto fail;
        if (f.artifacts) {
            const char *del[] = {id};

            if (exec_bound(c, "DELETE FROM runtime_artifacts WHERE runtime_id = ?", del, 1, err) <
                0)
                goto fail;
        }
        cJSON_ArrayForEach (x, f.artifacts) {
            const char *role = cJSON_GetObjectItem(x, "role")->valuestring;
            const char *file = cJSON_GetObjectItem(x, "file_name")->valuestring;
            const char *sha = cJSON_GetObjectItem(x, "sha256")->valuestring;
            long long size = (long long)cJSON_GetObjectItem(x, "size")->valuedouble;
            char sizebuf[24];
            const char *v2[] = {id, role, file, sha, sizebuf};

            snprintf(sizebuf, sizeof(sizebuf), "%lld", size);
            if (exec_bound(
                    c,
                    "INSERT INTO runtime_artifacts(runtime_id, role, file_name, sha256, size)"
                    " VALUES(?1,?2,?3,?4,CAST(?5 AS INTEGER))",
                    v2, 5, err) < 0 ||
                artdb_note_known(c, sha, size, file, err) < 0)
                goto fail;
        }
    }
    out = cat_runtime_get(c, id, err);
    if (!out ||
        db_event_append(c, *created ? "runtime.created" : "runtime.updated", id, out, err) < 0 ||
        db_commit_catalog(c, err) < 0)
        goto fail;
    goto out;
fail:
    db_rollback(c);
    cJSON_Delete(out);
    out = NULL;
out:
    cJSON_Delete(cur);
    free(f.line);
    return out;
}

cJSON *
cat_runtime_publish(struct db *c, const char *id, struct app_err *err)
{
    cJSON *cur = NULL, *out = NULL;
    const cJSON *arts;
    char now[APP_TIME_LEN];

    if (db_begin(c, err) < 0)
        return NULL;
    cur = cat_runtime_get(c, id, err);
    if (!cur)
        goto fail;
    if (strcmp(cJSON_GetObjectItem(cur, "state")->valuestring, "published") == 0) {
        db_rollback(c);
        return cur;
    }
    arts = cJSON_GetObjectItem(cur, "artifacts");
    for (size_t i = 0; i < cat_n_runtime_roles; i++) {
        const cJSON *x;
        int found = 0;

        cJSON_ArrayForEach (x, arts) {
            if (strcmp(cJSON_GetObjectItem(x, "role")->valuestring, cat_runtime_roles[i]) == 0)
                found = 1;
        }
        if (!found) {
            app_fail(err, APP_EUNPROCESSABLE,
                     "runtime '%s' cannot be published: it has no '%s' artifact", id,
                     cat_runtime_roles[i]);
            goto fail;
        }
    }
    date_now_rfc3339(now);
    {
        const char *vals[] = {now, id};

        if (exec_bound(c,
                       "UPDATE runtimes SET state = 'published', published_at = ?1 WHERE id = ?2",
                       vals, 2, err) < 0)
            goto fail;
    }
    out = cat_runtime_get(c, id, err);
    if (!out || db_event_append(c, "runtime.published", id, out, err) < 0 ||
        db_commit_catalog(c, err) < 0)
        goto fail;
    cJSON_Delete(cur);
    return out;
fail:
    db_rollback(c);
    cJSON_Delete(cur);
    cJSON_Delete(out);
    return NULL;
}
