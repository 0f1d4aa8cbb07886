/* artifacts/minisign.c: minisign public keys and signatures: parse, format, sign,
 * verify, and almanac's trusted-comment binding (see artifacts/minisign.h). Every
 * reader is bounded: lines are split without copying, base64 decodes into fixed
 * buffers of the exact expected size, the trusted comment has minisign's limit. */
#include "artifacts/minisign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/mem.h"

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define ALG_PREHASHED "ED"
#define ALG_LEGACY "Ed"
#define ALG_LEN 2
#define ALMANAC_COMMENT_PREFIX "almanac "
#define SIZE_TEXT_MAX 24 /* a uint64_t in decimal, with room */

void
art_key_id(const uint8_t keynum[ART_KEYNUM_LEN], char id[ART_KEY_ID_LEN])
{
    uint64_t v = 0;

    for (int i = ART_KEYNUM_LEN - 1; i >= 0; i--)
        v = v << 8 | keynum[i];
    snprintf(id, ART_KEY_ID_LEN, "%016" PRIX64, v);
}

int
art_key_id_valid(const char *id)
{
    return strlen(id) == ART_KEY_ID_LEN - 1 && strspn(id, "0123456789ABCDEF") == ART_KEY_ID_LEN - 1;
}

void
art_blake2b(const void *p, size_t n, uint8_t out[ART_BLAKE2B_LEN])
{
    crypto_generichash_blake2b(out, ART_BLAKE2B_LEN, p, n, NULL, 0);
}

