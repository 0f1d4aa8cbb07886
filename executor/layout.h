/* executor/layout.h: a worker's Pyodide directory made of hard links into the cache.
 *
 * The directory holds the runtime's core files under the names Pyodide loads them
 * by (pyodide.mjs, pyodide.asm.js or .mjs, pyodide.asm.wasm, python_stdlib.zip),
 * each package of the lock under its file_name, and a pyodide-lock.json written
 * for this lock: exactly its packages, in Pyodide's lock format, its `info` taken
 * from the runtime's shipped lock. Every file but that lock is a hard link to a
 * verified blob, so workers on the same runtime share its bytes on disk.
 *
 * A layout is rebuilt only when its manifest (the names, digests and lock bytes)
 * changed or a link no longer points at its blob. The new directory is built aside
 * and exchanged with the old one in one renameat2(RENAME_EXCHANGE), so a reader sees
 * the old or the new directory, never half of one and never none (on a file system
 * without RENAME_EXCHANGE two renames leave a moment with none).
 */
#ifndef EXECUTOR_LAYOUT_H
#define EXECUTOR_LAYOUT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "executor/cache.h"
#include "executor/lockfiles.h"

struct exe_layout_file {
    const char *name; /* a plain file name: no '/', not "." or ".." */
    const char *hex;  /* the blob it links to */
};

/* Make dir hold exactly files (links) plus pyodide-lock.json with lock_text.
 * *reused is set to 1 when the existing directory was already right. Fails with
 * APP_EINVAL for a bad file name, APP_EINTERNAL for I/O errors. */
int exe_layout_build(struct exe_cache *c, const char *dir, const struct exe_layout_file *files,
                     size_t n, const char *lock_text, int *reused, struct app_err *err);

/* The pyodide-lock.json text for an almanac lock (its "packages" array) with info
 * taken from the runtime's shipped lock at shipped_path (may be NULL or unreadable:
 * then info is derived from the lock's "runtime"). The caller frees. */
char *exe_pyodide_lock(const cJSON *lock, const char *shipped_path);

/* The name Pyodide loads a core artifact of role by: "core-wasm" pyodide.asm.wasm,
 * "loader" pyodide.mjs, "stdlib" python_stdlib.zip, "core-js" its own file_name
 * (pyodide.asm.js, or pyodide.asm.mjs from 0.28 on). NULL for any other role (the
 * runtime's shipped "lock" and unknown roles are not laid out). Borrowed. */
const char *exe_core_name(const char *role, const char *file_name);

/* The directory of one worker for one lock, under the cache's workers/ and keyed by
 * the worker's path (so two workers never share one): the core files under their
 * Pyodide names, the packages under their file names, and a pyodide-lock.json for
 * exactly this lock (its info from the runtime's shipped lock when the lock has one).
 * files are exe_lock_files(lock) already in the cache. *dir (caller frees) is the
 * directory, *pkgs (caller frees) the names of the lock's packages for the host to
 * install, *reused as exe_layout_build. Fails as exe_layout_build. */
int exe_layout_lock(struct exe_cache *c, const cJSON *lock, const struct exe_lock_file *files,
                    size_t n, const char *worker, char **dir, cJSON **pkgs, int *reused,
                    struct app_err *err);

#endif
