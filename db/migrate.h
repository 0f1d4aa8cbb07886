/* db/migrate.h: schema migrations embedded from migrations/NNNN_name.sql.
 *
 * Each file is applied once, in number order, inside one transaction, and recorded
 * in schema_migrations. A database whose recorded version is newer than the newest
 * file this binary carries is refused: an older binary must not write to it.
 */
#ifndef DB_MIGRATE_H
#define DB_MIGRATE_H

#include <sqlite3.h>

#include "app/err.h"

struct mig_file {
    unsigned version;
    const char *name;
    const char *sql;
};

extern const struct mig_file mig_files[];
extern const unsigned mig_count;

/* Bring db up to the newest schema; returns the version now in force or -1. */
int mig_apply(sqlite3 *db, struct app_err *err);

/* The schema version in force (0 on an empty database); -1 with err on failure. */
int mig_version(sqlite3 *db, int *version, struct app_err *err);

#endif
