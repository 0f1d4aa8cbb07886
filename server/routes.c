/* server/routes.c: every module's route table, in lookup order. */
#include "server/api.h"
#include "server/artifacts_api.h"

const struct srv_routes srv_all_routes[] = {
    {catalog_routes, &catalog_n_routes},
    {resolve_routes, &resolve_n_routes},
    {workers_routes, &workers_n_routes},
    {art_routes, &art_n_routes},
};
const size_t srv_n_route_tables = sizeof(srv_all_routes) / sizeof(srv_all_routes[0]);
