/* server/route.c: request paths: split into percent-decoded segments, matched
 * against route patterns with {name} and {name+} parameters (see server/route.h).
 * Pure: no libmicrohttpd, so the unit tests and the fuzzer call it directly. */
#include "server/route.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/hash.h"
#include "app/mem.h"

/* Percent-decode one path segment; NULL when it holds a NUL or a bad escape. */
char *
srv_segment_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            uint8_t v;

            if (i + 2 >= n) {
                free(out);
                return NULL;
            }
            {
                char hex[3] = {s[i + 1], s[i + 2], '\0'};

                if (hex_decode(hex, &v, 1) < 0 || v == 0) {
                    free(out);
                    return NULL;
                }
            }
            out[j++] = (char)v;
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

void
srv_segs_release(struct srv_segs *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->s[i]);
    g->n = 0;
}

/* Split a raw path into decoded segments; -1 when malformed or too deep. */
int
srv_path_split(const char *path, struct srv_segs *g)
{
    const char *p = path;

    g->n = 0;
    if (*p != '/')
        return -1;
    while (*p == '/') {
        const char *start = ++p;
        size_t len;

        while (*p && *p != '/')
            p++;
        len = (size_t)(p - start);
        if (len == 0 && !*p && g->n > 0)
            break; /* trailing slash */
        if (g->n == SRV_MAX_SEGMENTS)
            goto fail;
        g->s[g->n] = srv_segment_decode(start, len);
        if (!g->s[g->n])
            goto fail;
        g->n++;
    }
    return 0;
fail:
    /* Nothing is left for the caller to free on failure. */
    srv_segs_release(g);
    return -1;
}

/* Match pattern against decoded segments; fills params (allocated). */
int
srv_route_match(const char *pattern, const struct srv_segs *g, char **params, size_t *n_params)
{
    struct srv_segs pat;
    size_t i = 0, j = 0;
    int ok = 0;

    *n_params = 0;
    if (srv_path_split(pattern, &pat) < 0)
        return 0;
    for (; i < pat.n; i++) {
        const char *ps = pat.s[i];
        size_t pl = strlen(ps);

        if (j >= g->n)
            goto out;
        if (ps[0] == '{' && pl >= 2 && ps[pl - 1] == '}') {
            int two = pl >= 3 && ps[pl - 2] == '+';

            if (*n_params == SRV_MAX_PARAMS)
                goto out;
            if (two && strchr(g->s[j], '/')) {
                params[(*n_params)++] = xstrdup(g->s[j]);
                j++;
            } else if (two) {
                if (j + 1 >= g->n || strchr(g->s[j + 1], '/'))
                    goto out;
                params[(*n_params)++] = xasprintf("%s/%s", g->s[j], g->s[j + 1]);
                j += 2;
            } else {
                if (strchr(g->s[j], '/') || !g->s[j][0])
                    goto out;
                params[(*n_params)++] = xstrdup(g->s[j]);
                j++;
            }
        } else {
            if (strcmp(ps, g->s[j]) != 0)
                goto out;
            j++;
        }
    }
    ok = j == g->n;
out:
    if (!ok) {
        for (size_t k = 0; k < *n_params; k++)
            free(params[k]);
        *n_params = 0;
    }
    srv_segs_release(&pat);
    return ok;
}

int
srv_route_method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

int
srv_route_find(const struct srv_routes *tables, size_t n_tables, const char *method,
               const struct srv_segs *g, const struct srv_route **found, char **params,
               size_t *n_params, void (*other)(const struct srv_route *rt, void *ctx), void *ctx)
{
    int path_known = 0;

    *found = NULL;
    *n_params = 0;
    for (size_t t = 0; t < n_tables; t++) {
        for (size_t i = 0; i < *tables[t].n; i++) {
            const struct srv_route *rt = &tables[t].routes[i];

            if (!srv_route_match(rt->pattern, g, params, n_params))
                continue;
            path_known = 1;
            if (srv_route_method_matches(rt->method, method)) {
                *found = rt;
                return 1;
            }
            for (size_t k = 0; k < *n_params; k++)
                free(params[k]);
            *n_params = 0;
            if (other)
                other(rt, ctx);
        }
    }
    return path_known ? 0 : -1;
}
