/* server/http.c: libmicrohttpd glue: routing, bodies, auth, problem replies. */
#include "db/events.h"
#include "server/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_acked (glibc's is older) */
#include <sodium.h>

#include "app/hash.h"
#include "app/json.h"
#include "app/jsonstrict.h"
#include "app/log.h"
#include "app/mem.h"
#include "app/ratelimit.h"
#include "server/auth.h"
#include "server/conns.h"
#include "server/framing.h"
#include "server/metrics.h"
#include "server/net.h"
#include "server/route.h"

#define SRV_CONN_TIMEOUT_S 60
#define SRV_DRAIN_MAX (64u * 1024 * 1024)
/* Responses from this size on note the TCP bytes acknowledged when queued, so a cut
 * one logs how much of its body arrived; smaller ones go out in one write and are
 * not worth a getsockopt per request (a cached resolve is a few kB). */
#define SRV_SENT_TRACK_MIN (64u * 1024)

static void
cat_key_free(void *p)
{
    db_close(p);
}

struct db *
srv_db(struct srv_req *r)
{
    struct db *c = pthread_getspecific(r->srv->cat_key);
    struct app_err err = {0};

    if (c)
        return c;
    c = db_open(r->srv->cfg.data_dir, &err);
    if (!c) {
        app_log(APP_LOG_ERROR, "%s", err.msg);
        return NULL;
    }
    pthread_setspecific(r->srv->cat_key, c);
    return c;
}

const char *
srv_query(struct srv_req *r, const char *key)
{
    return query_get(&r->query, key);
}

const char *
srv_header(struct srv_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

static void
set_response(struct srv_req *r, unsigned status, struct MHD_Response *resp)
{
    if (r->resp)
        MHD_destroy_response(r->resp);
    r->resp = resp;
    r->status = status;
}

void
srv_reply_response(struct srv_req *r, unsigned status, struct MHD_Response *resp)
{
    set_response(r, status, resp);
}

void
srv_reply_bytes(struct srv_req *r, unsigned status, const char *content_type, char *bytes,
                size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, bytes, MHD_RESPMEM_MUST_FREE);

    if (!resp)
        abort();
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    set_response(r, status, resp);
    r->resp_len = len;
}

void
srv_set_resp_len(struct srv_req *r, uint64_t len)
{
    r->resp_len = len;
}

void
srv_reply_json(struct srv_req *r, unsigned status, cJSON *body)
{
    char *s = json_canonical(body, NULL);
    size_t n;

    cJSON_Delete(body);
    n = strlen(s);
    srv_reply_bytes(r, status, "application/json", s, n);
}

void
srv_reply_empty(struct srv_req *r, unsigned status)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);

    if (!resp)
        abort();
    set_response(r, status, resp);
    r->resp_len = 0;
}

void
srv_reply_problem(struct srv_req *r, struct app_err *err)
{
    enum app_code code = err->code == APP_OK ? APP_EINTERNAL : err->code;
    unsigned status = (unsigned)app_err_status(code);
    cJSON *p = xjson(cJSON_CreateObject());
    char *type = xasprintf("urn:almanac:problem:%s", app_err_slug(code));
    char *s;

    xjson(cJSON_AddStringToObject(p, "type", type));
    xjson(cJSON_AddStringToObject(p, "title", app_err_title(code)));
    xjson(cJSON_AddNumberToObject(p, "status", status));
    xjson(cJSON_AddStringToObject(p, "detail", err->msg[0] ? err->msg : app_err_title(code)));
    if (err->errors) {
        cJSON_AddItemToObject(p, "errors", err->errors);
        err->errors = NULL;
    } else {
        xjson(cJSON_AddArrayToObject(p, "errors"));
    }
    if (r->request_id[0])
        xjson(cJSON_AddStringToObject(p, "request_id", r->request_id));
    if (r->problem_upstream)
        xjson(cJSON_AddStringToObject(p, "upstream", r->problem_upstream));
    free(type);
    s = json_canonical(p, NULL);
    cJSON_Delete(p);
    if (status >= 500)
        app_log(APP_LOG_ERROR, "%s %s: %s (request %s)", r->method,
                r->route ? r->route->pattern : "?", err->msg, r->request_id);
    srv_reply_bytes(r, status, "application/problem+json", s, strlen(s));
}

