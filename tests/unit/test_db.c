/* tests/unit/test_db.c: the db/ layer: db_next tells "done" from "failed", and a step
 * that fails anywhere while the catalog snapshot loads (forced through db_fault_next,
 * which interrupts the connection so SQLite itself fails the step) makes the whole
 * load refuse instead of serving a partial catalog. Also the event log and tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/log.h"
#include "app/mem.h"
#include "catalog/flagdb.h"
#include "catalog/lines.h"
#include "catalog/runtimes.h"
#include "catalog/snapload.h"
#include "db/db.h"
#include "db/events.h"
#include "db/tokens.h"
#include "tests/lib/unit.h"

/* Rows the snapshot loader reads with every one of its loops: lines, runtimes with
 * artifacts, package sets with packages (depends and imports arrays), flags with
 * implied flags. Drafts are present too and must stay out of the snapshot. */
static const char *const fixture_sql =
    "INSERT INTO python_lines VALUES('3.12','2023-10-02','2028-10-31',NULL),"
    " ('3.13','2024-10-07','2029-10-31',NULL);"
    "INSERT INTO runtimes(id,pyodide,python,python_line,emscripten,abi,release_date,state,"
    " created_at) VALUES('pyodide-0.27.7','0.27.7','3.12.7','3.12','3.1.58','2024_0',"
    " '2025-06-01','published','2025-06-01T00:00:00Z'),"
    " ('pyodide-0.28.0','0.28.0','3.13.2','3.13','4.0.9','2025_0','2025-07-01','draft',"
    " '2025-07-01T00:00:00Z');"
    "INSERT INTO runtime_artifacts VALUES('pyodide-0.27.7','asm_wasm','pyodide.asm.wasm',"
    " printf('%064d',1),10),('pyodide-0.27.7','asm_js','pyodide.asm.js',printf('%064d',2),20);"
    "INSERT INTO package_sets(id,runtime_id,date,state,created_at) VALUES"
    " ('pyodide-0.27.7/2025-06-01','pyodide-0.27.7','2025-06-01','published',"
    " '2025-06-01T00:00:00Z');"
    "INSERT INTO packages(set_id,name,version,file_name,sha256,depends,imports) VALUES"
    " ('pyodide-0.27.7/2025-06-01','numpy','2.0.2','numpy.whl',printf('%064d',3),'[]',"
    " '[\"numpy\"]'),"
    " ('pyodide-0.27.7/2025-06-01','pandas','2.2.3','pandas.whl',printf('%064d',4),"
    " '[\"numpy\",\"pytz\"]','[\"pandas\"]'),"
    " ('pyodide-0.27.7/2025-06-01','pytz','2024.1','pytz.whl',printf('%064d',5),'[]',"
    " '[\"pytz\"]');"
    "INSERT INTO flags(name,disable_flag,enable_date,state,created_at) VALUES"
    " ('python_workers','no_python_workers','2024-04-01','published','2024-04-01T00:00:00Z'),"
    " ('python_workers_20250116',NULL,'2025-09-29','published','2025-01-16T00:00:00Z'),"
    " ('python_draft',NULL,NULL,'draft','2025-01-16T00:00:00Z');"
    "INSERT INTO flag_implied VALUES('python_workers_20250116','python_workers','2025-01-16');";

static char *dir;
static struct db *c;

static void
quiet_sink(enum app_log_level level, const char *line, void *arg)
{
    (void)level, (void)line;
    (*(int *)arg)++;
}

static int logged;

