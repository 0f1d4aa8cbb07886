/* server/headers.c: the request headers the artifact routes read: Accept-Encoding
 * (zstd), If-None-Match and Range (see server/headers.h). Bounded, allocation-free
 * readers; pure, so the unit tests and the fuzzer call them directly. */
#include "server/headers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1 when Accept-Encoding names zstd with a non-zero q. Only an explicit zstd
 * counts: "*" is not taken as consent to a coding many clients cannot decode. */
int
srv_accepts_zstd(const char *ae)
{
    const char *p = ae;

    if (!ae)
        return 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *tok = p, *end = p + len, *semi;
        size_t name_len;

        while (tok < end && (*tok == ' ' || *tok == '\t'))
            tok++;
        semi = memchr(tok, ';', (size_t)(end - tok));
        name_len = (size_t)((semi ? semi : end) - tok);
        while (name_len && (tok[name_len - 1] == ' ' || tok[name_len - 1] == '\t'))
            name_len--;
        if (name_len == 4 && strncasecmp(tok, "zstd", 4) == 0) {
            const char *q = semi;

            if (!q)
                return 1;
            /* q=0, q=0.0, q=0.00, q=0.000 refuse; anything else accepts. */
            while (q < end && *q != 'q' && *q != 'Q')
                q++;
            if (q + 2 <= end && q[1] == '=') {
                const char *v = q + 2;

                if (*v == '0') {
                    v++;
                    if (v < end && *v == '.')
                        v++;
                    while (v < end && *v == '0')
                        v++;
                    while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                    if (v == end)
                        return 0;
                }
            }
            return 1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* 1 when the If-None-Match list matches one of our tags (weak comparison). */
int
srv_none_match(const char *inm, const char *hex)
{
    const char *p = inm;

    while (*p) {
        size_t len;

        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        len = strcspn(p, ",");
        if (len >= 66 && p[0] == '"' && strncmp(p + 1, hex, 64) == 0 &&
            (p[65] == '"' || strncmp(p + 65, "+zstd\"", 6) == 0))
            return 1;
        p += len;
    }
    return 0;
}

/* Parse a single "bytes=a-b" / "a-" / "-n" against size. Returns 1 with the range,
 * 0 to ignore the header (malformed or several ranges), -1 when unsatisfiable. */
int
srv_parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
    const char *p = h, *dash;
    char *end;
    unsigned long long a, b;

    while (*p == ' ')
        p++;
    if (strncasecmp(p, "bytes=", 6) != 0)
        return 0;
    p += 6;
    if (strchr(p, ','))
        return 0;
    while (*p == ' ')
        p++;
    dash = strchr(p, '-');
    if (!dash)
        return 0;
    if (dash == p) { /* suffix: the last n bytes */
        if (!dash[1] || strspn(dash + 1, "0123456789") != strlen(dash + 1) || strlen(dash + 1) > 19)
            return 0;
        b = strtoull(dash + 1, &end, 10);
        if (b == 0 || size == 0)
            return -1;
        if (b > size)
            b = size;
        *start = size - b;
        *len = b;
        return 1;
    }
    if (strspn(p, "0123456789") != (size_t)(dash - p) || dash - p > 19)
        return 0;
    a = strtoull(p, &end, 10);
    if (!dash[1]) {
        b = size ? size - 1 : 0;
    } else {
        if (strspn(dash + 1, "0123456789") != strlen(dash + 1) || strlen(dash + 1) > 19)
            return 0;
        b = strtoull(dash + 1, &end, 10);
        if (b < a)
            return 0;
        if (b >= size)
            b = size ? size - 1 : 0;
    }
    if (a >= size)
        return -1;
    *start = a;
    *len = b - a + 1;
    return 1;
}
