/* tests/unit/test_flags.c: the date+flags compiler (flags/flag.c) against DESIGN §3
 * and §4, on the seed flags of DESIGN §13 and on small made-up catalogs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "flags/flag.h"
#include "tests/lib/fixtures.h"
#include "tests/lib/unit.h"

#define N(a) (sizeof(a) / sizeof(*(a)))

static int
D(const char *s)
{
    int d = 0;

    ck_assert_msg(date_parse(s, &d) == 0, "fixture date %s", s);
    return d;
}

static int today; /* 2026-11-25, the day DESIGN §15 was measured */

/* ---- the seed flags of DESIGN §13 (tests/lib/fixtures, one copy) ------------- */

static struct flag_def *seed;
static size_t n_seed;

static void
seed_setup(void)
{
    today = fx_day(FX_TODAY);
    seed = fx_seed_flags(&n_seed);
}

static void
seed_teardown(void)
{
    fx_flags_free(seed, n_seed);
    seed = NULL;
}

/* Compile date + a NULL-terminated flag list against defs. */
static int
compile_in(const struct flag_def *defs, size_t n_defs, const char *date, int allow,
           const char *const *flags, struct flag_result *r)
{
    struct flag_input in = {date, flags, 0, allow, today};

    while (flags && flags[in.n_flags])
        in.n_flags++;
    return flag_compile(defs, n_defs, &in, r);
}

static int
compile(const char *date, const char *const *flags, struct flag_result *r)
{
    return compile_in(seed, n_seed, date, 0, flags, r);
}

#define FLAGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOFLAGS ((const char *const[]){NULL})

static void
assert_only_error(const struct flag_result *r, const char *code, const char *name)
{
    ck_assert_uint_eq(r->n_errors, 1);
    ck_assert_str_eq(r->errors[0].code, code);
    ck_assert_str_eq(r->errors[0].name, name);
}

/* ---- §3.1 dates ---------------------------------------------------------------- */

START_TEST(test_dates_valid)
{
    static const char *const ok[] = {"2024-02-29", "2000-01-01", "2026-11-25", "2000-02-29",
                                     "2021-04-30"};

    for (size_t i = 0; i < N(ok); i++) {
        struct flag_result r;

        ck_assert_msg(compile(ok[i], NOFLAGS, &r) == 0, "%s", ok[i]);
        ck_assert_uint_eq(r.n_errors, 0);
        ck_assert_int_eq(r.date, D(ok[i]));
        flag_result_release(&r);
    }
}
END_TEST

START_TEST(test_dates_invalid)
{
    static const char *const bad[] = {
        "2023-02-29", "2021-04-31",  "1999-12-31", "3000-01-01", "2024-1-01",  " 2024-01-01",
        "2024/01/01", "2024-01-01x", "",           "2024-00-10", "2024-13-01", "2024-01-00",
        "2100-02-29", "2024-01-01 ", "20240101",   "2024-01-1",  "+024-01-01", "2024–01–01",
    };

    for (size_t i = 0; i < N(bad); i++) {
        struct flag_result r;
        char quoted[64];

        ck_assert_msg(compile(bad[i], NOFLAGS, &r) == -1, "'%s' accepted", bad[i]);
        assert_only_error(&r, "invalid_date", bad[i]);
        ck_assert_int_eq(r.errors[0].kind, FLAG_INVALID_DATE);
        snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
        ck_assert_ptr_nonnull(strstr(r.errors[0].message, quoted));
        /* no date, so nothing is on by date */
        ck_assert_uint_eq(r.n_enabled, 0);
        ck_assert_ptr_null(r.bundle);
        flag_result_release(&r);
    }
}
END_TEST

START_TEST(test_date_missing)
{
    struct flag_result r;

    ck_assert_int_eq(compile(NULL, NOFLAGS, &r), -1);
    assert_only_error(&r, "invalid_date", "");
    ck_assert_str_eq(r.errors[0].message, "compatibility date is missing");
    flag_result_release(&r);
}
END_TEST

