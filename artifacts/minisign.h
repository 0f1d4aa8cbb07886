/* artifacts/minisign.h: the minisign formats, pure (no files, no database):
 * public keys, signatures, key ids, signing, verification and almanac's
 * trusted-comment binding (DESIGN §8). https://jedisct1.github.io/minisign/
 *
 *   public key   base64("Ed" || keynum[8] || Ed25519 pk[32])
 *   signature    untrusted comment: <text>
 *                base64("ED" || keynum[8] || Ed25519(BLAKE2b-512(content)))
 *                trusted comment: <text>
 *                base64(Ed25519(signature[64] || trusted comment))
 *
 * "ED" is the prehashed form (what almanac makes); "Ed" signs the raw content
 * (legacy, accepted when the content is at hand). A key id is the key number as
 * minisign prints it: 16 upper-case hex digits of the little-endian keynum.
 * almanac's trusted comment is
 *   almanac kind=<artifact|lock> sha256=<hex> size=<n> key=<ID> signed=<time>
 * and binds the object's kind, digest and size.
 */
#ifndef ARTIFACTS_MINISIGN_H
#define ARTIFACTS_MINISIGN_H

#include <stddef.h>
#include <stdint.h>

#include "app/err.h"

#define ART_KEYNUM_LEN 8
#define ART_KEY_ID_LEN 17 /* 16 hex digits + NUL */
#define ART_ED25519_PK_LEN 32
#define ART_ED25519_SIG_LEN 64
#define ART_BLAKE2B_LEN 64
#define ART_PUBKEY_LEN 42            /* "Ed" + keynum + pk */
#define ART_SIG_LEN 74               /* "ED" + keynum + sig */
#define ART_TRUSTED_COMMENT_MAX 8192 /* minisign's limit */
#define ART_SIG_TEXT_MAX (ART_TRUSTED_COMMENT_MAX + 512)
#define ART_PUBKEY_TEXT_MAX 1024 /* longest base64 line accepted for a public key */

/* A parsed public key. */
struct art_pubkey {
    uint8_t keynum[ART_KEYNUM_LEN];
    uint8_t pk[ART_ED25519_PK_LEN];
};

/* A parsed signature text; trusted is owned (art_sig_release). */
struct art_sig {
    char alg[3]; /* "ED" (prehashed) or "Ed" (legacy) */
    uint8_t keynum[ART_KEYNUM_LEN];
    uint8_t sig[ART_ED25519_SIG_LEN];
    char *trusted; /* the trusted comment, without its prefix */
    uint8_t global[ART_ED25519_SIG_LEN];
};

/* The id of a key number ("5A3C..."), and 1 when id has that shape. */
void art_key_id(const uint8_t keynum[ART_KEYNUM_LEN], char id[ART_KEY_ID_LEN]);
int art_key_id_valid(const char *id);

/* Standard base64 (with padding) of n bytes; the caller frees. */
char *art_b64(const void *p, size_t n);

/* Decode exactly want bytes of base64 from s[0..n) into out; -1 when the text is
 * not base64 or does not decode to exactly want bytes. */
int art_b64_decode(const char *s, size_t n, unsigned char *out, size_t want);

/* BLAKE2b-512 of n bytes (what "ED" signatures sign). */
void art_blake2b(const void *p, size_t n, uint8_t out[ART_BLAKE2B_LEN]);

/* Parse a public key file or its base64 line (the first line that is not an
 * untrusted comment). APP_EINVAL when it is not a minisign Ed25519 public key. */
int art_pubkey_parse(const char *text, struct art_pubkey *pk, struct app_err *err);

/* The base64 line of a key, and the public key file text (untrusted comment naming
 * the id, then the line). Both returned strings belong to the caller. */
char *art_pubkey_b64(const struct art_pubkey *pk);
char *art_pubkey_file_text(const char *id, const char *b64_line);

/* Parse a signature text (four lines; CRLF accepted). APP_EINVAL naming the part
 * that is malformed. On success the caller releases sig. */
int art_sig_parse(const char *text, struct art_sig *sig, struct app_err *err);
void art_sig_release(struct art_sig *sig);

/* Sign: the signature text over a BLAKE2b-512 digest with secret key sk (64 bytes,
 * readable for the duration of the call), key number keynum, and trusted comment.
 * The caller frees the text. */
char *art_minisign_sign(const uint8_t keynum[ART_KEYNUM_LEN], const unsigned char *sk,
                        const uint8_t b2[ART_BLAKE2B_LEN], const char *trusted);

/* Verification. pubkey_text is a minisign public key file or its base64 line. The
 * signature may be prehashed ("ED") or legacy ("Ed", over the raw content;
 * art_verify only). On success *trusted (optional, caller frees) is the trusted
 * comment. Failures: APP_EINVAL for malformed key or signature text,
 * APP_EUNPROCESSABLE for a wrong key id, a signature or trusted comment that does
 * not verify. */
int art_verify(const char *pubkey_text, const void *content, size_t len, const char *sig_text,
               char **trusted, struct app_err *err);
int art_verify_prehashed(const char *pubkey_text, const uint8_t blake2b[ART_BLAKE2B_LEN],
                         const char *sig_text, char **trusted, struct app_err *err);

/* The key id of a public key text, or of the key that made a signature text; -1
 * with APP_EINVAL when the text is not one. For pinning. */
int art_pubkey_id(const char *pubkey_text, char id[ART_KEY_ID_LEN], struct app_err *err);
int art_sig_key_id(const char *sig_text, char id[ART_KEY_ID_LEN], struct app_err *err);

/* almanac's trusted comment for (kind, sha256 hex, size) by key id at time now;
 * the caller frees it. */
char *art_trusted_comment(const char *kind, const char *sha256_hex, uint64_t size, const char *id,
                          const char *now);

/* Check that a verified trusted comment binds kind ("artifact", "lock"), the sha256
 * hex of the object and its size. APP_EUNPROCESSABLE naming the field otherwise. */
int art_verify_binding(const char *trusted, const char *kind, const char *sha256_hex, uint64_t size,
                       struct app_err *err);

/* An object's signature with a key already chosen: the signature over content
 * (or over its BLAKE2b b2 when b2 is not NULL), then the binding of kind, hex and
 * size. Failures are APP_EVERIFY with "KIND HEX16: bad signature" or "... is for
 * another object" and the reason. */
int art_verify_object(const char *pubkey_text, const void *content, size_t len, const uint8_t *b2,
                      uint64_t size, const char *sig_text, const char *kind, const char *hex,
                      struct app_err *err);

#endif
