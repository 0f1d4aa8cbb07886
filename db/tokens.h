/* db/tokens.h: bearer tokens, sole owner of the tokens table.
 *
 * A token is DB_TOKEN_BYTES random bytes shown once as "alm_" + hex; only its
 * SHA-256 is stored, so a copy of the database grants nothing. Each has a name, a
 * scope (read < publish < admin), an optional expiry (wall clock) and a revocation
 * time. Checks compare the presented token's hash against every stored hash in
 * constant time, and read the table each time, so a revocation made by another
 * process (`almanacd token revoke` beside a running server) counts at once.
 */
#ifndef DB_TOKENS_H
#define DB_TOKENS_H

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"

#define DB_TOKEN_BYTES 32
#define DB_TOKEN_PREFIX "alm_"
#define DB_TOKEN_NAME_MAX 64

enum db_scope {
    DB_SCOPE_NONE = 0,
    DB_SCOPE_READ,
    DB_SCOPE_PUBLISH,
    DB_SCOPE_ADMIN,
};

/* "read" / "publish" / "admin" and back; -1 when unknown. */
int db_scope_parse(const char *s, enum db_scope *out);
const char *db_scope_name(enum db_scope s);

/* Create a token (with a token.created event). name NULL: a generated
 * "token-XXXXXXXX"; expires NULL: never, else a YYYY-MM-DD date in the future (the
 * token stops working at 00:00 UTC that day). *token (the secret: the caller wipes
 * and frees it) is shown once; *name_out (caller frees; may be NULL) is the name
 * used. 400 for a bad name, scope or date, 409 when the name is taken. */
int db_token_create(struct db *c, const char *name, enum db_scope scope, const char *expires,
                    char **token, char **name_out, struct app_err *err);

/* [{name, scope, created_at, last_used_at, expires_at, revoked_at}] in creation
 * order; never the secret or its hash. NULL with err on failure. */
cJSON *db_token_list(struct db *c, struct app_err *err);

/* Revoke by name (404 when unknown; revoking twice is not an error). */
int db_token_revoke(struct db *c, const char *name, struct app_err *err);

struct db_token_who {
    char name[DB_TOKEN_NAME_MAX + 1];
    enum db_scope scope;
};

/* 0 when token (the text after "Bearer ") matches a stored, unexpired, unrevoked
 * token, with *who filled (and last_used_at refreshed, at most once a minute); -1
 * with APP_EAUTH (the detail says unknown, revoked or expired), or APP_EINTERNAL
 * when the table cannot be read. */
int db_token_check(struct db *c, const char *token, struct db_token_who *who, struct app_err *err);

#endif