START_TEST(test_date_in_future)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2031-01-01", NOFLAGS, &r), -1);
    assert_only_error(&r, "date_in_future", "2031-01-01");
    ck_assert_int_eq(r.errors[0].kind, FLAG_DATE_IN_FUTURE);
    ck_assert_str_eq(r.errors[0].message,
                     "compatibility date '2031-01-01' is in the future (today is 2026-11-25 UTC)");
    flag_result_release(&r);

    /* today itself is fine, tomorrow is not */
    ck_assert_int_eq(compile("2026-11-25", NOFLAGS, &r), 0);
    flag_result_release(&r);
    ck_assert_int_eq(compile("2026-11-26", NOFLAGS, &r), -1);
    assert_only_error(&r, "date_in_future", "2026-11-26");
    flag_result_release(&r);

    /* the message follows the injected today */
    today = D("2025-01-02");
    ck_assert_int_eq(compile("2025-01-03", NOFLAGS, &r), -1);
    ck_assert_ptr_nonnull(strstr(r.errors[0].message, "(today is 2025-01-02 UTC)"));
    flag_result_release(&r);
}
END_TEST

/* ---- §3.2 names --------------------------------------------------------------- */

START_TEST(test_unknown_with_suggestion)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-01-01", FLAGS("pyton_workers"), &r), -1);
    assert_only_error(&r, "unknown_flag", "pyton_workers");
    ck_assert_int_eq(r.errors[0].kind, FLAG_UNKNOWN);
    ck_assert_str_eq(r.errors[0].suggestion, "python_workers");
    ck_assert_str_eq(r.errors[0].message,
                     "unknown flag 'pyton_workers', did you mean 'python_workers'?");
    flag_result_release(&r);

    /* disable names are suggested too */
    ck_assert_int_eq(compile("2025-01-01", FLAGS("no_nodejs_compt"), &r), -1);
    ck_assert_str_eq(r.errors[0].suggestion, "no_nodejs_compat");
    flag_result_release(&r);

    /* nothing close: no suggestion, and the message says only what is wrong */
    ck_assert_int_eq(compile("2025-01-01", FLAGS("zzz"), &r), -1);
    assert_only_error(&r, "unknown_flag", "zzz");
    ck_assert_ptr_null(r.errors[0].suggestion);
    ck_assert_str_eq(r.errors[0].message, "unknown flag 'zzz'");
    flag_result_release(&r);

    /* the empty name is a name like any other */
    ck_assert_int_eq(compile("2025-01-01", FLAGS(""), &r), -1);
    assert_only_error(&r, "unknown_flag", "");
    flag_result_release(&r);
}
END_TEST

START_TEST(test_edit_distance_and_suggest)
{
    ck_assert_uint_eq(flag_edit_distance("kitten", "sitting"), 3);
    ck_assert_uint_eq(flag_edit_distance("", "abc"), 3);
    ck_assert_uint_eq(flag_edit_distance("abc", ""), 3);
    ck_assert_uint_eq(flag_edit_distance("same", "same"), 0);
    ck_assert_uint_eq(flag_edit_distance("nodejs_compat", "nodejs_compta"), 2);

    ck_assert_str_eq(flag_suggest(seed, n_seed, "nodejs_compt"), "nodejs_compat");
    ck_assert_str_eq(flag_suggest(seed, n_seed, "Python_Workers"), "python_workers");
    /* limit max(2, len/3): "nodejs" is 7 edits from "nodejs_compat" */
    ck_assert_ptr_null(flag_suggest(seed, n_seed, "nodejs"));
    ck_assert_ptr_null(flag_suggest(seed, n_seed, "ab"));
    ck_assert_ptr_null(flag_suggest(NULL, 0, "anything"));
}
END_TEST

START_TEST(test_duplicate)
{
    struct flag_result r;

    /* three times is still one error */
    ck_assert_int_eq(
        compile("2025-01-01", FLAGS("nodejs_compat", "nodejs_compat", "nodejs_compat"), &r), -1);
    assert_only_error(&r, "duplicate_flag", "nodejs_compat");
    ck_assert_int_eq(r.errors[0].kind, FLAG_DUPLICATE);
    ck_assert_str_eq(r.errors[0].message, "flag 'nodejs_compat' is given more than once");
    ck_assert(flag_result_has(&r, "nodejs_compat"));
    flag_result_release(&r);

    /* an unknown name twice: one unknown_flag and one duplicate_flag */
    ck_assert_int_eq(compile("2025-01-01", FLAGS("nope", "nope"), &r), -1);
    ck_assert_uint_eq(r.n_errors, 2);
    ck_assert_str_eq(r.errors[0].code, "unknown_flag");
    ck_assert_str_eq(r.errors[1].code, "duplicate_flag");
    flag_result_release(&r);

    /* a disable name twice */
    ck_assert_int_eq(compile("2025-01-01", FLAGS("no_nodejs_compat", "no_nodejs_compat"), &r), -1);
    assert_only_error(&r, "duplicate_flag", "no_nodejs_compat");
    flag_result_release(&r);
}
END_TEST

