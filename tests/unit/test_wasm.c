/* tests/unit/test_wasm.c: the bounded Wasm reader (artifacts/wasm.c).
 *
 * Checked against a small side module made by clang + wasm-ld (embedded below),
 * hand-built malformed modules, and, when the Pyodide npm packages are in the
 * almanac cache, against `wasm-objdump -h -x` on each runtime's pyodide.asm.wasm.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "artifacts/wasm.h"
#include "tests/lib/unit.h"

/* clang --target=wasm32-unknown-emscripten -fPIC; wasm-ld --experimental-pic
 * -shared --export-dynamic --strip-all, linked against libb.so:
 *   extern int other(int); int foo(int x) { return other(x) + 1; } int data[4] = {1}; */
static const uint8_t liba_so[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x08, 0x64, 0x79, 0x6c, 0x69, 0x6e,
    0x6b, 0x2e, 0x30, 0x01, 0x04, 0x10, 0x04, 0x00, 0x00, 0x02, 0x09, 0x01, 0x07, 0x6c, 0x69, 0x62,
    0x62, 0x2e, 0x73, 0x6f, 0x01, 0x09, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00, 0x02,
    0x44, 0x04, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01,
    0x03, 0x65, 0x6e, 0x76, 0x0d, 0x5f, 0x5f, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x5f, 0x62, 0x61,
    0x73, 0x65, 0x03, 0x7f, 0x00, 0x03, 0x65, 0x6e, 0x76, 0x0c, 0x5f, 0x5f, 0x74, 0x61, 0x62, 0x6c,
    0x65, 0x5f, 0x62, 0x61, 0x73, 0x65, 0x03, 0x7f, 0x00, 0x03, 0x65, 0x6e, 0x76, 0x05, 0x6f, 0x74,
    0x68, 0x65, 0x72, 0x00, 0x00, 0x03, 0x04, 0x03, 0x01, 0x01, 0x00, 0x06, 0x06, 0x01, 0x7f, 0x00,
    0x41, 0x00, 0x0b, 0x07, 0x0e, 0x02, 0x03, 0x66, 0x6f, 0x6f, 0x00, 0x03, 0x04, 0x64, 0x61, 0x74,
    0x61, 0x03, 0x02, 0x08, 0x01, 0x02, 0x0a, 0x17, 0x03, 0x04, 0x00, 0x10, 0x02, 0x0b, 0x02, 0x00,
    0x0b, 0x0d, 0x00, 0x20, 0x00, 0x10, 0x80, 0x80, 0x80, 0x80, 0x00, 0x41, 0x01, 0x6a, 0x0b, 0x0b,
    0x16, 0x01, 0x00, 0x23, 0x00, 0x0b, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

/* A growable byte string for building modules. */
struct bytes {
    uint8_t b[4096];
    size_t n;
};

static void
put(struct bytes *x, const void *p, size_t n)
{
    ck_assert_uint_le(x->n + n, sizeof(x->b));
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static void
put1(struct bytes *x, uint8_t v)
{
    put(x, &v, 1);
}

static void
leb(struct bytes *x, uint32_t v)
{
    do {
        uint8_t b = v & 0x7f;

        v >>= 7;
        put1(x, (uint8_t)(b | (v ? 0x80 : 0)));
    } while (v);
}

static void
name(struct bytes *x, const char *s)
{
    leb(x, (uint32_t)strlen(s));
    put(x, s, strlen(s));
}

static void
header(struct bytes *x)
{
    x->n = 0;
    put(x, "\0asm\1\0\0\0", 8);
}

static void
section(struct bytes *x, uint8_t id, const struct bytes *body)
{
    put1(x, id);
    leb(x, (uint32_t)body->n);
    put(x, body->b, body->n);
}

/* Parse and expect failure with msg containing want. */
static void
expect_fail(const void *p, size_t n, const char *want)
{
    struct app_err err = {0};
    cJSON *f = NULL;

    ck_assert_int_eq(art_wasm_parse(p, n, &f, &err), -1);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(err.code, APP_EUNPROCESSABLE);
    ck_assert_msg(strstr(err.msg, want) != NULL, "'%s' does not say '%s'", err.msg, want);
}

static cJSON *
expect_ok(const void *p, size_t n)
{
    struct app_err err = {0};
    cJSON *f = NULL;

    ck_assert_msg(art_wasm_parse(p, n, &f, &err) == 0, "parse failed: %s", err.msg);
    ck_assert_ptr_nonnull(f);
    return f;
}

static double
num(const cJSON *o, const char *path)
{
    char buf[128], *save = NULL, *tok;
    const cJSON *v = o;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
        v = cJSON_GetObjectItemCaseSensitive(v, tok);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", path);
    return v->valuedouble;
}

START_TEST(test_header_only)
{
    cJSON *f = expect_ok("\0asm\1\0\0\0", 8);

    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "sections")), 0);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(f, "dylink")));
    ck_assert_int_eq((int)num(f, "imports.count"), 0);
    ck_assert_int_eq((int)num(f, "size"), 8);
    cJSON_Delete(f);
}
END_TEST

