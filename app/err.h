/* app/err.h: the error model shared by every module.
 *
 * A function that can fail returns 0 (or a pointer) on success and -1 (or NULL) on
 * failure, and fills a caller-supplied struct app_err with a class code and a
 * message. The class decides the HTTP status in one switch (app_err_status). A
 * failure that carries several machine-readable problems (flag errors, resolution
 * errors) also attaches them as a cJSON array in `errors`, each {code, message, ...}.
 */
#ifndef APP_ERR_H
#define APP_ERR_H

#include <cjson/cJSON.h>

enum app_code {
    APP_OK = 0,
    APP_EINVAL,         /* malformed input: 400 */
    APP_EAUTH,          /* missing or bad token: 401 */
    APP_EFORBIDDEN,     /* authenticated but not allowed: 403 */
    APP_ENOTFOUND,      /* no such object: 404 */
    APP_EMETHOD,        /* route exists, method does not: 405 */
    APP_ECONFLICT,      /* change to a published object, digest mismatch: 409 */
    APP_ETOOLARGE,      /* body over its limit: 413 */
    APP_EMEDIA,         /* unsupported media type: 415 */
    APP_ERANGE,         /* unsatisfiable range: 416 */
    APP_EUNPROCESSABLE, /* well-formed but refused (resolution, bad wasm): 422 */
    APP_EINTERNAL,      /* bug or I/O failure on the server: 500 */
    APP_EUNAVAILABLE,   /* upstream unreachable: 503 */
    APP_EVERIFY,        /* client side: a signature, digest or size did not verify */
    APP_EURI,           /* request target too long or too many query parameters: 414 */
    APP_ERATE,          /* a client over its rate limit: 429 */
    APP_ENOTIMPL,       /* a Transfer-Encoding the server does not implement: 501 */
};

#define APP_ERR_MSG_MAX 512

struct app_err {
    enum app_code code;
    char msg[APP_ERR_MSG_MAX];
    cJSON *errors; /* optional array of {code, message, ...}; owned */
};

/* Fill err with code and a printf-style message; returns -1 so callers can write
 * `return app_fail(err, ...)`. err may be NULL (the detail is dropped). */
int app_fail(struct app_err *err, enum app_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append one machine-readable problem {code, message} to err->errors and return
 * the new object so the caller can add subject fields (name, flag, ...). */
cJSON *app_err_add(struct app_err *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Free what err owns and reset it to APP_OK; safe on a zeroed struct. */
void app_err_release(struct app_err *err);

/* The HTTP status and short title for a code. APP_EVERIFY is the client's and is
 * never sent; should a server path produce it, it answers 502 (what an upstream
 * gave did not verify). */
int app_err_status(enum app_code code);
const char *app_err_title(enum app_code code);
/* The last segment of a problem document's type URI ("not-found"). */
const char *app_err_slug(enum app_code code);

/* The one mapping of an HTTP error status a client received to a code: 401
 * EAUTH, 403 EFORBIDDEN, 404 ENOTFOUND, 405 EMETHOD, 409 ECONFLICT, 413 ETOOLARGE,
 * 415 EMEDIA, 416 ERANGE, any other 4xx (400 included: the server refused what it
 * was sent, not a local input error) EUNPROCESSABLE, anything else (5xx, no
 * answer) EUNAVAILABLE. */
enum app_code app_code_of_status(long status);

#endif
