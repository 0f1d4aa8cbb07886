/* db/migrate.c: apply embedded migrations in order, refuse newer schemas. */
#include "db/migrate.h"

#include <stdio.h>

static int
current_version(sqlite3 *db, int *version, struct app_err *err)
{
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations("
                     " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                     " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))",
                     NULL, NULL, NULL) != SQLITE_OK)
        return app_fail(err, APP_EINTERNAL, "cannot create migrations table: %s",
                        sqlite3_errmsg(db));
    return mig_version(db, version, err);
}

int
mig_version(sqlite3 *db, int *version, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &st,
                           NULL) != SQLITE_OK)
        return app_fail(err, APP_EINTERNAL, "cannot read schema version: %s", sqlite3_errmsg(db));
    rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : app_fail(err, APP_EINTERNAL, "cannot read schema version");
}

int
mig_apply(sqlite3 *db, struct app_err *err)
{
    unsigned newest = mig_count ? mig_files[mig_count - 1].version : 0;
    int have = 0;
    char *msg = NULL;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return app_fail(err, APP_EINTERNAL, "cannot lock database for migration: %s",
                        sqlite3_errmsg(db));
    if (current_version(db, &have, err) < 0)
        goto fail;
    if ((unsigned)have > newest) {
        app_fail(err, APP_EINTERNAL,
                 "database schema version %d is newer than this almanacd knows (%u); "
                 "use a newer almanacd",
                 have, newest);
        goto fail;
    }
    for (unsigned i = 0; i < mig_count; i++) {
        const struct mig_file *m = &mig_files[i];
        sqlite3_stmt *st = NULL;

        if (m->version <= (unsigned)have)
            continue;
        if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
            app_fail(err, APP_EINTERNAL, "migration %s failed: %s", m->name,
                     msg ? msg : "unknown error");
            sqlite3_free(msg);
            goto fail;
        }
        if (sqlite3_prepare_v2(db, "INSERT INTO schema_migrations(version, name) VALUES(?, ?)", -1,
                               &st, NULL) != SQLITE_OK) {
            app_fail(err, APP_EINTERNAL, "cannot record migration %s", m->name);
            goto fail;
        }
        sqlite3_bind_int(st, 1, (int)m->version);
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            app_fail(err, APP_EINTERNAL, "cannot record migration %s", m->name);
            goto fail;
        }
        sqlite3_finalize(st);
        have = (int)m->version;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        app_fail(err, APP_EINTERNAL, "cannot commit migrations: %s", sqlite3_errmsg(db));
        goto fail;
    }
    return have;
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
