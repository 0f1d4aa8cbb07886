/* server/workers_api.c: the workers registry, end-of-support plan/apply/upcoming and
 * webhooks over HTTP (DESIGN §11), and the background jobs' start and stop (the
 * sweep thread is server/sweep.c, the delivery thread server/webhooks.c).
 *
 *   PUT    /v1/workers/{name}        publish: resolve as of today and pin (201 new, 200)
 *   GET    /v1/workers/{name}        the worker, its lock and its history
 *   DELETE /v1/workers/{name}        publish: 204
 *   GET    /v1/workers/stats         ?as_of: counts by line, runtime and status
 *   GET    /v1/workers               ?python_line&runtime&status&ends_before&cursor&limit
 *   GET    /v1/eol/plan              ?as_of (default today)&summary: changes nothing
 *   POST   /v1/eol/apply             admin ?as_of&summary&notify_upcoming: the plan, applied
 *   GET    /v1/eol/upcoming          ?as_of: workers whose line ends within 180 days
 *   GET    /v1/webhooks              every webhook (never secrets)
 *   PUT    /v1/webhooks/{id}         admin: {url, events, secret}
 *   GET    /v1/webhooks/{id}         the webhook and its delivery counts
 *   DELETE /v1/webhooks/{id}         admin: 204
 *   GET    /v1/webhooks/{id}/deliveries   ?state&cursor&limit, every attempt
 *
 * Applies (API and sweep) are serialized by srv_eol_apply (server/sweep.h); each is
 * one transaction.
 */
#include "server/workers_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/date.h"
#include "app/json.h"
#include "app/log.h"
#include "app/mem.h"
#include "app/strv.h"
#include "catalog/eol.h"
#include "catalog/hooks.h"
#include "catalog/locks.h"
#include "catalog/req.h"
#include "catalog/snapload.h"
#include "catalog/workers.h"
#include "db/events.h"
#include "server/api.h"
#include "server/inputs.h"
#include "server/metrics.h"
#include "server/resolve_api.h"
#include "server/auth.h"
#include "server/sweep.h"
#include "server/webhooks.h"

struct srv_jobs {
    struct wh_sender *sender;
    struct srv_sweep *sweep; /* NULL under --no-sweep */
};

static void
kick(struct srv *s)
{
    if (s->jobs)
        wh_sender_kick(s->jobs->sender);
}

static int
parse_bool_query(struct srv_req *r, const char *key, int *out)
{
    const char *v = srv_query(r, key);

    *out = 0;
    if (!v || !*v || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        return 0;
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
        *out = 1;
        return 0;
    }
    return app_fail(&r->err, APP_EINVAL, "query '%s' must be true or false", key);
}

/* ?as_of=YYYY-MM-DD, default today. */
static int
as_of_query(struct srv_req *r, int *as_of)
{
    const char *v = srv_query(r, "as_of");

    *as_of = date_today();
    if (v && *v && date_parse(v, as_of) < 0)
        return app_fail(&r->err, APP_EINVAL,
                        "as_of '%s' is not a valid date (YYYY-MM-DD, a real calendar date)", v);
    return 0;
}

static int
check_name(struct srv_req *r)
{
    if (!cat_worker_name_valid(r->params[0]))
        return app_fail(&r->err, APP_EINVAL,
                        "worker name '%s' must be 1-%d of A-Z a-z 0-9 . _ - starting with a "
                        "letter or digit",
                        r->params[0], CAT_WORKER_NAME_MAX);
    return 0;
}

/* "stats" names GET /v1/workers/stats, which wins over {name}: a PUT or DELETE
 * there answers as that resource does, 405 (replied here; returns 1). */
static int
reserved_name(struct srv_req *r)
{
    if (strcmp(r->params[0], "stats") != 0)
        return 0;
    app_fail(&r->err, APP_EMETHOD,
             "method %s is not allowed on this resource ('stats' is not a worker name)", r->method);
    srv_reply_problem(r, &r->err);
    srv_add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    return 1;
}

