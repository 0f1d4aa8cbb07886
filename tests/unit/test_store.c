/* tests/unit/test_store.c: the artifact store (artifacts/store.c) and artifact rows
 * and uploads (artifacts/artdb.c), on a temporary data directory. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>

#include "app/fs.h"
#include "app/hash.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "artifacts/fsck.h"
#include "artifacts/store.h"
#include "db/db.h"
#include "tests/lib/unit.h"

#define LEVEL 3 /* fast for tests; the default level is measured in store.h */

static char data_dir[64];

static void
setup(void)
{
    snprintf(data_dir, sizeof(data_dir), "/tmp/almanac-test-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(data_dir));
}

static void
teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", data_dir);

    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

/* Deterministic bytes: half compressible text, half noise. */
static uint8_t *
make_bytes(size_t n, unsigned seed)
{
    uint8_t *p = xmalloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (i / 4096) % 2 ? (uint8_t)(x >> 16) : (uint8_t)("almanac "[i % 8]);
    }
    return p;
}

static size_t
count_temps(void)
{
    char *root = xasprintf("%s/artifacts", data_dir);
    DIR *d = opendir(root);
    struct dirent *e;
    size_t n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, ".tmp-", 5) == 0;
    closedir(d);
    free(root);
    return n;
}

/* Write p in chunks of `chunk` bytes and commit; returns the info. */
static struct art_info
put_bytes(struct art_store *s, const uint8_t *p, size_t n, size_t chunk, uint64_t size)
{
    struct app_err err = {0};
    struct art_writer *w = art_writer_new(s, NULL, size, &err);
    struct art_info info;

    ck_assert_msg(w != NULL, "%s", err.msg);
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;

        ck_assert_msg(art_writer_write(w, p + off, k, &err) == 0, "%s", err.msg);
    }
    ck_assert_msg(art_writer_commit(w, &info, &err) == 0, "%s", err.msg);
    art_writer_free(w);
    return info;
}

static uint8_t *
read_all(struct art_store *s, const char *hex, uint64_t offset, size_t *n)
{
    struct app_err err = {0};
    struct art_reader *r = art_reader_open(s, hex, offset, &err);
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = xmalloc(cap);
    ssize_t k;

    ck_assert_msg(r != NULL, "%s", err.msg);
    for (;;) {
        if (len + 1000 > cap)
            buf = xrealloc(buf, cap *= 2);
        k = art_reader_read(r, buf + len, 1000, &err); /* odd size on purpose */
        ck_assert_msg(k >= 0, "%s", err.msg);
        if (k == 0)
            break;
        len += (size_t)k;
    }
    art_reader_free(r);
    *n = len;
    return buf;
}

START_TEST(test_roundtrip)
{
    static const size_t sizes[] = {0, 1, 4095, 100000, 3 * 1024 * 1024 + 17};
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);

    ck_assert_msg(s != NULL, "%s", err.msg);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], got_n;
        uint8_t *p = make_bytes(n, (unsigned)i);
        char hex[APP_SHA256_HEX];
        struct art_info info = put_bytes(s, p, n, 65536 + 3, i % 2 ? n : ART_SIZE_UNKNOWN);
        struct art_info v;
        uint8_t *back;

        sha256_hex(p, n, hex);
        ck_assert_str_eq(info.sha256, hex);
        ck_assert_uint_eq(info.size, n);
        ck_assert(!info.existed);
        ck_assert(art_store_has(s, hex));
        ck_assert_int_eq(art_store_verify(s, hex, &v, &err), 0);
        ck_assert_str_eq(v.blake2b, info.blake2b);
        ck_assert_str_eq(v.stored_sha256, info.stored_sha256);
        ck_assert_uint_eq(v.stored_size, info.stored_size);
        back = read_all(s, hex, 0, &got_n);
        ck_assert_uint_eq(got_n, n);
        ck_assert(memcmp(back, p, n) == 0);
        free(back);
        if (n > 5000) { /* skip-to-offset */
            back = read_all(s, hex, n - 5000, &got_n);
            ck_assert_uint_eq(got_n, 5000);
            ck_assert(memcmp(back, p + n - 5000, 5000) == 0);
            free(back);
        }
        back = read_all(s, hex, n + 10, &got_n); /* past the end: nothing */
        ck_assert_uint_eq(got_n, 0);
        free(back);
        free(p);
    }
    ck_assert_uint_eq(count_temps(), 0);
    art_store_free(s);
}
END_TEST

