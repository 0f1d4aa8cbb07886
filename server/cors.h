/* server/cors.h: Cross-Origin Resource Sharing for the API (--cors-origin).
 *
 * Origins are listed exactly ("https://admin.example", scheme://host[:port]) or as
 * "*". A listed origin may call every route, with a bearer token: its responses
 * carry Access-Control-Allow-Origin: <that origin>. "*" opens only the routes that
 * need no token (public reads): Access-Control-Allow-Origin: *, preflights list only
 * those routes' methods and never allow the Authorization header. Credentials
 * (cookies, HTTP authentication) are never allowed: tokens travel as a header the
 * page sets itself. Every response says Vary: Origin when CORS is configured.
 *
 * A preflight is an OPTIONS request with Origin and Access-Control-Request-Method on
 * a known path: 204 with the allowed methods and headers when the origin may make
 * that request; otherwise (no Origin, a refused origin or method) OPTIONS stays the
 * 405 it was before, and the browser refuses the cross-origin call.
 */
#ifndef SERVER_CORS_H
#define SERVER_CORS_H

#include <stddef.h>

#include "app/err.h"
#include "server/http.h"

#define CORS_ORIGIN_MAX 256
#define CORS_MAX_AGE_S "600"
/* What a page may read from a response beyond the CORS-safelisted headers. */
#define CORS_EXPOSE "ETag, Repr-Digest, Content-Range, Accept-Ranges, Location, X-Request-Id, Allow"

/* Add one --cors-origin value to cfg; -1 (400-style message) when it is not "*" or
 * an origin of the form scheme://host[:port] without path, or too many are given. */
int cors_add_origin(struct srv_config *cfg, const char *origin, struct app_err *err);

/* The hooks http.c calls, cors_preflight and cors_decorate, are declared in
 * server/http.h: this module builds on the HTTP layer, not the other way round. */

#endif
