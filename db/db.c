/* db/db.c: SQLite connection setup, statements, row loops and transactions. */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "app/log.h"
#include "app/mem.h"
#include "db/migrate.h"

#define DB_BUSY_TIMEOUT_MS 10000

static atomic_ulong generation = 1;
static atomic_uint fault_countdown;

void
db_generation_bump(void)
{
    atomic_fetch_add(&generation, 1);
}

unsigned long
db_generation(void)
{
    return atomic_load(&generation);
}

void
db_fault_next(unsigned n)
{
    atomic_store(&fault_countdown, n);
}

/* A database that exists must hold something: SQLite would take a zero-byte file
 * (truncated by a bad restore or a full disk) for a new, empty catalog and migrate
 * it, silently losing every lock and worker. A new one is created here, 0600 (it
 * holds token hashes and webhook secrets; SQLite gives its -wal and -shm files the
 * same mode). */
static int
db_file_prepare(const char *path, struct app_err *err)
{
    struct stat st;
    int fd;

    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return app_fail(err, APP_EINTERNAL, "database '%s' is not a regular file", path);
        if (st.st_size == 0)
            return app_fail(err, APP_EINTERNAL,
                            "database '%s' exists but is empty (0 bytes); refusing to start on "
                            "it as a new catalog: restore it from a backup, or remove it to "
                            "start over",
                            path);
        return 0;
    }
    if (errno != ENOENT)
        return app_fail(err, APP_EINTERNAL, "cannot read database '%s': %s", path, strerror(errno));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
        return app_fail(err, APP_EINTERNAL, "cannot create database '%s': %s", path,
                        strerror(errno));
    if (fd >= 0)
        close(fd);
    return 0;
}

struct db *
db_open(const char *data_dir, struct app_err *err)
{
    struct db *c = xcalloc(1, sizeof(*c));

    if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
        app_fail(err, APP_EINTERNAL, "cannot create data directory '%s': %s", data_dir,
                 strerror(errno));
        goto fail;
    }
    c->path = xasprintf("%s/almanac.db", data_dir);
    if (db_file_prepare(c->path, err) < 0)
        goto fail;
    if (sqlite3_open_v2(c->path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        app_fail(err, APP_EINTERNAL, "cannot open database '%s': %s", c->path,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(c->db, DB_BUSY_TIMEOUT_MS);
    if (db_exec(c,
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                " PRAGMA foreign_keys=ON;",
                err) < 0)
        goto fail;
    if (mig_apply(c->db, err) < 0)
        goto fail;
    return c;
fail:
    db_close(c);
    return NULL;
}

void
db_close(struct db *c)
{
    if (!c)
        return;
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

static int
sql_fail_handle(sqlite3 *h, struct app_err *err, const char *what)
{
    /* The SQL detail goes to the log, never to a client. */
    app_log(APP_LOG_ERROR, "sqlite: %s: %s", what, h ? sqlite3_errmsg(h) : "no connection");
    return app_fail(err, APP_EINTERNAL, "%s", what);
}

int
db_sql_fail(struct db *c, struct app_err *err, const char *what)
{
    return sql_fail_handle(c->db, err, what);
}

int
db_prepare(struct db *c, sqlite3_stmt **st, const char *sql, struct app_err *err)
{
    *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_sql_fail(c, err, "database query failed");
    return 0;
}

int
db_exec(struct db *c, const char *sql, struct app_err *err)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_sql_fail(c, err, "database statement failed");
    return 0;
}

/* A progress handler that aborts the running step (SQLITE_INTERRUPT). */
static int
fault_abort(void *arg)
{
    (void)arg;
    return 1;
}

/* The fault hook: when armed and counted down to this call, install a progress
 * handler that aborts the step, so the step fails inside SQLite itself. Returns 1
 * when it fired (the caller removes the handler after the step). */
static int
fault_maybe_arm(sqlite3_stmt *st)
{
    unsigned n = atomic_load(&fault_countdown);

    if (n == 0)
        return 0;
    atomic_store(&fault_countdown, n - 1);
    if (n != 1)
        return 0;
    sqlite3_progress_handler(sqlite3_db_handle(st), 1, fault_abort, NULL);
    return 1;
}

int
db_next(sqlite3_stmt *st, struct app_err *err)
{
    int fired = fault_maybe_arm(st);
    int rc = sqlite3_step(st);

    if (fired)
        sqlite3_progress_handler(sqlite3_db_handle(st), 0, NULL, NULL);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sql_fail_handle(sqlite3_db_handle(st), err, "database query failed");
}

int
db_exists(sqlite3_stmt *st, struct app_err *err)
{
    int rc = db_next(st, err);

    sqlite3_finalize(st);
    return rc;
}

cJSON *
db_rows_json(sqlite3_stmt *st, db_row_json_fn row, void *ctx, struct app_err *err)
{
    cJSON *arr = xjson(cJSON_CreateArray());
    int rc;

    while ((rc = db_next(st, err)) > 0) {
        cJSON *o = row(st, ctx, err);

        if (!o) {
            rc = -1;
            break;
        }
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

int
db_step_done(sqlite3_stmt *st, struct app_err *err, const char *what)
{
    if (sqlite3_step(st) == SQLITE_DONE)
        return 0;
    return sql_fail_handle(sqlite3_db_handle(st), err, what);
}

int
db_begin(struct db *c, struct app_err *err)
{
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_sql_fail(c, err, "cannot start transaction");
    return 0;
}

int
db_commit(struct db *c, struct app_err *err)
{
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_sql_fail(c, err, "cannot commit transaction");
        db_rollback(c);
        return -1;
    }
    return 0;
}

int
db_commit_catalog(struct db *c, struct app_err *err)
{
    if (db_commit(c, err) < 0)
        return -1;
    db_generation_bump();
    return 0;
}

void
db_rollback(struct db *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

const char *
db_col_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

char *
db_col_dup(sqlite3_stmt *st, int col)
{
    const char *s = db_col_text(st, col);

    return s ? xstrdup(s) : NULL;
}
