/* app/jsonstrict.c: strict JSON text check (jsonstrict.h). */
#include "app/jsonstrict.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/mem.h"

struct js {
    const unsigned char *s;
    size_t len, pos;
    struct app_err *err;
};

/* Length of the UTF-8 sequence at p (n bytes left), 0 when malformed. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    uint32_t cp;
    size_t k;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        k = 2, cp = p[0] & 0x1F;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        k = 3, cp = p[0] & 0x0F;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        k = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

int
utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);

        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

static int
fail(struct js *j, const char *what)
{
    return app_fail(j->err, APP_EINVAL, "request body is not valid JSON: %s (near byte %zu)", what,
                    j->pos);
}

static void
skip_ws(struct js *j)
{
    while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
                               j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
        j->pos++;
}

static int
hex4(struct js *j, uint32_t *out)
{
    uint32_t v = 0;

    if (j->len - j->pos < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned char c = j->s[j->pos++];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int
put_cp(struct buf *b, uint32_t cp)
{
    unsigned char u[4];
    size_t n;

    if (cp < 0x80)
        u[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (unsigned char)(0xC0 | (cp >> 6)), u[1] = (unsigned char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (unsigned char)(0xE0 | (cp >> 12)),
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)),
        u[2] = (unsigned char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (unsigned char)(0xF0 | (cp >> 18)),
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)),
        u[3] = (unsigned char)(0x80 | (cp & 0x3F)), n = 4;
    return buf_append(b, u, n);
}

/* A string at j->pos (the opening quote); its decoded bytes go to out when not
 * NULL (object keys, for the duplicate check). */
static int
string(struct js *j, struct buf *out)
{
    j->pos++;
    for (;;) {
        unsigned char c;

        if (j->pos >= j->len)
            return fail(j, "unterminated string");
        c = j->s[j->pos];
        if (c == '"') {
            j->pos++;
            return 0;
        }
        if (c < 0x20)
            return fail(j, "control character in a string");
        if (c == '\\') {
            uint32_t cp;

            if (++j->pos >= j->len)
                return fail(j, "unterminated escape");
            c = j->s[j->pos++];
            switch (c) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (hex4(j, &cp) < 0)
                    return fail(j, "malformed \\u escape");
                if (cp == 0)
                    return fail(j, "a string holds a NUL character (\\u0000)");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(j, "lone low surrogate escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;

                    if (j->len - j->pos < 6 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u')
                        return fail(j, "lone high surrogate escape");
                    j->pos += 2;
                    if (hex4(j, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                        return fail(j, "lone high surrogate escape");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                break;
            default: return fail(j, "unknown escape");
            }
            if (out && put_cp(out, cp) < 0)
                return fail(j, "key too long");
            continue;
        }
        {
            size_t k = utf8_seq(j->s + j->pos, j->len - j->pos);

            if (!k)
                return fail(j, "invalid UTF-8 in a string");
            if (out && buf_append(out, j->s + j->pos, k) < 0)
                return fail(j, "key too long");
            j->pos += k;
        }
    }
}

static int
number(struct js *j)
{
    size_t start = j->pos;
    char tmp[64];
    char *copy = tmp, *end = NULL;
    size_t n;
    double v;
    int ret = 0;

    if (j->s[j->pos] == '-')
        j->pos++;
    if (j->pos >= j->len)
        return fail(j, "malformed number");
    if (j->s[j->pos] == '0') {
        j->pos++;
    } else if (j->s[j->pos] >= '1' && j->s[j->pos] <= '9') {
        while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
            j->pos++;
    } else {
        return fail(j, "malformed number");
    }
    if (j->pos < j->len && j->s[j->pos] == '.') {
        size_t d = ++j->pos;

        while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
            j->pos++;
        if (j->pos == d)
            return fail(j, "malformed number");
    }
    if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
        size_t d;

        j->pos++;
        if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
            j->pos++;
        d = j->pos;
        while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
            j->pos++;
        if (j->pos == d)
            return fail(j, "malformed number");
    }
    n = j->pos - start;
    if (n >= sizeof(tmp))
        copy = xmalloc(n + 1);
    memcpy(copy, j->s + start, n);
    copy[n] = '\0';
    v = strtod(copy, &end);
    if (!isfinite(v))
        ret = fail(j, "a number is too large for a double (not finite)");
    if (copy != tmp)
        free(copy);
    return ret;
}

static int
literal(struct js *j, const char *word)
{
    size_t n = strlen(word);

    if (j->len - j->pos < n || memcmp(j->s + j->pos, word, n) != 0)
        return fail(j, "unexpected character");
    j->pos += n;
    return 0;
}

static int
cmp_keys(const void *a, const void *b)
{
    const struct buf *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);

    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int value(struct js *j, unsigned depth);

static int
object(struct js *j, unsigned depth)
{
    struct buf *keys = NULL;
    size_t n = 0, cap = 0;
    int ret = -1;

    j->pos++;
    skip_ws(j);
    if (j->pos < j->len && j->s[j->pos] == '}') {
        j->pos++;
        return 0;
    }
    for (;;) {
        skip_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != '"') {
            fail(j, "expected a key");
            goto out;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            keys = xrealloc(keys, cap * sizeof(*keys));
        }
        buf_init(&keys[n], 0);
        n++;
        if (string(j, &keys[n - 1]) < 0)
            goto out;
        if (buf_append(&keys[n - 1], "", 1) < 0) /* keys hold text: one NUL ends it */
            goto out;
        skip_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != ':') {
            fail(j, "expected ':'");
            goto out;
        }
        j->pos++;
        if (value(j, depth) < 0)
            goto out;
        skip_ws(j);
        if (j->pos < j->len && j->s[j->pos] == ',') {
            j->pos++;
            continue;
        }
        if (j->pos < j->len && j->s[j->pos] == '}') {
            j->pos++;
            break;
        }
        fail(j, "expected ',' or '}'");
        goto out;
    }
    qsort(keys, n, sizeof(*keys), cmp_keys);
    for (size_t i = 1; i < n; i++) {
        if (cmp_keys(&keys[i - 1], &keys[i]) == 0) {
            app_fail(j->err, APP_EINVAL, "request body repeats the key '%.64s' in one object",
                     keys[i].data);
            goto out;
        }
    }
    ret = 0;
out:
    for (size_t i = 0; i < n; i++)
        buf_release(&keys[i]);
    free(keys);
    return ret;
}

