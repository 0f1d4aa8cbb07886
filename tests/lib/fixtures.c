/* tests/lib/fixtures.c: the shared test catalog (see tests/lib/fixtures.h). */
#include "tests/lib/fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/mem.h"
#include "app/strv.h"
#include "artifacts/pyodide.h"
#include "catalog/pyline.h"
#include "catalog/seed.h"

int
fx_day(const char *date)
{
    int d;

    if (date_parse(date, &d) < 0) {
        fprintf(stderr, "fixtures: bad date '%s'\n", date);
        abort();
    }
    return d;
}

static int
cmp_flag(const void *a, const void *b)
{
    return strcmp(((const struct flag_def *)a)->name, ((const struct flag_def *)b)->name);
}

static char *
dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

struct flag_def *
fx_seed_flags(size_t *n)
{
    struct flag_def *defs = xcalloc(seed_n_flags, sizeof(*defs));

    for (size_t i = 0; i < seed_n_flags; i++) {
        const struct seed_flag *sf = &seed_flags[i];
        struct flag_def *f = &defs[i];

        f->name = xstrdup(sf->name);
        f->disable = dup_or_null(sf->disable);
        if (sf->enable_date) {
            f->has_enable_date = 1;
            f->enable_date = fx_day(sf->enable_date);
        }
        if (sf->implied_by) {
            f->implied = xcalloc(1, sizeof(*f->implied));
            f->implied[0].flag = xstrdup(sf->implied_by);
            f->implied[0].after = fx_day(sf->after);
            f->n_implied = 1;
        }
        f->experimental = sf->experimental;
        if (sf->bundle_version) {
            f->bundle_order = sf->order;
            f->bundle_runtime = xasprintf("pyodide-%s", sf->bundle_version);
            f->bundle_package_set = xasprintf("pyodide-%s/%s", sf->bundle_version,
                                              pyo_release_date(sf->bundle_version));
        }
    }
    qsort(defs, seed_n_flags, sizeof(*defs), cmp_flag);
    *n = seed_n_flags;
    return defs;
}

static void
flag_def_release(struct flag_def *f)
{
    free(f->name);
    free(f->disable);
    for (size_t j = 0; j < f->n_implied; j++)
        free(f->implied[j].flag);
    free(f->implied);
    free(f->bundle_runtime);
    free(f->bundle_package_set);
}

void
fx_flags_free(struct flag_def *defs, size_t n)
{
    for (size_t i = 0; defs && i < n; i++)
        flag_def_release(&defs[i]);
    free(defs);
}

/* A digest that names its content: "<tag>" repeated to 64 hex digits. */
static char *
fake_sha(unsigned tag)
{
    char *s = xmalloc(65);

    for (int i = 0; i < 64; i++)
        s[i] = "0123456789abcdef"[(tag >> ((i % 8) * 4)) & 0xf];
    s[64] = '\0';
    return s;
}

static void
add_line(struct snap *s, const char *line, const char *first, const char *eos)
{
    struct snap_line *l;

    s->lines = xrealloc(s->lines, (s->n_lines + 1) * sizeof(*s->lines));
    l = &s->lines[s->n_lines++];
    memset(l, 0, sizeof(*l));
    l->line = xstrdup(line);
    if (cat_pyline_parse(line, &l->major, &l->minor) < 0)
        abort();
    l->first_release = fx_day(first);
    l->end_of_support = fx_day(eos);
}

static void
add_runtime(struct snap *s, const char *version, const char *python, const char *emscripten,
            unsigned tag)
{
    static const char *const roles[] = {"core-js", "core-wasm", "lock", "stdlib"};
    static const char *const files[] = {"pyodide.asm.js", "pyodide.asm.wasm", "pyodide-lock.json",
                                        "python_stdlib.zip"};
    struct snap_runtime *r;

    s->runtimes = xrealloc(s->runtimes, (s->n_runtimes + 1) * sizeof(*s->runtimes));
    r = &s->runtimes[s->n_runtimes++];
    memset(r, 0, sizeof(*r));
    r->id = xasprintf("pyodide-%s", version);
    r->pyodide = xstrdup(version);
    r->python = xstrdup(python);
    r->line = cat_pyline_of(python);
    r->emscripten = xstrdup(emscripten);
    r->abi = xasprintf("%s_0", version);
    r->n_arts = sizeof(roles) / sizeof(roles[0]);
    r->arts = xcalloc(r->n_arts, sizeof(*r->arts));
    for (size_t i = 0; i < r->n_arts; i++) {
        r->arts[i].role = xstrdup(roles[i]);
        r->arts[i].file_name = xstrdup(files[i]);
        r->arts[i].sha256 = fake_sha(tag * 16 + (unsigned)i);
        r->arts[i].size = 1000 + (long long)i;
        r->arts[i].stored = 1;
    }
}

struct fx_pkg {
    const char *name, *version;
    const char *depends[3];
};

