/* catalog/hooks.c: webhook rows, the delivery outbox and its attempt log. */
#include "catalog/hooks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/workers.h"
#include "db/events.h"

const char *const cat_hook_kinds[] = {"worker.moved", "worker.blocked", "worker.upcoming", NULL};

int64_t
cat_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ms_format(int64_t ms, char out[APP_TIME_LEN])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, APP_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
hook_id_valid(const char *id)
{
    return strlen(id) <= CAT_HOOK_ID_MAX && cat_worker_name_valid(id);
}

/* Only absolute http(s) URLs with a host. */
static int
url_check(const char *url, struct app_err *err)
{
    CURLU *u;
    char *scheme = NULL, *host = NULL;
    int ok;

    if (strlen(url) > CAT_HOOK_URL_MAX)
        return app_fail(err, APP_EINVAL, "webhook url is longer than %d bytes", CAT_HOOK_URL_MAX);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return app_fail(err, APP_EINVAL,
                            "webhook url must not hold spaces or control characters");
    u = curl_url();
    if (!u)
        abort();
    ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
         curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
         curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
         (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    if (!ok)
        return app_fail(err, APP_EINVAL, "webhook url '%s' is not an absolute http or https url",
                        url);
    return 0;
}

/* The subscribed kinds as a JSON array in cat_hook_kinds order, duplicates dropped. */
static char *
events_normalize(const cJSON *arr, struct app_err *err)
{
    cJSON *out;
    const cJSON *e;
    char *s;

    if (cJSON_GetArraySize(arr) == 0) {
        app_fail(err, APP_EINVAL, "field 'events' must name at least one event");
        return NULL;
    }
    cJSON_ArrayForEach (e, arr) {
        size_t k = 0;

        while (cat_hook_kinds[k] && strcmp(cat_hook_kinds[k], e->valuestring) != 0)
            k++;
        if (!cat_hook_kinds[k]) {
            app_fail(err, APP_EINVAL,
                     "event '%s' is unknown; webhooks take worker.moved, worker.blocked and "
                     "worker.upcoming",
                     e->valuestring);
            return NULL;
        }
    }
    out = xjson(cJSON_CreateArray());
    for (size_t k = 0; cat_hook_kinds[k]; k++) {
        cJSON_ArrayForEach (e, arr) {
            if (strcmp(cat_hook_kinds[k], e->valuestring) == 0) {
                cJSON_AddItemToArray(out, xjson(cJSON_CreateString(cat_hook_kinds[k])));
                break;
            }
        }
    }
    s = json_canonical(out, NULL);
    cJSON_Delete(out);
    return s;
}

static int
hook_exists(struct db *c, const char *id, int *exists, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (db_prepare(c, &st, "SELECT 1 FROM webhooks WHERE id = ?", err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_sql_fail(c, err, "cannot read webhook");
    *exists = rc == SQLITE_ROW;
    return 0;
}

cJSON *
cat_hook_put(struct db *c, const char *id, const cJSON *body, int *created, struct app_err *err)
{
    const char *url = NULL, *secret = NULL;
    const cJSON *events = NULL;
    char *events_s = NULL;
    sqlite3_stmt *st = NULL;
    cJSON *ev = NULL, *out = NULL;
    char now[APP_TIME_LEN];
    int exists = 0, ok = 0;

    if (!hook_id_valid(id)) {
        app_fail(err, APP_EINVAL,
                 "webhook id '%s' must be 1-%d of A-Z a-z 0-9 . _ - starting with a letter or "
                 "digit",
                 id, CAT_HOOK_ID_MAX);
        return NULL;
    }
    if (!cJSON_IsObject(body)) {
        app_fail(err, APP_EINVAL, "request body must be a JSON object");
        return NULL;
    }
    if (json_string(body, "url", 0, &url, err) < 0 ||
        json_string_array(body, "events", 0, &events, err) < 0 ||
        json_string(body, "secret", 0, &secret, err) < 0)
        return NULL;
    if (url && url_check(url, err) < 0)
        return NULL;
    if (events && !(events_s = events_normalize(events, err)))
        return NULL;
    if (secret && (strlen(secret) < CAT_HOOK_SECRET_MIN || strlen(secret) > CAT_HOOK_SECRET_MAX)) {
        app_fail(err, APP_EINVAL, "webhook secret must be %d to %d bytes long", CAT_HOOK_SECRET_MIN,
                 CAT_HOOK_SECRET_MAX);
        goto out;
    }
    if (cat_worker_begin(c, err) < 0)
        goto out;
    if (hook_exists(c, id, &exists, err) < 0)
        goto out;
    if (!exists && (!url || !events_s || !secret)) {
        app_fail(err, APP_EINVAL, "a new webhook needs 'url', 'events' and 'secret'");
        goto out;
    }
    date_now_rfc3339(now);
    if (db_prepare(c, &st,
                   exists ? "UPDATE webhooks SET url = COALESCE(?2, url), events = COALESCE(?3,"
                            " events), secret = COALESCE(?4, secret), updated_at = ?5"
                            " WHERE id = ?1"
                          : "INSERT INTO webhooks(id, url, events, secret, created_at,"
                            " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?5)",
                   err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, events_s, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, secret, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(c, err, "cannot write webhook");
        goto out;
    }
    ev = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(ev, "webhook", id));
    if (db_event_append(c, exists ? "webhook.updated" : "webhook.created", id, ev, err) < 0 ||
        cat_worker_commit(c, err) < 0)
        goto out;
    ok = 1;
    *created = !exists;
out:
    if (!ok)
        db_rollback(c);
    sqlite3_finalize(st);
    cJSON_Delete(ev);
    free(events_s);
    if (ok)
        out = cat_hook_get(c, id, err);
    return out;
}

static cJSON *
hook_row(struct db *c, sqlite3_stmt *st, struct app_err *err)
{
    cJSON *o = xjson(cJSON_CreateObject());
    cJSON *events = cJSON_Parse(db_col_text(st, 2));
    cJSON *counts = xjson(cJSON_AddObjectToObject(o, "deliveries"));
    sqlite3_stmt *q = NULL;
    int rc;

    xjson(cJSON_AddStringToObject(o, "id", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(o, "url", db_col_text(st, 1)));
    cJSON_AddItemToObject(o, "events", events ? events : xjson(cJSON_CreateArray()));
    xjson(cJSON_AddStringToObject(o, "created_at", db_col_text(st, 3)));
    xjson(cJSON_AddStringToObject(o, "updated_at", db_col_text(st, 4)));
    xjson(cJSON_AddNumberToObject(counts, "pending", 0));
    xjson(cJSON_AddNumberToObject(counts, "delivered", 0));
    xjson(cJSON_AddNumberToObject(counts, "failed", 0));
    if (db_prepare(c, &q,
                   "SELECT state, COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?"
                   " GROUP BY state",
                   err) < 0) {
        cJSON_Delete(o);
        return NULL;
    }
    sqlite3_bind_text(q, 1, db_col_text(st, 0), -1, SQLITE_TRANSIENT);
    while ((rc = db_next(q, err)) > 0)
        cJSON_ReplaceItemInObject(counts, db_col_text(q, 0),
                                  xjson(cJSON_CreateNumber((double)sqlite3_column_int64(q, 1))));
    sqlite3_finalize(q);
    if (rc < 0) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

#define HOOK_COLS "id, url, events, created_at, updated_at"

cJSON *
cat_hook_get(struct db *c, const char *id, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *out = NULL;
    int rc;

    if (db_prepare(c, &st, "SELECT " HOOK_COLS " FROM webhooks WHERE id = ?", err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        out = hook_row(c, st, err);
    else if (rc == SQLITE_DONE)
        app_fail(err, APP_ENOTFOUND, "webhook '%s' does not exist", id);
    else
        db_sql_fail(c, err, "cannot read webhook");
    sqlite3_finalize(st);
    return out;
}

/* ctx: the connection, for each webhook's delivery counts. */
static cJSON *
hook_list_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    return hook_row(ctx, st, err);
}

cJSON *
cat_hook_list(struct db *c, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st, "SELECT " HOOK_COLS " FROM webhooks ORDER BY id", err) < 0)
        return NULL;
    return db_rows_json(st, hook_list_row, c, err);
}

int
cat_hook_delete(struct db *c, const char *id, struct app_err *err)
{
    return cat_registry_delete(c, "DELETE FROM webhooks WHERE id = ?", "webhook", id,
                               "does not exist", err);
}

static cJSON *
attempt_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    cJSON *a = xjson(cJSON_CreateObject());

    (void)ctx;
    (void)err;
    xjson(cJSON_AddNumberToObject(a, "attempt", sqlite3_column_int(st, 0)));
    xjson(cJSON_AddStringToObject(a, "at", db_col_text(st, 1)));
    if (sqlite3_column_type(st, 2) == SQLITE_NULL)
        xjson(cJSON_AddNullToObject(a, "status_code"));
    else
        xjson(cJSON_AddNumberToObject(a, "status_code", sqlite3_column_int(st, 2)));
    json_add_str_or_null(a, "error", db_col_text(st, 3));
    xjson(cJSON_AddNumberToObject(a, "duration_ms", (double)sqlite3_column_int64(st, 4)));
    return a;
}

static cJSON *
attempts_json(struct db *c, long long delivery_id, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st,
                   "SELECT attempt, at, status_code, error, duration_ms FROM webhook_attempts"
                   " WHERE delivery_id = ? ORDER BY attempt",
                   err) < 0)
        return NULL;
    sqlite3_bind_int64(st, 1, delivery_id);
    return db_rows_json(st, attempt_row, NULL, err);
}

cJSON *
cat_hook_deliveries(struct db *c, const char *id, const char *state, const char *cursor,
                    size_t limit, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    long long before = INT64_MAX, last = 0;
    cJSON *out = NULL, *arr, *probe;
    size_t n = 0;
    int rc;

    if (limit == 0)
        limit = CAT_HOOK_PAGE_DEFAULT;
    if (limit > CAT_HOOK_PAGE_MAX) {
        app_fail(err, APP_EINVAL, "limit must be from 1 to %d", CAT_HOOK_PAGE_MAX);
        return NULL;
    }
    if (state && strcmp(state, "pending") && strcmp(state, "delivered") &&
        strcmp(state, "failed")) {
        app_fail(err, APP_EINVAL, "state '%s' is not pending, delivered or failed", state);
        return NULL;
    }
    if (cursor) {
        char *end = NULL;

        before = strtoll(cursor, &end, 10);
        if (!*cursor || !end || *end || before <= 0) {
            app_fail(err, APP_EINVAL, "cursor '%s' is not one this server issued", cursor);
            return NULL;
        }
    }
    probe = cat_hook_get(c, id, err);
    if (!probe)
        return NULL;
    cJSON_Delete(probe);
    if (db_prepare(c, &st,
                   "SELECT id, event_seq, event_kind, state, next_attempt, last_status,"
                   " last_error, created_at, finished_at FROM webhook_deliveries"
                   " WHERE webhook_id = ?1 AND id < ?2 AND (?3 IS NULL OR state = ?3)"
                   " ORDER BY id DESC LIMIT ?4",
                   err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, before);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)limit + 1);
    out = xjson(cJSON_CreateObject());
    arr = xjson(cJSON_AddArrayToObject(out, "deliveries"));
    while ((rc = db_next(st, err)) > 0 && n < limit) {
        cJSON *d = xjson(cJSON_CreateObject());
        long long did = sqlite3_column_int64(st, 0);
        const char *dstate = db_col_text(st, 3);
        cJSON *attempts = attempts_json(c, did, err);
        char at[APP_TIME_LEN];

        if (!attempts) {
            cJSON_Delete(d);
            goto fail;
        }
        xjson(cJSON_AddNumberToObject(d, "id", (double)did));
        xjson(cJSON_AddNumberToObject(d, "event_seq", (double)sqlite3_column_int64(st, 1)));
        xjson(cJSON_AddStringToObject(d, "event", db_col_text(st, 2)));
        xjson(cJSON_AddStringToObject(d, "state", dstate));
        if (strcmp(dstate, "pending") == 0) {
            ms_format(sqlite3_column_int64(st, 4), at);
            xjson(cJSON_AddStringToObject(d, "next_attempt_at", at));
        } else {
            xjson(cJSON_AddNullToObject(d, "next_attempt_at"));
        }
        if (sqlite3_column_type(st, 5) == SQLITE_NULL)
            xjson(cJSON_AddNullToObject(d, "last_status"));
        else
            xjson(cJSON_AddNumberToObject(d, "last_status", sqlite3_column_int(st, 5)));
        json_add_str_or_null(d, "last_error", db_col_text(st, 6));
        xjson(cJSON_AddStringToObject(d, "created_at", db_col_text(st, 7)));
        json_add_str_or_null(d, "finished_at", db_col_text(st, 8));
        cJSON_AddItemToObject(d, "attempts", attempts);
        cJSON_AddItemToArray(arr, d);
        last = did;
        n++;
    }
    if (rc < 0)
        goto fail;
    if (rc > 0) {
        char *next = xasprintf("%lld", last);

        xjson(cJSON_AddStringToObject(out, "next_cursor", next));
        free(next);
    } else {
        xjson(cJSON_AddNullToObject(out, "next_cursor"));
    }
    sqlite3_finalize(st);
    return out;
fail:
    sqlite3_finalize(st);
    cJSON_Delete(out);
    return NULL;
}

