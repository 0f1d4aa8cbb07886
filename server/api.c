/* server/api.c: small helpers shared by the API modules. */
#include "server/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

char *
srv_base_url(struct srv_req *r)
{
    const char *host = srv_header(r, MHD_HTTP_HEADER_HOST);

    if (!host || !*host || strpbrk(host, "/ \\\"<>"))
        return xasprintf("http://%s:%u", r->srv->cfg.host, (unsigned)r->srv->cfg.port);
    return xasprintf("http://%s", host);
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
