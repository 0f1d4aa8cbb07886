/* cli/toml.c: TOML 1.0 to JSON (see toml.h). A recursive-descent reader over the
 * bounded text, one token at a time; the document is built as cJSON as it is read. */
#include "cli/toml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/mem.h"

/* Most keys in one dotted key or table header ("a.b.c"). */
#define TOML_MAX_KEY_PARTS 32
/* Longest number or date token. */
#define TOML_MAX_TOKEN 64
/* Tables that are closed to further definition (headers seen, inline tables). */
#define TOML_MAX_CLOSED 4096

struct tp {
    const char *path;
    const char *p, *end;
    int line;
    struct app_err *err;
    cJSON *closed[TOML_MAX_CLOSED]; /* defined by a [header] or inline: no reopening */
    size_t n_closed;
};

struct key {
    char *part[TOML_MAX_KEY_PARTS];
    size_t n;
};

static void
key_release(struct key *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->part[i]);
    k->n = 0;
}

__attribute__((format(printf, 2, 3))) static int
tfail(struct tp *t, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return app_fail(t->err, APP_EINVAL, "%s:%d: %s", t->path, t->line, msg);
}

static int
is_closed(const struct tp *t, const cJSON *o)
{
    for (size_t i = 0; i < t->n_closed; i++)
        if (t->closed[i] == o)
            return 1;
    return 0;
}

static int
close_table(struct tp *t, cJSON *o)
{
    if (t->n_closed == TOML_MAX_CLOSED)
        return tfail(t, "more than %d tables", TOML_MAX_CLOSED);
    t->closed[t->n_closed++] = o;
    return 0;
}

static void
skip_ws(struct tp *t)
{
    while (t->p < t->end && (*t->p == ' ' || *t->p == '\t'))
        t->p++;
}

static void
skip_comment(struct tp *t)
{
    if (t->p < t->end && *t->p == '#')
        while (t->p < t->end && *t->p != '\n')
            t->p++;
}

/* At a line end: consume it. */
static int
newline(struct tp *t)
{
    if (t->p < t->end && *t->p == '\n') {
        t->p++;
        t->line++;
        return 1;
    }
    if (t->end - t->p >= 2 && t->p[0] == '\r' && t->p[1] == '\n') {
        t->p += 2;
        t->line++;
        return 1;
    }
    return 0;
}

/* Whitespace, comments and newlines (inside arrays). */
static void
skip_all(struct tp *t)
{
    for (;;) {
        skip_ws(t);
        skip_comment(t);
        if (!newline(t))
            return;
    }
}

/* The rest of a line after a value or header: spaces, a comment, the newline. */
static int
end_of_line(struct tp *t)
{
    skip_ws(t);
    skip_comment(t);
    if (t->p >= t->end || newline(t))
        return 0;
    return tfail(t, "unexpected '%c' after the value", *t->p);
}

static int
put_utf8(struct tp *t, struct buf *b, unsigned long cp)
{
    char u[4];
    size_t n;

    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return tfail(t, "invalid unicode escape");
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, u, n) < 0 ? tfail(t, "string too long") : 0;
}

static int
escape(struct tp *t, struct buf *b)
{
    char c;
    int digits = 0;
    unsigned long cp = 0;

    if (t->p >= t->end)
        return tfail(t, "unterminated string");
    c = *t->p++;
    switch (c) {
    case 'b': c = '\b'; break;
    case 't': c = '\t'; break;
    case 'n': c = '\n'; break;
    case 'f': c = '\f'; break;
    case 'r': c = '\r'; break;
    case 'e': c = 0x1B; break;
    case '"': break;
    case '\\': break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    default: return tfail(t, "invalid escape '\\%c'", c);
    }
    if (!digits)
        return buf_append(b, &c, 1) < 0 ? tfail(t, "string too long") : 0;
    for (int i = 0; i < digits; i++, t->p++) {
        char h = t->p < t->end ? *t->p : 0;

        if (h >= '0' && h <= '9')
            cp = cp * 16 + (unsigned long)(h - '0');
        else if (h >= 'a' && h <= 'f')
            cp = cp * 16 + (unsigned long)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            cp = cp * 16 + (unsigned long)(h - 'A' + 10);
        else
            return tfail(t, "invalid unicode escape");
    }
    return put_utf8(t, b, cp);
}

static int
starts(const struct tp *t, const char *s)
{
    size_t n = strlen(s);

    return (size_t)(t->end - t->p) >= n && memcmp(t->p, s, n) == 0;
}