/* The stored file is one zstd frame usable as Content-Encoding: zstd. */
START_TEST(test_frame_format)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, 19, &err);
    size_t n = 20 * 1024 * 1024;
    uint8_t *p = make_bytes(n, 7), head[ZSTD_FRAMEHEADERSIZE_MAX];
    struct art_info info = put_bytes(s, p, n, 1 << 20, n);
    ZSTD_frameHeader fh;
    uint64_t stored;
    int fd;

    ck_assert_int_eq(art_store_open_stored(s, info.sha256, &fd, &stored, &err), 0);
    ck_assert_uint_eq(stored, info.stored_size);
    ck_assert_int_eq(read(fd, head, sizeof(head)), (ssize_t)sizeof(head));
    close(fd);
    ck_assert_uint_eq(ZSTD_getFrameHeader(&fh, head, sizeof(head)), 0);
    ck_assert_uint_le(fh.windowSize, 8u << 20);
    ck_assert_uint_eq(fh.frameContentSize, n);
    ck_assert(fh.checksumFlag);
    ck_assert_uint_lt(info.stored_size, n * 6 / 10); /* half of it is noise */
    /* The stock zstd tool decodes it to the same bytes. */
    if (system("zstd --version >/dev/null 2>&1") == 0) {
        char *path = art_store_path(s, info.sha256);
        char *cmd = xasprintf("zstd -dc '%s' | sha256sum | grep -q %s", path, info.sha256);

        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
        free(path);
    }
    free(p);
    art_store_free(s);
}
END_TEST

START_TEST(test_expected_digest_and_size)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);
    struct art_writer *w;
    char hex[APP_SHA256_HEX], other[APP_SHA256_HEX];
    struct art_info info;

    sha256_hex("hello", 5, hex);
    sha256_hex("hellO", 5, other);
    /* Wrong bytes for the digest: 409, nothing visible, no temp left. */
    w = art_writer_new(s, hex, ART_SIZE_UNKNOWN, &err);
    ck_assert_int_eq(art_writer_write(w, "hellO", 5, &err), 0);
    ck_assert_int_eq(art_writer_commit(w, &info, &err), -1);
    ck_assert_int_eq(err.code, APP_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, other));
    art_writer_free(w);
    ck_assert(!art_store_has(s, hex));
    ck_assert(!art_store_has(s, other));
    ck_assert_uint_eq(count_temps(), 0);
    /* Longer than declared. */
    w = art_writer_new(s, NULL, 3, &err);
    ck_assert_int_eq(art_writer_write(w, "hello", 5, &err), -1);
    ck_assert_int_eq(err.code, APP_ECONFLICT);
    art_writer_free(w);
    /* Shorter than declared. */
    w = art_writer_new(s, NULL, 9, &err);
    ck_assert_int_eq(art_writer_write(w, "hello", 5, &err), 0);
    ck_assert_int_eq(art_writer_finish(w, &info, &err), -1);
    ck_assert_int_eq(err.code, APP_ECONFLICT);
    art_writer_free(w);
    /* A malformed expected digest. */
    ck_assert_ptr_null(art_writer_new(s, "ABC", ART_SIZE_UNKNOWN, &err));
    ck_assert_int_eq(err.code, APP_EINVAL);
    /* The right bytes. */
    w = art_writer_new(s, hex, 5, &err);
    ck_assert_int_eq(art_writer_write(w, "hello", 5, &err), 0);
    ck_assert_int_eq(art_writer_commit(w, &info, &err), 0);
    art_writer_free(w);
    ck_assert(art_store_has(s, hex));
    ck_assert_uint_eq(count_temps(), 0);
    art_store_free(s);
}
END_TEST

