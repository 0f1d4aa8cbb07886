/* tests/fuzz/fuzz_pyodide_lock.c: libFuzzer target for the pyodide-lock.json import
 * (catalog/pkgsets.c, PUT /v1/package-sets/{id}): the input is parsed as a request
 * body and imported as a draft package set of a fixed runtime, in a database made
 * once in a temporary directory.
 *
 * Checked: an import either succeeds and the set reads back with as many packages
 * as the lock had, or fails with a client error (4xx) and leaves no set behind
 * (the transaction rolled back). Every successful import is deleted again so each
 * input starts from the same state.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/json.h"
#include "app/log.h"
#include "app/mem.h"
#include "catalog/pkgsets.h"
#include "db/db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SET_ID "pyodide-0.26.4/2024-11-15"

static struct db *db;
static char dir[64];

/* Remove the database when the fuzzer exits. */
static void
cleanup(void)
{
    static const char *const files[] = {"almanac.db", "almanac.db-wal", "almanac.db-shm"};

    db_close(db);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *p = xasprintf("%s/%s", dir, files[i]);

        unlink(p);
        free(p);
    }
    rmdir(dir);
}

static void
quiet(enum app_log_level level, const char *line, void *arg)
{
    (void)level, (void)line, (void)arg;
}

static void
init(void)
{
    struct app_err err = {0};

    app_log_set_sink(quiet, NULL);
    snprintf(dir, sizeof(dir), "/tmp/almanac-fuzz-lock-XXXXXX");
    if (!mkdtemp(dir) || !(db = db_open(dir, &err)) ||
        db_exec(db,
                "INSERT INTO python_lines VALUES('3.12','2023-10-02','2028-10-02',NULL);"
                "INSERT INTO runtimes(id,pyodide,python,python_line,emscripten,abi,"
                "release_date,state,created_at) VALUES('pyodide-0.26.4','0.26.4','3.12.7',"
                "'3.12','3.1.58','pyodide_2024_0','2024-11-15','published',"
                "'2024-11-15T00:00:00Z');",
                &err) < 0) {
        fprintf(stderr, "fuzz_pyodide_lock: setup: %s\n", err.msg);
        abort();
    }
    atexit(cleanup);
}

static int
sets_count(void)
{
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_prepare_v2(db->db, "SELECT COUNT(*) FROM package_sets", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct app_err err = {0};
    cJSON *lock, *out;
    int created = 0;

    if (!db)
        init();
    lock = json_parse((const char *)data, size, &err);
    if (!lock) {
        app_err_release(&err);
        return 0;
    }
    out = cat_pkgset_put(db, SET_ID, lock, NULL, &created, &err);
    if (out) {
        const cJSON *pk = cJSON_GetObjectItemCaseSensitive(lock, "packages");
        cJSON *back = cat_pkgset_get(db, SET_ID, 0, &err);

        if (!created || !back ||
            cJSON_GetArraySize(cJSON_GetObjectItem(back, "packages")) != cJSON_GetArraySize(pk))
            abort();
        cJSON_Delete(back);
        cJSON_Delete(out);
        if (db_exec(db, "DELETE FROM packages; DELETE FROM package_sets; DELETE FROM artifacts;",
                    &err) < 0)
            abort();
    } else {
        int status = app_err_status(err.code);

        if (status < 400 || status >= 500 || sets_count() != 0)
            abort();
    }
    app_err_release(&err);
    cJSON_Delete(lock);
    return 0;
}
