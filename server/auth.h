/* server/auth.h: the bearer header of an admin request, checked against db/tokens.
 * Knows nothing of the HTTP layer: http.c hands it the header value. */
#ifndef SERVER_AUTH_H
#define SERVER_AUTH_H

#include "app/err.h"
#include "db/db.h"

/* 0 when authorization (the Authorization header value, or NULL) is
 * "Bearer <valid token>"; otherwise -1 with err filled (401, or 500 when the token
 * table cannot be read). */
int srv_auth_check(struct db *c, const char *authorization, struct app_err *err);

#endif
