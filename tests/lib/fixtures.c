/* tests/lib/fixtures.c: the shared test catalog (see tests/lib/fixtures.h). */
#include "tests/lib/fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/mem.h"
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
        {"numpy", "1.26.4", {NULL}},
        {"pandas", "2.2.0", {"numpy", "pytz", NULL}},
        {"pytz", "2024.1", {NULL}},
        {"regex", "2024.9.11", {NULL}},
    };
    static const struct fx_pkg set_028[] = {
        {"numpy", "2.0.2", {NULL}},
        {"pytz", "2025.1", {NULL}},
    };
    static const struct fx_pkg set_314[] = {
        {"numpy", "2.2.0", {NULL}},
        {"pandas", "2.3.0", {"numpy", "pytz", NULL}},
        {"pytz", "2025.2", {NULL}},
    };
    struct snap *s = xcalloc(1, sizeof(*s));

    s->refs = 1;
    add_line(s, "3.12", "2023-10-02", "2028-10-02");
    add_line(s, "3.13", "2024-10-07", "2029-10-07");
    add_line(s, "3.14", "2025-10-07", "2030-10-07");
    add_runtime(s, "0.26.4", "3.12.7", "3.1.58", 1);
    add_runtime(s, "0.28.3", "3.13.2", "4.0.9", 2);
    add_runtime(s, "314.0.7", "3.14.0", "4.0.12", 3);
    add_set(s, "0.26.4", set_026, sizeof(set_026) / sizeof(set_026[0]), 1);
    add_set(s, "0.28.3", set_028, sizeof(set_028) / sizeof(set_028[0]), 2);
    add_set(s, "314.0.7", set_314, sizeof(set_314) / sizeof(set_314[0]), 3);
    s->flags = fx_seed_flags(&s->n_flags);
    return s;
}
