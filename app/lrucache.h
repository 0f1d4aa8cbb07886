/* app/lrucache.h: a cache bounded in bytes, least recently used out first.
 *
 * almanacd answers anonymous resolves from here instead of writing their locks to
 * the database (DESIGN §7, issue 9): one instance holds both resolve responses (keyed
 * by the request's canonical inputs, valid for one catalog generation) and lock bytes
 * (keyed by lock id, valid while they stay). Every entry's key, value and bookkeeping
 * count against the budget; inserting past it evicts from the cold end, and a value
 * larger than the whole budget is not kept at all. Thread-safe (one mutex: every
 * operation is a hash lookup and a list splice).
 */
#ifndef APP_LRUCACHE_H
#define APP_LRUCACHE_H

#include <stddef.h>

/* 64 MiB: about 2,000 typical resolve responses with their locks. */
#define LCACHE_DEFAULT_BYTES (64u * 1024 * 1024)
/* Below this the cache cannot hold one ordinary response; `--resolve-cache 0` turns
 * caching off instead. */
#define LCACHE_MIN_BYTES (64u * 1024)

struct lcache;

/* A cache of at most budget bytes; 0 keeps nothing. */
struct lcache *lcache_new(size_t budget);
void lcache_free(struct lcache *c);

/* Insert or replace key -> the len bytes of val (copied), tagged with generation. */
void lcache_put(struct lcache *c, const char *key, const char *val, size_t len,
                unsigned long generation);

/* A copy (NUL-terminated, the caller frees) of key's value and its length, and the
 * entry becomes the most recently used; NULL when absent. When want_generation is
 * not NULL, an entry of another generation counts as absent (and is dropped). */
char *lcache_get(struct lcache *c, const char *key, size_t *len,
                 const unsigned long *want_generation);

/* Bytes accounted and entries held now (for tests and /meta). */
size_t lcache_bytes(struct lcache *c);
size_t lcache_count(struct lcache *c);

#endif
