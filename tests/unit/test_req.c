/* tests/unit/test_req.c: requirements lines and version order (catalog/req.c),
 * DESIGN §6. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/err.h"
#include "app/strv.h"
#include "catalog/req.h"
#include "tests/lib/unit.h"

#define N(a) (sizeof(a) / sizeof(*(a)))

/* Parse lines that must all be valid. */
static struct req *
parse_ok(const char *const *lines, size_t n, size_t *n_out)
{
    struct app_err err = {0};
    struct req *r = NULL;

    ck_assert_msg(req_parse_lines(lines, n, &r, n_out, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(err.code, APP_OK);
    ck_assert_ptr_null(err.errors);
    return r;
}

START_TEST(test_normalize)
{
    static const char *const cases[][2] = {
        {"Foo.Bar__baz", "foo-bar-baz"},
        {"NumPy", "numpy"},
        {"a-_-.b", "a-b"},
        {"typing_extensions", "typing-extensions"},
        {"zope.interface", "zope-interface"},
        {"already-normal", "already-normal"},
        {"", ""},
        {"A__B--C..D", "a-b-c-d"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        char *n = req_normalize(cases[i][0]);

        ck_assert_str_eq(n, cases[i][1]);
        free(n);
    }
}
END_TEST

START_TEST(test_comments_and_blank_lines)
{
    static const char *const lines[] = {
        "# a comment",
        "",
        "   ",
        "\t",
        "numpy  # pinned by the package set",
        "  \tPandas\t ",
        "   # indented comment",
        NULL,
        "Scipy>=1.11 #inline",
    };
    size_t n;
    struct req *r = parse_ok(lines, N(lines), &n);

    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(r[0].name, "numpy");
    ck_assert_str_eq(r[0].line, "numpy");
    ck_assert_uint_eq(r[0].n_specs, 0);
    ck_assert_str_eq(r[1].name, "pandas");
    ck_assert_str_eq(r[1].line, "Pandas");
    ck_assert_str_eq(r[2].name, "scipy");
    ck_assert_str_eq(r[2].line, "Scipy>=1.11");
    ck_assert_uint_eq(r[2].n_specs, 1);
    ck_assert_int_eq(r[2].specs[0].op, REQ_GE);
    ck_assert_str_eq(r[2].specs[0].version, "1.11");
    req_free_all(r, n);
}
END_TEST

START_TEST(test_empty_input)
{
    static const char *const blank[] = {"", "# only a comment"};
    struct app_err err = {0};
    struct req *r = (struct req *)1;
    size_t n = 99;

    ck_assert_int_eq(req_parse_lines(NULL, 0, &r, &n, &err), 0);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(req_parse_lines(blank, N(blank), &r, &n, &err), 0);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(n, 0);
    req_free_all(NULL, 0);
}
END_TEST

START_TEST(test_each_operator)
{
    static const char *const lines[] = {"a==1.0", "b!=1.0", "c<1.0", "d<=1.0", "e>1.0", "f>=1.0"};
    static const enum req_op ops[] = {REQ_EQ, REQ_NE, REQ_LT, REQ_LE, REQ_GT, REQ_GE};
    static const char *const text[] = {"==", "!=", "<", "<=", ">", ">="};
    size_t n;
    struct req *r = parse_ok(lines, N(lines), &n);

    ck_assert_uint_eq(n, N(lines));
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(r[i].n_specs, 1);
        ck_assert_int_eq(r[i].specs[0].op, ops[i]);
        ck_assert_str_eq(r[i].specs[0].version, "1.0");
        ck_assert_str_eq(req_op_str(ops[i]), text[i]);
    }
    req_free_all(r, n);
}
END_TEST

START_TEST(test_multiple_specs_spaces_extras)
{
    static const char *const lines[] = {
        "numpy>=1.26,<2",
        "scipy >= 1.11 , < 2 ,!=1.11.2",
        "requests[security, socks]>=2.31",
        "Pillow [ ] == 10.2.0",
        "six",
    };
    size_t n;
    struct req *r = parse_ok(lines, N(lines), &n);

    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(r[0].n_specs, 2);
    ck_assert_int_eq(r[0].specs[0].op, REQ_GE);
    ck_assert_str_eq(r[0].specs[0].version, "1.26");
    ck_assert_int_eq(r[0].specs[1].op, REQ_LT);
    ck_assert_str_eq(r[0].specs[1].version, "2");
    ck_assert_uint_eq(r[1].n_specs, 3);
    /* Assertions are kept in canonical order (by version, then operator). */
    ck_assert_int_eq(r[1].specs[0].op, REQ_GE);
    ck_assert_int_eq(r[1].specs[1].op, REQ_NE);
    ck_assert_str_eq(r[1].specs[1].version, "1.11.2");
    ck_assert_int_eq(r[1].specs[2].op, REQ_LT);
    ck_assert_str_eq(r[2].name, "requests");
    ck_assert_uint_eq(r[2].n_specs, 1);
    ck_assert_uint_eq(r[2].n_extras, 2);
    ck_assert_str_eq(r[2].extras[0], "security");
    ck_assert_str_eq(r[2].extras[1], "socks");
    ck_assert_str_eq(r[3].name, "pillow");
    ck_assert_int_eq(r[3].specs[0].op, REQ_EQ);
    ck_assert_uint_eq(r[4].n_specs, 0);
    req_free_all(r, n);
}
END_TEST

START_TEST(test_duplicates_merge)
{
    static const char *const lines[] = {"numpy>=1.26", "pandas", "NumPy<2", "numpy"};
    const struct req_spec *failed = NULL;
    size_t n;
    struct req *r = parse_ok(lines, N(lines), &n);

    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(r[0].name, "numpy");
    ck_assert_str_eq(r[0].line, "numpy>=1.26");
    ck_assert_uint_eq(r[0].n_specs, 2);
    ck_assert_str_eq(r[1].name, "pandas");
    /* both assertions must hold */
    ck_assert_int_eq(req_check(&r[0], "1.26.4", &failed), 1);
    ck_assert_int_eq(req_check(&r[0], "2.0.1", &failed), 0);
    ck_assert_int_eq(failed->op, REQ_LT);
    ck_assert_int_eq(req_check(&r[0], "1.25", &failed), 0);
    ck_assert_int_eq(failed->op, REQ_GE);
    req_free_all(r, n);
}
END_TEST

/* Each pair: a < b. */
START_TEST(test_version_order)
{
    static const char *const less[][2] = {
        {"1.9", "1.10"},
        {"1.26", "1.26.4"},
        {"1.26.4", "2"},
        {"0.9.9", "1"},
        {"1.0.dev1", "1.0a1"},
        {"1.0a1", "1.0a2"},
        {"1.0a2", "1.0b1"},
        {"1.0b1", "1.0rc1"},
        {"1.0rc1", "1.0"},
        {"1.0", "1.0.post1"},
        {"1.0.post1.dev1", "1.0.post1"},
        {"1.0a1.dev1", "1.0a1"},
        {"1.0a1", "1.0a1.post1"},
        {"2.0.0rc1", "2.0.0"},
        {"9999999999999999999", "99999999999999999999"},
        {"2.0", "1!0.1"},
        {"1.0", "1.0+local"},
        {"1.0+abc", "1.0+abc.1"},
        {"1.0+abc", "1.0+abd"},
        {"1.0+zzz", "1.0+1"},
        {"1.0+2", "1.0+10"},
        {"1.0", "not a version"},
        {"not a version", "other junk"},
    };

    for (size_t i = 0; i < N(less); i++) {
        ck_assert_msg(req_version_cmp(less[i][0], less[i][1]) < 0, "%s < %s", less[i][0],
                      less[i][1]);
        ck_assert_msg(req_version_cmp(less[i][1], less[i][0]) > 0, "%s > %s", less[i][1],
                      less[i][0]);
    }
}
END_TEST

START_TEST(test_version_equal)
{
    static const char *const same[][2] = {
        {"1.26", "1.26.0"},       {"1.26.0.0", "1.26"},    {"1.01", "1.1"},
        {"v1.0", "1.0"},          {"1.0-1", "1.0.post1"},  {"1.0ALPHA1", "1.0a1"},
        {"1.0.c1", "1.0rc1"},     {"1.0-pre_2", "1.0rc2"}, {"1.0.post", "1.0.post0"},
        {"1.0rev3", "1.0.post3"}, {"1.0dev", "1.0.dev0"},  {"0!1.0", "1.0"},
        {"1.0+ABC", "1.0+abc"},   {"1.0+a-b", "1.0+a.b"},
    };

    for (size_t i = 0; i < N(same); i++)
        ck_assert_msg(req_version_cmp(same[i][0], same[i][1]) == 0, "%s == %s", same[i][0],
                      same[i][1]);
}
END_TEST

START_TEST(test_version_valid)
{
    static const char *const ok[] = {"1",         "1.26.4", "2.0.0rc1", "1.0.post1", "1!2.0",
                                     "1.0+cpu.1", "2024.1", "1.0a",     "1.0.dev3"};
    static const char *const bad[] = {"",
                                      "1.",
                                      ".1",
                                      "1..2",
                                      "a1",
                                      "1.0+",
                                      "1.0+a.",
                                      "1.0-",
                                      "1.0 ",
                                      "1.0.x",
                                      "1.26.*",
                                      "1,0",
                                      "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17"};

    for (size_t i = 0; i < N(ok); i++)
        ck_assert_msg(req_version_valid(ok[i]), "%s", ok[i]);
    for (size_t i = 0; i < N(bad); i++)
        ck_assert_msg(!req_version_valid(bad[i]), "%s", bad[i]);
    ck_assert(!req_version_valid(NULL));
}
END_TEST

START_TEST(test_check)
{
    static const struct {
        const char *line, *version;
        int ok;
    } cases[] = {
        {"numpy==1.26.4", "1.26.4", 1},
        {"numpy==1.26.4", "1.26.5", 0},
        {"numpy==1.26", "1.26.0", 1},
        {"numpy!=1.26.4", "1.26.4", 0},
        {"numpy!=1.26.4", "1.26.3", 1},
        {"numpy<2", "1.26.4", 1},
        {"numpy<2", "2.0", 0},
        {"numpy<=2", "2.0.0", 1},
        {"numpy<=2", "2.0.1", 0},
        {"numpy>1.26", "1.26.0", 0},
        {"numpy>1.26", "1.26.1", 1},
        {"numpy>=1.26", "1.26", 1},
        {"numpy>=1.26", "1.25.9", 0},
        {"numpy<2", "2.0.0rc1", 1},
        {"torch==2.1", "2.1+cpu", 1},
        {"torch==2.1+cpu", "2.1+gpu", 0},
        {"torch==2.1+cpu", "2.1+cpu", 1},
        {"numpy>=1", "weird-version", 0},
        {"numpy!=1", "weird-version", 1},
        {"numpy", "anything", 1},
    };

    for (size_t i = 0; i < N(cases); i++) {
        const char *line = cases[i].line;
        const struct req_spec *failed = NULL;
        size_t n;
        struct req *r = parse_ok(&line, 1, &n);

        ck_assert_msg(req_check(r, cases[i].version, &failed) == cases[i].ok, "%s vs %s",
                      cases[i].line, cases[i].version);
        if (cases[i].ok)
            ck_assert_ptr_null(failed);
        else
            ck_assert_ptr_eq(failed, &r->specs[0]);
        ck_assert_int_eq(req_check(r, cases[i].version, NULL), cases[i].ok);
        req_free_all(r, n);
    }
}
END_TEST

START_TEST(test_invalid_lines_collected)
{
    static const char *const lines[] = {
        "numpy==1.26.4",                 /* 1 ok */
        "numpy===1.26.4",                /* 2 */
        "scipy~=1.11",                   /* 3 */
        "-r other.txt",                  /* 4 */
        "-e ./src",                      /* 5 */
        "https://example.com/x.whl",     /* 6 */
        "foo @ https://example.com/foo", /* 7 */
        "foo; python_version < '3.12'",  /* 8 */
        "pandas  # fine",                /* 9 ok */
        "foo==1.26.*",                   /* 10 */
        "foo>=",                         /* 11 */
        "foo>=1,",                       /* 12 */
        ">=1",                           /* 13 */
        "foo bar",                       /* 14 */
        "foo>=1.0abc",                   /* 15 */
        "-foo",                          /* 16 */
        "foo_>=1",                       /* 17 */
        "foo[bar",                       /* 18 */
        "foo \\",                        /* 19 */
        "foo=1",                         /* 20 */
        "foo\x01",                       /* 21 */
        "scipy#not-a-comment",           /* 22 */
    };
    struct app_err err = {0};
    struct req *r = (struct req *)1;
    size_t n = 7, bad = 0, k = 0;

    ck_assert_int_eq(req_parse_lines(lines, N(lines), &r, &n, &err), -1);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(err.code, APP_EUNPROCESSABLE);
    ck_assert_str_eq(err.msg, "20 requirement lines are invalid");
    ck_assert_ptr_nonnull(err.errors);
    ck_assert_int_eq(cJSON_GetArraySize(err.errors), 20);
    for (size_t i = 0; i < N(lines); i++) {
        cJSON *e, *code, *line, *msg;
        char want[64];

        if (i == 0 || i == 8)
            continue;
        e = cJSON_GetArrayItem(err.errors, (int)k++);
        code = cJSON_GetObjectItemCaseSensitive(e, "code");
        line = cJSON_GetObjectItemCaseSensitive(e, "line");
        msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        ck_assert_str_eq(cJSON_GetStringValue(code), "invalid_requirement");
        ck_assert_str_eq(cJSON_GetStringValue(line), lines[i]);
        snprintf(want, sizeof(want), "(line %zu): ", i + 1);
        ck_assert_msg(strstr(cJSON_GetStringValue(msg), want), "%s", cJSON_GetStringValue(msg));
        ck_assert_msg(strncmp(cJSON_GetStringValue(msg), "invalid requirement '", 21) == 0, "%s",
                      cJSON_GetStringValue(msg));
        bad++;
    }
    ck_assert_uint_eq(bad, 20);
    app_err_release(&err);
}
END_TEST

START_TEST(test_invalid_messages)
{
    static const struct {
        const char *line, *says;
    } cases[] = {
        {"numpy===1", "'===' (arbitrary equality) is not supported"},
        {"numpy~=1.2", "'~=' (compatible release) is not supported"},
        {"numpy==1.*", "wildcard versions such as '1.*' are not supported"},
        {"-r x.txt", "options such as '-r'"},
        {"numpy>=", "'>=' has no version"},
        {"numpy>=1.x", "'1.x' is not a valid version"},
        {"numpy; os_name == 'nt'", "environment markers"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        struct app_err err = {0};
        struct req *r = NULL;
        size_t n;
        const char *msg;

        ck_assert_int_eq(req_parse_lines(&cases[i].line, 1, &r, &n, &err), -1);
        ck_assert_str_eq(err.msg, "1 requirement line is invalid");
        msg = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(err.errors, 0), "message"));
        ck_assert_msg(strstr(msg, cases[i].says), "%s", msg);
        app_err_release(&err);
    }
}
END_TEST

START_TEST(test_split_text)
{
    static const char text[] = "\xEF\xBB\xBFnumpy>=1.26\r\n\n# c\npandas";
    struct app_err err = {0};
    char **lines;
    size_t n;

    ck_assert_int_eq(req_split_text(text, strlen(text), &lines, &n, &err), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(lines[0], "numpy>=1.26");
    ck_assert_str_eq(lines[1], "");
    ck_assert_str_eq(lines[2], "# c");
    ck_assert_str_eq(lines[3], "pandas");
    {
        size_t nr;
        struct req *r = parse_ok((const char *const *)lines, n, &nr);

        ck_assert_uint_eq(nr, 2);
        req_free_all(r, nr);
    }
    strv_free(lines, n);

    /* a final newline does not make an empty last line */
    ck_assert_int_eq(req_split_text("a\nb\n", 4, &lines, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    strv_free(lines, n);

    ck_assert_int_eq(req_split_text("", 0, &lines, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(lines);
    strv_free(NULL, 0);

    ck_assert_int_eq(req_split_text("a\0b", 3, &lines, &n, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    ck_assert_ptr_null(lines);
    app_err_release(&err);
}
END_TEST

static Suite *
req_suite(void)
{
    Suite *s = suite_create("req");
    TCase *t = tcase_create("parse");

    tcase_add_test(t, test_normalize);
    tcase_add_test(t, test_comments_and_blank_lines);
    tcase_add_test(t, test_empty_input);
    tcase_add_test(t, test_each_operator);
    tcase_add_test(t, test_multiple_specs_spaces_extras);
    tcase_add_test(t, test_duplicates_merge);
    tcase_add_test(t, test_version_order);
    tcase_add_test(t, test_version_equal);
    tcase_add_test(t, test_version_valid);
    tcase_add_test(t, test_check);
    tcase_add_test(t, test_invalid_lines_collected);
    tcase_add_test(t, test_invalid_messages);
    tcase_add_test(t, test_split_text);
    suite_add_tcase(s, t);
    return s;
}

int
main(void)
{
    return unit_run(req_suite());
}
