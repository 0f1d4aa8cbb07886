/* tests/fuzz/fuzz_route.c: libFuzzer target for request paths (server/route.c): the
 * input is split and percent-decoded as a path and matched against almanac's route
 * patterns.
 *
 * Checked: a split path has at most SRV_MAX_SEGMENTS segments, none holding a NUL;
 * a match yields as many parameters as the pattern has, each non-empty and a plain
 * segment yields no "/"; a failed split or match leaves nothing allocated (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"
#include "server/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    const char *pattern;
    size_t n_params;
} patterns[] = {
    {"/v1/health", 0},
    {"/v1/flags/{name}", 1},
    {"/v1/package-sets/{id+}", 1},
    {"/v1/package-sets/{id+}/publish", 1},
    {"/v1/package-sets/{id+}/pyodide-lock.json", 1},
    {"/v1/artifacts/sha256/{hex}/file/{name}", 2},
    {"/v1/workers/{name}/history", 1},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = xstrndup((const char *)data, size);
    struct srv_segs g;
    char *dec;

    dec = srv_segment_decode((const char *)data, size);
    if (dec && memchr(data, 0, size) == NULL && strlen(dec) > size)
        abort();
    free(dec);
    if (srv_path_split(path, &g) == 0) {
        if (g.n > SRV_MAX_SEGMENTS)
            abort();
        for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
            char *params[SRV_MAX_PARAMS];
            size_t n = 0;

            if (!srv_route_match(patterns[i].pattern, &g, params, &n)) {
                if (n != 0)
                    abort();
                continue;
            }
            if (n != patterns[i].n_params)
                abort();
            for (size_t k = 0; k < n; k++) {
                if (!params[k][0])
                    abort();
                free(params[k]);
            }
        }
        srv_segs_release(&g);
    }
    free(path);
    return 0;
}
