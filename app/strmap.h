/* app/strmap.h: a map from owned string keys to size_t values (indexes into the
 * caller's arrays), for hot lookups such as one entry per distinct input. */
#ifndef APP_STRMAP_H
#define APP_STRMAP_H

#include <stddef.h>

struct strmap {
    char **keys;
    size_t *vals;
    size_t slots, n;
};

/* An empty map; strmap_free(NULL) does nothing. */
struct strmap *strmap_new(void);
void strmap_free(struct strmap *m);

/* 1 with *val set when key is present, 0 otherwise. */
int strmap_get(const struct strmap *m, const char *key, size_t *val);

/* Insert key (takes ownership; it must not be present yet) with val. */
void strmap_put(struct strmap *m, char *key, size_t val);

#endif