/* The worker document: the row, its lock (parsed) and its history. */
static cJSON *
worker_doc(struct db *c, const char *name, struct app_err *err)
{
    struct cat_worker w = {0};
    cJSON *o = NULL, *hist, *lock;
    char *bytes = NULL;
    size_t len = 0;

    if (cat_worker_get(c, name, &w, err) < 0)
        return NULL;
    if (cat_lock_load(c, w.lock_id, &bytes, &len, err) < 0)
        goto out;
    hist = cat_worker_history(c, name, err);
    if (!hist)
        goto out;
    o = cat_worker_json(&w, date_today());
    lock = cJSON_ParseWithLength(bytes, len);
    cJSON_AddItemToObject(o, "lock", lock ? lock : xjson(cJSON_CreateNull()));
    cJSON_AddItemToObject(o, "history", hist);
out:
    free(bytes);
    cat_worker_release(&w);
    return o;
}

static int
h_worker_get(struct srv_req *r)
{
    cJSON *o;

    if (check_name(r) < 0)
        return -1;
    o = worker_doc(r->db, r->params[0], &r->err);
    if (!o)
        return -1;
    srv_reply_json(r, 200, o);
    return 0;
}

/* A deploy body is the resolution inputs of server/inputs.h, except that it always
 * resolves as of today (as_of is ignored). The schema is closed: an unknown member
 * (a misspelt flag list, say) is a 400, never dropped after a 201. */
static const char *const deploy_fields[] = {"compatibility_date",
                                            "compatibility_flags",
                                            "requirements",
                                            "allow_experimental",
                                            "main",
                                            "as_of",
                                            NULL};

static int
h_worker_put(struct srv_req *r)
{
    struct srv_inputs d = {0};
    struct res_output out = {0};
    char *flags_json = NULL, *reqs_json = NULL;
    struct cat_worker w = {0};
    cJSON *body = NULL, *doc = NULL;
    const cJSON *rt;
    int created = 0, changed = 0, resolved = 0, ret = -1;

    if (check_name(r) < 0)
        return -1;
    if (reserved_name(r))
        return 0;
    body = srv_body_json_closed(r, deploy_fields);
    if (!body)
        return -1;
    if (srv_inputs_from_json(body, 0, &d, &r->err) < 0)
        goto out;
    d.in.today = date_today();
    /* Refused with the resolution's own problem document when it fails. */
    if (srv_resolve_run(r->srv, r->db, &d.in, &out, &r->err) < 0)
        goto out;
    resolved = 1;
    rt = cJSON_GetObjectItemCaseSensitive(out.lock, "runtime");
    w.name = r->params[0];
    flags_json = strv_to_json(d.in.flags, d.in.n_flags);
    reqs_json = strv_to_json(d.in.requirements, d.in.n_requirements);
    w.date = xstrdup(d.in.date);
    w.flags = flags_json;
    w.requirements = reqs_json;
    w.allow_experimental = d.in.allow_experimental;
    w.lock_id = out.lock_id;
    w.runtime = cJSON_IsObject(rt) ? cJSON_GetObjectItem(rt, "id")->valuestring : NULL;
    w.python_line = cJSON_IsObject(rt) ? cJSON_GetObjectItem(rt, "python_line")->valuestring : NULL;
    if (cat_worker_pin(r->db, &w, out.lock_bytes, out.lock_len, &created, &changed, &r->err) < 0)
        goto out;
    doc = worker_doc(r->db, r->params[0], &r->err);
    if (!doc)
        goto out;
    cJSON_AddItemToObject(doc, "policy", xjson(cJSON_Duplicate(out.policy, 1)));
    cJSON_AddItemToObject(doc, "warnings", xjson(cJSON_Duplicate(out.warnings, 1)));
    xjson(cJSON_AddBoolToObject(doc, "changed", changed));
    srv_reply_json(r, created ? 201 : 200, doc);
    ret = 0;
out:
    if (resolved)
        res_output_release(&out);
    free(w.date);
    free(flags_json);
    free(reqs_json);
    srv_inputs_release(&d);
    cJSON_Delete(body);
    return ret;
}

