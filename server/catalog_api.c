/* server/catalog_api.c: catalog routes: python lines, runtimes, package sets, flags,
 * events. Reads are public; writes need a token (SRV_PUBLISH drafts, SRV_ADMIN publishing). PUT
 * answers 201 when it created the object and 200 when it changed it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/json.h"
#include "app/jsonstrict.h"
#include "app/mem.h"
#include "catalog/flagdb.h"
#include "catalog/lines.h"
#include "catalog/pkgsets.h"
#include "catalog/runtimes.h"
#include "db/events.h"
#include "db/migrate.h"
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

static int
h_lines(struct srv_req *r)
{
    struct db *c = r->db;
    return reply_list(r, "lines", cat_line_list(c, date_today(), &r->err));
}

static int
h_line_get(struct srv_req *r)
{
    struct db *c = r->db;
    return reply(r, cat_line_get(c, r->params[0], date_today(), &r->err), 200);
}

static int
h_line_put(struct srv_req *r)
{
    static const char *const fields[] = {"first_release", "end_of_support", "notes", NULL};
    cJSON *body = srv_body_json_closed(r, fields), *out;
    int created = 0;

    if (!body)
        return -1;
    out = cat_line_put(r->db, r->params[0], body, date_today(), &created, &r->err);
    cJSON_Delete(body);
    return reply(r, out, created ? 201 : 200);
}

static int
h_runtimes(struct srv_req *r)
{
    struct db *c = r->db;
    return reply_list(r, "runtimes", cat_runtime_list(c, &r->err));
}

static int
h_runtime_get(struct srv_req *r)
{
    struct db *c = r->db;
    return reply(r, cat_runtime_get(c, r->params[0], &r->err), 200);
}

/* RuntimePut's artifacts[] items are closed too. */
static int
artifacts_closed(const cJSON *body, struct app_err *err)
{
    static const char *const fields[] = {"role", "file_name", "sha256", "size", NULL};
    const cJSON *a, *arts = cJSON_GetObjectItemCaseSensitive(body, "artifacts");
    char where[48];
    int i = 0;

    if (!cJSON_IsArray(arts))
        return 0; /* the catalog reports the wrong type */
    cJSON_ArrayForEach (a, arts) {
        snprintf(where, sizeof(where), "artifacts[%d]", i++);
        if (json_known_fields(a, fields, where, err) < 0)
            return -1;
    }
    return 0;
}

static int
h_runtime_put(struct srv_req *r)
{
    static const char *const fields[] = {"pyodide",    "python",       "emscripten",
                                         "abi",        "release_date", "notes",
                                         "deprecated", "artifacts",    NULL};
    cJSON *body = srv_body_json_closed(r, fields), *out;
    int created = 0;

    if (!body)
        return -1;
    if (artifacts_closed(body, &r->err) < 0) {
        cJSON_Delete(body);
        return -1;
    }
    out = cat_runtime_put(r->db, r->params[0], body, &created, &r->err);
    cJSON_Delete(body);
    return reply(r, out, created ? 201 : 200);
}

static int
h_runtime_publish(struct srv_req *r)
{
    struct db *c = r->db;
    return reply(r, cat_runtime_publish(c, r->params[0], &r->err), 200);
}

static int
h_sets(struct srv_req *r)
{
    struct db *c = r->db;
    return reply_list(r, "package_sets", cat_pkgset_list(c, &r->err));
}

static int
h_set_get(struct srv_req *r)
{
    struct db *c = r->db;
    return reply(r, cat_pkgset_get(c, r->params[0], 0, &r->err), 200);
}

static int
h_set_put(struct srv_req *r)
{
    cJSON *body = srv_body_json(r), *out;
    int created = 0;

    if (!body)
        return -1;
    out = cat_pkgset_put(r->db, r->params[0], body, srv_query(r, "notes"), &created, &r->err);
    cJSON_Delete(body);
    return reply(r, out, created ? 201 : 200);
}

static int
h_set_publish(struct srv_req *r)
{
    struct db *c = r->db;
    return reply(r, cat_pkgset_publish(c, r->params[0], &r->err), 200);
}

static int
h_set_export(struct srv_req *r)
{
    char *base = srv_base_url(r);
    cJSON *lock;

    lock = cat_pkgset_export(r->db, r->params[0], base, &r->err);
    free(base);
    return reply(r, lock, 200);
}

static int
h_flags(struct srv_req *r)
{
    struct db *c = r->db;
    return reply_list(r, "flags", cat_flag_list(c, &r->err));
}

static int
h_flag_get(struct srv_req *r)
{
    struct db *c = r->db;
    return reply(r, cat_flag_get(c, r->params[0], &r->err), 200);
}

