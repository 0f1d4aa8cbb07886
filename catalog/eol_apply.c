/* catalog/eol_apply.c: the end-of-support plan read from the registry and applied
 * in one transaction: moves and blocks through prepared statements, history through
 * catalog/workers.c, events through db/events.c, webhook deliveries through the
 * outbox. A crash leaves every worker as it was or as planned, never half. */
#include "catalog/eol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/hooks.h"
#include "catalog/locks.h"
#include "catalog/pyline.h"
#include "catalog/workers.h"
#include "db/events.h"

#define EOL_MAX_LINES 64
#define EOL_PRAGMA_MAX 64             /* "PRAGMA cache_size = <int64>" */
#define EOL_APPLY_CACHE_KIB (-131072) /* PRAGMA cache_size: negative means KiB */

static int
db_lock(void *ctx, const char *lock_id, char **bytes, size_t *len, struct app_err *err)
{
    return cat_lock_load(ctx, lock_id, bytes, len, err);
}

int
eol_plan(struct db *c, const struct snap *s, int as_of, int today, unsigned want,
         struct eol_plan **out, struct app_err *err)
{
    const char *lines[EOL_MAX_LINES];
    struct cat_worker *rows = NULL;
    size_t n_lines = 0, n_rows = 0;
    long long registered = 0;

    *out = NULL;
    for (size_t i = 0; i < s->n_lines && n_lines < EOL_MAX_LINES; i++) {
        const struct snap_line *l = &s->lines[i];
        int ended = as_of >= l->end_of_support;
        int window = !ended && as_of >= l->end_of_support - CAT_WARNING_DAYS;

        if ((ended && (want & EOL_WANT_MOVES)) || (window && (want & EOL_WANT_UPCOMING)))
            lines[n_lines++] = l->line;
    }
    if (cat_worker_count(c, &registered, err) < 0 ||
        cat_worker_scan(c, lines, n_lines, (want & EOL_WANT_MOVES) != 0, &rows, &n_rows, err) < 0)
        return -1;
    if (eol_plan_build(s, rows, n_rows, as_of, today, want, db_lock, c, out, err) < 0)
        return -1;
    (*out)->registered = registered;
    return 0;
}

struct apply_ctx {
    struct db *c;
    struct db_event_writer ev;
    char now[APP_TIME_LEN];
    struct eol_applied *res;
};

static int
event_add(struct apply_ctx *a, const char *kind, const char *subject, const char *data,
          long long *seq, struct app_err *err)
{
    if (db_event_writer_add(&a->ev, a->now, kind, subject, data, seq, err) < 0)
        return -1;
    if (!a->res->first_seq)
        a->res->first_seq = *seq;
    a->res->last_seq = *seq;
    a->res->events++;
    return 0;
}

static int
step_done(struct db *c, sqlite3_stmt *st, struct app_err *err)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return db_sql_fail(c, err, "cannot update worker");
    sqlite3_reset(st);
    return 0;
}

static int
apply_moves(struct apply_ctx *a, const struct eol_plan *p, struct cat_outbox *ob,
            struct app_err *err)
{
    sqlite3_stmt *up = NULL;
    struct cat_history_writer hist = {0};
    int ret = -1;

