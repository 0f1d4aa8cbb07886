/* catalog/snapshot.c: the in-memory published catalog: lookups and freeing (pure). */
#include "catalog/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "app/strv.h"

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
            strv_free(p->depends, p->n_depends);
            strv_free(p->imports, p->n_imports);
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
