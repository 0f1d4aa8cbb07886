/* tests/unit/test_migrate.c: schema migrations: applied once in order, recorded, and a
 * database newer than the binary refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/mem.h"
#include "db/db.h"
#include "db/migrate.h"
#include "tests/lib/unit.h"

static char *
temp_dir(void)
{
    char tmpl[] = "/tmp/almanac-mig-XXXXXX";
    char *d = mkdtemp(tmpl);

    ck_assert_ptr_nonnull(d);
    return xstrdup(d);
}

/* Remove what db_open made in dir. */
static void
remove_dir(char *dir)
{
    static const char *const files[] = {"almanac.db", "almanac.db-wal", "almanac.db-shm"};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *p = xasprintf("%s/%s", dir, files[i]);

        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(dir);
}

static int
count(struct db *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int n;

    ck_assert_int_eq(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(test_applied_once_in_order)
{
    struct app_err err = {0};
    char *dir = temp_dir();
    struct db *c = db_open(dir, &err);

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(count(c, "SELECT COUNT(*) FROM schema_migrations"), (int)mig_count);
    ck_assert_int_eq(count(c, "SELECT MAX(version) FROM schema_migrations"),
                     (int)mig_files[mig_count - 1].version);
    for (unsigned i = 1; i < mig_count; i++)
        ck_assert_uint_lt(mig_files[i - 1].version, mig_files[i].version);
    db_close(c);
    /* Reopening applies nothing again. */
    c = db_open(dir, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(count(c, "SELECT COUNT(*) FROM schema_migrations"), (int)mig_count);
    db_close(c);
    remove_dir(dir);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
    struct app_err err = {0};
    char *dir = temp_dir();
    struct db *c = db_open(dir, &err);

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(sqlite3_exec(c->db,
                                  "INSERT INTO schema_migrations(version, name)"
                                  " VALUES(9999, '9999_from_the_future')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    db_close(c);
    c = db_open(dir, &err);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(err.msg, "newer than this almanacd"));
    ck_assert_ptr_nonnull(strstr(err.msg, "9999"));
    app_err_release(&err);
    remove_dir(dir);
}
END_TEST

/* Tokens made before scopes (schema 3) become admin tokens named legacy-N, and
 * events before the principal column say "system". */
START_TEST(test_legacy_tokens_become_admin)
{
    struct app_err err = {0};
    char *dir = temp_dir();
    char *path = xasprintf("%s/almanac.db", dir);
    sqlite3 *db = NULL;
    struct db *c;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY,"
                                  " name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT 'x')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    for (unsigned i = 0; i < mig_count && mig_files[i].version <= 3; i++) {
        char *rec = xasprintf("INSERT INTO schema_migrations(version, name) VALUES(%u, '%s')",
                              mig_files[i].version, mig_files[i].name);

        ck_assert_int_eq(sqlite3_exec(db, mig_files[i].sql, NULL, NULL, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_exec(db, rec, NULL, NULL, NULL), SQLITE_OK);
        free(rec);
    }
    ck_assert_int_eq(sqlite3_exec(db,
                                  "INSERT INTO tokens(hash, created_at) VALUES"
                                  " ('a', '2026-01-01T00:00:00Z'), ('b', '2026-01-02T00:00:00Z');"
                                  "INSERT INTO events(at, kind, subject) VALUES"
                                  " ('2026-01-01T00:00:00Z', 'token.created', 'token')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    c = db_open(dir, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(count(c, "SELECT COUNT(*) FROM tokens WHERE scope = 'admin' AND"
                              " name = 'legacy-' || id AND revoked_at IS NULL"),
                     2);
    ck_assert_int_eq(count(c, "SELECT COUNT(*) FROM tokens WHERE name IN ('legacy-1', 'legacy-2')"),
                     2);
    ck_assert_int_eq(count(c, "SELECT COUNT(*) FROM events WHERE principal = 'system'"), 1);
    db_close(c);
    free(path);
    remove_dir(dir);
}
END_TEST

/* Issue 9: a zero-byte database is refused, not re-initialized; a new one is 0600. */
START_TEST(test_empty_db_refused_new_db_private)
{
    char *dir = temp_dir();
    char *path = xasprintf("%s/almanac.db", dir);
    struct app_err err = {0};
    struct db *c = db_open(dir, &err);
    struct stat st;
    FILE *f;

    ck_assert_ptr_nonnull(c);
    db_close(c);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_gt(st.st_size, 0);
    f = fopen(path, "w"); /* truncate, as a bad restore would */
    ck_assert_ptr_nonnull(f);
    fclose(f);
    c = db_open(dir, &err);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(err.msg, "exists but is empty"));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0); /* left as it was */
    app_err_release(&err);
    free(path);
    remove_dir(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_applied_once_in_order);
    tcase_add_test(tc, test_newer_schema_refused);
    tcase_add_test(tc, test_legacy_tokens_become_admin);
    tcase_add_test(tc, test_empty_db_refused_new_db_private);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
