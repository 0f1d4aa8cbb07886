/* tests/unit/test_json.c: canonical JSON (app/json.c): sorted keys at every depth, no
 * whitespace, integers without exponent, minimal escapes; json_parse refuses empty
 * bodies and trailing data; typed field access reports the field. */
#include <stdlib.h>
#include <string.h>

#include "app/json.h"
#include "tests/lib/unit.h"

static void
canon_is(const char *in, const char *want)
{
    cJSON *v = cJSON_Parse(in);
    char *s;
    size_t len;

    ck_assert_msg(v != NULL, "parse %s", in);
    s = json_canonical(v, &len);
    ck_assert_str_eq(s, want);
    ck_assert_uint_eq(len, strlen(want));
    free(s);
    cJSON_Delete(v);
}

START_TEST(test_canonical)
{
    canon_is("{ \"b\": 1, \"a\": [3, 2, {\"z\": null, \"y\": true}] }",
             "{\"a\":[3,2,{\"y\":true,\"z\":null}],\"b\":1}");
    canon_is("{\"B\":0,\"a\":0,\"_\":0}", "{\"B\":0,\"_\":0,\"a\":0}"); /* byte order */
    canon_is("[1e3, -0, 1.5, 12345678901234]", "[1000,0,1.5,12345678901234]");
    canon_is("[0.1]", "[0.10000000000000001]");
    canon_is("\"a\\\"b\\\\c\\n\\t\\u0001/\"", "\"a\\\"b\\\\c\\n\\t\\u0001/\"");
    canon_is("\"caf\\u00e9\"", "\"caf\xc3\xa9\""); /* UTF-8 as is, not escaped */
    canon_is("{}", "{}");
    canon_is("[]", "[]");
}
END_TEST

START_TEST(test_canonical_is_stable)
{
    cJSON *a = cJSON_Parse("{\"x\":{\"q\":1,\"p\":2},\"w\":[]}");
    cJSON *b = cJSON_Parse("{\"w\":[],\"x\":{\"p\":2,\"q\":1}}");
    char *sa = json_canonical(a, NULL), *sb = json_canonical(b, NULL);

    ck_assert_str_eq(sa, sb);
    free(sa);
    free(sb);
    cJSON_Delete(a);
    cJSON_Delete(b);
}
END_TEST

START_TEST(test_parse_refuses)
{
    struct app_err err = {0};
    cJSON *v;

    ck_assert_ptr_null(json_parse("", 0, &err));
    ck_assert_int_eq(err.code, APP_EINVAL);
    ck_assert_ptr_null(json_parse("{\"a\":1} x", 9, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "trailing"));
    ck_assert_ptr_null(json_parse("{\"a\":", 5, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "near byte"));
    v = json_parse("{\"a\":1} \n", 9, &err);
    ck_assert_ptr_nonnull(v);
    cJSON_Delete(v);
}
END_TEST

START_TEST(test_fields)
{
    cJSON *o = cJSON_Parse("{\"s\":\"x\",\"n\":5,\"b\":true,\"arr\":[\"a\",1],\"ok\":[\"a\"]}");
    struct app_err err = {0};
    const char *s = NULL;
    const cJSON *arr = NULL;
    long long n = 0;
    int b = 0;

    ck_assert_int_eq(json_string(o, "s", 1, &s, &err), 0);
    ck_assert_str_eq(s, "x");
    ck_assert_int_eq(json_string(o, "n", 1, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'n'"));
    ck_assert_int_eq(json_string(o, "missing", 1, &s, &err), -1);
    s = "untouched";
    ck_assert_int_eq(json_string(o, "missing", 0, &s, &err), 0);
    ck_assert_int_eq(json_int(o, "n", 1, &n, &err), 0);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(json_bool(o, "b", 1, &b, &err), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(json_string_array(o, "arr", 1, &arr, &err), -1);
    ck_assert_int_eq(json_string_array(o, "ok", 1, &arr, &err), 0);
    ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
    ck_assert_str_eq(json_str_item(o, "s"), "x");
    ck_assert_ptr_null(json_str_item(o, "n"));
    ck_assert_ptr_null(json_str_item(NULL, "s"));
    cJSON_Delete(o);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("json");

    tcase_add_test(tc, test_canonical);
    tcase_add_test(tc, test_canonical_is_stable);
    tcase_add_test(tc, test_parse_refuses);
    tcase_add_test(tc, test_fields);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