    if (db_prepare(a->c, &up,
                   "UPDATE workers SET lock_id = ?1, runtime = ?2, python_line = ?3,"
                   " status = 'active', blocked_reason = NULL, blocked_since = NULL,"
                   " updated_at = ?4 WHERE name = ?5",
                   err) < 0 ||
        cat_history_open(a->c, &hist, err) < 0)
        goto out;
    for (size_t i = 0; i < p->n_groups; i++) {
        const struct eol_group *g = &p->groups[i];
        const struct res_output *o = &p->res[g->res].out;

        if (!g->upcoming && g->outcome == EOL_MOVE &&
            cat_lock_store(a->c, o->lock_id, o->lock_bytes, o->lock_len, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < p->n_moves; i++) {
        const struct eol_group *g = &p->groups[p->moves[i].group];
        const char *name = p->rows[p->moves[i].row].name;
        char *data = eol_event_data(g->event_prefix, name);
        long long seq;
        int rc = event_add(a, "worker.moved", name, data, &seq, err);

        free(data);
        if (rc < 0)
            goto out;
        sqlite3_bind_text(up, 1, g->to_lock_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 2, g->to_runtime, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 3, g->to_line, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 4, a->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 5, name, -1, SQLITE_STATIC);
        if (step_done(a->c, up, err) < 0)
            goto out;
        {
            struct cat_history_entry e = {
                .name = name,
                .kind = "move",
                .lock_id = g->to_lock_id,
                .runtime = g->to_runtime,
                .line = g->to_line,
                .reason = g->reason,
                .event_seq = seq,
                .at = a->now,
            };

            if (cat_history_add(&hist, &e, err) < 0 ||
                cat_outbox_add(ob, "worker.moved", seq, err) < 0)
                goto out;
        }
        a->res->moved++;
    }
    ret = 0;
out:
    sqlite3_finalize(up);
    cat_history_close(&hist);
    return ret;
}

static int
apply_blocks(struct apply_ctx *a, const struct eol_plan *p, struct cat_outbox *ob,
             struct app_err *err)
{
    sqlite3_stmt *up = NULL, *unb = NULL;
    char as_of_s[APP_DATE_LEN];
    int ret = -1;

    date_format(p->as_of, as_of_s);
    if (db_prepare(a->c, &up,
                   "UPDATE workers SET status = 'blocked', blocked_reason = ?1,"
                   " blocked_since = ?2, updated_at = ?3 WHERE name = ?4",
                   err) < 0 ||
        db_prepare(a->c, &unb,
                   "UPDATE workers SET status = 'active', blocked_reason = NULL,"
                   " blocked_since = NULL, updated_at = ?1 WHERE name = ?2",
                   err) < 0)
        goto out;
    for (size_t i = 0; i < p->n_blocked; i++) {
        const struct eol_group *g = &p->groups[p->blocked[i].group];
        const char *name = p->rows[p->blocked[i].row].name;
        char *data, *reason;
        long long seq;
        int rc;

        if (p->blocked[i].unchanged)
            continue;
        data = eol_event_data(g->event_prefix, name);
        rc = event_add(a, "worker.blocked", name, data, &seq, err);
        free(data);
        if (rc < 0)
            goto out;
        reason = json_canonical(g->blocked, NULL);
        sqlite3_bind_text(up, 1, reason, -1, SQLITE_TRANSIENT);
        free(reason);
        sqlite3_bind_text(up, 2, as_of_s, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 3, a->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 4, name, -1, SQLITE_STATIC);
        if (step_done(a->c, up, err) < 0 || cat_outbox_add(ob, "worker.blocked", seq, err) < 0)
            goto out;
        a->res->blocked++;
    }
    for (size_t i = 0; i < p->n_unblocked; i++) {
        const struct cat_worker *w = &p->rows[p->unblocked[i].row];
        cJSON *ev = xjson(cJSON_CreateObject());
        char *data;
        long long seq;
        int rc;

        xjson(cJSON_AddStringToObject(ev, "as_of", as_of_s));
        json_add_str_or_null(ev, "python_line", w->python_line);
        json_add_str_or_null(ev, "runtime", w->runtime);
        xjson(cJSON_AddStringToObject(ev, "worker", w->name));
        data = json_canonical(ev, NULL);
        cJSON_Delete(ev);
        rc = event_add(a, "worker.unblocked", w->name, data, &seq, err);
        free(data);
        if (rc < 0)
            goto out;
        sqlite3_bind_text(unb, 1, a->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(unb, 2, w->name, -1, SQLITE_STATIC);
        if (step_done(a->c, unb, err) < 0)
            goto out;
        a->res->unblocked++;
    }
    ret = 0;
out:
    sqlite3_finalize(up);
    sqlite3_finalize(unb);
    return ret;
}

static int
apply_upcoming(struct apply_ctx *a, const struct eol_plan *p, struct cat_outbox *ob,
               struct app_err *err)
{
    sqlite3_stmt *up = NULL;
    char as_of_s[APP_DATE_LEN];
    int ret = -1;

    date_format(p->as_of, as_of_s);
    if (db_prepare(a->c, &up, "UPDATE workers SET upcoming_notified = ?1 WHERE name = ?2", err) < 0)
        goto out;
    for (size_t i = 0; i < p->n_upcoming; i++) {
        const struct cat_worker *w = &p->rows[p->upcoming[i].row];
        cJSON *ev;
        char *data;
        long long seq;
        int rc;

        if (p->upcoming[i].unchanged)
            continue;
        ev = eol_upcoming_entry(p, &p->upcoming[i], 0);
        xjson(cJSON_AddStringToObject(ev, "as_of", as_of_s));
        data = json_canonical(ev, NULL);
        cJSON_Delete(ev);
        rc = event_add(a, "worker.upcoming", w->name, data, &seq, err);
        free(data);
        if (rc < 0)
            goto out;
        sqlite3_bind_text(up, 1, w->python_line, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 2, w->name, -1, SQLITE_STATIC);
        if (step_done(a->c, up, err) < 0 || cat_outbox_add(ob, "worker.upcoming", seq, err) < 0)
            goto out;
        a->res->upcoming_notified++;
    }
    ret = 0;
out:
    sqlite3_finalize(up);
    return ret;
}

/* The connection's page cache size (PRAGMA cache_size), or 0 when unknown. */
static long long
cache_size(struct db *c)
{
    sqlite3_stmt *st = NULL;
    long long v = 0;

    if (sqlite3_prepare_v2(c->db, "PRAGMA cache_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void
cache_size_set(struct db *c, long long v)
{
    char q[EOL_PRAGMA_MAX];

    snprintf(q, sizeof(q), "PRAGMA cache_size = %lld", v);
    sqlite3_exec(c->db, q, NULL, NULL, NULL);
}

int
eol_apply(struct db *c, const struct snap *s, int as_of, int today, unsigned flags,
          struct eol_plan **out, struct eol_applied *res, struct app_err *err)
{
    struct eol_plan *p = NULL;
    struct cat_outbox ob = {0};
    struct apply_ctx a = {0};
    long long old_cache = cache_size(c);
    int ret = -1;

    memset(res, 0, sizeof(*res));
    if (out)
        *out = NULL;
    a.c = c;
    a.res = res;
    date_now_rfc3339(a.now);
    /* A large apply touches most of the registry's pages: with SQLite's small default
     * cache they would be spilled to the WAL and rewritten many times over. */
    if (old_cache)
        cache_size_set(c, EOL_APPLY_CACHE_KIB);
    if (cat_worker_begin(c, err) < 0) {
        if (old_cache)
            cache_size_set(c, old_cache);
        return -1;
    }
    /* The rows are read inside the write transaction: what is planned is applied. */
    if (eol_plan(c, s, as_of, today,
                 EOL_WANT_MOVES | ((flags & EOL_NOTIFY_UPCOMING) ? EOL_WANT_UPCOMING : 0), &p,
                 err) < 0 ||
        cat_outbox_open(c, &ob, err) < 0)
        goto out;
    if (db_event_writer_open(c, &a.ev, err) < 0)
        goto out;
    if (apply_moves(&a, p, &ob, err) < 0 || apply_blocks(&a, p, &ob, err) < 0 ||
        ((flags & EOL_NOTIFY_UPCOMING) && apply_upcoming(&a, p, &ob, err) < 0))
        goto out;
    res->deliveries = ob.queued;
    db_event_writer_close(&a.ev);
    cat_outbox_close(&ob);
    if (cat_worker_commit(c, err) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0) {
        db_rollback(c);
        memset(res, 0, sizeof(*res));
    }
    db_event_writer_close(&a.ev);
    cat_outbox_close(&ob);
    if (old_cache)
        cache_size_set(c, old_cache);
    if (ret == 0 && out)
        *out = p;
    else
        eol_plan_free(p);
    return ret;
}