START_TEST(test_side_module)
{
    cJSON *f = expect_ok(liba_so, sizeof(liba_so));
    cJSON *secs = cJSON_GetObjectItem(f, "sections");
    cJSON *d = cJSON_GetObjectItem(f, "dylink");
    cJSON *items, *it;
    /* wasm-objdump -h liba.so: name, start, size, count */
    static const struct {
        const char *name;
        int offset, size, count;
    } want[] = {
        {"dylink.0", 0x0a, 0x1a, -1}, {"type", 0x26, 9, 2},    {"import", 0x31, 0x44, 4},
        {"function", 0x77, 4, 3},     {"global", 0x7d, 6, 1},  {"export", 0x85, 0x0e, 2},
        {"start", 0x95, 1, -1},       {"code", 0x98, 0x17, 3}, {"data", 0xb1, 0x16, 1},
    };

    ck_assert_int_eq(cJSON_GetArraySize(secs), 9);
    for (int i = 0; i < 9; i++) {
        cJSON *s = cJSON_GetArrayItem(secs, i);

        ck_assert_str_eq(cJSON_GetObjectItem(s, "name")->valuestring, want[i].name);
        ck_assert_int_eq((int)num(s, "offset"), want[i].offset);
        ck_assert_int_eq((int)num(s, "size"), want[i].size);
        if (want[i].count >= 0)
            ck_assert_int_eq((int)num(s, "count"), want[i].count);
    }
    ck_assert_int_eq((int)num(cJSON_GetArrayItem(secs, 6), "start"), 2);
    ck_assert_int_eq((int)num(f, "imports.count"), 4);
    ck_assert_int_eq((int)num(f, "imports.memory"), 1);
    ck_assert_int_eq((int)num(f, "imports.global"), 2);
    ck_assert_int_eq((int)num(f, "imports.func"), 1);
    items = cJSON_GetObjectItem(cJSON_GetObjectItem(f, "imports"), "items");
    it = cJSON_GetArrayItem(items, 0);
    ck_assert_str_eq(cJSON_GetObjectItem(it, "module")->valuestring, "env");
    ck_assert_str_eq(cJSON_GetObjectItem(it, "name")->valuestring, "memory");
    ck_assert_str_eq(cJSON_GetObjectItem(it, "kind")->valuestring, "memory");
    ck_assert_int_eq((int)num(it, "min"), 1);
    it = cJSON_GetArrayItem(items, 3);
    ck_assert_str_eq(cJSON_GetObjectItem(it, "name")->valuestring, "other");
    ck_assert_str_eq(cJSON_GetObjectItem(it, "kind")->valuestring, "func");
    items = cJSON_GetObjectItem(cJSON_GetObjectItem(f, "exports"), "items");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "name")->valuestring, "foo");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 1), "kind")->valuestring,
                     "global");
    ck_assert_int_eq((int)num(f, "functions"), 3);
    ck_assert_str_eq(cJSON_GetObjectItem(d, "section")->valuestring, "dylink.0");
    ck_assert_int_eq((int)num(d, "mem_size"), 16);
    ck_assert_int_eq((int)num(d, "mem_p2align"), 4);
    ck_assert_int_eq((int)num(d, "table_size"), 0);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "needed"), 0)->valuestring,
                     "libb.so");
    cJSON_Delete(f);
}
END_TEST

