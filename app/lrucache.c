/* app/lrucache.c: LRU bounded in bytes (lrucache.h): chained hash + list. */
#include "app/lrucache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

#define LCACHE_BUCKETS 65536u /* power of two; chains stay short for a full cache */

struct lc_entry {
    struct lc_entry *hnext;       /* bucket chain */
    struct lc_entry *prev, *next; /* LRU list: head is the most recent */
    char *key;
    char *val;
    size_t len;
    size_t cost;
    unsigned long generation;
};

struct lcache {
    pthread_mutex_t mu;
    size_t budget, used, count;
    struct lc_entry *head, *tail;
    struct lc_entry **buckets;
};

static size_t
bucket_of(const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the canonical key */

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h & (LCACHE_BUCKETS - 1));
}

struct lcache *
lcache_new(size_t budget)
{
    struct lcache *c = xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->mu, NULL);
    c->budget = budget;
    c->buckets = xcalloc(LCACHE_BUCKETS, sizeof(*c->buckets));
    return c;
}

static void
list_unlink(struct lcache *c, struct lc_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void
list_push_front(struct lcache *c, struct lc_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static struct lc_entry **
find_slot(struct lcache *c, const char *key)
{
    struct lc_entry **pp = &c->buckets[bucket_of(key)];

    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->hnext;
    return pp;
}

static void
entry_drop(struct lcache *c, struct lc_entry **slot)
{
    struct lc_entry *e = *slot;

    *slot = e->hnext;
    list_unlink(c, e);
    c->used -= e->cost;
    c->count--;
    free(e->key);
    free(e->val);
    free(e);
}

void
lcache_free(struct lcache *c)
{
    if (!c)
        return;
    while (c->tail)
        entry_drop(c, find_slot(c, c->tail->key));
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void
lcache_put(struct lcache *c, const char *key, const char *val, size_t len, unsigned long generation)
{
    size_t klen = strlen(key);
    size_t cost = sizeof(struct lc_entry) + klen + 1 + len + 1;
    struct lc_entry **slot, *e;

    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    slot = find_slot(c, key);
    if (*slot)
        entry_drop(c, slot);
    if (cost > c->budget)
        goto out; /* would evict everything and still not fit */
    while (c->used + cost > c->budget && c->tail)
        entry_drop(c, find_slot(c, c->tail->key));
    e = xcalloc(1, sizeof(*e));
    e->key = xstrndup(key, klen);
    e->val = xmalloc(len + 1);
    memcpy(e->val, val, len);
    e->val[len] = '\0';
    e->len = len;
    e->cost = cost;
    e->generation = generation;
    slot = find_slot(c, key);
    *slot = e;
    list_push_front(c, e);
    c->used += cost;
    c->count++;
out:
    pthread_mutex_unlock(&c->mu);
}

char *
lcache_get(struct lcache *c, const char *key, size_t *len, const unsigned long *want_generation)
{
    struct lc_entry **slot, *e;
    char *out = NULL;

    if (!c)
        return NULL;
    pthread_mutex_lock(&c->mu);
    slot = find_slot(c, key);
    e = *slot;
    if (e && want_generation && e->generation != *want_generation) {
        entry_drop(c, slot);
        e = NULL;
    }
    if (e) {
        list_unlink(c, e);
        list_push_front(c, e);
        out = xmalloc(e->len + 1);
        memcpy(out, e->val, e->len + 1);
        *len = e->len;
    }
    pthread_mutex_unlock(&c->mu);
    return out;
}

size_t
lcache_bytes(struct lcache *c)
{
    size_t n;

    pthread_mutex_lock(&c->mu);
    n = c->used;
    pthread_mutex_unlock(&c->mu);
    return n;
}

size_t
lcache_count(struct lcache *c)
{
    size_t n;

    pthread_mutex_lock(&c->mu);
    n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}
