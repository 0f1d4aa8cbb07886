/* app/mem.h: allocation that aborts on failure, so no caller checks for NULL. */
#ifndef APP_MEM_H
#define APP_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* xstrdup(NULL) returns NULL. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Abort when a cJSON constructor ran out of memory; returns p otherwise. */
#define xjson(p) ((__typeof__(p))app_xcheck((p)))
void *app_xcheck(void *p);

#endif