START_TEST(test_dedupe_and_abort)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);
    uint8_t *p = make_bytes(50000, 3);
    struct art_info a = put_bytes(s, p, 50000, 999, ART_SIZE_UNKNOWN);
    struct art_info b = put_bytes(s, p, 50000, 50000, 50000);
    struct art_writer *w;
    char *path = art_store_path(s, a.sha256);
    struct stat sb;

    ck_assert(!a.existed);
    ck_assert(b.existed);
    ck_assert_str_eq(a.sha256, b.sha256);
    ck_assert_uint_eq(b.stored_size, a.stored_size);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq((uint64_t)sb.st_size, a.stored_size);
    ck_assert_uint_eq(count_temps(), 0);
    /* Abort: free without commit leaves nothing. */
    w = art_writer_new(s, NULL, ART_SIZE_UNKNOWN, &err);
    ck_assert_int_eq(art_writer_write(w, "abandoned", 9, &err), 0);
    ck_assert_uint_eq(count_temps(), 1);
    art_writer_free(w);
    ck_assert_uint_eq(count_temps(), 0);
    free(path);
    free(p);
    art_store_free(s);
}
END_TEST

/* Temp files of dead writers are swept; a live writer's (locked) file is not. */
START_TEST(test_sweep_temps)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);
    char *stale = xasprintf("%s/artifacts/.tmp-stale1", data_dir);
    char *live = xasprintf("%s/artifacts/.tmp-live01", data_dir);
    int fd_stale = open(stale, O_CREAT | O_WRONLY, 0600);
    int fd_live = open(live, O_CREAT | O_WRONLY, 0600);

    ck_assert_int_ge(fd_stale, 0);
    ck_assert_int_ge(fd_live, 0);
    ck_assert_int_eq(flock(fd_live, LOCK_EX), 0);
    close(fd_stale);
    art_store_free(s);
    s = art_store_open(data_dir, LEVEL, &err);
    ck_assert_int_eq(access(stale, F_OK), -1);
    ck_assert_int_eq(access(live, F_OK), 0);
    close(fd_live); /* the "writer" dies */
    art_store_free(s);
    s = art_store_open(data_dir, LEVEL, &err);
    ck_assert_int_eq(access(live, F_OK), -1);
    art_store_free(s);
    free(stale);
    free(live);
}
END_TEST

static void
flip_byte(const char *path, long at)
{
    int fd = open(path, O_RDWR);
    uint8_t c;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, at), 1);
    c ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

struct fsck_log {
    int ok, corrupt, quarantined, stray;
};

static void
on_fsck(void *ctx, enum art_fsck_kind kind, const char *name, const struct art_info *info,
        const char *detail)
{
    struct fsck_log *l = ctx;

    (void)name;
    (void)info;
    (void)detail;
    l->ok += kind == ART_FSCK_OK;
    l->corrupt += kind == ART_FSCK_CORRUPT;
    l->quarantined += kind == ART_FSCK_QUARANTINE;
    l->stray += kind == ART_FSCK_STRAY;
}

START_TEST(test_corruption)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);
    uint8_t *p = make_bytes(300000, 5);
    struct art_info a = put_bytes(s, p, 300000, 4096, ART_SIZE_UNKNOWN), v;
    struct art_info b = put_bytes(s, p, 1000, 1000, ART_SIZE_UNKNOWN);
    char *path = art_store_path(s, a.sha256);
    struct fsck_log log = {0};
    struct art_fsck f = {.report = on_fsck, .ctx = &log};
    struct art_reader *r;
    char buf[4096];
    ssize_t k;
    char *stray = xasprintf("%s/artifacts/ab/notes.txt", data_dir);
    char *dir = xasprintf("%s/artifacts/ab", data_dir);

    ck_assert_int_eq(art_store_fsck(s, &f, &err), 0);
    ck_assert_int_eq(log.ok, 2);
    ck_assert_uint_eq(f.checked, 2);
    /* A flipped byte in the middle of the frame. */
    flip_byte(path, (long)a.stored_size / 2);
    ck_assert_int_eq(art_store_verify(s, a.sha256, &v, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "corrupt"));
    r = art_reader_open(s, a.sha256, 0, &err);
    while ((k = art_reader_read(r, buf, sizeof(buf), &err)) > 0)
        ;
    ck_assert_int_eq(k, -1);
    art_reader_free(r);
    /* A stray file is reported, not touched. */
    mkdir(dir, 0700);
    close(open(stray, O_CREAT | O_WRONLY, 0600));
    memset(&log, 0, sizeof(log));
    ck_assert_int_eq(art_store_fsck(s, &f, &err), 0);
    ck_assert_int_eq(log.ok, 1);
    ck_assert_int_eq(log.corrupt, 1);
    ck_assert_int_eq(log.stray, 1);
    ck_assert_uint_eq(f.corrupt, 1);
    ck_assert_int_eq(access(path, F_OK), 0);
    /* Uploading the bytes again replaces the corrupt file. */
    {
        struct art_info again = put_bytes(s, p, 300000, 65536, ART_SIZE_UNKNOWN);

        ck_assert(!again.existed);
        ck_assert_int_eq(art_store_verify(s, a.sha256, &v, &err), 0);
    }
    /* Truncate it: fsck --repair moves it to quarantine. */
    ck_assert_int_eq(truncate(path, (off_t)a.stored_size - 10), 0);
    memset(&log, 0, sizeof(log));
    f.repair = 1;
    ck_assert_int_eq(art_store_fsck(s, &f, &err), 0);
    ck_assert_int_eq(log.corrupt, 1);
    ck_assert_int_eq(log.quarantined, 1);
    ck_assert(!art_store_has(s, a.sha256));
    ck_assert(art_store_has(s, b.sha256));
    (void)b;
    free(stray);
    free(dir);
    free(path);
    free(p);
    art_store_free(s);
}
END_TEST

