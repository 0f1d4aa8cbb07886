/* artifacts/sign.c: Ed25519 keys (libsodium) and minisign-format signatures.
 *
 * Formats follow minisign (https://jedisct1.github.io/minisign/): public key
 * "Ed" || keynum || pk; secret key "Ed" || kdf "\0\0" (none) || "B2" || salt[32] ||
 * opslimit[8] || memlimit[8] || keynum || sk[64] || chk[32], chk being
 * BLAKE2b-256("Ed" || keynum || sk); signature "ED" || keynum || sig, then the
 * trusted comment and the global signature over sig || trusted comment.
 */
#include "artifacts/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/mem.h"
#include "db/db.h"
#include "db/events.h"

#define KEYNUM_LEN 8
#define SK_FILE_LEN 158 /* minisign SeckeyStruct */
#define SK_FILE_MAX 1024
#define PK_LEN 42  /* "Ed" + keynum + pk */
#define SIG_LEN 74 /* "ED" + keynum + sig */
#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "

#define SQL_CURRENT                                                                                \
    "SELECT id FROM keys WHERE retired_at IS NULL ORDER BY created_at DESC, rowid DESC"            \
    " LIMIT 1"
#define SQL_KEY_INSERT "INSERT INTO keys(id, public_key, created_at) VALUES(?, ?, ?)"
#define SQL_KEY_RETIRE "UPDATE keys SET retired_at = ? WHERE retired_at IS NULL"
#define SQL_KEY_LIST                                                                               \
    "SELECT id, public_key, created_at, retired_at FROM keys"                                      \
    " ORDER BY created_at DESC, rowid DESC"
#define SQL_KEY_GET "SELECT public_key FROM keys WHERE id = ?"
#define SQL_SIG_GET "SELECT text FROM signatures WHERE kind = ? AND digest = ? AND key_id = ?"
#define SQL_SIG_PUT                                                                                \
    "INSERT OR IGNORE INTO signatures(kind, digest, key_id, text, created_at)"                     \
    " VALUES(?, ?, ?, ?, ?)"

struct art_keys {
    pthread_mutex_t mu;
    struct db *c;
    char *dir;               /* DATA/keys */
    char id[ART_KEY_ID_LEN]; /* the loaded key, "" when none */
    uint8_t keynum[KEYNUM_LEN];
    unsigned char *sk; /* sodium_malloc, PROT_NONE while idle */
};

static void
key_id(const uint8_t keynum[KEYNUM_LEN], char id[ART_KEY_ID_LEN])
{
    uint64_t v = 0;

    for (int i = KEYNUM_LEN - 1; i >= 0; i--)
        v = v << 8 | keynum[i];
    snprintf(id, ART_KEY_ID_LEN, "%016" PRIX64, v);
}

static int
key_id_valid(const char *id)
{
    return strlen(id) == 16 && strspn(id, "0123456789ABCDEF") == 16;
}

void
art_blake2b(const void *p, size_t n, uint8_t out[64])
{
    crypto_generichash_blake2b(out, 64, p, n, NULL, 0);
}

