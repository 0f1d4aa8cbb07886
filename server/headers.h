/* server/headers.h: readers of request headers for artifact downloads. */
#ifndef SERVER_HEADERS_H
#define SERVER_HEADERS_H

#include <stdint.h>

/* 1 when Accept-Encoding (may be NULL) names zstd with a non-zero q. Only an
 * explicit zstd counts: "*" is not consent to a coding many clients cannot decode. */
int srv_accepts_zstd(const char *accept_encoding);

/* 1 when the If-None-Match list matches the tag of hex ("<hex>" or "<hex>+zstd",
 * weak or strong, or "*"). */
int srv_none_match(const char *if_none_match, const char *hex);

/* A single "bytes=a-b" / "a-" / "-n" range against size: 1 with *start and *len,
 * 0 to ignore the header (malformed or several ranges), -1 when unsatisfiable. */
int srv_parse_range(const char *range, uint64_t size, uint64_t *start, uint64_t *len);

#endif
