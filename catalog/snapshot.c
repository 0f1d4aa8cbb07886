/* catalog/snapshot.c: load the published catalog into memory for resolution. */
#include "catalog/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/mem.h"

static char *
col_dup(sqlite3_stmt *st, int i)
{
    return xstrdup(cat_col_text(st, i));
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A JSON array of strings (from SQLite's json_each) into a sorted char* array. */
static int
load_strings(struct cat *c, const char *json, char ***out, size_t *n, int sort, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if (cat_prepare(c, &st, "SELECT value FROM json_each(?)", err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        (*out)[(*n)++] = col_dup(st, 0);
    }
    sqlite3_finalize(st);
    if (sort && *n)
        qsort(*out, *n, sizeof(**out), cmp_str);
    return 0;
}

static int
load_lines(struct cat *c, struct snap *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;

    if (cat_prepare(c, &st,
                    "SELECT line, first_release, end_of_support FROM python_lines ORDER BY"
                    " CAST(substr(line, 1, instr(line, '.') - 1) AS INTEGER),"
                    " CAST(substr(line, instr(line, '.') + 1) AS INTEGER)",
                    err) < 0)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct snap_line *l;

        if (s->n_lines == cap) {
            cap = cap ? cap * 2 : 16;
            s->lines = xrealloc(s->lines, cap * sizeof(*s->lines));
        }
        l = &s->lines[s->n_lines++];
        memset(l, 0, sizeof(*l));
        l->line = col_dup(st, 0);
        l->major = atoi(l->line);
        l->minor = atoi(strchr(l->line, '.') + 1);
        date_parse(cat_col_text(st, 1), &l->first_release);
        date_parse(cat_col_text(st, 2), &l->end_of_support);
    }
    sqlite3_finalize(st);
    return 0;
}

static int
load_runtimes(struct cat *c, struct snap *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL, *ast = NULL;
    size_t cap = 0;
    int ret = -1;

    if (cat_prepare(c, &st,
                    "SELECT id, pyodide, python, python_line, emscripten, abi FROM runtimes"
                    " WHERE state = 'published' ORDER BY id",
                    err) < 0 ||
        cat_prepare(c, &ast,
                    "SELECT ra.role, ra.file_name, ra.sha256, ra.size, COALESCE(a.stored, 0)"
                    " FROM runtime_artifacts ra LEFT JOIN artifacts a ON a.sha256 = ra.sha256"
                    " WHERE ra.runtime_id = ? ORDER BY ra.role",
                    err) < 0)
        goto out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct snap_runtime *r;
        size_t acap = 0;

        if (s->n_runtimes == cap) {
            cap = cap ? cap * 2 : 8;
            s->runtimes = xrealloc(s->runtimes, cap * sizeof(*s->runtimes));
        }
        r = &s->runtimes[s->n_runtimes++];
        memset(r, 0, sizeof(*r));
        r->id = col_dup(st, 0);
        r->pyodide = col_dup(st, 1);
        r->python = col_dup(st, 2);
        r->line = col_dup(st, 3);
        r->emscripten = col_dup(st, 4);
        r->abi = col_dup(st, 5);
        sqlite3_reset(ast);
        sqlite3_bind_text(ast, 1, r->id, -1, SQLITE_STATIC);
        while (sqlite3_step(ast) == SQLITE_ROW) {
            struct snap_artifact *a;

            if (r->n_arts == acap) {
                acap = acap ? acap * 2 : 8;
                r->arts = xrealloc(r->arts, acap * sizeof(*r->arts));
            }
            a = &r->arts[r->n_arts++];
            a->role = col_dup(ast, 0);
            a->file_name = col_dup(ast, 1);
            a->sha256 = col_dup(ast, 2);
            a->size = sqlite3_column_int64(ast, 3);
            a->stored = sqlite3_column_int(ast, 4);
        }
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ast);
    return ret;
}

static int
load_sets(struct cat *c, struct snap *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL, *pst = NULL;
    size_t cap = 0;
    int ret = -1;

    if (cat_prepare(c, &st,
                    "SELECT id, runtime_id FROM package_sets WHERE state = 'published' ORDER BY id",
                    err) < 0 ||
        cat_prepare(c, &pst,
                    "SELECT k.name, k.version, k.file_name, k.sha256, k.package_type,"
                    " k.install_dir, k.depends, k.imports, a.size, COALESCE(a.stored, 0)"
                    " FROM packages k LEFT JOIN artifacts a ON a.sha256 = k.sha256"
                    " WHERE k.set_id = ? ORDER BY k.name",
                    err) < 0)
        goto out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct snap_set *set;
        size_t pcap = 0;

        if (s->n_sets == cap) {
            cap = cap ? cap * 2 : 8;
            s->sets = xrealloc(s->sets, cap * sizeof(*s->sets));
        }
        set = &s->sets[s->n_sets++];
        memset(set, 0, sizeof(*set));
        set->id = col_dup(st, 0);
        set->runtime = col_dup(st, 1);
        sqlite3_reset(pst);
        sqlite3_bind_text(pst, 1, set->id, -1, SQLITE_STATIC);
        while (sqlite3_step(pst) == SQLITE_ROW) {
            struct snap_pkg *p;

            if (set->n_pkgs == pcap) {
                pcap = pcap ? pcap * 2 : 64;
                set->pkgs = xrealloc(set->pkgs, pcap * sizeof(*set->pkgs));
            }
            p = &set->pkgs[set->n_pkgs++];
            memset(p, 0, sizeof(*p));
            p->name = col_dup(pst, 0);
            p->version = col_dup(pst, 1);
            p->file_name = col_dup(pst, 2);
            p->sha256 = col_dup(pst, 3);
            p->package_type = col_dup(pst, 4);
            p->install_dir = col_dup(pst, 5);
            if (load_strings(c, cat_col_text(pst, 6), &p->depends, &p->n_depends, 1, err) < 0 ||
                load_strings(c, cat_col_text(pst, 7), &p->imports, &p->n_imports, 0, err) < 0)
                goto out;
            p->size =
                sqlite3_column_type(pst, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(pst, 8);
            p->stored = sqlite3_column_int(pst, 9);
        }
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(pst);
    return ret;
}

static int
load_flags(struct cat *c, struct snap *s, struct app_err *err)
{
    sqlite3_stmt *st = NULL, *ist = NULL;
    size_t cap = 0;
    int ret = -1;

    if (cat_prepare(c, &st,
                    "SELECT name, disable_flag, enable_date, experimental, bundle_runtime,"
                    " bundle_package_set, bundle_order FROM flags WHERE state = 'published'"
                    " ORDER BY name",
                    err) < 0 ||
        cat_prepare(c, &ist,
                    "SELECT i.implied_by, i.after FROM flag_implied i JOIN flags f"
                    " ON f.name = i.implied_by AND f.state = 'published'"
                    " WHERE i.flag = ? ORDER BY i.implied_by",
                    err) < 0)
        goto out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct flag_def *f;
        size_t icap = 0;

        if (s->n_flags == cap) {
            cap = cap ? cap * 2 : 16;
            s->flags = xrealloc(s->flags, cap * sizeof(*s->flags));
        }
        f = &s->flags[s->n_flags++];
        memset(f, 0, sizeof(*f));
        f->name = col_dup(st, 0);
        f->disable = xstrdup(cat_col_text(st, 1));
        f->has_enable_date =
            cat_col_text(st, 2) && date_parse(cat_col_text(st, 2), &f->enable_date) == 0;
        f->experimental = sqlite3_column_int(st, 3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            f->bundle_runtime = col_dup(st, 4);
            f->bundle_package_set = col_dup(st, 5);
            f->bundle_order = sqlite3_column_int(st, 6);
        }
        sqlite3_reset(ist);
        sqlite3_bind_text(ist, 1, f->name, -1, SQLITE_STATIC);
        while (sqlite3_step(ist) == SQLITE_ROW) {
            if (f->n_implied == icap) {
                icap = icap ? icap * 2 : 4;
                f->implied = xrealloc(f->implied, icap * sizeof(*f->implied));
            }
            f->implied[f->n_implied].flag = col_dup(ist, 0);
            date_parse(cat_col_text(ist, 1), &f->implied[f->n_implied].after);
            f->n_implied++;
        }
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ist);
    return ret;
}

struct snap *
snap_load(struct cat *c, struct app_err *err)
{
    struct snap *s = xcalloc(1, sizeof(*s));

    s->generation = cat_generation();
    s->refs = 1;
    /* One read transaction, so the snapshot is consistent. */
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        cat_sql_fail(c, err, "cannot read catalog");
        snap_free(s);
        return NULL;
    }
    if (load_lines(c, s, err) < 0 || load_runtimes(c, s, err) < 0 || load_sets(c, s, err) < 0 ||
        load_flags(c, s, err) < 0) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        snap_free(s);
        return NULL;
    }
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    return s;
}

