/* tests/unit/test_toml.c: wrangler.toml as JSON (cli/toml.c): the bindings tables,
 * every value form, and the errors TOML requires. cli/ is not in libalmanac, so the
 * parser is compiled into this test. */
#include <stdlib.h>
#include <string.h>

#include "cli/toml.c"
#include "tests/lib/unit.h"

#define N(a) (sizeof(a) / sizeof(*(a)))

/* text -> compact JSON (caller frees), or NULL with msg filled. */
static char *
to_json(const char *text, char msg[APP_ERR_MSG_MAX])
{
    struct app_err err = {0};
    cJSON *j = cli_toml_parse("w.toml", text, strlen(text), &err);
    char *s;

    if (!j) {
        memcpy(msg, err.msg, APP_ERR_MSG_MAX);
        app_err_release(&err);
        return NULL;
    }
    s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

START_TEST(test_bindings)
{
    static const char text[] =
        "name = \"w\"\nmain = \"src/entry.py\"\ncompatibility_date = 2025-01-01\n"
        "compatibility_flags = [ \"python_workers\", # the bundle\n  'nodejs_compat', ]\n\n"
        "[[kv_namespaces]]\nbinding = \"KV\"\nid = \"a\"\n\n[[kv_namespaces]]\nbinding = \"KV2\"\n"
        "id = \"b\"\n\n[[d1_databases]]\nbinding = \"DB\"\ndatabase_name = \"q\"\n"
        "database_id = \"x-1\"\n\n[durable_objects]\nbindings = [\n  { name = \"C\", class_name = "
        "\"Counter\" },\n]\n\n[[migrations]]\ntag = \"v1\"\nnew_sqlite_classes = [\"Counter\"]\n\n"
        "[assets]\ndirectory = \"./public\"\nrun_worker_first = true\n\n[env.staging.vars]\nA = "
        "2\n";
    static const char want[] =
        "{\"name\":\"w\",\"main\":\"src/entry.py\",\"compatibility_date\":\"2025-01-01\","
        "\"compatibility_flags\":[\"python_workers\",\"nodejs_compat\"],"
        "\"kv_namespaces\":[{\"binding\":\"KV\",\"id\":\"a\"},{\"binding\":\"KV2\",\"id\":\"b\"}],"
        "\"d1_databases\":[{\"binding\":\"DB\",\"database_name\":\"q\",\"database_id\":\"x-1\"}],"
        "\"durable_objects\":{\"bindings\":[{\"name\":\"C\",\"class_name\":\"Counter\"}]},"
        "\"migrations\":[{\"tag\":\"v1\",\"new_sqlite_classes\":[\"Counter\"]}],"
        "\"assets\":{\"directory\":\"./public\",\"run_worker_first\":true},"
        "\"env\":{\"staging\":{\"vars\":{\"A\":2}}}}";
    char msg[APP_ERR_MSG_MAX] = "";
    char *s = to_json(text, msg);

    ck_assert_msg(s != NULL, "%s", msg);
    ck_assert_str_eq(s, want);
    free(s);
}
END_TEST

START_TEST(test_values)
{
    static const char *const cases[][2] = {
        {"a = 1_000", "{\"a\":1000}"},
        {"a = -17", "{\"a\":-17}"},
        {"a = 0xff\nb = 0o17\nc = 0b101", "{\"a\":255,\"b\":15,\"c\":5}"},
        {"a = 6.5e2", "{\"a\":650}"},
        {"a = true\nb = false", "{\"a\":true,\"b\":false}"},
        {"t = 1979-05-27 07:32:00Z", "{\"t\":\"1979-05-27 07:32:00Z\"}"},
        {"t = 07:32:00", "{\"t\":\"07:32:00\"}"},
        {"s = \"a\\tb\\u00e9\"", "{\"s\":\"a\\tb\xc3\xa9\"}"},
        {"s = 'C:\\path'", "{\"s\":\"C:\\\\path\"}"},
        {"s = \"\"\"\nline1\nline2\"\"\"", "{\"s\":\"line1\\nline2\"}"},
        {"s = \"\"\"one \\\n    two\"\"\"", "{\"s\":\"one two\"}"},
        {"s = '''raw \\n'''", "{\"s\":\"raw \\\\n\"}"},
        {"a.b.c = 1\na.b.d = 2", "{\"a\":{\"b\":{\"c\":1,\"d\":2}}}"},
        {"\"q.k\" = 1\n'l' = 2", "{\"q.k\":1,\"l\":2}"},
        {"i = { x = 1, y.z = [1, [2, 3]] }", "{\"i\":{\"x\":1,\"y\":{\"z\":[1,[2,3]]}}}"},
        {"[a.b]\nx = 1\n[a]\ny = 2", "{\"a\":{\"b\":{\"x\":1},\"y\":2}}"},
        {"[[p]]\nn = 1\n[p.sub]\nm = 2\n[[p]]\nn = 3",
         "{\"p\":[{\"n\":1,\"sub\":{\"m\":2}},{\"n\":3}]}"},
        {"\xEF\xBB\xBF# bom\r\na = 1\r\n", "{\"a\":1}"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        char msg[APP_ERR_MSG_MAX] = "";
        char *s = to_json(cases[i][0], msg);

        ck_assert_msg(s != NULL, "case %zu: %s", i, msg);
        ck_assert_msg(strcmp(s, cases[i][1]) == 0, "case %zu: %s", i, s);
        free(s);
    }
}
END_TEST

START_TEST(test_errors)
{
    static const char *const cases[][2] = {
        {"a = 1\na = 2", "w.toml:2: the key 'a' is defined twice"},
        {"[x]\n[x]", "w.toml:2: table 'x' is defined twice"},
        {"a = 01", "w.toml:1: invalid value '01'"},
        {"a = \"open", "w.toml:1: unterminated string"},
        {"a = [1,\n2\n", "w.toml:3: unterminated array"},
        {"a = 1 b = 2", "w.toml:1: unexpected 'b' after the value"},
        {"a = \"\\q\"", "w.toml:1: invalid escape '\\q'"},
        {"a = \"x\ny\"", "w.toml:1: newline in a string"},
        {"[[a]]\n[a]", "w.toml:2: table 'a' is defined twice"},
        {"a = 1\n[a]", "w.toml:2: table 'a' is defined twice"},
        {"a = 1\n[[a]]", "w.toml:2: 'a' is not an array of tables"},
        {"a", "w.toml:1: expected '=' after the key 'a'"},
        {"= 1", "w.toml:1: expected a key, not '='"},
        {"x = nope", "w.toml:1: invalid value 'nope'"},
        {"x = \"a\0b\"", NULL}, /* NUL: not text (the length covers the NUL below) */
    };

    for (size_t i = 0; i < N(cases); i++) {
        struct app_err err = {0};
        size_t len = cases[i][1] ? strlen(cases[i][0]) : 9;
        cJSON *j = cli_toml_parse("w.toml", cases[i][0], len, &err);

        ck_assert_msg(j == NULL, "case %zu parsed", i);
        ck_assert_int_eq(err.code, APP_EINVAL);
        if (cases[i][1])
            ck_assert_str_eq(err.msg, cases[i][1]);
        else
            ck_assert_str_eq(err.msg, "w.toml:1: not a text file");
        app_err_release(&err);
    }
}
END_TEST

START_TEST(test_depth)
{
    char text[TOML_MAX_DEPTH * 2 + 16];
    size_t n = 0;
    struct app_err err = {0};

    n += (size_t)snprintf(text, sizeof(text), "a = ");
    for (int i = 0; i < TOML_MAX_DEPTH + 2; i++)
        text[n++] = '[';
    text[n] = '\0';
    ck_assert_ptr_null(cli_toml_parse("w.toml", text, n, &err));
    ck_assert_msg(strstr(err.msg, "nested deeper than") != NULL, "%s", err.msg);
    app_err_release(&err);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("toml");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_bindings);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_depth);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