START_TEST(test_contradictory)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-01-01", FLAGS("no_nodejs_compat", "nodejs_compat"), &r), -1);
    assert_only_error(&r, "contradictory_flags", "nodejs_compat");
    ck_assert_int_eq(r.errors[0].kind, FLAG_CONTRADICTORY);
    ck_assert_str_eq(r.errors[0].message,
                     "flag 'nodejs_compat' is both enabled and disabled (as 'no_nodejs_compat')");
    flag_result_release(&r);
}
END_TEST

START_TEST(test_experimental)
{
    struct flag_result r;
    const char *const *f = FLAGS("python_workers", "python_zstd_snapshot");

    ck_assert_int_eq(compile("2026-10-01", f, &r), -1);
    assert_only_error(&r, "experimental_flag", "python_zstd_snapshot");
    ck_assert_int_eq(r.errors[0].kind, FLAG_EXPERIMENTAL);
    ck_assert_ptr_nonnull(strstr(r.errors[0].message, "allow_experimental"));
    flag_result_release(&r);

    ck_assert_int_eq(compile_in(seed, n_seed, "2026-10-01", 1, f, &r), 0);
    ck_assert_uint_eq(r.n_errors, 0);
    ck_assert(flag_result_has(&r, "python_zstd_snapshot"));
    /* seed v2: python_workers implies python_workers_314 after 2026-09-08 */
    ck_assert_str_eq(r.bundle->name, "python_workers_314");
    ck_assert_int_eq(r.bundle->bundle_order, 4);
    flag_result_release(&r);

    /* disabling the implied bundle by name goes back to the one before */
    ck_assert_int_eq(compile("2026-10-01", FLAGS("python_workers", "no_python_workers_314"), &r),
                     0);
    ck_assert_str_eq(r.bundle->name, "python_workers_20250116");
    flag_result_release(&r);
}
END_TEST

START_TEST(test_experimental_on_by_date_or_implication)
{
    struct flag_implied imp[] = {{"base", D("2020-01-01")}};
    struct flag_def defs[] = {
        {.name = "base"},
        {.name = "exp_dated",
         .has_enable_date = 1,
         .enable_date = D("2020-01-01"),
         .experimental = 1},
        {.name = "exp_implied", .implied = imp, .n_implied = 1, .experimental = 1},
    };
    struct flag_result r;

    ck_assert_int_eq(compile_in(defs, N(defs), "2024-01-01", 0, FLAGS("base"), &r), 0);
    ck_assert(flag_result_has(&r, "exp_dated"));
    ck_assert(flag_result_has(&r, "exp_implied"));
    flag_result_release(&r);
}
END_TEST

/* Every kind at once: collected, ordered by kind then name. */
START_TEST(test_errors_collected_and_ordered)
{
    struct flag_result r;
    static const struct {
        const char *code, *name;
    } want[] = {
        {"date_in_future", "2030-05-05"},
        {"unknown_flag", "aaa_unknown"},
        {"unknown_flag", "zzz_unknown"},
        {"duplicate_flag", "nodejs_compat"},
        {"duplicate_flag", "zzz_unknown"},
        {"contradictory_flags", "nodejs_compat"},
        {"contradictory_flags", "python_workflows"},
        {"experimental_flag", "python_zstd_snapshot"},
    };

    ck_assert_int_eq(compile("2030-05-05",
                             FLAGS("zzz_unknown", "python_zstd_snapshot", "nodejs_compat",
                                   "disable_python_workflows", "no_nodejs_compat", "nodejs_compat",
                                   "aaa_unknown", "python_workflows", "zzz_unknown"),
                             &r),
                     -1);
    ck_assert_uint_eq(r.n_errors, N(want));
    for (size_t i = 0; i < N(want); i++) {
        ck_assert_str_eq(r.errors[i].code, want[i].code);
        ck_assert_str_eq(r.errors[i].name, want[i].name);
        ck_assert_str_eq(flag_kind_code(r.errors[i].kind), want[i].code);
    }
    flag_result_release(&r);
}
END_TEST

