/* tests/unit/test_hardening.c: the pure pieces of issue 9 (hostile clients): the
 * webhook address check, token buckets, the LRU cache bounded in bytes, strict JSON,
 * query parsing, the file-name rule, URL encoding and requirement normalization. */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/fs.h"
#include "app/jsonstrict.h"
#include "app/lrucache.h"
#include "app/mem.h"
#include "app/netcheck.h"
#include "app/query.h"
#include "app/ratelimit.h"
#include "app/url.h"
#include "catalog/req.h"

static int
v4(const char *s)
{
    struct in_addr a;

    ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
    return net_v4_refused(a.s_addr);
}

static int
v6(const char *s)
{
    struct in6_addr a;

    ck_assert_int_eq(inet_pton(AF_INET6, s, &a), 1);
    return net_v6_refused(a.s6_addr);
}

START_TEST(test_netcheck_v4)
{
    static const char *const refused[] = {
        "0.0.0.0",         "0.1.2.3",        "10.0.0.1",       "10.255.255.255",  "100.64.0.1",
        "100.127.255.1",   "127.0.0.1",      "127.255.0.9",    "169.254.169.254", "169.254.0.1",
        "172.16.0.1",      "172.31.255.255", "192.0.0.8",      "192.0.2.1",       "192.168.0.1",
        "198.18.0.1",      "198.19.255.1",   "198.51.100.7",   "203.0.113.9",     "224.0.0.1",
        "239.255.255.250", "240.0.0.1",      "255.255.255.255"};
    static const char *const allowed[] = {"1.1.1.1",         "8.8.8.8",         "100.63.255.255",
                                          "100.128.0.0",     "172.15.255.255",  "172.32.0.0",
                                          "169.253.255.255", "192.169.0.1",     "198.20.0.1",
                                          "11.0.0.1",        "126.255.255.255", "223.255.255.255"};

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ck_assert_msg(v4(refused[i]) == 1, "%s must be refused", refused[i]);
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        ck_assert_msg(v4(allowed[i]) == 0, "%s must be allowed", allowed[i]);
}
END_TEST

START_TEST(test_netcheck_v6)
{
    static const char *const refused[] = {"::",
                                          "::1",
                                          "fc00::1",
                                          "fd00:ec2::254",
                                          "fe80::1",
                                          "febf::1",
                                          "fec0::1",
                                          "ff02::1",
                                          "2001:db8::1",
                                          "100::1",
                                          "::ffff:127.0.0.1",
                                          "::ffff:10.1.2.3",
                                          "::ffff:169.254.169.254",
                                          "64:ff9b::a9fe:a9fe",
                                          "::127.0.0.1"};
    static const char *const allowed[] = {"2606:4700::1111", "2001:4860:4860::8888",
                                          "::ffff:8.8.8.8",  "64:ff9b::808:808",
                                          "2001:db9::1",     "fbff::1"};

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ck_assert_msg(v6(refused[i]) == 1, "%s must be refused", refused[i]);
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        ck_assert_msg(v6(allowed[i]) == 0, "%s must be allowed", allowed[i]);
}
END_TEST

START_TEST(test_netcheck_sockaddr_and_literals)
{
    struct sockaddr_in in = {0};
    struct sockaddr_in6 in6 = {0};
    struct sockaddr other = {0};

    in.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    ck_assert_int_eq(net_addr_refused((struct sockaddr *)&in), 1);
    inet_pton(AF_INET, "93.184.216.34", &in.sin_addr);
    ck_assert_int_eq(net_addr_refused((struct sockaddr *)&in), 0);
    in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    ck_assert_int_eq(net_addr_refused((struct sockaddr *)&in6), 1);
    other.sa_family = AF_UNIX;
    ck_assert_int_eq(net_addr_refused(&other), 1);
    ck_assert_int_eq(net_addr_refused(NULL), 1);
    ck_assert_int_eq(net_literal_refused("127.0.0.1"), 1);
    ck_assert_int_eq(net_literal_refused("[::1]"), 1);
    ck_assert_int_eq(net_literal_refused("[fe80::1%eth0]"), 1);
    ck_assert_int_eq(net_literal_refused("8.8.8.8"), 0);
    ck_assert_int_eq(net_literal_refused("example.com"), 0); /* names: at connect time */
    ck_assert_int_eq(net_literal_refused("localhost"), 0);
}
END_TEST

