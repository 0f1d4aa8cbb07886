/* catalog/flagdb.c: flags in the catalog database. */
#include "catalog/flagdb.h"

#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "db/events.h"
#include "flags/flag.h"

#define FLAG_NAME_MAX 100

static int
flag_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > FLAG_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

#define FLAG_COLS                                                                                  \
    "name, disable_flag, enable_date, experimental, description, bundle_runtime,"                  \
    " bundle_package_set, bundle_order, state, created_at, published_at"

static cJSON *
implied_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *o = xjson(cJSON_CreateObject());

    (void)ctx;
    (void)err;
    xjson(cJSON_AddStringToObject(o, "flag", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(o, "after", db_col_text(st, 1)));
    return o;
}

static cJSON *
implied_of(struct db *c, const char *name, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st,
                   "SELECT implied_by, after FROM flag_implied WHERE flag = ?"
                   " ORDER BY implied_by",
                   err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return db_rows_json(st, implied_row, NULL, err);
}

static cJSON *
flag_row(struct db *c, sqlite3_stmt *st, struct app_err *err)
{
    cJSON *o = xjson(cJSON_CreateObject());
    cJSON *imp;

    xjson(cJSON_AddStringToObject(o, "name", db_col_text(st, 0)));
    json_add_str_or_null(o, "disable_flag", db_col_text(st, 1));
    json_add_str_or_null(o, "enable_date", db_col_text(st, 2));
    imp = implied_of(c, db_col_text(st, 0), err);
    if (!imp) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddItemToObject(o, "implied_by", imp);
    xjson(cJSON_AddBoolToObject(o, "experimental", sqlite3_column_int(st, 3)));
    xjson(cJSON_AddStringToObject(o, "description", db_col_text(st, 4)));
    if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
        cJSON *b = xjson(cJSON_AddObjectToObject(o, "bundle"));

        xjson(cJSON_AddStringToObject(b, "runtime", db_col_text(st, 5)));
        xjson(cJSON_AddStringToObject(b, "package_set", db_col_text(st, 6)));
        xjson(cJSON_AddNumberToObject(b, "order", sqlite3_column_int(st, 7)));
    } else {
        xjson(cJSON_AddNullToObject(o, "bundle"));
    }
    xjson(cJSON_AddStringToObject(o, "state", db_col_text(st, 8)));
    xjson(cJSON_AddStringToObject(o, "created_at", db_col_text(st, 9)));
    json_add_str_or_null(o, "published_at", db_col_text(st, 10));
    return o;
}

/* ctx: the connection, for each flag's implications. */
static cJSON *
flag_list_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    return flag_row(ctx, st, err);
}

cJSON *
cat_flag_list(struct db *c, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st, "SELECT " FLAG_COLS " FROM flags ORDER BY name", err) < 0)
        return NULL;
    return db_rows_json(st, flag_list_row, c, err);
}

