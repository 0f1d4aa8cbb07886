/* catalog/snapload.c: the published catalog read from SQLite into a snapshot, and the
 * shared refcounted snapshot cache. Server library only: the client builds snapshots
 * from JSON. A step that fails anywhere refuses the whole load, so a truncated
 * catalog is never served (locks issued from it would be permanent). */
#include "catalog/snapload.h"

#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/mem.h"
#include "catalog/pyline.h"
#include "catalog/snapissue.h"

static char *
col_dup(sqlite3_stmt *st, int i)
{
    return xstrdup(db_col_text(st, i));
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* arr (n items of elem bytes, room for *cap) with room for one more, doubling from
 * first; the new item n is zeroed. Every array the load builds grows this way. */
static void *
grow(void *arr, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n == *cap) {
        *cap = *cap ? *cap * 2 : first;
        arr = xrealloc(arr, *cap * elem);
    }
    memset((char *)arr + n * elem, 0, elem);
    return arr;
}

/* Rerun a child query for the parent row keyed by id (id outlives the rows read). */
static void
rebind(sqlite3_stmt *st, const char *id)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
}

/* A JSON array of strings (from SQLite's json_each) into a sorted char* array. */
static int
load_strings(struct db *c, const char *json, char ***out, size_t *n, int sort, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (db_prepare(c, &st, "SELECT value FROM json_each(?)", err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    while ((rc = db_next(st, err)) > 0) {
        *out = grow(*out, *n, &cap, sizeof(**out), 4);
        (*out)[(*n)++] = col_dup(st, 0);
    }
    sqlite3_finalize(st);
    /* On failure the caller frees what was read: *out and *n stay consistent. */
    if (rc < 0)
        return -1;
    if (sort && *n)
        qsort(*out, *n, sizeof(**out), cmp_str);
    return 0;
}

static int
load_lines(struct db *c, struct snap *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    if (db_prepare(c, &st,
                   "SELECT line, first_release, end_of_support FROM python_lines ORDER BY"
                   " CAST(substr(line, 1, instr(line, '.') - 1) AS INTEGER),"
                   " CAST(substr(line, instr(line, '.') + 1) AS INTEGER)",
                   err) < 0)
        return -1;
    while ((rc = db_next(st, err)) > 0) {
        struct snap_line *l;

        s->lines = grow(s->lines, s->n_lines, &cap, sizeof(*s->lines), 16);
        l = &s->lines[s->n_lines++];
        l->line = col_dup(st, 0);
        if (cat_pyline_parse(l->line, &l->major, &l->minor) < 0) {
            rc = app_fail(err, APP_EINTERNAL, "stored python line '%s' is malformed", l->line);
            break;
        }
        date_parse(db_col_text(st, 1), &l->first_release);
        date_parse(db_col_text(st, 2), &l->end_of_support);
    }
    sqlite3_finalize(st);
    return rc < 0 ? -1 : 0;
}

/* A parent query and the child query run for each of its rows (bound to the key the
 * parent row returns). The three nested tables (runtimes and their artifacts, sets
 * and their packages, flags and their implications) differ only in their SQL and in
 * how one row is read, so one loop serves them. */
struct nested {
    const char *parent_sql, *child_sql;
    /* Append the parent row of st to s; returns its key, which outlives the rows. */
    const char *(*parent)(struct snap *s, sqlite3_stmt *st, size_t *cap);
    /* Append the child row of st to the parent appended last (with room for *cap). */
    int (*child)(struct db *c, struct snap *s, sqlite3_stmt *st, size_t *cap, struct app_err *err);
};

static int
load_nested(struct db *c, struct snap *s, const struct nested *n, struct app_err *err)
{
    sqlite3_stmt *st = NULL, *cst = NULL;
    size_t cap = 0;
    int ret = -1, rc;

    if (db_prepare(c, &st, n->parent_sql, err) < 0 || db_prepare(c, &cst, n->child_sql, err) < 0)
        goto out;
    while ((rc = db_next(st, err)) > 0) {
        size_t ccap = 0;

        rebind(cst, n->parent(s, st, &cap));
        while ((rc = db_next(cst, err)) > 0)
            if (n->child(c, s, cst, &ccap, err) < 0)
                goto out;
        if (rc < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(cst);
    return ret;
}

static const char *
runtime_row(struct snap *s, sqlite3_stmt *st, size_t *cap)
{
    struct snap_runtime *r;

    s->runtimes = grow(s->runtimes, s->n_runtimes, cap, sizeof(*s->runtimes), 8);
    r = &s->runtimes[s->n_runtimes++];
    r->id = col_dup(st, 0);
    r->pyodide = col_dup(st, 1);
    r->python = col_dup(st, 2);
    r->line = col_dup(st, 3);
    r->emscripten = col_dup(st, 4);
    r->abi = col_dup(st, 5);
    return r->id;
}

static int
runtime_artifact_row(struct db *c, struct snap *s, sqlite3_stmt *st, size_t *cap,
                     struct app_err *err)
{
    struct snap_runtime *r = &s->runtimes[s->n_runtimes - 1];
    struct snap_artifact *a;

    (void)c;
    (void)err;
    r->arts = grow(r->arts, r->n_arts, cap, sizeof(*r->arts), 8);
    a = &r->arts[r->n_arts++];
    a->role = col_dup(st, 0);
    a->file_name = col_dup(st, 1);
    a->sha256 = col_dup(st, 2);
    a->size = sqlite3_column_int64(st, 3);
    a->stored = sqlite3_column_int(st, 4);
    return 0;
}

static const struct nested runtimes_load = {
    "SELECT id, pyodide, python, python_line, emscripten, abi FROM runtimes"
    " WHERE state = 'published' ORDER BY id",
    "SELECT ra.role, ra.file_name, ra.sha256, ra.size, COALESCE(a.stored, 0)"
    " FROM runtime_artifacts ra LEFT JOIN artifacts a ON a.sha256 = ra.sha256"
    " WHERE ra.runtime_id = ? ORDER BY ra.role",
    runtime_row,
    runtime_artifact_row,
};

static const char *
set_row(struct snap *s, sqlite3_stmt *st, size_t *cap)
{
    struct snap_set *set;

    s->sets = grow(s->sets, s->n_sets, cap, sizeof(*s->sets), 8);
    set = &s->sets[s->n_sets++];
    set->id = col_dup(st, 0);
    set->runtime = col_dup(st, 1);
    return set->id;
}

static int
package_row(struct db *c, struct snap *s, sqlite3_stmt *st, size_t *cap, struct app_err *err)
{
    struct snap_set *set = &s->sets[s->n_sets - 1];
    struct snap_pkg *p;

    set->pkgs = grow(set->pkgs, set->n_pkgs, cap, sizeof(*set->pkgs), 64);
    p = &set->pkgs[set->n_pkgs++];
    p->name = col_dup(st, 0);
    p->version = col_dup(st, 1);
    p->file_name = col_dup(st, 2);
    p->sha256 = col_dup(st, 3);
    p->package_type = col_dup(st, 4);
    p->install_dir = col_dup(st, 5);
    p->size = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 8);
    p->stored = sqlite3_column_int(st, 9);
    if (load_strings(c, db_col_text(st, 6), &p->depends, &p->n_depends, 1, err) < 0 ||
        load_strings(c, db_col_text(st, 7), &p->imports, &p->n_imports, 0, err) < 0)
        return -1;
    return 0;
}

static const struct nested sets_load = {
    "SELECT id, runtime_id FROM package_sets WHERE state = 'published' ORDER BY id",
    "SELECT k.name, k.version, k.file_name, k.sha256, k.package_type,"
    " k.install_dir, k.depends, k.imports, a.size, COALESCE(a.stored, 0)"
    " FROM packages k LEFT JOIN artifacts a ON a.sha256 = k.sha256"
    " WHERE k.set_id = ? ORDER BY k.name",
    set_row,
    package_row,
};

static const char *
flag_row(struct snap *s, sqlite3_stmt *st, size_t *cap)
{
    struct flag_def *f;

    s->flags = grow(s->flags, s->n_flags, cap, sizeof(*s->flags), 16);
    f = &s->flags[s->n_flags++];
    f->name = col_dup(st, 0);
    f->disable = xstrdup(db_col_text(st, 1));
    f->has_enable_date = db_col_text(st, 2) && date_parse(db_col_text(st, 2), &f->enable_date) == 0;
    f->experimental = sqlite3_column_int(st, 3);
    if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
        f->bundle_runtime = col_dup(st, 4);
        f->bundle_package_set = col_dup(st, 5);
        f->bundle_order = sqlite3_column_int(st, 6);
    }
    return f->name;
}

static int
implied_row(struct db *c, struct snap *s, sqlite3_stmt *st, size_t *cap, struct app_err *err)
{
    struct flag_def *f = &s->flags[s->n_flags - 1];

    (void)c;
    (void)err;
    f->implied = grow(f->implied, f->n_implied, cap, sizeof(*f->implied), 4);
    f->implied[f->n_implied].flag = col_dup(st, 0);
    date_parse(db_col_text(st, 1), &f->implied[f->n_implied].after);
    f->n_implied++;
    return 0;
}

static const struct nested flags_load = {
    "SELECT name, disable_flag, enable_date, experimental, bundle_runtime,"
    " bundle_package_set, bundle_order FROM flags WHERE state = 'published'"
    " ORDER BY name",
    "SELECT i.implied_by, i.after FROM flag_implied i JOIN flags f"
    " ON f.name = i.implied_by AND f.state = 'published'"
    " WHERE i.flag = ? ORDER BY i.implied_by",
    flag_row,
    implied_row,
};

/* Load in one read transaction; when version is not NULL it receives the catalog
 * version (catalog/snapissue.h) read in that same transaction, so the two agree. */
static struct snap *
load(struct db *c, long long *version, struct app_err *err)
{
    struct snap *s = xcalloc(1, sizeof(*s));

    s->generation = db_generation();
    s->refs = 1;
    /* One read transaction, so the snapshot is consistent. */
    if (db_exec(c, "BEGIN", err) < 0) {
        snap_free(s);
        return NULL;
    }
    if ((version && cat_snapshot_version(c, version, err) < 0) || load_lines(c, s, err) < 0 ||
        load_nested(c, s, &runtimes_load, err) < 0 || load_nested(c, s, &sets_load, err) < 0 ||
        load_nested(c, s, &flags_load, err) < 0) {
        db_rollback(c);
        snap_free(s);
        return NULL;
    }
    /* A read transaction: ending it cannot lose anything, so its result is moot. */
    db_rollback(c);
    return s;
}

struct snap *
snap_load(struct db *c, struct app_err *err)
{
    return load(c, NULL, err);
}

struct snap *
snap_load_versioned(struct db *c, long long *version, struct app_err *err)
{
    return load(c, version, err);
}

struct snapcache *
snapcache_new(void)
{
    struct snapcache *sc = xcalloc(1, sizeof(*sc));

    pthread_mutex_init(&sc->mu, NULL);
    return sc;
}

void
snapcache_free(struct snapcache *sc)
{
    if (!sc)
        return;
    snapcache_put(sc, sc->cur);
    pthread_mutex_destroy(&sc->mu);
    free(sc);
}

struct snap *
snapcache_get(struct snapcache *sc, struct db *c, struct app_err *err)
{
    struct snap *s;

    pthread_mutex_lock(&sc->mu);
    if (sc->pinned && !sc->cur) {
        pthread_mutex_unlock(&sc->mu);
        app_fail(err, APP_EUNAVAILABLE, "no catalog version is served yet");
        return NULL;
    }
    if (!sc->pinned && (!sc->cur || sc->cur->generation != db_generation())) {
        /* Loading under the lock keeps concurrent misses from loading twice. */
        struct snap *fresh = snap_load(c, err);

        if (!fresh) {
            pthread_mutex_unlock(&sc->mu);
            return NULL;
        }
        if (sc->cur && --sc->cur->refs == 0)
            snap_free(sc->cur);
        sc->cur = fresh;
    }
    s = sc->cur;
    s->refs++;
    pthread_mutex_unlock(&sc->mu);
    return s;
}

void
snapcache_pin(struct snapcache *sc, struct snap *s)
{
    struct snap *old;
    int last = 0;

    if (s)
        s->refs = 1;
    pthread_mutex_lock(&sc->mu);
    old = sc->cur;
    if (old)
        last = --old->refs == 0;
    sc->cur = s;
    sc->pinned = 1;
    pthread_mutex_unlock(&sc->mu);
    if (last)
        snap_free(old);
}

void
snapcache_put(struct snapcache *sc, struct snap *s)
{
    int last;

    if (!s)
        return;
    pthread_mutex_lock(&sc->mu);
    last = --s->refs == 0;
    if (last && sc->cur == s)
        sc->cur = NULL;
    pthread_mutex_unlock(&sc->mu);
    if (last)
        snap_free(s);
}