/* Any chunking gives the same facts as one buffer. */
START_TEST(test_chunked)
{
    cJSON *whole = expect_ok(liba_so, sizeof(liba_so));
    char *a = json_canonical(whole, NULL);

    for (size_t step = 1; step < 40; step += 3) {
        struct art_wasm *w = art_wasm_new();
        struct app_err err = {0};
        cJSON *f = NULL;
        char *b;

        for (size_t off = 0; off < sizeof(liba_so); off += step) {
            size_t n = sizeof(liba_so) - off < step ? sizeof(liba_so) - off : step;

            ck_assert_int_eq(art_wasm_feed(w, liba_so + off, n, &err), 0);
        }
        ck_assert_int_eq(art_wasm_finish(w, &f, &err), 0);
        b = json_canonical(f, NULL);
        ck_assert_str_eq(a, b);
        free(b);
        cJSON_Delete(f);
        art_wasm_free(w);
    }
    free(a);
    cJSON_Delete(whole);
}
END_TEST

/* Every cut inside a section fails; cuts at section ends may be valid modules. */
START_TEST(test_truncated)
{
    cJSON *f = expect_ok(liba_so, sizeof(liba_so));
    cJSON *secs = cJSON_GetObjectItem(f, "sections"), *s;
    size_t ends[16], n_ends = 0;

    cJSON_ArrayForEach (s, secs)
        ends[n_ends++] = (size_t)(num(s, "offset") + num(s, "size"));
    for (size_t cut = 0; cut < sizeof(liba_so); cut++) {
        struct app_err err = {0};
        cJSON *g = NULL;
        int boundary = cut == 8;

        for (size_t i = 0; i < n_ends; i++)
            boundary |= cut == ends[i];
        if (boundary) {
            art_wasm_parse(liba_so, cut, &g, &err); /* valid or not, never a crash */
            cJSON_Delete(g);
            continue;
        }
        ck_assert_msg(art_wasm_parse(liba_so, cut, &g, &err) == -1, "cut %zu parsed", cut);
        ck_assert_int_eq(err.code, APP_EUNPROCESSABLE);
    }
    expect_fail(liba_so, 0, "empty input");
    expect_fail(liba_so, 5, "truncated header");
    expect_fail(liba_so, 9, "inside a section header");
    expect_fail(liba_so, 20, "custom section declares 26 bytes but the module ends after");
    cJSON_Delete(f);
}
END_TEST

START_TEST(test_bad_header)
{
    expect_fail("\0ASM\1\0\0\0", 8, "bad magic");
    expect_fail("MZ\x90\0\3\0\0\0", 8, "bad magic");
    expect_fail("\0asm\2\0\0\0", 8, "unsupported version 2");
    expect_fail("\0asm\x0d\0\1\0", 8, "a component");
    ck_assert(art_wasm_is_module("\0asm", 4));
    ck_assert(!art_wasm_is_module("\0as", 3));
    ck_assert(!art_wasm_is_module("PK\3\4", 4));
}
END_TEST

START_TEST(test_section_order)
{
    struct bytes m, b = {.n = 0};

    leb(&b, 0); /* empty vector: valid body for type/import/export */
    header(&m);
    section(&m, 7, &b); /* export */
    section(&m, 2, &b); /* import */
    expect_fail(m.b, m.n, "import section out of order");
    header(&m);
    section(&m, 1, &b);
    section(&m, 1, &b);
    expect_fail(m.b, m.n, "second type section");
    /* The tag section (13) goes between memory (5) and global (6). */
    header(&m);
    section(&m, 5, &b);
    section(&m, 13, &b);
    section(&m, 6, &b);
    cJSON_Delete(expect_ok(m.b, m.n));
    header(&m);
    section(&m, 6, &b);
    section(&m, 13, &b);
    expect_fail(m.b, m.n, "tag section out of order");
    /* Data count (12) goes before code (10). */
    header(&m);
    section(&m, 10, &b);
    section(&m, 12, &b);
    expect_fail(m.b, m.n, "datacount section out of order");
    /* Custom sections anywhere. */
    {
        struct bytes c = {.n = 0};

        name(&c, "anything");
        put(&c, "payload", 7);
        header(&m);
        section(&m, 0, &c);
        section(&m, 1, &b);
        section(&m, 0, &c);
        section(&m, 7, &b);
        section(&m, 0, &c);
        cJSON_Delete(expect_ok(m.b, m.n));
    }
    header(&m);
    section(&m, 14, &b);
    expect_fail(m.b, m.n, "unknown section id 14");
}
END_TEST