static int
array(struct js *j, unsigned depth)
{
    j->pos++;
    skip_ws(j);
    if (j->pos < j->len && j->s[j->pos] == ']') {
        j->pos++;
        return 0;
    }
    for (;;) {
        if (value(j, depth) < 0)
            return -1;
        skip_ws(j);
        if (j->pos < j->len && j->s[j->pos] == ',') {
            j->pos++;
            continue;
        }
        if (j->pos < j->len && j->s[j->pos] == ']') {
            j->pos++;
            return 0;
        }
        return fail(j, "expected ',' or ']'");
    }
}

static int
value(struct js *j, unsigned depth)
{
    skip_ws(j);
    if (j->pos >= j->len)
        return fail(j, "unexpected end");
    switch (j->s[j->pos]) {
    case '{':
        if (depth >= JSON_STRICT_MAX_DEPTH)
            return fail(j, "nested too deeply");
        return object(j, depth + 1);
    case '[':
        if (depth >= JSON_STRICT_MAX_DEPTH)
            return fail(j, "nested too deeply");
        return array(j, depth + 1);
    case '"': return string(j, NULL);
    case 't': return literal(j, "true");
    case 'f': return literal(j, "false");
    case 'n': return literal(j, "null");
    default: return number(j);
    }
}

int
json_strict_check(const char *s, size_t len, struct app_err *err)
{
    struct js j = {(const unsigned char *)s, len, 0, err};

    if (value(&j, 0) < 0)
        return -1;
    skip_ws(&j);
    if (j.pos != len)
        return app_fail(err, APP_EINVAL, "request body has trailing data after the JSON value");
    return 0;
}

int
json_known_fields(const cJSON *obj, const char *const *fields, const char *where,
                  struct app_err *err)
{
    const cJSON *m;

    if (!cJSON_IsObject(obj))
        return 0;
    cJSON_ArrayForEach (m, obj) {
        size_t i = 0;

        while (fields[i] && strcmp(fields[i], m->string) != 0)
            i++;
        if (!fields[i])
            return app_fail(err, APP_EINVAL, "%s has an unknown field '%.64s'", where, m->string);
    }
    return 0;
}
