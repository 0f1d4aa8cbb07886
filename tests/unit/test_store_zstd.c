/* tests/unit/test_store_zstd.c: uploads that bring the stored form (one zstd frame,
 * as a mirror fetches it from its upstream) instead of the identity bytes:
 * art_upload_write_zstd and art_writer_keep_stored. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "app/hash.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "artifacts/store.h"
#include "db/db.h"
#include "tests/lib/unit.h"

#define LEVEL 3
#define SIZE 300000

static char data_dir[64];

static void
setup(void)
{
    snprintf(data_dir, sizeof(data_dir), "/tmp/almanac-test-zstd-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(data_dir));
}

static void
teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", data_dir);

    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

static uint8_t *
make_bytes(size_t n)
{
    uint8_t *p = xmalloc(n);
    uint32_t x = 7;

    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (i / 1000) % 2 ? (uint8_t)(x >> 16) : (uint8_t)("mirror "[i % 7]);
    }
    return p;
}

/* p compressed as one frame; checksum and window as asked. */
static uint8_t *
frame(const uint8_t *p, size_t n, int checksum, int window_log, size_t *out_len)
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
upload(struct art_store *s, struct db *c, const char *hex, const uint8_t *z, size_t zn, size_t step,
       struct art_row *row, struct app_err *err)
{
    struct art_upload *u = art_upload_new(s, hex, SIZE, "m.bin", NULL, err);
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

START_TEST(test_stored_as_it_came)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, 19, &err);
    struct db *c = db_open(data_dir, &err);
    uint8_t *p = make_bytes(SIZE);
    char hex[APP_SHA256_HEX], zhex[APP_SHA256_HEX];
    size_t zn, stored_len = 0;
    uint8_t *z = frame(p, SIZE, 1, 20, &zn);
    struct art_row row;
    char *path, *stored = NULL;

    ck_assert_ptr_nonnull(c);
    sha256_hex(p, SIZE, hex);
    sha256_hex(z, zn, zhex);
    /* Odd chunk sizes cross the decoder's output buffer and the frame's blocks. */
    ck_assert_msg(upload(s, c, hex, z, zn, 977, &row, &err) == 0, "%s", err.msg);
    ck_assert(row.stored);
    ck_assert_int_eq(row.size, SIZE);
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

START_TEST(test_refusals)
{
    struct app_err err = {0};
    struct art_store *s = art_store_open(data_dir, LEVEL, &err);
    struct db *c = db_open(data_dir, &err);
    uint8_t *p = make_bytes(SIZE);
    char hex[APP_SHA256_HEX];
    size_t zn, nn, wn;
    uint8_t *z = frame(p, SIZE, 1, 20, &zn);
    uint8_t *nochk = frame(p, SIZE, 0, 20, &nn);
    uint8_t *wide = frame(p, SIZE, 1, 25, &wn);
    uint8_t *two = xmalloc(2 * zn);
    struct art_row row;

    sha256_hex(p, SIZE, hex);
    /* A flipped byte in the middle: the frame's blocks or checksum catch it. */
    z[zn / 2] ^= 0x55;
    ck_assert_int_eq(upload(s, c, hex, z, zn, 4096, &row, &err), -1);
    app_err_release(&err);
    z[zn / 2] ^= 0x55;
    /* Cut short. */
    ck_assert_int_eq(upload(s, c, hex, z, zn - 10, 4096, &row, &err), -1);
    app_err_release(&err);
    /* Two frames: the second would be served after the first. */
    memcpy(two, z, zn);
    memcpy(two + zn, z, zn);
    ck_assert_int_eq(upload(s, c, hex, two, 2 * zn, 4096, &row, &err), -1);
    ck_assert_msg(strstr(err.msg, "more than one frame"), "%s", err.msg);
    app_err_release(&err);
    /* No content checksum: readers could not check what they serve. */
    ck_assert_int_eq(upload(s, c, hex, nochk, nn, 4096, &row, &err), -1);
    ck_assert_msg(strstr(err.msg, "checksum"), "%s", err.msg);
    app_err_release(&err);
    /* A window past the HTTP zstd limit: the decoder refuses it at once. */
    ck_assert_int_eq(upload(s, c, hex, wide, wn, 4096, &row, &err), -1);
    app_err_release(&err);
    /* Another artifact's frame under this digest. */
    {
        char other[APP_SHA256_HEX];

        memset(other, 'a', APP_SHA256_HEX - 1);
        other[APP_SHA256_HEX - 1] = '\0';
        ck_assert_int_eq(upload(s, c, other, z, zn, 4096, &row, &err), -1);
        app_err_release(&err);
    }
    /* Nothing was stored by any of them; the good frame still is. */
    ck_assert_int_eq(art_store_has(s, hex), 0);
    ck_assert_msg(upload(s, c, hex, z, zn, 4096, &row, &err) == 0, "%s", err.msg);
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
zstd_suite(void)
{
    Suite *s = suite_create("store_zstd");
    TCase *tc = tcase_create("store_zstd");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stored_as_it_came);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return unit_run(zstd_suite());
}
