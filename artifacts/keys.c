/* artifacts/keys.c: the server's signing keys: DATA/keys files, rotation, and the
 * signature cache rows; the formats themselves are artifacts/minisign.c.
 *
 * Secret key file (minisign's unencrypted SeckeyStruct): "Ed" || kdf "\0\0" (none)
 * || "B2" || salt[32] || opslimit[8] || memlimit[8] || keynum || sk[64] || chk[32],
 * chk being BLAKE2b-256("Ed" || keynum || sk).
 */
#include "artifacts/keys.h"

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
#include "app/json.h"
#include "app/log.h"
#include "app/mem.h"
#include "artifacts/minisign.h"
#include "db/db.h"
#include "db/events.h"

#define SK_FILE_LEN 158 /* minisign SeckeyStruct */
#define SK_FILE_MAX 1024
#define SK_CHECKSUM_LEN 32  /* BLAKE2b-256 of "Ed" || keynum || sk */
#define SK_KEYNUM_OFFSET 54 /* "Ed" kdf[2] "B2" salt[32] opslimit[8] memlimit[8] */

#define SQL_CURRENT                                                                                \
    "SELECT id FROM keys WHERE retired_at IS NULL ORDER BY created_at DESC, rowid DESC"            \
    " LIMIT 1"
#define SQL_KEY_INSERT "INSERT INTO keys(id, public_key, created_at) VALUES(?, ?, ?)"
#define SQL_KEY_RETIRE "UPDATE keys SET retired_at = ? WHERE retired_at IS NULL"
#define SQL_KEY_LIST                                                                               \
    "SELECT id, public_key, created_at, retired_at FROM keys"                                      \
    " ORDER BY created_at DESC, rowid DESC"
#define SQL_KEY_GET "SELECT public_key FROM keys WHERE id = ?"
#define SQL_ROTATION_PUT                                                                           \
    "INSERT INTO key_rotations(new_id, old_id, statement, signature, created_at)"                  \
    " VALUES (?, ?, ?, ?, ?)"
#define SQL_ROTATION_LIST                                                                          \
    "SELECT old_id, new_id, created_at, statement, signature FROM key_rotations"                   \
    " ORDER BY created_at, rowid"
#define SQL_SIG_GET "SELECT text FROM signatures WHERE kind = ? AND digest = ? AND key_id = ?"
#define SQL_SIG_PUT                                                                                \
    "INSERT OR IGNORE INTO signatures(kind, digest, key_id, text, created_at)"                     \
    " VALUES(?, ?, ?, ?, ?)"

