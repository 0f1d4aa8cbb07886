/* server/auth.c: admin requests carry `Authorization: Bearer <token>`; the token is
 * checked by db/tokens (hash compare in constant time). */
#include "server/auth.h"

#include <string.h>

#include "db/tokens.h"

#define AUTH_SCHEME "Bearer "

int
srv_auth_check(struct db *c, const char *authorization, struct app_err *err)
{
    size_t n = strlen(AUTH_SCHEME);

    if (!authorization || strncmp(authorization, AUTH_SCHEME, n) != 0 || !authorization[n])
        return app_fail(err, APP_EAUTH,
                        "this request needs an admin token: send 'Authorization: Bearer <token>' "
                        "(create one with 'almanacd token create')");
    return db_token_check(c, authorization + n, err);
}