static void
free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void
snap_free(struct snap *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_flags; i++) {
        struct flag_def *f = &s->flags[i];

        free(f->name);
        free(f->disable);
        for (size_t j = 0; j < f->n_implied; j++)
            free(f->implied[j].flag);
        free(f->implied);
        free(f->bundle_runtime);
        free(f->bundle_package_set);
    }
    free(s->flags);
    for (size_t i = 0; i < s->n_runtimes; i++) {
        struct snap_runtime *r = &s->runtimes[i];

        free(r->id), free(r->pyodide), free(r->python), free(r->line);
        free(r->emscripten), free(r->abi);
        for (size_t j = 0; j < r->n_arts; j++)
            free(r->arts[j].role), free(r->arts[j].file_name), free(r->arts[j].sha256);
        free(r->arts);
    }
    free(s->runtimes);
    for (size_t i = 0; i < s->n_sets; i++) {
        struct snap_set *set = &s->sets[i];

        for (size_t j = 0; j < set->n_pkgs; j++) {
            struct snap_pkg *p = &set->pkgs[j];

            free(p->name), free(p->version), free(p->file_name), free(p->sha256);
            free(p->package_type), free(p->install_dir);
            free_strings(p->depends, p->n_depends);
            free_strings(p->imports, p->n_imports);
        }
        free(set->pkgs);
        free(set->id), free(set->runtime);
    }
    free(s->sets);
    for (size_t i = 0; i < s->n_lines; i++)
        free(s->lines[i].line);
    free(s->lines);
    free(s);
}

