/* server/auth.c: bearer tokens. A token is 32 random bytes shown as "alm_" + hex;
 * only its SHA-256 is stored, so a copy of the database grants nothing. */
#include "server/auth.h"

#include <string.h>

#include <sodium.h>

#include "app/hash.h"
#include "app/mem.h"
#include "server/http.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_PREFIX "alm_"

int
auth_token_create(struct cat *c, char **token, struct app_err *err)
{
    uint8_t raw[AUTH_TOKEN_BYTES];
    char hex[2 * AUTH_TOKEN_BYTES + 1], hash[APP_SHA256_HEX], now[21];
    sqlite3_stmt *st = NULL;
    char *t;
    int ret = -1;

    randombytes_buf(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), hex);
    sodium_memzero(raw, sizeof(raw));
    t = xasprintf(AUTH_PREFIX "%s", hex);
    sodium_memzero(hex, sizeof(hex));
    sha256_hex(t, strlen(t), hash);
    cat_now(now);
    if (cat_begin(c, err) < 0)
        goto out;
    if (cat_prepare(c, &st, "INSERT INTO tokens(hash, created_at) VALUES(?, ?)", err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        cat_sql_fail(c, err, "cannot store token");
        goto out;
    }
    if (cat_event(c, "token.created", "token", NULL, err) < 0 || cat_commit(c, err) < 0)
        goto out;
    *token = t;
    t = NULL;
    ret = 0;
out:
    sqlite3_finalize(st);
    if (ret < 0)
        cat_rollback(c);
    if (t) {
        sodium_memzero(t, strlen(t));
        free(t);
    }
    return ret;
}

int
auth_check(struct srv_req *r)
{
    const char *h = srv_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    char hash[APP_SHA256_HEX];
    sqlite3_stmt *st = NULL;
    struct cat *c;
    int ok = 0;

    if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7])
        return app_fail(&r->err, APP_EAUTH,
                        "this request needs an admin token: send 'Authorization: Bearer <token>' "
                        "(create one with 'almanacd token create')");
    sha256_hex(h + 7, strlen(h + 7), hash);
    c = srv_cat(r);
    if (!c)
        return app_fail(&r->err, APP_EINTERNAL, "database unavailable");
    if (cat_prepare(c, &st, "SELECT hash FROM tokens", &r->err) < 0)
        return -1;
    /* Compare against every stored hash, in constant time each. */
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *stored = cat_col_text(st, 0);

        if (stored && strlen(stored) == APP_SHA256_HEX - 1 &&
            sodium_memcmp(stored, hash, APP_SHA256_HEX - 1) == 0)
            ok = 1;
    }
    sqlite3_finalize(st);
    return ok ? 0 : app_fail(&r->err, APP_EAUTH, "the bearer token is not valid");
}