cJSON *
cat_flag_get(struct db *c, const char *name, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *o = NULL;
    int rc;

    if (db_prepare(c, &st, "SELECT " FLAG_COLS " FROM flags WHERE name = ?", err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = db_next(st, err);
    if (rc > 0)
        o = flag_row(c, st, err);
    else if (rc == 0)
        app_fail(err, APP_ENOTFOUND, "flag '%s' is not in the catalog", name);
    sqlite3_finalize(st);
    return o;
}

/* Is `name` taken as an enable or disable name by a flag other than `self`? */
static int
name_taken(struct db *c, const char *name, const char *self, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st,
                   "SELECT 1 FROM flags WHERE (name = ?1 OR disable_flag = ?1) AND name != ?2",
                   err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, self, -1, SQLITE_STATIC);
    return db_exists(st, err);
}

static int
row_exists(struct db *c, const char *sql, const char *a, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st, sql, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    return db_exists(st, err);
}

struct flag_body {
    const char *disable, *enable_date, *description;
    int experimental;
    const cJSON *implied, *bundle;
    const char *b_runtime, *b_set;
    long long b_order;
};

static int
parse_body(struct db *c, const char *name, const cJSON *body, struct flag_body *f,
           struct app_err *err)
{
    const cJSON *x;
    int d;

    memset(f, 0, sizeof(*f));
    if (!cJSON_IsObject(body))
        return app_fail(err, APP_EINVAL, "request body must be a JSON object");
    {
        const char *bn = NULL;

        if (json_string(body, "name", 0, &bn, err) < 0)
            return -1;
        if (bn && strcmp(bn, name) != 0)
            return app_fail(err, APP_EINVAL, "body name '%s' differs from the path '%s'", bn, name);
    }
    if (json_string(body, "disable_flag", 0, &f->disable, err) < 0 ||
        json_string(body, "enable_date", 0, &f->enable_date, err) < 0 ||
        json_string(body, "description", 0, &f->description, err) < 0 ||
        json_bool(body, "experimental", 0, &f->experimental, err) < 0)
        return -1;
    if (f->disable && !flag_name_valid(f->disable))
        return app_fail(err, APP_EINVAL, "disable_flag '%s' must match [a-z][a-z0-9_]*",
                        f->disable);
    if (f->disable && strcmp(f->disable, name) == 0)
        return app_fail(err, APP_EINVAL, "disable_flag must differ from the flag's name");
    if (f->enable_date && date_parse(f->enable_date, &d) < 0)
        return app_fail(err, APP_EINVAL, "enable_date '%s' is not a valid date (YYYY-MM-DD)",
                        f->enable_date);
    f->implied = cJSON_GetObjectItemCaseSensitive(body, "implied_by");
    if (f->implied && cJSON_IsNull(f->implied))
        f->implied = NULL;
    if (f->implied && !cJSON_IsArray(f->implied))
        return app_fail(err, APP_EINVAL, "field 'implied_by' must be an array of {flag, after}");
    cJSON_ArrayForEach (x, f->implied) {
        const char *fl, *after;
        int found;

        if (!cJSON_IsObject(x) || json_string(x, "flag", 1, &fl, err) < 0 ||
            json_string(x, "after", 1, &after, err) < 0)
            return app_fail(err, APP_EINVAL, "each implied_by entry must be {flag, after}");
        if (date_parse(after, &d) < 0)
            return app_fail(err, APP_EINVAL, "implied_by after '%s' is not a valid date", after);
        if (strcmp(fl, name) == 0)
            return app_fail(err, APP_EINVAL, "flag '%s' cannot imply itself", name);
        found = row_exists(c, "SELECT 1 FROM flags WHERE name = ?", fl, err);
        if (found < 0)
            return -1;
        if (!found)
            return app_fail(err, APP_EUNPROCESSABLE, "implied_by names unknown flag '%s'", fl);
    }
    f->bundle = cJSON_GetObjectItemCaseSensitive(body, "bundle");
    if (f->bundle && cJSON_IsNull(f->bundle))
        f->bundle = NULL;
    if (f->bundle) {
        int found;

        if (!cJSON_IsObject(f->bundle) ||
            json_string(f->bundle, "runtime", 1, &f->b_runtime, err) < 0 ||
            json_string(f->bundle, "package_set", 1, &f->b_set, err) < 0 ||
            json_int(f->bundle, "order", 1, &f->b_order, err) < 0)
            return app_fail(err, APP_EINVAL,
                            "field 'bundle' must be {runtime, package_set, order} or null");
        if (f->b_order < 1 || f->b_order > FLAG_BUNDLE_ORDER_MAX)
            return app_fail(err, APP_EINVAL, "bundle order must be a positive integer");
        found = row_exists(c, "SELECT 1 FROM package_sets WHERE id = ?", f->b_set, err);
        if (found < 0)
            return -1;
        if (!found)
            return app_fail(err, APP_EUNPROCESSABLE,
                            "bundle package set '%s' is not in the catalog", f->b_set);
        {
            sqlite3_stmt *st = NULL;
            int ok;

            if (db_prepare(c, &st, "SELECT 1 FROM package_sets WHERE id = ?1 AND runtime_id = ?2",
                           err) < 0)
                return -1;
            sqlite3_bind_text(st, 1, f->b_set, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, f->b_runtime, -1, SQLITE_STATIC);
            ok = db_exists(st, err);
            if (ok < 0)
                return -1;
            if (!ok)
                return app_fail(err, APP_EUNPROCESSABLE,
                                "bundle package set '%s' does not belong to runtime '%s'", f->b_set,
                                f->b_runtime);
        }
        {
            sqlite3_stmt *st = NULL;
            int clash;

            if (db_prepare(c, &st, "SELECT name FROM flags WHERE bundle_order = ? AND name != ?",
                           err) < 0)
                return -1;
            sqlite3_bind_int64(st, 1, f->b_order);
            sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
            clash = db_next(st, err);
            if (clash > 0)
                app_fail(err, APP_ECONFLICT, "bundle order %lld is already used by flag '%s'",
                         f->b_order, db_col_text(st, 0));
            sqlite3_finalize(st);
            if (clash)
                return -1;
        }
    }
    return 0;
}

static int
same_published(const cJSON *cur, const cJSON *body, const char *name, struct app_err *err)
{
    static const char *const fixed[] = {"disable_flag", "enable_date", "experimental", "implied_by",
                                        "bundle"};

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(body, fixed[i]);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cur, fixed[i]);
        int same;

        if (!b)
            continue;
        if (cJSON_IsNull(b) || (cJSON_IsArray(b) && cJSON_GetArraySize(b) == 0))
            same = cJSON_IsNull(v) || (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0) ||
                   (cJSON_IsFalse(v) && 0);
        else if (strcmp(fixed[i], "bundle") == 0 && cJSON_IsObject(v))
            same =
                cJSON_Compare(cJSON_GetObjectItem(b, "runtime"), cJSON_GetObjectItem(v, "runtime"),
                              1) &&
                cJSON_Compare(cJSON_GetObjectItem(b, "package_set"),
                              cJSON_GetObjectItem(v, "package_set"), 1) &&
                cJSON_Compare(cJSON_GetObjectItem(b, "order"), cJSON_GetObjectItem(v, "order"), 1);
        else
            same = cJSON_Compare(b, v, 1);
        if (!same)
            return app_fail(
                err, APP_ECONFLICT,
                "flag '%s' is published; only its description can change ('%s' differs)", name,
                fixed[i]);
    }
    return 0;
}

