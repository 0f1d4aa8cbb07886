/* catalog/hooks.h: webhooks and their outbox (DESIGN §11).
 *
 * A webhook is {id, url, events, secret}. Events a webhook subscribes to are queued
 * as deliveries in the same transaction that records the event (the outbox
 * pattern), so an event is never lost nor sent for a change that rolled back; the
 * server's delivery thread (server/webhooks.c) sends them later and records every
 * attempt here. Only http and https URLs are accepted.
 */
#ifndef CATALOG_HOOKS_H
#define CATALOG_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"

#define CAT_HOOK_ID_MAX 64
#define CAT_HOOK_URL_MAX 2048
#define CAT_HOOK_SECRET_MIN 16
#define CAT_HOOK_SECRET_MAX 1024
#define CAT_HOOK_PAGE_DEFAULT 100
#define CAT_HOOK_PAGE_MAX 1000

/* The event kinds a webhook may subscribe to, NULL-terminated. */
extern const char *const cat_hook_kinds[];

/* Create or change webhook id from {url, events, secret} (secret may be omitted
 * when changing). Returns the webhook as cat_hook_get shows it; *created tells
 * which. 400 on a bad id, URL, event kind or secret. */
cJSON *cat_hook_put(struct db *c, const char *id, const cJSON *body, int *created,
                    struct app_err *err);

/* {id, url, events, created_at, updated_at, deliveries: {pending, delivered,
 * failed}}; never the secret. 404 when unknown. */
cJSON *cat_hook_get(struct db *c, const char *id, struct app_err *err);

/* Every webhook, by id. */
cJSON *cat_hook_list(struct db *c, struct app_err *err);

/* Remove a webhook and its deliveries; 404 when unknown. */
int cat_hook_delete(struct db *c, const char *id, struct app_err *err);

/* A page of a webhook's deliveries, newest first: {deliveries: [{id, event_seq,
 * event, state, attempts: [{attempt, at, status_code, error, duration_ms}],
 * next_attempt_at, last_status, last_error, created_at, finished_at}],
 * next_cursor}. state may be NULL (all) or pending/delivered/failed; cursor is the
 * previous page's next_cursor. */
cJSON *cat_hook_deliveries(struct db *c, const char *id, const char *state, const char *cursor,
                           size_t limit, struct app_err *err);

/* Queues deliveries while a transaction records events. */
struct cat_outbox {
    struct db *c;
    sqlite3_stmt *ins;
    char **hooks; /* webhook ids ... */
    char **kinds; /* ... and the kind each one subscribes to (pairs) */
    size_t n;
    int64_t now_ms;
    size_t queued;
};

/* Load the subscriptions (inside the caller's transaction). */
int cat_outbox_open(struct db *c, struct cat_outbox *ob, struct app_err *err);
/* Queue event seq of kind for every webhook subscribed to kind. */
int cat_outbox_add(struct cat_outbox *ob, const char *kind, long long seq, struct app_err *err);
void cat_outbox_close(struct cat_outbox *ob);

/* A delivery due to be sent, with what sending it needs. */
struct cat_delivery {
    long long id, event_seq;
    int attempts; /* made so far */
    char *hook_id, *url, *secret, *kind;
    char *body; /* {"data":...,"event":kind,"seq":n}, canonical */
    size_t body_len;
};

void cat_delivery_release(struct cat_delivery *d);

/* Up to max pending deliveries whose next attempt is at or before now_ms, oldest
 * first. *next_ms is set to the earliest later attempt time (INT64_MAX when none). */
int cat_outbox_due(struct db *c, int64_t now_ms, size_t max, struct cat_delivery **out, size_t *n,
                   int64_t *next_ms, struct app_err *err);

/* Record attempt number d->attempts + 1: its HTTP status (0: no answer), error
 * (NULL: none) and duration. When ok the delivery is delivered; otherwise it is
 * retried at retry_at_ms, or failed when retry_at_ms < 0. A delivery that no longer
 * exists (its webhook was deleted) is ignored. */
int cat_outbox_record(struct db *c, const struct cat_delivery *d, long status, const char *error,
                      long long duration_ms, int ok, int64_t retry_at_ms, struct app_err *err);

/* Unix time in milliseconds. */
int64_t cat_now_ms(void);

#endif