static void
add_set(struct snap *s, const char *version, const struct fx_pkg *pkgs, size_t n, unsigned tag)
{
    struct snap_set *set;

    s->sets = xrealloc(s->sets, (s->n_sets + 1) * sizeof(*s->sets));
    set = &s->sets[s->n_sets++];
    memset(set, 0, sizeof(*set));
    set->id = xasprintf("pyodide-%s/%s", version, pyo_release_date(version));
    set->runtime = xasprintf("pyodide-%s", version);
    set->pkgs = xcalloc(n, sizeof(*set->pkgs));
    set->n_pkgs = n;
    for (size_t i = 0; i < n; i++) { /* pkgs are given sorted by name */
        struct snap_pkg *p = &set->pkgs[i];

        p->name = xstrdup(pkgs[i].name);
        p->version = xstrdup(pkgs[i].version);
        p->file_name = xasprintf("%s-%s-cp3-none-any.whl", pkgs[i].name, pkgs[i].version);
        p->sha256 = fake_sha(tag * 256 + (unsigned)i);
        p->package_type = xstrdup("package");
        p->install_dir = xstrdup("site");
        for (size_t d = 0; d < 3 && pkgs[i].depends[d]; d++) {
            p->depends = xrealloc(p->depends, (p->n_depends + 1) * sizeof(*p->depends));
            p->depends[p->n_depends++] = xstrdup(pkgs[i].depends[d]);
        }
        p->imports = xcalloc(1, sizeof(*p->imports));
        p->imports[0] = xstrdup(pkgs[i].name);
        p->n_imports = 1;
        p->size = 10000 + (long long)i;
        p->stored = 1;
    }
}

struct snap *
fx_snap_new(void)
{
    static const struct fx_pkg set_026[] = {
        {"duckdb", "1.1.2", {NULL}},
        {"numpy", "1.26.4", {NULL}},
        {"pandas", "2.2.0", {"numpy", "pytz", NULL}},
        {"pydantic", "2.9.2", {NULL}},
        {"pytz", "2024.1", {NULL}},
        {"regex", "2024.9.11", {NULL}},
    };
    static const struct fx_pkg set_028[] = {
        {"numpy", "2.2.5", {NULL}},
        {"pydantic", "2.10.6", {NULL}},
        {"pytz", "2025.1", {NULL}},
    };
    static const struct fx_pkg set_314[] = {
        {"duckdb", "1.2.0", {NULL}},
        {"numpy", "2.3.1", {NULL}},
        {"pandas", "2.3.0", {"numpy", "pytz", NULL}},
        {"pydantic", "2.11.0", {NULL}},
        {"pytz", "2025.2", {NULL}},
    };
    struct snap *s = xcalloc(1, sizeof(*s));

    s->refs = 1;
    /* The seed's lines, each supported for CAT_SUPPORT_YEARS. */
    for (size_t i = 0; i < seed_n_lines; i++) {
        char eos[APP_DATE_LEN];

        date_format(date_add_years(fx_day(seed_lines[i].first_release), CAT_SUPPORT_YEARS), eos);
        add_line(s, seed_lines[i].line, seed_lines[i].first_release, eos);
    }
    add_runtime(s, "0.26.4", "3.12.7", "3.1.58", 1);
    add_runtime(s, "0.28.3", "3.13.2", "4.0.9", 2);
    add_runtime(s, "314.0.7", "3.14.0", "4.0.12", 3);
    add_set(s, "0.26.4", set_026, sizeof(set_026) / sizeof(set_026[0]), 1);
    add_set(s, "0.28.3", set_028, sizeof(set_028) / sizeof(set_028[0]), 2);
    add_set(s, "314.0.7", set_314, sizeof(set_314) / sizeof(set_314[0]), 3);
    s->flags = fx_seed_flags(&s->n_flags);
    return s;
}

/* ---- the same catalog as database rows -------------------------------------------- */

