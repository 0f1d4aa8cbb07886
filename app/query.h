/* app/query.h: the query string, parsed once by almanacd rather than by
 * libmicrohttpd.
 *
 * libmicrohttpd 0.9.75 parses every argument into its per-connection memory pool
 * before the access handler runs; when the pool runs out (about 500 short arguments
 * in the default 32 KiB) it queues a 431 and then overwrites the connection state, so
 * the client gets no answer until the 60 s timeout. almanacd therefore takes the raw
 * query string in the URI log callback (before libmicrohttpd parses it), leaves the
 * library nothing to parse, and parses it here: application/x-www-form-urlencoded
 * ('+' is a space), each key and value percent-decoded exactly once, a NUL byte or a
 * malformed escape refused, a repeated key refused (never "first wins"), and at most
 * SRV_MAX_QUERY_PARAMS parameters (414 beyond).
 */
#ifndef APP_QUERY_H
#define APP_QUERY_H

#include <stddef.h>

#include "app/err.h"

/* Most query parameters a request may carry; no route reads more than a handful. */
#define SRV_MAX_QUERY_PARAMS 64

struct query_tab {
    char **keys;
    char **vals; /* "" for a key without '=' */
    size_t n;
};

/* Number of '&'-separated parameters in a raw query string (empty pieces count). */
size_t query_count(const char *raw);

/* Parse raw (without the '?') into t. -1 with err (400, or 414 for too many
 * parameters) and t empty when it is malformed. */
int query_parse(const char *raw, struct query_tab *t, struct app_err *err);

/* The decoded value of key, or NULL. Borrowed from t. */
const char *query_get(const struct query_tab *t, const char *key);

void query_release(struct query_tab *t);

/* Percent-decode n bytes of s once into a new string; '+' becomes a space when
 * plus_space. NULL when s holds a malformed escape or decodes to a NUL byte. */
char *pct_decode(const char *s, size_t n, int plus_space);

#endif