/* One string of any of the four forms, at its opening quote; *out is the caller's. */
static int
read_string(struct tp *t, char **out)
{
    char q = *t->p;
    int multi = (q == '"' && starts(t, "\"\"\"")) || (q == '\'' && starts(t, "'''"));
    struct buf b;
    int ret = -1;

    buf_init(&b, 0);
    t->p += multi ? 3 : 1;
    if (multi)
        newline(t); /* a newline right after the delimiter is not content */
    for (;;) {
        char c;

        if (t->p >= t->end) {
            tfail(t, "unterminated string");
            goto out;
        }
        c = *t->p;
        if (c == q && (!multi || (q == '"' ? starts(t, "\"\"\"") : starts(t, "'''")))) {
            if (!multi) {
                t->p++;
                break;
            }
            /* up to two quotes right before the closing three are content */
            {
                int extra = 0;

                while (extra < 2 && t->end - t->p > 3 && t->p[3] == q)
                    extra++;
                if (extra && buf_append(&b, t->p, (size_t)extra) < 0)
                    goto toolong;
                t->p += 3 + extra;
            }
            break;
        }
        if (c == '\n' || (c == '\r' && t->p + 1 < t->end && t->p[1] == '\n')) {
            if (!multi) {
                tfail(t, "newline in a string");
                goto out;
            }
            if (buf_append(&b, "\n", 1) < 0)
                goto toolong;
            newline(t);
            continue;
        }
        if (c == '\\' && q == '"') {
            t->p++;
            if (multi && t->p < t->end &&
                (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r')) {
                /* line-ending backslash: drop the whitespace and newlines that follow */
                const char *save = t->p;

                skip_ws(t);
                if (!newline(t)) {
                    t->p = save;
                    tfail(t, "invalid escape '\\ '");
                    goto out;
                }
                for (;;) {
                    skip_ws(t);
                    if (!newline(t))
                        break;
                }
                continue;
            }
            if (escape(t, &b) < 0)
                goto out;
            continue;
        }
        if ((unsigned char)c < 0x20 && c != '\t') {
            tfail(t, "control character in a string");
            goto out;
        }
        if (buf_append(&b, &c, 1) < 0)
            goto toolong;
        t->p++;
    }
    *out = buf_detach(&b, NULL);
    ret = 0;
    goto out;
toolong:
    tfail(t, "string too long");
out:
    buf_release(&b);
    return ret;
}

static int
bare_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* A dotted key: bare, "basic" or 'literal' parts separated by dots. */
static int
read_key(struct tp *t, struct key *k)
{
    k->n = 0;
    for (;;) {
        char *part = NULL;

        skip_ws(t);
        if (t->p >= t->end)
            return tfail(t, "expected a key");
        if (*t->p == '"' || *t->p == '\'') {
            if (starts(t, "\"\"\"") || starts(t, "'''"))
                return tfail(t, "a key cannot be a multi-line string");
            if (read_string(t, &part) < 0)
                return -1;
        } else {
            const char *s = t->p;

            while (t->p < t->end && bare_char(*t->p))
                t->p++;
            if (t->p == s)
                return tfail(t, "expected a key, not '%c'", *t->p);
            part = xstrndup(s, (size_t)(t->p - s));
        }
        if (k->n == TOML_MAX_KEY_PARTS) {
            free(part);
            return tfail(t, "a key with more than %d parts", TOML_MAX_KEY_PARTS);
        }
        k->part[k->n++] = part;
        skip_ws(t);
        if (t->p < t->end && *t->p == '.') {
            t->p++;
            continue;
        }
        return 0;
    }
}

static cJSON *read_value(struct tp *t, int depth);

/* Descend from table into the parts of k except the last, creating tables (and
 * opening the last element of an array of tables); NULL after an error. */
static cJSON *
descend(struct tp *t, cJSON *table, const struct key *k, size_t n, int from_header)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(table, k->part[i]);

        if (!c) {
            c = xjson(cJSON_AddObjectToObject(table, k->part[i]));
        } else if (cJSON_IsArray(c) && from_header) {
            c = cJSON_GetArrayItem(c, cJSON_GetArraySize(c) - 1);
            if (!cJSON_IsObject(c)) {
                tfail(t, "'%s' is an array, not a table", k->part[i]);
                return NULL;
            }
        } else if (!cJSON_IsObject(c)) {
            tfail(t, "'%s' is already a value, not a table", k->part[i]);
            return NULL;
        } else if (!from_header && is_closed(t, c) && cJSON_IsObject(c)) {
            /* dotted keys may not add to a table defined elsewhere */
            tfail(t, "table '%s' is already defined", k->part[i]);
            return NULL;
        }
        table = c;
    }
    return table;
}

