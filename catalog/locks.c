/* catalog/locks.c: the store of issued locks: insert once by id, read back exact bytes. */
#include "catalog/locks.h"

#include "app/date.h"
#include "app/mem.h"

int
cat_lock_store(struct db *c, const char *id, const char *bytes, size_t len, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char now[APP_TIME_LEN];
    int ret = -1;

    date_now_rfc3339(now);
    if (db_prepare(c, &st, "INSERT OR IGNORE INTO locks(id, bytes, created_at) VALUES(?,?,?)",
                   err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, bytes, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE)
        ret = 0;
    else
        db_sql_fail(c, err, "cannot store lock");
    sqlite3_finalize(st);
    return ret;
}

int
cat_lock_load(struct db *c, const char *id, char **bytes, size_t *len, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    if (db_prepare(c, &st, "SELECT bytes FROM locks WHERE id = ?", err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        *bytes = xstrndup(sqlite3_column_blob(st, 0), *len);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        app_fail(err, APP_ENOTFOUND, "lock '%s' was never issued by this server", id);
    } else {
        db_sql_fail(c, err, "cannot read lock");
    }
    sqlite3_finalize(st);
    return ret;
}