void
srv_add_header(struct srv_req *r, const char *name, const char *value)
{
    if (r->resp)
        MHD_add_response_header(r->resp, name, value);
}

/* Check the bearer token for scope need, once per request (a later check for the
 * same or a weaker scope is free). The rate-limit key becomes the token's name. */
static int req_authorize(struct srv_req *r, enum db_scope need);

int
srv_req_auth(struct srv_req *r, enum db_scope need)
{
    if (r->authed && need <= r->auth_scope)
        return 0;
    if (req_authorize(r, need) < 0)
        return -1;
    r->authed = 1;
    r->auth_scope = need;
    snprintf(r->client_key, sizeof(r->client_key), "t:%s", r->principal);
    return 0;
}

int
srv_rate_take(struct srv_req *r)
{
    struct timespec ts;
    unsigned retry = 1;
    char key[sizeof(r->client_key) + SRV_CLIENT_MAX], secs[16];

    if (!r->srv->limits)
        return 0;
    /* A client with a valid token has its own bucket; others share their address's. */
    if (r->authed)
        snprintf(key, sizeof(key), "%s", r->client_key);
    else
        snprintf(key, sizeof(key), "ip:%s", r->client);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (rl_take(r->srv->limits, key, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, &retry) == 0)
        return 0;
    app_fail(&r->err, APP_ERATE,
             "rate limit reached for this client (computations and writes); retry in %u s", retry);
    srv_reply_problem(r, &r->err);
    snprintf(secs, sizeof(secs), "%u", retry);
    srv_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    return -1;
}

cJSON *
srv_body_json_closed(struct srv_req *r, const char *const *fields)
{
    cJSON *v = srv_body_json(r);

    if (v && json_known_fields(v, fields, "the request body", &r->err) < 0) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

cJSON *
srv_body_json(struct srv_req *r)
{
    return json_parse(r->body.data ? r->body.data : "", r->body.len, &r->err);
}

/* Add a method to the Allow list once. */
static void
allow_add(struct buf *allow, const char *method)
{
    if (allow->data && strstr(allow->data, method))
        return;
    if ((allow->len && buf_puts(allow, ", ") < 0) || buf_puts(allow, method) < 0)
        abort();
}

int
srv_route_needs_token(const struct srv *s, const struct srv_route *rt)
{
    return (rt->flags & (SRV_ADMIN | SRV_PUBLISH)) ||
           ((rt->flags & SRV_PRIVATE) && s->cfg.private_reads);
}

struct allow_lists {
    const struct srv *srv;
    struct buf *allow, *pub_allow;
};

/* A route of the path that does not serve the request's method: its method goes to
 * Allow, and to the public list when it needs no token. */
static void
allow_route(const struct srv_route *rt, void *ctx)
{
    struct allow_lists *a = ctx;
    int get = strcmp(rt->method, "GET") == 0;

    allow_add(a->allow, rt->method);
    if (get)
        allow_add(a->allow, "HEAD");
    if (!srv_route_needs_token(a->srv, rt)) {
        allow_add(a->pub_allow, rt->method);
        if (get)
            allow_add(a->pub_allow, "HEAD");
    }
}

/* Find the route; on 404/405 fill err (and allow for 405, with pub_allow: the
 * methods that need no token, for CORS preflights). */
static const struct srv_route *
route_find(struct srv_req *r, const char *url, struct buf *allow, struct buf *pub_allow)
{
    struct allow_lists lists = {r->srv, allow, pub_allow};
    const struct srv_route *found = NULL;
    struct srv_segs g;
    int rc;

    if (srv_path_split(url, &g) < 0) {
        app_fail(&r->err, APP_EINVAL, "malformed request path");
        return NULL;
    }
    rc = srv_route_find(srv_all_routes, srv_n_route_tables, r->method, &g, &found, r->params,
                        &r->n_params, allow_route, &lists);
    srv_segs_release(&g);
    if (rc > 0)
        return found;
    if (rc == 0)
        app_fail(&r->err, APP_EMETHOD, "method %s is not allowed on this resource", r->method);
    else
        app_fail(&r->err, APP_ENOTFOUND, "no such resource '%s'", url);
    return NULL;
}

/* The bytes the peer has acknowledged on the connection's socket (TCP_INFO), or -1
 * (not TCP, or the kernel does not say). */
static int
acked_bytes(struct srv_req *r, uint64_t *out)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    memset(&ti, 0, sizeof(ti));
    if (!ci || getsockopt(ci->connect_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked))
        return -1;
    *out = ti.tcpi_bytes_acked;
    return 0;
}