/* --- rows and uploads -------------------------------------------------------- */

static const uint8_t tiny_wasm[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 1, 0};

START_TEST(test_upload_rows)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);
    struct db *c = db_open(data_dir, &err);
    struct art_upload *u;
    struct art_row row;
    char hex[APP_SHA256_HEX];
    int created = -1;
    char *path = xasprintf("%s/numpy-1.26.4-cp312-cp312-pyodide_2024_0_wasm32.whl", data_dir);
    FILE *fp = fopen(path, "wb");
    uint8_t *p = make_bytes(70000, 9);

    ck_assert_ptr_nonnull(c);
    /* An external artifact known from a lock: a row without bytes. */
    sha256_hex(p, 70000, hex);
    {
        sqlite3_stmt *st = NULL;

        ck_assert_int_eq(db_prepare(c, &st,
                                    "INSERT INTO artifacts(sha256, file_name, created_at)"
                                    " VALUES(?, 'numpy.whl', '2026-01-01T00:00:00Z')",
                                    &err),
                         0);
        sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    ck_assert_int_eq(artdb_get(c, hex, &row, &err), 0);
    ck_assert(!row.stored);
    ck_assert_int_eq(row.size, -1);
    art_row_release(&row);
    /* Uploading its bytes makes it stored and keeps the known file name. */
    fwrite(p, 1, 70000, fp);
    fclose(fp);
    ck_assert_msg(art_upload_file(s, c, path, NULL, NULL, hex, &row, &created, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(created, 1);
    ck_assert(row.stored);
    ck_assert_int_eq(row.size, 70000);
    ck_assert_str_eq(row.file_name, "numpy.whl");
    ck_assert_str_eq(row.media_type, "application/zip");
    ck_assert_uint_eq(strlen(row.blake2b), 128);
    ck_assert_ptr_null(row.wasm);
    art_row_release(&row);
    /* Again: stored once, created 0. */
    ck_assert_int_eq(art_upload_file(s, c, path, NULL, NULL, NULL, NULL, &created, &err), 0);
    ck_assert_int_eq(created, 0);
    /* A Wasm module gets its facts and media type. */
    u = art_upload_new(s, NULL, ART_SIZE_UNKNOWN, "tiny.wasm", NULL, &err);
    ck_assert_int_eq(art_upload_write(u, tiny_wasm, 5, &err), 0);
    ck_assert_int_eq(art_upload_write(u, tiny_wasm + 5, sizeof(tiny_wasm) - 5, &err), 0);
    ck_assert_msg(art_upload_commit(u, c, &row, &created, &err) == 0, "%s", err.msg);
    art_upload_free(u);
    ck_assert_str_eq(row.media_type, "application/wasm");
    ck_assert_ptr_nonnull(row.wasm);
    ck_assert_ptr_nonnull(strstr(row.wasm, "\"sections\""));
    {
        cJSON *j = art_row_json(&row, 1);

        ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "wasm")));
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "stored")));
        cJSON_Delete(j);
    }
    art_row_release(&row);
    /* A malformed module (magic, then a section past the end): 422, nothing kept. */
    {
        static const uint8_t bad[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 9, 0};

        sha256_hex(bad, sizeof(bad), hex);
        u = art_upload_new(s, NULL, ART_SIZE_UNKNOWN, NULL, NULL, &err);
        ck_assert_int_eq(art_upload_write(u, bad, sizeof(bad), &err), 0);
        ck_assert_int_eq(art_upload_commit(u, c, NULL, NULL, &err), -1);
        ck_assert_int_eq(err.code, APP_EUNPROCESSABLE);
        art_upload_free(u);
        ck_assert(!art_store_has(s, hex));
        ck_assert_int_eq(artdb_get(c, hex, &row, &err), -1);
        ck_assert_int_eq(err.code, APP_ENOTFOUND);
    }
    /* Bytes named .so must be a module. */
    u = art_upload_new(s, NULL, ART_SIZE_UNKNOWN, "libz.so", NULL, &err);
    ck_assert_int_eq(art_upload_write(u, "PK\3\4zipfile", 11, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "bad magic"));
    art_upload_free(u);
    /* Bad names and types. */
    ck_assert_ptr_null(art_upload_new(s, NULL, ART_SIZE_UNKNOWN, "../x", NULL, &err));
    ck_assert_int_eq(err.code, APP_EINVAL);
    ck_assert_ptr_null(art_upload_new(s, NULL, ART_SIZE_UNKNOWN, NULL, "nonsense", &err));
    ck_assert_int_eq(err.code, APP_EINVAL);
    ck_assert_uint_eq(count_temps(), 0);
    /* Losing the bytes (fsck) makes the row external again. */
    sha256_hex(p, 70000, hex);
    ck_assert_int_eq(artdb_mark_unstored(c, hex, &err), 0);
    ck_assert_int_eq(artdb_get(c, hex, &row, &err), 0);
    ck_assert(!row.stored);
    ck_assert(!row.blake2b[0]);
    art_row_release(&row);
    free(p);
    free(path);
    db_close(c);
    art_store_free(s);
}
END_TEST

