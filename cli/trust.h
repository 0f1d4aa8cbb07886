/* cli/trust.h: the public keys the CLI trusts, and signature checks against them.
 *
 * Every lock and every artifact is verified against a pinned key before use
 * (DESIGN §8, §10); a signature that does not verify is an error, never a warning.
 *
 * Where the keys come from:
 *   --key FILE (or ALMANAC_KEY): exactly that minisign public key, nothing stored;
 *   otherwise the known-keys file $XDG_CONFIG_HOME/almanac/known_keys (default
 *   ~/.config/almanac/known_keys), one line per key: "<server URL> <KEY ID>
 *   <base64 minisign public key>" ("*" for keys added with `almanac trust add`).
 *   Keys are trusted per key id, whichever server line pinned them (issue 14): a
 *   mirror serving the upstream's signatures needs no new trust. The first time a
 *   server is used its keys are fetched from GET /v1/keys: when it lists a key
 *   already pinned, only those are associated with it, quietly (a mirror cannot add
 *   keys of its own); otherwise all are pinned on first use, said on stderr. Later
 *   a signature by a key not pinned is accepted only when the server's signed
 *   rotation statements (GET /v1/key-rotations) lead to it from a pinned key, each
 *   verified by the key before it; otherwise it is refused like SSH's known_hosts
 *   (`almanac trust forget` re-pins on next use).
 *
 * Verification failures use APP_EVERIFY (exit code 4).
 */
#ifndef CLI_TRUST_H
#define CLI_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "app/err.h"
#include "artifacts/minisign.h"
#include "cli/state.h"

/* Load (and on first use fetch and pin) the keys for c->server; idempotent. */
int cli_trust_load(struct cli *c, struct app_err *err);

/* Verify sig_text over len bytes of content, and that its trusted comment binds
 * kind ("lock" or "artifact"), sha256_hex and size. */
int cli_trust_verify(struct cli *c, const void *content, size_t len, const char *sig_text,
                     const char *kind, const char *sha256_hex, struct app_err *err);

/* The same with the content's BLAKE2b-512 computed by the caller (streaming). */
int cli_trust_verify_prehashed(struct cli *c, const uint8_t blake2b[ART_BLAKE2B_LEN], uint64_t size,
                               const char *sig_text, const char *kind, const char *sha256_hex,
                               struct app_err *err);

/* The known-keys file path (caller frees). */
char *cli_trust_file(void);

/* Describe the pinned keys of c->server on stdout (human or JSON). */
int cli_trust_show(struct cli *c, struct app_err *err);

/* Remove c->server's pinned keys from the known-keys file; *removed counts them. */
int cli_trust_forget(struct cli *c, int *removed, struct app_err *err);

/* Pin the minisign public key in key_file for every server ("*" line of the
 * known-keys file): how a first contact through a mirror trusts the upstream's key
 * without trusting the mirror. *added is 0 when it was pinned already. */
int cli_trust_add(const char *key_file, char id[17], int *added, struct app_err *err);

void cli_trust_free(struct cli_trust *t);

#endif
