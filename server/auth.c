/* server/auth.c: requests carry `Authorization: Bearer <token>`; the token is
 * checked by db/tokens (hash compare in constant time), then its scope. */
#include "server/auth.h"

#include <string.h>

#define AUTH_SCHEME "Bearer "

int
srv_auth_check(struct db *c, const char *authorization, enum db_scope need,
               struct db_token_who *who, struct app_err *err)
{
    size_t n = strlen(AUTH_SCHEME);

    memset(who, 0, sizeof(*who));
    if (!authorization || strncmp(authorization, AUTH_SCHEME, n) != 0 || !authorization[n])
        return app_fail(err, APP_EAUTH,
                        "this request needs a %s token: send 'Authorization: Bearer <token>' "
                        "(create one with 'almanacd token create')",
                        db_scope_name(need));
    if (db_token_check(c, authorization + n, who, err) < 0)
        return -1;
    if (who->scope < need)
        return app_fail(err, APP_EFORBIDDEN, "token '%s' has scope %s; this request needs %s",
                        who->name, db_scope_name(who->scope), db_scope_name(need));
    return 0;
}