START_TEST(test_leb_bounds)
{
    struct bytes m, b = {.n = 0};

    /* Section size in 6 bytes. */
    header(&m);
    put(&m, "\x01\x80\x80\x80\x80\x80\x00", 7);
    expect_fail(m.b, m.n, "size is not a valid u32");
    /* Section size with bits beyond 32 in the fifth byte. */
    header(&m);
    put(&m, "\x01\x80\x80\x80\x80\x10", 6);
    expect_fail(m.b, m.n, "size is not a valid u32");
    /* A count that is too wide. */
    put(&b, "\xff\xff\xff\xff\x1f", 5);
    header(&m);
    section(&m, 1, &b);
    expect_fail(m.b, m.n, "larger than 32 bits");
    /* A count that never ends inside its section. */
    b.n = 0;
    put(&b, "\x80\x80", 2);
    header(&m);
    section(&m, 3, &b);
    expect_fail(m.b, m.n, "runs past the end of its section");
    /* A section size past the end of the module. */
    header(&m);
    put(&m, "\x01\x10\x00", 3);
    expect_fail(m.b, m.n, "type section declares 16 bytes but the module ends after 1");
    /* A start section with a trailing byte. */
    b.n = 0;
    put(&b, "\x01\x00", 2);
    header(&m);
    section(&m, 8, &b);
    expect_fail(m.b, m.n, "start section has 1 bytes left over");
}
END_TEST

START_TEST(test_imports_exports)
{
    struct bytes m, b;

    /* An import with an unknown kind. */
    b.n = 0;
    leb(&b, 1);
    name(&b, "env");
    name(&b, "x");
    put1(&b, 9);
    header(&m);
    section(&m, 2, &b);
    expect_fail(m.b, m.n, "import 0 has unknown kind 0x09");
    /* An import whose name is not UTF-8. */
    b.n = 0;
    leb(&b, 1);
    name(&b, "env");
    name(&b, "\xc0\xaf");
    put1(&b, 0);
    leb(&b, 0);
    header(&m);
    section(&m, 2, &b);
    expect_fail(m.b, m.n, "import name is not valid UTF-8");
    /* A name longer than the section. */
    b.n = 0;
    leb(&b, 1);
    leb(&b, 200);
    put(&b, "env", 3);
    header(&m);
    section(&m, 2, &b);
    expect_fail(m.b, m.n, "runs past the end of its section");
    /* Memory import with max below min, and a good table and global import. */
    b.n = 0;
    leb(&b, 1);
    name(&b, "env");
    name(&b, "memory");
    put(&b, "\x02\x01\x05\x02", 4);
    header(&m);
    section(&m, 2, &b);
    expect_fail(m.b, m.n, "maximum 2 below its minimum 5");
    b.n = 0;
    leb(&b, 3);
    name(&b, "env");
    name(&b, "table");
    put(&b, "\x01\x70\x00\x07", 4);
    name(&b, "env");
    name(&b, "g");
    put(&b, "\x03\x7f\x01", 3);
    name(&b, "env");
    name(&b, "mem");
    put(&b, "\x02\x03\x01\x10", 4); /* shared, min 1, max 16 */
    header(&m);
    section(&m, 2, &b);
    {
        cJSON *f = expect_ok(m.b, m.n);
        cJSON *items = cJSON_GetObjectItem(cJSON_GetObjectItem(f, "imports"), "items");

        ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "type")->valuestring,
                         "funcref");
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 1), "mutable")));
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 2), "shared")));
        ck_assert_int_eq((int)num(cJSON_GetArrayItem(items, 2), "max"), 16);
        ck_assert_int_eq((int)num(f, "imports.table"), 1);
        cJSON_Delete(f);
    }
    /* A duplicate export name. */
    b.n = 0;
    leb(&b, 2);
    name(&b, "f");
    put(&b, "\x00\x00", 2);
    name(&b, "f");
    put(&b, "\x00\x01", 2);
    header(&m);
    section(&m, 7, &b);
    expect_fail(m.b, m.n, "export name \"f\" appears twice");
    /* Trailing bytes after the export vector. */
    b.n = 0;
    leb(&b, 1);
    name(&b, "f");
    put(&b, "\x00\x00\x00", 3);
    header(&m);
    section(&m, 7, &b);
    expect_fail(m.b, m.n, "export section has 1 bytes left over");
    /* An export count larger than the section could hold. */
    b.n = 0;
    leb(&b, 1000000);
    header(&m);
    section(&m, 7, &b);
    expect_fail(m.b, m.n, "does not fit in the section");
}
END_TEST

