/* tests/fuzz/fuzz_req.c: libFuzzer target for the requirements parser.
 *
 * The input is a requirements.txt blob: split into lines, parsed, every parsed
 * requirement checked against a version taken from the input, and the version
 * order probed for the properties a comparator must have; the canonical form of
 * each requirement parses back to itself. Everything is freed.
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
            if (reqs[i].n_specs > REQ_MAX_SPECS || reqs[i].n_extras > REQ_MAX_EXTRAS)
                abort();
            /* The canonical form parses back to itself (a lock's requirements are
             * stable), and stays within the line limit's order of size. */
            {
                char *canon = req_canonical(&reqs[i]);
                const char *one[1] = {canon};
                struct req *back = NULL;
                size_t n_back = 0;
                struct app_err e2 = {0};

                if (req_parse_lines(one, 1, &back, &n_back, &e2) == 0) {
                    char *again;

                    if (n_back != 1)
                        abort();
                    again = req_canonical(&back[0]);
                    if (strcmp(again, canon) != 0)
                        abort();
                    free(again);
                } else if (strlen(canon) <= REQ_LINE_MAX) {
                    abort(); /* a canonical line within the limit must parse */
                }
                req_free_all(back, n_back);
                app_err_release(&e2);
                free(canon);
            }
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