START_TEST(test_media_types)
{
    ck_assert_str_eq(art_media_type_for("pyodide.asm.wasm"), "application/wasm");
    ck_assert_str_eq(art_media_type_for("python_stdlib.zip"), "application/zip");
    ck_assert_str_eq(art_media_type_for("pyodide.mjs"), "text/javascript");
    ck_assert_str_eq(art_media_type_for("pyodide-lock.json"), "application/json");
    ck_assert_ptr_null(art_media_type_for("README"));
    ck_assert_ptr_null(art_media_type_for(NULL));
    ck_assert_int_eq(fs_name_check("a b.whl", NULL), 0);
    ck_assert_int_eq(fs_name_check("..", NULL), -1);
    ck_assert_int_eq(fs_name_check("a\nb", NULL), -1);
    ck_assert_int_eq(art_check_media_type("application/wasm", NULL), 0);
    ck_assert_int_eq(art_check_media_type("/wasm", NULL), -1);
}
END_TEST

static void
sql(struct db *c, const char *q, const char *hex)
{
    struct app_err err = {0};
    sqlite3_stmt *st = NULL;

    ck_assert_int_eq(db_prepare(c, &st, q, &err), 0);
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Run fsck into rep (released first) and return its verdict (0 clean, 1 a problem). */
static int
fsck(int repair, struct art_fsck_report *rep)
{
    struct app_err err = {0};

    art_fsck_report_release(rep);
    ck_assert_msg(art_fsck_run(data_dir, repair, rep, &err) == 0, "fsck: %s", err.msg);
    ck_assert_int_eq(rep->repair, repair);
    return (int)art_fsck_verdict(rep);
}

/* The findings of kind in rep, and the name of the last one in *name. */
static size_t
findings(const struct art_fsck_report *rep, enum art_fsck_finding_kind kind, const char **name)
{
    size_t n = 0;

    for (size_t i = 0; i < rep->n_findings; i++)
        if (rep->findings[i].kind == kind) {
            n++;
            if (name)
                *name = rep->findings[i].name;
        }
    return n;
}

/* almanacd fsck: the report (counts, typed findings), its status and what --repair
 * does. */
START_TEST(test_fsck_command)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);
    struct db *c = db_open(data_dir, &err);
    uint8_t *p = make_bytes(80000, 11);
    char *f1 = xasprintf("%s/one.bin", data_dir), *f2 = xasprintf("%s/two.bin", data_dir);
    char *stray = xasprintf("%s/artifacts/zz", data_dir);
    struct art_fsck_report rep = {0};
    struct art_row r1, r2, row;
    const char *name = NULL;
    char *path;
    FILE *fp;

    fp = fopen(f1, "wb");
    fwrite(p, 1, 40000, fp);
    fclose(fp);
    fp = fopen(f2, "wb");
    fwrite(p + 40000, 1, 40000, fp);
    fclose(fp);
    ck_assert_int_eq(art_upload_file(s, c, f1, NULL, NULL, NULL, &r1, NULL, &err), 0);
    ck_assert_int_eq(art_upload_file(s, c, f2, NULL, NULL, NULL, &r2, NULL, &err), 0);
    ck_assert_int_eq(fsck(0, &rep), 0);
    ck_assert_uint_eq(rep.checked, 2);
    ck_assert_uint_eq(rep.n_findings, 0);
    /* A crash between rename and the row: reported, not a problem; repair records. */
    sql(c, "DELETE FROM artifact_facts WHERE sha256 = ?", r1.sha256);
    sql(c, "DELETE FROM artifacts WHERE sha256 = ?", r1.sha256);
    ck_assert_int_eq(fsck(0, &rep), 0);
    ck_assert_uint_eq(rep.unrecorded, 1);
    ck_assert_uint_eq(findings(&rep, ART_FINDING_UNRECORDED, &name), 1);
    ck_assert_str_eq(name, r1.sha256);
    ck_assert_uint_eq(rep.repaired, 0);
    ck_assert_int_eq(artdb_get(c, r1.sha256, &row, &err), -1);
    app_err_release(&err);
    ck_assert_int_eq(fsck(1, &rep), 0);
    ck_assert_uint_eq(rep.repaired, 1);
    ck_assert_uint_eq(findings(&rep, ART_FINDING_REPAIRED_RECORDED, &name), 1);
    ck_assert_str_eq(name, r1.sha256);
    ck_assert_int_eq(artdb_get(c, r1.sha256, &row, &err), 0);
    ck_assert(row.stored);
    ck_assert_str_eq(row.blake2b, r1.blake2b);
    art_row_release(&row);
    /* A size the row disagrees with: a problem that repair does not hide. */
    sql(c, "UPDATE artifacts SET size = size + 1 WHERE sha256 = ?", r2.sha256);
    ck_assert_int_eq(fsck(0, &rep), 1);
    ck_assert_uint_eq(rep.mismatched, 1);
    ck_assert_uint_eq(findings(&rep, ART_FINDING_SIZE_MISMATCH, NULL), 1);
    ck_assert_int_eq(rep.findings[0].db_size, 40001);
    ck_assert_uint_eq(rep.findings[0].file_size, 40000);
    sql(c, "UPDATE artifacts SET size = size - 1 WHERE sha256 = ?", r2.sha256);
    /* A missing file: a problem until repaired (the row becomes not stored). */
    path = art_store_path(s, r2.sha256);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(fsck(0, &rep), 1);
    ck_assert_uint_eq(rep.missing, 1);
    ck_assert_uint_eq(findings(&rep, ART_FINDING_MISSING, &name), 1);
    ck_assert_str_eq(name, r2.sha256);
    ck_assert_int_eq(fsck(1, &rep), 0);
    ck_assert_uint_eq(findings(&rep, ART_FINDING_REPAIRED_UNSTORED, &name), 1);
    ck_assert_str_eq(name, r2.sha256);
    ck_assert_int_eq(fsck(0, &rep), 0);
    ck_assert_uint_eq(rep.missing, 0);
    ck_assert_int_eq(artdb_get(c, r2.sha256, &row, &err), 0);
    ck_assert(!row.stored);
    art_row_release(&row);
    free(path);
    /* A corrupt file: a problem; repair quarantines it. A stray file is listed and
     * changes no status. */
    path = art_store_path(s, r1.sha256);
    flip_byte(path, 20);
    fp = fopen(stray, "wb");
    fclose(fp);
    ck_assert_int_eq(fsck(0, &rep), 1);
    ck_assert_uint_eq(rep.corrupt, 1);
    ck_assert_uint_eq(rep.stray, 1);
    ck_assert_uint_eq(findings(&rep, ART_FINDING_CORRUPT, &name), 1);
    ck_assert_str_eq(name, r1.sha256);
    ck_assert_uint_eq(findings(&rep, ART_FINDING_STRAY, NULL), 1);
    ck_assert_int_eq(unlink(stray), 0);
    ck_assert_int_eq(fsck(1, &rep), 0);
    ck_assert_uint_eq(rep.quarantined, 1);
    ck_assert_uint_eq(findings(&rep, ART_FINDING_REPAIRED_QUARANTINED, &name), 1);
    ck_assert_str_eq(name, r1.sha256);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(fsck(0, &rep), 0);
    ck_assert_int_eq(artdb_get(c, r1.sha256, &row, &err), 0);
    ck_assert(!row.stored);
    art_row_release(&row);
    /* Uploading the bytes again heals it. */
    ck_assert_int_eq(art_upload_file(s, c, f1, NULL, NULL, NULL, &row, NULL, &err), 0);
    ck_assert(row.stored);
    art_row_release(&row);
    ck_assert_int_eq(fsck(0, &rep), 0);
    ck_assert_uint_eq(rep.n_findings, 0);
    /* A store that cannot be read: -1 with the reason, nothing else. */
    art_fsck_report_release(&rep);
    ck_assert_int_eq(art_fsck_run("/nonexistent/almanac", 0, &rep, &err), -1);
    ck_assert_int_ne(err.code, APP_OK);
    ck_assert_uint_eq(rep.n_findings, 0);
    app_err_release(&err);
    art_fsck_report_release(&rep);
    free(path);
    free(stray);
    art_row_release(&r1);
    art_row_release(&r2);
    free(f1);
    free(f2);
    free(p);
    db_close(c);
    art_store_free(s);
}
END_TEST

