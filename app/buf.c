/* app/buf.c: bounded growable buffer. */
#include "app/buf.h"

#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app/mem.h"

/* The first allocation of a buffer: most hold a short JSON document or a line. */
#define BUF_FIRST_CAP 256
/* buf_printf formats on the stack first and allocates only for longer text. */
#define BUF_PRINTF_STACK 256

void
buf_init(struct buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void
buf_release(struct buf *b)
{
    free(b->data);
    buf_init(b, b->limit);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    if (b->limit && b->len + n > b->limit)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : BUF_FIRST_CAP;

        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[BUF_PRINTF_STACK];
    va_list ap;
    int n;
    int ret;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return buf_append(b, small, (size_t)n);
    {
        char *big = xmalloc((size_t)n + 1);

        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        ret = buf_append(b, big, (size_t)n);
        free(big);
    }
    return ret;
}

char *
buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data;

    if (!p)
        p = xstrdup("");
    if (len)
        *len = b->len;
    buf_init(b, b->limit);
    return p;
}
