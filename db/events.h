/* db/events.h: the event log, sole owner of the events table.
 *
 * Every committed change to the catalog, the registry or the keys appends one event
 * inside the same transaction, so the log and the data never disagree. Events are
 * numbered by seq (monotonic) and paged with an "after" cursor.
 */
#ifndef DB_EVENTS_H
#define DB_EVENTS_H

#include <sqlite3.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"

/* The largest page GET /v1/events serves, and the page it serves without ?limit
 * (enough for a screen of the dashboard, small enough to answer at once). */
#define DB_EVENTS_PAGE_MAX 1000
#define DB_EVENTS_PAGE_DEFAULT 100

/* Who the calling thread acts for (a token name, "cli", "sweep"); every event
 * appended by this thread records it. Borrowed: the string must outlive its use.
 * NULL resets it to "system". */
void db_event_set_principal(const char *principal);
const char *db_event_principal(void);

/* Append an event (kind, subject, data object borrowed, NULL for {}) inside the
 * current transaction. */
int db_event_append(struct db *c, const char *kind, const char *subject, const cJSON *data,
                    struct app_err *err);

/* A prepared appender for a transaction that records many events (the end-of-support
 * apply): open once, append many, close. Not thread-safe; one per transaction. */
struct db_event_writer {
    struct db *c;
    sqlite3_stmt *st;
};

int db_event_writer_open(struct db *c, struct db_event_writer *w, struct app_err *err);
/* Append with data already canonical JSON text and a caller-chosen timestamp; *seq
 * receives the new event's number. */
int db_event_writer_add(struct db_event_writer *w, const char *at, const char *kind,
                        const char *subject, const char *data, long long *seq, struct app_err *err);
/* Finalize the statement; safe on a zeroed or already closed writer. */
void db_event_writer_close(struct db_event_writer *w);

/* Up to limit events with seq > after, oldest first, as an array of
 * {seq, at, kind, subject, data, principal}; the caller owns it. NULL with err on failure. */
cJSON *db_events_page(struct db *c, long long after, long long limit, struct app_err *err);

/* The last limit events with after < seq < before, oldest first (a dashboard's
 * newest page, or the page before one it shows); as db_events_page otherwise. */
cJSON *db_events_last(struct db *c, long long after, long long before, long long limit,
                      struct app_err *err);

#endif
