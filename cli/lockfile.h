/* cli/lockfile.h: almanac.lock, the project's record of the lock a worker was
 * resolved and tested with (like uv.lock), and the hook run/dev/deploy/resolve call
 * instead of asking the server directly.
 *
 * The file sits beside the worker's config (wrangler.toml/.json/.jsonc). It is JSON
 * so it can be committed and reviewed:
 *   {"//": "...", "almanac_lock": 1, "inputs": {...}, "lock_id": "sha256:...",
 *    "signature": "<minisign signature of the lock's canonical bytes>",
 *    "summary": {"runtime", "python", "package_set", "enabled_flags", "packages"},
 *    "lock": <the lock's canonical bytes, verbatim, last, on one line>}
 * "inputs" are what the config resolved from (the body of POST /v1/resolve without
 * as_of), so a changed config is noticed without the server. "summary" is what a
 * reviewer reads in a diff. Reading the file checks that the lock's bytes hash to
 * lock_id, that the signature verifies against the pinned key and that the
 * summary is the lock's: a hand-edited file is refused (exit 4).
 *
 * Modes (what the README's table lists):
 *   auto     lock file present and the inputs unchanged: use it, no server for the
 *            resolution; inputs changed: resolve, rewrite the file, say so (uv);
 *            no lock file: resolve as before
 *   locked   resolve with the server; fail (exit 1, differences printed) when the
 *            config no longer resolves to the file's lock
 *   frozen   use the file's lock without asking the server (artifacts missing
 *            from the cache are still fetched)
 *   offline  the global --offline (no network at all): as frozen, and every artifact
 *            must already be in the cache; with no lock file, the last verified
 *            catalog snapshot resolves (cli/snapshot.h)
 */
#ifndef CLI_LOCKFILE_H
#define CLI_LOCKFILE_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "cli/locks.h"
#include "cli/state.h"

#define CLI_LOCKFILE_NAME "almanac.lock"
#define CLI_LOCKFILE_VERSION 1
#define CLI_LOCKFILE_MAX (64u * 1024 * 1024)

/* The path of almanac.lock beside config (caller frees). */
char *cli_lockfile_path(const char *config);

/* The inputs recorded for a resolve body: body without as_of (caller frees). */
cJSON *cli_lockfile_inputs(const cJSON *body);

/* Write the lock file at path (atomically: a temporary file renamed over it). */
int cli_lockfile_write(const char *path, const struct cli_lock *l, const cJSON *inputs,
                       struct app_err *err);

/* Read and verify the lock file at path. *inputs (caller frees) gets the recorded
 * inputs. APP_ENOTFOUND when there is no file, APP_EINVAL when it is malformed,
 * APP_ECONFLICT when its digest or signature does not verify. */
int cli_lockfile_read(struct cli *c, const char *path, struct cli_lock *out, cJSON **inputs,
                      struct app_err *err);

/* Print, one line each to f, how inputs `now` differ from `was` ("  date: A -> B").
 * Returns the number of differences. */
int cli_lockfile_print_diff(FILE *f, const cJSON *was, const cJSON *now);

/* The lock for in (already loaded) and its resolve body, honouring the lock file
 * beside in->config and in->lock_mode (see above); notes go to stderr. This is
 * what run, dev, deploy and resolve call instead of cli_lock_resolve. */
int cli_lockfile_resolve(struct cli *c, const struct cli_inputs *in, const cJSON *body,
                         struct cli_lock *out, struct app_err *err);

/* mode as c->offline makes it: CLI_LOCK_OFFLINE under --offline, -1 with err
 * (APP_EINVAL) for --locked with --offline. */
int cli_lockfile_mode(const struct cli *c, int mode, struct app_err *err);

/* The same with an explicit mode instead of in->lock_mode. */
int cli_lockfile_resolve_mode(struct cli *c, const struct cli_inputs *in, int mode,
                              const cJSON *body, struct cli_lock *out, struct app_err *err);

/* Before `workers deploy` (the server resolves, so there is nothing to use the file
 * for but a check): with --locked or --frozen, refuse when the config no longer
 * resolves to the file's lock; without them, re-lock a changed config. --offline
 * is refused. expect gets the lock id the server should pin ("" without a file). */
int cli_lockfile_before_deploy(struct cli *c, const struct cli_inputs *in, const cJSON *body,
                               char expect[80], struct app_err *err);

/* {lock_id, lock, signature} of l, for --json when no resolve answer was asked for
 * (caller frees). */
cJSON *cli_lockfile_doc(const struct cli_lock *l);

/* Replace path's contents with data (temporary file, fsync, rename); keeps the
 * file's mode when it exists. */
int cli_file_replace(const char *path, const char *data, size_t len, struct app_err *err);

#endif
