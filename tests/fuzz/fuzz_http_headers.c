/* tests/fuzz/fuzz_http_headers.c: libFuzzer target for the download headers
 * (server/headers.c): Accept-Encoding, If-None-Match and Range read from the input.
 *
 * Checked: a satisfiable range lies inside the representation (start + len <=
 * size, len > 0); an empty representation never yields a range; the readers never
 * read past the string (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"
#include "server/headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    static const uint64_t sizes[] = {0, 1, 100, 1ull << 40, UINT64_MAX};
    char *h = xstrndup((const char *)data, size);

    (void)srv_accepts_zstd(h);
    (void)srv_none_match(h, hex);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t start = 0, len = 0;
        int rc = srv_parse_range(h, sizes[i], &start, &len);

        if (rc < -1 || rc > 1)
            abort();
        if (rc == 1 && (len == 0 || start >= sizes[i] || len > sizes[i] - start))
            abort();
    }
    free(h);
    return 0;
}