static enum MHD_Result
header_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    *(uint64_t *)cls += strlen(key) + 2 + (value ? strlen(value) : 0) + 2;
    return MHD_YES;
}

/* The body bytes of a cut response the client acknowledged: acknowledged bytes
 * since it was queued less its head (our headers plus the status line, Date,
 * Content-Length and the blank line libmicrohttpd adds), at most the body. 0 when
 * unknown. */
static uint64_t
cut_body_bytes(struct srv_req *r)
{
    uint64_t acked, head = 0;

    if (!r->sent_tracked || acked_bytes(r, &acked) < 0 || acked < r->acked0)
        return 0;
    MHD_get_response_headers(r->resp, header_size, &head);
    /* "HTTP/1.1 200 OK\r\n", "Date: ...\r\n", "Content-Length: N\r\n", "\r\n". */
    head += sizeof("HTTP/1.1 200 \r\n") - 1 + strlen(MHD_get_reason_phrase_for(r->status)) +
            sizeof("Date: Sat, 28 Nov 2026 00:00:00 GMT\r\n") - 1 + sizeof("Content-Length: \r\n") -
            1 + (uint64_t)snprintf(NULL, 0, "%llu", (unsigned long long)r->resp_len) + 2;
    acked -= r->acked0;
    if (acked <= head)
        return 0;
    return acked - head < r->resp_len ? acked - head : r->resp_len;
}

static enum MHD_Result
queue(struct srv_req *r)
{
    enum MHD_Result ret;

    if (!r->resp)
        srv_reply_problem(r, &r->err);
    MHD_add_response_header(r->resp, "Server", "almanacd");
    /* While draining, a request on a kept-alive connection is still answered, but
     * the client is told to go elsewhere for the next one. */
    if (r->close_now || __atomic_load_n(&r->srv->draining, __ATOMIC_RELAXED))
        MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (!r->is_head && r->resp_len >= SRV_SENT_TRACK_MIN && acked_bytes(r, &r->acked0) == 0)
        r->sent_tracked = 1;
    MHD_add_response_header(r->resp, "X-Request-Id", r->request_id);
    /* 200 with a token, 401 without: a cache must not answer one with the other. */
    if (r->needs_token)
        MHD_add_response_header(r->resp, MHD_HTTP_HEADER_VARY, "Authorization");
    cors_decorate(r);
    ret = MHD_queue_response(r->conn, r->status, r->resp);
    return ret;
}

static void
req_free(struct srv_req *r)
{
    if (!r)
        return;
    if (r->state_free)
        r->state_free(r->state);
    for (size_t i = 0; i < r->n_params; i++)
        free(r->params[i]);
    free(r->path);
    buf_release(&r->body);
    free(r->raw_query);
    query_release(&r->query);
    app_err_release(&r->err);
    if (r->resp)
        MHD_destroy_response(r->resp);
    free(r);
}

static double
mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A route's position across srv_all_routes (the metrics' index); the total when
 * route is NULL. */
static size_t
route_index(const struct srv_route *rt)
{
    size_t base = 0;

    for (size_t t = 0; t < srv_n_route_tables; t++) {
        const struct srv_route *first = srv_all_routes[t].routes;
        size_t n = *srv_all_routes[t].n;

        if (rt && rt >= first && rt < first + n)
            return base + (size_t)(rt - first);
        base += n;
    }
    return base;
}

/* Hand every route template to the metrics, in route_index order. */
static void
metrics_start(void)
{
    size_t n = route_index(NULL), k = 0;
    const char **names = xcalloc(n + 1, sizeof(*names));

    for (size_t t = 0; t < srv_n_route_tables; t++)
        for (size_t i = 0; i < *srv_all_routes[t].n; i++)
            names[k++] = srv_all_routes[t].routes[i].pattern;
    srv_metrics_init(names, n);
    free(names);
}

