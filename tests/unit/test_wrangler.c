/* tests/unit/test_wrangler.c: the worker config reader (cli/wrangler.c): wrangler.toml,
 * wrangler.json / .jsonc (comments, trailing commas, line:column errors), --env
 * overrides, pyproject.toml dependencies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/mem.h"
#include "cli/wrangler.h"
#include "tests/lib/unit.h"

static int
parse_json(const char *text, struct cli_wrangler *w, struct app_err *err)
{
    return cli_wrangler_parse_json("/p/wrangler.jsonc", text, strlen(text), w, err);
}

START_TEST(test_jsonc_comments_and_trailing_commas)
{
    const char *text =
        "// leading comment\n"
        "{\n"
        "  \"main\": \"src/entry.py\", /* block\n comment */\n"
        "  \"compatibility_date\": \"2025-10-01\",\n"
        "  \"compatibility_flags\": [\"python_workers\", \"a//b\",],\n"
        "  \"vars\": {\"S\": \"x /* not a comment */\", \"N\": 3, \"O\": {\"a\": [1]},},\n"
        "}\n";
    struct cli_wrangler w;
    struct app_err err = {0};
    const cJSON *vars;

    ck_assert_int_eq(parse_json(text, &w, &err), 0);
    ck_assert_str_eq(w.main, "src/entry.py");
    ck_assert_str_eq(w.date, "2025-10-01");
    ck_assert_str_eq(w.dir, "/p");
    ck_assert_uint_eq(w.n_flags, 2);
    ck_assert_str_eq(w.flags[1], "a//b");
    vars = cJSON_GetObjectItemCaseSensitive(w.json, "vars");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(vars, "S")->valuestring,
                     "x /* not a comment */");
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(vars, "N")));
    ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(vars, "O")));
    cli_wrangler_release(&w);
}
END_TEST

START_TEST(test_jsonc_errors_name_line_and_column)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\n  \"main\": \"w.py\"\n  \"x\": 1\n}\n", "/p/wrangler.jsonc:3:3: "},
        {"{\"main\": \"w.py\", /* open\n", "/p/wrangler.jsonc:1:18: unterminated comment"},
        {"{\"main\": \"w.py\n\"}", "/p/wrangler.jsonc:1:10: unterminated string"},
        {"{} trailing", "/p/wrangler.jsonc:1:4: unexpected text"},
        {"[1, 2]", "must be a JSON object"},
        {"{\"main\": 3}", "\"main\" must be a string"},
        {"{\"compatibility_flags\": [1]}", "array of strings"},
        {"{\"vars\": []}", "\"vars\" must be an object"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cli_wrangler w;
        struct app_err err = {0};

        ck_assert_int_eq(parse_json(cases[i].text, &w, &err), -1);
        ck_assert_msg(strstr(err.msg, cases[i].want), "case %zu: %s", i, err.msg);
        ck_assert_int_eq(err.code, APP_EINVAL);
        ck_assert_ptr_null(w.json);
    }
}
END_TEST

START_TEST(test_env_overrides)
{
    const char *text = "{\"main\": \"w.py\", \"compatibility_date\": \"2025-01-01\",\n"
                       " \"vars\": {\"A\": \"top\", \"B\": \"top\"},\n"
                       " \"kv_namespaces\": [{\"binding\": \"KV\"}],\n"
                       " \"env\": {\"staging\": {\"compatibility_date\": \"2025-10-01\",\n"
                       "                        \"vars\": {\"A\": \"staging\"}}}}";
    struct cli_wrangler w;
    struct app_err err = {0};
    const cJSON *vars;

    ck_assert_int_eq(parse_json(text, &w, &err), 0);
    ck_assert_int_eq(cli_wrangler_apply_env(&w, "nope", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no environment 'nope'"));
    ck_assert_int_eq(cli_wrangler_apply_env(&w, "staging", &err), 0);
    ck_assert_str_eq(w.date, "2025-10-01");
    ck_assert_str_eq(w.main, "w.py"); /* inherited */
    vars = cJSON_GetObjectItemCaseSensitive(w.json, "vars");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(vars, "A")->valuestring, "staging");
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(vars, "B")); /* vars: not inherited */
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(w.json, "kv_namespaces"));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(w.json, "env"));
    cli_wrangler_release(&w);
}
END_TEST

