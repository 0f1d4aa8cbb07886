/* artifacts/rotchain.c: trusted keys and the rotation chain (see rotchain.h). */
#include "artifacts/rotchain.h"

#include <stdlib.h>
#include <string.h>

#include "app/hash.h"
#include "app/mem.h"

void
art_ring_release(struct art_ring *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->keys[i].b64);
    free(r->keys);
    memset(r, 0, sizeof(*r));
}

const char *
art_ring_find(const struct art_ring *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->keys[i].id, id) == 0)
            return r->keys[i].b64;
    return NULL;
}

void
art_ring_add(struct art_ring *r, const char *id, const char *b64)
{
    if (art_ring_find(r, id))
        return;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 4;
        r->keys = xrealloc(r->keys, r->cap * sizeof(r->keys[0]));
    }
    snprintf(r->keys[r->n].id, sizeof(r->keys[r->n].id), "%s", id);
    r->keys[r->n].b64 = xstrdup(b64);
    r->n++;
}

int
art_ring_pubkey(const char *text, char id[ART_KEY_ID_LEN], char **b64, struct app_err *err)
{
    struct art_pubkey pk;

    if (art_pubkey_parse(text, &pk, err) < 0)
        return -1;
    art_key_id(pk.keynum, id);
    *b64 = art_pubkey_b64(&pk);
    return 0;
}

/* One statement: 1 when it reached a new key, 0 when it does not apply (yet), -1
 * with err when it is signed by a trusted key but does not verify. *named is set
 * when it names want. */
static int
follow_one(struct art_ring *r, const cJSON *entry, const char *want, int *named,
           art_ring_reached_fn reached, void *ctx, struct app_err *err)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(entry, "statement");
    const cJSON *sg = cJSON_GetObjectItemCaseSensitive(entry, "signature");
    const cJSON *old, *nw, *pub, *kind, *date;
    const char *oldb64;
    cJSON *body = NULL;
    char hex[APP_SHA256_HEX], id[ART_KEY_ID_LEN], *b64 = NULL, *trusted = NULL;
    struct app_err e = {0};
    size_t len;
    int ret = 0;

    if (!cJSON_IsString(st) || !cJSON_IsString(sg))
        return 0;
    len = strlen(st->valuestring);
    body = cJSON_ParseWithLength(st->valuestring, len);
    old = cJSON_GetObjectItemCaseSensitive(body, "old");
    nw = cJSON_GetObjectItemCaseSensitive(body, "new");
    pub = cJSON_GetObjectItemCaseSensitive(body, "new_public_key");
    kind = cJSON_GetObjectItemCaseSensitive(body, "kind");
    date = cJSON_GetObjectItemCaseSensitive(body, "date");
    if (!cJSON_IsString(old) || !cJSON_IsString(nw) || !cJSON_IsString(pub) ||
        !cJSON_IsString(kind) || strcmp(kind->valuestring, "almanac-key-rotation") != 0)
        goto out;
    if (strcmp(nw->valuestring, want) == 0)
        *named = 1;
    oldb64 = art_ring_find(r, old->valuestring);
    if (!oldb64 || art_ring_find(r, nw->valuestring))
        goto out;
    sha256_hex(st->valuestring, len, hex);
    if (art_verify(oldb64, st->valuestring, len, sg->valuestring, &trusted, &e) < 0 ||
        art_verify_binding(trusted, "rotation", hex, len, &e) < 0 ||
        art_ring_pubkey(pub->valuestring, id, &b64, &e) < 0 || strcmp(id, nw->valuestring) != 0) {
        ret = app_fail(err, APP_EVERIFY, "key rotation statement %s -> %s does not verify: %s",
                       old->valuestring, nw->valuestring, e.msg[0] ? e.msg : "wrong key id");
        goto out;
    }
    art_ring_add(r, id, b64);
    if (reached)
        reached(ctx, old->valuestring, id, b64, cJSON_IsString(date) ? date->valuestring : "");
    ret = 1;
out:
    app_err_release(&e);
    free(trusted);
    free(b64);
    cJSON_Delete(body);
    return ret;
}

int
art_ring_follow(struct art_ring *r, const cJSON *rotations, const char *want,
                art_ring_reached_fn reached, void *ctx, struct app_err *err)
{
    int progress = 1, named = 0;

    /* Statements may come in any order: repeat until nothing new is reached. */
    while (progress && !art_ring_find(r, want)) {
        const cJSON *e;

        progress = 0;
        cJSON_ArrayForEach (e, rotations) {
            int rc = follow_one(r, e, want, &named, reached, ctx, err);

            if (rc < 0)
                return -1;
            progress |= rc;
        }
    }
    if (art_ring_find(r, want))
        return 0;
    return app_fail(err, APP_EVERIFY,
                    named ? "key %s is named by a rotation statement that no trusted key "
                            "reaches: refusing a rotation chain with a gap"
                          : "key %s is not trusted and no signed rotation statement leads to it "
                            "from a trusted key",
                    want);
}

int
art_ring_verify(const struct art_ring *r, const void *content, size_t len,
                const uint8_t b2[ART_BLAKE2B_LEN], uint64_t size, const char *sig_text,
                const char *kind, const char *hex, char key_id[ART_KEY_ID_LEN], struct app_err *err)
{
    char id[ART_KEY_ID_LEN];
    const char *b64;
    struct app_err e = {0};
    int ret = -1;

    if (!sig_text || !*sig_text)
        return app_fail(err, APP_EVERIFY, "%s %.16s has no signature", kind, hex);
    if (art_sig_key_id(sig_text, id, &e) < 0) {
        app_fail(err, APP_EVERIFY, "%s %.16s: signature is not in minisign format: %s", kind, hex,
                 e.msg);
        goto out;
    }
    if (key_id)
        memcpy(key_id, id, ART_KEY_ID_LEN);
    b64 = art_ring_find(r, id);
    if (!b64) {
        app_fail(err, APP_ENOTFOUND, "%s %.16s is signed by key %s, which is not trusted", kind,
                 hex, id);
        goto out;
    }
    ret = art_verify_object(b64, content, len, b2, size, sig_text, kind, hex, err);
out:
    app_err_release(&e);
    return ret;
}
