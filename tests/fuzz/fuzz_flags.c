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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N(a) (sizeof(a) / sizeof(*(a)))

static struct flag_implied imp_20250116[1], imp_workflows[1], imp_snapshot[1], imp_rng[1];
static struct flag_def seed[12];
static int today;

static int
D(const char *s)
{
    int d;

    if (date_parse(s, &d) < 0)
        abort();
    return d;
}

static void
seed_init(void)
{
    today = D("2026-11-25");
    imp_20250116[0] = (struct flag_implied){"python_workers", D("2025-09-29")};
    imp_workflows[0] = (struct flag_implied){"python_workers", D("2025-09-20")};
    imp_snapshot[0] = (struct flag_implied){"python_workers_20250116", D("2025-10-16")};
    imp_rng[0] = (struct flag_implied){"python_workers", D("2025-12-16")};
    seed[0] = (struct flag_def){.name = "python_workers", .bundle_order = 1};
    seed[1] = (struct flag_def){.name = "python_workers_20250116",
                                .disable = "no_python_workers_20250116",
                                .implied = imp_20250116,
                                .n_implied = 1,
                                .bundle_order = 2};
    seed[2] = (struct flag_def){.name = "python_workers_20260610",
                                .disable = "no_python_workers_20260610",
                                .bundle_order = 3};
    seed[3] = (struct flag_def){.name = "python_workers_20260817",
                                .disable = "no_python_workers_20260817",
                                .experimental = 1,
                                .bundle_order = 4};
    seed[4] = (struct flag_def){.name = "python_no_global_handlers",
                                .disable = "disable_python_no_global_handlers",
                                .has_enable_date = 1,
                                .enable_date = D("2025-08-14")};
    seed[5] = (struct flag_def){.name = "python_workflows",
                                .disable = "disable_python_workflows",
                                .implied = imp_workflows,
                                .n_implied = 1};
    seed[6] = (struct flag_def){.name = "python_dedicated_snapshot",
                                .disable = "disable_python_dedicated_snapshot",
                                .implied = imp_snapshot,
                                .n_implied = 1};
    seed[7] = (struct flag_def){.name = "python_check_rng_state",
                                .disable = "disable_python_check_rng_state",
                                .implied = imp_rng,
                                .n_implied = 1};
    seed[8] = (struct flag_def){.name = "python_request_headers_preserve_commas",
                                .disable = "disable_python_request_headers_preserve_commas",
                                .has_enable_date = 1,
                                .enable_date = D("2026-02-17")};
    seed[9] = (struct flag_def){.name = "formdata_parser_supports_files",
                                .disable = "formdata_parser_converts_files_to_strings",
                                .has_enable_date = 1,
                                .enable_date = D("2021-11-03")};
    seed[10] = (struct flag_def){.name = "fetch_refuses_unknown_protocols",
                                 .disable = "fetch_treats_unknown_protocols_as_http",
                                 .has_enable_date = 1,
                                 .enable_date = D("2021-11-10")};
    seed[11] = (struct flag_def){.name = "nodejs_compat", .disable = "no_nodejs_compat"};
}

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
        for (size_t i = 0; i < N(seed); i++)
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

    if (!seed[0].name)
        seed_init();
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

    rc = flag_compile(seed, N(seed), &in, &r);
    if ((rc == 0) != (r.n_errors == 0))
        abort();
    check(&r);
    flag_result_release(&r);
    free(parts);
    free(text);
    return 0;
}
