/* app/err.c: error filling and the one code -> HTTP status mapping. */
#include "app/err.h"

#include <stdarg.h>
#include <stdio.h>

#include "app/mem.h"

int
app_fail(struct app_err *err, enum app_code code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return -1;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

cJSON *
app_err_add(struct app_err *err, const char *code, const char *fmt, ...)
{
    char msg[APP_ERR_MSG_MAX];
    cJSON *o;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!err->errors)
        err->errors = xjson(cJSON_CreateArray());
    o = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(o, "code", code));
    xjson(cJSON_AddStringToObject(o, "message", msg));
    cJSON_AddItemToArray(err->errors, o);
    return o;
}

void
app_err_release(struct app_err *err)
{
    if (!err)
        return;
    cJSON_Delete(err->errors);
    err->errors = NULL;
    err->code = APP_OK;
    err->msg[0] = '\0';
}

/* No default: the compiler warns when a code is added without a status. */
int
app_err_status(enum app_code code)
{
    switch (code) {
    case APP_OK: return 200;
    case APP_EINVAL: return 400;
    case APP_EAUTH: return 401;
    case APP_EFORBIDDEN: return 403;
    case APP_ENOTFOUND: return 404;
    case APP_EMETHOD: return 405;
    case APP_ECONFLICT: return 409;
    case APP_ETOOLARGE: return 413;
    case APP_EMEDIA: return 415;
    case APP_ERANGE: return 416;
    case APP_EUNPROCESSABLE: return 422;
    case APP_EINTERNAL: return 500;
    case APP_EUNAVAILABLE: return 503;
    case APP_EVERIFY: return 502;
    case APP_EURI: return 414;
    case APP_ERATE: return 429;
    case APP_ENOTIMPL: return 501;
    }
    return 500;
}

const char *
app_err_title(enum app_code code)
{
    switch (code) {
    case APP_OK: return "OK";
    case APP_EINVAL: return "Bad Request";
    case APP_EAUTH: return "Unauthorized";
    case APP_EFORBIDDEN: return "Forbidden";
    case APP_ENOTFOUND: return "Not Found";
    case APP_EMETHOD: return "Method Not Allowed";
    case APP_ECONFLICT: return "Conflict";
    case APP_ETOOLARGE: return "Content Too Large";
    case APP_EMEDIA: return "Unsupported Media Type";
    case APP_ERANGE: return "Range Not Satisfiable";
    case APP_EUNPROCESSABLE: return "Unprocessable Content";
    case APP_EINTERNAL: return "Internal Server Error";
    case APP_EUNAVAILABLE: return "Service Unavailable";
    case APP_EVERIFY: return "Bad Gateway";
    case APP_EURI: return "URI Too Long";
    case APP_ERATE: return "Too Many Requests";
    case APP_ENOTIMPL: return "Not Implemented";
    }
    return "Internal Server Error";
}

const char *
app_err_slug(enum app_code code)
{
    switch (code) {
    case APP_OK: return "ok";
    case APP_EINVAL: return "bad-request";
    case APP_EAUTH: return "unauthorized";
    case APP_EFORBIDDEN: return "forbidden";
    case APP_ENOTFOUND: return "not-found";
    case APP_EMETHOD: return "method-not-allowed";
    case APP_ECONFLICT: return "conflict";
    case APP_ETOOLARGE: return "too-large";
    case APP_EMEDIA: return "unsupported-media-type";
    case APP_ERANGE: return "range-not-satisfiable";
    case APP_EUNPROCESSABLE: return "unprocessable";
    case APP_EINTERNAL: return "internal";
    case APP_EUNAVAILABLE: return "unavailable";
    case APP_EVERIFY: return "bad-gateway";
    case APP_EURI: return "uri-too-long";
    case APP_ERATE: return "rate-limited";
    case APP_ENOTIMPL: return "not-implemented";
    }
    return "internal";
}

enum app_code
app_code_of_status(long status)
{
    switch (status) {
    case 401: return APP_EAUTH;
    case 403: return APP_EFORBIDDEN;
    case 404: return APP_ENOTFOUND;
    case 405: return APP_EMETHOD;
    case 409: return APP_ECONFLICT;
    case 413: return APP_ETOOLARGE;
    case 415: return APP_EMEDIA;
    case 414: return APP_EURI;
    case 416: return APP_ERANGE;
    case 429: return APP_ERATE;
    case 501: return APP_ENOTIMPL;
    default: break;
    }
    return status >= 400 && status < 500 ? APP_EUNPROCESSABLE : APP_EUNAVAILABLE;
}
