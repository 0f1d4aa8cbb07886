/* executor/snapkey.h: the key of a worker's memory snapshot (`almanac run --snapshot`).
 *
 * A snapshot is valid for one lock and one copy of the worker's files: the host
 * (executor/host.mjs, preparePhase) refuses a snapshot whose packages, worker files,
 * module, flags or Pyodide differ, and the run remakes it. The key names the file
 * so that a different lock or different worker files get a different file instead
 * of remaking one shared file on every run: it is the lock id (which covers the
 * runtime, the packages and the enabled flags) and a hash of everything the host
 * copies into Pyodide's file system (collectWorkerFiles and vendorDirs in host.mjs):
 *   - the main module's name;
 *   - the .py files beside the worker (the worker among them);
 *   - the packages beside it (directories holding __init__.py), whole;
 *   - the project's python_modules/;
 *   - vendor/ beside the worker, when the config's rules name vendor/ and the flag
 *     python_workers_force_new_vendor_path is off.
 * Names and bytes count; hidden names, __pycache__, node_modules, *.pyc and symbolic
 * links are skipped, as the host skips them.
 */
#ifndef EXECUTOR_SNAPKEY_H
#define EXECUTOR_SNAPKEY_H

#include <cjson/cJSON.h>

#include "app/err.h"

/* "<32 hex of the lock id>-<32 hex of the worker's files>" and its NUL. */
#define EXE_SNAPKEY_LEN 66

/* The snapshot key for lock_id ("sha256:<hex>") and the worker module at worker (an
 * absolute path), its project directory (where python_modules/ is), the worker's
 * config as JSON (may be NULL) and the lock's enabled flags (a JSON array, may be
 * NULL). Fails with APP_EINVAL when lock_id is not a sha256 id or the worker's
 * directory cannot be listed. */
int exe_snapshot_key(const char *lock_id, const char *worker, const char *project_dir,
                     const cJSON *config, const cJSON *flags, char key[EXE_SNAPKEY_LEN],
                     struct app_err *err);

#endif
