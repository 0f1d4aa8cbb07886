/* artifacts/sign.h: Ed25519 signing keys and minisign-format signatures (DESIGN §8).
 *
 * Signatures are minisign's prehashed form, so the stock `minisign -V` verifies
 * them with the public key from GET /v1/keys:
 *
 *   untrusted comment: signature from almanac key <ID>
 *   base64("ED" || keynum[8] || Ed25519(BLAKE2b-512(content)))
 *   trusted comment: almanac kind=<artifact|lock> sha256=<hex> size=<n> key=<ID> signed=<time>
 *   base64(Ed25519(signature[64] || trusted comment))
 *
 * The trusted comment is covered by the global signature, so it binds the object's
 * kind, digest and size. <ID> is the key id as minisign prints it: 16 upper-case
 * hex digits of the little-endian key number.
 *
 * Keys: DATA/keys/<ID>.key holds the secret key in minisign's unencrypted secret key
 * format (mode 0600; `minisign -S -s` can use it), DATA/keys/<ID>.pub the public key
 * file; the `keys` table records each key's public half, creation and retirement.
 * The first key is made on first start; rotation makes a new key and retires the
 * old one, whose signatures keep verifying. In memory a secret key lives in
 * sodium_malloc'd pages that are PROT_NONE except while signing, and is wiped when
 * freed. Signatures are made on first request and cached in the `signatures` table,
 * one per (kind, digest, key).
 */
#ifndef ARTIFACTS_SIGN_H
#define ARTIFACTS_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/err.h"

#define ART_KEY_ID_LEN 17            /* 16 hex digits + NUL */
#define ART_TRUSTED_COMMENT_MAX 8192 /* minisign's limit */
#define ART_SIG_TEXT_MAX (ART_TRUSTED_COMMENT_MAX + 512)

struct art_keys;

/* Open the signing keys of data_dir, creating DATA/keys/ and the first key when
 * there is none. The keys object holds its own database connection and a mutex: it
 * may be shared by all server threads. */
struct art_keys *art_keys_open(const char *data_dir, struct app_err *err);
void art_keys_free(struct art_keys *k);

/* Make a new signing key and retire the current one (one transaction); new_id
 * (optional) gets its id. Takes effect in running servers on their next signature. */
int art_keys_rotate(struct art_keys *k, char new_id[ART_KEY_ID_LEN], struct app_err *err);

/* The id of the key that signs now. */
int art_keys_current(struct art_keys *k, char id[ART_KEY_ID_LEN], struct app_err *err);

/* All keys, newest first: [{id, created_at, retired_at | null, current,
 * public_key}], public_key being the minisign public key file text. NULL on error. */
cJSON *art_keys_list(struct art_keys *k, struct app_err *err);

/* The minisign public key file of key id (caller frees *text); APP_ENOTFOUND. */
int art_keys_pubkey(struct art_keys *k, const char *id, char **text, struct app_err *err);

/* The signature of a stored artifact by the current key (cached). blake2b_hex is
 * the BLAKE2b-512 of its bytes (artifact_facts). *sig_text: caller frees. */
int art_sign_artifact(struct art_keys *k, const char *sha256_hex, uint64_t size,
                      const char *blake2b_hex, char **sig_text, struct app_err *err);

/* The signature of a lock: lock_id is "sha256:<hex>" of bytes (checked: a mismatch
 * is APP_EINVAL). Cached like artifacts. *sig_text: caller frees. */
int art_sign_lock(struct art_keys *k, const char *lock_id, const char *bytes, size_t len,
                  char **sig_text, struct app_err *err);

/* Verification, for clients (no keys object needed). pubkey_text is a minisign
 * public key file or its base64 line. The signature may be prehashed ("ED") or
 * legacy ("Ed", over the raw content; art_verify only). On success *trusted
 * (optional, caller frees) is the trusted comment. Failures: APP_EINVAL for
 * malformed key or signature text, APP_EUNPROCESSABLE for a wrong key id, a
 * signature or trusted comment that does not verify. */
int art_verify(const char *pubkey_text, const void *content, size_t len, const char *sig_text,
               char **trusted, struct app_err *err);
int art_verify_prehashed(const char *pubkey_text, const uint8_t blake2b[64], const char *sig_text,
                         char **trusted, struct app_err *err);

/* The key id (as minisign prints it) of a public key text, or of the key that made
 * a signature text; -1 with APP_EINVAL when the text is not one. For pinning. */
int art_pubkey_id(const char *pubkey_text, char id[ART_KEY_ID_LEN], struct app_err *err);
int art_sig_key_id(const char *sig_text, char id[ART_KEY_ID_LEN], struct app_err *err);

/* Check that a verified trusted comment binds kind ("artifact", "lock"), the sha256
 * hex of the object and its size. APP_EUNPROCESSABLE naming the field otherwise. */
int art_verify_binding(const char *trusted, const char *kind, const char *sha256_hex, uint64_t size,
                       struct app_err *err);

/* BLAKE2b-512 of n bytes (what "ED" signatures sign). */
void art_blake2b(const void *p, size_t n, uint8_t out[64]);

#endif