/* Why a request ended early, for the access line; NULL when it completed. */
static const char *
cut_reason(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK: return NULL;
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client_closed";
    default: return "connection_error";
    }
}

/* The access line and the metrics of a finished request. A response cut short
 * (client gone, drain timeout) keeps the status it was sent with (499 if none
 * was), logs the body bytes the client acknowledged and says why it was cut, so a
 * cut download is not mistaken for a served one. */
static void
req_finish(struct srv_req *r, enum MHD_RequestTerminationCode toe)
{
    double secs = mono_now() - r->t0;
    unsigned status = r->status ? r->status : 500;
    uint64_t bytes = r->is_head ? 0 : r->resp_len;
    const char *cut = cut_reason(toe);

    if (cut) {
        status = r->status ? r->status : 499;
        bytes = r->resp ? cut_body_bytes(r) : 0;
    }
    srv_metrics_request(route_index(r->table_route ? r->table_route : r->route), r->method, status,
                        secs);
    if (bytes && r->resp && r->route && strncmp(r->route->pattern, "/v1/artifacts/", 14) == 0)
        srv_metrics_artifact_bytes(
            MHD_get_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_ENCODING), bytes);
    /* Every write made with a token, refused or not, with the token's name. */
    if (r->route && (r->route->flags & (SRV_ADMIN | SRV_PUBLISH)) && r->principal[0])
        app_log(APP_LOG_INFO, "write by %s: %s %s -> %u (request %s)", r->principal, r->method,
                r->path, status, r->request_id);
    if (r->srv->cfg.access_log) {
        struct app_log_access a = {
            .request_id = r->request_id,
            .client = r->client,
            .method = r->method,
            .path = r->path,
            .route = r->route ? r->route->pattern : "unmatched",
            .status = status,
            .bytes = bytes,
            .seconds = secs,
            .principal = r->principal[0] ? r->principal : NULL,
            .cut = cut,
        };

        app_log_access(&a);
    }
}

/* A request libmicrohttpd answered itself before our handler ran (a head too
 * large, a malformed header, no Host): counted and logged too, under the route
 * "unmatched" and method "-" (the library does not tell which it was), with the
 * status it sent. A client that went away before its head was complete got no
 * answer and is not a request. */
static void
req_refused(struct srv_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_HTTP_STATUS);
    const union MHD_ConnectionInfo *ca =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    if (!ci || !ci->http_status || !r->path)
        return;
    srv_request_id(NULL, r->request_id);
    srv_client_address(ca ? ca->client_addr : NULL, NULL, NULL, NULL, 0, r->client);
    r->method = "-";
    r->status = ci->http_status;
    /* The library closes the connection after its own error reply (its
     * termination code is then WITH_ERROR): the end of a whole answer, not a cut
     * one. Its body is the library's and not counted. */
    req_finish(r, MHD_REQUEST_TERMINATED_COMPLETED_OK);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct srv *s = cls;
    struct srv_req *r = *con_cls;

    if (s->conns)
        conns_request_done(conn);
    if (r) {
        int begun = r->begun;

        if (begun)
            req_finish(r, toe);
        else
            req_refused(r);
        req_free(r);
        *con_cls = NULL;
        if (begun)
            __atomic_fetch_sub(&s->in_flight, 1, __ATOMIC_RELAXED);
    }
}

/* Check the bearer token against the route's scope; a failure is logged with the
 * method, path and client (r->err holds the 401/403). */
static int
req_authorize(struct srv_req *r, enum db_scope need)
{
    struct db_token_who who;
    int rc =
        srv_auth_check(r->db, srv_header(r, MHD_HTTP_HEADER_AUTHORIZATION), need, &who, &r->err);

    if (who.name[0])
        snprintf(r->principal, sizeof(r->principal), "%s", who.name);
    if (rc < 0 && r->err.code != APP_EINTERNAL)
        app_log(APP_LOG_WARN, "auth failed: %s: %s %s from %s", r->err.msg, r->method, r->path,
                r->client);
    return rc;
}

/* First callback: route, authorize, check the declared length. Returns 0 when the
 * request may go on, -1 when r->err holds the reply. */
