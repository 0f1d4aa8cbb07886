/* catalog/pkgsets.c: package sets in the catalog database, import and export of
 * pyodide-lock.json. */
#include "catalog/pkgsets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/fs.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "app/url.h"
#include "artifacts/artdb.h"
#include "catalog/req.h"
#include "catalog/runtimes.h"
#include "db/events.h"

#define PKGSET_MAX_PACKAGES 20000

int
cat_pkgset_id_split(const char *id, char **runtime, int *date)
{
    const char *slash = id ? strchr(id, '/') : NULL;
    char *rt;

    if (!slash)
        return 0;
    rt = xstrndup(id, (size_t)(slash - id));
    if (!cat_id_valid(rt) || date_parse(slash + 1, date) < 0) {
        free(rt);
        return 0;
    }
    *runtime = rt;
    return 1;
}

#define PS_COLS                                                                                    \
    "p.id, p.runtime_id, p.date, p.state, p.deprecated, p.notes, p.created_at,"                    \
    " p.published_at, p.info, (SELECT COUNT(*) FROM packages k WHERE k.set_id = p.id)"

static cJSON *
pkgset_row(sqlite3_stmt *st)
{
    cJSON *o = xjson(cJSON_CreateObject());
    cJSON *info = cJSON_Parse(db_col_text(st, 8));

    xjson(cJSON_AddStringToObject(o, "id", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(o, "runtime", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(o, "date", db_col_text(st, 2)));
    xjson(cJSON_AddStringToObject(o, "state", db_col_text(st, 3)));
    xjson(cJSON_AddBoolToObject(o, "deprecated", sqlite3_column_int(st, 4)));
    json_add_str_or_null(o, "notes", db_col_text(st, 5));
    xjson(cJSON_AddStringToObject(o, "created_at", db_col_text(st, 6)));
    json_add_str_or_null(o, "published_at", db_col_text(st, 7));
    cJSON_AddItemToObject(o, "info", info ? info : xjson(cJSON_CreateObject()));
    xjson(cJSON_AddNumberToObject(o, "package_count", sqlite3_column_int(st, 9)));
    return o;
}

static cJSON *
pkgset_list_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    (void)ctx;
    (void)err;
    return pkgset_row(st);
}

cJSON *
cat_pkgset_list(struct db *c, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st, "SELECT " PS_COLS " FROM package_sets p ORDER BY p.runtime_id, p.date",
                   err) < 0)
        return NULL;
    return db_rows_json(st, pkgset_list_row, NULL, err);
}

static cJSON *
json_col(sqlite3_stmt *st, int col)
{
    cJSON *v = cJSON_Parse(db_col_text(st, col));

    return v ? v : xjson(cJSON_CreateArray());
}

