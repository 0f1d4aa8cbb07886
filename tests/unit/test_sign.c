/* tests/unit/test_sign.c: signing keys and minisign signatures (artifacts/sign.c).
 *
 * Every signature is checked by almanac's verifier and, when installed, by the
 * stock `minisign -V`; a flipped byte in the content, the signature line or the
 * trusted comment must be rejected by both.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/hash.h"
#include "app/mem.h"
#include "artifacts/keys.h"
#include "tests/lib/unit.h"

static char data_dir[64];
static int have_minisign;

static void
setup(void)
{
    snprintf(data_dir, sizeof(data_dir), "/tmp/almanac-test-sign-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(data_dir));
    have_minisign = system("minisign -v >/dev/null 2>&1") == 0;
}

static void
teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", data_dir);

    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

static void
write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* 0 when `minisign -V` accepts content + sig under pubkey. */
static int
minisign_verify(const char *pubkey, const void *content, size_t n, const char *sig)
{
    char *pk = xasprintf("%s/t.pub", data_dir), *m = xasprintf("%s/t.bin", data_dir);
    char *x = xasprintf("%s/t.minisig", data_dir);
    char *cmd = xasprintf("minisign -V -q -p '%s' -m '%s' -x '%s' >/dev/null 2>&1", pk, m, x);
    int rc;

    write_file(pk, pubkey, strlen(pubkey));
    write_file(m, content, n);
    write_file(x, sig, strlen(sig));
    rc = system(cmd);
    free(pk);
    free(m);
    free(x);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static char *
current_pubkey(struct art_keys *k, char id[ART_KEY_ID_LEN])
{
    struct app_err err = {0};
    char *text = NULL;

    ck_assert_int_eq(art_keys_current(k, id, &err), 0);
    ck_assert_int_eq(art_keys_pubkey(k, id, &text, &err), 0);
    return text;
}

static char *
sign_bytes(struct art_keys *k, const void *p, size_t n)
{
    struct app_err err = {0};
    char hex[APP_SHA256_HEX], b2hex[129];
    uint8_t b2[64];
    char *sig = NULL;

    sha256_hex(p, n, hex);
    art_blake2b(p, n, b2);
    hex_encode(b2, sizeof(b2), b2hex);
    ck_assert_msg(art_sign_artifact(k, hex, n, b2hex, &sig, &err) == 0, "%s", err.msg);
    return sig;
}

START_TEST(test_first_key)
{
    struct app_err err = {0};
    struct art_keys *k = art_keys_open(data_dir, &err);
    char id[ART_KEY_ID_LEN];
    char *pub, *path;
    struct stat sb;
    cJSON *list;

    ck_assert_msg(k != NULL, "%s", err.msg);
    pub = current_pubkey(k, id);
    ck_assert_uint_eq(strlen(id), 16);
    ck_assert_ptr_nonnull(strstr(pub, "untrusted comment: minisign public key "));
    ck_assert_ptr_nonnull(strstr(pub, id));
    path = xasprintf("%s/keys/%s.key", data_dir, id);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    free(path);
    list = art_keys_list(k, &err);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "current")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "retired_at")));
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "public_key")->valuestring,
                     pub);
    cJSON_Delete(list);
    art_keys_free(k);
    /* Reopening keeps the key. */
    k = art_keys_open(data_dir, &err);
    {
        char id2[ART_KEY_ID_LEN];
        char *pub2 = current_pubkey(k, id2);

        ck_assert_str_eq(id, id2);
        free(pub2);
    }
    ck_assert_int_eq(art_keys_pubkey(k, "0000000000000000", &path, &err), -1);
    ck_assert_int_eq(err.code, APP_ENOTFOUND);
    free(pub);
    art_keys_free(k);
}
END_TEST

