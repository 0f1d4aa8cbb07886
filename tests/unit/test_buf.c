/* tests/unit/test_buf.c: byte buffers (app/buf.c) with a size cap, string vectors
 * (app/strv.c) and the string map (app/strmap.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/mem.h"
#include "app/strmap.h"
#include "app/strv.h"
#include "tests/lib/unit.h"

START_TEST(test_unlimited)
{
    struct buf b;
    char *s;
    size_t len;

    buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(buf_printf(&b, "%d,", i), 0);
    ck_assert_int_eq(buf_append(&b, "x\0y", 3), 0);
    ck_assert_uint_eq(b.data[b.len], 0); /* always NUL-terminated */
    s = buf_detach(&b, &len);
    ck_assert_uint_eq(len, strlen("0,") * 10 + strlen("10,") * 90 + strlen("100,") * 900 + 3);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    free(s);
    buf_release(&b);
}
END_TEST

START_TEST(test_capped)
{
    struct buf b;

    buf_init(&b, 8);
    ck_assert_int_eq(buf_puts(&b, "12345678"), 0);
    ck_assert_int_eq(buf_puts(&b, "9"), -1); /* past the cap: refused, not grown */
    ck_assert_uint_eq(b.len, 8);
    ck_assert_str_eq(b.data, "12345678");
    ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
    buf_release(&b);
    buf_init(&b, 4);
    ck_assert_int_eq(buf_printf(&b, "%d", 123456), -1);
    ck_assert_uint_eq(b.len, 0);
    buf_release(&b);
}
END_TEST

START_TEST(test_strv)
{
    size_t n;
    char **v = strv_split(" b , ,a,\tc ", ',', &n);
    const char **borrowed;
    cJSON *arr;
    char *json;

    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0], "b");
    ck_assert_ptr_null(v[3]);
    strv_sort(v, n);
    ck_assert_str_eq(v[0], "a");
    strv_push(&v, &n, "d");
    ck_assert_uint_eq(n, 4);
    ck_assert_ptr_null(v[4]);
    json = strv_to_json((const char *const *)v, n);
    ck_assert_str_eq(json, "[\"a\",\"b\",\"c\",\"d\"]");
    arr = cJSON_Parse(json);
    borrowed = strv_borrow_json(arr, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(borrowed[3], "d");
    free(borrowed);
    cJSON_Delete(arr);
    free(json);
    strv_free(v, 4);
    strv_free(NULL, 0);
    v = strv_split(NULL, ',', &n);
    ck_assert_uint_eq(n, 0);
    strv_free(v, n);
}
END_TEST

START_TEST(test_strmap)
{
    struct strmap *m = strmap_new();
    size_t v;

    for (size_t i = 0; i < 1000; i++)
        strmap_put(m, xasprintf("key-%zu", i), i * 2);
    for (size_t i = 0; i < 1000; i++) {
        char k[32];

        snprintf(k, sizeof(k), "key-%zu", i);
        ck_assert_int_eq(strmap_get(m, k, &v), 1);
        ck_assert_uint_eq(v, i * 2);
    }
    ck_assert_int_eq(strmap_get(m, "key-1000", &v), 0);
    ck_assert_uint_eq(m->n, 1000);
    strmap_free(m);
    strmap_free(NULL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");

    tcase_add_test(tc, test_unlimited);
    tcase_add_test(tc, test_capped);
    tcase_add_test(tc, test_strv);
    tcase_add_test(tc, test_strmap);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