struct art_keys {
    pthread_mutex_t mu;
    struct db *c;
    char *dir;               /* DATA/keys */
    char id[ART_KEY_ID_LEN]; /* the loaded key, "" when none */
    uint8_t keynum[ART_KEYNUM_LEN];
    unsigned char *sk; /* sodium_malloc, PROT_NONE while idle */
};

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
    unsigned char pk[ART_PUBKEY_LEN];
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
    keynum = skf + SK_KEYNUM_OFFSET;
    sk = keynum + ART_KEYNUM_LEN;
    randombytes_buf(keynum, ART_KEYNUM_LEN);
    memcpy(pk, "Ed", 2);
    memcpy(pk + 2, keynum, ART_KEYNUM_LEN);
    crypto_sign_keypair(pk + 2 + ART_KEYNUM_LEN, sk);
    crypto_generichash_init(&hs, NULL, 0, SK_CHECKSUM_LEN);
    crypto_generichash_update(&hs, skf, 2);
    crypto_generichash_update(&hs, keynum, ART_KEYNUM_LEN);
    crypto_generichash_update(&hs, sk, crypto_sign_SECRETKEYBYTES);
    crypto_generichash_final(&hs, sk + crypto_sign_SECRETKEYBYTES, SK_CHECKSUM_LEN);
    art_key_id(keynum, id);
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
    pub = art_b64(pk, sizeof(pk));
    ptext = art_pubkey_file_text(id, pub);
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
    unsigned char chk[SK_CHECKSUM_LEN];
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
    if (art_b64_decode(line, (size_t)(end - line), skf, SK_FILE_LEN) < 0 || memcmp(skf, "Ed", 2) ||
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
    art_key_id(skf + SK_KEYNUM_OFFSET, got_id);
    if (strcmp(got_id, id) != 0) {
        app_fail(err, APP_EINTERNAL, "secret key file %s holds key %s", id, got_id);
        goto out;
    }
    crypto_generichash_init(&hs, NULL, 0, sizeof(chk));
    crypto_generichash_update(&hs, skf, 2);
    crypto_generichash_update(&hs, skf + SK_KEYNUM_OFFSET,
                              ART_KEYNUM_LEN + crypto_sign_SECRETKEYBYTES);
    crypto_generichash_final(&hs, chk, sizeof(chk));
    if (sodium_memcmp(chk, skf + SK_KEYNUM_OFFSET + ART_KEYNUM_LEN + crypto_sign_SECRETKEYBYTES,
                      SK_CHECKSUM_LEN) != 0 &&
        !sodium_is_zero(skf + SK_KEYNUM_OFFSET + ART_KEYNUM_LEN + crypto_sign_SECRETKEYBYTES,
                        SK_CHECKSUM_LEN)) {
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
    memcpy(k->sk, skf + SK_KEYNUM_OFFSET + ART_KEYNUM_LEN, crypto_sign_SECRETKEYBYTES);
    sodium_mprotect_noaccess(k->sk);
    memcpy(k->keynum, skf + SK_KEYNUM_OFFSET, ART_KEYNUM_LEN);
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

        if (s && art_key_id_valid(s))
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

/* Remove the files of a key whose row was never committed: a secret key no row
 * names must not stay behind. */
static void
key_files_remove(struct art_keys *k, const char *id)
{
    static const char *const ext[] = {"key", "pub"};

    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        char *path = xasprintf("%s/%s.%s", k->dir, id, ext[i]);

        if (unlink(path) < 0 && errno != ENOENT)
            app_log(APP_LOG_WARN, "keys: cannot remove %s: %s", path, strerror(errno));
        free(path);
    }
}

/* Inside a transaction: new key, retire the others, record it. On failure the
 * key's files are gone again (the caller rolls the transaction back). */
static int
key_add(struct art_keys *k, char id[ART_KEY_ID_LEN], char **pub_out, struct app_err *err)
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
    if (db_step_done(st, err, "cannot retire key") < 0)
        goto out;
    sqlite3_finalize(st);
    if (db_prepare(k->c, &st, SQL_KEY_INSERT, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, pub, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot record key") < 0)
        goto out;
    if (db_event_append(k->c, "key.created", id, NULL, err) < 0)
        goto out;
    if (pub_out) {
        *pub_out = pub;
        pub = NULL;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    free(pub);
    if (ret < 0)
        key_files_remove(k, id);
    return ret;
}

struct art_keys *
art_keys_open(const char *data_dir, struct app_err *err)
{
    struct art_keys *k;
    char id[ART_KEY_ID_LEN];
    int made;

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
    if (current_id(k, id, err) < 0) {
        db_rollback(k->c);
        goto fail;
    }
    made = !id[0];
    if (made && key_add(k, id, NULL, err) < 0) {
        db_rollback(k->c);
        goto fail;
    }
    if (db_commit_catalog(k->c, err) < 0) {
        db_rollback(k->c);
        if (made)
            key_files_remove(k, id);
        goto fail;
    }
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

/* Sign b2 (a BLAKE2b-512, minisign's prehashed mode) with the key loaded in k and
 * the trusted comment trusted. The secret is readable only for the Ed25519
 * operations. Returns the minisign text (caller frees). */
static char *
sign_loaded(struct art_keys *k, const uint8_t b2[ART_BLAKE2B_LEN], const char *trusted)
{
    char *text;

    sodium_mprotect_readonly(k->sk);
    text = art_minisign_sign(k->keynum, k->sk, b2, trusted);
    sodium_mprotect_noaccess(k->sk);
    return text;
}

/* Sign what art_trusted_comment binds: kind, the SHA-256 hex and size of the bytes
 * whose BLAKE2b-512 is b2, key id, time now. */
static char *
sign_bound(struct art_keys *k, const char *kind, const char *hex, uint64_t size, const char *id,
           const char *now, const uint8_t b2[ART_BLAKE2B_LEN])
{
    char *trusted = art_trusted_comment(kind, hex, size, id, now);
    char *text = sign_loaded(k, b2, trusted);

    free(trusted);
    return text;
}

/* Insert one row of five text values (a signature, a rotation statement); what is
 * the phrase of the error. */
static int
put_row5(struct art_keys *k, const char *sql, const char *const v[5], const char *what,
         struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int ret;

    if (db_prepare(k->c, &st, sql, err) < 0)
        return -1;
    for (int i = 0; i < 5; i++)
        sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
    ret = db_step_done(st, err, what);
    sqlite3_finalize(st);
    return ret;
}

/* Inside the rotation's transaction, with the old key loaded: the statement that
 * the old key vouches for the new one, signed by the old key, recorded. */
static int
rotation_record(struct art_keys *k, const char *old_id, const char *new_id, const char *new_pub,
                struct app_err *err)
{
    cJSON *o = xjson(cJSON_CreateObject());
    char now[APP_TIME_LEN], hex[APP_SHA256_HEX];
    char *stmt = NULL, *sig = NULL;
    uint8_t b2[ART_BLAKE2B_LEN];
    size_t len;
    int ret;

    date_now_rfc3339(now);
    xjson(cJSON_AddStringToObject(o, "kind", "almanac-key-rotation"));
    xjson(cJSON_AddStringToObject(o, "old", old_id));
    xjson(cJSON_AddStringToObject(o, "new", new_id));
    xjson(cJSON_AddStringToObject(o, "new_public_key", new_pub));
    xjson(cJSON_AddStringToObject(o, "date", now));
    stmt = json_canonical(o, &len);
    sha256_hex(stmt, len, hex);
    art_blake2b(stmt, len, b2);
    sig = sign_bound(k, "rotation", hex, len, old_id, now, b2);
    ret = put_row5(k, SQL_ROTATION_PUT, (const char *const[]){new_id, old_id, stmt, sig, now},
                   "cannot record key rotation", err);
    cJSON_Delete(o);
    free(stmt);
    free(sig);
    return ret;
}

int
art_keys_rotate(struct art_keys *k, char new_id[ART_KEY_ID_LEN], struct app_err *err)
{
    char id[ART_KEY_ID_LEN], old[ART_KEY_ID_LEN];
    char *pub = NULL;
    int ret = -1;

    pthread_mutex_lock(&k->mu);
    /* The statement is signed by the key being replaced: load it if another
     * process rotated since we loaded ours. */
    if (current_id(k, old, err) < 0 ||
        (old[0] && strcmp(old, k->id) != 0 && key_load(k, old, err) < 0))
        goto out;
    if (db_begin(k->c, err) < 0)
        goto out;
    if (key_add(k, id, &pub, err) < 0) {
        db_rollback(k->c);
        goto out;
    }
    if ((old[0] && rotation_record(k, old, id, pub, err) < 0) || db_commit_catalog(k->c, err) < 0) {
        db_rollback(k->c);
        key_files_remove(k, id);
        goto out;
    }
    if (key_load(k, id, err) < 0)
        goto out;
    if (new_id)
        memcpy(new_id, id, ART_KEY_ID_LEN);
    ret = 0;
out:
    pthread_mutex_unlock(&k->mu);
    free(pub);
    return ret;
}

static cJSON *
rotation_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *o = xjson(cJSON_CreateObject());

    (void)ctx;
    (void)err;
    xjson(cJSON_AddStringToObject(o, "old", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(o, "new", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(o, "date", db_col_text(st, 2)));
    xjson(cJSON_AddStringToObject(o, "statement", db_col_text(st, 3)));
    xjson(cJSON_AddStringToObject(o, "signature", db_col_text(st, 4)));
    return o;
}

cJSON *
art_keys_rotations(struct art_keys *k, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *arr = NULL;

    pthread_mutex_lock(&k->mu);
    if (db_prepare(k->c, &st, SQL_ROTATION_LIST, err) == 0)
        arr = db_rows_json(st, rotation_row, NULL, err);
    pthread_mutex_unlock(&k->mu);
    return arr;
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

/* A key row as its document; ctx: 1 until the first row (the newest key is the
 * current one unless retired). */
static cJSON *
key_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    int *first = ctx;
    const char *id = db_col_text(st, 0), *pub = db_col_text(st, 1);
    const char *retired = db_col_text(st, 3);
    cJSON *o = xjson(cJSON_CreateObject());
    char *text = art_pubkey_file_text(id ? id : "", pub ? pub : "");

    (void)err;
    xjson(cJSON_AddStringToObject(o, "id", id ? id : ""));
    xjson(cJSON_AddStringToObject(o, "algorithm", "Ed25519"));
    xjson(cJSON_AddStringToObject(o, "created_at", db_col_text(st, 2) ? db_col_text(st, 2) : ""));
    if (retired)
        xjson(cJSON_AddStringToObject(o, "retired_at", retired));
    else
        xjson(cJSON_AddNullToObject(o, "retired_at"));
    xjson(cJSON_AddBoolToObject(o, "current", *first && !retired));
    xjson(cJSON_AddStringToObject(o, "public_key", text));
    free(text);
    *first = 0;
    return o;
}

cJSON *
art_keys_list(struct art_keys *k, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *arr = NULL;
    int first = 1;

    pthread_mutex_lock(&k->mu);
    if (db_prepare(k->c, &st, SQL_KEY_LIST, err) == 0)
        arr = db_rows_json(st, key_row, &first, err);
    pthread_mutex_unlock(&k->mu);
    return arr;
}

int
art_keys_pubkey(struct art_keys *k, const char *id, char **text, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    if (!art_key_id_valid(id))
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
    *text = art_pubkey_file_text(id, db_col_text(st, 0) ? db_col_text(st, 0) : "");
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&k->mu);
    return ret;
}

/* With k->mu held: the current key's id into id, and that key loaded into k (another
 * process, key rotate, may have changed it since). */
static int
load_current(struct art_keys *k, char id[ART_KEY_ID_LEN], struct app_err *err)
{
    if (current_id(k, id, err) < 0)
        return -1;
    if (!id[0])
        return app_fail(err, APP_EINTERNAL, "no signing key");
    if (strcmp(id, k->id) != 0 && key_load(k, id, err) < 0)
        return -1;
    return 0;
}

/* The cached signature of (kind, hex) by the current key, made when missing. */
static int
sign_cached(struct art_keys *k, const char *kind, const char *hex, uint64_t size,
            const uint8_t b2[ART_BLAKE2B_LEN], int keep, char **sig_text, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char id[ART_KEY_ID_LEN], now[APP_TIME_LEN];
    char *text = NULL;
    int rc, ret = -1;

    pthread_mutex_lock(&k->mu);
    if (load_current(k, id, err) < 0 || db_prepare(k->c, &st, SQL_SIG_GET, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    rc = db_next(st, err);
    if (rc > 0 && db_col_text(st, 0)) {
        *sig_text = xstrdup(db_col_text(st, 0));
        ret = 0;
        goto out;
    }
    if (rc < 0)
        goto out;
    date_now_rfc3339(now);
    text = sign_bound(k, kind, hex, size, id, now, b2);
    if (keep && put_row5(k, SQL_SIG_PUT, (const char *const[]){kind, hex, id, text, now},
                         "cannot cache signature", err) < 0)
        goto out;
    *sig_text = text;
    text = NULL;
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&k->mu);
    free(text);
    return ret;
}

int
art_sign_artifact(struct art_keys *k, const char *sha256_hex, uint64_t size,
                  const char *blake2b_hex, char **sig_text, struct app_err *err)
{
    uint8_t b2[ART_BLAKE2B_LEN];

    if (!sha256_hex_valid(sha256_hex))
        return app_fail(err, APP_EINVAL, "'%.80s' is not a sha256 digest", sha256_hex);
    if (!blake2b_hex || hex_decode(blake2b_hex, b2, sizeof(b2)) < 0)
        return app_fail(err, APP_EINTERNAL, "artifact sha256:%s has no BLAKE2b digest", sha256_hex);
    return sign_cached(k, "artifact", sha256_hex, size, b2, 1, sig_text, err);
}

static int
sign_lock(struct art_keys *k, const char *lock_id, const char *bytes, size_t len, int keep,
          char **sig_text, struct app_err *err)
{
    char hex[APP_SHA256_HEX];
    uint8_t b2[ART_BLAKE2B_LEN];

    if (strncmp(lock_id, "sha256:", 7) != 0 || !sha256_hex_valid(lock_id + 7))
        return app_fail(err, APP_EINVAL, "lock id '%.80s' is not sha256:<hex>", lock_id);
    sha256_hex(bytes, len, hex);
    if (strcmp(hex, lock_id + 7) != 0)
        return app_fail(err, APP_EINVAL, "lock bytes hash to sha256:%s, not %s", hex, lock_id);
    art_blake2b(bytes, len, b2);
    return sign_cached(k, "lock", hex, len, b2, keep, sig_text, err);
}

int
art_sign_lock(struct art_keys *k, const char *lock_id, const char *bytes, size_t len,
              char **sig_text, struct app_err *err)
{
    return sign_lock(k, lock_id, bytes, len, 1, sig_text, err);
}

int
art_sign_lock_transient(struct art_keys *k, const char *lock_id, const char *bytes, size_t len,
                        char **sig_text, struct app_err *err)
{
    return sign_lock(k, lock_id, bytes, len, 0, sig_text, err);
}

int
art_sign_snapshot(struct art_keys *k, const char *bytes, size_t len, long long version,
                  long long expires, char **sig_text, char key_id[ART_KEY_ID_LEN],
                  struct app_err *err)
{
    char id[ART_KEY_ID_LEN], now[APP_TIME_LEN], ex[APP_TIME_LEN], hex[APP_SHA256_HEX];
    char *trusted = NULL;
    uint8_t b2[ART_BLAKE2B_LEN];
    int ret = -1;

    sha256_hex(bytes, len, hex);
    art_blake2b(bytes, len, b2);
    date_now_rfc3339(now);
    date_time_rfc3339(expires, ex);
    pthread_mutex_lock(&k->mu);
    if (load_current(k, id, err) < 0)
        goto out;
    /* version and expires in the trusted comment let `minisign -V` users see them. */
    trusted = xasprintf("almanac kind=snapshot sha256=%s size=%zu key=%s signed=%s version=%lld "
                        "expires=%s",
                        hex, len, id, now, version, ex);
    *sig_text = sign_loaded(k, b2, trusted);
    memcpy(key_id, id, ART_KEY_ID_LEN);
    ret = 0;
out:
    pthread_mutex_unlock(&k->mu);
    free(trusted);
    return ret;
}
