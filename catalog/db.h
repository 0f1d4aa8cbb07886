/* catalog/db.h: the SQLite catalog database: open, migrate, statements, events.
 *
 * One struct cat wraps one connection; it is used by one thread at a time (the
 * server keeps one per worker thread). The database lives in DATA/almanac.db in WAL
 * mode so readers never block the writer. Every change to the catalog goes through
 * a transaction that also appends to the event log (cat_event).
 */
#ifndef CATALOG_DB_H
#define CATALOG_DB_H

#include <sqlite3.h>

#include <cjson/cJSON.h>

#include "app/err.h"

struct cat {
    sqlite3 *db;
    char *path;
};

/* Open DATA/almanac.db (creating DATA if needed), set WAL and a busy timeout, and
 * apply migrations. Returns NULL with err filled (e.g. schema newer than binary). */
struct cat *cat_open(const char *data_dir, struct app_err *err);
void cat_free(struct cat *c);

/* Prepare sql; on failure fills err (500, SQL detail only in the server log). */
int cat_prepare(struct cat *c, sqlite3_stmt **st, const char *sql, struct app_err *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. cat_rollback never fails. */
int cat_begin(struct cat *c, struct app_err *err);
int cat_commit(struct cat *c, struct app_err *err);
void cat_rollback(struct cat *c);

/* Fill err from the connection's last error, with a context phrase. */
int cat_sql_fail(struct cat *c, struct app_err *err, const char *what);

/* Append an event (kind, subject, data object borrowed) inside the current
 * transaction. */
int cat_event(struct cat *c, const char *kind, const char *subject, const cJSON *data,
              struct app_err *err);

/* The current UTC time as an RFC 3339 string "YYYY-MM-DDTHH:MM:SSZ". */
void cat_now(char out[21]);

/* Column helpers: a text column as a string, or NULL. */
const char *cat_col_text(sqlite3_stmt *st, int col);

/* Bump the in-process catalog generation (after a committed change) and read it;
 * readers rebuild cached snapshots when it moves. */
void cat_generation_bump(void);
unsigned long cat_generation(void);

#endif
