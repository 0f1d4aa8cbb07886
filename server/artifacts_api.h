/* server/artifacts_api.h: the artifacts module of almanacd (server/artifacts_api.c):
 * its route table and the start/stop of the store and signing keys it uses. */
#ifndef SERVER_ARTIFACTS_API_H
#define SERVER_ARTIFACTS_API_H

#include <stddef.h>

#include "app/err.h"
#include "server/http.h"

extern const struct srv_route srv_artifacts_routes[];
extern const size_t srv_artifacts_n_routes;

/* Open s->store (DATA/artifacts, level s->cfg.zstd_level, 0 = default) and
 * s->keys (DATA/keys, first key made on first start). Call before srv_start. */
int srv_artifacts_init(struct srv *s, struct app_err *err);

/* Close what srv_artifacts_init opened (after srv_stop); safe when init failed. */
void srv_artifacts_fini(struct srv *s);

#endif
