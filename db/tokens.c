/* db/tokens.c: token rows: created hashed with a name, scope and expiry; listed
 * without secrets; revoked; checked in constant time. */
#include "db/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "db/events.h"

/* last_used_at is a write; refresh it at most once a minute per token. */
#define TOKEN_LAST_USED_PREFIX 16 /* "YYYY-MM-DDTHH:MM" */

static const char *const scope_names[] = {"none", "read", "publish", "admin"};

int
db_scope_parse(const char *s, enum db_scope *out)
{
    for (int i = DB_SCOPE_READ; i <= DB_SCOPE_ADMIN; i++) {
        if (s && strcmp(s, scope_names[i]) == 0) {
            *out = (enum db_scope)i;
            return 0;
        }
    }
    return -1;
}

const char *
db_scope_name(enum db_scope s)
{
    return s >= DB_SCOPE_NONE && s <= DB_SCOPE_ADMIN ? scope_names[s] : "none";
}

/* Names are what operators type and what logs show: 1-64 of [A-Za-z0-9._-]. */
static int
name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > DB_TOKEN_NAME_MAX)
        return 0;
    for (; *s; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The wall clock, never ALMANAC_TODAY: expiry is about real time. */
static int
wall_today(void)
{
    struct tm tm;
    time_t now = time(NULL);

    gmtime_r(&now, &tm);
    return date_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int
db_token_create(struct db *c, const char *name, enum db_scope scope, const char *expires,
                char **token, char **name_out, struct app_err *err)
{
    uint8_t raw[DB_TOKEN_BYTES];
    char hex[2 * DB_TOKEN_BYTES + 1], hash[APP_SHA256_HEX], now[APP_TIME_LEN], exp[32];
    sqlite3_stmt *st = NULL;
    char *t = NULL, *nm = NULL;
    cJSON *data = NULL;
    int ret = -1, days, rc;

    if (scope < DB_SCOPE_READ || scope > DB_SCOPE_ADMIN)
        return app_fail(err, APP_EINVAL, "scope must be read, publish or admin");
    if (name && !name_valid(name))
        return app_fail(err, APP_EINVAL,
                        "token name '%.80s' must be 1-%d letters, digits, '.', '_' or '-'", name,
                        DB_TOKEN_NAME_MAX);
    if (expires) {
        if (date_parse(expires, &days) < 0)
            return app_fail(err, APP_EINVAL, "expiry '%.80s' is not a YYYY-MM-DD date", expires);
        if (days <= wall_today())
            return app_fail(err, APP_EINVAL, "expiry '%s' is not in the future", expires);
        snprintf(exp, sizeof(exp), "%sT00:00:00Z", expires);
    }
    if (name) {
        nm = xstrdup(name);
    } else {
        uint8_t r4[4];
        char h4[9];

        randombytes_buf(r4, sizeof(r4));
        hex_encode(r4, sizeof(r4), h4);
        nm = xasprintf("token-%s", h4);
    }
    randombytes_buf(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), hex);
    sodium_memzero(raw, sizeof(raw));
    t = xasprintf(DB_TOKEN_PREFIX "%s", hex);
    sodium_memzero(hex, sizeof(hex));
    sha256_hex(t, strlen(t), hash);
    date_now_rfc3339(now);
    if (db_begin(c, err) < 0)
        goto out;
    if (db_prepare(c, &st,
                   "INSERT INTO tokens(hash, created_at, name, scope, expires_at) "
                   "VALUES(?, ?, ?, ?, ?)",
                   err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, nm, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, scope_names[scope], -1, SQLITE_STATIC);
    if (expires)
        sqlite3_bind_text(st, 5, exp, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        app_fail(err, APP_ECONFLICT, "a token named '%s' exists", nm);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        db_sql_fail(c, err, "cannot store token");
        goto out;
    }
    data = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(data, "scope", scope_names[scope]));
    if (expires)
        xjson(cJSON_AddStringToObject(data, "expires_at", exp));
    if (db_event_append(c, "token.created", nm, data, err) < 0 || db_commit(c, err) < 0)
        goto out;
    *token = t;
    t = NULL;
    if (name_out) {
        *name_out = nm;
        nm = NULL;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    cJSON_Delete(data);
    if (ret < 0)
        db_rollback(c);
    if (t) {
        sodium_memzero(t, strlen(t));
        free(t);
    }
    free(nm);
    return ret;
}

static void
add_opt_text(cJSON *o, const char *key, const char *v)
{
    if (v)
        xjson(cJSON_AddStringToObject(o, key, v));
    else
        xjson(cJSON_AddNullToObject(o, key));
}

/* A token's row (never its hash) as its document. */
static cJSON *
token_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *o = xjson(cJSON_CreateObject());

    (void)ctx;
    (void)err;
    xjson(cJSON_AddStringToObject(o, "name", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(o, "scope", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(o, "created_at", db_col_text(st, 2)));
    add_opt_text(o, "last_used_at", db_col_text(st, 3));
    add_opt_text(o, "expires_at", db_col_text(st, 4));
    add_opt_text(o, "revoked_at", db_col_text(st, 5));
    return o;
}

cJSON *
db_token_list(struct db *c, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st,
                   "SELECT name, scope, created_at, last_used_at, expires_at, revoked_at "
                   "FROM tokens ORDER BY id",
                   err) < 0)
        return NULL;
    return db_rows_json(st, token_row, NULL, err);
}

int
db_token_revoke(struct db *c, const char *name, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char now[APP_TIME_LEN];
    int ret = -1, found = 0, rc;

    date_now_rfc3339(now);
    if (db_begin(c, err) < 0)
        return -1;
    if (db_prepare(c, &st, "SELECT revoked_at FROM tokens WHERE name = ?", err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = db_next(st, err);
    if (rc < 0)
        goto out;
    if (rc > 0)
        found = db_col_text(st, 0) ? 2 : 1;
    sqlite3_finalize(st);
    st = NULL;
    if (!found) {
        app_fail(err, APP_ENOTFOUND, "no token named '%.80s'", name);
        goto out;
    }
    if (found == 1) {
        if (db_prepare(c, &st, "UPDATE tokens SET revoked_at = ? WHERE name = ?", err) < 0)
            goto out;
        sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        if (db_step_done(st, err, "cannot revoke token") < 0)
            goto out;
        if (db_event_append(c, "token.revoked", name, NULL, err) < 0)
            goto out;
    }
    if (db_commit(c, err) < 0)
        goto out;
    ret = 0;
out:
    sqlite3_finalize(st);
    if (ret < 0)
        db_rollback(c);
    return ret;
}

/* Best effort: a busy database only delays the next refresh. */
static void
touch_last_used(struct db *c, const char *name, const char *now)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st, "UPDATE tokens SET last_used_at = ? WHERE name = ?", NULL) < 0)
        return;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    (void)sqlite3_step(st);
    sqlite3_finalize(st);
}

