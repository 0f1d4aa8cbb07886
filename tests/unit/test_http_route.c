/* tests/unit/test_http_route.c: request paths and headers (server/route.c,
 * server/headers.c): percent-decoding, segments, {name} and {name+} matching,
 * Accept-Encoding zstd, If-None-Match and Range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/headers.h"
#include "server/route.h"
#include "tests/lib/unit.h"

START_TEST(test_decode)
{
    char *s;

    s = srv_segment_decode("a%20b%2Fc", 9);
    ck_assert_str_eq(s, "a b/c");
    free(s);
    s = srv_segment_decode("%e2%82%ac", 9);
    ck_assert_str_eq(s, "\xe2\x82\xac");
    free(s);
    ck_assert_ptr_null(srv_segment_decode("%00", 3)); /* an encoded NUL */
    ck_assert_ptr_null(srv_segment_decode("%zz", 3));
    ck_assert_ptr_null(srv_segment_decode("abc%2", 5)); /* cut escape */
    ck_assert_ptr_null(srv_segment_decode("%", 1));
}
END_TEST

START_TEST(test_split)
{
    struct srv_segs g;

    ck_assert_int_eq(srv_path_split("/v1/flags/", &g), 0); /* trailing slash ignored */
    ck_assert_uint_eq(g.n, 2);
    ck_assert_str_eq(g.s[1], "flags");
    srv_segs_release(&g);
    ck_assert_int_eq(srv_path_split("/", &g), 0);
    srv_segs_release(&g);
    ck_assert_int_eq(srv_path_split("v1/flags", &g), -1); /* not absolute */
    ck_assert_int_eq(srv_path_split("/v1/%zz", &g), -1);
    ck_assert_int_eq(srv_path_split("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", &g), -1); /* deep */
    ck_assert_int_eq(srv_path_split("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", &g), 0);
    ck_assert_uint_eq(g.n, SRV_MAX_SEGMENTS);
    srv_segs_release(&g);
}
END_TEST

static int
match(const char *pattern, const char *path, char **params, size_t *n)
{
    struct srv_segs g;
    int ok;

    ck_assert_int_eq(srv_path_split(path, &g), 0);
    ok = srv_route_match(pattern, &g, params, n);
    srv_segs_release(&g);
    return ok;
}

