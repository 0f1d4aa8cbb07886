/* app/ratelimit.h: token buckets per client for the expensive requests.
 *
 * `--rate-limit N/s[,BURST]` gives every client a bucket of BURST tokens (default N)
 * refilled at N per second; a resolve that misses the response cache, a diff, and a
 * write each take one, and a client with an empty bucket gets 429 with Retry-After.
 * Cached answers, lock and artifact downloads and other reads are never charged.
 * Clients are keyed by the bearer token when one is valid, else by the peer address.
 * Off (rate 0) by default.
 *
 * The table holds RL_SLOTS buckets, direct-mapped by key hash: a client whose slot
 * another client took over starts again with a full bucket. That bounds memory under
 * address floods at the price of an occasional fresh burst.
 */
#ifndef APP_RATELIMIT_H
#define APP_RATELIMIT_H

#define RL_SLOTS 8192
#define RL_KEY_MAX 72
#define RL_RATE_MAX 1000000.0

struct ratelimit;

/* Parse "N/s" or "N/s,BURST" (N > 0, BURST >= 1, integers or decimals for N).
 * -1 when malformed. */
int rl_parse(const char *spec, double *rate, double *burst);

/* A limiter; rate <= 0 gives NULL (no limit). */
struct ratelimit *rl_new(double rate, double burst);
void rl_free(struct ratelimit *rl);

/* Take one token from key's bucket at time now (seconds, any monotonic origin).
 * 0 when allowed; -1 when the bucket is empty, with *retry_after the whole seconds
 * (at least 1) until a token is back. A NULL limiter allows everything. */
int rl_take(struct ratelimit *rl, const char *key, double now, unsigned *retry_after);

#endif
