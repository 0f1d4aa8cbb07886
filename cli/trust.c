/* cli/trust.c: pinned keys (--key or trust on first use) and signature checks.
 *
 * The known-keys file is rewritten whole (temp file + rename) so a crash never
 * leaves half a line; lines this version does not understand are kept as they are.
 */
#include "cli/trust.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/hash.h"
#include "app/mem.h"
#include "artifacts/minisign.h"
#include "artifacts/rotchain.h"
#include "cli/client.h"
#include "cli/output.h"

#define TRUST_FILE_MAX (1024 * 1024)

struct trust_key {
    char id[ART_KEY_ID_LEN];
    char *b64; /* the public key's base64 line */
    int retired;
};

struct cli_trust {
    char *source; /* "--key FILE" or the known-keys file, for messages */
    struct trust_key *keys;
    size_t n;
};

static void
keys_add(struct cli_trust *t, const char *id, const char *b64, int retired)
{
    t->keys = xrealloc(t->keys, (t->n + 1) * sizeof(*t->keys));
    memcpy(t->keys[t->n].id, id, ART_KEY_ID_LEN);
    t->keys[t->n].b64 = xstrdup(b64);
    t->keys[t->n].retired = retired;
    t->n++;
}

void
cli_trust_free(struct cli_trust *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->keys[i].b64);
    free(t->keys);
    free(t->source);
    free(t);
}

/* The base64 line of a minisign public key text and its key id (parsed by
 * artifacts/minisign, the one implementation). *b64 is allocated. */
static int
pubkey_parse(const char *text, char **b64, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    struct art_pubkey pk;

    if (art_pubkey_parse(text, &pk, err) < 0)
        return -1;
    art_key_id(pk.keynum, id);
    *b64 = art_pubkey_b64(&pk);
    return 0;
}

char *
cli_trust_file(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

    if (xdg && *xdg)
        return xasprintf("%s/almanac/known_keys", xdg);
    return xasprintf("%s/.config/almanac/known_keys", home && *home ? home : ".");
}

/* Read the known-keys file; a missing file is empty. */
static int
read_known(const char *path, char **text, struct app_err *err)
{
    size_t len = 0;

    *text = NULL;
    if (access(path, F_OK) != 0) {
        *text = xstrdup("");
        return 0;
    }
    return file_read_all(path, text, &len, TRUST_FILE_MAX, err);
}

/* Call fn for each "<server> <id> <b64>" line of text. */
static void
each_line(const char *text,
          void (*fn)(void *ctx, const char *server, const char *id, const char *b64,
                     const char *line, size_t n),
          void *ctx)
{
    const char *p = text;

    while (*p) {
        const char *end = p + strcspn(p, "\n");
        size_t n = (size_t)(end - p);
        char *line = xstrndup(p, n), *save = NULL;
        char *server = strtok_r(line, " \t\r", &save);
        char *id = server ? strtok_r(NULL, " \t\r", &save) : NULL;
        char *b64 = id ? strtok_r(NULL, " \t\r", &save) : NULL;

        if (server && server[0] == '#')
            server = id = b64 = NULL;
        fn(ctx, server, id, b64, p, n);
        free(line);
        p = *end ? end + 1 : end;
    }
}

static const struct trust_key *
find_key(const struct cli_trust *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->keys[i].id, id) == 0)
            return &t->keys[i];
    return NULL;
}

struct collect {
    const char *server;
    struct cli_trust *t;
    int own; /* lines pinned for this very server */
};

/* Keys are pinned per key id, not per serving URL (issue 14): a mirror that serves
 * the upstream's signatures is trusted through the upstream's pinned keys. The
 * server column says where a key was first seen ("*": added by hand). */
static void
collect_line(void *ctx, const char *server, const char *id, const char *b64, const char *line,
             size_t n)
{
    struct collect *cc = ctx;
    char real_id[ART_KEY_ID_LEN];
    char *canon = NULL;

    (void)line;
    (void)n;
    if (!server || !b64)
        return;
    if (strcmp(server, cc->server) == 0)
        cc->own = 1;
    /* The id column is informational; the key itself decides. */
    if (pubkey_parse(b64, &canon, real_id, NULL) == 0 && strcmp(real_id, id) == 0 &&
        !find_key(cc->t, real_id))
        keys_add(cc->t, real_id, canon, 0);
    free(canon);
}

