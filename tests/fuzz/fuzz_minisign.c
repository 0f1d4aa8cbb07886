/* tests/fuzz/fuzz_minisign.c: libFuzzer target for the minisign text parsers
 * (artifacts/minisign.c): the input is parsed as a signature text and as a public
 * key text, and verified against a fixed key and the input's own first line.
 *
 * Checked: a parsed signature has an allowed algorithm and a trusted comment within
 * the limit and without NUL; art_sig_key_id agrees with the parsed key number; a
 * signature the fixed key made over a fuzzed trusted comment verifies, and stops
 * verifying when the content changes. Everything is freed (ASan checks leaks).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/mem.h"
#include "artifacts/minisign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t keynum[ART_KEYNUM_LEN] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80};
static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static char *pub_text;

static void
init(void)
{
    unsigned char seed[crypto_sign_SEEDBYTES] = {7};
    struct art_pubkey k;
    char *line;

    if (sodium_init() < 0)
        abort();
    crypto_sign_seed_keypair(pk, sk, seed); /* fixed: runs are reproducible */
    memcpy(k.keynum, keynum, sizeof(keynum));
    memcpy(k.pk, pk, sizeof(pk));
    line = art_pubkey_b64(&k);
    pub_text = art_pubkey_file_text("8070605040302010", line);
    free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    struct art_sig sig;
    struct art_pubkey key;
    struct app_err err = {0};
    char id[ART_KEY_ID_LEN], id2[ART_KEY_ID_LEN], *trusted = NULL;

    if (!pub_text)
        init();
    if (art_sig_parse(text, &sig, &err) == 0) {
        if (strcmp(sig.alg, "ED") != 0 && strcmp(sig.alg, "Ed") != 0)
            abort();
        if (!sig.trusted || strlen(sig.trusted) > ART_TRUSTED_COMMENT_MAX)
            abort();
        art_key_id(sig.keynum, id);
        if (art_sig_key_id(text, id2, &err) < 0 || strcmp(id, id2) != 0)
            abort();
        art_sig_release(&sig);
        /* A fuzzed signature verifying under our key would be a forgery. */
        if (art_verify(pub_text, text, size, text, &trusted, &err) == 0)
            abort();
    }
    if (art_pubkey_parse(text, &key, &err) == 0) {
        char *b64 = art_pubkey_b64(&key);
        struct art_pubkey again;

        if (art_pubkey_parse(b64, &again, &err) < 0 || memcmp(&again, &key, sizeof(key)) != 0)
            abort();
        free(b64);
    }
    /* The input's first line as a trusted comment: signed by us, it must verify, and
     * bind only what it says. */
    {
        size_t n = strcspn(text, "\r\n");
        char *comment = xstrndup(text, n < ART_TRUSTED_COMMENT_MAX ? n : ART_TRUSTED_COMMENT_MAX);
        uint8_t b2[ART_BLAKE2B_LEN];
        char *s;

        art_blake2b(data, size, b2);
        s = art_minisign_sign(keynum, sk, b2, comment);
        if (art_verify(pub_text, data, size, s, &trusted, &err) < 0 ||
            strcmp(trusted, comment) != 0)
            abort();
        free(trusted);
        trusted = NULL;
        if (art_verify(pub_text, "x", size == 1 && data[0] == 'x' ? 0 : 1, s, NULL, &err) == 0)
            abort();
        (void)art_verify_binding(comment, "lock", "ab", 1, &err);
        free(s);
        free(comment);
    }
    free(trusted);
    free(text);
    return 0;
}
