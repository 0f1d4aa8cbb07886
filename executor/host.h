/* executor/host.h: start the Node.js host (executor/host.mjs) on a laid-out
 * directory and read its one-line JSON result.
 *
 * The host's config and output protocol are executor/host.mjs's (its header and
 * executor/README.md): config {dir, lock_file, packages, worker, request: {method,
 * url, headers: [[name, value]], body}, env, snapshot: {mode, path}, timings}; the
 * last line of its stdout is {ok: true, status, headers, body, timings} or {ok:
 * false, error: {type, message, traceback, code}}. Its stderr (Python's print,
 * Pyodide's messages) passes through to ours.
 */
#ifndef EXECUTOR_HOST_H
#define EXECUTOR_HOST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"

/* Find host.mjs: $ALMANAC_EXECUTOR_DIR/host.mjs, else next to the almanac binary's
 * tree (<bin>/../executor, <bin>/../../executor, <bin>/../share/almanac/executor).
 * The caller frees. APP_EINVAL (with where it looked) when there is none. */
char *exe_find_host(struct app_err *err);

/* The Node.js binary: $ALMANAC_NODE, else "node" (looked up in PATH). */
const char *exe_node(void);

/* Write config (canonical JSON) to config_path, run `node host config_path`, and
 * parse its result line into *result (caller frees). *node_ms is the wall time of
 * the child. Fails (APP_EINTERNAL) only when node cannot be started or prints no
 * JSON line; a worker error is a result with ok: false. */
int exe_run_host(const char *host, const cJSON *config, const char *config_path, cJSON **result,
                 double *node_ms, struct app_err *err);

/* The host's exit code when `almanac dev` must resolve again (the config changed). */
#define EXE_SERVE_RERESOLVE 75

/* Write config to config_path and run `node host --serve config_path` with our stdio
 * until it ends; *exit_code is its exit status (SIGINT/SIGTERM: 0). SIGINT and SIGTERM
 * sent to us meanwhile are passed on to the host, which stops cleanly. */
int exe_serve_host(const char *host, const cJSON *config, const char *config_path, int *exit_code,
                   struct app_err *err);

#endif