static int
h_worker_delete(struct srv_req *r)
{
    if (check_name(r) < 0)
        return -1;
    if (reserved_name(r))
        return 0;
    if (cat_worker_delete(r->db, r->params[0], &r->err) < 0)
        return -1;
    srv_reply_empty(r, 204);
    return 0;
}

static int
h_workers_list(struct srv_req *r)
{
    struct cat_worker_query q = {0};
    struct cat_worker *rows = NULL;
    const char *limit_s = srv_query(r, "limit");
    char *next = NULL;
    size_t n = 0;
    long long limit = CAT_WORKER_PAGE_DEFAULT;
    int today = date_today();
    cJSON *o, *arr;

    q.python_line = srv_query(r, "python_line");
    q.runtime = srv_query(r, "runtime");
    q.status = srv_query(r, "status");
    q.ends_before = srv_query(r, "ends_before");
    q.cursor = srv_query(r, "cursor");
    if (limit_s && srv_parse_int(limit_s, 1, CAT_WORKER_PAGE_MAX, &limit) < 0)
        return app_fail(&r->err, APP_EINVAL, "query 'limit' must be an integer from 1 to %d",
                        CAT_WORKER_PAGE_MAX);
    q.limit = (size_t)limit;
    if (cat_worker_list(r->db, &q, &rows, &n, &next, &r->err) < 0)
        return -1;
    o = xjson(cJSON_CreateObject());
    arr = xjson(cJSON_AddArrayToObject(o, "workers"));
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cat_worker_json(&rows[i], today));
    json_add_str_or_null(o, "next_cursor", next);
    free(next);
    cat_workers_free(rows, n);
    srv_reply_json(r, 200, o);
    return 0;
}

static int
h_eol_plan(struct srv_req *r)
{
    struct eol_plan *p = NULL;
    struct snap *snap;
    int as_of, summary;

    if (as_of_query(r, &as_of) < 0 || parse_bool_query(r, "summary", &summary) < 0)
        return -1;
    snap = snapcache_get(r->srv->snaps, r->db, &r->err);
    if (!snap)
        return -1;
    if (eol_plan(r->db, snap, as_of, date_today(), EOL_WANT_MOVES, &p, &r->err) < 0) {
        snapcache_put(r->srv->snaps, snap);
        return -1;
    }
    {
        size_t len;
        char *text = eol_plan_render(p, summary, NULL, &len);

        srv_reply_bytes(r, 200, "application/json", text, len);
    }
    eol_plan_free(p);
    snapcache_put(r->srv->snaps, snap);
    return 0;
}

static int
h_eol_apply(struct srv_req *r)
{
    struct eol_plan *p = NULL;
    struct eol_applied a;
    struct snap *snap;
    int as_of, summary, notify, rc;

    if (as_of_query(r, &as_of) < 0 || parse_bool_query(r, "summary", &summary) < 0 ||
        parse_bool_query(r, "notify_upcoming", &notify) < 0)
        return -1;
    snap = snapcache_get(r->srv->snaps, r->db, &r->err);
    if (!snap)
        return -1;
    rc = srv_eol_apply(r->db, snap, as_of, date_today(), notify ? EOL_NOTIFY_UPCOMING : 0, &p, &a,
                       &r->err);
    if (rc < 0) {
        srv_metrics_eol_apply("api", 0, 0, 0, 0);
        app_log(APP_LOG_ERROR, "eol apply by %s failed: %s", r->principal, r->err.msg);
        snapcache_put(r->srv->snaps, snap);
        return -1;
    }
    srv_metrics_eol_apply("api", 1, a.moved, a.blocked, a.unblocked);
    {
        char as_of_s[APP_DATE_LEN];

        date_format(as_of, as_of_s);
        app_log(APP_LOG_INFO,
                "eol apply by %s as of %s: %zu moved, %zu blocked, %zu unblocked, %zu upcoming "
                "notices, %zu webhook deliveries queued (request %s)",
                r->principal, as_of_s, a.moved, a.blocked, a.unblocked, a.upcoming_notified,
                a.deliveries, r->request_id);
    }
    if (a.deliveries)
        kick(r->srv);
    {
        size_t len;
        char *text = eol_plan_render(p, summary, &a, &len);

        srv_reply_bytes(r, 200, "application/json", text, len);
    }
    eol_plan_free(p);
    snapcache_put(r->srv->snaps, snap);
    return 0;
}