static void
setup(void)
{
    char tmpl[] = "/tmp/almanac-db-XXXXXX";
    struct app_err err = {0};

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    dir = xstrdup(tmpl);
    c = db_open(dir, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(db_exec(c, fixture_sql, &err), 0);
    logged = 0;
    app_log_set_sink(quiet_sink, &logged);
}

static void
teardown(void)
{
    static const char *const files[] = {"almanac.db", "almanac.db-wal", "almanac.db-shm"};

    db_fault_next(0);
    app_log_set_sink(NULL, NULL);
    db_close(c);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *p = xasprintf("%s/%s", dir, files[i]);

        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(dir);
}

START_TEST(test_next_done_and_failed)
{
    struct app_err err = {0};
    sqlite3_stmt *st = NULL;
    int n = 0, rc;

    ck_assert_int_eq(db_prepare(c, &st, "SELECT line FROM python_lines ORDER BY line", &err), 0);
    while ((rc = db_next(st, &err)) > 0)
        n++;
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(n, 2);
    sqlite3_reset(st);
    /* The second step fails: one row, then -1 with a client-safe message. */
    db_fault_next(2);
    n = 0;
    while ((rc = db_next(st, &err)) > 0)
        n++;
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(err.code, APP_EINTERNAL);
    ck_assert_ptr_null(strstr(err.msg, "interrupt")); /* SQL detail stays in the log */
    ck_assert_int_ge(logged, 1);
    sqlite3_finalize(st);
    app_err_release(&err);
}
END_TEST

START_TEST(test_snapshot_load_complete)
{
    struct app_err err = {0};
    struct snap *s = snap_load(c, &err);
    const struct snap_set *set;

    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_uint_eq(s->n_lines, 2);
    ck_assert_uint_eq(s->n_runtimes, 1);
    ck_assert_uint_eq(s->runtimes[0].n_arts, 2);
    ck_assert_uint_eq(s->n_sets, 1);
    set = snap_set(s, "pyodide-0.27.7/2025-06-01");
    ck_assert_ptr_nonnull(set);
    ck_assert_uint_eq(set->n_pkgs, 3);
    ck_assert_uint_eq(snap_pkg(set, "pandas")->n_depends, 2);
    ck_assert_uint_eq(s->n_flags, 2);
    ck_assert_uint_eq(snap_flag(s, "python_workers_20250116")->n_implied, 1);
    snap_free(s);
}
END_TEST

/* Fail the n-th step of a load for every n the load performs: each attempt must
 * refuse (NULL, 500), and the first n past the last step loads the whole catalog. */
START_TEST(test_snapshot_load_refuses_on_any_failed_step)
{
    struct app_err err = {0};
    struct snap *s = NULL;
    unsigned n;

    for (n = 1; n < 1000; n++) {
        app_err_release(&err);
        db_fault_next(n);
        s = snap_load(c, &err);
        if (s)
            break;
        ck_assert_int_eq(err.code, APP_EINTERNAL);
    }
    db_fault_next(0);
    ck_assert_ptr_nonnull(s);
    /* Lines 2+1, runtimes 1+1, artifacts 2+1, sets 1+1, packages 3+1, depends and
     * imports arrays 6 loops, flags 2+1, implied 2 loops: every one was failed once. */
    ck_assert_uint_ge(n, 20);
    ck_assert_uint_eq(s->n_lines, 2);
    ck_assert_uint_eq(s->n_sets, 1);
    ck_assert_uint_eq(s->sets[0].n_pkgs, 3);
    ck_assert_uint_eq(s->n_flags, 2);
    snap_free(s);
    /* The connection is usable again after the injected failures. */
    s = snap_load(c, &err);
    ck_assert_ptr_nonnull(s);
    snap_free(s);
    app_err_release(&err);
}
END_TEST

START_TEST(test_events_append_and_page)
{
    struct app_err err = {0};
    cJSON *page, *data = cJSON_CreateObject();

    cJSON_AddStringToObject(data, "k", "v");
    ck_assert_int_eq(db_begin(c, &err), 0);
    ck_assert_int_eq(db_event_append(c, "a.one", "s1", data, &err), 0);
    ck_assert_int_eq(db_event_append(c, "a.two", "s2", NULL, &err), 0);
    ck_assert_int_eq(db_commit(c, &err), 0);
    page = db_events_page(c, 0, 10, &err);
    ck_assert_ptr_nonnull(page);
    ck_assert_int_eq(cJSON_GetArraySize(page), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(page, 1), "kind")->valuestring,
                     "a.two");
    cJSON_Delete(page);
    page = db_events_page(c, 1, 10, &err);
    ck_assert_int_eq(cJSON_GetArraySize(page), 1);
    cJSON_Delete(page);
    db_fault_next(1);
    ck_assert_ptr_null(db_events_page(c, 0, 10, &err));
    ck_assert_int_eq(err.code, APP_EINTERNAL);
    cJSON_Delete(data);
    app_err_release(&err);
}
END_TEST

