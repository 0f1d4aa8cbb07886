/* server/webhooks.h: the webhook delivery thread (DESIGN §11).
 *
 * Deliveries are queued in the database by the transaction that records their event
 * (catalog/hooks.h, the outbox); this thread sends them, so a webhook target that is
 * slow or down never blocks a sweep, an apply or a request. Each delivery is POSTed
 * with libcurl as JSON {"data":...,"event":kind,"seq":n} (canonical) with
 *
 *     Content-Type: application/json
 *     X-Almanac-Event: <kind>
 *     X-Almanac-Delivery: <delivery id>
 *     X-Almanac-Signature: sha256=<hex HMAC-SHA256 of the body keyed with the secret>
 *
 * A 2xx answer delivers it. Anything else (another status, a transport error, no
 * answer within WH_TIMEOUT_MS) is retried with exponential backoff, base
 * WH_BACKOFF_MS_DEFAULT (ALMANAC_WEBHOOK_BACKOFF_MS overrides it) doubling per
 * attempt, up to WH_MAX_ATTEMPTS attempts; then it is failed. Every attempt is
 * recorded. Redirects are not followed; only http and https are spoken. Up to
 * WH_BATCH deliveries are in flight at once.
 */
#ifndef SERVER_WEBHOOKS_H
#define SERVER_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/err.h"

/* Attempts per delivery, the first retry's delay (doubled each time, so 10 s, 20 s,
 * 40 s, 80 s: a receiver down for a few minutes still gets the event) and its
 * ceiling for ALMANAC_WEBHOOK_BACKOFF_MS (a day: tests shorten it, nobody needs it
 * longer). */
#define WH_MAX_ATTEMPTS 5
#define WH_BACKOFF_MS_DEFAULT 10000
#define WH_BACKOFF_MS_MAX (24LL * 3600 * 1000)
/* One slow receiver must not hold its slot for long: connect within 5 s, answer
 * within 10 s, or the attempt fails and is retried later. */
#define WH_CONNECT_TIMEOUT_MS 5000
#define WH_TIMEOUT_MS 10000
/* Deliveries taken from the outbox at a time (sent concurrently), and how long the
 * thread sleeps when none is due and nothing kicks it. */
#define WH_BATCH 16
#define WH_IDLE_MS 1000
#define WH_SIG_LEN (7 + 64 + 1) /* "sha256=" + hex + NUL */

struct wh_sender;

/* Start the delivery thread with its own connection to the database in data_dir.
 * Returns NULL with err filled when the database cannot be opened. */
struct wh_sender *wh_sender_start(const char *data_dir, struct app_err *err);

/* Wake the thread: deliveries were queued. NULL does nothing. */
void wh_sender_kick(struct wh_sender *w);

/* Stop the thread (in-flight attempts are abandoned and stay pending) and free it.
 * NULL does nothing. */
void wh_sender_stop(struct wh_sender *w);

/* Deliver to private, loopback, link-local and metadata addresses too
 * (--webhook-allow-private; app/netcheck.h lists the ranges). Off by default. Set
 * before wh_sender_start. */
void wh_set_allow_private(int on);

/* 0 when url may be registered: its host is a name (judged at every delivery, on
 * the address libcurl connects to) or a public address literal; -1 with err (400)
 * when it is a refused literal and private targets are not allowed. */
int wh_url_allowed(const char *url, struct app_err *err);

/* What a client without a token sees of a webhook URL: "scheme://host[:port]/"
 * (paths and queries often carry credentials). The caller frees it. */
char *wh_url_redacted(const char *url);

/* "sha256=<hex>" of HMAC-SHA256(secret, body). */
void wh_sign(const char *secret, const char *body, size_t len, char out[WH_SIG_LEN]);

/* Milliseconds to wait after the attempts-th failed attempt (1-based). */
int64_t wh_backoff_ms(int attempts);

#endif
