/* server/auth.h: admin bearer tokens: created on the server host, stored as SHA-256
 * hashes, compared in constant time. */
#ifndef SERVER_AUTH_H
#define SERVER_AUTH_H

#include "app/err.h"
#include "catalog/db.h"

struct srv_req;

/* Create a token, store its hash; *token (caller frees) is shown once. */
int auth_token_create(struct cat *c, char **token, struct app_err *err);

/* 0 when the request carries a valid `Authorization: Bearer` token; otherwise fills
 * r->err with 401. */
int auth_check(struct srv_req *r);

#endif
