/* server/route.h: request paths and route patterns, pure.
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

#endif
