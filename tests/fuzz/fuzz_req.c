/* tests/fuzz/fuzz_req.c: libFuzzer target for the requirements parser.
 *
 * The input is a requirements.txt blob: split into lines, parsed, every parsed
 * requirement checked against a version taken from the input, and the version
 * order probed for the properties a comparator must have. Everything is freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/err.h"
#include "app/mem.h"
#include "app/strv.h"
#include "catalog/req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
sgn(int c)
{
    return (c > 0) - (c < 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct app_err err = {0};
    struct req *reqs = NULL;
    char **lines = NULL;
    size_t n_lines = 0, n_reqs = 0;

    if (req_split_text((const char *)data, size, &lines, &n_lines, &err) < 0) {
        app_err_release(&err);
        return 0;
    }
    if (req_parse_lines((const char *const *)lines, n_lines, &reqs, &n_reqs, &err) == 0) {
        for (size_t i = 0; i < n_reqs; i++) {
            const struct req_spec *failed = NULL;
            const char *v = lines[i % n_lines];
            int ok = req_check(&reqs[i], v, &failed);

            if (!ok &&
                (!failed || failed < reqs[i].specs || failed >= reqs[i].specs + reqs[i].n_specs))
                abort();
            for (size_t k = 0; k < reqs[i].n_specs; k++)
                if (!req_version_valid(reqs[i].specs[k].version))
                    abort();
        }
    } else if (err.code != APP_EUNPROCESSABLE || !err.errors) {
        abort();
    }
    req_free_all(reqs, n_reqs);
    app_err_release(&err);

    /* the version order is reflexive and antisymmetric, and transitive on triples */
    for (size_t i = 0; i + 2 < n_lines; i++) {
        const char *a = lines[i], *b = lines[i + 1], *c = lines[i + 2];
        int ab = sgn(req_version_cmp(a, b)), bc = sgn(req_version_cmp(b, c));
        int ac = sgn(req_version_cmp(a, c));

        if (req_version_cmp(a, a) != 0 || ab != -sgn(req_version_cmp(b, a)))
            abort();
        if (ab <= 0 && bc <= 0 && ac > 0)
            abort();
        if (ab >= 0 && bc >= 0 && ac < 0)
            abort();
    }
    {
        char *n = n_lines ? req_normalize(lines[0]) : NULL;
        char *nn = n ? req_normalize(n) : NULL;

        if (n && strcmp(n, nn) != 0) /* normalizing twice changes nothing */
            abort();
        free(n);
        free(nn);
    }
    strv_free(lines, n_lines);
    return 0;
}
