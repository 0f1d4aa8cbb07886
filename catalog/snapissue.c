/* catalog/snapissue.c: the `snapshots` table: the newest signed catalog document and
 * the rule that decides when to issue the next one. */
#include "catalog/snapissue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"

/* The event kinds that change what the snapshot holds. Registry, token, webhook
 * and key events do not. */
#define SQL_VERSION                                                                                \
    "SELECT COALESCE(max(seq), 0) FROM events WHERE kind GLOB 'runtime.*' OR"                      \
    " kind GLOB 'package_set.*' OR kind GLOB 'flag.*' OR kind GLOB 'python_line.*' OR"             \
    " kind GLOB 'artifact.*'"
#define SQL_LATEST                                                                                 \
    "SELECT version, digest, issued_at, expires, key_id, bytes, signature FROM snapshots"          \
    " ORDER BY seq DESC LIMIT 1"
#define SQL_PUT                                                                                    \
    "INSERT INTO snapshots(version, digest, issued_at, expires, key_id, bytes, signature)"         \
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
#define SQL_PRUNE                                                                                  \
    "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC"          \
    " LIMIT ?)"

void
cat_snapshot_release(struct cat_snapshot *s)
{
    if (!s)
        return;
    free(s->bytes);
    free(s->signature);
    memset(s, 0, sizeof(*s));
}

int
cat_snapshot_version(struct db *c, long long *version, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (db_prepare(c, &st, SQL_VERSION, err) < 0)
        return -1;
    rc = db_next(st, err);
    if (rc > 0)
        *version = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc > 0 ? 0 : -1;
}

int
cat_snapshot_stale(const struct snap_meta *m, long long now, long long ttl)
{
    /* Half the lifetime: a client that synced just before the refresh still has
     * half a lifetime left to sync again. */
    /* A document that expires later than ttl from now is not one this caller wants
     * (export-static --expires shorter than the server's lifetime). */
    return now >= m->issued_at + ttl / 2 || m->expires - now < ttl / 2 || m->expires > now + ttl;
}

/* The newest row into out; 1 found, 0 none, -1 error. */
static int
latest(struct db *c, struct cat_snapshot *out, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *digest, *ia, *ex, *key, *sig;
    int rc, ret = -1;

    if (db_prepare(c, &st, SQL_LATEST, err) < 0)
        return -1;
    rc = db_next(st, err);
    if (rc <= 0) {
        ret = rc;
        goto out;
    }
    digest = db_col_text(st, 1), ia = db_col_text(st, 2), ex = db_col_text(st, 3);
    key = db_col_text(st, 4), sig = db_col_text(st, 6);
    memset(out, 0, sizeof(*out));
    out->meta.version = sqlite3_column_int64(st, 0);
    if (!digest || strlen(digest) >= sizeof(out->digest) || !key ||
        strlen(key) >= sizeof(out->key_id) || !sig ||
        date_parse_rfc3339(ia, &out->meta.issued_at) < 0 ||
        date_parse_rfc3339(ex, &out->meta.expires) < 0) {
        app_fail(err, APP_EINTERNAL, "stored catalog snapshot is damaged");
        goto out;
    }
    memcpy(out->digest, digest, strlen(digest) + 1);
    memcpy(out->key_id, key, strlen(key) + 1);
    out->len = (size_t)sqlite3_column_bytes(st, 5);
    out->bytes = xmalloc(out->len + 1);
    memcpy(out->bytes, sqlite3_column_blob(st, 5), out->len);
    out->bytes[out->len] = '\0';
    out->signature = xstrdup(sig);
    ret = 1;
out:
    sqlite3_finalize(st);
    return ret;
}

static int
record(struct db *c, const struct cat_snapshot *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char ia[APP_TIME_LEN], ex[APP_TIME_LEN];
    int ret = -1;

    date_time_rfc3339(s->meta.issued_at, ia);
    date_time_rfc3339(s->meta.expires, ex);
    if (db_prepare(c, &st, SQL_PUT, err) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, s->meta.version);
    sqlite3_bind_text(st, 2, s->digest, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ia, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, s->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, s->bytes, (int)s->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, s->signature, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot record catalog snapshot") < 0)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (db_prepare(c, &st, SQL_PRUNE, err) < 0)
        goto out;
    sqlite3_bind_int(st, 1, CAT_SNAPSHOTS_KEPT);
    if (db_step_done(st, err, "cannot prune catalog snapshots") < 0)
        goto out;
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

int
cat_snapshot_current(struct db *c, const struct snap *s, long long version, long long now,
                     long long ttl, const char *key_id, cat_snapshot_sign_fn sign, void *ctx,
                     struct cat_snapshot *out, struct app_err *err)
{
    struct cat_snapshot prev = {0}, fresh = {0};
    cJSON *doc = NULL;
    char hex[APP_SHA256_HEX];
    int have, ret = -1;

    memset(out, 0, sizeof(*out));
    /* IMMEDIATE: two threads that both find the document stale issue one. */
    if (db_begin(c, err) < 0)
        return -1;
    have = latest(c, &prev, err);
    if (have < 0)
        goto out;
    /* A newer version issued by another thread wins even when stale: our catalog
     * copy is older than what it names. */
    if (have && (prev.meta.version > version ||
                 (prev.meta.version == version && strcmp(prev.key_id, key_id) == 0 &&
                  !cat_snapshot_stale(&prev.meta, now, ttl)))) {
        db_rollback(c);
        *out = prev;
        memset(&prev, 0, sizeof(prev));
        ret = 0;
        goto out;
    }
    fresh.meta.version = version;
    fresh.meta.issued_at = now;
    fresh.meta.expires = now + ttl;
    if (have)
        memcpy(fresh.meta.previous, prev.digest, sizeof(prev.digest));
    doc = snap_json(s, &fresh.meta);
    fresh.bytes = json_canonical(doc, &fresh.len);
    sha256_hex(fresh.bytes, fresh.len, hex);
    snprintf(fresh.digest, sizeof(fresh.digest), "sha256:%s", hex);
    if (sign(ctx, fresh.bytes, fresh.len, version, fresh.meta.expires, &fresh.signature,
             fresh.key_id, err) < 0 ||
        record(c, &fresh, err) < 0 || db_commit(c, err) < 0)
        goto out;
    *out = fresh;
    memset(&fresh, 0, sizeof(fresh));
    ret = 0;
out:
    db_rollback(c);
    cJSON_Delete(doc);
    cat_snapshot_release(&prev);
    cat_snapshot_release(&fresh);
    return ret;
}