/* Write text to path atomically (0600, directory 0700). */
static int
write_known(const char *path, const char *text, struct app_err *err)
{
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = NULL;
    int ret = -1;

    if (slash) {
        *slash = '\0';
        /* Create the parents one by one: ~/.config may not exist yet. */
        for (char *q = dir + 1; *q; q++) {
            if (*q == '/') {
                *q = '\0';
                mkdir(dir, 0700);
                *q = '/';
            }
        }
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            app_fail(err, APP_EINTERNAL, "cannot create '%s': %s", dir, strerror(errno));
            goto out;
        }
    }
    f = fopen(tmp, "w");
    if (!f || fchmod(fileno(f), 0600) < 0 || fputs(text, f) == EOF || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) < 0) {
        app_fail(err, APP_EINTERNAL, "cannot replace '%s': %s", path, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (f)
        fclose(f);
    if (ret < 0)
        unlink(tmp);
    free(tmp);
    free(dir);
    return ret;
}

/* Fetch GET /v1/keys of c->server. When it lists a key already pinned (through the
 * upstream it mirrors, or by hand), only those keys are associated with it, quietly:
 * a mirror cannot add keys of its own. When it lists none, every key is pinned on
 * first use, with the warning. */
static int
pin_first_use(struct cli *c, struct cli_trust *t, const char *known, struct app_err *err)
{
    cJSON *doc = NULL;
    const cJSON *list, *k;
    struct buf b;
    char *current = NULL;
    size_t n_known = 0, n_before = t->n;
    int ret = -1;

    buf_init(&b, 0);
    if (cli_request(c, "GET", cli_server_is_static(c) ? "/" CLI_STATIC_KEYS : "/v1/keys", NULL,
                    &doc, NULL, err) < 0) {
        cli_wrap(err, err->code, "cannot fetch the signing keys of %s to pin them", c->server);
        goto out;
    }
    list = cJSON_IsArray(doc) ? doc : cJSON_GetObjectItemCaseSensitive(doc, "keys");
    cJSON_ArrayForEach (k, list) {
        const cJSON *pub = cJSON_GetObjectItemCaseSensitive(k, "public_key");
        char id[ART_KEY_ID_LEN];
        char *b64 = NULL;

        if (cJSON_IsString(pub) && pubkey_parse(pub->valuestring, &b64, id, NULL) == 0 &&
            find_key(t, id))
            n_known++;
        free(b64);
    }
    cJSON_ArrayForEach (k, list) {
        const cJSON *pub = cJSON_GetObjectItemCaseSensitive(k, "public_key");
        const cJSON *cur = cJSON_GetObjectItemCaseSensitive(k, "current");
        const cJSON *ret_at = cJSON_GetObjectItemCaseSensitive(k, "retired_at");
        char id[ART_KEY_ID_LEN];
        char *b64 = NULL;
        int pinned;

        if (!cJSON_IsString(pub) || pubkey_parse(pub->valuestring, &b64, id, NULL) < 0)
            continue;
        pinned = find_key(t, id) != NULL;
        if (n_known && !pinned) {
            free(b64);
            continue;
        }
        if (!pinned)
            keys_add(t, id, b64, cJSON_IsString(ret_at));
        if (buf_printf(&b, "%s %s %s\n", c->server, id, b64) < 0)
            abort();
        if (cJSON_IsTrue(cur) || !current) {
            free(current);
            current = xstrdup(id);
        }
        free(b64);
    }
    if (!current) {
        app_fail(err, APP_EVERIFY, "server %s lists no usable signing key at /v1/keys", c->server);
        goto out;
    }
    {
        size_t kl = strlen(known);
        char *text = xasprintf("%s%s%s", known, kl && known[kl - 1] != '\n' ? "\n" : "", b.data);

        ret = write_known(t->source, text, err);
        free(text);
    }
    if (ret == 0 && !n_known)
        fprintf(stderr,
                "almanac: first use of %s: trusting its signing key %s%s (pinned in %s; a "
                "different key will be refused)\n",
                c->server, current, t->n - n_before > 1 ? " and its retired keys" : "", t->source);
out:
    free(current);
    buf_release(&b);
    cJSON_Delete(doc);
    return ret;
}

int
cli_trust_load(struct cli *c, struct app_err *err)
{
    const char *key_file = c->key_file ? c->key_file : getenv("ALMANAC_KEY");
    struct cli_trust *t;
    char *text = NULL;
    int ret = -1;

    if (c->trust)
        return 0;
    t = xcalloc(1, sizeof(*t));
    if (key_file && *key_file) {
        char id[ART_KEY_ID_LEN], *b64 = NULL;
        size_t len;

        t->source = xasprintf("key file %s", key_file);
        if (file_read_all(key_file, &text, &len, TRUST_FILE_MAX, err) < 0)
            goto out;
        if (pubkey_parse(text, &b64, id, err) < 0) {
            cli_wrap(err, APP_EINVAL, "key file '%s'", key_file);
            goto out;
        }
        keys_add(t, id, b64, 0);
        free(b64);
    } else {
        struct collect cc = {c->server, t, 0};

        t->source = cli_trust_file();
        if (read_known(t->source, &text, err) < 0)
            goto out;
        each_line(text, collect_line, &cc);
        /* Offline there is nobody to ask: the keys pinned so far decide. */
        if (!cc.own && !c->offline && pin_first_use(c, t, text, err) < 0)
            goto out;
    }
    c->trust = t;
    t = NULL;
    ret = 0;
out:
    free(text);
    cli_trust_free(t);
    return ret;
}

struct reach {
    struct cli *c;
    struct buf *lines;
};

/* A key the chain reached: pinned for c->server (written by the caller). */
static void
reached_key(void *ctx, const char *old_id, const char *id, const char *b64, const char *date)
{
    struct reach *x = ctx;

    keys_add(x->c->trust, id, b64, 0);
    if (buf_printf(x->lines, "%s %s %s\n", x->c->server, id, b64) < 0)
        abort();
    if (!x->c->quiet)
        fprintf(stderr, "almanac: following key rotation %s -> %s (signed by %s, %s)\n", old_id, id,
                old_id, date[0] ? date : "undated");
}

/* Follow the server's signed key rotation statements from the pinned keys to want
 * (issue 14) through artifacts/rotchain (the one implementation, shared with
 * almanacd's mirror): each statement must verify against a key already trusted
 * (pinned or reached) and bind kind=rotation; the keys reached are pinned for
 * c->server. 0 when want is reached; -1 with APP_EVERIFY when the chain has a gap
 * or a statement does not verify. */
static int
follow_rotations(struct cli *c, const char *want, struct app_err *err)
{
    struct cli_trust *t = c->trust;
    struct art_ring ring = {0};
    cJSON *doc = NULL;
    struct buf lines;
    struct reach x = {c, &lines};
    char *known = NULL;
    int ret = -1;

    buf_init(&lines, 0);
    if (c->offline)
        return app_fail(err, APP_EVERIFY, "key %s is not pinned (offline: no rotation statements)",
                        want);
    if (cli_request(c, "GET",
                    cli_server_is_static(c) ? "/" CLI_STATIC_ROTATIONS : "/v1/key-rotations", NULL,
                    &doc, NULL, err) < 0)
        return cli_wrap(err, APP_EVERIFY,
                        "key %s is not pinned and its rotation statements are "
                        "not available",
                        want);
    for (size_t i = 0; i < t->n; i++)
        art_ring_add(&ring, t->keys[i].id, t->keys[i].b64);
    if (art_ring_follow(&ring, cJSON_GetObjectItemCaseSensitive(doc, "rotations"), want,
                        reached_key, &x, err) < 0)
        goto out;
    if (read_known(t->source, &known, err) < 0)
        goto out;
    {
        size_t kl = strlen(known);
        char *text = xasprintf("%s%s%s", known, kl && known[kl - 1] != '\n' ? "\n" : "",
                               lines.data ? lines.data : "");

        ret = write_known(t->source, text, err);
        free(text);
    }
out:
    art_ring_release(&ring);
    free(known);
    buf_release(&lines);
    cJSON_Delete(doc);
    return ret;
}

/* Shared tail: key lookup, the signature itself, the binding. */
static int
verify_common(struct cli *c, const void *content, size_t len, const uint8_t *b2, uint64_t size,
              const char *sig_text, const char *kind, const char *hex, struct app_err *err)
{
    const struct trust_key *k;
    char id[ART_KEY_ID_LEN];

    if (cli_trust_load(c, err) < 0)
        return -1;
    if (!sig_text || !*sig_text)
        return app_fail(err, APP_EVERIFY, "%s %.16s has no signature", kind, hex);
    if (art_sig_key_id(sig_text, id, err) < 0)
        return cli_wrap(err, APP_EVERIFY, "%s %.16s: signature is not in minisign format", kind,
                        hex);
    k = find_key(c->trust, id);
    if (!k && !c->key_file && !getenv("ALMANAC_KEY")) {
        /* A rotation the pinned keys vouch for is followed, never trusted anew. */
        if (follow_rotations(c, id, err) < 0)
            return cli_wrap(err, APP_EVERIFY, "%s %.16s is signed by key %s", kind, hex, id);
        k = find_key(c->trust, id);
    }
    if (!k) {
        if (c->key_file || getenv("ALMANAC_KEY"))
            return app_fail(err, APP_EVERIFY, "%s %.16s is signed by key %s, not by the key in %s",
                            kind, hex, id, c->trust->source);
        return app_fail(err, APP_EVERIFY,
                        "%s %.16s is signed by key %s, which is not a key pinned for %s in "
                        "%s: the server's key changed (a rotation or an impostor); if you "
                        "trust the new key run 'almanac trust forget' and retry",
                        kind, hex, id, c->server, c->trust->source);
    }
    return art_verify_object(k->b64, content, len, b2, size, sig_text, kind, hex, err);
}

int
cli_trust_verify(struct cli *c, const void *content, size_t len, const char *sig_text,
                 const char *kind, const char *sha256_hex, struct app_err *err)
{
    return verify_common(c, content, len, NULL, len, sig_text, kind, sha256_hex, err);
}

int
cli_trust_verify_prehashed(struct cli *c, const uint8_t blake2b[ART_BLAKE2B_LEN], uint64_t size,
                           const char *sig_text, const char *kind, const char *sha256_hex,
                           struct app_err *err)
{
    return verify_common(c, NULL, 0, blake2b, size, sig_text, kind, sha256_hex, err);
}

int
cli_trust_show(struct cli *c, struct app_err *err)
{
    if (cli_trust_load(c, err) < 0)
        return -1;
    if (c->json) {
        cJSON *o = xjson(cJSON_CreateObject()), *arr;

        xjson(cJSON_AddStringToObject(o, "server", c->server));
        xjson(cJSON_AddStringToObject(o, "source", c->trust->source));
        arr = xjson(cJSON_AddArrayToObject(o, "keys"));
        for (size_t i = 0; i < c->trust->n; i++) {
            cJSON *k = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(k, "id", c->trust->keys[i].id));
            xjson(cJSON_AddStringToObject(k, "public_key", c->trust->keys[i].b64));
            cJSON_AddItemToArray(arr, k);
        }
        cli_print_json(o);
        cJSON_Delete(o);
        return 0;
    }
    printf("server  %s\nsource  %s\n", c->server, c->trust->source);
    for (size_t i = 0; i < c->trust->n; i++)
        printf("key     %s  %s\n", c->trust->keys[i].id, c->trust->keys[i].b64);
    return 0;
}