START_TEST(test_ratelimit)
{
    struct ratelimit *rl;
    double rate, burst;
    unsigned retry = 0;

    ck_assert_int_eq(rl_parse("10/s", &rate, &burst), 0);
    ck_assert(rate == 10 && burst == 10);
    ck_assert_int_eq(rl_parse("2.5/s,7", &rate, &burst), 0);
    ck_assert(rate == 2.5 && burst == 7);
    ck_assert_int_eq(rl_parse("0.5/s", &rate, &burst), 0);
    ck_assert(burst == 1);
    ck_assert_int_eq(rl_parse("10", &rate, &burst), -1);
    ck_assert_int_eq(rl_parse("0/s", &rate, &burst), -1);
    ck_assert_int_eq(rl_parse("-1/s", &rate, &burst), -1);
    ck_assert_int_eq(rl_parse("5/s,0", &rate, &burst), -1);
    ck_assert_int_eq(rl_parse("5/s,1.5", &rate, &burst), -1);
    ck_assert_int_eq(rl_parse("5/m", &rate, &burst), -1);
    ck_assert_int_eq(rl_parse("5/s,", &rate, &burst), -1);
    ck_assert_ptr_null(rl_new(0, 1));
    ck_assert_int_eq(rl_take(NULL, "x", 0, &retry), 0);

    rl = rl_new(2, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rl_take(rl, "ip:1", 100.0, &retry), 0);
    ck_assert_int_eq(rl_take(rl, "ip:1", 100.0, &retry), -1);
    ck_assert_uint_eq(retry, 1);
    ck_assert_int_eq(rl_take(rl, "ip:2", 100.0, &retry), 0); /* another client */
    ck_assert_int_eq(rl_take(rl, "ip:1", 100.6, &retry), 0); /* 1.2 tokens back */
    ck_assert_int_eq(rl_take(rl, "ip:1", 100.6, &retry), -1);
    ck_assert_int_eq(rl_take(rl, "ip:1", 200.0, &retry), 0); /* capped at the burst */
    ck_assert_int_eq(rl_take(rl, "ip:1", 200.0, &retry), 0);
    ck_assert_int_eq(rl_take(rl, "ip:1", 200.0, &retry), 0);
    ck_assert_int_eq(rl_take(rl, "ip:1", 200.0, &retry), -1);
    rl_free(rl);

    rl = rl_new(0.1, 1); /* one per 10 s: Retry-After counts whole seconds */
    ck_assert_int_eq(rl_take(rl, "t:a", 0, &retry), 0);
    ck_assert_int_eq(rl_take(rl, "t:a", 0, &retry), -1);
    ck_assert_uint_eq(retry, 10);
    rl_free(rl);
}
END_TEST

START_TEST(test_lrucache_bounded_lru)
{
    struct lcache *c = lcache_new(4096);
    char key[32], val[600], *got;
    size_t len = 0;
    unsigned long g1 = 1, g2 = 2;

    memset(val, 'v', sizeof(val));
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        lcache_put(c, key, val, sizeof(val), g1);
        ck_assert_uint_le(lcache_bytes(c), 4096);
        if (i == 50) { /* touch k48: it becomes the most recent */
            got = lcache_get(c, "k48", &len, NULL);
            ck_assert_ptr_nonnull(got);
            free(got);
        }
    }
    ck_assert_uint_le(lcache_count(c), 6);
    ck_assert_ptr_null(lcache_get(c, "k0", &len, NULL));
    got = lcache_get(c, "k99", &len, &g1);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(len, sizeof(val));
    ck_assert_int_eq(got[len], '\0');
    free(got);
    /* Another generation counts as absent and is dropped. */
    ck_assert_ptr_null(lcache_get(c, "k99", &len, &g2));
    ck_assert_ptr_null(lcache_get(c, "k99", &len, NULL));
    /* Replacing a key does not double-count. */
    lcache_put(c, "k98", "x", 1, g1);
    lcache_put(c, "k98", "y", 1, g1);
    got = lcache_get(c, "k98", &len, NULL);
    ck_assert_str_eq(got, "y");
    free(got);
    /* A value over the whole budget is not kept, and evicts nothing for it. */
    {
        size_t before = lcache_count(c);
        char *big = xcalloc(1, 8192);

        lcache_put(c, "big", big, 8192, g1);
        free(big);
        ck_assert_ptr_null(lcache_get(c, "big", &len, NULL));
        ck_assert_uint_eq(lcache_count(c), before);
    }
    lcache_free(c);
    c = lcache_new(0); /* --resolve-cache 0: nothing is kept */
    lcache_put(c, "a", "b", 1, g1);
    ck_assert_ptr_null(lcache_get(c, "a", &len, NULL));
    lcache_free(c);
}
END_TEST

static int
strict(const char *s)
{
    struct app_err err = {0};
    int r = json_strict_check(s, strlen(s), &err);

    app_err_release(&err);
    return r;
}

