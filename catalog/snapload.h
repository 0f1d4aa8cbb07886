/* catalog/snapload.h: read the published catalog from SQLite into a snapshot, and the
 * server's shared, refcounted snapshot cache (rebuilt when the catalog generation
 * moves, i.e. after any committed catalog change). */
#ifndef CATALOG_SNAPLOAD_H
#define CATALOG_SNAPLOAD_H

#include <pthread.h>

#include "app/err.h"
#include "catalog/snapshot.h"
#include "db/db.h"

/* Load every published object in one read transaction. Returns NULL with err filled
 * when any read fails: never a partial catalog. The caller frees with snap_free. */
struct snap *snap_load(struct db *c, struct app_err *err);

/* snap_load, and *version the catalog version (cat_snapshot_version) read in the same
 * transaction: the snapshot document's version names exactly this content. */
struct snap *snap_load_versioned(struct db *c, long long *version, struct app_err *err);

/* A shared, refcounted current snapshot. */
struct snapcache {
    pthread_mutex_t mu;
    struct snap *cur;
    int pinned; /* a mirror's: cur is set by snapcache_pin, never loaded */
};

struct snapcache *snapcache_new(void);
void snapcache_free(struct snapcache *sc);
/* The current snapshot (rebuilt from c when stale); release it with snapcache_put. */
struct snap *snapcache_get(struct snapcache *sc, struct db *c, struct app_err *err);
void snapcache_put(struct snapcache *sc, struct snap *s);
/* From now on serve s (taken over; NULL: nothing yet, reads fail with
 * APP_EUNAVAILABLE) instead of the database's catalog: a mirror resolves from the
 * upstream's snapshot. */
void snapcache_pin(struct snapcache *sc, struct snap *s);

#endif