START_TEST(test_sign_verify)
{
    struct app_err err = {0};
    struct art_keys *k = art_keys_open(data_dir, &err);
    const char content[] = "the bytes of pyodide.asm.wasm, more or less";
    size_t n = sizeof(content) - 1;
    char id[ART_KEY_ID_LEN], hex[APP_SHA256_HEX], *pub = current_pubkey(k, id);
    char *sig = sign_bytes(k, content, n), *again = sign_bytes(k, content, n);
    char *trusted = NULL;
    uint8_t b2[64];

    sha256_hex(content, n, hex);
    ck_assert_str_eq(sig, again); /* cached */
    ck_assert_ptr_nonnull(strstr(sig, "trusted comment: almanac kind=artifact sha256="));
    ck_assert_msg(art_verify(pub, content, n, sig, &trusted, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(art_verify_binding(trusted, "artifact", hex, n, &err), 0);
    ck_assert_int_eq(art_verify_binding(trusted, "lock", hex, n, &err), -1);
    ck_assert_int_eq(art_verify_binding(trusted, "artifact", hex, n + 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(trusted, id));
    free(trusted);
    {
        char a[ART_KEY_ID_LEN], b[ART_KEY_ID_LEN];

        ck_assert_int_eq(art_pubkey_id(pub, a, &err), 0);
        ck_assert_int_eq(art_sig_key_id(sig, b, &err), 0);
        ck_assert_str_eq(a, id);
        ck_assert_str_eq(b, id);
        ck_assert_int_eq(art_sig_key_id("junk", b, &err), -1);
    }
    art_blake2b(content, n, b2);
    ck_assert_int_eq(art_verify_prehashed(pub, b2, sig, NULL, &err), 0);
    /* Only the base64 line of the key works too. */
    ck_assert_int_eq(art_verify(strchr(pub, '\n') + 1, content, n, sig, NULL, &err), 0);
    if (have_minisign)
        ck_assert_int_eq(minisign_verify(pub, content, n, sig), 0);
    free(pub);
    free(sig);
    free(again);
    art_keys_free(k);
}
END_TEST

/* Flip one byte of content, signature line, trusted comment, global signature. */
START_TEST(test_tamper)
{
    struct app_err err = {0};
    struct art_keys *k = art_keys_open(data_dir, &err);
    char content[] = "{\"lock\":\"bytes\"}";
    size_t n = sizeof(content) - 1;
    char id[ART_KEY_ID_LEN], *pub = current_pubkey(k, id), *sig, *t;
    char lock_id[80], hex[APP_SHA256_HEX];
    char *lines[4], *save = NULL;
    int i = 0;

    sha256_hex(content, n, hex);
    snprintf(lock_id, sizeof(lock_id), "sha256:%s", hex);
    ck_assert_int_eq(art_sign_lock(k, lock_id, content, n, &sig, &err), 0);
    ck_assert_ptr_nonnull(strstr(sig, "kind=lock sha256="));
    ck_assert_int_eq(art_verify(pub, content, n, sig, NULL, &err), 0);
    /* Content. */
    content[3] ^= 1;
    ck_assert_int_eq(art_verify(pub, content, n, sig, NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_EUNPROCESSABLE);
    if (have_minisign)
        ck_assert_int_eq(minisign_verify(pub, content, n, sig), -1);
    content[3] ^= 1;
    /* Each line of the signature. */
    t = xstrdup(sig);
    for (char *l = strtok_r(t, "\n", &save); l && i < 4; l = strtok_r(NULL, "\n", &save))
        lines[i++] = l;
    ck_assert_int_eq(i, 4);
    for (int line = 1; line < 4; line++) {
        char *bad;
        size_t at = line == 2 ? strlen(lines[2]) - 3 : 20; /* a digit of signed= */

        lines[line][at] = lines[line][at] == 'A' ? 'B' : 'A';
        bad = xasprintf("%s\n%s\n%s\n%s\n", lines[0], lines[1], lines[2], lines[3]);
        ck_assert_msg(art_verify(pub, content, n, bad, NULL, &err) == -1, "line %d flip accepted",
                      line);
        if (have_minisign)
            ck_assert_msg(minisign_verify(pub, content, n, bad) == -1,
                          "minisign accepted line %d flip", line);
        free(bad);
        free(t);
        t = xstrdup(sig);
        save = NULL;
        i = 0;
        for (char *l = strtok_r(t, "\n", &save); l && i < 4; l = strtok_r(NULL, "\n", &save))
            lines[i++] = l;
    }
    /* A changed trusted comment says so. */
    {
        char *bad = xstrdup(sig), *tc = strstr(bad, "kind=lock");

        memcpy(tc, "kind=lokk", 9);
        ck_assert_int_eq(art_verify(pub, content, n, bad, NULL, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, "trusted comment does not verify"));
        free(bad);
    }
    /* A lock id that is not the bytes' digest is refused. */
    ck_assert_int_eq(art_sign_lock(k, "sha256:0000", content, n, &t, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    /* Garbage key and signature text. */
    ck_assert_int_eq(art_verify("not a key", content, n, sig, NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    ck_assert_int_eq(art_verify(pub, content, n, "untrusted comment: x\n", NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    free(t);
    free(sig);
    free(pub);
    art_keys_free(k);
}
END_TEST

START_TEST(test_rotate)
{
    struct app_err err = {0};
    struct art_keys *k = art_keys_open(data_dir, &err), *other;
    const char content[] = "wheel bytes";
    size_t n = sizeof(content) - 1;
    char old_id[ART_KEY_ID_LEN], new_id[ART_KEY_ID_LEN], third[ART_KEY_ID_LEN];
    char *old_pub = current_pubkey(k, old_id), *new_pub, *old_sig, *new_sig, *s3;
    cJSON *list;

    old_sig = sign_bytes(k, content, n);
    ck_assert_int_eq(art_keys_rotate(k, new_id, &err), 0);
    ck_assert_str_ne(old_id, new_id);
    new_pub = current_pubkey(k, third);
    ck_assert_str_eq(third, new_id);
    new_sig = sign_bytes(k, content, n);
    ck_assert_str_ne(old_sig, new_sig);
    ck_assert_ptr_nonnull(strstr(new_sig, new_id));
    /* Old signatures keep verifying with the old key, and only with it. */
    ck_assert_int_eq(art_verify(old_pub, content, n, old_sig, NULL, &err), 0);
    ck_assert_int_eq(art_verify(new_pub, content, n, new_sig, NULL, &err), 0);
    ck_assert_int_eq(art_verify(new_pub, content, n, old_sig, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "signature is by key"));
    if (have_minisign) {
        ck_assert_int_eq(minisign_verify(old_pub, content, n, old_sig), 0);
        ck_assert_int_eq(minisign_verify(new_pub, content, n, new_sig), 0);
        ck_assert_int_eq(minisign_verify(new_pub, content, n, old_sig), -1);
    }
    list = art_keys_list(k, &err);
    ck_assert_int_eq(cJSON_GetArraySize(list), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "id")->valuestring, new_id);
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "retired_at")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "current")));
    cJSON_Delete(list);
    /* A rotation by another process (`almanacd key rotate`) is picked up. */
    other = art_keys_open(data_dir, &err);
    ck_assert_int_eq(art_keys_rotate(other, third, &err), 0);
    art_keys_free(other);
    s3 = sign_bytes(k, "other", 5);
    ck_assert_ptr_nonnull(strstr(s3, third));
    free(s3);
    free(old_pub);
    free(new_pub);
    free(old_sig);
    free(new_sig);
    art_keys_free(k);
}
END_TEST

/* The secret key file is minisign's: the stock tool signs with it, we verify. */
START_TEST(test_minisign_key_format)
{
    struct app_err err = {0};
    struct art_keys *k = art_keys_open(data_dir, &err);
    char id[ART_KEY_ID_LEN], *pub = current_pubkey(k, id);
    char *key = xasprintf("%s/keys/%s.key", data_dir, id);
    char *m = xasprintf("%s/m.txt", data_dir), *x = xasprintf("%s/m.txt.minisig", data_dir);
    char *cmd = xasprintf("minisign -S -s '%s' -m '%s' -t 'by minisign' </dev/null >/dev/null 2>&1",
                          key, m);
    char *sig = NULL;
    size_t len;

    if (have_minisign) {
        write_file(m, "hello", 5);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(file_read_all(x, &sig, &len, 0, &err), 0);
        ck_assert_msg(art_verify(pub, "hello", 5, sig, NULL, &err) == 0, "%s", err.msg);
        free(sig);
    }
    /* A key readable by others is refused. */
    ck_assert_int_eq(chmod(key, 0644), 0);
    art_keys_free(k);
    k = art_keys_open(data_dir, &err);
    ck_assert_ptr_null(k);
    ck_assert_ptr_nonnull(strstr(err.msg, "chmod 600"));
    free(pub);
    free(key);
    free(m);
    free(x);
    free(cmd);
}
END_TEST

static Suite *
sign_suite(void)
{
    Suite *s = suite_create("sign");
    TCase *tc = tcase_create("sign");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_first_key);
    tcase_add_test(tc, test_sign_verify);
    tcase_add_test(tc, test_tamper);
    tcase_add_test(tc, test_rotate);
    tcase_add_test(tc, test_minisign_key_format);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return unit_run(sign_suite());
}
