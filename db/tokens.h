/* db/tokens.h: admin bearer tokens, sole owner of the tokens table.
 *
 * A token is AUTH_TOKEN_BYTES random bytes shown once as "alm_" + hex; only its
 * SHA-256 is stored, so a copy of the database grants nothing. Checks compare the
 * presented token's hash against every stored hash in constant time.
 */
#ifndef DB_TOKENS_H
#define DB_TOKENS_H

#include "app/err.h"
#include "db/db.h"

#define DB_TOKEN_BYTES 32
#define DB_TOKEN_PREFIX "alm_"

/* Create a token and store its hash (with a token.created event); *token is the
 * text to show once (the caller wipes and frees it). */
int db_token_create(struct db *c, char **token, struct app_err *err);

/* 0 when token (the text after "Bearer ") matches a stored token; -1 with APP_EAUTH
 * when it does not, or APP_EINTERNAL when the table cannot be read. */
int db_token_check(struct db *c, const char *token, struct app_err *err);

#endif
