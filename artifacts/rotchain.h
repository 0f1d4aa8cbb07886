/* artifacts/rotchain.h: a ring of trusted upstream keys and the signed key rotation
 * chain (issue 14), pure (no files, no network, no database), for whoever follows a
 * signing server from a pinned key: almanacd's mirror (server/follow.c).
 *
 * A rotation statement is canonical JSON {date, kind: "almanac-key-rotation", new,
 * new_public_key, old} signed by the old key with a trusted comment binding
 * kind=rotation, its sha256 and size (artifacts/keys.c makes them). A key is reached
 * only through statements each signed by a key already trusted; a key named by a
 * statement that no trusted key reaches is a gap, refused.
 */
#ifndef ARTIFACTS_ROTCHAIN_H
#define ARTIFACTS_ROTCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "artifacts/minisign.h"

struct art_ring_key {
    char id[ART_KEY_ID_LEN];
    char *b64; /* the public key's base64 line */
};

struct art_ring {
    struct art_ring_key *keys;
    size_t n, cap;
};

void art_ring_release(struct art_ring *r);
/* The base64 line of key id, or NULL when it is not in the ring. */
const char *art_ring_find(const struct art_ring *r, const char *id);
/* Add a key (b64 copied); nothing when id is already there. */
void art_ring_add(struct art_ring *r, const char *id, const char *b64);
/* Parse a public key text (file or line) into its id and base64 line (*b64
 * allocated). APP_EINVAL when it is not a minisign key. */
int art_ring_pubkey(const char *text, char id[ART_KEY_ID_LEN], char **b64, struct app_err *err);

/* Called for each key a statement reaches (in chain order). */
typedef void (*art_ring_reached_fn)(void *ctx, const char *old_id, const char *new_id,
                                    const char *b64, const char *date);

/* Follow the statements of a GET /v1/key-rotations list (any order) from the keys of
 * r until want is trusted; each key reached is added to r and reported. 0 when want
 * is in r; APP_EVERIFY for a statement that does not verify or a chain with a gap. */
int art_ring_follow(struct art_ring *r, const cJSON *rotations, const char *want,
                    art_ring_reached_fn reached, void *ctx, struct app_err *err);

/* Verify sig_text over content (or over its BLAKE2b-512 b2 when content is NULL) with
 * a key of r, and that it binds kind, hex and size. *key_id (optional) gets the
 * signer. APP_EVERIFY naming the reason; a signer not in r is APP_ENOTFOUND (the
 * caller may follow rotations and retry). */
int art_ring_verify(const struct art_ring *r, const void *content, size_t len,
                    const uint8_t b2[ART_BLAKE2B_LEN], uint64_t size, const char *sig_text,
                    const char *kind, const char *hex, char key_id[ART_KEY_ID_LEN],
                    struct app_err *err);

#endif