START_TEST(test_invalid_date_still_checks_names)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2023-02-29", FLAGS("python_workers", "nodejs_compat", "nodjs"), &r),
                     -1);
    ck_assert_uint_eq(r.n_errors, 2);
    ck_assert_str_eq(r.errors[0].code, "invalid_date");
    ck_assert_str_eq(r.errors[1].code, "unknown_flag");
    /* only the names given: no date defaults, no implications, no warnings */
    ck_assert_uint_eq(r.n_enabled, 2);
    ck_assert_str_eq(r.enabled[0], "nodejs_compat");
    ck_assert_str_eq(r.enabled[1], "python_workers");
    ck_assert_uint_eq(r.n_warnings, 0);
    ck_assert_str_eq(r.bundle->name, "python_workers");
    flag_result_release(&r);
}
END_TEST

/* ---- §3.3 what is on ----------------------------------------------------------- */

START_TEST(test_enable_date_boundary)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-08-13", NOFLAGS, &r), 0);
    ck_assert(!flag_result_has(&r, "python_no_global_handlers"));
    ck_assert(flag_result_has(&r, "formdata_parser_supports_files"));
    ck_assert(flag_result_has(&r, "fetch_refuses_unknown_protocols"));
    ck_assert_ptr_null(r.bundle);
    flag_result_release(&r);

    ck_assert_int_eq(compile("2025-08-14", NOFLAGS, &r), 0);
    ck_assert(flag_result_has(&r, "python_no_global_handlers"));
    flag_result_release(&r);

    ck_assert_int_eq(compile("2021-11-09", NOFLAGS, &r), 0);
    ck_assert_uint_eq(r.n_enabled, 1);
    ck_assert_str_eq(r.enabled[0], "formdata_parser_supports_files");
    flag_result_release(&r);
}
END_TEST

START_TEST(test_disable_blocks_date_default)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2024-01-01", FLAGS("formdata_parser_converts_files_to_strings"), &r),
                     0);
    ck_assert(!flag_result_has(&r, "formdata_parser_supports_files"));
    ck_assert(flag_result_has(&r, "fetch_refuses_unknown_protocols"));
    ck_assert_uint_eq(r.n_warnings, 0);
    flag_result_release(&r);
}
END_TEST

START_TEST(test_disable_blocks_implication)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-10-20", FLAGS("python_workers", "disable_python_workflows"), &r),
                     0);
    ck_assert(!flag_result_has(&r, "python_workflows"));
    ck_assert(flag_result_has(&r, "python_workers_20250116"));
    ck_assert(flag_result_has(&r, "python_dedicated_snapshot"));
    flag_result_release(&r);

    /* disabling the middle of a chain turns off what hangs from it */
    ck_assert_int_eq(
        compile("2025-10-20", FLAGS("python_workers", "no_python_workers_20250116"), &r), 0);
    ck_assert(!flag_result_has(&r, "python_workers_20250116"));
    ck_assert(!flag_result_has(&r, "python_dedicated_snapshot"));
    ck_assert(flag_result_has(&r, "python_workflows"));
    ck_assert_str_eq(r.bundle->name, "python_workers");
    flag_result_release(&r);
}
END_TEST

/* a <- b <- c, with a on by date: every definition order reaches the fixpoint. */
START_TEST(test_implication_chain_any_order)
{
    struct flag_implied ib[] = {{"a", D("2020-01-01")}}, ic[] = {{"b", D("2020-01-01")}};
    struct flag_def a = {.name = "a", .has_enable_date = 1, .enable_date = D("2020-01-01")};
    struct flag_def b = {.name = "b", .disable = "no_b", .implied = ib, .n_implied = 1};
    struct flag_def c = {.name = "c", .implied = ic, .n_implied = 1};
    struct flag_def forward[] = {a, b, c}, backward[] = {c, b, a}, mixed[] = {b, c, a};
    struct flag_def *orders[] = {forward, backward, mixed};

    for (size_t i = 0; i < N(orders); i++) {
        struct flag_result r;

        ck_assert_int_eq(compile_in(orders[i], 3, "2024-01-01", 0, NOFLAGS, &r), 0);
        ck_assert_uint_eq(r.n_enabled, 3);
        ck_assert_str_eq(r.enabled[0], "a");
        ck_assert_str_eq(r.enabled[1], "b");
        ck_assert_str_eq(r.enabled[2], "c");
        flag_result_release(&r);

        ck_assert_int_eq(compile_in(orders[i], 3, "2024-01-01", 0, FLAGS("no_b"), &r), 0);
        ck_assert_uint_eq(r.n_enabled, 1);
        ck_assert_str_eq(r.enabled[0], "a");
        flag_result_release(&r);

        /* before a's date nothing is on */
        ck_assert_int_eq(compile_in(orders[i], 3, "2019-12-31", 0, NOFLAGS, &r), 0);
        ck_assert_uint_eq(r.n_enabled, 0);
        flag_result_release(&r);
    }
}
END_TEST