static int
req_begin(struct srv_req *r, const char *url, const char *version)
{
    struct buf allow, pub_allow;
    const char *cl;
    uint64_t limit;
    enum db_scope need = DB_SCOPE_NONE;

    if (srv_framing_check(r->conn, version, &r->err) < 0) {
        r->close_now = 1;
        return -1;
    }
    if (query_parse(r->raw_query ? r->raw_query : "", &r->query, &r->err) < 0) {
        r->close_now = r->err.code == APP_EURI;
        return -1;
    }
    if (r->srv->mirror && mirror_refuse_write(r, url))
        return -1;
    buf_init(&allow, 0);
    buf_init(&pub_allow, 0);
    r->route = ui_route(url);
    if (r->route) {
        if (!srv_route_method_matches(r->route->method, r->method)) {
            r->route = NULL;
            app_fail(&r->err, APP_EMETHOD, "method %s is not allowed on this resource", r->method);
            allow_add(&allow, "GET");
            allow_add(&allow, "HEAD");
        }
    } else {
        r->route = route_find(r, url, &allow, &pub_allow);
    }
    if (!r->route) {
        /* A CORS preflight is an OPTIONS on a known path (cors.c). */
        if (r->err.code == APP_EMETHOD && strcmp(r->method, "OPTIONS") == 0 &&
            cors_preflight(r, allow.data, pub_allow.data)) {
            /* answered */
        } else if (r->err.code == APP_EMETHOD) {
            srv_reply_problem(r, &r->err);
            srv_add_header(r, MHD_HTTP_HEADER_ALLOW, allow.data ? allow.data : "");
        }
        buf_release(&allow);
        buf_release(&pub_allow);
        return -1;
    }
    buf_release(&allow);
    buf_release(&pub_allow);
    /* Metrics count a mirror's handlers under the route they stand for. */
    r->table_route = r->route;
    if (r->srv->mirror && !(r->route = mirror_route(r, r->route)))
        return -1;
    /* Every handler gets the thread's connection here, opened once; a database that
     * cannot be opened is a 500 before any handler or body is involved. */
    r->db = srv_db(r);
    if (!r->db)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    /* Before any byte of the body: a refused write is 401/403 whatever it holds. */
    if (r->route->flags & SRV_ADMIN)
        need = DB_SCOPE_ADMIN;
    else if (r->route->flags & SRV_PUBLISH)
        need = DB_SCOPE_PUBLISH;
    else if ((r->route->flags & SRV_READ) ||
             ((r->route->flags & SRV_PRIVATE) && r->srv->cfg.private_reads))
        need = DB_SCOPE_READ;
    r->needs_token = need != DB_SCOPE_NONE;
    if (need != DB_SCOPE_NONE && srv_req_auth(r, need) < 0)
        return -1;
    /* Every write needs a token: charge it before reading a body. */
    if ((r->route->flags & (SRV_ADMIN | SRV_PUBLISH)) && strcmp(r->route->method, "GET") != 0 &&
        srv_rate_take(r) < 0)
        return -1;
    limit = (r->route->flags & SRV_STREAM) ? r->srv->cfg.upload_limit : r->srv->cfg.json_limit;
    cl = srv_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end = NULL;
        unsigned long long v = strtoull(cl, &end, 10);

        if (end && *end == '\0' && v > limit) {
            app_fail(&r->err, APP_ETOOLARGE,
                     "request body of %llu bytes is over the limit of %llu bytes", v,
                     (unsigned long long)limit);
            return -1;
        }
    }
    buf_init(&r->body, (size_t)limit);
    return 0;
}