START_TEST(test_counts_agree)
{
    struct bytes m, b;

    b.n = 0;
    leb(&b, 2);
    leb(&b, 0);
    leb(&b, 0);
    header(&m);
    section(&m, 3, &b); /* two functions, no code section */
    expect_fail(m.b, m.n, "function section declares 2 functions but code section has 0");
    b.n = 0;
    leb(&b, 3);
    header(&m);
    section(&m, 12, &b); /* data count 3, no data */
    expect_fail(m.b, m.n, "data count section says 3 segments but data section has 0");
}
END_TEST

START_TEST(test_dylink)
{
    struct bytes m, b, sub;
    cJSON *f, *d;

    /* The legacy "dylink" section. */
    b.n = 0;
    name(&b, "dylink");
    leb(&b, 1024);
    leb(&b, 3);
    leb(&b, 12);
    leb(&b, 0);
    leb(&b, 2);
    name(&b, "libz.so");
    name(&b, "libm.so");
    header(&m);
    section(&m, 0, &b);
    f = expect_ok(m.b, m.n);
    d = cJSON_GetObjectItem(f, "dylink");
    ck_assert_str_eq(cJSON_GetObjectItem(d, "section")->valuestring, "dylink");
    ck_assert_int_eq((int)num(d, "mem_size"), 1024);
    ck_assert_int_eq((int)num(d, "table_size"), 12);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "needed")), 2);
    cJSON_Delete(f);
    /* dylink.0 with export info, runtime path and an unknown subsection. */
    b.n = 0;
    name(&b, "dylink.0");
    sub.n = 0;
    leb(&sub, 64);
    leb(&sub, 2);
    leb(&sub, 1);
    leb(&sub, 0);
    put1(&b, 1);
    leb(&b, (uint32_t)sub.n);
    put(&b, sub.b, sub.n);
    sub.n = 0;
    leb(&sub, 1);
    name(&sub, "tls_var");
    leb(&sub, 0x100);
    put1(&b, 3);
    leb(&b, (uint32_t)sub.n);
    put(&b, sub.b, sub.n);
    put(&b, "\x63\x02zz", 4);
    sub.n = 0;
    leb(&sub, 1);
    name(&sub, "$ORIGIN/lib");
    put1(&b, 5);
    leb(&b, (uint32_t)sub.n);
    put(&b, sub.b, sub.n);
    header(&m);
    section(&m, 0, &b);
    f = expect_ok(m.b, m.n);
    d = cJSON_GetObjectItem(f, "dylink");
    ck_assert_int_eq((int)num(d, "mem_size"), 64);
    ck_assert_int_eq((int)num(d, "export_info"), 1);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "runtime_paths"), 0)->valuestring,
                     "$ORIGIN/lib");
    cJSON_Delete(f);
    /* A subsection longer than the section. */
    b.n = 0;
    name(&b, "dylink.0");
    put(&b, "\x01\x09\x00", 3);
    header(&m);
    section(&m, 0, &b);
    expect_fail(m.b, m.n, "dylink subsection 1 runs past the end of its section");
    /* Memory info with a trailing byte. */
    b.n = 0;
    name(&b, "dylink.0");
    put(&b, "\x01\x05\x00\x00\x00\x00\x00", 7);
    header(&m);
    section(&m, 0, &b);
    expect_fail(m.b, m.n, "dylink memory info has 1 bytes left over");
    /* No memory info at all. */
    b.n = 0;
    name(&b, "dylink.0");
    header(&m);
    section(&m, 0, &b);
    expect_fail(m.b, m.n, "dylink.0 section has no memory info");
    /* Two dylink sections. */
    b.n = 0;
    name(&b, "dylink");
    put(&b, "\x00\x00\x00\x00\x00", 5);
    header(&m);
    section(&m, 0, &b);
    section(&m, 0, &b);
    expect_fail(m.b, m.n, "second dylink section");
}
END_TEST

