/* tests/unit/test_date.c: strict dates (app/date.c): real Gregorian dates in
 * 2000-2999 only, day numbers both ways, +N years with Feb 29, ALMANAC_TODAY, and
 * RFC 3339 timestamps. */
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "tests/lib/unit.h"

START_TEST(test_parse_valid)
{
    int d;
    char out[APP_DATE_LEN];

    ck_assert_int_eq(date_parse("1970-01-01", &d), -1); /* before 2000 */
    ck_assert_int_eq(date_parse("2000-01-01", &d), 0);
    ck_assert_int_eq(d, 10957);
    ck_assert_int_eq(date_parse("2024-02-29", &d), 0);
    date_format(d, out);
    ck_assert_str_eq(out, "2024-02-29");
    ck_assert_int_eq(date_parse("2999-12-31", &d), 0);
}
END_TEST

START_TEST(test_parse_invalid)
{
    static const char *const bad[] = {
        "",           "2025-1-01",   "2025-01-1",
        "2025/01/01", " 2025-01-01", "2025-01-01 ",
        "2025-02-29", "2100-02-29",  "2025-13-01",
        "2025-00-10", "2025-04-31",  "3000-01-01",
        "1999-12-31", "20250101",    "2025-01-01T00:00:00Z",
        "abcd-ef-gh",
    };
    int d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(date_parse(bad[i], &d) == -1, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_civil_and_years)
{
    int y, m, dd, d = date_from_civil(2024, 2, 29);

    date_to_civil(d, &y, &m, &dd);
    ck_assert_int_eq(y, 2024);
    ck_assert_int_eq(m, 2);
    ck_assert_int_eq(dd, 29);
    /* Feb 29 + 5 years is Feb 28; other days keep their month and day. */
    date_to_civil(date_add_years(d, 5), &y, &m, &dd);
    ck_assert_int_eq(y, 2029);
    ck_assert_int_eq(m, 2);
    ck_assert_int_eq(dd, 28);
    date_to_civil(date_add_years(date_from_civil(2023, 10, 2), 5), &y, &m, &dd);
    ck_assert_int_eq(y * 10000 + m * 100 + dd, 20281002);
    date_to_civil(date_add_years(d, 4), &y, &m, &dd);
    ck_assert_int_eq(y * 10000 + m * 100 + dd, 20280229);
}
END_TEST

START_TEST(test_today_override)
{
    int d;

    setenv("ALMANAC_TODAY", "2030-06-15", 1);
    ck_assert_int_eq(date_parse("2030-06-15", &d), 0);
    ck_assert_int_eq(date_today(), d);
    ck_assert_int_eq(date_today_overridden(), 1);
    setenv("ALMANAC_TODAY", "not-a-date", 1);
    ck_assert_int_eq(date_today_overridden(), 0);
    ck_assert_int_ne(date_today(), d);
    unsetenv("ALMANAC_TODAY");
}
END_TEST

START_TEST(test_rfc3339)
{
    char t[APP_TIME_LEN];

    date_now_rfc3339(t);
    ck_assert_uint_eq(strlen(t), APP_TIME_LEN - 1);
    ck_assert_int_eq(t[4], '-');
    ck_assert_int_eq(t[10], 'T');
    ck_assert_int_eq(t[19], 'Z');
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("date");
    TCase *tc = tcase_create("date");

    tcase_add_test(tc, test_parse_valid);
    tcase_add_test(tc, test_parse_invalid);
    tcase_add_test(tc, test_civil_and_years);
    tcase_add_test(tc, test_today_override);
    tcase_add_test(tc, test_rfc3339);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
