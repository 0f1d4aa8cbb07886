/* catalog/workers.c: the workers registry: rows, pins, history, listings.
 *
 * Listings are ordered by name and paged with an opaque cursor (base64url of the
 * last name of the page), so a page never repeats or skips a worker while others
 * are added or removed.
 */
#include "catalog/workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/lines.h"
#include "catalog/locks.h"
#include "catalog/pyline.h"
#include "db/events.h"

#define WK_COLS                                                                                    \
    "w.name, w.compatibility_date, w.flags, w.requirements, w.allow_experimental,"                 \
    " w.lock_id, w.runtime, w.python_line, w.status, w.blocked_reason, w.blocked_since,"           \
    " w.upcoming_notified, l.end_of_support, w.created_at, w.updated_at"
#define WK_FROM " FROM workers w LEFT JOIN python_lines l ON l.line = w.python_line"
#define WK_CURSOR_MAX 256
#define WK_SCAN_LINES_MAX 64

int
cat_worker_begin(struct db *c, struct app_err *err)
{
    return db_begin(c, err);
}

int
cat_worker_commit(struct db *c, struct app_err *err)
{
    /* Registry changes do not touch the published catalog: no generation bump. */
    return db_commit(c, err);
}

static char *
col_dup(sqlite3_stmt *st, int col)
{
    return xstrdup(db_col_text(st, col));
}

/* Fill w from a row selected with WK_COLS. */
static void
row_read(sqlite3_stmt *st, struct cat_worker *w)
{
    w->name = col_dup(st, 0);
    w->date = col_dup(st, 1);
    w->flags = col_dup(st, 2);
    w->requirements = col_dup(st, 3);
    w->allow_experimental = sqlite3_column_int(st, 4);
    w->lock_id = col_dup(st, 5);
    w->runtime = col_dup(st, 6);
    w->python_line = col_dup(st, 7);
    w->status = col_dup(st, 8);
    w->blocked_reason = col_dup(st, 9);
    w->blocked_since = col_dup(st, 10);
    w->upcoming_notified = col_dup(st, 11);
    w->end_of_support = col_dup(st, 12);
    w->created_at = col_dup(st, 13);
    w->updated_at = col_dup(st, 14);
}