const struct snap_runtime *
snap_runtime(const struct snap *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_runtimes; i++)
        if (strcmp(s->runtimes[i].id, id) == 0)
            return &s->runtimes[i];
    return NULL;
}

const struct snap_set *
snap_set(const struct snap *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_sets; i++)
        if (strcmp(s->sets[i].id, id) == 0)
            return &s->sets[i];
    return NULL;
}

const struct snap_line *
snap_line(const struct snap *s, const char *line)
{
    for (size_t i = 0; line && i < s->n_lines; i++)
        if (strcmp(s->lines[i].line, line) == 0)
            return &s->lines[i];
    return NULL;
}

static int
cmp_pkg_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct snap_pkg *)elem)->name);
}

const struct snap_pkg *
snap_pkg(const struct snap_set *set, const char *name)
{
    return bsearch(name, set->pkgs, set->n_pkgs, sizeof(*set->pkgs), cmp_pkg_key);
}

static int
cmp_flag_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct flag_def *)elem)->name);
}

const struct flag_def *
snap_flag(const struct snap *s, const char *name)
{
    return bsearch(name, s->flags, s->n_flags, sizeof(*s->flags), cmp_flag_key);
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
snapcache_get(struct snapcache *sc, struct cat *c, struct app_err *err)
{
    struct snap *s;

    pthread_mutex_lock(&sc->mu);
    if (!sc->cur || sc->cur->generation != cat_generation()) {
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
