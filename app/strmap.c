/* app/strmap.c: string -> index open-addressing map (see app/strmap.h). FNV-1a
 * hashes, linear probing, a power-of-two table kept at most half full. */
#include "app/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

#define STRMAP_FIRST_SLOTS 64 /* a power of two */

static uint64_t
fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

struct strmap *
strmap_new(void)
{
    struct strmap *m = xcalloc(1, sizeof(*m));

    m->slots = STRMAP_FIRST_SLOTS;
    m->keys = xcalloc(m->slots, sizeof(*m->keys));
    m->vals = xcalloc(m->slots, sizeof(*m->vals));
    return m;
}

void
strmap_free(struct strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->slots; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    free(m);
}

static size_t
slot_of(const struct strmap *m, const char *key)
{
    size_t i = (size_t)(fnv1a(key) & (m->slots - 1));

    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->slots - 1);
    return i;
}

int
strmap_get(const struct strmap *m, const char *key, size_t *val)
{
    size_t i = slot_of(m, key);

    if (!m->keys[i])
        return 0;
    *val = m->vals[i];
    return 1;
}

void
strmap_put(struct strmap *m, char *key, size_t val)
{
    size_t i;

    if ((m->n + 1) * 2 > m->slots) {
        struct strmap big = {xcalloc(m->slots * 2, sizeof(char *)),
                             xcalloc(m->slots * 2, sizeof(size_t)), m->slots * 2, m->n};

        for (size_t j = 0; j < m->slots; j++) {
            if (m->keys[j]) {
                size_t k = slot_of(&big, m->keys[j]);

                big.keys[k] = m->keys[j];
                big.vals[k] = m->vals[j];
            }
        }
        free(m->keys);
        free(m->vals);
        *m = big;
    }
    i = slot_of(m, key);
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}
