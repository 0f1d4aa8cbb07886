/* tests/fuzz/fuzz_flags.c: libFuzzer target for the date+flags compiler.
 *
 * The input is text: the first line is the compatibility date, the others are flag
 * names; the first byte's low bit is allow_experimental. They are compiled against
 * the seed flags of DESIGN §13 with today fixed at 2026-11-25, and the result is
 * checked for the invariants flag.h promises (sorted output, ordered errors, a
 * bundle that is enabled and has the highest order).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/mem.h"
#include "flags/flag.h"
#include "tests/lib/fixtures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seed flags (tests/lib/fixtures, one copy), made on the first input. */
static struct flag_def *seed;
static size_t n_seed;
static int today;

static void
check(const struct flag_result *r)
{
    for (size_t i = 1; i < r->n_enabled; i++)
        if (strcmp(r->enabled[i - 1], r->enabled[i]) >= 0)
            abort();
    for (size_t i = 1; i < r->n_errors; i++) {
        const struct flag_issue *a = &r->errors[i - 1], *b = &r->errors[i];

        if (a->kind > b->kind || (a->kind == b->kind && strcmp(a->name, b->name) > 0))
            abort();
    }
    for (size_t i = 0; i < r->n_errors; i++)
        if (r->errors[i].kind == FLAG_REDUNDANT ||
            strcmp(r->errors[i].code, flag_kind_code(r->errors[i].kind)) != 0)
            abort();
    for (size_t i = 0; i < r->n_warnings; i++)
        if (r->warnings[i].kind != FLAG_REDUNDANT)
            abort();
    if (r->bundle) {
        if (!flag_result_has(r, r->bundle->name))
            abort();
        for (size_t i = 0; i < n_seed; i++)
            if (seed[i].bundle_order > r->bundle->bundle_order && flag_result_has(r, seed[i].name))
                abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct flag_input in = {0};
    struct flag_result r;
    char *text, **parts = NULL;
    size_t n = 0;
    int rc;

    if (!seed) {
        seed = fx_seed_flags(&n_seed);
        today = fx_day(FX_TODAY);
    }
    text = xstrndup((const char *)data, size); /* stops at a NUL byte */
    for (char *p = text, *nl;; p = nl + 1) {
        parts = xrealloc(parts, (n + 1) * sizeof(*parts));
        parts[n++] = p;
        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
    }
    in.date = parts[0];
    in.flags = (const char *const *)(parts + 1);
    in.n_flags = n - 1;
    in.allow_experimental = size > 0 && (data[0] & 1);
    in.today = today;

    rc = flag_compile(seed, n_seed, &in, &r);
    if ((rc == 0) != (r.n_errors == 0))
        abort();
    check(&r);
    flag_result_release(&r);
    free(parts);
    free(text);
    return 0;
}