/* --- against wasm-objdump on the real Pyodide modules ------------------------- */

/* "   Custom start=0x0000000a end=0x0000001d (size=0x00000013) "dylink.0"" */
struct od_section {
    char name[32];
    unsigned long start, size;
    long count; /* -1 when not printed */
};

static size_t
objdump_sections(const char *path, struct od_section *out, size_t max)
{
    char *cmd = xasprintf("wasm-objdump -h '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    char line[512];
    size_t n = 0;

    free(cmd);
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p) && n < max) {
        char kind[32];
        unsigned long start, end, size;
        const char *c;

        if (sscanf(line, " %31s start=%lx end=%lx (size=%lx)", kind, &start, &end, &size) != 4)
            continue;
        out[n].start = start;
        out[n].size = size;
        out[n].count = -1;
        if (strcmp(kind, "Custom") == 0) {
            const char *q = strchr(line, '"');

            snprintf(out[n].name, sizeof(out[n].name), "%.*s", q ? (int)strcspn(q + 1, "\"") : 0,
                     q ? q + 1 : "");
        } else {
            for (size_t i = 0; kind[i]; i++)
                kind[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] + 32 : kind[i]);
            snprintf(out[n].name, sizeof(out[n].name), "%s", kind);
        }
        if ((c = strstr(line, "count: ")) != NULL)
            out[n].count = strtol(c + 7, NULL, 10);
        n++;
    }
    pclose(p);
    return n;
}

/* Values from `wasm-objdump -x`: the dylink fields and per-kind import counts. */
struct od_details {
    long mem_size, mem_p2align, table_size, table_p2align;
    long imports[5];
    long exports;
};

static void
objdump_details(const char *path, struct od_details *d)
{
    static const char *const kinds[] = {"func", "table", "memory", "global", "tag"};
    char *cmd = xasprintf("wasm-objdump -x '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    char line[4096];
    int in_import = 0;

    free(cmd);
    memset(d, 0, sizeof(*d));
    d->mem_size = d->table_size = -1;
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        long v;

        if (sscanf(line, " - mem_size : %ld", &v) == 1)
            d->mem_size = v;
        else if (sscanf(line, " - mem_p2align : %ld", &v) == 1)
            d->mem_p2align = v;
        else if (sscanf(line, " - table_size : %ld", &v) == 1)
            d->table_size = v;
        else if (sscanf(line, " - table_p2align: %ld", &v) == 1)
            d->table_p2align = v;
        else if (sscanf(line, "Export[%ld]", &v) == 1) {
            d->exports = v;
            in_import = 0;
        } else if (strncmp(line, "Import[", 7) == 0)
            in_import = 1;
        else if (line[0] != ' ')
            in_import = 0;
        else if (in_import)
            for (int k = 0; k < 5; k++)
                if (strncmp(line + 3, kinds[k], strlen(kinds[k])) == 0 &&
                    line[3 + strlen(kinds[k])] == '[')
                    d->imports[k]++;
    }
    pclose(p);
}