/* Uploads that bring the stored form (one zstd frame, as a mirror fetches it from
 * its upstream) instead of the identity bytes: art_upload_write_zstd and
 * art_writer_keep_stored. */
#define ZSIZE 300000

/* p compressed as one frame; checksum and window as asked. */
static uint8_t *
zframe(const uint8_t *p, size_t n, int checksum, int window_log, size_t *out_len)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(n);
    uint8_t *out = xmalloc(cap);

    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, LEVEL);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum);
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log);
    /* Streamed without a pledged size, so the header keeps the window asked for
     * (ZSTD_compress2 would shrink it to the content size). */
    {
        ZSTD_inBuffer in = {p, n, 0};
        ZSTD_outBuffer ob = {out, cap, 0};
        size_t left;

        ck_assert(!ZSTD_isError(ZSTD_compressStream2(c, &ob, &in, ZSTD_e_continue)));
        do {
            left = ZSTD_compressStream2(c, &ob, &in, ZSTD_e_end);
            ck_assert(!ZSTD_isError(left));
        } while (left);
        *out_len = ob.pos;
    }
    ZSTD_freeCCtx(c);
    return out;
}

/* Upload z in chunks of step bytes as the stored form; the commit's result. */
static int
zupload(struct art_store *s, struct db *c, const char *hex, const uint8_t *z, size_t zn,
        size_t step, struct art_row *row, struct app_err *err)
{
    struct art_upload *u = art_upload_new(s, hex, ZSIZE, "m.bin", NULL, err);
    int ret = -1;

    ck_assert_ptr_nonnull(u);
    for (size_t off = 0; off < zn; off += step)
        if (art_upload_write_zstd(u, z + off, zn - off < step ? zn - off : step, err) < 0)
            goto out;
    ret = art_upload_commit(u, c, row, NULL, err);
out:
    art_upload_free(u);
    return ret;
}