static cJSON *
package_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *p = xjson(cJSON_CreateObject());

    (void)ctx;
    (void)err;
    xjson(cJSON_AddStringToObject(p, "name", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(p, "version", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(p, "file_name", db_col_text(st, 2)));
    xjson(cJSON_AddStringToObject(p, "sha256", db_col_text(st, 3)));
    cJSON_AddItemToObject(p, "depends", json_col(st, 4));
    cJSON_AddItemToObject(p, "imports", json_col(st, 5));
    xjson(cJSON_AddStringToObject(p, "package_type", db_col_text(st, 6)));
    xjson(cJSON_AddStringToObject(p, "install_dir", db_col_text(st, 7)));
    xjson(cJSON_AddBoolToObject(p, "stored", sqlite3_column_int(st, 8)));
    if (sqlite3_column_type(st, 9) == SQLITE_NULL)
        xjson(cJSON_AddNullToObject(p, "size"));
    else
        xjson(cJSON_AddNumberToObject(p, "size", (double)sqlite3_column_int64(st, 9)));
    return p;
}

static cJSON *
packages_of(struct db *c, const char *id, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st,
                   "SELECT k.name, k.version, k.file_name, k.sha256, k.depends, k.imports,"
                   " k.package_type, k.install_dir, COALESCE(a.stored, 0), a.size"
                   " FROM packages k LEFT JOIN artifacts a ON a.sha256 = k.sha256"
                   " WHERE k.set_id = ? ORDER BY k.name",
                   err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return db_rows_json(st, package_row, NULL, err);
}

cJSON *
cat_pkgset_get(struct db *c, const char *id, int brief, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *o = NULL;
    int rc;

    if (db_prepare(c, &st, "SELECT " PS_COLS " FROM package_sets p WHERE p.id = ?", err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = db_next(st, err);
    if (rc > 0)
        o = pkgset_row(st);
    else if (rc == 0)
        app_fail(err, APP_ENOTFOUND, "package set '%s' is not in the catalog", id);
    sqlite3_finalize(st);
    if (o && !brief) {
        cJSON *pk = packages_of(c, id, err);

        if (!pk) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, "packages", pk);
    }
    return o;
}

/* A JSON array of strings, normalized when norm; NULL on a wrong type. */
static cJSON *
string_list(const cJSON *v, int norm)
{
    cJSON *out = xjson(cJSON_CreateArray());
    const cJSON *x;

    if (!v || cJSON_IsNull(v))
        return out;
    if (!cJSON_IsArray(v))
        goto bad;
    cJSON_ArrayForEach (x, v) {
        char *s;

        if (!cJSON_IsString(x))
            goto bad;
        s = norm ? req_normalize(x->valuestring) : xstrdup(x->valuestring);
        cJSON_AddItemToArray(out, xjson(cJSON_CreateString(s)));
        free(s);
    }
    return out;
bad:
    cJSON_Delete(out);
    return NULL;
}

static int
lock_check(const cJSON *lock, const char *abi, struct app_err *err)
{
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(lock, "info");
    const cJSON *pk = cJSON_GetObjectItemCaseSensitive(lock, "packages");
    const char *lock_abi = NULL;

    if (!cJSON_IsObject(lock))
        return app_fail(err, APP_EINVAL, "request body must be a pyodide-lock.json object");
    if (!cJSON_IsObject(info))
        return app_fail(err, APP_EINVAL, "pyodide-lock.json has no 'info' object");
    if (!cJSON_IsObject(pk))
        return app_fail(err, APP_EINVAL, "pyodide-lock.json has no 'packages' object");
    if (cJSON_GetArraySize(pk) > PKGSET_MAX_PACKAGES)
        return app_fail(err, APP_ETOOLARGE, "pyodide-lock.json has more than %d packages",
                        PKGSET_MAX_PACKAGES);
    if (json_string(info, "abi_version", 1, &lock_abi, err) < 0)
        return -1;
    if (strncmp(abi, "pyodide_", 8) != 0 || strcmp(abi + 8, lock_abi) != 0)
        return app_fail(err, APP_EUNPROCESSABLE,
                        "lock's info.abi_version '%s' does not match the runtime's ABI '%s'",
                        lock_abi, abi);
    return 0;
}

/* Insert one lock entry; collects problems into err->errors. */
static int
insert_package(struct db *c, sqlite3_stmt *ins, const char *id, const cJSON *entry, const char *key,
               struct app_err *err)
{
    const char *name = NULL, *version = NULL, *file = NULL, *sha = NULL, *ptype = NULL,
               *idir = NULL;
    cJSON *deps = NULL, *imports = NULL, *extra = NULL;
    char *norm = NULL, *deps_s = NULL, *imp_s = NULL, *extra_s = NULL;
    const cJSON *x;
    int ret = -1;

    if (!cJSON_IsObject(entry))
        return app_fail(err, APP_EINVAL, "package '%s' must be an object", key);
    if (json_string(entry, "name", 0, &name, err) < 0 ||
        json_string(entry, "version", 1, &version, err) < 0 ||
        json_string(entry, "file_name", 1, &file, err) < 0 ||
        json_string(entry, "sha256", 1, &sha, err) < 0 ||
        json_string(entry, "package_type", 0, &ptype, err) < 0 ||
        json_string(entry, "install_dir", 0, &idir, err) < 0) {
        char *msg = xasprintf("package '%s': %s", key, err->msg);

        app_fail(err, APP_EINVAL, "%s", msg);
        free(msg);
        return -1;
    }
    if (!sha256_hex_valid(sha))
        return app_fail(err, APP_EINVAL, "package '%s': sha256 is not 64 lower-case hex digits",
                        key);
    if (ptype && strcmp(ptype, "package") != 0 && strcmp(ptype, "cpython_module") != 0 &&
        strcmp(ptype, "shared_library") != 0)
        return app_fail(err, APP_EINVAL,
                        "package '%s': package_type '%s' is not package, cpython_module or "
                        "shared_library",
                        key, ptype);
    if (idir && strcmp(idir, "site") != 0 && strcmp(idir, "stdlib") != 0 &&
        strcmp(idir, "dynlib") != 0)
        return app_fail(err, APP_EINVAL,
                        "package '%s': install_dir '%s' is not site, stdlib or dynlib", key, idir);
    if (fs_name_check(file, NULL) < 0)
        return app_fail(err, APP_EINVAL, "package '%s': file_name '%s' must be a plain file name",
                        key, file);
    deps = string_list(cJSON_GetObjectItemCaseSensitive(entry, "depends"), 1);
    imports = string_list(cJSON_GetObjectItemCaseSensitive(entry, "imports"), 0);
    if (!deps || !imports) {
        app_fail(err, APP_EINVAL, "package '%s': depends and imports must be arrays of strings",
                 key);
        goto out;
    }
    norm = req_normalize(name ? name : key);
    /* Keep the lock fields almanac does not model, for a faithful export. */
    extra = xjson(cJSON_CreateObject());
    cJSON_ArrayForEach (x, entry) {
        static const char *const known[] = {"name",    "version", "file_name",    "sha256",
                                            "depends", "imports", "package_type", "install_dir"};
        int is_known = 0;

        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            if (strcmp(x->string, known[i]) == 0)
                is_known = 1;
        if (!is_known)
            cJSON_AddItemToObject(extra, x->string, xjson(cJSON_Duplicate(x, 1)));
    }
    deps_s = json_canonical(deps, NULL);
    imp_s = json_canonical(imports, NULL);
    extra_s = json_canonical(extra, NULL);
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, norm, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, version, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, file, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 6, deps_s, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 7, imp_s, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 8, ptype ? ptype : "package", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 9, idir ? idir : "site", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 10, extra_s, -1, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
            app_fail(err, APP_EINVAL, "package '%s' appears twice (after normalization)", norm);
        else
            db_sql_fail(c, err, "cannot store package");
        goto out;
    }
    if (artdb_note_known(c, sha, -1, file, err) < 0)
        goto out;
    ret = 0;
out:
    cJSON_Delete(deps);
    cJSON_Delete(imports);
    cJSON_Delete(extra);
    free(norm);
    free(deps_s);
    free(imp_s);
    free(extra_s);
    return ret;
}

/* Every depends entry names a package of the set. */
static int
check_depends(struct db *c, const char *id, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int bad = 0, rc;

    if (db_prepare(c, &st,
                   "SELECT k.name, d.value FROM packages k, json_each(k.depends) d"
                   " WHERE k.set_id = ?1 AND NOT EXISTS (SELECT 1 FROM packages q"
                   " WHERE q.set_id = ?1 AND q.name = d.value) ORDER BY k.name, d.value",
                   err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while ((rc = db_next(st, err)) > 0) {
        cJSON *e = app_err_add(err, "unknown_dependency",
                               "package '%s' depends on '%s', which is not in the set",
                               db_col_text(st, 0), db_col_text(st, 1));

        xjson(cJSON_AddStringToObject(e, "name", db_col_text(st, 0)));
        xjson(cJSON_AddStringToObject(e, "depends", db_col_text(st, 1)));
        bad++;
    }
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    if (bad)
        return app_fail(err, APP_EUNPROCESSABLE,
                        "%d dependencies name packages missing from the set", bad);
    return 0;
}

static int
exec1(struct db *c, const char *sql, const char *a, const char *b, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;

    if (db_prepare(c, &st, sql, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE)
        ret = 0;
    else
        db_sql_fail(c, err, "cannot store package set");
    sqlite3_finalize(st);
    return ret;
}

cJSON *
cat_pkgset_put(struct db *c, const char *id, const cJSON *lock, const char *notes, int *created,
               struct app_err *err)
{
    char *rt_id = NULL, *info_s = NULL;
    char date_s[APP_DATE_LEN], now[APP_TIME_LEN];
    cJSON *rt = NULL, *cur = NULL, *out = NULL;
    sqlite3_stmt *ins = NULL;
    struct app_err ignore = {0};
    const cJSON *x;
    int date;

    if (!cat_pkgset_id_split(id, &rt_id, &date)) {
        app_fail(err, APP_EINVAL, "package set id '%s' must be '<runtime>/<YYYY-MM-DD>'", id);
        return NULL;
    }
    date_format(date, date_s);
    if (db_begin(c, err) < 0)
        goto out;
    rt = cat_runtime_get(c, rt_id, err);
    if (!rt) {
        err->code = APP_EUNPROCESSABLE;
        goto fail;
    }
    if (lock_check(lock, cJSON_GetObjectItem(rt, "abi")->valuestring, err) < 0)
        goto fail;
    cur = cat_pkgset_get(c, id, 1, &ignore);
    app_err_release(&ignore);
    *created = cur == NULL;
    if (cur && strcmp(cJSON_GetObjectItem(cur, "state")->valuestring, "published") == 0) {
        app_fail(err, APP_ECONFLICT,
                 "package set '%s' is published and cannot change; make a new dated set", id);
        goto fail;
    }
    date_now_rfc3339(now);
    info_s = json_canonical(cJSON_GetObjectItemCaseSensitive(lock, "info"), NULL);
    {
        sqlite3_stmt *st = NULL;

        if (db_prepare(c, &st,
                       "INSERT INTO package_sets(id, runtime_id, date, info, notes, created_at)"
                       " VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(id) DO UPDATE SET info = ?4,"
                       " notes = ?5",
                       err) < 0)
            goto fail;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rt_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, date_s, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, info_s, -1, SQLITE_STATIC);
        if (notes)
            sqlite3_bind_text(st, 5, notes, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            db_sql_fail(c, err, "cannot store package set");
            goto fail;
        }
        sqlite3_finalize(st);
    }
    if (exec1(c, "DELETE FROM packages WHERE set_id = ?", id, NULL, err) < 0)
        goto fail;
    if (db_prepare(c, &ins,
                   "INSERT INTO packages(set_id, name, version, file_name, sha256, depends,"
                   " imports, package_type, install_dir, extra) VALUES(?,?,?,?,?,?,?,?,?,?)",
                   err) < 0)
        goto fail;
    cJSON_ArrayForEach (x, cJSON_GetObjectItemCaseSensitive(lock, "packages")) {
        if (insert_package(c, ins, id, x, x->string, err) < 0)
            goto fail;
    }
    if (check_depends(c, id, err) < 0)
        goto fail;
    out = cat_pkgset_get(c, id, 1, err);
    if (!out ||
        db_event_append(c, *created ? "package_set.created" : "package_set.updated", id, out, err) <
            0 ||
        db_commit_catalog(c, err) < 0)
        goto fail;
    goto out;
fail:
    db_rollback(c);
    cJSON_Delete(out);
    out = NULL;
out:
    sqlite3_finalize(ins);
    cJSON_Delete(rt);
    cJSON_Delete(cur);
    free(rt_id);
    free(info_s);
    return out;
}

cJSON *
cat_pkgset_publish(struct db *c, const char *id, struct app_err *err)
{
    cJSON *cur = NULL, *rt = NULL, *out = NULL;
    char now[APP_TIME_LEN];

    if (db_begin(c, err) < 0)
        return NULL;
    cur = cat_pkgset_get(c, id, 1, err);
    if (!cur)
        goto fail;
    if (strcmp(cJSON_GetObjectItem(cur, "state")->valuestring, "published") == 0) {
        db_rollback(c);
        return cur;
    }
    rt = cat_runtime_get(c, cJSON_GetObjectItem(cur, "runtime")->valuestring, err);
    if (!rt)
        goto fail;
    if (strcmp(cJSON_GetObjectItem(rt, "state")->valuestring, "published") != 0) {
        app_fail(err, APP_EUNPROCESSABLE,
                 "package set '%s' cannot be published before its runtime '%s'", id,
                 cJSON_GetObjectItem(rt, "id")->valuestring);
        goto fail;
    }
    date_now_rfc3339(now);
    if (exec1(c, "UPDATE package_sets SET state = 'published', published_at = ?2 WHERE id = ?1", id,
              now, err) < 0)
        goto fail;
    out = cat_pkgset_get(c, id, 1, err);
    if (!out || db_event_append(c, "package_set.published", id, out, err) < 0 ||
        db_commit_catalog(c, err) < 0)
        goto fail;
    cJSON_Delete(cur);
    cJSON_Delete(rt);
    return out;
fail:
    db_rollback(c);
    cJSON_Delete(cur);
    cJSON_Delete(rt);
    cJSON_Delete(out);
    return NULL;
}

cJSON *
cat_pkgset_export(struct db *c, const char *id, const char *base_url, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *set = NULL, *lock = NULL, *pk;
    int rc;

    set = cat_pkgset_get(c, id, 1, err);
    if (!set)
        return NULL;
    if (db_prepare(c, &st,
                   "SELECT name, version, file_name, sha256, depends, imports, package_type,"
                   " install_dir, extra FROM packages WHERE set_id = ? ORDER BY name",
                   err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    lock = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(lock, "info",
                          xjson(cJSON_Duplicate(cJSON_GetObjectItem(set, "info"), 1)));
    pk = xjson(cJSON_AddObjectToObject(lock, "packages"));
    while ((rc = db_next(st, err)) > 0) {
        cJSON *p = cJSON_Parse(db_col_text(st, 8));
        char *fname = url_encode_segment(db_col_text(st, 2));
        char *url =
            xasprintf("%s/v1/artifacts/sha256/%s/file/%s", base_url, db_col_text(st, 3), fname);

        if (!p)
            p = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(p, "name", db_col_text(st, 0)));
        xjson(cJSON_AddStringToObject(p, "version", db_col_text(st, 1)));
        /* A URL ending in the (percent-encoded) file name: Pyodide reads the package
         * type from the extension. */
        xjson(cJSON_AddStringToObject(p, "file_name", url));
        xjson(cJSON_AddStringToObject(p, "sha256", db_col_text(st, 3)));
        cJSON_AddItemToObject(p, "depends", json_col(st, 4));
        cJSON_AddItemToObject(p, "imports", json_col(st, 5));
        xjson(cJSON_AddStringToObject(p, "package_type", db_col_text(st, 6)));
        xjson(cJSON_AddStringToObject(p, "install_dir", db_col_text(st, 7)));
        cJSON_AddItemToObject(pk, db_col_text(st, 0), p);
        free(url);
        free(fname);
    }
    if (rc < 0) {
        cJSON_Delete(lock);
        lock = NULL;
    }
out:
    sqlite3_finalize(st);
    cJSON_Delete(set);
    return lock;
}
