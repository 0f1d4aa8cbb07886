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

static int
load_runtimes(struct db *c, struct snap *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL, *ast = NULL;
    size_t cap = 0;
    int ret = -1, rc;

    if (db_prepare(c, &st,
                   "SELECT id, pyodide, python, python_line, emscripten, abi FROM runtimes"
                   " WHERE state = 'published' ORDER BY id",
                   err) < 0 ||
        db_prepare(c, &ast,
                   "SELECT ra.role, ra.file_name, ra.sha256, ra.size, COALESCE(a.stored, 0)"
                   " FROM runtime_artifacts ra LEFT JOIN artifacts a ON a.sha256 = ra.sha256"
                   " WHERE ra.runtime_id = ? ORDER BY ra.role",
                   err) < 0)
        goto out;
    while ((rc = db_next(st, err)) > 0) {
        struct snap_runtime *r;
        size_t acap = 0;

        s->runtimes = grow(s->runtimes, s->n_runtimes, &cap, sizeof(*s->runtimes), 8);
        r = &s->runtimes[s->n_runtimes++];
        r->id = col_dup(st, 0);
        r->pyodide = col_dup(st, 1);
        r->python = col_dup(st, 2);
        r->line = col_dup(st, 3);
        r->emscripten = col_dup(st, 4);
        r->abi = col_dup(st, 5);
        rebind(ast, r->id);
        while ((rc = db_next(ast, err)) > 0) {
            struct snap_artifact *a;

            r->arts = grow(r->arts, r->n_arts, &acap, sizeof(*r->arts), 8);
            a = &r->arts[r->n_arts++];
            a->role = col_dup(ast, 0);
            a->file_name = col_dup(ast, 1);
            a->sha256 = col_dup(ast, 2);
            a->size = sqlite3_column_int64(ast, 3);
            a->stored = sqlite3_column_int(ast, 4);
        }
        if (rc < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ast);
    return ret;
}

static int
load_sets(struct db *c, struct snap *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL, *pst = NULL;
    size_t cap = 0;
    int ret = -1, rc;

    if (db_prepare(c, &st,
                   "SELECT id, runtime_id FROM package_sets WHERE state = 'published' ORDER BY id",
                   err) < 0 ||
        db_prepare(c, &pst,
                   "SELECT k.name, k.version, k.file_name, k.sha256, k.package_type,"
                   " k.install_dir, k.depends, k.imports, a.size, COALESCE(a.stored, 0)"
                   " FROM packages k LEFT JOIN artifacts a ON a.sha256 = k.sha256"
                   " WHERE k.set_id = ? ORDER BY k.name",
                   err) < 0)
        goto out;
    while ((rc = db_next(st, err)) > 0) {
        struct snap_set *set;
        size_t pcap = 0;

        s->sets = grow(s->sets, s->n_sets, &cap, sizeof(*s->sets), 8);
        set = &s->sets[s->n_sets++];
        set->id = col_dup(st, 0);
        set->runtime = col_dup(st, 1);
        rebind(pst, set->id);
        while ((rc = db_next(pst, err)) > 0) {
            struct snap_pkg *p;

            set->pkgs = grow(set->pkgs, set->n_pkgs, &pcap, sizeof(*set->pkgs), 64);
            p = &set->pkgs[set->n_pkgs++];
            p->name = col_dup(pst, 0);
            p->version = col_dup(pst, 1);
            p->file_name = col_dup(pst, 2);
            p->sha256 = col_dup(pst, 3);
            p->package_type = col_dup(pst, 4);
            p->install_dir = col_dup(pst, 5);
            if (load_strings(c, db_col_text(pst, 6), &p->depends, &p->n_depends, 1, err) < 0 ||
                load_strings(c, db_col_text(pst, 7), &p->imports, &p->n_imports, 0, err) < 0)
                goto out;
            p->size =
                sqlite3_column_type(pst, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(pst, 8);
            p->stored = sqlite3_column_int(pst, 9);
        }
        if (rc < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(pst);
    return ret;
}

static int
load_flags(struct db *c, struct snap *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL, *ist = NULL;
    size_t cap = 0;
    int ret = -1, rc;

    if (db_prepare(c, &st,
                   "SELECT name, disable_flag, enable_date, experimental, bundle_runtime,"
                   " bundle_package_set, bundle_order FROM flags WHERE state = 'published'"
                   " ORDER BY name",
                   err) < 0 ||
        db_prepare(c, &ist,
                   "SELECT i.implied_by, i.after FROM flag_implied i JOIN flags f"
                   " ON f.name = i.implied_by AND f.state = 'published'"
                   " WHERE i.flag = ? ORDER BY i.implied_by",
                   err) < 0)
        goto out;
    while ((rc = db_next(st, err)) > 0) {
        struct flag_def *f;
        size_t icap = 0;

        s->flags = grow(s->flags, s->n_flags, &cap, sizeof(*s->flags), 16);
        f = &s->flags[s->n_flags++];
        f->name = col_dup(st, 0);
        f->disable = xstrdup(db_col_text(st, 1));
        f->has_enable_date =
            db_col_text(st, 2) && date_parse(db_col_text(st, 2), &f->enable_date) == 0;
        f->experimental = sqlite3_column_int(st, 3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            f->bundle_runtime = col_dup(st, 4);
            f->bundle_package_set = col_dup(st, 5);
            f->bundle_order = sqlite3_column_int(st, 6);
        }
        rebind(ist, f->name);
        while ((rc = db_next(ist, err)) > 0) {
            f->implied = grow(f->implied, f->n_implied, &icap, sizeof(*f->implied), 4);
            f->implied[f->n_implied].flag = col_dup(ist, 0);
            date_parse(db_col_text(ist, 1), &f->implied[f->n_implied].after);
            f->n_implied++;
        }
        if (rc < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ist);
    return ret;
}

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
        load_runtimes(c, s, err) < 0 || load_sets(c, s, err) < 0 || load_flags(c, s, err) < 0) {
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
