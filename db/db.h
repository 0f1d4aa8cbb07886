/* db/db.h: the SQLite layer below catalog/ and artifacts/: one connection, statements,
 * row loops that tell "done" from "failed", transactions and the catalog generation.
 *
 * One struct db wraps one connection; it is used by one thread at a time (the server
 * keeps one per thread). The database lives in DATA/almanac.db in WAL mode so
 * readers never block the writer. Schema changes come only from db/migrate.c; each
 * table has one owner module (events: db/events.c, tokens: db/tokens.c, artifact
 * rows: artifacts/artdb.c, worker history: catalog/workers.c).
 *
 * SQL detail (the SQLite message) goes to the log through app_log, never into an
 * app_err a client sees: those carry a short phrase and APP_EINTERNAL.
 */
#ifndef DB_DB_H
#define DB_DB_H

#include <sqlite3.h>

#include <cjson/cJSON.h>

#include "app/err.h"

struct db {
    sqlite3 *db;
    char *path;
};

/* Open DATA/almanac.db (creating DATA if needed), set WAL and a busy timeout, and
 * apply migrations. Returns NULL with err filled (e.g. schema newer than binary). */
struct db *db_open(const char *data_dir, struct app_err *err);
/* Close the connection; NULL does nothing. */
void db_close(struct db *c);

/* Prepare sql; on failure fills err (500, SQL detail only in the log). */
int db_prepare(struct db *c, sqlite3_stmt **st, const char *sql, struct app_err *err);

/* Run one or more statements without results (DDL, PRAGMA); 0 or -1 with err. */
int db_exec(struct db *c, const char *sql, struct app_err *err);

/* Step a row loop: 1 when a row is ready, 0 when the statement is done, -1 when the
 * step failed (err filled with APP_EINTERNAL, SQL detail logged). Every loop over
 * rows ends through this, `while ((rc = db_next(st, err)) > 0)`, and checks rc < 0
 * after it, so a failing step never passes for the end of the data. */
int db_next(sqlite3_stmt *st, struct app_err *err);

/* Answer "is there a row" with a prepared, bound query and finalize it: st is
 * consumed, also on failure. 1 yes, 0 no, -1 failed (err, as db_next). For a query
 * whose row is read, use db_next. */
int db_exists(sqlite3_stmt *st, struct app_err *err);

/* One JSON element for the current row of st; NULL with err filled stops the loop
 * as a failure (a child query that failed). */
typedef cJSON *(*db_row_json_fn)(sqlite3_stmt *st, void *ctx, struct app_err *err);

/* The rows of a prepared, bound statement as a JSON array, one element per row made
 * by row(st, ctx, err). Consumes st (finalized). NULL with err when a step or a row
 * fails: a listing is whole or not at all. The caller owns the array. */
cJSON *db_rows_json(sqlite3_stmt *st, db_row_json_fn row, void *ctx, struct app_err *err);

/* Step a statement that returns no rows (INSERT, UPDATE, DELETE): 0 when it ran to
 * completion, -1 with err filled ("what" is the client-facing phrase). */
int db_step_done(sqlite3_stmt *st, struct app_err *err, const char *what);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. db_commit bumps nothing; db_commit_catalog
 * also bumps the catalog generation so cached snapshots are rebuilt. A failed
 * commit rolls back. db_rollback never fails and does nothing outside a transaction. */
int db_begin(struct db *c, struct app_err *err);
int db_commit(struct db *c, struct app_err *err);
int db_commit_catalog(struct db *c, struct app_err *err);
void db_rollback(struct db *c);

/* Fill err from the connection's last error, with a context phrase; returns -1. */
int db_sql_fail(struct db *c, struct app_err *err, const char *what);

/* A text column, borrowed until the next step (NULL for SQL NULL), or a copy the
 * caller frees (NULL for SQL NULL). */
const char *db_col_text(sqlite3_stmt *st, int col);
char *db_col_dup(sqlite3_stmt *st, int col);

/* The in-process catalog generation: bumped after a committed catalog change;
 * readers rebuild cached snapshots when it moves. */
void db_generation_bump(void);
unsigned long db_generation(void);

/* Test hook: make the n-th db_next call from now (1 = the next one) fail inside
 * SQLite (a progress handler aborts that step with SQLITE_INTERRUPT); 0 disarms.
 * Used by the fault-injection unit test; costs one atomic load per step otherwise. */
void db_fault_next(unsigned n);

#endif
