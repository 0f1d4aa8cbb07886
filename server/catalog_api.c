/* server/catalog_api.c: catalog routes: python lines, runtimes, package sets, flags,
 * events. Reads are public; writes need a token (SRV_ADMIN). PUT answers 201 when it
 * created the object and 200 when it changed it. */
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/flagdb.h"
#include "catalog/lines.h"
#include "catalog/pkgsets.h"
#include "catalog/runtimes.h"
#include "server/api.h"

/* Reply with obj (200), or the error when obj is NULL. */
static int
reply(struct srv_req *r, cJSON *obj, unsigned status)
{
    if (!obj)
        return -1;
    srv_reply_json(r, status, obj);
    return 0;
}

static int
reply_list(struct srv_req *r, const char *key, cJSON *arr)
{
    cJSON *o;

    if (!arr)
        return -1;
    o = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(o, key, arr);
    srv_reply_json(r, 200, o);
    return 0;
}

#define WITH_CAT(r, c)                                                                             \
    struct cat *c = srv_cat(r);                                                                    \
    if (!c)                                                                                        \
    return app_fail(&(r)->err, APP_EINTERNAL, "database unavailable")

static int
h_lines(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply_list(r, "lines", cat_line_list(c, date_today(), &r->err));
}

static int
h_line_get(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply(r, cat_line_get(c, r->params[0], date_today(), &r->err), 200);
}

static int
h_line_put(struct srv_req *r)
{
    cJSON *body = srv_body_json(r), *out;
    int created = 0;

    if (!body)
        return -1;
    {
        WITH_CAT(r, c);
        out = cat_line_put(c, r->params[0], body, date_today(), &created, &r->err);
    }
    cJSON_Delete(body);
    return reply(r, out, created ? 201 : 200);
}

static int
h_runtimes(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply_list(r, "runtimes", cat_runtime_list(c, &r->err));
}

static int
h_runtime_get(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply(r, cat_runtime_get(c, r->params[0], &r->err), 200);
}

static int
h_runtime_put(struct srv_req *r)
{
    cJSON *body = srv_body_json(r), *out;
    int created = 0;

    if (!body)
        return -1;
    {
        WITH_CAT(r, c);
        out = cat_runtime_put(c, r->params[0], body, &created, &r->err);
    }
    cJSON_Delete(body);
    return reply(r, out, created ? 201 : 200);
}

static int
h_runtime_publish(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply(r, cat_runtime_publish(c, r->params[0], &r->err), 200);
}

static int
h_sets(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply_list(r, "package_sets", cat_pkgset_list(c, &r->err));
}

static int
h_set_get(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply(r, cat_pkgset_get(c, r->params[0], 0, &r->err), 200);
}

static int
h_set_put(struct srv_req *r)
{
    cJSON *body = srv_body_json(r), *out;
    int created = 0;

    if (!body)
        return -1;
    {
        WITH_CAT(r, c);
        out = cat_pkgset_put(c, r->params[0], body, srv_query(r, "notes"), &created, &r->err);
    }
    cJSON_Delete(body);
    return reply(r, out, created ? 201 : 200);
}

static int
h_set_publish(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply(r, cat_pkgset_publish(c, r->params[0], &r->err), 200);
}

static int
h_set_export(struct srv_req *r)
{
    char *base = api_base_url(r);
    cJSON *lock;

    {
        WITH_CAT(r, c);
        lock = cat_pkgset_export(c, r->params[0], base, &r->err);
    }
    free(base);
    return reply(r, lock, 200);
}

static int
h_flags(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply_list(r, "flags", cat_flag_list(c, &r->err));
}

static int
h_flag_get(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply(r, cat_flag_get(c, r->params[0], &r->err), 200);
}

static int
h_flag_put(struct srv_req *r)
{
    cJSON *body = srv_body_json(r), *out;
    int created = 0;

    if (!body)
        return -1;
    {
        WITH_CAT(r, c);
        out = cat_flag_put(c, r->params[0], body, &created, &r->err);
    }
    cJSON_Delete(body);
    return reply(r, out, created ? 201 : 200);
}

static int
h_flag_publish(struct srv_req *r)
{
    WITH_CAT(r, c);
    return reply(r, cat_flag_publish(c, r->params[0], date_today(), 0, &r->err), 200);
}

#define EVENTS_PAGE_MAX 1000

