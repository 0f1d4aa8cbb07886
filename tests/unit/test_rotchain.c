/* tests/unit/test_rotchain.c: trusted keys and the signed rotation chain
 * (artifacts/rotchain.c): a chain is followed in any order, a gap or a statement
 * that does not verify is refused, and signatures are checked against the ring
 * with their binding. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "artifacts/rotchain.h"
#include "tests/lib/unit.h"

#define N_KEYS 4

struct tkey {
    uint8_t keynum[ART_KEYNUM_LEN];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char id[ART_KEY_ID_LEN];
    char *b64;
};

static struct tkey keys[N_KEYS];

static void
setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    for (int i = 0; i < N_KEYS; i++) {
        struct art_pubkey p;

        for (int j = 0; j < ART_KEYNUM_LEN; j++)
            keys[i].keynum[j] = (uint8_t)(16 * i + j + 1);
        crypto_sign_keypair(keys[i].pk, keys[i].sk);
        memcpy(p.keynum, keys[i].keynum, ART_KEYNUM_LEN);
        memcpy(p.pk, keys[i].pk, ART_ED25519_PK_LEN);
        art_key_id(keys[i].keynum, keys[i].id);
        keys[i].b64 = art_pubkey_b64(&p);
    }
}

static void
teardown(void)
{
    for (int i = 0; i < N_KEYS; i++)
        free(keys[i].b64);
}

/* The signature of content by key k with almanac's trusted comment for kind. */
static char *
sign(const struct tkey *k, const char *kind, const char *content, size_t len)
{
    uint8_t b2[ART_BLAKE2B_LEN];
    char hex[APP_SHA256_HEX], *trusted, *sig;

    sha256_hex(content, len, hex);
    art_blake2b(content, len, b2);
    trusted = art_trusted_comment(kind, hex, len, k->id, "2026-01-01T00:00:00Z");
    sig = art_minisign_sign(k->keynum, k->sk, b2, trusted);
    free(trusted);
    return sig;
}

/* {statement, signature}: old rotates to new, signed by signer. */
static cJSON *
statement(const struct tkey *old, const struct tkey *nw, const struct tkey *signer)
{
    cJSON *st = xjson(cJSON_CreateObject()), *e = xjson(cJSON_CreateObject());
    char *pubtext = art_pubkey_file_text(nw->id, nw->b64), *text, *sig;

    xjson(cJSON_AddStringToObject(st, "date", "2026-01-01"));
    xjson(cJSON_AddStringToObject(st, "kind", "almanac-key-rotation"));
    xjson(cJSON_AddStringToObject(st, "new", nw->id));
    xjson(cJSON_AddStringToObject(st, "new_public_key", pubtext));
    xjson(cJSON_AddStringToObject(st, "old", old->id));
    text = json_canonical(st, NULL);
    sig = sign(signer, "rotation", text, strlen(text));
    xjson(cJSON_AddStringToObject(e, "statement", text));
    xjson(cJSON_AddStringToObject(e, "signature", sig));
    free(pubtext);
    free(text);
    free(sig);
    cJSON_Delete(st);
    return e;
}

static int reached_n;

static void
reached(void *ctx, const char *old_id, const char *new_id, const char *b64, const char *date)
{
    (void)ctx, (void)old_id, (void)new_id, (void)b64;
    ck_assert_str_eq(date, "2026-01-01");
    reached_n++;
}

START_TEST(test_chain_in_any_order)
{
    struct art_ring r = {0};
    struct app_err err = {0};
    cJSON *list = xjson(cJSON_CreateArray());

    /* 2 -> 3 listed before 1 -> 2 before 0 -> 1 */
    cJSON_AddItemToArray(list, statement(&keys[2], &keys[3], &keys[2]));
    cJSON_AddItemToArray(list, statement(&keys[1], &keys[2], &keys[1]));
    cJSON_AddItemToArray(list, statement(&keys[0], &keys[1], &keys[0]));
    art_ring_add(&r, keys[0].id, keys[0].b64);
    reached_n = 0;
    ck_assert_int_eq(art_ring_follow(&r, list, keys[3].id, reached, NULL, &err), 0);
    ck_assert_int_eq(reached_n, 3);
    ck_assert_str_eq(art_ring_find(&r, keys[3].id), keys[3].b64);
    /* already trusted: nothing to do */
    reached_n = 0;
    ck_assert_int_eq(art_ring_follow(&r, list, keys[2].id, reached, NULL, &err), 0);
    ck_assert_int_eq(reached_n, 0);
    art_ring_release(&r);
    cJSON_Delete(list);
}
END_TEST

