/* tests/fuzz/fuzz_query.c: libFuzzer target for the query-string parser and the
 * percent-decoder (app/query.h), and the URL segment encoder (app/url.h).
 *
 * A parsed query has at most SRV_MAX_QUERY_PARAMS distinct keys of valid UTF-8
 * without NUL; encoding a segment and decoding it once gives the original back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/err.h"
#include "app/jsonstrict.h"
#include "app/mem.h"
#include "app/query.h"
#include "app/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    struct query_tab t;
    struct app_err err = {0};

    memcpy(s, data, size);
    s[size] = '\0';
    if (query_parse(s, &t, &err) == 0) {
        if (t.n > SRV_MAX_QUERY_PARAMS)
            abort();
        for (size_t i = 0; i < t.n; i++) {
            if (!utf8_valid(t.keys[i], strlen(t.keys[i])) ||
                !utf8_valid(t.vals[i], strlen(t.vals[i])))
                abort();
            for (size_t j = i + 1; j < t.n; j++)
                if (strcmp(t.keys[i], t.keys[j]) == 0)
                    abort();
            if (query_get(&t, t.keys[i]) != t.vals[i])
                abort();
        }
        query_release(&t);
    } else if (err.code != APP_EINVAL && err.code != APP_EURI) {
        abort();
    }
    app_err_release(&err);
    {
        char *enc = url_encode_segment(s);
        char *dec = pct_decode(enc, strlen(enc), 0);

        if (strpbrk(enc, "/?# \\"))
            abort(); /* only escapes, never a raw delimiter */
        if (!dec || strcmp(dec, s) != 0)
            abort();
        free(enc);
        free(dec);
    }
    free(s);
    return 0;
}
