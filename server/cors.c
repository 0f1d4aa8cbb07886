/* server/cors.c: CORS headers and preflights (see cors.h). */
#include "server/cors.h"

#include <string.h>

#include "app/mem.h"

/* The request headers a page may send: the token, JSON bodies and the conditional
 * and range requests the API answers. A "*" origin gets them without Authorization. */
#define CORS_HEADERS_PUBLIC "Content-Type, If-None-Match, If-Match, Range, Accept-Encoding"
#define CORS_HEADERS_ALL "Authorization, " CORS_HEADERS_PUBLIC

int
cors_add_origin(struct srv_config *cfg, const char *origin, struct app_err *err)
{
    const char *p;
    size_t n = strlen(origin);

    if (cfg->n_cors == SRV_CORS_MAX)
        return app_fail(err, APP_EINVAL, "at most %d --cors-origin values", SRV_CORS_MAX);
    if (strcmp(origin, "*") != 0) {
        if (strncmp(origin, "http://", 7) == 0)
            p = origin + 7;
        else if (strncmp(origin, "https://", 8) == 0)
            p = origin + 8;
        else
            return app_fail(err, APP_EINVAL,
                            "--cors-origin '%s' must be '*' or http(s)://host[:port]", origin);
        /* An origin is what browsers send: no path, no trailing slash, no spaces. */
        if (!*p || n >= CORS_ORIGIN_MAX || strpbrk(p, "/?#@ \t\r\n,*") != NULL)
            return app_fail(err, APP_EINVAL,
                            "--cors-origin '%s' must be '*' or http(s)://host[:port]", origin);
    }
    cfg->cors[cfg->n_cors++] = origin;
    return 0;
}

enum cors_match { CORS_NONE, CORS_PUBLIC, CORS_LISTED };

/* How the request's Origin is allowed: listed exactly, through "*", or not. */
static enum cors_match
match_origin(struct srv_req *r, const char **origin)
{
    const struct srv_config *cfg = &r->srv->cfg;
    int star = 0;

    *origin = srv_header(r, "Origin");
    if (!*origin || !**origin || cfg->n_cors == 0)
        return CORS_NONE;
    for (size_t i = 0; i < cfg->n_cors; i++) {
        if (strcmp(cfg->cors[i], "*") == 0)
            star = 1;
        else if (strcmp(cfg->cors[i], *origin) == 0)
            return CORS_LISTED;
    }
    return star ? CORS_PUBLIC : CORS_NONE;
}

/* 1 when method is one of the comma-separated list. */
static int
list_has(const char *list, const char *method)
{
    size_t n = strlen(method);
    const char *p = list;

    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncmp(p, method, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return 1;
        p = strchr(p, ',');
    }
    return 0;
}

/* 1 when every header of the request's comma-separated list is in allowed
 * (case-insensitively, as header names are). */
static int
headers_allowed(const char *requested, const char *allowed)
{
    const char *p = requested;

    while (p && *p) {
        const char *end;
        size_t n;
        const char *a = allowed;
        int ok = 0;

        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        end = p;
        while (*end && *end != ',')
            end++;
        n = (size_t)(end - p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            break;
        while (*a && !ok) {
            const char *ae = strchr(a, ',');
            size_t an = ae ? (size_t)(ae - a) : strlen(a);

            ok = an == n && strncasecmp(a, p, n) == 0;
            a = ae ? ae + 2 : a + an;
        }
        if (!ok)
            return 0;
        p = end;
    }
    return 1;
}

int
cors_preflight(struct srv_req *r, const char *allow, const char *public_allow)
{
    const char *origin, *want = srv_header(r, "Access-Control-Request-Method");
    const char *want_headers = srv_header(r, "Access-Control-Request-Headers");
    enum cors_match m = match_origin(r, &origin);
    const char *methods = m == CORS_LISTED ? allow : public_allow;
    const char *headers = m == CORS_LISTED ? CORS_HEADERS_ALL : CORS_HEADERS_PUBLIC;

    if (m == CORS_NONE || !want || !methods || !list_has(methods, want))
        return 0;
    if (want_headers && !headers_allowed(want_headers, headers))
        return 0;
    srv_reply_empty(r, 204);
    srv_add_header(r, "Access-Control-Allow-Origin", m == CORS_LISTED ? origin : "*");
    srv_add_header(r, "Access-Control-Allow-Methods", methods);
    srv_add_header(r, "Access-Control-Allow-Headers", headers);
    srv_add_header(r, "Access-Control-Max-Age", CORS_MAX_AGE_S);
    return 1;
}

void
cors_decorate(struct srv_req *r)
{
    const char *origin;
    enum cors_match m;

    if (!r->resp || r->srv->cfg.n_cors == 0)
        return;
    /* The answer depends on Origin whether or not this request sent one. */
    MHD_add_response_header(r->resp, MHD_HTTP_HEADER_VARY, "Origin");
    /* An OPTIONS that was not answered as a preflight (405) allows nothing. */
    if (strcmp(r->method, "OPTIONS") == 0)
        return;
    m = match_origin(r, &origin);
    if (m == CORS_NONE)
        return;
    /* "*" is for public reads: a route that needs a token gets no CORS headers, so
     * a page from any origin cannot read what a token answered. */
    if (m == CORS_PUBLIC && r->route && srv_route_needs_token(r->srv, r->route))
        return;
    MHD_add_response_header(r->resp, "Access-Control-Allow-Origin",
                            m == CORS_LISTED ? origin : "*");
    MHD_add_response_header(r->resp, "Access-Control-Expose-Headers", CORS_EXPOSE);
}