static int
h_eol_upcoming(struct srv_req *r)
{
    struct eol_plan *p = NULL;
    struct snap *snap;
    int as_of;

    if (as_of_query(r, &as_of) < 0)
        return -1;
    snap = snapcache_get(r->srv->snaps, r->db, &r->err);
    if (!snap)
        return -1;
    if (eol_plan(r->db, snap, as_of, date_today(), EOL_WANT_UPCOMING, &p, &r->err) < 0) {
        snapcache_put(r->srv->snaps, snap);
        return -1;
    }
    srv_reply_json(r, 200, eol_upcoming_json(p));
    eol_plan_free(p);
    snapcache_put(r->srv->snaps, snap);
    return 0;
}

/* Counts by line, runtime and status for dashboards: grouped in SQL, so its cost
 * does not grow with a page of rows per worker. */
static int
h_workers_stats(struct srv_req *r)
{
    cJSON *o;
    int as_of;

    if (as_of_query(r, &as_of) < 0)
        return -1;
    o = cat_worker_stats(r->db, as_of, &r->err);
    if (!o)
        return -1;
    srv_reply_json(r, 200, o);
    return 0;
}

/* Webhook URLs often carry credentials: only an admin sees them whole; others
 * (no token, or a read/publish one) get scheme and host. A bad token is a 401. */
static int
hook_redact(struct srv_req *r, cJSON *hook)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(hook, "url");
    char *red;

    if (srv_header(r, MHD_HTTP_HEADER_AUTHORIZATION)) {
        if (srv_req_auth(r, DB_SCOPE_ADMIN) == 0)
            return 0; /* an admin sees it whole */
        if (r->err.code != APP_EFORBIDDEN)
            return -1; /* a bad token is refused, not answered redacted */
        app_err_release(&r->err);
    }
    if (!cJSON_IsString(url))
        return 0;
    red = wh_url_redacted(url->valuestring);
    cJSON_ReplaceItemInObject(hook, "url", xjson(cJSON_CreateString(red)));
    free(red);
    return 0;
}

static int
h_hooks(struct srv_req *r)
{
    cJSON *arr, *o;

    arr = cat_hook_list(r->db, &r->err);
    if (!arr)
        return -1;
    {
        cJSON *h;

        cJSON_ArrayForEach (h, arr) {
            if (hook_redact(r, h) < 0) {
                cJSON_Delete(arr);
                return -1;
            }
        }
    }
    o = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(o, "webhooks", arr);
    srv_reply_json(r, 200, o);
    return 0;
}

static int
h_hook_put(struct srv_req *r)
{
    static const char *const fields[] = {"url", "events", "secret", NULL};
    cJSON *body = srv_body_json_closed(r, fields), *o;
    int created = 0;

    if (!body)
        return -1;
    {
        const cJSON *url = cJSON_GetObjectItemCaseSensitive(body, "url");

        if (cJSON_IsString(url) && wh_url_allowed(url->valuestring, &r->err) < 0) {
            cJSON_Delete(body);
            return -1;
        }
    }
    o = cat_hook_put(r->db, r->params[0], body, &created, &r->err);
    cJSON_Delete(body);
    if (!o)
        return -1;
    srv_reply_json(r, created ? 201 : 200, o);
    return 0;
}

