/* server/framing.c: Content-Length / Transfer-Encoding / Host checks (framing.h). */
#include "server/framing.h"

#include <string.h>
#include <strings.h>

struct head_count {
    unsigned content_length, transfer_encoding, host;
    const char *first_cl;
    int cl_differs;
};

static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct head_count *h = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (h->content_length++ == 0)
            h->first_cl = value;
        else if (!value || !h->first_cl || strcmp(value, h->first_cl) != 0)
            h->cl_differs = 1;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        h->transfer_encoding++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        h->host++;
    }
    return MHD_YES;
}

int
srv_framing_check(struct MHD_Connection *conn, const char *version, struct app_err *err)
{
    struct head_count h = {0};
    const char *te;

    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &h);
    if (version && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && h.host == 0)
        return app_fail(err, APP_EINVAL, "an HTTP/1.1 request needs a Host header");
    if (h.host > 1)
        return app_fail(err, APP_EINVAL, "the request has more than one Host header");
    /* Several equal Content-Length values are one length (RFC 9110 §8.6 allows
     * merging them); different ones are refused. A comma list arrives as one value
     * and fails libmicrohttpd's number parse already. */
    if (h.cl_differs)
        return app_fail(err, APP_EINVAL, "the request has conflicting Content-Length headers");
    if (h.transfer_encoding > 1)
        return app_fail(err, APP_EINVAL, "the request has more than one Transfer-Encoding header");
    te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te) {
        if (h.content_length)
            return app_fail(err, APP_EINVAL,
                            "the request has both Content-Length and Transfer-Encoding");
        if (strcasecmp(te, "chunked") != 0)
            return app_fail(err, APP_ENOTIMPL,
                            "Transfer-Encoding '%.64s' is not supported (only 'chunked')", te);
    }
    return 0;
}