int
cat_outbox_open(struct db *c, struct cat_outbox *ob, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    memset(ob, 0, sizeof(*ob));
    ob->c = c;
    ob->now_ms = cat_now_ms();
    if (db_prepare(c, &st,
                   "SELECT h.id, j.value FROM webhooks h, json_each(h.events) j ORDER BY h.id",
                   err) < 0)
        return -1;
    while ((rc = db_next(st, err)) > 0) {
        if (ob->n == cap) {
            cap = cap ? cap * 2 : 8;
            ob->hooks = xrealloc(ob->hooks, cap * sizeof(*ob->hooks));
            ob->kinds = xrealloc(ob->kinds, cap * sizeof(*ob->kinds));
        }
        ob->hooks[ob->n] = xstrdup(db_col_text(st, 0));
        ob->kinds[ob->n++] = xstrdup(db_col_text(st, 1));
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        cat_outbox_close(ob);
        return -1;
    }
    if (ob->n && db_prepare(c, &ob->ins,
                            "INSERT INTO webhook_deliveries(webhook_id, event_seq, event_kind,"
                            " next_attempt, created_at) VALUES(?, ?, ?, ?, ?)",
                            err) < 0) {
        cat_outbox_close(ob);
        return -1;
    }
    return 0;
}

int
cat_outbox_add(struct cat_outbox *ob, const char *kind, long long seq, struct app_err *err)
{
    char now[APP_TIME_LEN];

    if (!ob->ins)
        return 0;
    date_now_rfc3339(now);
    for (size_t i = 0; i < ob->n; i++) {
        if (strcmp(ob->kinds[i], kind) != 0)
            continue;
        sqlite3_reset(ob->ins);
        sqlite3_bind_text(ob->ins, 1, ob->hooks[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(ob->ins, 2, seq);
        sqlite3_bind_text(ob->ins, 3, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ob->ins, 4, ob->now_ms);
        sqlite3_bind_text(ob->ins, 5, now, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ob->ins) != SQLITE_DONE)
            return db_sql_fail(ob->c, err, "cannot queue webhook delivery");
        ob->queued++;
    }
    return 0;
}

void
cat_outbox_close(struct cat_outbox *ob)
{
    for (size_t i = 0; i < ob->n; i++) {
        free(ob->hooks[i]);
        free(ob->kinds[i]);
    }
    free(ob->hooks);
    free(ob->kinds);
    sqlite3_finalize(ob->ins);
    ob->hooks = ob->kinds = NULL;
    ob->ins = NULL;
    ob->n = 0;
}

void
cat_delivery_release(struct cat_delivery *d)
{
    if (!d)
        return;
    free(d->hook_id);
    free(d->url);
    free(d->secret);
    free(d->kind);
    free(d->body);
    memset(d, 0, sizeof(*d));
}

static char *
delivery_body(const char *kind, long long seq, const char *data, size_t *len)
{
    cJSON *o = xjson(cJSON_CreateObject());
    cJSON *d = data ? cJSON_Parse(data) : NULL;
    char *s;

    cJSON_AddItemToObject(o, "data", d ? d : xjson(cJSON_CreateObject()));
    xjson(cJSON_AddStringToObject(o, "event", kind));
    xjson(cJSON_AddNumberToObject(o, "seq", (double)seq));
    s = json_canonical(o, len);
    cJSON_Delete(o);
    return s;
}

int
cat_outbox_due(struct db *c, int64_t now_ms, size_t max, struct cat_delivery **out, size_t *n,
               int64_t *next_ms, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    *out = xcalloc(max ? max : 1, sizeof(**out));
    *n = 0;
    *next_ms = INT64_MAX;
    if (db_prepare(c, &st,
                   "SELECT d.id, d.event_seq, d.attempts, d.webhook_id, h.url, h.secret,"
                   " d.event_kind, e.data FROM webhook_deliveries d"
                   " JOIN webhooks h ON h.id = d.webhook_id"
                   " LEFT JOIN events e ON e.seq = d.event_seq"
                   " WHERE d.state = 'pending' AND d.next_attempt <= ?"
                   " ORDER BY d.next_attempt, d.id LIMIT ?",
                   err) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    while ((rc = db_next(st, err)) > 0) {
        struct cat_delivery *d = &(*out)[(*n)++];

        d->id = sqlite3_column_int64(st, 0);
        d->event_seq = sqlite3_column_int64(st, 1);
        d->attempts = sqlite3_column_int(st, 2);
        d->hook_id = xstrdup(db_col_text(st, 3));
        d->url = xstrdup(db_col_text(st, 4));
        d->secret = xstrdup(db_col_text(st, 5));
        d->kind = xstrdup(db_col_text(st, 6));
        d->body = delivery_body(d->kind, d->event_seq, db_col_text(st, 7), &d->body_len);
    }
    if (rc < 0)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (db_prepare(c, &st,
                   "SELECT MIN(next_attempt) FROM webhook_deliveries WHERE state = 'pending'"
                   " AND next_attempt > ?",
                   err) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, now_ms);
    rc = db_next(st, err);
    if (rc < 0)
        goto out;
    if (rc > 0 && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *next_ms = sqlite3_column_int64(st, 0);
    ret = 0;
out:
    sqlite3_finalize(st);
    if (ret < 0) {
        for (size_t i = 0; i < *n; i++)
            cat_delivery_release(&(*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return ret;
}

int
cat_outbox_record(struct db *c, const struct cat_delivery *d, long status, const char *error,
                  long long duration_ms, int ok, int64_t retry_at_ms, struct app_err *err)
{
    sqlite3_stmt *a = NULL, *u = NULL;
    const char *state = ok ? "delivered" : retry_at_ms < 0 ? "failed" : "pending";
    char now[APP_TIME_LEN];
    int ret = -1;

    date_now_rfc3339(now);
    if (cat_worker_begin(c, err) < 0)
        return -1;
    if (db_prepare(c, &a,
                   "INSERT OR REPLACE INTO webhook_attempts(delivery_id, attempt, at,"
                   " status_code, error, duration_ms) VALUES(?, ?, ?, ?, ?, ?)",
                   err) < 0 ||
        db_prepare(c, &u,
                   "UPDATE webhook_deliveries SET attempts = ?2, state = ?3, next_attempt = ?4,"
                   " last_status = ?5, last_error = ?6, finished_at = ?7 WHERE id = ?1",
                   err) < 0)
        goto out;
    sqlite3_bind_int64(a, 1, d->id);
    sqlite3_bind_int(a, 2, d->attempts + 1);
    sqlite3_bind_text(a, 3, now, -1, SQLITE_STATIC);
    if (status > 0)
        sqlite3_bind_int64(a, 4, status);
    sqlite3_bind_text(a, 5, error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(a, 6, duration_ms);
    sqlite3_bind_int64(u, 1, d->id);
    sqlite3_bind_int(u, 2, d->attempts + 1);
    sqlite3_bind_text(u, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 4, retry_at_ms < 0 ? 0 : retry_at_ms);
    if (status > 0)
        sqlite3_bind_int64(u, 5, status);
    sqlite3_bind_text(u, 6, error, -1, SQLITE_STATIC);
    if (strcmp(state, "pending") != 0)
        sqlite3_bind_text(u, 7, now, -1, SQLITE_STATIC);
    /* The update first: a webhook deleted meanwhile took its deliveries along. */
    if (sqlite3_step(u) != SQLITE_DONE ||
        (sqlite3_changes(c->db) > 0 && sqlite3_step(a) != SQLITE_DONE)) {
        db_sql_fail(c, err, "cannot record webhook attempt");
        goto out;
    }
    ret = cat_worker_commit(c, err);
out:
    if (ret < 0)
        db_rollback(c);
    sqlite3_finalize(a);
    sqlite3_finalize(u);
    return ret;
}