static int
h_flag_put(struct srv_req *r)
{
    static const char *const fields[] = {
        "name",         "disable_flag", "enable_date", "implied_by",
        "experimental", "description",  "bundle",      NULL};
    cJSON *body = srv_body_json_closed(r, fields), *out;
    int created = 0;

    if (!body)
        return -1;
    out = cat_flag_put(r->db, r->params[0], body, &created, &r->err);
    cJSON_Delete(body);
    return reply(r, out, created ? 201 : 200);
}

static int
h_flag_publish(struct srv_req *r)
{
    struct db *c = r->db;
    return reply(r, cat_flag_publish(c, r->params[0], date_today(), 0, &r->err), 200);
}

static int
h_events(struct srv_req *r)
{
    const char *after = srv_query(r, "after"), *limit_s = srv_query(r, "limit");
    const char *before = srv_query(r, "before");
    long long after_seq = 0, before_seq = 0, limit = DB_EVENTS_PAGE_DEFAULT;
    cJSON *o, *arr;

    if (after && srv_parse_int(after, 0, INT64_MAX, &after_seq) < 0)
        return app_fail(&r->err, APP_EINVAL, "query 'after' must be a non-negative integer");
    if (before && srv_parse_int(before, 1, INT64_MAX, &before_seq) < 0)
        return app_fail(&r->err, APP_EINVAL, "query 'before' must be a positive integer");
    if (limit_s && srv_parse_int(limit_s, 1, DB_EVENTS_PAGE_MAX, &limit) < 0)
        return app_fail(&r->err, APP_EINVAL, "query 'limit' must be an integer from 1 to %d",
                        DB_EVENTS_PAGE_MAX);
    /* With before: the last page below it (the newest events when it is huge), so
     * a dashboard reads recent events without paging through the whole log. */
    arr = before ? db_events_last(r->db, after_seq, before_seq, limit, &r->err)
                 : db_events_page(r->db, after_seq, limit, &r->err);
    if (!arr)
        return -1;
    o = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(o, "events", arr);
    srv_reply_json(r, 200, o);
    return 0;
}

static int
h_health(struct srv_req *r)
{
    cJSON *o;
    char today[APP_DATE_LEN];
    int version;

    if (mig_version(r->db->db, &version, &r->err) < 0)
        return -1;
    o = xjson(cJSON_CreateObject());
    date_format(date_today(), today);
    xjson(cJSON_AddStringToObject(o, "status", "ok"));
    xjson(cJSON_AddStringToObject(o, "version", ALMANAC_VERSION));
    xjson(cJSON_AddStringToObject(o, "today", today));
    xjson(cJSON_AddBoolToObject(o, "today_overridden", date_today_overridden()));
    xjson(cJSON_AddNumberToObject(o, "schema_version", version));
    /* A client (the dashboard) asks for registry, events and webhooks only with a
     * token when this is true, rather than collecting 401s. */
    xjson(cJSON_AddBoolToObject(o, "private_reads", r->srv->cfg.private_reads != 0));
    srv_reply_json(r, 200, o);
    return 0;
}

const struct srv_route srv_catalog_routes[] = {
    {"GET", "/v1/health", 0, h_health, NULL},
    {"GET", "/v1/events", SRV_PRIVATE, h_events, NULL},
    {"GET", "/v1/python", 0, h_lines, NULL},
    {"GET", "/v1/python/{line}", 0, h_line_get, NULL},
    {"PUT", "/v1/python/{line}", SRV_PUBLISH, h_line_put, NULL},
    {"GET", "/v1/runtimes", 0, h_runtimes, NULL},
    {"GET", "/v1/runtimes/{id}", 0, h_runtime_get, NULL},
    {"PUT", "/v1/runtimes/{id}", SRV_PUBLISH, h_runtime_put, NULL},
    {"POST", "/v1/runtimes/{id}/publish", SRV_ADMIN, h_runtime_publish, NULL},
    {"GET", "/v1/package-sets", 0, h_sets, NULL},
    {"GET", "/v1/package-sets/{id+}/pyodide-lock.json", 0, h_set_export, NULL},
    {"POST", "/v1/package-sets/{id+}/publish", SRV_ADMIN, h_set_publish, NULL},
    {"GET", "/v1/package-sets/{id+}", 0, h_set_get, NULL},
    {"PUT", "/v1/package-sets/{id+}", SRV_PUBLISH, h_set_put, NULL},
    {"GET", "/v1/flags", 0, h_flags, NULL},
    {"GET", "/v1/flags/{name}", 0, h_flag_get, NULL},
    {"PUT", "/v1/flags/{name}", SRV_PUBLISH, h_flag_put, NULL},
    {"POST", "/v1/flags/{name}/publish", SRV_ADMIN, h_flag_publish, NULL},
};
const size_t srv_catalog_n_routes = sizeof(srv_catalog_routes) / sizeof(srv_catalog_routes[0]);
