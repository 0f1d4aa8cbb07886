/* db/tokens.c: admin token rows: created hashed, checked in constant time. */
#include "db/tokens.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/mem.h"
#include "db/events.h"

int
db_token_create(struct db *c, char **token, struct app_err *err)
{
    uint8_t raw[DB_TOKEN_BYTES];
    char hex[2 * DB_TOKEN_BYTES + 1], hash[APP_SHA256_HEX], now[APP_TIME_LEN];
    sqlite3_stmt *st = NULL;
    char *t;
    int ret = -1;

    randombytes_buf(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), hex);
    sodium_memzero(raw, sizeof(raw));
    t = xasprintf(DB_TOKEN_PREFIX "%s", hex);
    sodium_memzero(hex, sizeof(hex));
    sha256_hex(t, strlen(t), hash);
    date_now_rfc3339(now);
    if (db_begin(c, err) < 0)
        goto out;
    if (db_prepare(c, &st, "INSERT INTO tokens(hash, created_at) VALUES(?, ?)", err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot store token") < 0)
        goto out;
    if (db_event_append(c, "token.created", "token", NULL, err) < 0 || db_commit(c, err) < 0)
        goto out;
    *token = t;
    t = NULL;
    ret = 0;
out:
    sqlite3_finalize(st);
    if (ret < 0)
        db_rollback(c);
    if (t) {
        sodium_memzero(t, strlen(t));
        free(t);
    }
    return ret;
}

int
db_token_check(struct db *c, const char *token, struct app_err *err)
{
    char hash[APP_SHA256_HEX];
    sqlite3_stmt *st = NULL;
    int ok = 0, rc;

    sha256_hex(token, strlen(token), hash);
    if (db_prepare(c, &st, "SELECT hash FROM tokens", err) < 0)
        return -1;
    /* Compare against every stored hash, in constant time each. */
    while ((rc = db_next(st, err)) > 0) {
        const char *stored = db_col_text(st, 0);

        if (stored && strlen(stored) == APP_SHA256_HEX - 1 &&
            sodium_memcmp(stored, hash, APP_SHA256_HEX - 1) == 0)
            ok = 1;
    }
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    return ok ? 0 : app_fail(err, APP_EAUTH, "the bearer token is not valid");
}
