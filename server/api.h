/* server/api.h: helpers shared by the API modules, and their route tables. */
#ifndef SERVER_API_H
#define SERVER_API_H

#include <stdint.h>

#include "server/http.h"

#define ALMANAC_VERSION "0.1.0"

/* The base for absolute URLs in exports: --public-url without a trailing slash, or ""
 * (server-relative URLs) when it is not set. Caller frees. */
char *srv_base_url(struct srv_req *r);

/* Strict decimal integer in [min, max]; -1 otherwise. */
int srv_parse_int(const char *s, long long min, long long max, long long *out);

extern const struct srv_route srv_catalog_routes[];
extern const size_t srv_catalog_n_routes;
extern const struct srv_route srv_resolve_routes[];
extern const size_t srv_resolve_n_routes;
extern const struct srv_route srv_snapshot_routes[];
extern const size_t srv_snapshot_n_routes;
extern const struct srv_route srv_workers_routes[];
extern const size_t srv_workers_n_routes;
extern const struct srv_route srv_ops_routes[];
extern const size_t srv_ops_n_routes;

/* Drop the snapshot module's cached document (after srv_stop). */
void srv_snapshot_fini(void);

#endif
