/* catalog/workers.h: the workers registry (DESIGN §11): workers, their pinned locks
 * and the history of those locks.
 *
 * A worker is registered with its inputs (date, flags, requirements) and the lock
 * they resolved to; that lock is pinned: catalog changes never touch it, only an
 * end-of-support move (catalog/eol_apply.c) or a new deploy does. Every pin is a history
 * entry and an event in the same transaction.
 *
 * The registry is not part of the catalog snapshot, so its transactions commit with
 * cat_worker_commit, which (unlike db_commit_catalog) does not bump the catalog
 * generation: deploying a worker must not throw away the shared snapshot and the
 * resolve cache.
 */
#ifndef CATALOG_WORKERS_H
#define CATALOG_WORKERS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"
#include "catalog/locks.h" /* pinned locks are read back with cat_lock_load */
#include "catalog/worker.h"

#define CAT_WORKER_PAGE_DEFAULT 100
#define CAT_WORKER_PAGE_MAX 1000

/* BEGIN IMMEDIATE / COMMIT without bumping the catalog generation (see above). */
int cat_worker_begin(struct db *c, struct app_err *err);
int cat_worker_commit(struct db *c, struct app_err *err);

/* Load one worker; 404 (APP_ENOTFOUND) when it is not registered. */
int cat_worker_get(struct db *c, const char *name, struct cat_worker *out, struct app_err *err);

/* Filters of a listing; NULL fields do not filter. ends_before keeps workers whose
 * line's end of support is before that date (YYYY-MM-DD); cursor is the opaque
 * next_cursor of the previous page. limit 0 means CAT_WORKER_PAGE_DEFAULT. */
struct cat_worker_query {
    const char *python_line, *runtime, *status, *ends_before, *cursor;
    size_t limit;
};

/* A page of workers ordered by name. *next_cursor (caller frees) is NULL on the
 * last page. Bad filters or cursors fail with 400. */
int cat_worker_list(struct db *c, const struct cat_worker_query *q, struct cat_worker **out,
                    size_t *n, char **next_cursor, struct app_err *err);

/* Every worker on one of lines (n_lines may be 0), plus every blocked worker when
 * with_blocked, ordered by name: the rows end-of-support planning looks at. */
int cat_worker_scan(struct db *c, const char *const *lines, size_t n_lines, int with_blocked,
                    struct cat_worker **out, size_t *n, struct app_err *err);

/* The number of registered workers. */
int cat_worker_count(struct db *c, long long *n, struct app_err *err);

/* Counts of registered workers as of as_of (days), grouped by SQL, never listed:
 * {as_of, total, by_status: {active, blocked}, by_line: [{python_line,
 * end_of_support, support, workers, active, blocked}] (oldest line first),
 * by_runtime: [{runtime, python_line, workers, active, blocked}]}. A worker whose
 * lock has no Python runtime counts under python_line/runtime null. */
cJSON *cat_worker_stats(struct db *c, int as_of, struct app_err *err);

/* The worker's history, oldest first: [{seq, kind, lock_id, runtime, python_line,
 * reason, event_seq, at}]. */
cJSON *cat_worker_history(struct db *c, const char *name, struct app_err *err);

/* Register or redeploy w (name, date, flags, requirements, allow_experimental,
 * lock_id, runtime, python_line are read) pinned to the lock of lock_len bytes, in
 * one transaction: the lock is stored, the row written (status back to active), a
 * history entry and a "worker.deployed" event added. Redeploying with the same
 * inputs and lock changes nothing (*changed 0). *created tells a new worker. */
int cat_worker_pin(struct db *c, const struct cat_worker *w, const char *lock_bytes,
                   size_t lock_len, int *created, int *changed, struct app_err *err);

/* Delete one row of the registry (workers, webhooks) in its own transaction
 * committed with cat_worker_commit, and record the event "<noun>.deleted" with
 * subject key and data {"<noun>": key}. sql is a DELETE with one parameter, bound
 * to key. Fails with 404 "<noun> '<key>' <missing>" when no row matched, 500 on a
 * database error; nothing changes on failure. All arguments are borrowed; noun is
 * a short word ("worker", "webhook"). Shared by catalog/workers.c and
 * catalog/hooks.c. */
int cat_registry_delete(struct db *c, const char *sql, const char *noun, const char *key,
                        const char *missing, struct app_err *err);

/* Remove a worker and its history (a "worker.deleted" event remains); 404 when it
 * is not registered. */
int cat_worker_delete(struct db *c, const char *name, struct app_err *err);

/* The worker as the API shows it: {name, compatibility_date, compatibility_flags,
 * requirements, allow_experimental, lock_id, runtime, python_line, status, blocked,
 * support: {end_of_support, status}, created_at, updated_at}; support status as of
 * today (days). */
cJSON *cat_worker_json(const struct cat_worker *w, int today);

/* One worker_history row: this module is the table's only writer. */
struct cat_history_entry {
    const char *name, *kind, *lock_id, *runtime, *line, *reason, *at;
    long long event_seq;
};

/* A prepared history appender for transactions that record many entries (the
 * end-of-support apply): open, add (entry seq = the worker's last + 1), close.
 * cat_history_close is safe on a zeroed or closed writer. */
struct cat_history_writer {
    struct db *c;
    sqlite3_stmt *st;
};

int cat_history_open(struct db *c, struct cat_history_writer *w, struct app_err *err);
int cat_history_add(struct cat_history_writer *w, const struct cat_history_entry *e,
                    struct app_err *err);
void cat_history_close(struct cat_history_writer *w);

#endif