cJSON *
cat_flag_put(struct db *c, const char *name, const cJSON *body, int *created, struct app_err *err)
{
    struct flag_body f;
    struct app_err ignore = {0};
    cJSON *cur = NULL, *out = NULL;
    sqlite3_stmt *st = NULL;
    const cJSON *x;
    char now[APP_TIME_LEN];
    int taken;

    if (!flag_name_valid(name)) {
        app_fail(err, APP_EINVAL, "flag name '%s' must match [a-z][a-z0-9_]*", name);
        return NULL;
    }
    if (db_begin(c, err) < 0)
        return NULL;
    if (parse_body(c, name, body, &f, err) < 0)
        goto fail;
    cur = cat_flag_get(c, name, &ignore);
    app_err_release(&ignore);
    *created = cur == NULL;
    if (cur && strcmp(cJSON_GetObjectItem(cur, "state")->valuestring, "published") == 0) {
        if (same_published(cur, body, name, err) < 0)
            goto fail;
        if (db_prepare(c, &st,
                       "UPDATE flags SET description = COALESCE(?2, description) WHERE name = ?1",
                       err) < 0)
            goto fail;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (f.description)
            sqlite3_bind_text(st, 2, f.description, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            db_sql_fail(c, err, "cannot store flag");
            goto fail;
        }
        goto done;
    }
    taken = name_taken(c, name, name, err);
    if (taken < 0)
        goto fail;
    if (taken) {
        app_fail(err, APP_ECONFLICT, "'%s' is already used as another flag's disable name", name);
        goto fail;
    }
    if (f.disable) {
        taken = name_taken(c, f.disable, name, err);
        if (taken < 0)
            goto fail;
        if (taken) {
            app_fail(err, APP_ECONFLICT, "disable name '%s' is already used by another flag",
                     f.disable);
            goto fail;
        }
    }
    date_now_rfc3339(now);
    if (db_prepare(
            c, &st,
            "INSERT INTO flags(name, disable_flag, enable_date, experimental, description,"
            " bundle_runtime, bundle_package_set, bundle_order, created_at)"
            " VALUES(?1,?2,?3,?4,COALESCE(?5,''),?6,?7,?8,?9) ON CONFLICT(name) DO UPDATE SET"
            " disable_flag=?2, enable_date=?3, experimental=?4, description=COALESCE(?5,''),"
            " bundle_runtime=?6, bundle_package_set=?7, bundle_order=?8",
            err) < 0)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (f.disable)
        sqlite3_bind_text(st, 2, f.disable, -1, SQLITE_STATIC);
    if (f.enable_date)
        sqlite3_bind_text(st, 3, f.enable_date, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, f.experimental);
    if (f.description)
        sqlite3_bind_text(st, 5, f.description, -1, SQLITE_STATIC);
    if (f.bundle) {
        sqlite3_bind_text(st, 6, f.b_runtime, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, f.b_set, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, f.b_order);
    }
    sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(c, err, "cannot store flag");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (db_prepare(c, &st, "DELETE FROM flag_implied WHERE flag = ?", err) < 0)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot store flag") < 0)
        goto fail;
    sqlite3_finalize(st);
    st = NULL;
    cJSON_ArrayForEach (x, f.implied) {
        if (db_prepare(c, &st,
                       "INSERT OR REPLACE INTO flag_implied(flag, implied_by, after) VALUES(?,?,?)",
                       err) < 0)
            goto fail;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cJSON_GetObjectItem(x, "flag")->valuestring, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, cJSON_GetObjectItem(x, "after")->valuestring, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            db_sql_fail(c, err, "cannot store flag implication");
            goto fail;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
done:
    sqlite3_finalize(st);
    st = NULL;
    out = cat_flag_get(c, name, err);
    if (!out ||
        db_event_append(c, *created ? "flag.created" : "flag.updated", name, out, err) < 0 ||
        db_commit_catalog(c, err) < 0)
        goto fail;
    cJSON_Delete(cur);
    return out;
fail:
    sqlite3_finalize(st);
    db_rollback(c);
    cJSON_Delete(cur);
    cJSON_Delete(out);
    return NULL;
}

/* Every date a flag carries must be after today (DESIGN §2). */
static int
check_future(const cJSON *cur, const char *name, int today, struct app_err *err)
{
    const cJSON *ed = cJSON_GetObjectItem(cur, "enable_date"), *x;
    char t[APP_DATE_LEN];
    int d;

    date_format(today, t);
    if (cJSON_IsString(ed) && date_parse(ed->valuestring, &d) == 0 && d <= today)
        return app_fail(
            err, APP_EUNPROCESSABLE,
            "flag '%s' cannot be published: its enable_date %s is not after today (%s); "
            "publishing it would change what existing dates resolve to",
            name, ed->valuestring, t);
    cJSON_ArrayForEach (x, cJSON_GetObjectItem(cur, "implied_by")) {
        const char *after = cJSON_GetObjectItem(x, "after")->valuestring;

        if (date_parse(after, &d) == 0 && d <= today)
            return app_fail(err, APP_EUNPROCESSABLE,
                            "flag '%s' cannot be published: its implied_by date %s is not after "
                            "today (%s)",
                            name, after, t);
    }
    return 0;
}

static int
published(struct db *c, const char *sql, const char *id, struct app_err *err)
{
    return row_exists(c, sql, id, err);
}

cJSON *
cat_flag_publish(struct db *c, const char *name, int today, int force, struct app_err *err)
{
    cJSON *cur = NULL, *out = NULL;
    const cJSON *b, *x;
    sqlite3_stmt *st = NULL;
    char now[APP_TIME_LEN];

    if (db_begin(c, err) < 0)
        return NULL;
    cur = cat_flag_get(c, name, err);
    if (!cur)
        goto fail;
    if (strcmp(cJSON_GetObjectItem(cur, "state")->valuestring, "published") == 0) {
        db_rollback(c);
        return cur;
    }
    if (!force && check_future(cur, name, today, err) < 0)
        goto fail;
    b = cJSON_GetObjectItem(cur, "bundle");
    if (cJSON_IsObject(b)) {
        const char *rt = cJSON_GetObjectItem(b, "runtime")->valuestring;
        const char *ps = cJSON_GetObjectItem(b, "package_set")->valuestring;
        int ok =
            published(c, "SELECT 1 FROM runtimes WHERE id = ? AND state = 'published'", rt, err);

        if (ok == 1)
            ok = published(c, "SELECT 1 FROM package_sets WHERE id = ? AND state = 'published'", ps,
                           err);
        if (ok < 0)
            goto fail;
        if (!ok) {
            app_fail(err, APP_EUNPROCESSABLE,
                     "flag '%s' cannot be published before its bundle's runtime '%s' and package "
                     "set '%s'",
                     name, rt, ps);
            goto fail;
        }
    }
    cJSON_ArrayForEach (x, cJSON_GetObjectItem(cur, "implied_by")) {
        const char *fl = cJSON_GetObjectItem(x, "flag")->valuestring;
        int ok =
            published(c, "SELECT 1 FROM flags WHERE name = ? AND state = 'published'", fl, err);

        if (ok < 0)
            goto fail;
        if (!ok) {
            app_fail(err, APP_EUNPROCESSABLE,
                     "flag '%s' cannot be published before the flag '%s' that implies it", name,
                     fl);
            goto fail;
        }
    }
    date_now_rfc3339(now);
    if (db_prepare(c, &st, "UPDATE flags SET state = 'published', published_at = ? WHERE name = ?",
                   err) < 0)
        goto fail;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(c, err, "cannot publish flag");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    out = cat_flag_get(c, name, err);
    if (!out || db_event_append(c, "flag.published", name, out, err) < 0 ||
        db_commit_catalog(c, err) < 0)
        goto fail;
    cJSON_Delete(cur);
    return out;
fail:
    sqlite3_finalize(st);
    db_rollback(c);
    cJSON_Delete(cur);
    cJSON_Delete(out);
    return NULL;
}
