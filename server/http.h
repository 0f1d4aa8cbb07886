/* server/http.h: almanacd's HTTP layer over libmicrohttpd.
 *
 * Routes are tables of {method, pattern, flags, handler}; each API module
 * (catalog_api.c, resolve_api.c, artifacts_api.c, ...) exports one table and
 * routes.c lists them. Patterns are paths with `{name}` segments; `{name+}` matches a
 * two-segment id such as a package set "pyodide-0.26.4/2024-11-15" (or one segment
 * holding an encoded %2F). A path that matches no pattern is 404; one that matches
 * with another method is 405 with Allow (the lookup is srv_route_find, route.h). GET
 * routes also answer HEAD.
 *
 * Request state (struct srv_req) is allocated on the first libmicrohttpd callback
 * and freed only in the completion callback. JSON bodies are buffered up to the
 * configured limit (413 beyond); SRV_STREAM routes get each chunk through `upload`
 * instead. SRV_ADMIN, SRV_PUBLISH and SRV_READ routes (and SRV_PRIVATE ones under
 * --private-reads) need `Authorization: Bearer <token>` with a large enough scope,
 * checked before the body is read.
 */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include <cjson/cJSON.h>

#include "app/buf.h"
#include "app/err.h"
#include "app/query.h"
#include "db/db.h"
#include "db/tokens.h"
#include "server/net.h"
#include "server/route.h"

#define SRV_CORS_MAX 32 /* --cors-origin values */
#define SRV_JSON_LIMIT_DEFAULT (1024 * 1024)
#define SRV_UPLOAD_LIMIT_DEFAULT (512ull * 1024 * 1024)
#define SRV_DRAIN_TIMEOUT_DEFAULT 10
/* Connection limits (issue 9, slowloris): one address may hold this many... */
#define SRV_MAX_CONNS_PER_IP_DEFAULT 64u
/* ...and all clients together this many, so fds and per-connection pools stay bounded. */
#define SRV_MAX_CONNS_DEFAULT 1024u
/* Seconds a connection may stay silent before libmicrohttpd closes it. */
#define SRV_IDLE_TIMEOUT_DEFAULT 15u
/* Seconds a client has to send a whole request head (almanacd's reaper). */
#define SRV_HEAD_DEADLINE_S 10u

struct srv_config {
    const char *data_dir;
    char host[64];
    uint16_t port;
    size_t json_limit;
    uint64_t upload_limit;
    unsigned threads;
    int zstd_level;
    int sweep_enabled;       /* daily end-of-support sweep (server/sweep.c) */
    unsigned sweep_interval; /* seconds between sweeps */
    int listen_fd;           /* bound and listening (server/net.c); MHD owns it after start */
    int metrics_fd;          /* -1, or a second listener serving only GET /metrics */
    unsigned drain_timeout;  /* seconds in-flight requests get after SIGTERM */
    int access_log;          /* one access line per request */
    int private_reads;       /* SRV_PRIVATE routes need a read token */
    const char *public_url;  /* absolute base for exports, or NULL: server-relative */
    char *tls_cert_pem;      /* with tls_key_pem: serve HTTPS (GnuTLS); owned by the caller */
    char *tls_key_pem;
    struct srv_cidr trusted[SRV_MAX_TRUSTED_PROXIES];
    size_t n_trusted;
    const char *ui_dir;             /* --ui-dir, or NULL: next to the binary (ui.h) */
    const char *cors[SRV_CORS_MAX]; /* --cors-origin values (cors.h) */
    size_t n_cors;
    size_t resolve_cache;    /* bytes of the resolve response / lock cache */
    double rate, rate_burst; /* --rate-limit; rate 0: off */
    unsigned max_conns_per_ip, max_conns, idle_timeout;
    int webhook_allow_private; /* deliver to private, loopback, link-local targets */
    long long snapshot_ttl;    /* lifetime of a catalog snapshot, seconds */
    uint64_t identity_cache;   /* bytes of decompressed hot artifacts kept (0: none) */
};

struct srv {
    struct srv_config cfg;
    struct MHD_Daemon *mhd;
    struct MHD_Daemon *metrics_mhd;
    unsigned long in_flight; /* requests begun and not completed (atomic) */
    int draining;            /* SIGTERM: responses carry Connection: close (atomic) */
    pthread_key_t cat_key;
    /* Module state, owned by the module's init/fini. */
    struct snapcache *snaps;
    struct art_store *store;
    struct art_keys *keys;
    struct srv_jobs *jobs;    /* background threads: the end-of-support sweep, webhook delivery */
    struct ui_files *ui;      /* the dashboard's files, or NULL (ui.h) */
    struct lcache *lcache;    /* resolve responses and unkept locks */
    struct ratelimit *limits; /* NULL: no rate limit */
    struct conns *conns;      /* head deadline and reserve (server/conns.h) */
    struct art_idcache *idcache; /* NULL when --identity-cache 0 */
    struct follower *mirror;     /* almanacd mirror: the upstream's follower (mirror.h) */
};

enum srv_route_flags {
    SRV_ADMIN = 1 << 0,   /* needs an admin token */
    SRV_STREAM = 1 << 1,  /* body handed to route->upload chunk by chunk */
    SRV_RAW = 1 << 2,     /* body buffered but not required to be JSON */
    SRV_PUBLISH = 1 << 3, /* needs a publish (or admin) token */
    SRV_PRIVATE = 1 << 4, /* a read token under --private-reads */
    SRV_READ = 1 << 5,    /* a read (or higher) token, always (webhook deliveries) */
};

struct srv_req;