static int
exec_bound(struct db *c, const char *sql, const char *const *v, size_t n, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int ret;

    if (db_prepare(c, &st, sql, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        sqlite3_bind_text(st, (int)i + 1, v[i], -1, SQLITE_TRANSIENT);
    ret = db_step_done(st, err, "cannot load fixture");
    sqlite3_finalize(st);
    return ret;
}

static char *
strings_json(char *const *v, size_t n)
{
    return strv_to_json((const char *const *)v, n);
}

static int
load_artifact(struct db *c, const char *sha, long long size, const char *file_name,
              struct app_err *err)
{
    char sz[32];
    const char *v[4] = {sha, sz, file_name, "2024-01-01T00:00:00Z"};

    snprintf(sz, sizeof(sz), "%lld", size);
    return exec_bound(
        c,
        "INSERT OR IGNORE INTO artifacts(sha256, size, stored_size, file_name, stored,"
        " created_at) VALUES(?1, ?2, ?2, ?3, 1, ?4)",
        v, 4, err);
}

int
fx_db_load(struct db *c, const struct snap *s, struct app_err *err)
{
    char a[APP_DATE_LEN], b[APP_DATE_LEN], num[32];

    if (db_begin(c, err) < 0)
        return -1;
    for (size_t i = 0; i < s->n_lines; i++) {
        const char *v[3] = {s->lines[i].line, a, b};

        date_format(s->lines[i].first_release, a);
        date_format(s->lines[i].end_of_support, b);
        if (exec_bound(c,
                       "INSERT INTO python_lines(line, first_release, end_of_support)"
                       " VALUES(?, ?, ?)",
                       v, 3, err) < 0)
            goto fail;
    }
    for (size_t i = 0; i < s->n_runtimes; i++) {
        const struct snap_runtime *r = &s->runtimes[i];
        const char *v[6] = {r->id, r->pyodide, r->python, r->line, r->emscripten, r->abi};

        if (exec_bound(c,
                       "INSERT INTO runtimes(id, pyodide, python, python_line, emscripten, abi,"
                       " release_date, state, created_at, published_at) VALUES(?, ?, ?, ?, ?, ?,"
                       " '2024-01-01', 'published', '2024-01-01T00:00:00Z',"
                       " '2024-01-01T00:00:00Z')",
                       v, 6, err) < 0)
            goto fail;
        for (size_t j = 0; j < r->n_arts; j++) {
            const struct snap_artifact *x = &r->arts[j];
            const char *w[5] = {r->id, x->role, x->file_name, x->sha256, num};

            snprintf(num, sizeof(num), "%lld", x->size);
            if (load_artifact(c, x->sha256, x->size, x->file_name, err) < 0 ||
                exec_bound(c,
                           "INSERT INTO runtime_artifacts(runtime_id, role, file_name, sha256,"
                           " size) VALUES(?, ?, ?, ?, ?)",
                           w, 5, err) < 0)
                goto fail;
        }
    }
    for (size_t i = 0; i < s->n_sets; i++) {
        const struct snap_set *set = &s->sets[i];
        const char *v[3] = {set->id, set->runtime, strchr(set->id, '/') + 1};

        if (exec_bound(c,
                       "INSERT INTO package_sets(id, runtime_id, date, state, created_at,"
                       " published_at) VALUES(?, ?, ?, 'published', '2024-01-01T00:00:00Z',"
                       " '2024-01-01T00:00:00Z')",
                       v, 3, err) < 0)
            goto fail;
        for (size_t j = 0; j < set->n_pkgs; j++) {
            const struct snap_pkg *p = &set->pkgs[j];
            char *deps = strings_json(p->depends, p->n_depends);
            char *imps = strings_json(p->imports, p->n_imports);
            const char *w[9] = {set->id, p->name, p->version,      p->file_name,  p->sha256,
                                deps,    imps,    p->package_type, p->install_dir};
            int rc = load_artifact(c, p->sha256, p->size, p->file_name, err) < 0 ||
                     exec_bound(c,
                                "INSERT INTO packages(set_id, name, version, file_name, sha256,"
                                " depends, imports, package_type, install_dir)"
                                " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                w, 9, err) < 0;

            free(deps);
            free(imps);
            if (rc)
                goto fail;
        }
    }
    for (size_t i = 0; i < s->n_flags; i++) {
        const struct flag_def *f = &s->flags[i];
        char order[16];
        const char *v[7] = {f->name,
                            f->disable,
                            f->has_enable_date ? a : NULL,
                            f->experimental ? "1" : "0",
                            f->bundle_runtime,
                            f->bundle_package_set,
                            f->bundle_order ? order : NULL};
        sqlite3_stmt *st = NULL;
        int rc;

        if (f->has_enable_date)
            date_format(f->enable_date, a);
        snprintf(order, sizeof(order), "%d", f->bundle_order);
        if (db_prepare(c, &st,
                       "INSERT INTO flags(name, disable_flag, enable_date, experimental,"
                       " bundle_runtime, bundle_package_set, bundle_order, state, created_at,"
                       " published_at) VALUES(?, ?, ?, ?, ?, ?, ?, 'published',"
                       " '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')",
                       err) < 0)
            goto fail;
        for (int k = 0; k < 7; k++)
            if (v[k])
                sqlite3_bind_text(st, k + 1, v[k], -1, SQLITE_TRANSIENT);
        rc = db_step_done(st, err, "cannot load fixture flag");
        sqlite3_finalize(st);
        if (rc < 0)
            goto fail;
        for (size_t j = 0; j < f->n_implied; j++) {
            const char *w[3] = {f->name, f->implied[j].flag, b};

            date_format(f->implied[j].after, b);
            if (exec_bound(c, "INSERT INTO flag_implied(flag, implied_by, after) VALUES(?, ?, ?)",
                           w, 3, err) < 0)
                goto fail;
        }
    }
    return db_commit_catalog(c, err);
fail:
    db_rollback(c);
    return -1;
}
