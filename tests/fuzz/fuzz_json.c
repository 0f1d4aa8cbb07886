/* tests/fuzz/fuzz_json.c: libFuzzer target for the strict JSON check at the door.
 *
 * Whatever json_strict_check accepts, cJSON must parse completely, the document must
 * hold only valid UTF-8 strings, finite numbers and no repeated keys, and its
 * canonical form must pass the strict check again. Everything is freed.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "app/json.h"
#include "app/jsonstrict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk(const cJSON *v)
{
    for (const cJSON *c = v->child; c; c = c->next) {
        if (c->string && !utf8_valid(c->string, strlen(c->string)))
            abort();
        if (cJSON_IsString(c) && !utf8_valid(c->valuestring, strlen(c->valuestring)))
            abort();
        if (cJSON_IsNumber(c) && !isfinite(c->valuedouble))
            abort();
        if (c->string && cJSON_IsObject(v))
            for (const cJSON *d = c->next; d; d = d->next)
                if (d->string && strcmp(c->string, d->string) == 0)
                    abort();
        walk(c);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct app_err err = {0};
    cJSON *v;

    if (json_strict_check((const char *)data, size, &err) < 0) {
        if (err.code != APP_EINVAL)
            abort();
        app_err_release(&err);
        return 0;
    }
    v = json_parse((const char *)data, size, &err);
    if (!v) {
        /* cJSON refuses deeper nesting than its own limit; nothing else. */
        app_err_release(&err);
        return 0;
    }
    if (cJSON_IsString(v) && !utf8_valid(v->valuestring, strlen(v->valuestring)))
        abort();
    walk(v);
    {
        size_t len = 0;
        char *canon = json_canonical(v, &len);

        if (!canon || json_strict_check(canon, len, &err) < 0)
            abort();
        free(canon);
    }
    cJSON_Delete(v);
    app_err_release(&err);
    return 0;
}