/* A failing step in a lookup by id is a 500, never "not found". */
START_TEST(test_get_failure_is_not_404)
{
    struct app_err err = {0};
    cJSON *o;

    o = cat_line_get(c, "3.12", 0, &err);
    ck_assert_ptr_nonnull(o);
    cJSON_Delete(o);
    db_fault_next(1);
    ck_assert_ptr_null(cat_line_get(c, "3.12", 0, &err));
    ck_assert_int_eq(err.code, APP_EINTERNAL);
    db_fault_next(1);
    ck_assert_ptr_null(cat_runtime_get(c, "pyodide-0.27.7", &err));
    ck_assert_int_eq(err.code, APP_EINTERNAL);
    db_fault_next(1);
    ck_assert_ptr_null(cat_flag_get(c, "python_workers", &err));
    ck_assert_int_eq(err.code, APP_EINTERNAL);
    ck_assert_ptr_null(cat_flag_get(c, "no_such_flag", &err));
    ck_assert_int_eq(err.code, APP_ENOTFOUND);
    app_err_release(&err);
}
END_TEST

START_TEST(test_tokens)
{
    struct app_err err = {0};
    struct db_token_who who;
    char *tok = NULL, *name = NULL, *ro = NULL;

    ck_assert_int_eq(db_token_create(c, NULL, DB_SCOPE_ADMIN, NULL, &tok, &name, &err), 0);
    ck_assert_int_eq(strncmp(tok, DB_TOKEN_PREFIX, strlen(DB_TOKEN_PREFIX)), 0);
    ck_assert_int_eq(strncmp(name, "token-", 6), 0);
    ck_assert_int_eq(db_token_check(c, tok, &who, &err), 0);
    ck_assert_str_eq(who.name, name);
    ck_assert_int_eq(who.scope, DB_SCOPE_ADMIN);
    ck_assert_int_eq(db_token_check(c, "alm_nope", &who, &err), -1);
    ck_assert_int_eq(err.code, APP_EAUTH);
    app_err_release(&err);
    /* a taken name is 409; a past expiry and an unknown scope are 400 */
    ck_assert_int_eq(db_token_create(c, name, DB_SCOPE_READ, NULL, &ro, NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_ECONFLICT);
    app_err_release(&err);
    ck_assert_int_eq(db_token_create(c, "old", DB_SCOPE_READ, "2001-01-01", &ro, NULL, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    app_err_release(&err);
    ck_assert_int_eq(db_token_create(c, "ro", DB_SCOPE_READ, "2999-01-01", &ro, NULL, &err), 0);
    ck_assert_int_eq(db_token_check(c, ro, &who, &err), 0);
    ck_assert_int_eq(who.scope, DB_SCOPE_READ);
    /* revocation counts from the next check */
    ck_assert_int_eq(db_token_revoke(c, "ro", &err), 0);
    ck_assert_int_eq(db_token_check(c, ro, &who, &err), -1);
    ck_assert_int_eq(err.code, APP_EAUTH);
    ck_assert_ptr_nonnull(strstr(err.msg, "revoked"));
    app_err_release(&err);
    ck_assert_int_eq(db_token_revoke(c, "nope", &err), -1);
    ck_assert_int_eq(err.code, APP_ENOTFOUND);
    app_err_release(&err);
    db_fault_next(1);
    ck_assert_int_eq(db_token_check(c, tok, &who, &err), -1);
    ck_assert_int_eq(err.code, APP_EINTERNAL);
    free(tok);
    free(ro);
    free(name);
    app_err_release(&err);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("db");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_next_done_and_failed);
    tcase_add_test(tc, test_snapshot_load_complete);
    tcase_add_test(tc, test_snapshot_load_refuses_on_any_failed_step);
    tcase_add_test(tc, test_events_append_and_page);
    tcase_add_test(tc, test_get_failure_is_not_404);
    tcase_add_test(tc, test_tokens);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
