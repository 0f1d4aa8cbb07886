/* tests/unit/test_minisign.c: the pure minisign module (artifacts/minisign.c): key
 * ids, public key and signature text both ways, prehashed and legacy signatures,
 * every malformed part refused with its reason, tampering detected, and the
 * trusted-comment binding. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/mem.h"
#include "artifacts/minisign.h"
#include "tests/lib/unit.h"

static uint8_t keynum[ART_KEYNUM_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static char *pub_text;

static void
setup(void)
{
    struct art_pubkey k;
    char *line;

    ck_assert_int_ge(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
    memcpy(k.keynum, keynum, sizeof(keynum));
    memcpy(k.pk, pk, sizeof(pk));
    line = art_pubkey_b64(&k);
    pub_text = art_pubkey_file_text("0807060504030201", line);
    free(line);
}

static void
teardown(void)
{
    free(pub_text);
}

static char *
sign(const void *content, size_t n, const char *trusted)
{
    uint8_t b2[ART_BLAKE2B_LEN];

    art_blake2b(content, n, b2);
    return art_minisign_sign(keynum, sk, b2, trusted);
}

START_TEST(test_key_id)
{
    char id[ART_KEY_ID_LEN];
    struct app_err err = {0};

    art_key_id(keynum, id); /* little-endian keynum, upper-case hex */
    ck_assert_str_eq(id, "0807060504030201");
    ck_assert(art_key_id_valid(id));
    ck_assert(!art_key_id_valid("0807060504030201X"));
    ck_assert(!art_key_id_valid("080706050403020a"));
    ck_assert_int_eq(art_pubkey_id(pub_text, id, &err), 0);
    ck_assert_str_eq(id, "0807060504030201");
}
END_TEST