/* key = value into table. */
static int
read_keyval(struct tp *t, cJSON *table, int depth)
{
    struct key k = {0};
    cJSON *into, *v = NULL;
    int ret = -1;

    if (read_key(t, &k) < 0)
        goto out;
    if (t->p >= t->end || *t->p != '=') {
        tfail(t, "expected '=' after the key '%s'", k.part[k.n - 1]);
        goto out;
    }
    t->p++;
    skip_ws(t);
    into = descend(t, table, &k, k.n - 1, 0);
    if (!into)
        goto out;
    if (cJSON_GetObjectItemCaseSensitive(into, k.part[k.n - 1])) {
        tfail(t, "the key '%s' is defined twice", k.part[k.n - 1]);
        goto out;
    }
    v = read_value(t, depth + 1);
    if (!v)
        goto out;
    cJSON_AddItemToObject(into, k.part[k.n - 1], v);
    ret = 0;
out:
    key_release(&k);
    return ret;
}

static cJSON *
read_array(struct tp *t, int depth)
{
    cJSON *a = xjson(cJSON_CreateArray());

    t->p++;
    for (;;) {
        cJSON *v;

        skip_all(t);
        if (t->p >= t->end) {
            tfail(t, "unterminated array");
            goto fail;
        }
        if (*t->p == ']') {
            t->p++;
            return a;
        }
        v = read_value(t, depth + 1);
        if (!v)
            goto fail;
        cJSON_AddItemToArray(a, v);
        skip_all(t);
        if (t->p >= t->end) {
            tfail(t, "unterminated array");
            goto fail;
        }
        if (*t->p == ',') {
            t->p++;
            continue;
        }
        if (*t->p == ']') {
            t->p++;
            return a;
        }
        tfail(t, "expected ',' or ']' in an array");
        goto fail;
    }
fail:
    cJSON_Delete(a);
    return NULL;
}

static cJSON *
read_inline_table(struct tp *t, int depth)
{
    cJSON *o = xjson(cJSON_CreateObject());

    t->p++;
    skip_ws(t);
    if (t->p < t->end && *t->p == '}') {
        t->p++;
        goto done;
    }
    for (;;) {
        if (read_keyval(t, o, depth) < 0)
            goto fail;
        skip_ws(t);
        if (t->p < t->end && *t->p == ',') {
            t->p++;
            continue;
        }
        if (t->p < t->end && *t->p == '}') {
            t->p++;
            break;
        }
        tfail(t, "expected ',' or '}' in an inline table");
        goto fail;
    }
done:
    if (close_table(t, o) < 0)
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A number, or a date/time kept as its text. */
static cJSON *
read_scalar(struct tp *t)
{
    char tok[TOML_MAX_TOKEN + 1], digits[TOML_MAX_TOKEN + 1];
    size_t n = 0, m = 0;
    const char *s = t->p;
    char *endp = NULL;
    int base = 10, is_float = 0;

    while (t->p < t->end && (bare_char(*t->p) || *t->p == '+' || *t->p == '.' || *t->p == ':')) {
        t->p++;
        /* "1979-05-27 07:32:00": a space between the date and the time */
        if (t->p - s == 10 && t->end - t->p >= 4 && *t->p == ' ' && is_digit(t->p[1]) &&
            is_digit(t->p[2]) && t->p[3] == ':' && s[4] == '-')
            t->p++;
    }
    n = (size_t)(t->p - s);
    if (n == 0) {
        tfail(t, "expected a value");
        return NULL;
    }
    if (n > TOML_MAX_TOKEN) {
        tfail(t, "value too long");
        return NULL;
    }
    memcpy(tok, s, n);
    tok[n] = '\0';
    if (strcmp(tok, "true") == 0)
        return xjson(cJSON_CreateBool(1));
    if (strcmp(tok, "false") == 0)
        return xjson(cJSON_CreateBool(0));
    /* dates and times: digits with '-' at 4 or ':' at 2 */
    if ((n >= 10 && is_digit(tok[0]) && tok[4] == '-' && tok[7] == '-') ||
        (n >= 8 && is_digit(tok[0]) && tok[2] == ':'))
        return xjson(cJSON_CreateString(tok));
    {
        const char *u = tok + (tok[0] == '+' || tok[0] == '-');

        if (strcmp(u, "inf") == 0)
            return xjson(cJSON_CreateNumber(tok[0] == '-' ? -INFINITY : INFINITY));
        if (strcmp(u, "nan") == 0)
            return xjson(cJSON_CreateNumber(NAN));
    }
    if (tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'o' || tok[1] == 'b')) {
        base = tok[1] == 'x' ? 16 : tok[1] == 'o' ? 8 : 2;
        for (size_t i = 2; i < n; i++)
            if (tok[i] != '_')
                digits[m++] = tok[i];
    } else {
        for (size_t i = 0; i < n; i++) {
            char c = tok[i];

            if (c == '_') {
                if (i == 0 || i + 1 == n || !is_digit(tok[i - 1]) || !is_digit(tok[i + 1]))
                    goto bad;
                continue;
            }
            if (c == '.' || c == 'e' || c == 'E')
                is_float = 1;
            else if (!is_digit(c) && c != '+' && c != '-')
                goto bad;
            digits[m++] = c;
        }
        {
            const char *d = digits + (digits[0] == '+' || digits[0] == '-');

            if (m > 1 && d[0] == '0' && is_digit(d[1]))
                goto bad; /* leading zeros */
        }
    }
    digits[m] = '\0';
    if (m == 0)
        goto bad;
    errno = 0;
    if (is_float) {
        double v = strtod(digits, &endp);

        if (*endp || errno)
            goto bad;
        return xjson(cJSON_CreateNumber(v));
    }
    {
        long long v = strtoll(digits, &endp, base);

        if (*endp || errno || (base != 10 && (digits[0] == '+' || digits[0] == '-')))
            goto bad;
        return xjson(cJSON_CreateNumber((double)v));
    }
bad:
    tfail(t, "invalid value '%s'", tok);
    return NULL;
}