static int
h_hook_get(struct srv_req *r)
{
    cJSON *o;

    o = cat_hook_get(r->db, r->params[0], &r->err);
    if (!o)
        return -1;
    if (hook_redact(r, o) < 0) {
        cJSON_Delete(o);
        return -1;
    }
    srv_reply_json(r, 200, o);
    return 0;
}

static int
h_hook_delete(struct srv_req *r)
{
    if (cat_hook_delete(r->db, r->params[0], &r->err) < 0)
        return -1;
    srv_reply_empty(r, 204);
    return 0;
}

static int
h_hook_deliveries(struct srv_req *r)
{
    const char *limit_s = srv_query(r, "limit");
    long long limit = CAT_HOOK_PAGE_DEFAULT;
    cJSON *o;

    if (limit_s && srv_parse_int(limit_s, 1, CAT_HOOK_PAGE_MAX, &limit) < 0)
        return app_fail(&r->err, APP_EINVAL, "query 'limit' must be an integer from 1 to %d",
                        CAT_HOOK_PAGE_MAX);
    o = cat_hook_deliveries(r->db, r->params[0], srv_query(r, "state"), srv_query(r, "cursor"),
                            (size_t)limit, &r->err);
    if (!o)
        return -1;
    srv_reply_json(r, 200, o);
    return 0;
}

const struct srv_route srv_workers_routes[] = {
    {"GET", "/v1/workers", SRV_PRIVATE, h_workers_list, NULL},
    /* Before {name}: a literal segment wins, so no worker named "stats" is readable
     * by GET (README). Counts of the registry are as private as the registry. */
    {"GET", "/v1/workers/stats", SRV_PRIVATE, h_workers_stats, NULL},
    {"GET", "/v1/workers/{name}", SRV_PRIVATE, h_worker_get, NULL},
    {"PUT", "/v1/workers/{name}", SRV_PUBLISH, h_worker_put, NULL},
    {"DELETE", "/v1/workers/{name}", SRV_PUBLISH, h_worker_delete, NULL},
    {"GET", "/v1/eol/plan", 0, h_eol_plan, NULL},
    {"POST", "/v1/eol/apply", SRV_ADMIN, h_eol_apply, NULL},
    {"GET", "/v1/eol/upcoming", 0, h_eol_upcoming, NULL},
    {"GET", "/v1/webhooks", SRV_PRIVATE, h_hooks, NULL},
    {"GET", "/v1/webhooks/{id}", SRV_PRIVATE, h_hook_get, NULL},
    {"PUT", "/v1/webhooks/{id}", SRV_ADMIN, h_hook_put, NULL},
    {"DELETE", "/v1/webhooks/{id}", SRV_ADMIN, h_hook_delete, NULL},
    {"GET", "/v1/webhooks/{id}/deliveries", SRV_READ, h_hook_deliveries, NULL},
};
const size_t srv_workers_n_routes = sizeof(srv_workers_routes) / sizeof(srv_workers_routes[0]);

int
srv_jobs_start(struct srv *s, struct app_err *err)
{
    struct srv_jobs *w = xcalloc(1, sizeof(*w));

    wh_set_allow_private(s->cfg.webhook_allow_private);
    w->sender = wh_sender_start(s->cfg.data_dir, err);
    if (!w->sender) {
        free(w);
        return -1;
    }
    s->jobs = w;
    if (s->cfg.sweep_enabled && !(w->sweep = srv_sweep_start(s, w->sender, err))) {
        srv_jobs_stop(s);
        return -1;
    }
    return 0;
}

void
srv_jobs_stop(struct srv *s)
{
    struct srv_jobs *w = s->jobs;

    if (!w)
        return;
    srv_sweep_stop(w->sweep);
    wh_sender_stop(w->sender);
    free(w);
    s->jobs = NULL;
}