struct srv_req {
    struct srv *srv;
    struct MHD_Connection *conn;
    const struct srv_route *route;
    const struct srv_route *table_route; /* route as found, when a mirror replaced it */
    const char *method;                  /* as received (HEAD stays HEAD) */
    int is_head;
    char *params[SRV_MAX_PARAMS]; /* decoded path parameters, in pattern order */
    size_t n_params;
    struct buf body;
    int too_large;
    int upload_failed;
    size_t drained;  /* bytes discarded after a refusal */
    int begun;       /* the first access-handler call has run */
    int close_now;   /* a framing refusal: answer before the body and close */
    char *raw_query; /* the query string as received, taken before libmicrohttpd */
    struct query_tab query;
    int authed;               /* a valid bearer token was checked */
    int needs_token;          /* the route needs one: the answer depends on Authorization */
    enum db_scope auth_scope; /* for this scope */
    char client_key[sizeof("t:") + DB_TOKEN_NAME_MAX]; /* rate-limit key: "t:<token name>" */
    struct app_err err;
    const char *problem_upstream; /* a mirror's problems name its upstream (mirror.c) */
    /* The thread's database connection, set before auth and the handler run (never
     * NULL in a handler); borrowed, owned by the thread. */
    struct db *db;
    /* Module state for streaming handlers; freed with state_free at completion. */
    void *state;
    void (*state_free)(void *state);
    /* The response to queue. */
    struct MHD_Response *resp;
    unsigned status;
    uint64_t resp_len; /* body length of resp (0 for HEAD) */
    /* TCP bytes the peer had acknowledged when resp was queued (sent_tracked): a cut
     * response logs the body bytes acknowledged since. */
    uint64_t acked0;
    int sent_tracked;
    /* For the access line, metrics and problem documents. */
    char *path; /* as received, without the query */
    char request_id[SRV_REQUEST_ID_MAX + 1];
    char client[SRV_CLIENT_MAX];
    char principal[DB_TOKEN_NAME_MAX + 1]; /* token name, or "" */
    double t0;                             /* monotonic seconds at the first callback */
};

/* Start serving on cfg.listen_fd; returns -1 with err filled. */
int srv_start(struct srv *s, struct app_err *err);
/* Stop accepting new connections; requests under way go on. */
void srv_quiesce(struct srv *s);
/* Requests begun and not yet completed. */
unsigned long srv_in_flight(const struct srv *s);
void srv_stop(struct srv *s);

/* Set the length the access log and metrics report for a response built by the
 * caller (srv_reply_response). */
void srv_set_resp_len(struct srv_req *r, uint64_t len);

/* The calling thread's catalog connection (opened on first use). */
struct db *srv_db(struct srv_req *r);

/* Query argument or header value, or NULL. Borrowed from the connection. */
const char *srv_query(struct srv_req *r, const char *key);
const char *srv_header(struct srv_req *r, const char *key);

/* Replies. Each replaces any earlier reply. Bodies are taken over (freed later). */
void srv_reply_json(struct srv_req *r, unsigned status, cJSON *body);
void srv_reply_bytes(struct srv_req *r, unsigned status, const char *content_type, char *bytes,
                     size_t len);
void srv_reply_problem(struct srv_req *r, struct app_err *err);
/* Take an already built response (artifacts: fd or callback responses). */
void srv_reply_response(struct srv_req *r, unsigned status, struct MHD_Response *resp);
void srv_reply_empty(struct srv_req *r, unsigned status);

/* Parse r->body as JSON (400 on error). */
cJSON *srv_body_json(struct srv_req *r);
/* The same for a closed schema: a top-level member not named in fields (NULL-
 * terminated) is a 400. */
cJSON *srv_body_json_closed(struct srv_req *r, const char *const *fields);

/* Check the request's bearer token (server/auth.h) for scope need: 0 and r->authed
 * set when it holds; -1 with 401 (or 403 for a weaker scope) in r->err otherwise. */
int srv_req_auth(struct srv_req *r, enum db_scope need);

/* Charge one computation or write to the client's rate-limit bucket: 0 when
 * allowed (or no limit is set); -1 with a 429 reply (and Retry-After) queued. */
int srv_rate_take(struct srv_req *r);

/* Add a header to the pending reply (after srv_reply_*). */
void srv_add_header(struct srv_req *r, const char *name, const char *value);

/* 1 when the route answers only with a token (admin, publish, or a private read
 * under --private-reads): what CORS "*" never opens. */
int srv_route_needs_token(const struct srv *s, const struct srv_route *rt);

/* Hooks that other server modules implement; declared here so that this layer
 * does not include the modules built on it.
 *
 * server/cors.c: for an OPTIONS request whose path exists (allow: every method of
 * the path, public_allow: those that need no token, each "A, B", either may be
 * NULL), answer the preflight (reply set, returns 1) when the configuration permits
 * it, else 0; and add the CORS headers to every reply (problems included, so a page
 * can read them). */
int cors_preflight(struct srv_req *r, const char *allow, const char *public_allow);
void cors_decorate(struct srv_req *r);
/* server/ui.c: the dashboard's route when url is one of its paths ("/", "/ui",
 * "/ui/...", "/favicon.ico"), else NULL; its handler reads r->path. */
const struct srv_route *ui_route(const char *url);

/* server/mirror.c, when s->mirror is set: 1 with a 405 reply queued when the
 * request is a write (a mirror takes none), else 0; then the route to run in
 * place of rt (rt itself or a mirror handler), or NULL with r->err set (503 while
 * the mirror has no complete catalog version). */
int mirror_refuse_write(struct srv_req *r, const char *url);
const struct srv_route *mirror_route(struct srv_req *r, const struct srv_route *rt);

/* The route tables of every module (routes.c). */
extern const struct srv_routes srv_all_routes[];
extern const size_t srv_n_route_tables;

#endif