START_TEST(test_implication_cycle_terminates)
{
    struct flag_implied ia[] = {{"b", D("2020-01-01")}}, ib[] = {{"a", D("2020-01-01")}};
    struct flag_implied iself[] = {{"self", D("2020-01-01")}};
    struct flag_implied ighost[] = {{"not_defined", D("2020-01-01")}};
    struct flag_def defs[] = {
        {.name = "a", .implied = ia, .n_implied = 1},
        {.name = "b", .implied = ib, .n_implied = 1},
        {.name = "self", .implied = iself, .n_implied = 1},
        {.name = "ghost", .implied = ighost, .n_implied = 1},
    };
    struct flag_result r;

    ck_assert_int_eq(compile_in(defs, N(defs), "2024-01-01", 0, NOFLAGS, &r), 0);
    ck_assert_uint_eq(r.n_enabled, 0);
    flag_result_release(&r);

    ck_assert_int_eq(compile_in(defs, N(defs), "2024-01-01", 0, FLAGS("a"), &r), 0);
    ck_assert_uint_eq(r.n_enabled, 2);
    ck_assert(flag_result_has(&r, "a") && flag_result_has(&r, "b"));
    flag_result_release(&r);

    /* both named: each is implied by the other; only the first by name is warned, so
     * dropping every warned name keeps the same set */
    ck_assert_int_eq(compile_in(defs, N(defs), "2024-01-01", 0, FLAGS("b", "a"), &r), 0);
    ck_assert_uint_eq(r.n_warnings, 1);
    ck_assert_str_eq(r.warnings[0].name, "a");
    ck_assert_str_eq(r.warnings[0].message,
                     "flag 'a' is implied by 'b' since 2020-01-01, no need to name it");
    flag_result_release(&r);
}
END_TEST

START_TEST(test_implication_after_boundary)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-09-28", FLAGS("python_workers"), &r), 0);
    ck_assert(!flag_result_has(&r, "python_workers_20250116"));
    ck_assert(flag_result_has(&r, "python_workflows")); /* after 2025-09-20 */
    flag_result_release(&r);

    ck_assert_int_eq(compile("2025-09-29", FLAGS("python_workers"), &r), 0);
    ck_assert(flag_result_has(&r, "python_workers_20250116"));
    flag_result_release(&r);

    /* implications need the implying flag on: no python_workers, no python_workflows */
    ck_assert_int_eq(compile("2026-01-01", NOFLAGS, &r), 0);
    ck_assert(!flag_result_has(&r, "python_workflows"));
    ck_assert(!flag_result_has(&r, "python_check_rng_state"));
    flag_result_release(&r);
}
END_TEST

/* ---- §3.4 warnings ------------------------------------------------------------- */

START_TEST(test_redundant_by_date)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-09-01", FLAGS("python_no_global_handlers"), &r), 0);
    ck_assert_uint_eq(r.n_errors, 0);
    ck_assert_uint_eq(r.n_warnings, 1);
    ck_assert_int_eq(r.warnings[0].kind, FLAG_REDUNDANT);
    ck_assert_str_eq(r.warnings[0].code, "redundant_flag");
    ck_assert_str_eq(r.warnings[0].name, "python_no_global_handlers");
    ck_assert_str_eq(
        r.warnings[0].message,
        "flag 'python_no_global_handlers' is on by default since 2025-08-14, no need to name it");
    flag_result_release(&r);

    /* before its date, naming it is the point */
    ck_assert_int_eq(compile("2025-08-13", FLAGS("python_no_global_handlers"), &r), 0);
    ck_assert_uint_eq(r.n_warnings, 0);
    ck_assert(flag_result_has(&r, "python_no_global_handlers"));
    flag_result_release(&r);
}
END_TEST

