/* tests/unit/test_resolve.c: resolution and the support policy (DESIGN §3-7) on the
 * synthetic catalog of tests/lib/fixtures: bundles by date, closure in dependency
 * order, byte-identical locks, typed problems in a stable order, and the policy
 * (supported, ending with a warning, ended and moved, ended and blocked, ended with
 * no successor). Also the diff of two dates. */
#include <stdlib.h>
#include <string.h>

#include "app/json.h"
#include "catalog/diff.h"
#include "catalog/resolve.h"
#include "tests/lib/fixtures.h"
#include "tests/lib/unit.h"

static struct snap *snap;

static void
setup(void)
{
    snap = fx_snap_new();
}

static void
teardown(void)
{
    snap_free(snap);
}

#define LIST(...) ((const char *const[]){__VA_ARGS__})

static struct res_input
input(const char *date, const char *const *flags, size_t n_flags, const char *const *reqs,
      size_t n_reqs, const char *as_of)
{
    struct res_input in = {0};

    in.date = date;
    in.flags = flags;
    in.n_flags = n_flags;
    in.requirements = reqs;
    in.n_requirements = n_reqs;
    in.as_of = as_of;
    in.today = fx_day(FX_TODAY);
    return in;
}

static const char *
str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

START_TEST(test_bundle_and_closure)
{
    struct res_input in = input("2025-06-01", LIST("python_workers"), 1, LIST("pandas"), 1, NULL);
    struct res_output out;
    struct app_err err = {0};
    const cJSON *pkgs, *p;
    const char *order[3];
    int i = 0;

    ck_assert_int_eq(res_resolve(snap, &in, &out, &err), 0);
    ck_assert_str_eq(str_at(out.lock, "runtime", "id"), "pyodide-0.26.4");
    ck_assert_str_eq(str_at(out.lock, "package_set", NULL), "pyodide-0.26.4/2024-11-15");
    /* pandas needs numpy and pytz: dependencies first. */
    pkgs = cJSON_GetObjectItemCaseSensitive(out.lock, "packages");
    ck_assert_int_eq(cJSON_GetArraySize(pkgs), 3);
    cJSON_ArrayForEach (p, pkgs)
        order[i++] = str_at(p, "name", NULL);
    ck_assert_str_eq(order[0], "numpy");
    ck_assert_str_eq(order[1], "pytz");
    ck_assert_str_eq(order[2], "pandas");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(out.lock, "artifacts")), 4);
    ck_assert_str_eq(str_at(out.policy, "status", NULL), "supported");
    ck_assert_int_eq(strncmp(out.lock_id, "sha256:", 7), 0);
    res_output_release(&out);
}
END_TEST

/* A later date implies python_workers_20250116 (after 2025-09-29): a newer bundle. */
START_TEST(test_date_selects_newer_bundle)
{
    struct res_input in = input("2025-10-01", LIST("python_workers"), 1, NULL, 0, NULL);
    struct res_output out;
    struct app_err err = {0};

    ck_assert_int_eq(res_resolve(snap, &in, &out, &err), 0);
    ck_assert_str_eq(str_at(out.lock, "runtime", "id"), "pyodide-0.28.3");
    ck_assert_str_eq(str_at(out.lock, "bundle_flag", NULL), "python_workers_20250116");
    res_output_release(&out);
}
END_TEST

START_TEST(test_lock_bytes_are_stable)
{
    struct res_input a =
        input("2025-06-01", LIST("python_workers"), 1, LIST("pytz", "numpy>=1.20"), 2, NULL);
    struct res_input b =
        input("2025-06-01", LIST("python_workers"), 1, LIST("numpy>=1.20", "pytz"), 2, NULL);
    struct res_output x, y;
    struct app_err err = {0};

    ck_assert_int_eq(res_resolve(snap, &a, &x, &err), 0);
    ck_assert_int_eq(res_resolve(snap, &b, &y, &err), 0);
    /* Requirements are sorted by name: the order they were given in does not matter. */
    ck_assert_str_eq(x.lock_id, y.lock_id);
    ck_assert_uint_eq(x.lock_len, y.lock_len);
    ck_assert_int_eq(memcmp(x.lock_bytes, y.lock_bytes, x.lock_len), 0);
    res_output_release(&x);
    res_output_release(&y);
}
END_TEST

