/* app/hash.h: SHA-256 digests as lower-case hex, over memory or a file. */
#ifndef APP_HASH_H
#define APP_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "app/err.h"

#define APP_SHA256_LEN 32
#define APP_SHA256_HEX 65 /* 64 hex digits + NUL */

void hex_encode(const uint8_t *in, size_t n, char *out);
/* The value (0-15) of one hex digit, either case; -1 when c is not one. Used by
 * hex_decode and by parsers of escapes (cli/wrangler.c). */
int hex_nibble(char c);
/* 0 when s is exactly 2*n lower- or upper-case hex digits. */
int hex_decode(const char *s, uint8_t *out, size_t n);
/* 1 when s is 64 lower-case hex digits. */
int sha256_hex_valid(const char *s);

void sha256_hex(const void *p, size_t n, char out[APP_SHA256_HEX]);
/* Hash a file in chunks; also reports its size. */
int sha256_file(const char *path, char out[APP_SHA256_HEX], uint64_t *size, struct app_err *err);

/* Read a whole (small) file; the caller frees *out. */
int file_read_all(const char *path, char **out, size_t *len, size_t limit, struct app_err *err);

#endif