static cJSON *
read_value(struct tp *t, int depth)
{
    char *s = NULL;

    if (depth > TOML_MAX_DEPTH) {
        tfail(t, "nested deeper than %d", TOML_MAX_DEPTH);
        return NULL;
    }
    if (t->p >= t->end) {
        tfail(t, "expected a value");
        return NULL;
    }
    switch (*t->p) {
    case '"':
    case '\'': {
        cJSON *v;

        if (read_string(t, &s) < 0)
            return NULL;
        v = xjson(cJSON_CreateString(s));
        free(s);
        return v;
    }
    case '[': return read_array(t, depth);
    case '{': return read_inline_table(t, depth);
    default: return read_scalar(t);
    }
}

/* [table] or [[array.of.tables]]: the table later key/values go into. */
static cJSON *
read_header(struct tp *t, cJSON *root)
{
    int aot = starts(t, "[[");
    struct key k = {0};
    cJSON *parent, *cur = NULL, *last;

    t->p += aot ? 2 : 1;
    if (read_key(t, &k) < 0)
        goto out;
    if (!(aot ? starts(t, "]]") : starts(t, "]"))) {
        tfail(t, "expected '%s' to close the table header", aot ? "]]" : "]");
        goto out;
    }
    t->p += aot ? 2 : 1;
    parent = descend(t, root, &k, k.n - 1, 1);
    if (!parent)
        goto out;
    last = cJSON_GetObjectItemCaseSensitive(parent, k.part[k.n - 1]);
    if (aot) {
        if (!last)
            last = xjson(cJSON_AddArrayToObject(parent, k.part[k.n - 1]));
        else if (!cJSON_IsArray(last) || is_closed(t, last)) {
            tfail(t, "'%s' is not an array of tables", k.part[k.n - 1]);
            goto out;
        }
        cur = xjson(cJSON_CreateObject());
        cJSON_AddItemToArray(last, cur);
    } else {
        if (!last) {
            cur = xjson(cJSON_AddObjectToObject(parent, k.part[k.n - 1]));
        } else if (!cJSON_IsObject(last) || is_closed(t, last)) {
            tfail(t, "table '%s' is defined twice", k.part[k.n - 1]);
            goto out;
        } else {
            cur = last; /* created implicitly by a deeper header: now defined */
        }
    }
    if (close_table(t, cur) < 0) {
        cur = NULL;
        goto out;
    }
    if (end_of_line(t) < 0)
        cur = NULL;
out:
    key_release(&k);
    return cur;
}

cJSON *
cli_toml_parse(const char *path, const char *text, size_t len, struct app_err *err)
{
    struct tp *t = xcalloc(1, sizeof(*t));
    cJSON *root = xjson(cJSON_CreateObject()), *table = root, *ret = NULL;

    t->path = path;
    t->p = text;
    t->end = text + len;
    t->line = 1;
    t->err = err;
    if (memchr(text, '\0', len)) {
        tfail(t, "not a text file");
        goto out;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        t->p += 3;
    for (;;) {
        skip_all(t);
        if (t->p >= t->end)
            break;
        if (*t->p == '[') {
            table = read_header(t, root);
            if (!table)
                goto out;
            continue;
        }
        if (read_keyval(t, table, 0) < 0 || end_of_line(t) < 0)
            goto out;
    }
    ret = root;
    root = NULL;
out:
    cJSON_Delete(root);
    free(t);
    return ret;
}
