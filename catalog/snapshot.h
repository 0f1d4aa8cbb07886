/* catalog/snapshot.h: an immutable in-memory copy of the published catalog.
 *
 * Resolution is a pure function of a snapshot, the request and "today". This model has
 * no SQL: the server fills it from SQLite (catalog/snapload.c), a client can build
 * one from JSON. The server shares one snapshot between threads (refcounted).
 * Only published runtimes, package sets and flags are in it.
 */
#ifndef CATALOG_SNAPSHOT_H
#define CATALOG_SNAPSHOT_H

#include <stddef.h>

#include "app/err.h"
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

/* Free a snapshot and everything it owns; NULL does nothing. */
void snap_free(struct snap *s);

const struct snap_runtime *snap_runtime(const struct snap *s, const char *id);
const struct snap_set *snap_set(const struct snap *s, const char *id);
const struct snap_line *snap_line(const struct snap *s, const char *line);
const struct snap_pkg *snap_pkg(const struct snap_set *set, const char *name);
const struct flag_def *snap_flag(const struct snap *s, const char *name);

#endif