START_TEST(test_json_strict)
{
    static const char *const good[] = {"{}",
                                       "[]",
                                       "0",
                                       "-0.5e+3",
                                       "\"\\u00e9\\ud83d\\ude00\"",
                                       "{\"a\":[1,{\"b\":null}]}",
                                       " {\"a\":1,\"b\":2} ",
                                       "\"\xc3\xa9\xf0\x9f\x98\x80\"",
                                       "1e308",
                                       "true"};
    static const char *const bad[] = {"{\"a\":1,\"a\":2}",
                                      "{\"a\":1,\"\\u0061\":2}",
                                      "1e999",
                                      "-1e400",
                                      "[1e309]",
                                      "\"\\u0000\"",
                                      "\"\xff\"",
                                      "\"\xc0\xaf\"",
                                      "\"\xed\xa0\x80\"",
                                      "\"\xf4\x90\x80\x80\"",
                                      "\"\\ud800\"",
                                      "\"\\udc00\"",
                                      "\"\\ud800\\u0041\"",
                                      "{\"a\":1,}",
                                      "[1,]",
                                      "01",
                                      "1.",
                                      ".5",
                                      "+1",
                                      "NaN",
                                      "Infinity",
                                      "\"a\tb\"",
                                      "{'a':1}",
                                      "[1] [2]",
                                      "\"\\x41\"",
                                      "",
                                      "nul"};
    char deep[200];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(strict(good[i]) == 0, "must accept %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(strict(bad[i]) == -1, "must refuse %s", bad[i]);
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    ck_assert_int_eq(strict(deep), -1);
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    ck_assert_int_eq(strict(deep), 0);
    ck_assert_int_eq(utf8_valid("abc\xc3\xa9", 5), 1);
    ck_assert_int_eq(utf8_valid("\xe0\x80\x80", 3), 0);
}
END_TEST

START_TEST(test_query_parse)
{
    struct query_tab t;
    struct app_err err = {0};
    char many[1024] = "";

    ck_assert_int_eq(query_parse("a=1&b=%41+c&flag&e=", &t, &err), 0);
    ck_assert_str_eq(query_get(&t, "a"), "1");
    ck_assert_str_eq(query_get(&t, "b"), "A c");
    ck_assert_str_eq(query_get(&t, "flag"), "");
    ck_assert_str_eq(query_get(&t, "e"), "");
    ck_assert_ptr_null(query_get(&t, "z"));
    query_release(&t);
    ck_assert_int_eq(query_parse("v=%2574", &t, &err), 0); /* decoded once */
    ck_assert_str_eq(query_get(&t, "v"), "%74");
    query_release(&t);
    ck_assert_int_eq(query_parse("a=1&a=2", &t, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    ck_assert_int_eq(query_parse("a=%00", &t, &err), -1);
    ck_assert_int_eq(query_parse("a=%4", &t, &err), -1);
    ck_assert_int_eq(query_parse("a=%zz", &t, &err), -1);
    ck_assert_int_eq(query_parse("a=%ff", &t, &err), -1); /* not UTF-8 */
    for (int i = 0; i < SRV_MAX_QUERY_PARAMS + 1; i++) {
        size_t used = strlen(many);

        snprintf(many + used, sizeof(many) - used, "%s", i ? "&x" : "x");
    }
    ck_assert_int_eq(query_parse(many, &t, &err), -1);
    ck_assert_int_eq(err.code, APP_EURI);
    ck_assert_uint_eq(query_count(many), SRV_MAX_QUERY_PARAMS + 1);
    app_err_release(&err);
}
END_TEST

START_TEST(test_file_names_and_urls)
{
    static const char *const bad[] = {"",    ".",    "..",   "a/b",   "a\\b", "a?b",
                                      "a#b", "a\rb", "a\nb", "a\x01", "a\x7f"};
    char *e;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(fs_name_check(bad[i], NULL) == -1, "must refuse %s", bad[i]);
    ck_assert_int_eq(fs_name_check("numpy-1.26.4-cp312-cp312-pyodide_2024_0_wasm32.whl", NULL), 0);
    ck_assert_int_eq(fs_name_check("..a", NULL), 0);
    e = url_encode_segment("a b/%?#+\xc3\xa9~._-");
    ck_assert_str_eq(e, "a%20b%2F%25%3F%23%2B%C3%A9~._-");
    free(e);
}
END_TEST

START_TEST(test_req_canonical_and_limits)
{
    const char *lines[] = {"NumPy[B, a,a] >= 1.0, <3, >=1.0", "numpy[c]!=2.0RC1"};
    struct req *r = NULL;
    size_t n = 0;
    struct app_err err = {0};
    char *canon, *line;

    ck_assert_int_eq(req_parse_lines(lines, 2, &r, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    canon = req_canonical(&r[0]);
    ck_assert_str_eq(canon, "numpy[a,b,c]>=1.0,!=2.0rc1,<3");
    free(canon);
    req_free_all(r, n);
    /* 33 assertions on one line; 32 is the limit. */
    line = xstrdup("numpy");
    for (int i = 0; i < 33; i++) {
        char *next = xasprintf("%s%s!=0.%d", line, i ? "," : "", i);

        free(line);
        line = next;
    }
    {
        const char *one[] = {line};

        ck_assert_int_eq(req_parse_lines(one, 1, &r, &n, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, "invalid"));
    }
    free(line);
    app_err_release(&err);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("pure");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_netcheck_v4);
    tcase_add_test(tc, test_netcheck_v6);
    tcase_add_test(tc, test_netcheck_sockaddr_and_literals);
    tcase_add_test(tc, test_ratelimit);
    tcase_add_test(tc, test_lrucache_bounded_lru);
    tcase_add_test(tc, test_json_strict);
    tcase_add_test(tc, test_query_parse);
    tcase_add_test(tc, test_file_names_and_urls);
    tcase_add_test(tc, test_req_canonical_and_limits);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