/* The request id and the client address, for the access line and problems. */
static void
req_identify(struct srv_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    srv_request_id(srv_header(r, "X-Request-Id"), r->request_id);
    srv_client_address(ci ? ci->client_addr : NULL, srv_header(r, "Forwarded"),
                       srv_header(r, "X-Forwarded-For"), r->srv->cfg.trusted, r->srv->cfg.n_trusted,
                       r->client);
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[APP_LOG_LINE_MAX];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    app_log(APP_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);

/* The --metrics-listen socket: GET /metrics only, everything else 404. */
static enum MHD_Result
on_metrics_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                   const char *version, const char *upload_data, size_t *upload_data_size,
                   void **con_cls)
{
    if (strcmp(url, "/metrics") != 0 && !*con_cls) {
        struct srv *s = cls;
        struct srv_req *r = xcalloc(1, sizeof(*r));

        (void)version;
        (void)upload_data;
        r->srv = s;
        r->conn = conn;
        r->method = method;
        r->is_head = strcmp(method, "HEAD") == 0;
        r->t0 = mono_now();
        r->path = xstrdup(url);
        buf_init(&r->body, 0);
        *con_cls = r;
        __atomic_fetch_add(&s->in_flight, 1, __ATOMIC_RELAXED);
        req_identify(r);
        *upload_data_size = 0;
        app_fail(&r->err, APP_ENOTFOUND, "this listener serves only GET /metrics");
        return queue(r);
    }
    return on_request(cls, conn, url, method, version, upload_data, upload_data_size, con_cls);
}

static struct srv_req *
req_new(struct srv *s, struct MHD_Connection *conn)
{
    struct srv_req *r = xcalloc(1, sizeof(*r));

    r->srv = s;
    r->conn = conn;
    buf_init(&r->body, 0);
    return r;
}

/* URI log callback: runs on the raw request target before libmicrohttpd splits off
 * and parses the query (see app/query.h). The query is copied here and the library's
 * copy emptied, so it never fills its connection pool with arguments (0.9.75 then
 * queues a 431 and stalls until its timeout); the request state starts here too (the
 * return value becomes *con_cls). */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct srv_req *r = req_new(cls, conn);
    const char *q = strchr(uri, '?');

    /* The request's start, and its path for the access line of a request the
     * library refuses itself (req_refused). */
    r->t0 = mono_now();
    r->path = q ? xstrndup(uri, (size_t)(q - uri)) : xstrdup(uri);
    if (q) {
        r->raw_query = xstrdup(q + 1);
        /* The target lives in the connection's writable read buffer; the library
         * cuts it at '?' right after this call and parses what follows, which is
         * now nothing. */
        ((char *)(uintptr_t)q)[1] = '\0';
    }
    return r;
}

/* Unescape callback: the identity. Paths are decoded once, segment by segment, by
 * the router (so "%2F" stays inside a segment and "%2574" stays "%74"), and queries
 * by app/query.c. */
static size_t
on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct srv *s = cls;
    struct srv_req *r = *con_cls;

    if (!r)
        *con_cls = r = req_new(s, conn);
    if (!r->begun) {
        r->begun = 1;
        if (s->conns)
            conns_head_done(conn);
        r->method = method;
        r->is_head = strcmp(method, "HEAD") == 0;
        if (!r->t0)
            r->t0 = mono_now();
        if (!r->path || strcmp(r->path, url) != 0) {
            free(r->path);
            r->path = xstrdup(url);
        }
        __atomic_fetch_add(&s->in_flight, 1, __ATOMIC_RELAXED);
        req_identify(r);
        if (req_begin(r, url, version) < 0)
            r->upload_failed = 1; /* reply after the body is drained */
        /* Replying before the body is read closes the connection; only do so
         * for refusals, where that is what we want. */
        if (r->upload_failed &&
            (r->close_now || r->err.code == APP_ETOOLARGE || r->err.code == APP_EAUTH ||
             r->err.code == APP_EFORBIDDEN || r->err.code == APP_ERATE || *upload_data_size == 0))
            return queue(r);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (r->upload_failed) {
            /* Drain what the client still sends, so it can read the reply; a client
             * that keeps sending far past the limit is cut off. */
            r->drained += n;
            return r->drained > SRV_DRAIN_MAX ? MHD_NO : MHD_YES;
        }
        if (r->route->flags & SRV_STREAM) {
            if (r->body.limit && r->body.len + n > r->body.limit) {
                app_fail(&r->err, APP_ETOOLARGE, "upload is over the limit of %zu bytes",
                         r->body.limit);
                r->upload_failed = 1;
                return MHD_YES;
            }
            r->body.len += n; /* count only; the module keeps the bytes */
            db_event_set_principal(r->principal[0] ? r->principal : NULL);
            if (r->route->upload(r, upload_data, n) < 0)
                r->upload_failed = 1;
        } else if (buf_append(&r->body, upload_data, n) < 0) {
            app_fail(&r->err, APP_ETOOLARGE, "request body is over the limit of %zu bytes",
                     r->body.limit);
            r->upload_failed = 1;
        }
        return MHD_YES;
    }
    /* Set here, not at the first callback: one thread interleaves connections. */
    db_event_set_principal(r->principal[0] ? r->principal : NULL);
    if (!r->upload_failed && r->route->handle(r) < 0 && r->resp == NULL)
        srv_reply_problem(r, &r->err);
    else if (!r->upload_failed && !r->resp)
        srv_reply_problem(r, &r->err);
    return queue(r);
}

