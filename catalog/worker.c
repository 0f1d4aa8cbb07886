/* catalog/worker.c: one registry row in memory (see catalog/worker.h). */
#include "catalog/worker.h"

#include <stdlib.h>
#include <string.h>

void
cat_worker_release(struct cat_worker *w)
{
    if (!w)
        return;
    free(w->name);
    free(w->date);
    free(w->flags);
    free(w->requirements);
    free(w->lock_id);
    free(w->runtime);
    free(w->python_line);
    free(w->status);
    free(w->blocked_reason);
    free(w->blocked_since);
    free(w->upcoming_notified);
    free(w->end_of_support);
    free(w->created_at);
    free(w->updated_at);
    memset(w, 0, sizeof(*w));
}

void
cat_workers_free(struct cat_worker *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        cat_worker_release(&v[i]);
    free(v);
}

int
cat_worker_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > CAT_WORKER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        int alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');

        if (!alnum && (i == 0 || (ch != '-' && ch != '_' && ch != '.')))
            return 0;
    }
    return 1;
}
