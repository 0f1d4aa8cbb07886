/* artifacts/keys.h: the server's Ed25519 signing keys and its signatures (DESIGN §8).
 *
 * Signatures are minisign's prehashed form (artifacts/minisign.h), so the stock
 * `minisign -V` verifies them with the public key from GET /v1/keys.
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
#ifndef ARTIFACTS_KEYS_H
#define ARTIFACTS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "artifacts/minisign.h"

struct art_keys;

/* Open the signing keys of data_dir, creating DATA/keys/ and the first key when
 * there is none. The keys object holds its own database connection and a mutex: it
 * may be shared by all server threads. */
struct art_keys *art_keys_open(const char *data_dir, struct app_err *err);
void art_keys_free(struct art_keys *k);

/* Make a new signing key and retire the current one (one transaction); new_id
 * (optional) gets its id. Takes effect in running servers on their next signature. */
int art_keys_rotate(struct art_keys *k, char new_id[ART_KEY_ID_LEN], struct app_err *err);

/* Every rotation statement, oldest first: [{old, new, date, statement, signature}],
 * statement being canonical JSON {date, kind: "almanac-key-rotation", new,
 * new_public_key, old} and signature its minisign signature by the old key (trusted
 * comment kind=rotation). Rotation (art_keys_rotate) records one. NULL on error. */
cJSON *art_keys_rotations(struct art_keys *k, struct app_err *err);

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

/* The same signature, but only read from the signatures table, never added to it:
 * for locks that are not stored (anonymous resolves, issue 9), whose signatures
 * must not grow the database either. A fresh one is made each time. */
int art_sign_lock_transient(struct art_keys *k, const char *lock_id, const char *bytes, size_t len,
                            char **sig_text, struct app_err *err);

/* Sign a catalog snapshot document (not cached: the caller records it) with the
 * current key; the trusted comment binds kind=snapshot, its sha256, size, version and
 * expiry. *sig_text: caller frees; key_id receives the signing key's id. */
int art_sign_snapshot(struct art_keys *k, const char *bytes, size_t len, long long version,
                      long long expires, char **sig_text, char key_id[ART_KEY_ID_LEN],
                      struct app_err *err);

#endif
