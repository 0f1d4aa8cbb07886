/* cli/snapshot.h: the signed catalog snapshot on the client (issue 14).
 *
 * `almanac sync` (and any command that needs it, when the copy is stale) fetches
 * GET /v1/catalog/snapshot and its signature, and accepts the document only when:
 *   - its signature verifies against a pinned key and binds kind=snapshot, its
 *     sha256 and size (cli/trust.h);
 *   - it has not expired by the real clock (freeze: ALMANAC_TODAY does not count);
 *   - its version is not lower than the highest version already verified for that
 *     key, and for the same version it was not issued earlier (rollback);
 *   - it is no larger than SNAPJSON_MAX, compressed or not (endless data).
 * The highest verified version per key lives in the config directory
 * ($XDG_CONFIG_HOME/almanac/snapshot_versions, with the pinned keys), never in the
 * cache; the document itself is kept in the cache ($ALMANAC_CACHE/catalog/) and is
 * verified again every time it is read, so --offline needs no network at all.
 */
#ifndef CLI_SNAPSHOT_H
#define CLI_SNAPSHOT_H

#include <stddef.h>

#include "app/err.h"
#include "catalog/resolve.h"
#include "catalog/snapjson.h"
#include "cli/cli.h"

/* A cached copy older than this is refreshed by commands that talk to a server. */
#define CLI_SNAPSHOT_FRESH_S 3600

struct cli_snapshot {
    struct snap *snap;
    struct snap_meta meta;
    char digest[SNAPJSON_DIGEST_LEN];
    char key_id[17];
    char *source; /* the server it came from, or "cache" */
};

void cli_snapshot_free(struct cli_snapshot *s);

/* Fetch, verify and record the newest snapshot of c->server. */
int cli_snapshot_sync(struct cli *c, struct cli_snapshot **out, struct app_err *err);

/* The last verified snapshot from the cache (no network), verified again. */
int cli_snapshot_cached(struct cli *c, struct cli_snapshot **out, struct app_err *err);

/* The cached snapshot when it is fresh (CLI_SNAPSHOT_FRESH_S), else a sync; with
 * offline set, the cached one only. */
int cli_snapshot_get(struct cli *c, int offline, struct cli_snapshot **out, struct app_err *err);

/* Recompute a lock from the snapshot: resolve its inputs (date, flags given,
 * requirements) as of a date at which the policy gives the lock's runtime (the
 * lock's upgraded_from says whether it was moved) and compare the canonical bytes.
 * 0 when identical; APP_ECONFLICT (exit 4) naming the first difference otherwise. */
int cli_snapshot_check_lock(const struct cli_snapshot *s, const char *bytes, size_t len,
                            struct app_err *err);

/* Resolve in locally from the snapshot (resolve --offline); out as res_resolve. */
int cli_snapshot_resolve(const struct cli_snapshot *s, const struct res_input *in,
                         struct res_output *out, struct app_err *err);

/* A path in the config directory ($XDG_CONFIG_HOME/almanac or ~/.config/almanac);
 * the caller frees. */
char *cli_config_path(const char *name);

#endif
