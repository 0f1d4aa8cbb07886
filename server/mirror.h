/* server/mirror.h: almanacd as a read-only mirror of an upstream (issue 14).
 *
 * `almanacd mirror --upstream URL --data DIR` runs the usual server with a follower
 * (server/follow.h) in place of the catalog's writers. Every request passes through
 * mirror_route (a hook of server/http.c):
 *   - a write (any method but GET, HEAD, OPTIONS, and POST /v1/resolve) is 405 with
 *     a problem naming the upstream;
 *   - until the first complete version, and once the served snapshot expired, reads
 *     are 503 saying so (health, ready and the dashboard still answer);
 *   - the snapshot, its signature, the keys, the rotation statements and artifact
 *     signatures are the upstream's, byte for byte; resolve runs on the served
 *     snapshot (byte-identical locks) and answers "signature": null, since the
 *     upstream never signed a lock the mirror computed; a lock the mirror does not
 *     hold is fetched from the upstream, with the upstream's signature when it has
 *     one;
 *   - /v1/health says mirror, upstream, version (the served snapshot version),
 *     lag_s and pending_artifacts.
 * `--static OUT` instead writes the served version as a static tree
 * (server/export.h) after each advance.
 */
#ifndef SERVER_MIRROR_H
#define SERVER_MIRROR_H

#include "app/err.h"
#include "server/follow.h"
#include "server/http.h"

/* Make s a mirror served from f: pins s->snaps to f's served versions. */
void mirror_attach(struct srv *s, struct follower *f);

/* Write doc as a static tree at out from the follower's data directory. */
int mirror_write_static(struct follower *f, const char *data_dir, const char *out,
                        struct follow_doc *doc, struct app_err *err);

/* almanacd mirror --static: take cfg->data_dir's lock, bring out to the served
 * version, then follow until SIGTERM or SIGINT (or, with once, one round: -1 when
 * it failed). */
int mirror_static_run(const struct follow_cfg *cfg, const char *out, int once, struct app_err *err);

#endif