char *
art_b64(const void *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = xmalloc(cap);

    sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

int
art_b64_decode(const char *s, size_t n, unsigned char *out, size_t want)
{
    size_t got = 0;
    const char *end = NULL;

    if (sodium_base642bin(out, want, s, n, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    return got == want && end == s + n ? 0 : -1;
}

int
art_pubkey_parse(const char *text, struct art_pubkey *pk, struct app_err *err)
{
    const char *p = text;

    while (p && *p) {
        const char *end = p + strcspn(p, "\n");
        const char *e = end;
        unsigned char bin[ART_PUBKEY_LEN];

        while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (e > p && strncmp(p, "untrusted comment:", strlen("untrusted comment:")) != 0) {
            if ((size_t)(e - p) > ART_PUBKEY_TEXT_MAX ||
                art_b64_decode(p, (size_t)(e - p), bin, sizeof(bin)) < 0 ||
                memcmp(bin, ALG_LEGACY, ALG_LEN) != 0)
                return app_fail(err, APP_EINVAL, "not a minisign Ed25519 public key");
            memcpy(pk->keynum, bin + ALG_LEN, ART_KEYNUM_LEN);
            memcpy(pk->pk, bin + ALG_LEN + ART_KEYNUM_LEN, ART_ED25519_PK_LEN);
            return 0;
        }
        p = *end ? end + 1 : end;
    }
    return app_fail(err, APP_EINVAL, "no public key in the key text");
}

char *
art_pubkey_b64(const struct art_pubkey *pk)
{
    unsigned char bin[ART_PUBKEY_LEN];

    memcpy(bin, ALG_LEGACY, ALG_LEN);
    memcpy(bin + ALG_LEN, pk->keynum, ART_KEYNUM_LEN);
    memcpy(bin + ALG_LEN + ART_KEYNUM_LEN, pk->pk, ART_ED25519_PK_LEN);
    return art_b64(bin, sizeof(bin));
}

char *
art_pubkey_file_text(const char *id, const char *b64_line)
{
    return xasprintf(UNTRUSTED_PREFIX "minisign public key %s\n%s\n", id, b64_line);
}

/* Take the next line of *p (without its newline or a trailing CR). */
static int
next_line(const char **p, const char **line, size_t *n)
{
    const char *s = *p, *end;

    if (!*s)
        return -1;
    end = s + strcspn(s, "\n");
    *line = s;
    *n = (size_t)(end - s);
    if (*n && s[*n - 1] == '\r')
        (*n)--;
    *p = *end ? end + 1 : end;
    return 0;
}

void
art_sig_release(struct art_sig *sig)
{
    if (!sig)
        return;
    free(sig->trusted);
    sig->trusted = NULL;
}

int
art_sig_parse(const char *text, struct art_sig *sig, struct app_err *err)
{
    const char *p = text, *line;
    size_t n, tp = strlen(TRUSTED_PREFIX), up = strlen(UNTRUSTED_PREFIX);
    unsigned char bin[ART_SIG_LEN];

    memset(sig, 0, sizeof(*sig));
    if (!p || next_line(&p, &line, &n) < 0 || n < up || strncmp(line, UNTRUSTED_PREFIX, up) != 0)
        return app_fail(err, APP_EINVAL, "signature does not start with an untrusted comment");
    if (next_line(&p, &line, &n) < 0 || art_b64_decode(line, n, bin, sizeof(bin)) < 0)
        return app_fail(err, APP_EINVAL, "signature line is not a minisign signature");
    if (memcmp(bin, ALG_PREHASHED, ALG_LEN) != 0 && memcmp(bin, ALG_LEGACY, ALG_LEN) != 0)
        return app_fail(err, APP_EINVAL, "unsupported signature algorithm");
    memcpy(sig->alg, bin, ALG_LEN);
    sig->alg[ALG_LEN] = '\0';
    memcpy(sig->keynum, bin + ALG_LEN, ART_KEYNUM_LEN);
    memcpy(sig->sig, bin + ALG_LEN + ART_KEYNUM_LEN, ART_ED25519_SIG_LEN);
    if (next_line(&p, &line, &n) < 0 || n < tp || strncmp(line, TRUSTED_PREFIX, tp) != 0)
        return app_fail(err, APP_EINVAL, "signature has no trusted comment");
    if (n - tp > ART_TRUSTED_COMMENT_MAX)
        return app_fail(err, APP_EINVAL, "trusted comment is too long");
    sig->trusted = xstrndup(line + tp, n - tp);
    if (next_line(&p, &line, &n) < 0 ||
        art_b64_decode(line, n, sig->global, sizeof(sig->global)) < 0) {
        art_sig_release(sig);
        return app_fail(err, APP_EINVAL, "signature has no global signature");
    }
    return 0;
}

char *
art_minisign_sign(const uint8_t keynum[ART_KEYNUM_LEN], const unsigned char *sk,
                  const uint8_t b2[ART_BLAKE2B_LEN], const char *trusted)
{
    unsigned char sig[ART_SIG_LEN], global[ART_ED25519_SIG_LEN];
    size_t tlen = strlen(trusted);
    unsigned char *msg = xmalloc(ART_ED25519_SIG_LEN + tlen);
    char id[ART_KEY_ID_LEN];
    char *s1, *s2, *text;

    memcpy(sig, ALG_PREHASHED, ALG_LEN);
    memcpy(sig + ALG_LEN, keynum, ART_KEYNUM_LEN);
    crypto_sign_detached(sig + ALG_LEN + ART_KEYNUM_LEN, NULL, b2, ART_BLAKE2B_LEN, sk);
    /* The global signature covers the signature and the trusted comment together,
     * so the comment cannot be swapped onto another signature. */
    memcpy(msg, sig + ALG_LEN + ART_KEYNUM_LEN, ART_ED25519_SIG_LEN);
    memcpy(msg + ART_ED25519_SIG_LEN, trusted, tlen);
    crypto_sign_detached(global, NULL, msg, ART_ED25519_SIG_LEN + tlen, sk);
    art_key_id(keynum, id);
    s1 = art_b64(sig, sizeof(sig));
    s2 = art_b64(global, sizeof(global));
    text =
        xasprintf(UNTRUSTED_PREFIX "signature from almanac key %s\n%s\n" TRUSTED_PREFIX "%s\n%s\n",
                  id, s1, trusted, s2);
    free(msg);
    free(s1);
    free(s2);
    return text;
}

/* Verify with either the content (any algorithm) or its BLAKE2b-512 (ED only). */
static int
verify(const char *pubkey_text, const void *content, size_t len, const uint8_t *b2in,
       const char *sig_text, char **trusted, struct app_err *err)
{
    uint8_t b2[ART_BLAKE2B_LEN];
    struct art_pubkey pk;
    struct art_sig sig = {0};
    unsigned char *msg = NULL;
    char want[ART_KEY_ID_LEN], got[ART_KEY_ID_LEN];
    size_t tlen;
    int ret = -1, ok;

    if (sodium_init() < 0)
        return app_fail(err, APP_EINTERNAL, "cannot initialize libsodium");
    if (art_pubkey_parse(pubkey_text, &pk, err) < 0 || art_sig_parse(sig_text, &sig, err) < 0)
        return -1;
    if (memcmp(sig.keynum, pk.keynum, ART_KEYNUM_LEN) != 0) {
        art_key_id(pk.keynum, want);
        art_key_id(sig.keynum, got);
        app_fail(err, APP_EUNPROCESSABLE, "signature is by key %s, not %s", got, want);
        goto out;
    }
    if (strcmp(sig.alg, ALG_PREHASHED) == 0) {
        if (b2in)
            memcpy(b2, b2in, sizeof(b2));
        else
            art_blake2b(content, len, b2);
        ok = crypto_sign_verify_detached(sig.sig, b2, sizeof(b2), pk.pk) == 0;
    } else if (!b2in) {
        ok = crypto_sign_verify_detached(sig.sig, content, len, pk.pk) == 0;
    } else {
        app_fail(err, APP_EINVAL, "a legacy (not prehashed) signature needs the content");
        goto out;
    }
    if (!ok) {
        app_fail(err, APP_EUNPROCESSABLE, "signature does not verify");
        goto out;
    }
    tlen = strlen(sig.trusted);
    msg = xmalloc(ART_ED25519_SIG_LEN + tlen);
    memcpy(msg, sig.sig, ART_ED25519_SIG_LEN);
    memcpy(msg + ART_ED25519_SIG_LEN, sig.trusted, tlen);
    if (crypto_sign_verify_detached(sig.global, msg, ART_ED25519_SIG_LEN + tlen, pk.pk) != 0) {
        app_fail(err, APP_EUNPROCESSABLE, "trusted comment does not verify");
        goto out;
    }
    if (trusted) {
        *trusted = sig.trusted;
        sig.trusted = NULL;
    }
    ret = 0;
out:
    free(msg);
    art_sig_release(&sig);
    return ret;
}

int
art_verify(const char *pubkey_text, const void *content, size_t len, const char *sig_text,
           char **trusted, struct app_err *err)
{
    return verify(pubkey_text, content ? content : "", len, NULL, sig_text, trusted, err);
}

int
art_verify_prehashed(const char *pubkey_text, const uint8_t blake2b[ART_BLAKE2B_LEN],
                     const char *sig_text, char **trusted, struct app_err *err)
{
    return verify(pubkey_text, NULL, 0, blake2b, sig_text, trusted, err);
}

int
art_pubkey_id(const char *pubkey_text, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    struct art_pubkey pk;

    if (art_pubkey_parse(pubkey_text, &pk, err) < 0)
        return -1;
    art_key_id(pk.keynum, id);
    return 0;
}

int
art_sig_key_id(const char *sig_text, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    struct art_sig sig;

    if (art_sig_parse(sig_text, &sig, err) < 0)
        return -1;
    art_key_id(sig.keynum, id);
    art_sig_release(&sig);
    return 0;
}

char *
art_trusted_comment(const char *kind, const char *sha256_hex, uint64_t size, const char *id,
                    const char *now)
{
    return xasprintf(ALMANAC_COMMENT_PREFIX "kind=%s sha256=%s size=%llu key=%s signed=%s", kind,
                     sha256_hex, (unsigned long long)size, id, now);
}

/* The value of key=... among the space-separated fields of a trusted comment. */
static int
field(const char *trusted, const char *key, const char **v, size_t *n)
{
    size_t k = strlen(key);
    const char *p = trusted;

    while (*p) {
        size_t len = strcspn(p, " \t");

        if (len > k && strncmp(p, key, k) == 0 && p[k] == '=') {
            *v = p + k + 1;
            *n = len - k - 1;
            return 0;
        }
        p += len;
        p += strspn(p, " \t");
    }
    return -1;
}

static int
field_is(const char *trusted, const char *key, const char *want)
{
    const char *v;
    size_t n;

    return field(trusted, key, &v, &n) == 0 && n == strlen(want) && memcmp(v, want, n) == 0;
}

int
art_verify_binding(const char *trusted, const char *kind, const char *sha256_hex, uint64_t size,
                   struct app_err *err)
{
    char sz[SIZE_TEXT_MAX];

    snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
    if (strncmp(trusted, ALMANAC_COMMENT_PREFIX, strlen(ALMANAC_COMMENT_PREFIX)) != 0)
        return app_fail(err, APP_EUNPROCESSABLE, "trusted comment is not almanac's");
    if (!field_is(trusted, "kind", kind))
        return app_fail(err, APP_EUNPROCESSABLE, "signature is not for a %s", kind);
    if (!field_is(trusted, "sha256", sha256_hex))
        return app_fail(err, APP_EUNPROCESSABLE, "signature is for another digest");
    if (!field_is(trusted, "size", sz))
        return app_fail(err, APP_EUNPROCESSABLE, "signature is for another size");
    return 0;
}

int
art_verify_object(const char *pubkey_text, const void *content, size_t len, const uint8_t *b2,
                  uint64_t size, const char *sig_text, const char *kind, const char *hex,
                  struct app_err *err)
{
    char *trusted = NULL;
    struct app_err e = {0};
    int rc, ret = -1;

    rc = b2 ? art_verify_prehashed(pubkey_text, b2, sig_text, &trusted, &e)
            : art_verify(pubkey_text, content, len, sig_text, &trusted, &e);
    if (rc < 0) {
        app_fail(err, APP_EVERIFY, "%s %.16s: bad signature: %s", kind, hex, e.msg);
        goto out;
    }
    if (art_verify_binding(trusted, kind, hex, size, &e) < 0) {
        app_fail(err, APP_EVERIFY, "%s %.16s: signature is for another object: %s", kind, hex,
                 e.msg);
        goto out;
    }
    ret = 0;
out:
    app_err_release(&e);
    free(trusted);
    return ret;
}
