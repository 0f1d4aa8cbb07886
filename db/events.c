/* db/events.c: append to and page through the event log (see db/events.h). */
#include "db/events.h"

#include <stdlib.h>

#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"

#define SQL_EVENT_INSERT "INSERT INTO events(at, kind, subject, data, principal) VALUES(?,?,?,?,?)"

/* Per thread: a server thread runs one request's handler at a time and sets it just
 * before (http.c), the sweep thread sets "sweep", commands "cli". */
static __thread const char *event_principal;

void
db_event_set_principal(const char *principal)
{
    event_principal = principal;
}

const char *
db_event_principal(void)
{
    return event_principal ? event_principal : "system";
}

int
db_event_writer_open(struct db *c, struct db_event_writer *w, struct app_err *err)
{
    w->c = c;
    w->st = NULL;
    return db_prepare(c, &w->st, SQL_EVENT_INSERT, err);
}

int
db_event_writer_add(struct db_event_writer *w, const char *at, const char *kind,
                    const char *subject, const char *data, long long *seq, struct app_err *err)
{
    sqlite3_reset(w->st);
    sqlite3_bind_text(w->st, 1, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 3, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 4, data, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->st, 5, db_event_principal(), -1, SQLITE_STATIC);
    if (db_step_done(w->st, err, "cannot record event") < 0)
        return -1;
    if (seq)
        *seq = sqlite3_last_insert_rowid(w->c->db);
    return 0;
}

void
db_event_writer_close(struct db_event_writer *w)
{
    sqlite3_finalize(w->st);
    w->st = NULL;
}

int
db_event_append(struct db *c, const char *kind, const char *subject, const cJSON *data,
                struct app_err *err)
{
    struct db_event_writer w = {0};
    char now[APP_TIME_LEN];
    char *json = NULL;
    int ret = -1;

    date_now_rfc3339(now);
    json = data ? json_canonical(data, NULL) : xstrdup("{}");
    if (db_event_writer_open(c, &w, err) < 0 ||
        db_event_writer_add(&w, now, kind, subject, json, NULL, err) < 0)
        goto out;
    ret = 0;
out:
    db_event_writer_close(&w);
    free(json);
    return ret;
}

/* One event row (seq, at, kind, subject, data, principal) as its document. */
static cJSON *
event_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *e = xjson(cJSON_CreateObject());
    cJSON *data = cJSON_Parse(db_col_text(st, 4));

    (void)ctx;
    (void)err;
    xjson(cJSON_AddNumberToObject(e, "seq", (double)sqlite3_column_int64(st, 0)));
    xjson(cJSON_AddStringToObject(e, "at", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(e, "kind", db_col_text(st, 2)));
    xjson(cJSON_AddStringToObject(e, "subject", db_col_text(st, 3)));
    xjson(cJSON_AddStringToObject(e, "principal", db_col_text(st, 5)));
    cJSON_AddItemToObject(e, "data", data ? data : xjson(cJSON_CreateObject()));
    return e;
}

cJSON *
db_events_page(struct db *c, long long after, long long limit, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st,
                   "SELECT seq, at, kind, subject, data, principal FROM events WHERE seq > ?"
                   " ORDER BY seq LIMIT ?",
                   err) < 0)
        return NULL;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, limit);
    return db_rows_json(st, event_row, NULL, err);
}

cJSON *
db_events_last(struct db *c, long long after, long long before, long long limit,
               struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    /* The newest rows below before, turned back to seq order. */
    if (db_prepare(c, &st,
                   "SELECT * FROM (SELECT seq, at, kind, subject, data, principal FROM events"
                   " WHERE seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                   err) < 0)
        return NULL;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, before);
    sqlite3_bind_int64(st, 3, limit);
    return db_rows_json(st, event_row, NULL, err);
}
