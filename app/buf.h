/* app/buf.h: a growable byte buffer that knows its own size cap.
 *
 * Appends past `limit` fail (return -1) instead of growing, which is how request
 * bodies enforce their size limits. The data is always NUL-terminated.
 */
#ifndef APP_BUF_H
#define APP_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0 = unlimited */
};

void buf_init(struct buf *b, size_t limit);
void buf_release(struct buf *b);
__attribute__((warn_unused_result)) int buf_append(struct buf *b, const void *p, size_t n);
__attribute__((warn_unused_result)) int buf_puts(struct buf *b, const char *s);
__attribute__((warn_unused_result, format(printf, 2, 3))) int buf_printf(struct buf *b,
                                                                         const char *fmt, ...);
/* Hand the bytes to the caller (who frees them) and reset b. */
char *buf_detach(struct buf *b, size_t *len);

#endif