struct forget {
    const char *server;
    struct buf out;
    int removed;
};

static void
forget_line(void *ctx, const char *server, const char *id, const char *b64, const char *line,
            size_t n)
{
    struct forget *f = ctx;

    (void)id;
    (void)b64;
    if (server && strcmp(server, f->server) == 0) {
        f->removed++;
        return;
    }
    if (buf_append(&f->out, line, n) < 0 || buf_puts(&f->out, "\n") < 0)
        abort();
}

int
cli_trust_forget(struct cli *c, int *removed, struct app_err *err)
{
    char *path = cli_trust_file(), *text = NULL;
    struct forget f = {c->server, {0}, 0};
    int ret = -1;

    buf_init(&f.out, 0);
    if (read_known(path, &text, err) < 0)
        goto out;
    each_line(text, forget_line, &f);
    if (f.removed && write_known(path, f.out.data ? f.out.data : "", err) < 0)
        goto out;
    *removed = f.removed;
    ret = 0;
out:
    buf_release(&f.out);
    free(text);
    free(path);
    return ret;
}

int
cli_trust_add(const char *key_file, char id[ART_KEY_ID_LEN], int *added, struct app_err *err)
{
    char *path = cli_trust_file(), *text = NULL, *known = NULL, *b64 = NULL, *out = NULL;
    struct cli_trust t = {0};
    struct collect cc = {"*", &t, 0};
    size_t len;
    int ret = -1;

    *added = 0;
    if (file_read_all(key_file, &text, &len, TRUST_FILE_MAX, err) < 0)
        goto out;
    if (pubkey_parse(text, &b64, id, err) < 0) {
        cli_wrap(err, APP_EINVAL, "key file '%s'", key_file);
        goto out;
    }
    if (read_known(path, &known, err) < 0)
        goto out;
    each_line(known, collect_line, &cc);
    if (find_key(&t, id)) {
        ret = 0;
        goto out;
    }
    len = strlen(known);
    out = xasprintf("%s%s* %s %s\n", known, len && known[len - 1] != '\n' ? "\n" : "", id, b64);
    if (write_known(path, out, err) < 0)
        goto out;
    *added = 1;
    ret = 0;
out:
    for (size_t i = 0; i < t.n; i++)
        free(t.keys[i].b64);
    free(t.keys);
    free(out);
    free(b64);
    free(known);
    free(text);
    free(path);
    return ret;
}