START_TEST(test_toml)
{
    const char *text =
        "name = \"x\"\nmain = \"worker.py\"\ncompatibility_date = 2025-10-01\n"
        "compatibility_flags = [\n  \"python_workers\", # c\n]\n\n[vars]\nK = \"v\"\n";
    struct cli_wrangler w;
    struct app_err err = {0};

    ck_assert_int_eq(cli_wrangler_parse("/q/wrangler.toml", text, strlen(text), &w, &err), 0);
    ck_assert_str_eq(w.main, "worker.py");
    ck_assert_str_eq(w.date, "2025-10-01");
    ck_assert_uint_eq(w.n_flags, 1);
    ck_assert_str_eq(w.flags[0], "python_workers");
    ck_assert_int_eq(w.has_flags, 1);
    ck_assert_str_eq(w.dir, "/q");
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(w.json, "vars"), "K")
            ->valuestring,
        "v");
    cli_wrangler_release(&w);
    /* Errors name the file and the line. */
    ck_assert_int_eq(cli_wrangler_parse("/q/wrangler.toml", "main = \n", 8, &w, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "/q/wrangler.toml:1: "));
    app_err_release(&err);
    ck_assert_int_eq(cli_wrangler_parse("/q/wrangler.toml", "a = 1\nb = [\n", 12, &w, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "/q/wrangler.toml:"));
    app_err_release(&err);
    /* The fields almanac reads keep their types. */
    ck_assert_int_eq(cli_wrangler_parse("/q/wrangler.toml", "main = 1\n", 9, &w, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "\"main\" must be a string"));
    app_err_release(&err);
    text = "compatibility_flags = [\"a\", 2]\n";
    ck_assert_int_eq(cli_wrangler_parse("/q/wrangler.toml", text, strlen(text), &w, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "array of strings"));
    app_err_release(&err);
    /* Strings: escapes, literal and multi-line forms; no flags key means has_flags 0. */
    text = "main = 'src\\w.py'\ncompatibility_date = \"2025-\\u0030\\u0031-01\"\n"
           "[vars]\nM = \"\"\"\nl1\nl2\"\"\"\n";
    ck_assert_int_eq(cli_wrangler_parse("w.toml", text, strlen(text), &w, &err), 0);
    ck_assert_str_eq(w.main, "src\\w.py");
    ck_assert_str_eq(w.date, "2025-01-01");
    ck_assert_int_eq(w.has_flags, 0);
    ck_assert_str_eq(w.dir, ".");
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(w.json, "vars"), "M")
            ->valuestring,
        "l1\nl2");
    cli_wrangler_release(&w);
    /* A NUL byte is not text. */
    ck_assert_int_eq(cli_wrangler_parse("/q/wrangler.toml", "main = \"a\"\0\n", 12, &w, &err), -1);
    app_err_release(&err);
}
END_TEST

START_TEST(test_toml_as_json)
{
    const char *text = "name = \"w\"\nmain = \"src/entry.py\"\ncompatibility_date = 2025-10-01\n"
                       "compatibility_flags = [\"python_workers\"]\n"
                       "[vars]\nS = \"s\"\nN = 3\nB = true\n"
                       "[[rules]]\nglobs = [\"vendor/**\"]\ntype = \"Data\"\nfallthrough = true\n"
                       "[[kv_namespaces]]\nbinding = \"KV\"\nid = \"1\"\n"
                       "[[kv_namespaces]]\nbinding = \"KV2\"\nid = \"2\"\n"
                       "[assets]\ndirectory = \"./public\"\n"
                       "[triggers]\ncrons = [\"*/5 * * * *\"]\n"
                       "[env.staging]\ncompatibility_date = \"2026-01-01\"\n"
                       "[env.staging.vars]\nS = \"staging\"\n";
    struct cli_wrangler w;
    struct app_err err = {0};
    const cJSON *j, *vars;

    ck_assert_int_eq(cli_wrangler_parse("/q/wrangler.toml", text, strlen(text), &w, &err), 0);
    j = w.json;
    vars = cJSON_GetObjectItemCaseSensitive(j, "vars");
    ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(vars, "S")));
    ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(vars, "N")->valuedouble, 3);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vars, "B")));
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "compatibility_date")->valuestring,
                     "2025-10-01");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "kv_namespaces")), 2);
    ck_assert_str_eq(
        cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "rules"), 0), "globs"),
            0)
            ->valuestring,
        "vendor/**");
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "assets"), "directory")
            ->valuestring,
        "./public");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(j, "triggers"), "crons")),
                     1);
    ck_assert_int_eq(cli_wrangler_apply_env(&w, "staging", &err), 0);
    ck_assert_str_eq(w.date, "2026-01-01");
    ck_assert_str_eq(w.main, "src/entry.py");
    vars = cJSON_GetObjectItemCaseSensitive(w.json, "vars");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(vars, "S")->valuestring, "staging");
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(vars, "N"));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(w.json, "kv_namespaces"));
    cli_wrangler_release(&w);
}
END_TEST

START_TEST(test_find_and_pyproject)
{
    char tmpl[] = "/tmp/almanac-wr-XXXXXX";
    char *d = mkdtemp(tmpl), *p, *found, *deps = NULL;
    struct app_err err = {0};
    FILE *f;

    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(cli_wrangler_find(d));
    p = xasprintf("%s/wrangler.toml", d);
    f = fopen(p, "w");
    fputs("main = \"w.py\"\n", f);
    fclose(f);
    found = cli_wrangler_find(d);
    ck_assert_str_eq(found, p);
    free(found);
    free(p);
    p = xasprintf("%s/wrangler.jsonc", d);
    f = fopen(p, "w");
    fputs("{}", f);
    fclose(f);
    found = cli_wrangler_find(d); /* wrangler's order: json, jsonc, toml */
    ck_assert_str_eq(found, p);
    free(found);
    unlink(p);
    free(p);
    p = xasprintf("%s/wrangler.toml", d);
    unlink(p);
    free(p);
    p = xasprintf("%s/pyproject.toml", d);
    f = fopen(p, "w");
    fputs("[project]\nname = \"x\"\ndependencies = [\n  \"jinja2\",\n  \"numpy>=1\",\n]\n"
          "[dependency-groups]\ndev = [\"workers-py\"]\n",
          f);
    fclose(f);
    ck_assert_int_eq(cli_pyproject_deps(p, &deps, &err), 0);
    ck_assert_str_eq(deps, "jinja2\nnumpy>=1\n");
    free(deps);
    unlink(p);
    free(p);
    rmdir(d);
}
END_TEST

static Suite *
wrangler_suite(void)
{
    Suite *s = suite_create("wrangler");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_jsonc_comments_and_trailing_commas);
    tcase_add_test(tc, test_jsonc_errors_name_line_and_column);
    tcase_add_test(tc, test_env_overrides);
    tcase_add_test(tc, test_toml);
    tcase_add_test(tc, test_toml_as_json);
    tcase_add_test(tc, test_find_and_pyproject);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return unit_run(wrangler_suite());
}