static char *
b64(const void *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = xmalloc(cap);

    sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

/* Decode exactly want bytes of base64 from s[0..n); -1 otherwise. */
static int
unb64(const char *s, size_t n, unsigned char *out, size_t want)
{
    size_t got = 0;
    const char *end = NULL;

    if (sodium_base642bin(out, want, s, n, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    return got == want && end == s + n ? 0 : -1;
}

static char *
pubkey_text(const char *id, const char *b64_line)
{
    return xasprintf("untrusted comment: minisign public key %s\n%s\n", id, b64_line);
}

static int
write_file(const char *path, const char *data, size_t n, mode_t mode, struct app_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    size_t off = 0;

    if (fd < 0)
        return app_fail(err, APP_EINTERNAL, "cannot create key file: %s", strerror(errno));
    while (off < n) {
        ssize_t k = write(fd, data + off, n - off);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            close(fd);
            unlink(path);
            return app_fail(err, APP_EINTERNAL, "cannot write key file: %s", strerror(errno));
        }
        off += (size_t)k;
    }
    if (fsync(fd) < 0) {
        close(fd);
        unlink(path);
        return app_fail(err, APP_EINTERNAL, "cannot fsync key file: %s", strerror(errno));
    }
    close(fd);
    return 0;
}

static void
fsync_path(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Make a key pair, write DATA/keys/<id>.key (0600) and .pub; *pub_b64 (caller
 * frees) is the public key line for the database. The secret stays in sodium
 * memory only and is wiped here. */
static int
key_generate(struct art_keys *k, char id[ART_KEY_ID_LEN], char **pub_b64, struct app_err *err)
{
    unsigned char *skf = sodium_malloc(SK_FILE_LEN);
    char *sk_b64 =
        sodium_malloc(sodium_base64_ENCODED_LEN(SK_FILE_LEN, sodium_base64_VARIANT_ORIGINAL));
    char *sk_text = sodium_malloc(SK_FILE_MAX);
    unsigned char pk[PK_LEN];
    char *path = NULL, *pub = NULL, *ptext = NULL;
    unsigned char *keynum, *sk;
    crypto_generichash_state hs;
    int n, ret = -1;

    if (!skf || !sk_b64 || !sk_text) {
        app_fail(err, APP_EINTERNAL, "cannot allocate secure memory");
        goto out;
    }
    memset(skf, 0, SK_FILE_LEN);
    memcpy(skf, "Ed", 2);
    memcpy(skf + 4, "B2", 2); /* kdf_alg stays "\0\0": unencrypted */
    keynum = skf + 54;
    sk = keynum + KEYNUM_LEN;
    randombytes_buf(keynum, KEYNUM_LEN);
    memcpy(pk, "Ed", 2);
    memcpy(pk + 2, keynum, KEYNUM_LEN);
    crypto_sign_keypair(pk + 2 + KEYNUM_LEN, sk);
    crypto_generichash_init(&hs, NULL, 0, 32);
    crypto_generichash_update(&hs, skf, 2);
    crypto_generichash_update(&hs, keynum, KEYNUM_LEN);
    crypto_generichash_update(&hs, sk, crypto_sign_SECRETKEYBYTES);
    crypto_generichash_final(&hs, sk + crypto_sign_SECRETKEYBYTES, 32);
    key_id(keynum, id);
    sodium_bin2base64(sk_b64,
                      sodium_base64_ENCODED_LEN(SK_FILE_LEN, sodium_base64_VARIANT_ORIGINAL), skf,
                      SK_FILE_LEN, sodium_base64_VARIANT_ORIGINAL);
    n = snprintf(sk_text, SK_FILE_MAX,
                 "untrusted comment: almanac secret key %s (unencrypted minisign key)\n%s\n", id,
                 sk_b64);
    if (n < 0 || n >= SK_FILE_MAX) {
        app_fail(err, APP_EINTERNAL, "secret key text too long");
        goto out;
    }
    path = xasprintf("%s/%s.key", k->dir, id);
    if (write_file(path, sk_text, (size_t)n, 0600, err) < 0)
        goto out;
    free(path);
    pub = b64(pk, sizeof(pk));
    ptext = pubkey_text(id, pub);
    path = xasprintf("%s/%s.pub", k->dir, id);
    if (write_file(path, ptext, strlen(ptext), 0644, err) < 0)
        goto out;
    fsync_path(k->dir);
    *pub_b64 = pub;
    pub = NULL;
    ret = 0;
out:
    sodium_memzero(&hs, sizeof(hs));
    sodium_free(skf);
    sodium_free(sk_b64);
    sodium_free(sk_text);
    free(path);
    free(pub);
    free(ptext);
    return ret;
}

/* Load DATA/keys/<id>.key into k->sk (sodium memory, left PROT_NONE). */
static int
key_load(struct art_keys *k, const char *id, struct app_err *err)
{
    char *path = xasprintf("%s/%s.key", k->dir, id);
    char *text = sodium_malloc(SK_FILE_MAX);
    unsigned char *skf = sodium_malloc(SK_FILE_LEN);
    unsigned char chk[32];
    crypto_generichash_state hs;
    char *line, *end;
    size_t len = 0;
    char got_id[ART_KEY_ID_LEN];
    struct stat sb;
    int fd = -1, ret = -1;

    if (!text || !skf) {
        app_fail(err, APP_EINTERNAL, "cannot allocate secure memory");
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        app_fail(err, APP_EINTERNAL, "cannot open secret key %s: %s", id, strerror(errno));
        goto out;
    }
    if (fstat(fd, &sb) < 0 || (sb.st_mode & 077)) {
        app_fail(err, APP_EINTERNAL, "secret key %s must not be readable by others (chmod 600)",
                 id);
        goto out;
    }
    while (len < SK_FILE_MAX - 1) {
        ssize_t n = read(fd, text + len, SK_FILE_MAX - 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    line = strchr(text, '\n');
    if (!line) {
        app_fail(err, APP_EINTERNAL, "secret key %s is malformed", id);
        goto out;
    }
    line++;
    end = line + strcspn(line, "\r\n");
    if (unb64(line, (size_t)(end - line), skf, SK_FILE_LEN) < 0 || memcmp(skf, "Ed", 2) ||
        memcmp(skf + 4, "B2", 2)) {
        app_fail(err, APP_EINTERNAL, "secret key %s is malformed", id);
        goto out;
    }
    if (skf[2] || skf[3]) {
        app_fail(err, APP_EINTERNAL,
                 "secret key %s is encrypted; almanac needs an "
                 "unencrypted key",
                 id);
        goto out;
    }
    key_id(skf + 54, got_id);
    if (strcmp(got_id, id) != 0) {
        app_fail(err, APP_EINTERNAL, "secret key file %s holds key %s", id, got_id);
        goto out;
    }
    crypto_generichash_init(&hs, NULL, 0, sizeof(chk));
    crypto_generichash_update(&hs, skf, 2);
    crypto_generichash_update(&hs, skf + 54, KEYNUM_LEN + crypto_sign_SECRETKEYBYTES);
    crypto_generichash_final(&hs, chk, sizeof(chk));
    if (sodium_memcmp(chk, skf + 54 + KEYNUM_LEN + crypto_sign_SECRETKEYBYTES, 32) != 0 &&
        !sodium_is_zero(skf + 54 + KEYNUM_LEN + crypto_sign_SECRETKEYBYTES, 32)) {
        app_fail(err, APP_EINTERNAL, "secret key %s fails its checksum", id);
        goto out;
    }
    if (!k->sk) {
        k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
        if (!k->sk) {
            app_fail(err, APP_EINTERNAL, "cannot allocate secure memory");
            goto out;
        }
    }
    sodium_mprotect_readwrite(k->sk);
    memcpy(k->sk, skf + 54 + KEYNUM_LEN, crypto_sign_SECRETKEYBYTES);
    sodium_mprotect_noaccess(k->sk);
    memcpy(k->keynum, skf + 54, KEYNUM_LEN);
    memcpy(k->id, id, ART_KEY_ID_LEN);
    ret = 0;
out:
    sodium_memzero(&hs, sizeof(hs));
    sodium_memzero(chk, sizeof(chk));
    if (fd >= 0)
        close(fd);
    sodium_free(text);
    sodium_free(skf);
    free(path);
    return ret;
}

/* The current key's id from the database; *id = "" when there is none. */
static int
current_id(struct art_keys *k, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    id[0] = '\0';
    if (db_prepare(k->c, &st, SQL_CURRENT, err) < 0)
        return -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *s = db_col_text(st, 0);

        if (s && key_id_valid(s))
            memcpy(id, s, ART_KEY_ID_LEN);
    } else if (rc != SQLITE_DONE) {
        db_sql_fail(k->c, err, "cannot read keys");
        goto out;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

/* Inside a transaction: new key, retire the others, record it. */
static int
key_add(struct art_keys *k, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char *pub = NULL;
    char now[APP_TIME_LEN];
    int ret = -1;

    if (key_generate(k, id, &pub, err) < 0)
        return -1;
    date_now_rfc3339(now);
    if (db_prepare(k->c, &st, SQL_KEY_RETIRE, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(k->c, err, "cannot retire key");
        goto out;
    }
    sqlite3_finalize(st);
    if (db_prepare(k->c, &st, SQL_KEY_INSERT, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, pub, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(k->c, err, "cannot record key");
        goto out;
    }
    if (db_event_append(k->c, "key.created", id, NULL, err) < 0)
        goto out;
    ret = 0;
out:
    sqlite3_finalize(st);
    free(pub);
    return ret;
}

struct art_keys *
art_keys_open(const char *data_dir, struct app_err *err)
{
    struct art_keys *k;
    char id[ART_KEY_ID_LEN];

    if (sodium_init() < 0) {
        app_fail(err, APP_EINTERNAL, "cannot initialize libsodium");
        return NULL;
    }
    k = xcalloc(1, sizeof(*k));
    pthread_mutex_init(&k->mu, NULL);
    k->dir = xasprintf("%s/keys", data_dir);
    k->c = db_open(data_dir, err);
    if (!k->c)
        goto fail;
    if (mkdir(k->dir, 0700) < 0 && errno != EEXIST) {
        app_fail(err, APP_EINTERNAL, "cannot create key directory: %s", strerror(errno));
        goto fail;
    }
    /* First start: make the first key; the transaction keeps two starting
     * processes from making two. */
    if (db_begin(k->c, err) < 0)
        goto fail;
    if (current_id(k, id, err) < 0 || (!id[0] && key_add(k, id, err) < 0)) {
        db_rollback(k->c);
        goto fail;
    }
    if (db_commit_catalog(k->c, err) < 0)
        goto fail;
    if (key_load(k, id, err) < 0)
        goto fail;
    return k;
fail:
    art_keys_free(k);
    return NULL;
}

void
art_keys_free(struct art_keys *k)
{
    if (!k)
        return;
    sodium_free(k->sk); /* wipes */
    db_close(k->c);
    free(k->dir);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

int
art_keys_rotate(struct art_keys *k, char new_id[ART_KEY_ID_LEN], struct app_err *err)
{
    char id[ART_KEY_ID_LEN];
    int ret = -1;

    pthread_mutex_lock(&k->mu);
    if (db_begin(k->c, err) < 0)
        goto out;
    if (key_add(k, id, err) < 0) {
        db_rollback(k->c);
        goto out;
    }
    if (db_commit_catalog(k->c, err) < 0 || key_load(k, id, err) < 0)
        goto out;
    if (new_id)
        memcpy(new_id, id, ART_KEY_ID_LEN);
    ret = 0;
out:
    pthread_mutex_unlock(&k->mu);
    return ret;
}

int
art_keys_current(struct art_keys *k, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    int ret;

    pthread_mutex_lock(&k->mu);
    ret = current_id(k, id, err);
    if (ret == 0 && !id[0])
        ret = app_fail(err, APP_EINTERNAL, "no signing key");
    pthread_mutex_unlock(&k->mu);
    return ret;
}

cJSON *
art_keys_list(struct art_keys *k, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *arr = NULL;
    int rc, first = 1;

    pthread_mutex_lock(&k->mu);
    if (db_prepare(k->c, &st, SQL_KEY_LIST, err) < 0)
        goto out;
    arr = xjson(cJSON_CreateArray());
    while ((rc = db_next(st, err)) > 0) {
        const char *id = db_col_text(st, 0), *pub = db_col_text(st, 1);
        const char *retired = db_col_text(st, 3);
        cJSON *o = xjson(cJSON_CreateObject());
        char *text = pubkey_text(id ? id : "", pub ? pub : "");

        xjson(cJSON_AddStringToObject(o, "id", id ? id : ""));
        xjson(cJSON_AddStringToObject(o, "algorithm", "Ed25519"));
        xjson(
            cJSON_AddStringToObject(o, "created_at", db_col_text(st, 2) ? db_col_text(st, 2) : ""));
        if (retired)
            xjson(cJSON_AddStringToObject(o, "retired_at", retired));
        else
            xjson(cJSON_AddNullToObject(o, "retired_at"));
        xjson(cJSON_AddBoolToObject(o, "current", first && !retired));
        xjson(cJSON_AddStringToObject(o, "public_key", text));
        free(text);
        cJSON_AddItemToArray(arr, o);
        first = 0;
    }
    if (rc < 0) {
        cJSON_Delete(arr);
        arr = NULL;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&k->mu);
    return arr;
}

int
art_keys_pubkey(struct art_keys *k, const char *id, char **text, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    if (!key_id_valid(id))
        return app_fail(err, APP_ENOTFOUND, "no key '%.40s'", id);
    pthread_mutex_lock(&k->mu);
    if (db_prepare(k->c, &st, SQL_KEY_GET, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        app_fail(err, APP_ENOTFOUND, "no key '%s'", id);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        db_sql_fail(k->c, err, "cannot read key");
        goto out;
    }
    *text = pubkey_text(id, db_col_text(st, 0) ? db_col_text(st, 0) : "");
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&k->mu);
    return ret;
}

/* The minisign signature text over a BLAKE2b-512 digest with the loaded key. */
static char *
sign_text(struct art_keys *k, const uint8_t b2[64], const char *trusted)
{
    unsigned char sig[SIG_LEN], global[crypto_sign_BYTES];
    size_t tlen = strlen(trusted);
    unsigned char *msg = xmalloc(crypto_sign_BYTES + tlen);
    char *s1, *s2, *text;

    memcpy(sig, "ED", 2);
    memcpy(sig + 2, k->keynum, KEYNUM_LEN);
    sodium_mprotect_readonly(k->sk);
    crypto_sign_detached(sig + 2 + KEYNUM_LEN, NULL, b2, 64, k->sk);
    memcpy(msg, sig + 2 + KEYNUM_LEN, crypto_sign_BYTES);
    memcpy(msg + crypto_sign_BYTES, trusted, tlen);
    crypto_sign_detached(global, NULL, msg, crypto_sign_BYTES + tlen, k->sk);
    sodium_mprotect_noaccess(k->sk);
    s1 = b64(sig, sizeof(sig));
    s2 = b64(global, sizeof(global));
    text = xasprintf("untrusted comment: signature from almanac key %s\n%s\n"
                     "trusted comment: %s\n%s\n",
                     k->id, s1, trusted, s2);
    free(msg);
    free(s1);
    free(s2);
    return text;
}

/* The cached signature of (kind, hex) by the current key, made when missing. */
static int
sign_cached(struct art_keys *k, const char *kind, const char *hex, uint64_t size,
            const uint8_t b2[64], char **sig_text, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char id[ART_KEY_ID_LEN], now[APP_TIME_LEN];
    char *trusted = NULL, *text = NULL;
    int rc, ret = -1;

    pthread_mutex_lock(&k->mu);
    if (current_id(k, id, err) < 0)
        goto out;
    if (!id[0]) {
        app_fail(err, APP_EINTERNAL, "no signing key");
        goto out;
    }
    if (db_prepare(k->c, &st, SQL_SIG_GET, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && db_col_text(st, 0)) {
        *sig_text = xstrdup(db_col_text(st, 0));
        ret = 0;
        goto out;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_sql_fail(k->c, err, "cannot read signature");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Another process (key rotate) may have changed the current key. */
    if (strcmp(id, k->id) != 0 && key_load(k, id, err) < 0)
        goto out;
    date_now_rfc3339(now);
    trusted = xasprintf("almanac kind=%s sha256=%s size=%llu key=%s signed=%s", kind, hex,
                        (unsigned long long)size, id, now);
    text = sign_text(k, b2, trusted);
    if (db_prepare(k->c, &st, SQL_SIG_PUT, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(k->c, err, "cannot cache signature");
        goto out;
    }
    *sig_text = text;
    text = NULL;
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&k->mu);
    free(trusted);
    free(text);
    return ret;
}

int
art_sign_artifact(struct art_keys *k, const char *sha256_hex, uint64_t size,
                  const char *blake2b_hex, char **sig_text, struct app_err *err)
{
    uint8_t b2[64];

    if (!sha256_hex_valid(sha256_hex))
        return app_fail(err, APP_EINVAL, "'%.80s' is not a sha256 digest", sha256_hex);
    if (!blake2b_hex || hex_decode(blake2b_hex, b2, sizeof(b2)) < 0)
        return app_fail(err, APP_EINTERNAL, "artifact sha256:%s has no BLAKE2b digest", sha256_hex);
    return sign_cached(k, "artifact", sha256_hex, size, b2, sig_text, err);
}

int
art_sign_lock(struct art_keys *k, const char *lock_id, const char *bytes, size_t len,
              char **sig_text, struct app_err *err)
{
    char hex[APP_SHA256_HEX];
    uint8_t b2[64];

    if (strncmp(lock_id, "sha256:", 7) != 0 || !sha256_hex_valid(lock_id + 7))
        return app_fail(err, APP_EINVAL, "lock id '%.80s' is not sha256:<hex>", lock_id);
    sha256_hex(bytes, len, hex);
    if (strcmp(hex, lock_id + 7) != 0)
        return app_fail(err, APP_EINVAL, "lock bytes hash to sha256:%s, not %s", hex, lock_id);
    art_blake2b(bytes, len, b2);
    return sign_cached(k, "lock", hex, len, b2, sig_text, err);
}

/* Parse a public key file (or its base64 line): keynum and Ed25519 key. */
static int
parse_pubkey(const char *text, uint8_t keynum[KEYNUM_LEN], uint8_t pk[32], struct app_err *err)
{
    const char *p = text;

    while (*p) {
        const char *end = p + strcspn(p, "\n");
        const char *e = end;
        unsigned char bin[PK_LEN];

        while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (e > p && strncmp(p, "untrusted comment:", 18) != 0) {
            if (unb64(p, (size_t)(e - p), bin, sizeof(bin)) < 0 || memcmp(bin, "Ed", 2))
                return app_fail(err, APP_EINVAL, "not a minisign Ed25519 public key");
            memcpy(keynum, bin + 2, KEYNUM_LEN);
            memcpy(pk, bin + 2 + KEYNUM_LEN, 32);
            return 0;
        }
        p = *end ? end + 1 : end;
    }
    return app_fail(err, APP_EINVAL, "no public key in the key text");
}

struct sig_parts {
    uint8_t bin[SIG_LEN];
    uint8_t global[crypto_sign_BYTES];
    char *trusted;
};

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

static int
parse_sig(const char *text, struct sig_parts *sp, struct app_err *err)
{
    const char *p = text, *line;
    size_t n, tp = strlen(TRUSTED_PREFIX);

    sp->trusted = NULL;
    if (next_line(&p, &line, &n) < 0 || n < strlen(UNTRUSTED_PREFIX) ||
        strncmp(line, UNTRUSTED_PREFIX, strlen(UNTRUSTED_PREFIX)) != 0)
        return app_fail(err, APP_EINVAL, "signature does not start with an untrusted comment");
    if (next_line(&p, &line, &n) < 0 || unb64(line, n, sp->bin, SIG_LEN) < 0)
        return app_fail(err, APP_EINVAL, "signature line is not a minisign signature");
    if (memcmp(sp->bin, "ED", 2) != 0 && memcmp(sp->bin, "Ed", 2) != 0)
        return app_fail(err, APP_EINVAL, "unsupported signature algorithm");
    if (next_line(&p, &line, &n) < 0 || n < tp || strncmp(line, TRUSTED_PREFIX, tp) != 0)
        return app_fail(err, APP_EINVAL, "signature has no trusted comment");
    if (n - tp > ART_TRUSTED_COMMENT_MAX)
        return app_fail(err, APP_EINVAL, "trusted comment is too long");
    sp->trusted = xstrndup(line + tp, n - tp);
    if (next_line(&p, &line, &n) < 0 || unb64(line, n, sp->global, sizeof(sp->global)) < 0) {
        free(sp->trusted);
        sp->trusted = NULL;
        return app_fail(err, APP_EINVAL, "signature has no global signature");
    }
    return 0;
}

/* Verify with either the content (any algorithm) or its BLAKE2b-512 (ED only). */
static int
verify(const char *pubkey_text, const void *content, size_t len, const uint8_t *b2in,
       const char *sig_text, char **trusted, struct app_err *err)
{
    uint8_t keynum[KEYNUM_LEN], pk[32], b2[64];
    struct sig_parts sp;
    unsigned char *msg = NULL;
    char want[ART_KEY_ID_LEN], got[ART_KEY_ID_LEN];
    size_t tlen;
    int ret = -1, ok;

    if (sodium_init() < 0)
        return app_fail(err, APP_EINTERNAL, "cannot initialize libsodium");
    if (parse_pubkey(pubkey_text, keynum, pk, err) < 0 || parse_sig(sig_text, &sp, err) < 0)
        return -1;
    if (memcmp(sp.bin + 2, keynum, KEYNUM_LEN) != 0) {
        key_id(keynum, want);
        key_id(sp.bin + 2, got);
        app_fail(err, APP_EUNPROCESSABLE, "signature is by key %s, not %s", got, want);
        goto out;
    }
    if (memcmp(sp.bin, "ED", 2) == 0) {
        if (b2in)
            memcpy(b2, b2in, sizeof(b2));
        else
            art_blake2b(content, len, b2);
        ok = crypto_sign_verify_detached(sp.bin + 10, b2, sizeof(b2), pk) == 0;
    } else if (!b2in) {
        ok = crypto_sign_verify_detached(sp.bin + 10, content, len, pk) == 0;
    } else {
        app_fail(err, APP_EINVAL, "a legacy (not prehashed) signature needs the content");
        goto out;
    }
    if (!ok) {
        app_fail(err, APP_EUNPROCESSABLE, "signature does not verify");
        goto out;
    }
    tlen = strlen(sp.trusted);
    msg = xmalloc(crypto_sign_BYTES + tlen);
    memcpy(msg, sp.bin + 10, crypto_sign_BYTES);
    memcpy(msg + crypto_sign_BYTES, sp.trusted, tlen);
    if (crypto_sign_verify_detached(sp.global, msg, crypto_sign_BYTES + tlen, pk) != 0) {
        app_fail(err, APP_EUNPROCESSABLE, "trusted comment does not verify");
        goto out;
    }
    if (trusted) {
        *trusted = sp.trusted;
        sp.trusted = NULL;
    }
    ret = 0;
out:
    free(msg);
    free(sp.trusted);
    return ret;
}

int
art_verify(const char *pubkey_text, const void *content, size_t len, const char *sig_text,
           char **trusted, struct app_err *err)
{
    return verify(pubkey_text, content ? content : "", len, NULL, sig_text, trusted, err);
}

int
art_verify_prehashed(const char *pubkey_text, const uint8_t blake2b[64], const char *sig_text,
                     char **trusted, struct app_err *err)
{
    return verify(pubkey_text, NULL, 0, blake2b, sig_text, trusted, err);
}

int
art_pubkey_id(const char *pubkey_text, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    uint8_t keynum[KEYNUM_LEN], pk[32];

    if (parse_pubkey(pubkey_text, keynum, pk, err) < 0)
        return -1;
    key_id(keynum, id);
    return 0;
}

int
art_sig_key_id(const char *sig_text, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    struct sig_parts sp;

    if (parse_sig(sig_text, &sp, err) < 0)
        return -1;
    key_id(sp.bin + 2, id);
    free(sp.trusted);
    return 0;
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
    char sz[24];

    snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
    if (strncmp(trusted, "almanac ", 8) != 0)
        return app_fail(err, APP_EUNPROCESSABLE, "trusted comment is not almanac's");
    if (!field_is(trusted, "kind", kind))
        return app_fail(err, APP_EUNPROCESSABLE, "signature is not for a %s", kind);
    if (!field_is(trusted, "sha256", sha256_hex))
        return app_fail(err, APP_EUNPROCESSABLE, "signature is for another digest");
    if (!field_is(trusted, "size", sz))
        return app_fail(err, APP_EUNPROCESSABLE, "signature is for another size");
    return 0;
}