/* Several problems: typed, ordered by kind then name, rendered at the edge. */
START_TEST(test_typed_issues_in_order)
{
    struct res_input in =
        input("2025-06-01", LIST("python_workers"), 1, LIST("zzz", "numpy>=2", "pandaz"), 3, NULL);
    struct res_output out;
    struct res_issues is = {0};
    struct app_err err = {0};

    ck_assert_int_eq(res_resolve_issues(snap, &in, &out, &is, &err), -1);
    ck_assert_int_eq(err.code, APP_EUNPROCESSABLE);
    ck_assert_uint_eq(is.n, 3);
    ck_assert_int_eq(is.v[0].kind, RES_UNSUPPORTED);
    ck_assert_str_eq(is.v[0].name, "pandaz");
    ck_assert_str_eq(is.v[0].suggestion, "pandas");
    ck_assert_int_eq(is.v[1].kind, RES_UNSUPPORTED);
    ck_assert_str_eq(is.v[1].name, "zzz");
    ck_assert_ptr_null(is.v[1].suggestion);
    ck_assert_int_eq(is.v[2].kind, RES_NOT_SATISFIED);
    ck_assert_str_eq(is.v[2].resolved_version, "1.26.4");
    ck_assert_ptr_nonnull(strstr(err.msg, "3 problems"));
    res_issues_release(&is);
    app_err_release(&err);

    /* The edge form: the same problems as JSON, with no internal sort key. */
    ck_assert_int_eq(res_resolve(snap, &in, &out, &err), -1);
    ck_assert_int_eq(cJSON_GetArraySize(err.errors), 3);
    ck_assert_str_eq(str_at(cJSON_GetArrayItem(err.errors, 0), "code", NULL),
                     "unsupported_package");
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(err.errors, 0), "kind_order"));
    ck_assert_str_eq(str_at(cJSON_GetArrayItem(err.errors, 2), "requirement", NULL), "numpy>=2");
    app_err_release(&err);
}
END_TEST

START_TEST(test_inputs_checked_first)
{
    struct res_input in = input("2025-06-01", NULL, 0, LIST("numpy"), 1, "2025-02-30");
    struct res_output out;
    struct res_issues is = {0};
    struct app_err err = {0};

    ck_assert_int_eq(res_resolve_issues(snap, &in, &out, &is, &err), -1);
    ck_assert_uint_eq(is.n, 2);
    ck_assert_str_eq(is.v[0].code, "invalid_date");
    ck_assert_str_eq(is.v[0].field, "as_of");
    ck_assert_str_eq(is.v[1].code, "python_workers_required");
    ck_assert_str_eq(is.v[1].flag, "python_workers");
    res_issues_release(&is);
    app_err_release(&err);
}
END_TEST

/* 3.12 ends 2028-10-02: 180 days before, a warning naming the successor. */
START_TEST(test_policy_ending_warns)
{
    struct res_input in = input("2025-06-01", LIST("python_workers"), 1, NULL, 0, "2028-06-01");
    struct res_output out;
    struct app_err err = {0};
    const cJSON *w;

    ck_assert_int_eq(res_resolve(snap, &in, &out, &err), 0);
    ck_assert_str_eq(str_at(out.policy, "status", NULL), "ending");
    ck_assert_str_eq(str_at(out.lock, "runtime", "id"), "pyodide-0.26.4");
    w = cJSON_GetArrayItem(out.warnings, 0);
    ck_assert_str_eq(str_at(w, "code", NULL), "support_ending");
    ck_assert_ptr_nonnull(strstr(str_at(w, "message", NULL), "python 3.13"));
    res_output_release(&out);
}
END_TEST

START_TEST(test_policy_ended_moves)
{
    struct res_input in =
        input("2025-06-01", LIST("python_workers"), 1, LIST("numpy"), 1, "2028-10-03");
    struct res_output out;
    struct app_err err = {0};
    const cJSON *up;

    ck_assert_int_eq(res_resolve(snap, &in, &out, &err), 0);
    ck_assert_str_eq(str_at(out.policy, "status", NULL), "ended");
    ck_assert_str_eq(str_at(out.lock, "runtime", "id"), "pyodide-0.28.3");
    up = cJSON_GetObjectItem(out.policy, "upgrade");
    ck_assert_str_eq(str_at(up, "from", "runtime"), "pyodide-0.26.4");
    ck_assert_str_eq(str_at(up, "to", "bundle_flag"), "python_workers_20250116");
    ck_assert_str_eq(str_at(out.lock, "upgraded_from", "runtime"), "pyodide-0.26.4");
    ck_assert_str_eq(
        str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(out.lock, "packages"), 0), "version", NULL),
        "2.2.5");
    res_output_release(&out);
}
END_TEST

