/* server/routes.c: every module's route table, in lookup order. */
#include "server/api.h"
#include "server/artifacts_api.h"

const struct srv_routes srv_all_routes[] = {
    {srv_catalog_routes, &srv_catalog_n_routes},     {srv_resolve_routes, &srv_resolve_n_routes},
    {srv_snapshot_routes, &srv_snapshot_n_routes},   {srv_workers_routes, &srv_workers_n_routes},
    {srv_artifacts_routes, &srv_artifacts_n_routes}, {srv_ops_routes, &srv_ops_n_routes},
};
const size_t srv_n_route_tables = sizeof(srv_all_routes) / sizeof(srv_all_routes[0]);