int
db_token_check(struct db *c, const char *token, struct db_token_who *who, struct app_err *err)
{
    char hash[APP_SHA256_HEX], now[APP_TIME_LEN], last[APP_TIME_LEN] = "";
    sqlite3_stmt *st = NULL;
    int ok = 0, revoked = 0, expired = 0, rc;

    memset(who, 0, sizeof(*who));
    sha256_hex(token, strlen(token), hash);
    if (db_prepare(c, &st,
                   "SELECT hash, name, scope, expires_at, revoked_at, last_used_at FROM tokens",
                   err) < 0)
        return -1;
    date_now_rfc3339(now);
    /* Compare against every stored hash, in constant time each. */
    while ((rc = db_next(st, err)) > 0) {
        const char *stored = db_col_text(st, 0);

        if (stored && strlen(stored) == APP_SHA256_HEX - 1 &&
            sodium_memcmp(stored, hash, APP_SHA256_HEX - 1) == 0) {
            const char *exp = db_col_text(st, 3), *lu = db_col_text(st, 5);

            ok = 1;
            snprintf(who->name, sizeof(who->name), "%s",
                     db_col_text(st, 1) ? db_col_text(st, 1) : "");
            if (db_scope_parse(db_col_text(st, 2), &who->scope) < 0)
                who->scope = DB_SCOPE_NONE;
            revoked = db_col_text(st, 4) != NULL;
            expired = exp && strcmp(now, exp) >= 0;
            if (lu)
                snprintf(last, sizeof(last), "%s", lu);
        }
    }
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    if (!ok || revoked || expired)
        return app_fail(err, APP_EAUTH, "the bearer token is %s",
                        !ok       ? "not valid"
                        : revoked ? "revoked"
                                  : "expired");
    if (strncmp(last, now, TOKEN_LAST_USED_PREFIX) != 0)
        touch_last_used(c, who->name, now);
    return 0;
}
