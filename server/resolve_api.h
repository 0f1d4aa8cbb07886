/* server/resolve_api.h: resolution shared with other server modules (workers). */
#ifndef SERVER_RESOLVE_API_H
#define SERVER_RESOLVE_API_H

#include "catalog/resolve.h"
#include "server/http.h"

/* Sign a lock's bytes; the text (caller frees) is a minisign signature. keep: the
 * lock is stored, so its signature may be stored too; otherwise nothing is written. */
typedef int (*srv_resolve_sign_fn)(void *ctx, const char *lock_id, const char *bytes, size_t len,
                                   int keep, char **sig, struct app_err *err);

/* Install the lock signer (artifacts module); NULL leaves locks unsigned. */
void srv_resolve_set_signer(srv_resolve_sign_fn fn, void *ctx);

/* Resolve on the current snapshot. Nothing is stored: a caller that pins or keeps
 * the lock stores it (cat_lock_store). */
int srv_resolve_run(struct srv *s, struct db *c, const struct res_input *in, struct res_output *out,
                    struct app_err *err);

/* Answer 200 with a lock's bytes (taken), immutable under its id's ETag. */
void srv_reply_lock(struct srv_req *r, const char *lock_id, char *bytes, size_t len);

/* Free the response cache (at shutdown). */
void srv_resolve_fini(void);

#endif
