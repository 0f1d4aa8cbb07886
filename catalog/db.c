/* catalog/db.c: SQLite connection setup, transactions and the event log. */
#include "catalog/db.h"

#include <stdlib.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app/json.h"
#include "app/mem.h"
#include "catalog/migrate.h"

#define CAT_BUSY_TIMEOUT_MS 10000

static atomic_ulong generation = 1;

void
cat_generation_bump(void)
{
    atomic_fetch_add(&generation, 1);
}

unsigned long
cat_generation(void)
{
    return atomic_load(&generation);
}

struct cat *
cat_open(const char *data_dir, struct app_err *err)
{
    struct cat *c = xcalloc(1, sizeof(*c));

    if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
        app_fail(err, APP_EINTERNAL, "cannot create data directory '%s': %s", data_dir,
                 strerror(errno));
        goto fail;
    }
    c->path = xasprintf("%s/almanac.db", data_dir);
    if (sqlite3_open_v2(c->path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        app_fail(err, APP_EINTERNAL, "cannot open database '%s': %s", c->path,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(c->db, CAT_BUSY_TIMEOUT_MS);
    if (sqlite3_exec(c->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA foreign_keys=ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        cat_sql_fail(c, err, "cannot configure database");
        goto fail;
    }
    if (mig_apply(c->db, err) < 0)
        goto fail;
    return c;
fail:
    cat_free(c);
    return NULL;
}

void
cat_free(struct cat *c)
{
    if (!c)
        return;
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

int
cat_sql_fail(struct cat *c, struct app_err *err, const char *what)
{
    /* The SQL detail goes to the log, never to a client. */
    fprintf(stderr, "almanac: sqlite: %s: %s\n", what, sqlite3_errmsg(c->db));
    return app_fail(err, APP_EINTERNAL, "%s", what);
}

int
cat_prepare(struct cat *c, sqlite3_stmt **st, const char *sql, struct app_err *err)
{
    *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
        return cat_sql_fail(c, err, "database query failed");
    return 0;
}

int
cat_begin(struct cat *c, struct app_err *err)
{
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return cat_sql_fail(c, err, "cannot start transaction");
    return 0;
}

int
cat_commit(struct cat *c, struct app_err *err)
{
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        cat_sql_fail(c, err, "cannot commit transaction");
        cat_rollback(c);
        return -1;
    }
    cat_generation_bump();
    return 0;
}

void
cat_rollback(struct cat *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

void
cat_now(char out[21])
{
    struct tm tm;
    time_t t = time(NULL);

    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
cat_event(struct cat *c, const char *kind, const char *subject, const cJSON *data,
          struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char now[21];
    char *json = NULL;
    int ret = -1;

    cat_now(now);
    json = data ? json_canonical(data, NULL) : xstrdup("{}");
    if (cat_prepare(c, &st, "INSERT INTO events(at, kind, subject, data) VALUES(?,?,?,?)", err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, json, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        cat_sql_fail(c, err, "cannot record event");
        goto out;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    free(json);
    return ret;
}

const char *
cat_col_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}
