/* app/query.c: the query string, decoded once (see query.h). */
#include "app/query.h"

#include <stdlib.h>
#include <string.h>

#include "app/hash.h"
#include "app/jsonstrict.h"
#include "app/mem.h"

char *
pct_decode(const char *s, size_t n, int plus_space)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '\0')
            goto bad;
        if (c == '%') {
            int hi, lo;

            if (i + 2 >= n)
                goto bad;
            hi = hex_nibble(s[i + 1]);
            lo = hex_nibble(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                goto bad;
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = plus_space && c == '+' ? ' ' : c;
        }
    }
    out[j] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

size_t
query_count(const char *raw)
{
    size_t n = 1;

    if (!raw || !*raw)
        return 0;
    for (const char *p = raw; *p; p++)
        n += *p == '&';
    return n;
}

const char *
query_get(const struct query_tab *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->keys[i], key) == 0)
            return t->vals[i];
    return NULL;
}

void
query_release(struct query_tab *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->keys[i]);
        free(t->vals[i]);
    }
    free(t->keys);
    free(t->vals);
    memset(t, 0, sizeof(*t));
}

int
query_parse(const char *raw, struct query_tab *t, struct app_err *err)
{
    size_t cap = query_count(raw);
    const char *p = raw;

    memset(t, 0, sizeof(*t));
    if (cap == 0)
        return 0;
    if (cap > SRV_MAX_QUERY_PARAMS)
        return app_fail(err, APP_EURI, "the query has %zu parameters; at most %d are accepted", cap,
                        SRV_MAX_QUERY_PARAMS);
    t->keys = xcalloc(cap, sizeof(*t->keys));
    t->vals = xcalloc(cap, sizeof(*t->vals));
    while (p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char *k, *v;

        if (len == 0) {
            p = amp ? amp + 1 : NULL;
            continue; /* "a=1&&b=2": an empty piece carries nothing */
        }
        k = pct_decode(p, klen, 1);
        v = eq ? pct_decode(eq + 1, len - klen - 1, 1) : xstrdup("");
        if (k && v && (!utf8_valid(k, strlen(k)) || !utf8_valid(v, strlen(v)))) {
            free(k);
            free(v);
            query_release(t);
            return app_fail(err, APP_EINVAL, "the query is not valid UTF-8 once decoded");
        }
        if (!k || !v) {
            free(k);
            free(v);
            query_release(t);
            return app_fail(err, APP_EINVAL,
                            "the query has a malformed percent-escape or a NUL byte");
        }
        if (query_get(t, k)) {
            app_fail(err, APP_EINVAL, "query parameter '%.64s' is given more than once", k);
            free(k);
            free(v);
            query_release(t);
            return -1;
        }
        t->keys[t->n] = k;
        t->vals[t->n] = v;
        t->n++;
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}
