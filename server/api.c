/* server/api.c: small helpers shared by the API modules. */
#include "server/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

char *
srv_base_url(struct srv_req *r)
{
    const char *u = r->srv->cfg.public_url;
    size_t n;

    /* Never the request's Host: a forged Host must not reach an exported file. */
    if (!u || !*u)
        return xstrdup("");
    n = strlen(u);
    while (n && u[n - 1] == '/')
        n--;
    return xstrndup(u, n);
}

int
srv_parse_int(const char *s, long long min, long long max, long long *out)
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
