/* catalog/snapshot.h: an immutable in-memory copy of the published catalog.
 *
 * Resolution is a pure function of a snapshot, the request and "today"; loading the
 * snapshot is the only I/O. The server shares one snapshot between threads (refcounted)
 * and rebuilds it when the catalog generation moves (any committed change).
 * Only published runtimes, package sets and flags are in it.
 */
#ifndef CATALOG_SNAPSHOT_H
#define CATALOG_SNAPSHOT_H

#include <pthread.h>
#include <stddef.h>

#include "app/err.h"
#include "catalog/db.h"
#include "flags/flag.h"

struct snap_pkg {
    char *name; /* normalized */
    char *version, *file_name, *sha256, *package_type, *install_dir;
    char **depends; /* normalized, sorted */
    size_t n_depends;
    char **imports;
    size_t n_imports;
    long long size; /* -1 when unknown (external) */
    int stored;
};

struct snap_set {
    char *id, *runtime;
    struct snap_pkg *pkgs; /* sorted by name */
    size_t n_pkgs;
};

struct snap_artifact {
    char *role, *file_name, *sha256;
    long long size;
    int stored;
};

struct snap_runtime {
    char *id, *pyodide, *python, *line, *emscripten, *abi;
    struct snap_artifact *arts; /* sorted by role */
    size_t n_arts;
};

struct snap_line {
    char *line;
    int major, minor;
    int first_release, end_of_support;
};

struct snap {
    unsigned long generation;
    int refs;
    struct flag_def *flags; /* published flags, sorted by name */
    size_t n_flags;
    struct snap_runtime *runtimes;
    size_t n_runtimes;
    struct snap_set *sets;
    size_t n_sets;
    struct snap_line *lines; /* oldest first */
    size_t n_lines;
};

struct snap *snap_load(struct cat *c, struct app_err *err);
void snap_free(struct snap *s);

const struct snap_runtime *snap_runtime(const struct snap *s, const char *id);
const struct snap_set *snap_set(const struct snap *s, const char *id);
const struct snap_line *snap_line(const struct snap *s, const char *line);
const struct snap_pkg *snap_pkg(const struct snap_set *set, const char *name);
const struct flag_def *snap_flag(const struct snap *s, const char *name);

/* A shared, refcounted current snapshot. */
struct snapcache {
    pthread_mutex_t mu;
    struct snap *cur;
};

struct snapcache *snapcache_new(void);
void snapcache_free(struct snapcache *sc);
/* The current snapshot (rebuilt from c when stale); release it with snapcache_put. */
struct snap *snapcache_get(struct snapcache *sc, struct cat *c, struct app_err *err);
void snapcache_put(struct snapcache *sc, struct snap *s);

#endif
