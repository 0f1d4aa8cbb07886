/* server/follow.h: follow an upstream almanacd (issue 14): `almanacd mirror`.
 *
 * The follower reads the upstream's signed catalog snapshot and verifies it against
 * the upstream key it trusts (pinned with --upstream-key, else trusted on first use
 * and kept in the data directory), following the upstream's signed rotation chain
 * to a new key and refusing a gap, a lower version than one already verified
 * (rollback) and an expired document (freeze, by the real clock). Then it fetches
 * every stored artifact the document names that it does not hold, checks each
 * against the digest and size in the document and the upstream's signature before
 * the bytes become visible in the store, and only when all are held records the
 * document as the served version (table mirror_state, one transaction). A crash at
 * any point leaves the previous served version and at most verified extra
 * artifacts.
 *
 * It learns of changes from GET /v1/events (polled every --poll-interval seconds;
 * an upstream with private reads falls back) and re-reads the snapshot at least
 * every --snapshot-poll seconds; an unreachable upstream is retried with backoff.
 * The mirror signs nothing: documents and signatures are kept byte for byte.
 */
#ifndef SERVER_FOLLOW_H
#define SERVER_FOLLOW_H

#include <pthread.h>
#include <stddef.h>

#include "app/err.h"
#include "catalog/snapjson.h"
#include "db/db.h"

#define FOLLOW_POLL_DEFAULT_S 2
#define FOLLOW_SNAPSHOT_POLL_DEFAULT_S 60
/* Backoff after a failed round: doubled from the poll interval up to this. */
#define FOLLOW_BACKOFF_MAX_S 60

struct follow_cfg {
    const char *upstream; /* base URL, no trailing slash */
    const char *data_dir;
    const char *upstream_key; /* a minisign public key file to pin, or NULL */
    unsigned poll_s;          /* events */
    unsigned snapshot_poll_s; /* snapshot re-read even without events */
    int zstd_level;           /* the store's level (0: default) */
};

/* A served version: immutable once published, shared by reference. */
struct follow_doc {
    int refs;
    struct snap_meta meta;
    char digest[SNAPJSON_DIGEST_LEN];
    char *bytes; /* the upstream's document, byte for byte */
    size_t len;
    char *zst; /* its zstd form (made here: an encoding, not content) or NULL */
    size_t zlen;
    char *signature; /* the upstream's signature of bytes */
    char *keys;      /* GET /v1/keys as the upstream sent it */
    char *rotations; /* GET /v1/key-rotations likewise */
    struct snap *snap;
};

/* What /v1/health reports. */
struct follow_status {
    long long version;  /* served version, -1 while syncing */
    long long expires;  /* of the served document, 0 when none */
    long long lag_s;    /* seconds since the upstream was last read in full, -1: never */
    long long pending;  /* artifacts of the newest verified version not held yet */
    long long upstream; /* newest verified upstream version, -1: none yet */
    char last_error[APP_ERR_MSG_MAX];
};

struct follower;

/* Called (from the follower's thread) after a new version became served. */
typedef void (*follow_advance_fn)(void *ctx, struct follow_doc *doc);

/* Open: the data directory (created), its database and store, the trust state.
 * Fails when the data directory follows another upstream. */
struct follower *follow_open(const struct follow_cfg *cfg, struct app_err *err);
void follow_free(struct follower *f);
void follow_on_advance(struct follower *f, follow_advance_fn fn, void *ctx);

/* 1 with *upstream (caller frees) when the data directory of c is a mirror's,
 * 0 when not, -1 with err: `serve` refuses to sign with a mirror's directory. */
int follow_dir_upstream(struct db *c, char **upstream, struct app_err *err);

/* One round: read the upstream, verify, fetch what is missing, advance. 0 when the
 * served version is the upstream's newest. */
int follow_sync(struct follower *f, struct app_err *err);

/* Run rounds in a thread until follow_stop. */
int follow_start(struct follower *f, struct app_err *err);
void follow_stop(struct follower *f);

/* The served version (NULL while syncing); release with follow_doc_put. */
struct follow_doc *follow_doc_get(struct follower *f);
void follow_doc_put(struct follow_doc *d);
/* The digests of every stored artifact d names (each once; the strings belong to
 * d); the caller frees the array. */
const char **follow_doc_hexes(const struct follow_doc *d, size_t *n);
void follow_status(struct follower *f, struct follow_status *st);
const char *follow_upstream(const struct follower *f);
/* The upstream's signature of an artifact the mirror holds (caller frees), or
 * APP_ENOTFOUND. */
int follow_artifact_signature(struct db *c, const char *hex, char **sig, struct app_err *err);
/* GET path (with its query) from the upstream: *status 200 or 404 with the body
 * (caller frees); APP_EUNAVAILABLE otherwise. For the catalog reads a mirror
 * shows but does not sign. */
int follow_fetch(struct follower *f, const char *path, long *status, char **body, size_t *len,
                 struct app_err *err);

/* A lock from the upstream (GET /v1/locks/{id}), checked against its id, and
 * its signature there verified against the trusted keys (*sig NULL when the
 * upstream has none). APP_ENOTFOUND / APP_EUNAVAILABLE. */
int follow_upstream_lock(struct follower *f, const char *id, char **bytes, size_t *len, char **sig,
                         struct app_err *err);

#endif
