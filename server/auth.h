/* server/auth.h: the bearer header of a request, checked against db/tokens with
 * the scope the route needs. Knows nothing of the HTTP layer: http.c hands it the
 * header value and logs failures with the request's method, path and client. */
#ifndef SERVER_AUTH_H
#define SERVER_AUTH_H

#include "app/err.h"
#include "db/db.h"
#include "db/tokens.h"

/* 0 when authorization (the Authorization header value, or NULL) is "Bearer <valid
 * token>" whose scope is at least need; *who names the token whenever it was valid
 * (also for a 403). Otherwise -1 with err: 401 (no, unknown, revoked or expired
 * token), 403 (scope too small), 500 (the token table cannot be read). */
int srv_auth_check(struct db *c, const char *authorization, enum db_scope need,
                   struct db_token_who *who, struct app_err *err);

#endif