START_TEST(test_zstd_stored_as_it_came)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, 19, &err);
    struct db *c = db_open(data_dir, &err);
    uint8_t *p = make_bytes(ZSIZE, 11);
    char hex[APP_SHA256_HEX], zhex[APP_SHA256_HEX];
    size_t zn, stored_len = 0;
    uint8_t *z = zframe(p, ZSIZE, 1, 20, &zn);
    struct art_row row;
    char *path, *stored = NULL;

    ck_assert_ptr_nonnull(c);
    sha256_hex(p, ZSIZE, hex);
    sha256_hex(z, zn, zhex);
    /* Odd chunk sizes cross the decoder's output buffer and the frame's blocks. */
    ck_assert_msg(zupload(s, c, hex, z, zn, 977, &row, &err) == 0, "%s", err.msg);
    ck_assert(row.stored);
    ck_assert_int_eq(row.size, ZSIZE);
    art_row_release(&row);
    /* The file is the frame as it came (level 3), not compressed again at 19. */
    path = art_store_path(s, hex);
    {
        FILE *fp = fopen(path, "rb");

        ck_assert_ptr_nonnull(fp);
        stored = xmalloc(zn + 1);
        stored_len = fread(stored, 1, zn + 1, fp);
        fclose(fp);
    }
    ck_assert_uint_eq(stored_len, zn);
    ck_assert_mem_eq(stored, z, zn);
    free(stored);
    free(path);
    free(z);
    free(p);
    db_close(c);
    art_store_free(s);
}
END_TEST