/* Step st to the end, collecting rows. */
static int
rows_collect(sqlite3_stmt *st, size_t max, struct cat_worker **out, size_t *n, struct app_err *err)
{
    size_t cap = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    while (*n < max && (rc = db_next(st, err)) > 0) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        memset(&(*out)[*n], 0, sizeof(**out));
        row_read(st, &(*out)[(*n)++]);
    }
    if (rc < 0) {
        cat_workers_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

int
cat_worker_get(struct db *c, const char *name, struct cat_worker *out, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    if (db_prepare(c, &st, "SELECT " WK_COLS WK_FROM " WHERE w.name = ?", err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row_read(st, out);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        app_fail(err, APP_ENOTFOUND, "worker '%s' is not registered", name);
    } else {
        db_sql_fail(c, err, "cannot read worker");
    }
    sqlite3_finalize(st);
    return ret;
}

static char *
cursor_encode(const char *name)
{
    size_t n = strlen(name);
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = xmalloc(cap);

    sodium_bin2base64(out, cap, (const unsigned char *)name, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static int
cursor_decode(const char *cursor, char out[WK_CURSOR_MAX], struct app_err *err)
{
    size_t n = 0;

    if (sodium_base642bin((unsigned char *)out, WK_CURSOR_MAX - 1, cursor, strlen(cursor), NULL, &n,
                          NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return app_fail(err, APP_EINVAL, "cursor '%s' is not one this server issued", cursor);
    out[n] = '\0';
    if (strlen(out) != n || !cat_worker_name_valid(out))
        return app_fail(err, APP_EINVAL, "cursor '%s' is not one this server issued", cursor);
    return 0;
}

int
cat_worker_list(struct db *c, const struct cat_worker_query *q, struct cat_worker **out, size_t *n,
                char **next_cursor, struct app_err *err)
{
    struct buf sql;
    sqlite3_stmt *st = NULL;
    char after[WK_CURSOR_MAX];
    /* The filters of q, in this order, each with its one parameter (NULL: not given). */
    const struct {
        const char *clause, *value;
    } filters[] = {
        {" AND w.python_line = ?", q->python_line},
        {" AND w.runtime = ?", q->runtime},
        {" AND w.status = ?", q->status},
        {" AND l.end_of_support < ?", q->ends_before},
        {" AND w.name > ?", q->cursor ? after : NULL},
    };
    const char *binds[sizeof(filters) / sizeof(filters[0])];
    size_t nb = 0, limit = q->limit ? q->limit : CAT_WORKER_PAGE_DEFAULT;
    int ends, ret = -1;

    *out = NULL;
    *n = 0;
    *next_cursor = NULL;
    if (limit > CAT_WORKER_PAGE_MAX)
        return app_fail(err, APP_EINVAL, "limit must be from 1 to %d", CAT_WORKER_PAGE_MAX);
    if (q->status && strcmp(q->status, "active") != 0 && strcmp(q->status, "blocked") != 0)
        return app_fail(err, APP_EINVAL, "status '%s' is not 'active' or 'blocked'", q->status);
    if (q->ends_before && date_parse(q->ends_before, &ends) < 0)
        return app_fail(err, APP_EINVAL, "ends_before '%s' is not a valid date (YYYY-MM-DD)",
                        q->ends_before);
    if (q->cursor && cursor_decode(q->cursor, after, err) < 0)
        return -1;
    buf_init(&sql, 0);
    if (buf_puts(&sql, "SELECT " WK_COLS WK_FROM " WHERE 1") < 0)
        abort();
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        if (!filters[i].value)
            continue;
        if (buf_puts(&sql, filters[i].clause) < 0)
            abort();
        binds[nb++] = filters[i].value;
    }
    if (buf_puts(&sql, " ORDER BY w.name LIMIT ?") < 0)
        abort();
    if (db_prepare(c, &st, sql.data, err) < 0)
        goto out;
    for (size_t i = 0; i < nb; i++)
        sqlite3_bind_text(st, (int)i + 1, binds[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, (int)nb + 1, (sqlite3_int64)limit + 1);
    if (rows_collect(st, limit + 1, out, n, err) < 0)
        goto out;
    if (*n > limit) {
        cat_worker_release(&(*out)[limit]);
        *n = limit;
        *next_cursor = cursor_encode((*out)[limit - 1].name);
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    buf_release(&sql);
    return ret;
}

int
cat_worker_scan(struct db *c, const char *const *lines, size_t n_lines, int with_blocked,
                struct cat_worker **out, size_t *n, struct app_err *err)
{
    struct buf sql;
    sqlite3_stmt *st = NULL;
    int ret = -1;

    *out = NULL;
    *n = 0;
    if (n_lines > WK_SCAN_LINES_MAX)
        return app_fail(err, APP_EINTERNAL, "too many python lines to scan");
    buf_init(&sql, 0);
    if (buf_puts(&sql, "SELECT " WK_COLS WK_FROM " WHERE w.python_line IN (") < 0)
        abort();
    for (size_t i = 0; i < n_lines; i++)
        if (buf_puts(&sql, i ? ",?" : "?") < 0)
            abort();
    if (buf_printf(&sql, ")%s ORDER BY w.name", with_blocked ? " OR w.status = 'blocked'" : "") < 0)
        abort();
    if (db_prepare(c, &st, sql.data, err) < 0)
        goto out;
    for (size_t i = 0; i < n_lines; i++)
        sqlite3_bind_text(st, (int)i + 1, lines[i], -1, SQLITE_STATIC);
    ret = rows_collect(st, (size_t)-1, out, n, err);
out:
    sqlite3_finalize(st);
    buf_release(&sql);
    return ret;
}

int
cat_worker_count(struct db *c, long long *n, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;

    if (db_prepare(c, &st, "SELECT COUNT(*) FROM workers", err) < 0)
        return -1;
    if (db_next(st, err) > 0) {
        *n = sqlite3_column_int64(st, 0);
        ret = 0;
    } else if (err && err->code == APP_OK) {
        app_fail(err, APP_EINTERNAL, "cannot count workers");
    }
    sqlite3_finalize(st);
    return ret;
}

static cJSON *
history_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *h = xjson(cJSON_CreateObject());

    (void)ctx;
    (void)err;
    xjson(cJSON_AddNumberToObject(h, "seq", sqlite3_column_int(st, 0)));
    xjson(cJSON_AddStringToObject(h, "kind", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(h, "lock_id", db_col_text(st, 2)));
    json_add_str_or_null(h, "runtime", db_col_text(st, 3));
    json_add_str_or_null(h, "python_line", db_col_text(st, 4));
    xjson(cJSON_AddStringToObject(h, "reason", db_col_text(st, 5)));
    if (sqlite3_column_type(st, 6) == SQLITE_NULL)
        xjson(cJSON_AddNullToObject(h, "event_seq"));
    else
        xjson(cJSON_AddNumberToObject(h, "event_seq", (double)sqlite3_column_int64(st, 6)));
    xjson(cJSON_AddStringToObject(h, "at", db_col_text(st, 7)));
    return h;
}

cJSON *
cat_worker_history(struct db *c, const char *name, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st,
                   "SELECT seq, kind, lock_id, runtime, python_line, reason, event_seq, at"
                   " FROM worker_history WHERE name = ? ORDER BY seq",
                   err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return db_rows_json(st, history_row, NULL, err);
}

static int
str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int
cat_history_open(struct db *c, struct cat_history_writer *w, struct app_err *err)
{
    w->c = c;
    w->st = NULL;
    return db_prepare(c, &w->st,
                      "INSERT INTO worker_history(name, seq, kind, lock_id, runtime, python_line,"
                      " reason, event_seq, at) VALUES(?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM"
                      " worker_history WHERE name = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                      err);
}

int
cat_history_add(struct cat_history_writer *w, const struct cat_history_entry *e,
                struct app_err *err)
{
    sqlite3_reset(w->st);
    sqlite3_bind_text(w->st, 1, e->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 2, e->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 3, e->lock_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 4, e->runtime, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 5, e->line, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 6, e->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(w->st, 7, e->event_seq);
    sqlite3_bind_text(w->st, 8, e->at, -1, SQLITE_STATIC);
    return db_step_done(w->st, err, "cannot record worker history");
}

void
cat_history_close(struct cat_history_writer *w)
{
    sqlite3_finalize(w->st);
    w->st = NULL;
}

/* Append history entry seq+1 for name. */
static int
history_add(struct db *c, const struct cat_history_entry *e, struct app_err *err)
{
    struct cat_history_writer w = {0};
    int ret = -1;

    if (cat_history_open(c, &w, err) == 0 && cat_history_add(&w, e, err) == 0)
        ret = 0;
    cat_history_close(&w);
    return ret;
}

int
cat_worker_pin(struct db *c, const struct cat_worker *w, const char *lock_bytes, size_t lock_len,
               int *created, int *changed, struct app_err *err)
{
    struct cat_worker old = {0};
    struct app_err gerr = {0};
    sqlite3_stmt *st = NULL;
    cJSON *ev = NULL;
    char now[APP_TIME_LEN];
    int exists, ret = -1;

    *created = *changed = 0;
    if (cat_worker_begin(c, err) < 0)
        return -1;
    if (cat_worker_get(c, w->name, &old, &gerr) == 0)
        exists = 1;
    else if (gerr.code == APP_ENOTFOUND)
        exists = 0;
    else {
        app_fail(err, gerr.code, "%s", gerr.msg);
        goto out;
    }
    if (exists && str_eq(old.date, w->date) && str_eq(old.flags, w->flags) &&
        str_eq(old.requirements, w->requirements) &&
        old.allow_experimental == w->allow_experimental && str_eq(old.lock_id, w->lock_id) &&
        strcmp(old.status, "active") == 0) {
        ret = cat_worker_commit(c, err);
        goto out;
    }
    date_now_rfc3339(now);
    if (cat_lock_store(c, w->lock_id, lock_bytes, lock_len, err) < 0)
        goto out;
    if (db_prepare(c, &st,
                   exists ? "UPDATE workers SET compatibility_date = ?2, flags = ?3,"
                            " requirements = ?4, allow_experimental = ?5, lock_id = ?6,"
                            " runtime = ?7, python_line = ?8, status = 'active',"
                            " blocked_reason = NULL, blocked_since = NULL,"
                            " upcoming_notified = CASE WHEN python_line IS ?8"
                            " THEN upcoming_notified END, updated_at = ?9 WHERE name = ?1"
                          : "INSERT INTO workers(name, compatibility_date, flags, requirements,"
                            " allow_experimental, lock_id, runtime, python_line, created_at,"
                            " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                   err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, w->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, w->date, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, w->flags, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, w->requirements, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, w->allow_experimental);
    sqlite3_bind_text(st, 6, w->lock_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, w->runtime, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, w->python_line, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(c, err, "cannot write worker");
        goto out;
    }
    ev = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(ev, "worker", w->name));
    xjson(cJSON_AddStringToObject(ev, "lock_id", w->lock_id));
    json_add_str_or_null(ev, "previous_lock_id", exists ? old.lock_id : NULL);
    json_add_str_or_null(ev, "runtime", w->runtime);
    json_add_str_or_null(ev, "python_line", w->python_line);
    xjson(cJSON_AddBoolToObject(ev, "created", !exists));
    if (db_event_append(c, "worker.deployed", w->name, ev, err) < 0)
        goto out;
    {
        struct cat_history_entry e = {
            .name = w->name,
            .kind = "deploy",
            .lock_id = w->lock_id,
            .runtime = w->runtime,
            .line = w->python_line,
            .reason = exists ? "redeployed" : "deployed",
            .event_seq = sqlite3_last_insert_rowid(c->db),
            .at = now,
        };

        if (history_add(c, &e, err) < 0)
            goto out;
    }
    if (cat_worker_commit(c, err) < 0)
        goto out;
    *created = !exists;
    *changed = 1;
    ret = 0;
out:
    if (ret < 0)
        db_rollback(c);
    sqlite3_finalize(st);
    cJSON_Delete(ev);
    cat_worker_release(&old);
    app_err_release(&gerr);
    return ret;
}

int
cat_registry_delete(struct db *c, const char *sql, const char *noun, const char *key,
                    const char *missing, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *ev = NULL;
    char what[64], kind[64];
    int ret = -1;

    /* A negative result (an encoding error) casts to a huge size and fails too. */
    if ((size_t)snprintf(kind, sizeof(kind), "%s.deleted", noun) >= sizeof(kind) ||
        (size_t)snprintf(what, sizeof(what), "cannot delete %s", noun) >= sizeof(what))
        return app_fail(err, APP_EINTERNAL, "registry noun '%s' is too long", noun);
    if (cat_worker_begin(c, err) < 0)
        return -1;
    if (db_prepare(c, &st, sql, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(c, err, what);
        goto out;
    }
    if (sqlite3_changes(c->db) == 0) {
        app_fail(err, APP_ENOTFOUND, "%s '%s' %s", noun, key, missing);
        goto out;
    }
    ev = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(ev, noun, key));
    if (db_event_append(c, kind, key, ev, err) < 0 || cat_worker_commit(c, err) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0)
        db_rollback(c);
    sqlite3_finalize(st);
    cJSON_Delete(ev);
    return ret;
}

int
cat_worker_delete(struct db *c, const char *name, struct app_err *err)
{
    return cat_registry_delete(c, "DELETE FROM workers WHERE name = ?", "worker", name,
                               "is not registered", err);
}

static cJSON *
parse_or(const char *json, cJSON *fallback)
{
    cJSON *v = json ? cJSON_Parse(json) : NULL;

    if (!v)
        return fallback;
    cJSON_Delete(fallback);
    return v;
}

cJSON *
cat_worker_json(const struct cat_worker *w, int today)
{
    cJSON *o = xjson(cJSON_CreateObject());
    cJSON *support = xjson(cJSON_CreateObject());
    int eos;

    xjson(cJSON_AddStringToObject(o, "name", w->name));
    xjson(cJSON_AddStringToObject(o, "compatibility_date", w->date));
    cJSON_AddItemToObject(o, "compatibility_flags", parse_or(w->flags, xjson(cJSON_CreateArray())));
    cJSON_AddItemToObject(o, "requirements", parse_or(w->requirements, xjson(cJSON_CreateArray())));
    xjson(cJSON_AddBoolToObject(o, "allow_experimental", w->allow_experimental));
    xjson(cJSON_AddStringToObject(o, "lock_id", w->lock_id));
    json_add_str_or_null(o, "runtime", w->runtime);
    json_add_str_or_null(o, "python_line", w->python_line);
    xjson(cJSON_AddStringToObject(o, "status", w->status));
    if (w->blocked_reason && strcmp(w->status, "blocked") == 0) {
        cJSON *b = parse_or(w->blocked_reason, xjson(cJSON_CreateObject()));

        json_add_str_or_null(b, "since", w->blocked_since);
        cJSON_AddItemToObject(o, "blocked", b);
    } else {
        xjson(cJSON_AddNullToObject(o, "blocked"));
    }
    json_add_str_or_null(support, "end_of_support", w->end_of_support);
    if (w->end_of_support && date_parse(w->end_of_support, &eos) == 0)
        xjson(cJSON_AddStringToObject(support, "status", cat_support_status(eos, today)));
    else
        xjson(cJSON_AddStringToObject(support, "status", "supported"));
    cJSON_AddItemToObject(o, "support", support);
    xjson(cJSON_AddStringToObject(o, "created_at", w->created_at));
    xjson(cJSON_AddStringToObject(o, "updated_at", w->updated_at));
    return o;
}

/* The entry of arr whose key field equals value (both may be NULL), or a new one
 * {key: value, workers: 0, active: 0, blocked: 0} appended. The arrays hold one
 * entry per line or runtime, a handful, so a linear search is the simple choice. */
static cJSON *
stats_entry(cJSON *arr, const char *key, const char *value)
{
    cJSON *e;

    cJSON_ArrayForEach (e, arr) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, key);

        if ((!value && cJSON_IsNull(k)) ||
            (value && cJSON_IsString(k) && strcmp(k->valuestring, value) == 0))
            return e;
    }
    e = xjson(cJSON_CreateObject());
    json_add_str_or_null(e, key, value);
    xjson(cJSON_AddNumberToObject(e, "workers", 0));
    xjson(cJSON_AddNumberToObject(e, "active", 0));
    xjson(cJSON_AddNumberToObject(e, "blocked", 0));
    cJSON_AddItemToArray(arr, e);
    return e;
}

static void
stats_add(cJSON *e, const char *status, long long n)
{
    cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "workers");
    cJSON *s = cJSON_GetObjectItemCaseSensitive(e, status);

    cJSON_SetNumberValue(w, w->valuedouble + (double)n);
    if (s)
        cJSON_SetNumberValue(s, s->valuedouble + (double)n);
}

cJSON *
cat_worker_stats(struct db *c, int as_of, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *o = NULL, *by_line, *by_runtime, *by_status;
    char day[APP_DATE_LEN];
    long long total = 0;
    int rc;

    /* SQLite does the counting; C only folds the few grouped rows into lists. */
    if (db_prepare(c, &st,
                   "SELECT g.python_line, l.end_of_support, g.runtime, g.status, g.n FROM"
                   " (SELECT python_line, runtime, status, COUNT(*) AS n FROM workers"
                   "  GROUP BY python_line, runtime, status) g"
                   " LEFT JOIN python_lines l ON l.line = g.python_line"
                   " ORDER BY l.first_release, g.python_line, g.runtime, g.status",
                   err) < 0)
        return NULL;
    o = xjson(cJSON_CreateObject());
    date_format(as_of, day);
    xjson(cJSON_AddStringToObject(o, "as_of", day));
    by_status = xjson(cJSON_AddObjectToObject(o, "by_status"));
    xjson(cJSON_AddNumberToObject(by_status, "active", 0));
    xjson(cJSON_AddNumberToObject(by_status, "blocked", 0));
    by_line = xjson(cJSON_AddArrayToObject(o, "by_line"));
    by_runtime = xjson(cJSON_AddArrayToObject(o, "by_runtime"));
    while ((rc = db_next(st, err)) > 0) {
        const char *line = db_col_text(st, 0), *eos = db_col_text(st, 1);
        const char *runtime = db_col_text(st, 2), *status = db_col_text(st, 3);
        long long n = sqlite3_column_int64(st, 4);
        cJSON *le = stats_entry(by_line, "python_line", line);
        cJSON *re = stats_entry(by_runtime, "runtime", runtime);
        cJSON *se = cJSON_GetObjectItemCaseSensitive(by_status, status);
        int eos_days;

        if (!cJSON_HasObjectItem(le, "end_of_support")) {
            json_add_str_or_null(le, "end_of_support", eos);
            json_add_str_or_null(le, "support",
                                 eos && date_parse(eos, &eos_days) == 0
                                     ? cat_support_status(eos_days, as_of)
                                     : NULL);
        }
        if (!cJSON_HasObjectItem(re, "python_line"))
            json_add_str_or_null(re, "python_line", line);
        stats_add(le, status, n);
        stats_add(re, status, n);
        if (se)
            cJSON_SetNumberValue(se, se->valuedouble + (double)n);
        total += n;
    }
    if (rc < 0) {
        cJSON_Delete(o);
        o = NULL;
        goto out;
    }
    xjson(cJSON_AddNumberToObject(o, "total", (double)total));
out:
    sqlite3_finalize(st);
    return o;
}