START_TEST(test_gap_refused)
{
    struct art_ring r = {0};
    struct app_err err = {0};
    cJSON *list = xjson(cJSON_CreateArray());

    cJSON_AddItemToArray(list, statement(&keys[2], &keys[3], &keys[2]));
    art_ring_add(&r, keys[0].id, keys[0].b64);
    ck_assert_int_eq(art_ring_follow(&r, list, keys[3].id, NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_EVERIFY);
    ck_assert_ptr_nonnull(strstr(err.msg, "gap"));
    ck_assert_ptr_null(art_ring_find(&r, keys[3].id));
    app_err_release(&err);
    /* a key no statement names */
    ck_assert_int_eq(art_ring_follow(&r, list, keys[1].id, NULL, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no signed rotation statement"));
    app_err_release(&err);
    art_ring_release(&r);
    cJSON_Delete(list);
}
END_TEST

START_TEST(test_bad_statement_refused)
{
    struct art_ring r = {0};
    struct app_err err = {0};
    cJSON *list = xjson(cJSON_CreateArray());

    /* 0 -> 1 signed by 2 (not the old key): does not verify */
    cJSON_AddItemToArray(list, statement(&keys[0], &keys[1], &keys[2]));
    art_ring_add(&r, keys[0].id, keys[0].b64);
    ck_assert_int_eq(art_ring_follow(&r, list, keys[1].id, NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_EVERIFY);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not verify"));
    ck_assert_ptr_null(art_ring_find(&r, keys[1].id));
    app_err_release(&err);
    art_ring_release(&r);
    cJSON_Delete(list);
}
END_TEST

START_TEST(test_verify)
{
    struct art_ring r = {0};
    struct app_err err = {0};
    const char *doc = "{\"version\":7}";
    char hex[APP_SHA256_HEX], other[APP_SHA256_HEX], id[ART_KEY_ID_LEN];
    char *sig = sign(&keys[1], "snapshot", doc, strlen(doc)), *bad;
    uint8_t b2[ART_BLAKE2B_LEN];

    sha256_hex(doc, strlen(doc), hex);
    art_ring_add(&r, keys[0].id, keys[0].b64);
    ck_assert_int_eq(
        art_ring_verify(&r, doc, strlen(doc), NULL, strlen(doc), sig, "snapshot", hex, id, &err),
        -1);
    ck_assert_int_eq(err.code, APP_ENOTFOUND); /* signer not trusted (yet) */
    ck_assert_str_eq(id, keys[1].id);
    app_err_release(&err);
    art_ring_add(&r, keys[1].id, keys[1].b64);
    ck_assert_int_eq(
        art_ring_verify(&r, doc, strlen(doc), NULL, strlen(doc), sig, "snapshot", hex, id, &err),
        0);
    /* prehashed, as artifacts are checked while they stream */
    art_blake2b(doc, strlen(doc), b2);
    ck_assert_int_eq(
        art_ring_verify(&r, NULL, 0, b2, strlen(doc), sig, "snapshot", hex, NULL, &err), 0);
    /* the binding: another kind or digest is refused */
    ck_assert_int_eq(
        art_ring_verify(&r, doc, strlen(doc), NULL, strlen(doc), sig, "artifact", hex, NULL, &err),
        -1);
    ck_assert_int_eq(err.code, APP_EVERIFY);
    app_err_release(&err);
    sha256_hex("x", 1, other);
    ck_assert_int_eq(art_ring_verify(&r, doc, strlen(doc), NULL, strlen(doc), sig, "snapshot",
                                     other, NULL, &err),
                     -1);
    app_err_release(&err);
    /* other bytes */
    ck_assert_int_eq(art_ring_verify(&r, "{\"version\":8}", strlen(doc), NULL, strlen(doc), sig,
                                     "snapshot", hex, NULL, &err),
                     -1);
    ck_assert_int_eq(err.code, APP_EVERIFY);
    app_err_release(&err);
    /* not a signature at all */
    bad = xstrdup("hello");
    ck_assert_int_eq(
        art_ring_verify(&r, doc, strlen(doc), NULL, strlen(doc), bad, "snapshot", hex, NULL, &err),
        -1);
    ck_assert_int_eq(err.code, APP_EVERIFY);
    app_err_release(&err);
    free(bad);
    free(sig);
    art_ring_release(&r);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rotchain");
    TCase *tc = tcase_create("rotchain");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_chain_in_any_order);
    tcase_add_test(tc, test_gap_refused);
    tcase_add_test(tc, test_bad_statement_refused);
    tcase_add_test(tc, test_verify);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
