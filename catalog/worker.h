/* catalog/worker.h: one workers-registry row in memory, and worker names. Pure: the
 * end-of-support planner works on these rows without the database. */
#ifndef CATALOG_WORKER_H
#define CATALOG_WORKER_H

#include <stddef.h>

#define CAT_WORKER_NAME_MAX 128

/* One registry row. All strings are owned (cat_worker_release). */
struct cat_worker {
    char *name;
    char *date;         /* compatibility_date */
    char *flags;        /* JSON array of strings, as given */
    char *requirements; /* JSON array of requirements.txt lines, as given */
    int allow_experimental;
    char *lock_id;
    char *runtime;           /* NULL when the lock has no Python runtime */
    char *python_line;       /* NULL likewise */
    char *status;            /* "active" or "blocked" */
    char *blocked_reason;    /* JSON {code, message, packages, to} or NULL */
    char *blocked_since;     /* YYYY-MM-DD or NULL */
    char *upcoming_notified; /* line whose coming end was announced, or NULL */
    char *end_of_support;    /* of python_line (from python_lines), or NULL */
    char *created_at, *updated_at;
};

void cat_worker_release(struct cat_worker *w);
/* Release n rows and free the array; NULL does nothing. */
void cat_workers_free(struct cat_worker *v, size_t n);

/* 1 when name is a valid worker name: 1-128 of [A-Za-z0-9._-], starting with a
 * letter or digit. */
int cat_worker_name_valid(const char *name);

#endif
