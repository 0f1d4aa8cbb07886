/* tests/fuzz/fuzz_wasm.c: libFuzzer target for the streaming Wasm reader.
 *
 * The first input byte picks a chunk size (1..256); the rest is the module. It is
 * parsed twice, as one buffer and fed in chunks, and both must agree: the same
 * verdict, the same error message, the same facts. Facts must also be internally
 * consistent (section entries lie within the module, in order, and the size is
 * the input length). Seeds: any .wasm/.so, e.g. the side module in test_wasm.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/json.h"
#include "artifacts/wasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_facts(const cJSON *f, size_t n)
{
    const cJSON *s, *secs = cJSON_GetObjectItemCaseSensitive(f, "sections");
    double end = 8;

    if ((size_t)cJSON_GetObjectItemCaseSensitive(f, "size")->valuedouble != n)
        abort();
    cJSON_ArrayForEach (s, secs) {
        double off = cJSON_GetObjectItemCaseSensitive(s, "offset")->valuedouble;
        double sz = cJSON_GetObjectItemCaseSensitive(s, "size")->valuedouble;

        if (off <= end || off + sz > (double)n)
            abort();
        end = off + sz;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct app_err e1 = {0}, e2 = {0};
    struct art_wasm *w;
    cJSON *f1 = NULL, *f2 = NULL;
    size_t step;
    int r1, r2 = 0;

    if (size < 1)
        return 0;
    step = (size_t)data[0] + 1;
    data++;
    size--;
    r1 = art_wasm_parse(data, size, &f1, &e1);
    w = art_wasm_new();
    for (size_t off = 0; off < size && r2 == 0; off += step)
        r2 = art_wasm_feed(w, data + off, size - off < step ? size - off : step, &e2);
    if (r2 == 0)
        r2 = art_wasm_finish(w, &f2, &e2);
    art_wasm_free(w);
    if (r1 != r2 || (r1 < 0 && strcmp(e1.msg, e2.msg) != 0))
        abort();
    if (r1 == 0) {
        char *a = json_canonical(f1, NULL), *b = json_canonical(f2, NULL);

        if (strcmp(a, b) != 0)
            abort();
        check_facts(f1, size);
        free(a);
        free(b);
    } else if (e1.code != APP_EUNPROCESSABLE || f1 || f2) {
        abort();
    }
    cJSON_Delete(f1);
    cJSON_Delete(f2);
    app_err_release(&e1);
    app_err_release(&e2);
    return 0;
}
