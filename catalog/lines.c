/* catalog/lines.c: Python lines in the catalog database. */
#include "catalog/lines.h"

#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/pyline.h"
#include "db/events.h"

static cJSON *
line_row(sqlite3_stmt *st, int today)
{
    cJSON *o = xjson(cJSON_CreateObject());
    const char *eos = db_col_text(st, 2);
    int eos_days = 0;

    xjson(cJSON_AddStringToObject(o, "line", db_col_text(st, 0)));
    xjson(cJSON_AddStringToObject(o, "first_release", db_col_text(st, 1)));
    xjson(cJSON_AddStringToObject(o, "end_of_support", eos));
    json_add_str_or_null(o, "notes", db_col_text(st, 3));
    if (date_parse(eos, &eos_days) == 0)
        xjson(cJSON_AddStringToObject(o, "status", cat_support_status(eos_days, today)));
    return o;
}

#define LINE_COLS "line, first_release, end_of_support, notes"
/* Sort "3.9" before "3.10": by major then minor as integers. */
#define LINE_ORDER                                                                                 \
    " ORDER BY CAST(substr(line, 1, instr(line, '.') - 1) AS INTEGER),"                            \
    " CAST(substr(line, instr(line, '.') + 1) AS INTEGER)"

/* ctx: today (an int), for each line's support status. */
static cJSON *
line_list_row(sqlite3_stmt *st, void *ctx, struct app_err *err)
{
    (void)err;
    return line_row(st, *(const int *)ctx);
}

cJSON *
cat_line_list(struct db *c, int today, struct app_err *err)
{
    sqlite3_stmt *st = NULL;

    if (db_prepare(c, &st, "SELECT " LINE_COLS " FROM python_lines" LINE_ORDER, err) < 0)
        return NULL;
    return db_rows_json(st, line_list_row, &today, err);
}

cJSON *
cat_line_get(struct db *c, const char *line, int today, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    cJSON *o = NULL;
    int rc;

    if (db_prepare(c, &st, "SELECT " LINE_COLS " FROM python_lines WHERE line = ?", err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, line, -1, SQLITE_STATIC);
    rc = db_next(st, err);
    if (rc > 0)
        o = line_row(st, today);
    else if (rc == 0)
        app_fail(err, APP_ENOTFOUND, "python line '%s' is not in the catalog", line);
    sqlite3_finalize(st);
    return o;
}

cJSON *
cat_line_put(struct db *c, const char *line, const cJSON *body, int today, int *created,
             struct app_err *err)
{
    const char *first = NULL, *eos = NULL, *notes = NULL;
    char eos_buf[APP_DATE_LEN];
    sqlite3_stmt *st = NULL;
    int first_days, eos_days, rc;
    cJSON *out = NULL;

    if (!cat_pyline_valid(line)) {
        app_fail(err, APP_EINVAL, "'%s' is not a python line like '3.12'", line);
        return NULL;
    }
    if (!cJSON_IsObject(body)) {
        app_fail(err, APP_EINVAL, "request body must be a JSON object");
        return NULL;
    }
    if (json_string(body, "first_release", 1, &first, err) < 0 ||
        json_string(body, "end_of_support", 0, &eos, err) < 0 ||
        json_string(body, "notes", 0, &notes, err) < 0)
        return NULL;
    if (date_parse(first, &first_days) < 0) {
        app_fail(err, APP_EINVAL, "first_release '%s' is not a valid date (YYYY-MM-DD)", first);
        return NULL;
    }
    if (eos && date_parse(eos, &eos_days) < 0) {
        app_fail(err, APP_EINVAL, "end_of_support '%s' is not a valid date (YYYY-MM-DD)", eos);
        return NULL;
    }
    if (!eos) {
        eos_days = date_add_years(first_days, CAT_SUPPORT_YEARS);
        date_format(eos_days, eos_buf);
        eos = eos_buf;
    }
    if (eos_days <= first_days) {
        app_fail(err, APP_EINVAL, "end_of_support %s is not after first_release %s", eos, first);
        return NULL;
    }
    if (db_begin(c, err) < 0)
        return NULL;
    if (db_prepare(c, &st, "SELECT 1 FROM python_lines WHERE line = ?", err) < 0)
        goto fail;
    sqlite3_bind_text(st, 1, line, -1, SQLITE_STATIC);
    rc = db_exists(st, err);
    st = NULL;
    if (rc < 0)
        goto fail;
    *created = rc == 0;
    if (db_prepare(c, &st,
                   "INSERT INTO python_lines(line, first_release, end_of_support, notes)"
                   " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(line) DO UPDATE SET"
                   " first_release = ?2, end_of_support = ?3, notes = ?4",
                   err) < 0)
        goto fail;
    sqlite3_bind_text(st, 1, line, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, first, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, eos, -1, SQLITE_STATIC);
    if (notes)
        sqlite3_bind_text(st, 4, notes, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_fail(c, err, "cannot store python line");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    out = cat_line_get(c, line, today, err);
    if (!out ||
        db_event_append(c, *created ? "python_line.created" : "python_line.updated", line, out,
                        err) < 0 ||
        db_commit_catalog(c, err) < 0)
        goto fail;
    return out;
fail:
    sqlite3_finalize(st);
    db_rollback(c);
    cJSON_Delete(out);
    return NULL;
}