START_TEST(test_zstd_refusals)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);
    struct db *c = db_open(data_dir, &err);
    uint8_t *p = make_bytes(ZSIZE, 11);
    char hex[APP_SHA256_HEX];
    size_t zn, nn, wn;
    uint8_t *z = zframe(p, ZSIZE, 1, 20, &zn);
    uint8_t *nochk = zframe(p, ZSIZE, 0, 20, &nn);
    uint8_t *wide = zframe(p, ZSIZE, 1, 25, &wn);
    uint8_t *two = xmalloc(2 * zn);
    struct art_row row;

    sha256_hex(p, ZSIZE, hex);
    /* A flipped byte in the middle: the frame's blocks or checksum catch it. */
    z[zn / 2] ^= 0x55;
    ck_assert_int_eq(zupload(s, c, hex, z, zn, 4096, &row, &err), -1);
    app_err_release(&err);
    z[zn / 2] ^= 0x55;
    /* Cut short. */
    ck_assert_int_eq(zupload(s, c, hex, z, zn - 10, 4096, &row, &err), -1);
    app_err_release(&err);
    /* Two frames: the second would be served after the first. */
    memcpy(two, z, zn);
    memcpy(two + zn, z, zn);
    ck_assert_int_eq(zupload(s, c, hex, two, 2 * zn, 4096, &row, &err), -1);
    ck_assert_msg(strstr(err.msg, "more than one frame"), "%s", err.msg);
    app_err_release(&err);
    /* No content checksum: readers could not check what they serve. */
    ck_assert_int_eq(zupload(s, c, hex, nochk, nn, 4096, &row, &err), -1);
    ck_assert_msg(strstr(err.msg, "checksum"), "%s", err.msg);
    app_err_release(&err);
    /* A window past the HTTP zstd limit: the decoder refuses it at once. */
    ck_assert_int_eq(zupload(s, c, hex, wide, wn, 4096, &row, &err), -1);
    app_err_release(&err);
    /* Another artifact's frame under this digest. */
    {
        char other[APP_SHA256_HEX];

        memset(other, 'a', APP_SHA256_HEX - 1);
        other[APP_SHA256_HEX - 1] = '\0';
        ck_assert_int_eq(zupload(s, c, other, z, zn, 4096, &row, &err), -1);
        app_err_release(&err);
    }
    /* Nothing was stored by any of them; the good frame still is. */
    ck_assert_int_eq(art_store_has(s, hex), 0);
    ck_assert_msg(zupload(s, c, hex, z, zn, 4096, &row, &err) == 0, "%s", err.msg);
    art_row_release(&row);
    ck_assert_int_eq(art_store_has(s, hex), 1);
    free(two);
    free(wide);
    free(nochk);
    free(z);
    free(p);
    db_close(c);
    art_store_free(s);
}
END_TEST

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_frame_format);
    tcase_add_test(tc, test_expected_digest_and_size);
    tcase_add_test(tc, test_dedupe_and_abort);
    tcase_add_test(tc, test_sweep_temps);
    tcase_add_test(tc, test_corruption);
    tcase_add_test(tc, test_upload_rows);
    tcase_add_test(tc, test_media_types);
    tcase_add_test(tc, test_fsck_command);
    tcase_add_test(tc, test_zstd_stored_as_it_came);
    tcase_add_test(tc, test_zstd_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return unit_run(store_suite());
}