static int
h_events(struct srv_req *r)
{
    const char *after = srv_query(r, "after"), *limit_s = srv_query(r, "limit");
    long long after_seq = 0, limit = 100;
    sqlite3_stmt *st = NULL;
    cJSON *o, *arr;

    if (after && api_parse_int(after, 0, INT64_MAX, &after_seq) < 0)
        return app_fail(&r->err, APP_EINVAL, "query 'after' must be a non-negative integer");
    if (limit_s && api_parse_int(limit_s, 1, EVENTS_PAGE_MAX, &limit) < 0)
        return app_fail(&r->err, APP_EINVAL, "query 'limit' must be an integer from 1 to %d",
                        EVENTS_PAGE_MAX);
    {
        WITH_CAT(r, c);
        if (cat_prepare(c, &st,
                        "SELECT seq, at, kind, subject, data FROM events WHERE seq > ?"
                        " ORDER BY seq LIMIT ?",
                        &r->err) < 0)
            return -1;
    }
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int64(st, 2, limit);
    o = xjson(cJSON_CreateObject());
    arr = xjson(cJSON_AddArrayToObject(o, "events"));
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *e = xjson(cJSON_CreateObject());
        cJSON *data = cJSON_Parse(cat_col_text(st, 4));

        xjson(cJSON_AddNumberToObject(e, "seq", (double)sqlite3_column_int64(st, 0)));
        xjson(cJSON_AddStringToObject(e, "at", cat_col_text(st, 1)));
        xjson(cJSON_AddStringToObject(e, "kind", cat_col_text(st, 2)));
        xjson(cJSON_AddStringToObject(e, "subject", cat_col_text(st, 3)));
        cJSON_AddItemToObject(e, "data", data ? data : xjson(cJSON_CreateObject()));
        cJSON_AddItemToArray(arr, e);
    }
    sqlite3_finalize(st);
    srv_reply_json(r, 200, o);
    return 0;
}

static int
h_health(struct srv_req *r)
{
    cJSON *o = xjson(cJSON_CreateObject());
    char today[APP_DATE_LEN];
    sqlite3_stmt *st = NULL;

    date_format(date_today(), today);
    xjson(cJSON_AddStringToObject(o, "status", "ok"));
    xjson(cJSON_AddStringToObject(o, "version", ALMANAC_VERSION));
    xjson(cJSON_AddStringToObject(o, "today", today));
    xjson(cJSON_AddBoolToObject(o, "today_overridden", date_today_overridden()));
    {
        WITH_CAT(r, c);
        if (cat_prepare(c, &st, "SELECT MAX(version) FROM schema_migrations", &r->err) < 0) {
            cJSON_Delete(o);
            return -1;
        }
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        xjson(cJSON_AddNumberToObject(o, "schema_version", sqlite3_column_int(st, 0)));
    sqlite3_finalize(st);
    srv_reply_json(r, 200, o);
    return 0;
}

const struct srv_route catalog_routes[] = {
    {"GET", "/v1/health", 0, h_health, NULL},
    {"GET", "/v1/events", 0, h_events, NULL},
    {"GET", "/v1/python", 0, h_lines, NULL},
    {"GET", "/v1/python/{line}", 0, h_line_get, NULL},
    {"PUT", "/v1/python/{line}", SRV_ADMIN, h_line_put, NULL},
    {"GET", "/v1/runtimes", 0, h_runtimes, NULL},
    {"GET", "/v1/runtimes/{id}", 0, h_runtime_get, NULL},
    {"PUT", "/v1/runtimes/{id}", SRV_ADMIN, h_runtime_put, NULL},
    {"POST", "/v1/runtimes/{id}/publish", SRV_ADMIN, h_runtime_publish, NULL},
    {"GET", "/v1/package-sets", 0, h_sets, NULL},
    {"GET", "/v1/package-sets/{id+}/pyodide-lock.json", 0, h_set_export, NULL},
    {"POST", "/v1/package-sets/{id+}/publish", SRV_ADMIN, h_set_publish, NULL},
    {"GET", "/v1/package-sets/{id+}", 0, h_set_get, NULL},
    {"PUT", "/v1/package-sets/{id+}", SRV_ADMIN, h_set_put, NULL},
    {"GET", "/v1/flags", 0, h_flags, NULL},
    {"GET", "/v1/flags/{name}", 0, h_flag_get, NULL},
    {"PUT", "/v1/flags/{name}", SRV_ADMIN, h_flag_put, NULL},
    {"POST", "/v1/flags/{name}/publish", SRV_ADMIN, h_flag_publish, NULL},
};
const size_t catalog_n_routes = sizeof(catalog_routes) / sizeof(catalog_routes[0]);