/* pandas is not in the 0.28.3 set: the move is blocked, naming it. */
START_TEST(test_policy_ended_blocked)
{
    struct res_input in =
        input("2025-06-01", LIST("python_workers"), 1, LIST("pandas"), 1, "2028-10-03");
    struct res_output out;
    struct res_issues is = {0};
    struct app_err err = {0};

    ck_assert_int_eq(res_resolve_issues(snap, &in, &out, &is, &err), -1);
    ck_assert_uint_eq(is.n, 1);
    ck_assert_int_eq(is.v[0].kind, RES_UPGRADE_BLOCKED);
    ck_assert_uint_eq(is.v[0].n_packages, 1);
    ck_assert_str_eq(is.v[0].packages[0], "pandas");
    ck_assert_str_eq(is.v[0].from, "pyodide-0.26.4");
    ck_assert_str_eq(is.v[0].to, "pyodide-0.28.3");
    res_issues_release(&is);
    app_err_release(&err);
}
END_TEST

START_TEST(test_policy_no_successor)
{
    struct res_input in = input("2025-06-01", LIST("python_workers"), 1, NULL, 0, "2031-01-01");
    struct res_output out;
    struct res_issues is = {0};
    struct app_err err = {0};

    ck_assert_int_eq(res_resolve_issues(snap, &in, &out, &is, &err), -1);
    ck_assert_uint_eq(is.n, 1);
    ck_assert_str_eq(is.v[0].code, "no_supported_runtime");
    ck_assert_str_eq(is.v[0].python_line, "3.12");
    res_issues_release(&is);
    app_err_release(&err);
}
END_TEST

/* An experimental flag is refused without opt-in (seed v2: python_zstd_snapshot). */
START_TEST(test_experimental_needs_opt_in)
{
    struct res_input in =
        input("2025-06-01", LIST("python_workers", "python_zstd_snapshot"), 2, NULL, 0, NULL);
    struct res_output out;
    struct app_err err = {0};

    ck_assert_int_eq(res_resolve(snap, &in, &out, &err), -1);
    ck_assert_str_eq(str_at(cJSON_GetArrayItem(err.errors, 0), "flag", NULL),
                     "python_zstd_snapshot");
    app_err_release(&err);
    in.allow_experimental = 1;
    ck_assert_int_eq(res_resolve(snap, &in, &out, &err), 0);
    ck_assert_str_eq(str_at(out.lock, "runtime", "id"), "pyodide-0.26.4");
    res_output_release(&out);
}
END_TEST

START_TEST(test_diff_between_dates)
{
    struct res_input a = input("2025-06-01", LIST("python_workers"), 1, LIST("numpy"), 1, NULL);
    struct res_input b = input("2025-10-01", LIST("python_workers"), 1, LIST("numpy"), 1, NULL);
    struct app_err err = {0};
    cJSON *d = res_diff(snap, &a, &b, &err);
    char *text;

    ck_assert_ptr_nonnull(d);
    text = json_canonical(d, NULL);
    ck_assert_ptr_nonnull(strstr(text, "pyodide-0.28.3"));
    ck_assert_ptr_nonnull(strstr(text, "python_workers_20250116"));
    free(text);
    cJSON_Delete(d);
    /* A side that does not resolve: its problems, marked with the side. */
    b.requirements = LIST("nope");
    ck_assert_ptr_null(res_diff(snap, &a, &b, &err));
    ck_assert_str_eq(str_at(cJSON_GetArrayItem(err.errors, 0), "side", NULL), "to");
    app_err_release(&err);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("resolve");
    TCase *tc = tcase_create("resolve");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bundle_and_closure);
    tcase_add_test(tc, test_date_selects_newer_bundle);
    tcase_add_test(tc, test_lock_bytes_are_stable);
    tcase_add_test(tc, test_typed_issues_in_order);
    tcase_add_test(tc, test_inputs_checked_first);
    tcase_add_test(tc, test_policy_ending_warns);
    tcase_add_test(tc, test_policy_ended_moves);
    tcase_add_test(tc, test_policy_ended_blocked);
    tcase_add_test(tc, test_policy_no_successor);
    tcase_add_test(tc, test_experimental_needs_opt_in);
    tcase_add_test(tc, test_diff_between_dates);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
