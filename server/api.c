/* server/api.c: small helpers shared by the API modules. */
#include "server/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

char *
api_base_url(struct srv_req *r)
{
    const char *host = srv_header(r, MHD_HTTP_HEADER_HOST);

    if (!host || !*host || strpbrk(host, "/ \\\"<>"))
        return xasprintf("http://%s:%u", r->srv->cfg.host, (unsigned)r->srv->cfg.port);
    return xasprintf("http://%s", host);
}

int
api_parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    long long v;

    if (!s || !*s || ((*s < '0' || *s > '9') && *s != '-'))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || !end || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

char **
api_split_list(const char *s, size_t *n)
{
    size_t cap = 4;
    char **v = xcalloc(cap + 1, sizeof(*v));
    const char *p = s;

    *n = 0;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len) {
            if (*n == cap) {
                cap *= 2;
                v = xrealloc(v, (cap + 1) * sizeof(*v));
            }
            v[(*n)++] = xstrndup(p, len);
            v[*n] = NULL;
        }
        p = comma ? comma + 1 : NULL;
    }
    return v;
}

void
api_list_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}
