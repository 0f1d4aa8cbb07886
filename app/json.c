/* app/json.c: canonical serialization and typed accessors over cJSON. */
#include "app/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/jsonstrict.h"
#include "app/mem.h"

static int emit(struct buf *b, const cJSON *v);

static int
emit_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;

    if (buf_puts(b, "\"") < 0)
        return -1;
    for (; *p; p++) {
        char esc[7];
        const char *out = NULL;

        switch (*p) {
        case '"': out = "\\\""; break;
        case '\\': out = "\\\\"; break;
        case '\b': out = "\\b"; break;
        case '\f': out = "\\f"; break;
        case '\n': out = "\\n"; break;
        case '\r': out = "\\r"; break;
        case '\t': out = "\\t"; break;
        default:
            if (*p < 0x20) {
                esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0';
                esc[4] = hex[*p >> 4], esc[5] = hex[*p & 15], esc[6] = '\0';
                out = esc;
            }
        }
        if (out ? buf_puts(b, out) : buf_append(b, p, 1))
            return -1;
    }
    return buf_puts(b, "\"");
}

static int
cmp_keys(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

    return strcmp(x->string, y->string);
}

static int
emit_object(struct buf *b, const cJSON *v)
{
    size_t n = 0, i = 0;
    const cJSON *c;
    const cJSON **kids;
    int ret = -1;

    for (c = v->child; c; c = c->next)
        n++;
    kids = xcalloc(n, sizeof(*kids));
    for (c = v->child; c; c = c->next)
        kids[i++] = c;
    qsort(kids, n, sizeof(*kids), cmp_keys);
    if (buf_puts(b, "{") < 0)
        goto out;
    for (i = 0; i < n; i++) {
        if ((i && buf_puts(b, ",") < 0) || emit_string(b, kids[i]->string) < 0 ||
            buf_puts(b, ":") < 0 || emit(b, kids[i]) < 0)
            goto out;
    }
    ret = buf_puts(b, "}");
out:
    free(kids);
    return ret;
}

static int
emit(struct buf *b, const cJSON *v)
{
    if (cJSON_IsNull(v))
        return buf_puts(b, "null");
    if (cJSON_IsFalse(v))
        return buf_puts(b, "false");
    if (cJSON_IsTrue(v))
        return buf_puts(b, "true");
    if (cJSON_IsString(v))
        return emit_string(b, v->valuestring);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            return buf_printf(b, "%lld", (long long)d);
        return buf_printf(b, "%.17g", d);
    }
    if (cJSON_IsArray(v)) {
        int first = 1;

        if (buf_puts(b, "[") < 0)
            return -1;
        for (const cJSON *c = v->child; c; c = c->next) {
            if ((!first && buf_puts(b, ",") < 0) || emit(b, c) < 0)
                return -1;
            first = 0;
        }
        return buf_puts(b, "]");
    }
    if (cJSON_IsObject(v))
        return emit_object(b, v);
    return buf_puts(b, "null");
}

char *
json_canonical(const cJSON *v, size_t *len)
{
    struct buf b;

    buf_init(&b, 0);
    if (emit(&b, v) < 0) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, len);
}

cJSON *
json_parse(const char *s, size_t len, struct app_err *err)
{
    const char *end = NULL;
    cJSON *v;

    if (len == 0) {
        app_fail(err, APP_EINVAL, "request body is empty, expected JSON");
        return NULL;
    }
    /* Strict first: UTF-8, finite numbers, no NUL, no repeated keys (jsonstrict.h). */
    if (json_strict_check(s, len, err) < 0)
        return NULL;
    v = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!v) {
        size_t at = end && end >= s ? (size_t)(end - s) : 0;

        app_fail(err, APP_EINVAL, "request body is not valid JSON (near byte %zu)", at);
        return NULL;
    }
    /* Trailing garbage after the value is also malformed. */
    while (end && (size_t)(end - s) < len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && (size_t)(end - s) < len) {
        cJSON_Delete(v);
        app_fail(err, APP_EINVAL, "request body has trailing data after the JSON value");
        return NULL;
    }
    return v;
}

static const cJSON *
field(const cJSON *obj, const char *key, int required, struct app_err *err, int *missing)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *missing = !v || cJSON_IsNull(v);
    if (*missing && required)
        app_fail(err, APP_EINVAL, "field '%s' is required", key);
    return v;
}

int
json_string(const cJSON *obj, const char *key, int required, const char **out, struct app_err *err)
{
    int missing;
    const cJSON *v = field(obj, key, required, err, &missing);

    *out = NULL;
    if (missing)
        return required ? -1 : 0;
    if (!cJSON_IsString(v))
        return app_fail(err, APP_EINVAL, "field '%s' must be a string", key);
    *out = v->valuestring;
    return 0;
}

int
json_bool(const cJSON *obj, const char *key, int required, int *out, struct app_err *err)
{
    int missing;
    const cJSON *v = field(obj, key, required, err, &missing);

    *out = 0;
    if (missing)
        return required ? -1 : 0;
    if (!cJSON_IsBool(v))
        return app_fail(err, APP_EINVAL, "field '%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int
json_int(const cJSON *obj, const char *key, int required, long long *out, struct app_err *err)
{
    int missing;
    const cJSON *v = field(obj, key, required, err, &missing);

    *out = 0;
    if (missing)
        return required ? -1 : 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 9007199254740991.0)
        return app_fail(err, APP_EINVAL, "field '%s' must be an integer", key);
    *out = (long long)v->valuedouble;
    return 0;
}

int
json_string_array(const cJSON *obj, const char *key, int required, const cJSON **out,
                  struct app_err *err)
{
    int missing;
    const cJSON *v = field(obj, key, required, err, &missing);
    const cJSON *c;

    *out = NULL;
    if (missing)
        return required ? -1 : 0;
    if (!cJSON_IsArray(v))
        return app_fail(err, APP_EINVAL, "field '%s' must be an array of strings", key);
    cJSON_ArrayForEach (c, v) {
        if (!cJSON_IsString(c))
            return app_fail(err, APP_EINVAL, "field '%s' must be an array of strings", key);
    }
    *out = v;
    return 0;
}

void
json_add_str_or_null(cJSON *obj, const char *key, const char *s)
{
    if (s)
        xjson(cJSON_AddStringToObject(obj, key, s));
    else
        xjson(cJSON_AddNullToObject(obj, key));
}

const char *
json_str_item(const cJSON *obj, const char *key)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}
