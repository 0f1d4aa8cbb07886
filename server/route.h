/* server/route.h: request paths, route patterns and route tables, pure (the
 * handlers a route names are called by server/http.c, never here).
 *
 * A path is "/" followed by segments separated by "/"; each segment is
 * percent-decoded (a bad escape or an encoded NUL refuses the path; an encoded "/"
 * stays inside its segment). A trailing slash is ignored; at most SRV_MAX_SEGMENTS
 * segments. Patterns use the same syntax with "{name}" (one non-empty segment
 * without "/") and "{name+}" (a two-segment id "a/b", or one segment that holds an
 * encoded "/").
 */
#ifndef SERVER_ROUTE_H
#define SERVER_ROUTE_H

#include <stddef.h>

#define SRV_MAX_SEGMENTS 16
#define SRV_MAX_PARAMS 4

/* Decoded segments; each owned. */
struct srv_segs {
    char *s[SRV_MAX_SEGMENTS];
    size_t n;
};

/* Percent-decode s[0..n); NULL when it holds an encoded NUL or a bad escape.
 * The caller frees the result. */
char *srv_segment_decode(const char *s, size_t n);

/* Split a raw path into decoded segments; -1 when malformed or too deep (nothing
 * left to free then). Release with srv_segs_release. */
int srv_path_split(const char *path, struct srv_segs *g);
void srv_segs_release(struct srv_segs *g);

/* 1 when pattern matches g, with the parameters in pattern order in params
 * (allocated; the caller frees each); 0 otherwise (nothing allocated). */
int srv_route_match(const char *pattern, const struct srv_segs *g, char **params, size_t *n_params);

struct srv_req;

struct srv_route {
    const char *method; /* GET (also HEAD), PUT, POST, DELETE */
    const char *pattern;
    int flags; /* enum srv_route_flags (server/http.h) */
    /* Called once the body is complete. Must reply (srv_reply_*) and return 0, or
     * return -1 with r->err filled, which becomes a problem document. */
    int (*handle)(struct srv_req *r);
    /* SRV_STREAM only: one chunk of the body; -1 with r->err stops the upload. */
    int (*upload)(struct srv_req *r, const char *data, size_t n);
};

struct srv_routes {
    const struct srv_route *routes;
    const size_t *n;
};

/* 1 when a route declared for route_method serves a request with method: the same
 * method, or HEAD on a GET route. */
int srv_route_method_matches(const char *route_method, const char *method);

/* The one route lookup: the first route, table by table in order, whose pattern
 * matches g and whose method serves method. 1 when found: *found and its parameters
 * in params (allocated; the caller frees each). 0 when the path exists but no route
 * of it serves method (405): each route of the path is passed to other(rt, ctx), to
 * build the Allow header. -1 when no route has this path (404). Nothing is left
 * allocated unless 1 is returned. */
int srv_route_find(const struct srv_routes *tables, size_t n_tables, const char *method,
                   const struct srv_segs *g, const struct srv_route **found, char **params,
                   size_t *n_params, void (*other)(const struct srv_route *rt, void *ctx),
                   void *ctx);

#endif
