/* server/framing.h: HTTP/1.1 message framing checks libmicrohttpd 0.9.75 leaves out.
 *
 * The library takes the first Content-Length of several, lets Transfer-Encoding win
 * over Content-Length without complaint, reads an unknown Transfer-Encoding as "body
 * until close", and (unless MHD_OPTION_STRICT_FOR_CLIENT, whose other checks we do
 * not want) accepts HTTP/1.1 without Host. Each of those is a request-smuggling or
 * desynchronisation risk behind a proxy (RFC 9112 §6.3), so almanacd checks them in
 * the first access-handler call, when the headers are complete and no body byte has
 * been read, and answers 400 (501 for an unknown coding) and closes the connection.
 */
#ifndef SERVER_FRAMING_H
#define SERVER_FRAMING_H

#include <microhttpd.h>

#include "app/err.h"

/* 0 when the request head is well framed; -1 with err (400 or 501) otherwise. */
int srv_framing_check(struct MHD_Connection *conn, const char *version, struct app_err *err);

#endif