int
srv_start(struct srv *s, struct app_err *err)
{
    const int tls = s->cfg.tls_cert_pem && s->cfg.tls_key_pem;
    const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                           MHD_USE_TURBO | MHD_USE_ITC | (tls ? MHD_USE_TLS : 0);

    metrics_start();
    srv_request_id_init();
    if (pthread_key_create(&s->cat_key, cat_key_free) != 0)
        return app_fail(err, APP_EINTERNAL, "cannot create thread key");
    /* The socket is bound by server/net.c, so a taken port is reported there, and
     * SO_REUSEPORT is set only when asked for. */
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        pthread_key_delete(s->cat_key);
        return app_fail(err, APP_EINVAL, "this libmicrohttpd has no TLS support");
    }
    /* Connection limits and the head deadline (issue 9; server/conns.h). */
    if (!s->cfg.idle_timeout)
        s->cfg.idle_timeout = SRV_IDLE_TIMEOUT_DEFAULT;
    if (!s->cfg.max_conns_per_ip)
        s->cfg.max_conns_per_ip = SRV_MAX_CONNS_PER_IP_DEFAULT;
    if (!s->cfg.max_conns)
        s->cfg.max_conns = SRV_MAX_CONNS_DEFAULT;
    s->conns = conns_new(s->cfg.max_conns, SRV_HEAD_DEADLINE_S);
    /* Without TLS the two HTTPS options are left out (MHD refuses them). */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->cfg.listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.idle_timeout, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        s->cfg.max_conns_per_ip, MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_conns,
        MHD_OPTION_NOTIFY_CONNECTION, conns_notify, s->conns, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
        s, MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger,
        NULL, tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->cfg.tls_cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, s->cfg.tls_key_pem, MHD_OPTION_END);
    if (!s->mhd) {
        pthread_key_delete(s->cat_key);
        conns_free(s->conns);
        s->conns = NULL;
        return app_fail(err, APP_EINTERNAL, "cannot start the HTTP server");
    }
    if (conns_start(s->conns) < 0) {
        srv_stop(s);
        return app_fail(err, APP_EINTERNAL, "cannot start the connection reaper");
    }
    if (s->cfg.metrics_fd >= 0) {
        s->metrics_mhd =
            MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC, 0,
                             NULL, NULL, on_metrics_request, s, MHD_OPTION_LISTEN_SOCKET,
                             s->cfg.metrics_fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SRV_CONN_TIMEOUT_S,
                             MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_END);
        if (!s->metrics_mhd) {
            srv_stop(s);
            return app_fail(err, APP_EINTERNAL, "cannot start the metrics listener");
        }
    }
    return 0;
}

void
srv_quiesce(struct srv *s)
{
    MHD_socket fd;

    __atomic_store_n(&s->draining, 1, __ATOMIC_RELAXED);
    if (s->mhd) {
        fd = MHD_quiesce_daemon(s->mhd);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    if (s->metrics_mhd) {
        fd = MHD_quiesce_daemon(s->metrics_mhd);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
}

unsigned long
srv_in_flight(const struct srv *s)
{
    return __atomic_load_n(&s->in_flight, __ATOMIC_RELAXED);
}

void
srv_stop(struct srv *s)
{
    if (s->metrics_mhd) {
        MHD_stop_daemon(s->metrics_mhd);
        s->metrics_mhd = NULL;
    }
    if (!s->mhd)
        return;
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    conns_free(s->conns);
    s->conns = NULL;
    pthread_key_delete(s->cat_key);
}