START_TEST(test_redundant_by_implication)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-10-01", FLAGS("python_workers_20250116", "python_workers"), &r),
                     0);
    ck_assert_uint_eq(r.n_warnings, 1);
    ck_assert_str_eq(r.warnings[0].name, "python_workers_20250116");
    ck_assert_str_eq(r.warnings[0].message,
                     "flag 'python_workers_20250116' is implied by 'python_workers' since "
                     "2025-09-29, no need to name it");
    flag_result_release(&r);

    /* before the implication starts, it is not redundant */
    ck_assert_int_eq(compile("2025-09-01", FLAGS("python_workers_20250116", "python_workers"), &r),
                     0);
    ck_assert_uint_eq(r.n_warnings, 0);
    ck_assert_str_eq(r.bundle->name, "python_workers_20250116");
    flag_result_release(&r);

    /* warnings are ordered by name */
    ck_assert_int_eq(
        compile("2026-03-01",
                FLAGS("python_workers", "python_workflows",
                      "python_request_headers_preserve_commas", "fetch_refuses_unknown_protocols"),
                &r),
        0);
    ck_assert_uint_eq(r.n_warnings, 3);
    ck_assert_str_eq(r.warnings[0].name, "fetch_refuses_unknown_protocols");
    ck_assert_str_eq(r.warnings[1].name, "python_request_headers_preserve_commas");
    ck_assert_str_eq(r.warnings[2].name, "python_workflows");
    flag_result_release(&r);
}
END_TEST

/* ---- §4 bundles on the real seed ------------------------------------------------ */

START_TEST(test_bundle_python_workers_2024)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2024-04-01", FLAGS("python_workers"), &r), 0);
    ck_assert_ptr_nonnull(r.bundle);
    ck_assert_str_eq(r.bundle->name, "python_workers");
    ck_assert_str_eq(r.bundle->bundle_runtime, "pyodide-0.26.4");
    ck_assert(!flag_result_has(&r, "python_workers_20250116"));
    ck_assert(!flag_result_has(&r, "python_workflows"));
    ck_assert_uint_eq(r.n_enabled, 3); /* + formdata, fetch by date */
    flag_result_release(&r);
}
END_TEST

START_TEST(test_bundle_implied_wins)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-10-01", FLAGS("python_workers"), &r), 0);
    ck_assert(flag_result_has(&r, "python_workers_20250116"));
    ck_assert(flag_result_has(&r, "python_workflows"));
    ck_assert(!flag_result_has(&r, "python_dedicated_snapshot")); /* after 2025-10-16 */
    ck_assert_str_eq(r.bundle->name, "python_workers_20250116");
    ck_assert_str_eq(r.bundle->bundle_runtime, "pyodide-0.28.3");
    ck_assert_uint_eq(r.n_warnings, 0);
    flag_result_release(&r);
}
END_TEST

START_TEST(test_dedicated_snapshot_chain)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2025-10-15", FLAGS("python_workers"), &r), 0);
    ck_assert(!flag_result_has(&r, "python_dedicated_snapshot"));
    flag_result_release(&r);

    /* python_workers -> python_workers_20250116 -> python_dedicated_snapshot */
    ck_assert_int_eq(compile("2025-10-16", FLAGS("python_workers"), &r), 0);
    ck_assert(flag_result_has(&r, "python_dedicated_snapshot"));
    flag_result_release(&r);

    /* today: everything python that hangs off python_workers */
    ck_assert_int_eq(compile("2026-11-25", FLAGS("python_workers"), &r), 0);
    {
        static const char *const want[] = {
            "enable_python_external_sdk",
            "fetch_refuses_unknown_protocols",
            "formdata_parser_supports_files",
            "python_check_rng_state",
            "python_dedicated_snapshot",
            "python_no_global_handlers",
            "python_process_pth_files",
            "python_request_headers_preserve_commas",
            "python_shared_standard_library",
            "python_workers",
            "python_workers_20250116",
            "python_workers_314",
            "python_workers_force_new_vendor_path",
            "python_workflows",
            "python_workflows_implicit_dependencies",
        };

        ck_assert_uint_eq(r.n_enabled, N(want));
        for (size_t i = 0; i < N(want); i++)
            ck_assert_str_eq(r.enabled[i], want[i]);
    }
    ck_assert_str_eq(r.bundle->name, "python_workers_314");
    flag_result_release(&r);
}
END_TEST

