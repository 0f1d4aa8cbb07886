/* app/url.h: building URLs from catalog values. */
#ifndef APP_URL_H
#define APP_URL_H

/* s percent-encoded as one path segment: every byte but the RFC 3986 unreserved
 * characters (A-Z a-z 0-9 - . _ ~) becomes %XX, so '/', '?', '#', '%', spaces and
 * non-ASCII bytes never change what the URL means. The caller frees it. */
char *url_encode_segment(const char *s);

#endif