START_TEST(test_pubkey_text)
{
    struct art_pubkey k;
    struct app_err err = {0};
    const char *line = strchr(pub_text, '\n') + 1;
    char *only = xstrndup(line, strcspn(line, "\n"));

    ck_assert_ptr_nonnull(strstr(pub_text, "untrusted comment: minisign public key 0807"));
    ck_assert_int_eq(art_pubkey_parse(only, &k, &err), 0); /* the bare line works too */
    ck_assert_int_eq(memcmp(k.pk, pk, sizeof(pk)), 0);
    ck_assert_int_eq(art_pubkey_parse("untrusted comment: x\nnot base64!\n", &k, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    ck_assert_int_eq(art_pubkey_parse("untrusted comment: only\n", &k, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no public key"));
    ck_assert_int_eq(art_pubkey_parse("RWQBAgMEBQYHCA==", &k, &err), -1); /* too short */
    free(only);
}
END_TEST

START_TEST(test_sign_verify_prehashed)
{
    const char *msg = "hello, pyodide";
    char *sig = sign(msg, strlen(msg), "almanac kind=lock sha256=ab size=14 key=x signed=t");
    char *trusted = NULL;
    struct app_err err = {0};
    uint8_t b2[ART_BLAKE2B_LEN];
    struct art_sig parsed;

    ck_assert_int_eq(art_verify(pub_text, msg, strlen(msg), sig, &trusted, &err), 0);
    ck_assert_str_eq(trusted, "almanac kind=lock sha256=ab size=14 key=x signed=t");
    free(trusted);
    art_blake2b(msg, strlen(msg), b2);
    ck_assert_int_eq(art_verify_prehashed(pub_text, b2, sig, NULL, &err), 0);
    ck_assert_int_eq(art_sig_parse(sig, &parsed, &err), 0);
    ck_assert_str_eq(parsed.alg, "ED");
    ck_assert_int_eq(memcmp(parsed.keynum, keynum, sizeof(keynum)), 0);
    art_sig_release(&parsed);
    /* Other content, or a flipped digest: refused. */
    ck_assert_int_eq(art_verify(pub_text, "hello, pyodidE", 14, sig, NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_EUNPROCESSABLE);
    b2[0] ^= 1;
    ck_assert_int_eq(art_verify_prehashed(pub_text, b2, sig, NULL, &err), -1);
    free(sig);
}
END_TEST

START_TEST(test_trusted_comment_is_bound)
{
    char *sig = sign("x", 1, "almanac kind=artifact sha256=aa size=1 key=k signed=t");
    char *p = strstr(sig, "size=1");
    struct app_err err = {0};

    ck_assert_ptr_nonnull(p);
    p[5] = '2'; /* claim another size */
    ck_assert_int_eq(art_verify(pub_text, "x", 1, sig, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "trusted comment does not verify"));
    free(sig);
}
END_TEST

START_TEST(test_crlf_and_legacy)
{
    const char *msg = "legacy";
    unsigned char bin[ART_SIG_LEN], global[ART_ED25519_SIG_LEN], m[ART_ED25519_SIG_LEN + 8];
    char *l1, *l2, *text;
    struct app_err err = {0};
    char *sig = sign(msg, strlen(msg), "t c");
    char *crlf = xmalloc(strlen(sig) * 2 + 1), *q = crlf;

    for (const char *s = sig; *s; s++) {
        if (*s == '\n')
            *q++ = '\r';
        *q++ = *s;
    }
    *q = '\0';
    ck_assert_int_eq(art_verify(pub_text, msg, strlen(msg), crlf, NULL, &err), 0);
    free(crlf);
    free(sig);
    /* A legacy "Ed" signature over the raw content verifies with the content only. */
    memcpy(bin, "Ed", 2);
    memcpy(bin + 2, keynum, ART_KEYNUM_LEN);
    crypto_sign_detached(bin + 10, NULL, (const unsigned char *)msg, strlen(msg), sk);
    memcpy(m, bin + 10, ART_ED25519_SIG_LEN);
    memcpy(m + ART_ED25519_SIG_LEN, "legacy c", 8);
    crypto_sign_detached(global, NULL, m, sizeof(m), sk);
    l1 = art_b64(bin, sizeof(bin));
    l2 = art_b64(global, sizeof(global));
    text = xasprintf("untrusted comment: x\n%s\ntrusted comment: legacy c\n%s\n", l1, l2);
    ck_assert_int_eq(art_verify(pub_text, msg, strlen(msg), text, NULL, &err), 0);
    {
        uint8_t b2[ART_BLAKE2B_LEN];

        art_blake2b(msg, strlen(msg), b2);
        ck_assert_int_eq(art_verify_prehashed(pub_text, b2, text, NULL, &err), -1);
        ck_assert_int_eq(err.code, APP_EINVAL);
    }
    free(l1);
    free(l2);
    free(text);
}
END_TEST

START_TEST(test_malformed_signatures)
{
    char *good = sign("m", 1, "c");
    const char *l2 = strchr(good, '\n') + 1;
    const char *l4 = strchr(strchr(l2, '\n') + 1, '\n') + 1;
    char *sig_line = xstrndup(l2, strcspn(l2, "\n"));
    char *glob = xstrndup(l4, strcspn(l4, "\n"));
    char *big = xmalloc(ART_TRUSTED_COMMENT_MAX + 2);
    struct {
        char *text;
        const char *why;
    } cases[] = {
        {xstrdup(""), "untrusted comment"},
        {xasprintf("untrusted comment: x\n"), "not a minisign signature"},
        {xasprintf("untrusted comment: x\n%s\n", sig_line), "no trusted comment"},
        {xasprintf("untrusted comment: x\n%s\ntrusted comment: c\n", sig_line),
         "no global signature"},
        {xasprintf("untrusted comment: x\nAAAA\ntrusted comment: c\n%s\n", glob),
         "not a minisign signature"},
        {xasprintf("comment: x\n%s\ntrusted comment: c\n%s\n", sig_line, glob),
         "untrusted comment"},
        {NULL, "too long"},
    };
    struct app_err err = {0};
    char id[ART_KEY_ID_LEN];

    memset(big, 'a', ART_TRUSTED_COMMENT_MAX + 1);
    big[ART_TRUSTED_COMMENT_MAX + 1] = '\0';
    cases[6].text =
        xasprintf("untrusted comment: x\n%s\ntrusted comment: %s\n%s\n", sig_line, big, glob);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct art_sig s;

        ck_assert_int_eq(art_sig_parse(cases[i].text, &s, &err), -1);
        ck_assert_int_eq(err.code, APP_EINVAL);
        ck_assert_msg(strstr(err.msg, cases[i].why), "case %zu: %s", i, err.msg);
        ck_assert_int_eq(art_sig_key_id(cases[i].text, id, &err), -1);
        free(cases[i].text);
    }
    ck_assert_int_eq(art_sig_key_id(good, id, &err), 0);
    ck_assert_str_eq(id, "0807060504030201");
    free(big);
    free(sig_line);
    free(glob);
    free(good);
}
END_TEST

START_TEST(test_wrong_key)
{
    uint8_t other[ART_KEYNUM_LEN] = {9, 9, 9, 9, 9, 9, 9, 9};
    uint8_t b2[ART_BLAKE2B_LEN];
    struct app_err err = {0};
    char *sig;

    art_blake2b("m", 1, b2);
    sig = art_minisign_sign(other, sk, b2, "c");
    ck_assert_int_eq(art_verify(pub_text, "m", 1, sig, NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_EUNPROCESSABLE);
    ck_assert_ptr_nonnull(strstr(err.msg, "0909090909090909"));
    free(sig);
}
END_TEST

START_TEST(test_binding)
{
    struct app_err err = {0};
    char *t = art_trusted_comment("artifact", "abc", 42, "KEY", "2026-01-01T00:00:00Z");

    ck_assert_str_eq(t, "almanac kind=artifact sha256=abc size=42 key=KEY "
                        "signed=2026-01-01T00:00:00Z");
    ck_assert_int_eq(art_verify_binding(t, "artifact", "abc", 42, &err), 0);
    ck_assert_int_eq(art_verify_binding(t, "lock", "abc", 42, &err), -1);
    ck_assert_int_eq(art_verify_binding(t, "artifact", "abd", 42, &err), -1);
    ck_assert_int_eq(art_verify_binding(t, "artifact", "abc", 4, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "size"));
    ck_assert_int_eq(art_verify_binding("minisign kind=artifact", "artifact", "abc", 42, &err), -1);
    /* A field must match whole: size=42 is not size=4. */
    ck_assert_int_eq(art_verify_binding("almanac kind=artifact sha256=abc size=420", "artifact",
                                        "abc", 42, &err),
                     -1);
    free(t);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("minisign");
    TCase *tc = tcase_create("minisign");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_key_id);
    tcase_add_test(tc, test_pubkey_text);
    tcase_add_test(tc, test_sign_verify_prehashed);
    tcase_add_test(tc, test_trusted_comment_is_bound);
    tcase_add_test(tc, test_crlf_and_legacy);
    tcase_add_test(tc, test_malformed_signatures);
    tcase_add_test(tc, test_wrong_key);
    tcase_add_test(tc, test_binding);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