START_TEST(test_bundle_highest_order)
{
    struct flag_result r;

    ck_assert_int_eq(compile("2026-07-01", FLAGS("python_workers_20260610", "python_workers"), &r),
                     0);
    ck_assert_str_eq(r.bundle->name, "python_workers_20260610");
    ck_assert_int_eq(r.bundle->bundle_order, 3);
    flag_result_release(&r);

    /* the order decides, not the definition order: same flags, defs reversed */
    {
        struct flag_def *rev = calloc(n_seed, sizeof(*rev));

        ck_assert_ptr_nonnull(rev);
        for (size_t i = 0; i < n_seed; i++)
            rev[i] = seed[n_seed - 1 - i];
        ck_assert_int_eq(compile_in(rev, n_seed, "2026-07-01", 0,
                                    FLAGS("python_workers", "python_workers_20260610"), &r),
                         0);
        ck_assert_str_eq(r.bundle->name, "python_workers_20260610");
        flag_result_release(&r);
        free(rev);
    }

    /* no Python flag, no bundle */
    ck_assert_int_eq(compile("2026-07-01", FLAGS("nodejs_compat"), &r), 0);
    ck_assert_ptr_null(r.bundle);
    flag_result_release(&r);
}
END_TEST

/* ---- result helpers -------------------------------------------------------------- */

START_TEST(test_result_helpers)
{
    struct flag_result r;

    memset(&r, 0, sizeof(r));
    ck_assert(!flag_result_has(&r, "x"));
    flag_result_release(&r);
    flag_result_release(NULL);

    ck_assert_int_eq(compile_in(NULL, 0, "2024-01-01", 0, NOFLAGS, &r), 0);
    ck_assert_uint_eq(r.n_enabled, 0);
    flag_result_release(&r);

    ck_assert_str_eq(flag_find(seed, n_seed, "nodejs_compat")->name, "nodejs_compat");
    ck_assert_str_eq(flag_find(seed, n_seed, "nodejs_compat")->disable, "no_nodejs_compat");
    ck_assert_ptr_null(flag_find(seed, n_seed, "no_nodejs_compat"));
    ck_assert_str_eq(flag_kind_code(FLAG_REDUNDANT), "redundant_flag");
    ck_assert_str_eq(flag_kind_code(FLAG_INVALID_DATE), "invalid_date");
}
END_TEST

static Suite *
flags_suite(void)
{
    Suite *s = suite_create("flags");
    TCase *t = tcase_create("compile");

    tcase_add_checked_fixture(t, seed_setup, seed_teardown);
    tcase_add_test(t, test_dates_valid);
    tcase_add_test(t, test_dates_invalid);
    tcase_add_test(t, test_date_missing);
    tcase_add_test(t, test_date_in_future);
    tcase_add_test(t, test_unknown_with_suggestion);
    tcase_add_test(t, test_edit_distance_and_suggest);
    tcase_add_test(t, test_duplicate);
    tcase_add_test(t, test_contradictory);
    tcase_add_test(t, test_experimental);
    tcase_add_test(t, test_experimental_on_by_date_or_implication);
    tcase_add_test(t, test_errors_collected_and_ordered);
    tcase_add_test(t, test_invalid_date_still_checks_names);
    tcase_add_test(t, test_enable_date_boundary);
    tcase_add_test(t, test_disable_blocks_date_default);
    tcase_add_test(t, test_disable_blocks_implication);
    tcase_add_test(t, test_implication_chain_any_order);
    tcase_add_test(t, test_implication_cycle_terminates);
    tcase_add_test(t, test_implication_after_boundary);
    tcase_add_test(t, test_redundant_by_date);
    tcase_add_test(t, test_redundant_by_implication);
    tcase_add_test(t, test_bundle_python_workers_2024);
    tcase_add_test(t, test_bundle_implied_wins);
    tcase_add_test(t, test_dedicated_snapshot_chain);
    tcase_add_test(t, test_bundle_highest_order);
    tcase_add_test(t, test_result_helpers);
    suite_add_tcase(s, t);
    return s;
}

int
main(void)
{
    return unit_run(flags_suite());
}