static void
compare_with_objdump(const char *path)
{
    static const char *const kinds[] = {"func", "table", "memory", "global", "tag"};
    struct od_section od[64];
    struct od_details det;
    struct app_err err = {0};
    char *data = NULL;
    size_t len = 0, n;
    cJSON *f, *secs, *d;

    ck_assert_msg(file_read_all(path, &data, &len, 0, &err) == 0, "%s", err.msg);
    f = expect_ok(data, len);
    secs = cJSON_GetObjectItem(f, "sections");
    n = objdump_sections(path, od, 64);
    ck_assert_uint_gt(n, 5);
    ck_assert_int_eq(cJSON_GetArraySize(secs), (int)n);
    for (size_t i = 0; i < n; i++) {
        cJSON *s = cJSON_GetArrayItem(secs, (int)i);
        const cJSON *c = cJSON_GetObjectItem(s, "count");

        ck_assert_str_eq(cJSON_GetObjectItem(s, "name")->valuestring, od[i].name);
        ck_assert_uint_eq((unsigned long)num(s, "offset"), od[i].start);
        ck_assert_uint_eq((unsigned long)num(s, "size"), od[i].size);
        if (od[i].count >= 0 && strcmp(od[i].name, "start") != 0)
            ck_assert_msg(c && (long)c->valuedouble == od[i].count, "%s count", od[i].name);
    }
    objdump_details(path, &det);
    d = cJSON_GetObjectItem(f, "dylink");
    ck_assert(cJSON_IsObject(d));
    ck_assert_int_eq((long)num(d, "mem_size"), det.mem_size);
    ck_assert_int_eq((long)num(d, "mem_p2align"), det.mem_p2align);
    ck_assert_int_eq((long)num(d, "table_size"), det.table_size);
    ck_assert_int_eq((long)num(d, "table_p2align"), det.table_p2align);
    for (int k = 0; k < 5; k++) {
        char key[32];

        snprintf(key, sizeof(key), "imports.%s", kinds[k]);
        ck_assert_msg((long)num(f, key) == det.imports[k], "%s: %ld vs objdump %ld", key,
                      (long)num(f, key), det.imports[k]);
    }
    ck_assert_int_eq((long)num(f, "exports.count"), det.exports);
    cJSON_Delete(f);
    free(data);
}

START_TEST(test_pyodide_vs_objdump)
{
    const char *cache = getenv("ALMANAC_CACHE");
    char *dir = cache ? xstrdup(cache) : xasprintf("%s/.cache/almanac", getenv("HOME"));
    char tmp[] = "/tmp/almanac-test-wasm-XXXXXX";
    static const char *const versions[] = {"0.26.4", "0.27.7", "0.28.3", "0.29.3", "314.0.7"};
    int checked = 0;

    if (system("wasm-objdump --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_wasm: wasm-objdump not installed, skipping\n");
        free(dir);
        return;
    }
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        char *tgz = xasprintf("%s/npm/pyodide-%s.tgz", dir, versions[i]);
        char *cmd =
            xasprintf("tar -xzf '%s' -C '%s' package/pyodide.asm.wasm 2>/dev/null", tgz, tmp);
        char *wasm = xasprintf("%s/package/pyodide.asm.wasm", tmp);

        if (access(tgz, R_OK) == 0 && system(cmd) == 0) {
            compare_with_objdump(wasm);
            checked++;
            unlink(wasm);
        }
        free(tgz);
        free(cmd);
        free(wasm);
    }
    {
        char *cmd = xasprintf("rm -rf '%s'", tmp);

        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
    }
    if (!checked)
        fprintf(stderr, "test_wasm: no Pyodide packages in %s/npm, skipping\n", dir);
    else
        fprintf(stderr, "test_wasm: %d pyodide.asm.wasm agree with wasm-objdump\n", checked);
    free(dir);
}
END_TEST

static Suite *
wasm_suite(void)
{
    Suite *s = suite_create("wasm");
    TCase *tc = tcase_create("reader");

    tcase_add_test(tc, test_header_only);
    tcase_add_test(tc, test_side_module);
    tcase_add_test(tc, test_chunked);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_bad_header);
    tcase_add_test(tc, test_section_order);
    tcase_add_test(tc, test_leb_bounds);
    tcase_add_test(tc, test_imports_exports);
    tcase_add_test(tc, test_counts_agree);
    tcase_add_test(tc, test_dylink);
    suite_add_tcase(s, tc);
    tc = tcase_create("objdump");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_pyodide_vs_objdump);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return unit_run(wasm_suite());
}