START_TEST(test_match)
{
    char *p[SRV_MAX_PARAMS];
    size_t n;

    ck_assert(match("/v1/flags/{name}", "/v1/flags/python_workers", p, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(p[0], "python_workers");
    free(p[0]);
    ck_assert(!match("/v1/flags/{name}", "/v1/flags", p, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert(!match("/v1/flags/{name}", "/v1/flags/a/b", p, &n));
    ck_assert(!match("/v1/flags/{name}", "/v1/flags/a%2Fb", p, &n)); /* one segment only */
    ck_assert(!match("/v1/flags", "/v1/flag", p, &n));
    /* {id+}: two segments, or one holding an encoded slash; extra text after it. */
    ck_assert(match("/v1/package-sets/{id+}", "/v1/package-sets/pyodide-0.26.4/2024-11-15", p, &n));
    ck_assert_str_eq(p[0], "pyodide-0.26.4/2024-11-15");
    free(p[0]);
    ck_assert(
        match("/v1/package-sets/{id+}", "/v1/package-sets/pyodide-0.26.4%2F2024-11-15", p, &n));
    ck_assert_str_eq(p[0], "pyodide-0.26.4/2024-11-15");
    free(p[0]);
    ck_assert(match("/v1/package-sets/{id+}/publish",
                    "/v1/package-sets/pyodide-0.26.4/2024-11-15/publish", p, &n));
    ck_assert_str_eq(p[0], "pyodide-0.26.4/2024-11-15");
    free(p[0]);
    ck_assert(!match("/v1/package-sets/{id+}", "/v1/package-sets/only-one", p, &n));
    ck_assert(match("/v1/artifacts/sha256/{hex}/file/{name}", "/v1/artifacts/sha256/ab/file/x.whl",
                    p, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(p[1], "x.whl");
    free(p[0]);
    free(p[1]);
}
END_TEST

/* Two tables as server/routes.c lists them: a literal segment listed before a
 * parameter wins; GET serves HEAD; a known path with another method is a 405 whose
 * Allow list names every method of the path; an unknown path is a 404. */
static const struct srv_route t1[] = {
    {"GET", "/v1/workers/stats", 0, NULL, NULL},
    {"GET", "/v1/workers/{name}", 0, NULL, NULL},
    {"PUT", "/v1/workers/{name}", 0, NULL, NULL},
};
static const size_t n_t1 = sizeof(t1) / sizeof(t1[0]);
static const struct srv_route t2[] = {
    {"DELETE", "/v1/workers/{name}", 0, NULL, NULL},
    {"POST", "/v1/resolve", 0, NULL, NULL},
};
static const size_t n_t2 = sizeof(t2) / sizeof(t2[0]);
static const struct srv_routes tables[] = {{t1, &n_t1}, {t2, &n_t2}};

static void
collect(const struct srv_route *rt, void *ctx)
{
    char *allow = ctx; /* 128 bytes: find()'s buffer */
    size_t len = strlen(allow);

    snprintf(allow + len, 128 - len, "%s ", rt->method);
}

static int
find(const char *method, const char *path, const struct srv_route **rt, char **p, size_t *n,
     char *allow)
{
    struct srv_segs g;
    int rc;

    allow[0] = '\0';
    ck_assert_int_eq(srv_path_split(path, &g), 0);
    rc = srv_route_find(tables, 2, method, &g, rt, p, n, collect, allow);
    srv_segs_release(&g);
    return rc;
}

START_TEST(test_find)
{
    const struct srv_route *rt;
    char *p[SRV_MAX_PARAMS], allow[128];
    size_t n;

    ck_assert_int_eq(find("GET", "/v1/workers/stats", &rt, p, &n, allow), 1);
    ck_assert_ptr_eq(rt, &t1[0]);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(find("HEAD", "/v1/workers/w1", &rt, p, &n, allow), 1);
    ck_assert_ptr_eq(rt, &t1[1]);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(p[0], "w1");
    free(p[0]);
    /* The second table is searched too; the routes passed over are reported. */
    ck_assert_int_eq(find("DELETE", "/v1/workers/w1", &rt, p, &n, allow), 1);
    ck_assert_ptr_eq(rt, &t2[0]);
    ck_assert_str_eq(p[0], "w1");
    free(p[0]);
    ck_assert_str_eq(allow, "GET PUT ");
    ck_assert_int_eq(find("POST", "/v1/workers/w1", &rt, p, &n, allow), 0);
    ck_assert_ptr_null(rt);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(allow, "GET PUT DELETE ");
    ck_assert_int_eq(find("GET", "/v1/resolve", &rt, p, &n, allow), 0);
    ck_assert_str_eq(allow, "POST ");
    ck_assert_int_eq(find("GET", "/v1/nothing", &rt, p, &n, allow), -1);
    ck_assert_ptr_null(rt);
    ck_assert_str_eq(allow, "");
    ck_assert(srv_route_method_matches("GET", "HEAD"));
    ck_assert(!srv_route_method_matches("HEAD", "GET"));
    ck_assert(!srv_route_method_matches("PUT", "HEAD"));
}
END_TEST

START_TEST(test_accepts_zstd)
{
    ck_assert(srv_accepts_zstd("zstd"));
    ck_assert(srv_accepts_zstd("gzip, ZSTD;q=0.5"));
    ck_assert(srv_accepts_zstd("br, zstd ; q=1"));
    ck_assert(!srv_accepts_zstd(NULL));
    ck_assert(!srv_accepts_zstd("*"));
    ck_assert(!srv_accepts_zstd("gzip"));
    ck_assert(!srv_accepts_zstd("zstd;q=0"));
    ck_assert(!srv_accepts_zstd("zstd;q=0.000"));
    ck_assert(!srv_accepts_zstd("zstdx"));
}
END_TEST

START_TEST(test_none_match)
{
    const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char tag[80];

    snprintf(tag, sizeof(tag), "\"%s\"", hex);
    ck_assert(srv_none_match(tag, hex));
    snprintf(tag, sizeof(tag), "W/\"%s+zstd\"", hex);
    ck_assert(srv_none_match(tag, hex));
    snprintf(tag, sizeof(tag), "\"x\", \"%s\"", hex);
    ck_assert(srv_none_match(tag, hex));
    ck_assert(srv_none_match("*", hex));
    ck_assert(!srv_none_match("\"0123\"", hex));
    ck_assert(!srv_none_match("", hex));
}
END_TEST

START_TEST(test_range)
{
    uint64_t start, len;

    ck_assert_int_eq(srv_parse_range("bytes=0-9", 100, &start, &len), 1);
    ck_assert_uint_eq(start, 0);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(srv_parse_range("bytes=90-", 100, &start, &len), 1);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(srv_parse_range("bytes=-5", 100, &start, &len), 1);
    ck_assert_uint_eq(start, 95);
    ck_assert_int_eq(srv_parse_range("bytes=50-500", 100, &start, &len), 1);
    ck_assert_uint_eq(len, 50);
    ck_assert_int_eq(srv_parse_range("bytes=-500", 100, &start, &len), 1);
    ck_assert_uint_eq(start, 0);
    ck_assert_int_eq(srv_parse_range("bytes=100-", 100, &start, &len), -1);
    ck_assert_int_eq(srv_parse_range("bytes=-0", 100, &start, &len), -1);
    ck_assert_int_eq(srv_parse_range("bytes=0-1,5-6", 100, &start, &len), 0); /* several */
    ck_assert_int_eq(srv_parse_range("bytes=5-1", 100, &start, &len), 0);
    ck_assert_int_eq(srv_parse_range("items=0-1", 100, &start, &len), 0);
    ck_assert_int_eq(srv_parse_range("bytes=99999999999999999999-", 100, &start, &len), 0);
    ck_assert_int_eq(srv_parse_range("bytes=a-b", 100, &start, &len), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("http_route");
    TCase *tc = tcase_create("http_route");

    tcase_add_test(tc, test_decode);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_match);
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_accepts_zstd);
    tcase_add_test(tc, test_none_match);
    tcase_add_test(tc, test_range);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
