/* cli/client.h: the HTTP client every command talks to almanacd through (libcurl).
 *
 * Paths are server-relative ("/v1/flags?x=1"); the base URL is c->server. The
 * connection is kept alive across requests of one invocation. When ALMANAC_TOKEN is
 * set it is sent as `Authorization: Bearer <token>` with every request.
 *
 * Failures fill a struct app_err whose code tells the class (see cli_exit_code):
 *   4xx answers: the code of app_code_of_status (401 APP_EAUTH, 403
 *       APP_EFORBIDDEN, 404 APP_ENOTFOUND, ..., APP_EUNPROCESSABLE for the rest);
 *       the message is the problem document's `detail` (or its
 *       title, or "server answered N"), and err->errors holds a copy of its
 *       `errors[]` ({code, message, ...}) so cli_report prints each one;
 *   5xx answers, unreachable server, malformed JSON: APP_EUNAVAILABLE.
 * *status (when status is not NULL) is the HTTP status, 0 when there was none.
 */
#ifndef CLI_CLIENT_H
#define CLI_CLIENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/buf.h"
#include "app/err.h"
#include "cli/state.h"

/* Largest JSON response accepted (a package set lists a few hundred packages). */
#define CLI_JSON_MAX (64u * 1024 * 1024)

/* Send METHOD path with body (NULL: none) serialized as JSON. On a 2xx answer
 * returns 0 and, when out is not NULL, *out is the parsed JSON (caller frees; NULL
 * for an empty body). On failure returns -1 as described above. */
int cli_request(struct cli *c, const char *method, const char *path, const cJSON *body, cJSON **out,
                long *status, struct app_err *err);

/* A raw exchange: the answer's bytes and a few headers. */
struct cli_response {
    long status;
    struct buf body;        /* limit as given to cli_request_raw */
    char *content_type;     /* NULL when absent */
    char *content_encoding; /* NULL when absent */
};

/* Send METHOD path with len bytes of body (NULL: none) of content_type; the answer
 * body is collected up to limit bytes (over it: APP_EUNAVAILABLE). Any HTTP status
 * returns 0 (check resp->status); -1 only for transport failures. extra_headers is
 * NULL or a NULL-terminated list of "Name: value" lines. Release resp with
 * cli_response_release. */
int cli_request_raw(struct cli *c, const char *method, const char *path,
                    const char *const *extra_headers, const char *content_type, const void *body,
                    size_t len, size_t limit, struct cli_response *resp, struct app_err *err);
void cli_response_release(struct cli_response *r);

/* Turn a non-2xx resp into err as described above; returns -1. */
int cli_problem(const struct cli *c, const struct cli_response *resp, struct app_err *err);

/* Percent-encode s for a path segment or query value; the caller frees. */
char *cli_escape(const char *s);

/* The absolute URL of path on c->server; the caller frees. */
char *cli_url(const struct cli *c, const char *path);

/* Set the server base URL, or a list of them separated by commas or spaces
 * (ALMANAC_SERVER="https://a,https://b"): requests go to the first; when one cannot
 * be reached or answers 5xx, the next is tried and the CLI says on stderr which one
 * served. Each URL must start with http:// or https://; trailing slashes dropped. */
int cli_set_server(struct cli *c, const char *url, struct app_err *err);

/* The well-known file at the root of a static mirror tree (issue 14). */
#define CLI_STATIC_MARKER "almanac-mirror.json"
#define CLI_STATIC_MARKER_MAX (64u * 1024)
/* Paths in a static tree (server/export.c writes them): the snapshot document
 * (+ ".zst", ".minisig"), artifacts by digest (+ ".zst", ".minisig"), keys. */
#define CLI_STATIC_SNAPSHOT "catalog/snapshot.json"
#define CLI_STATIC_ARTIFACTS "artifacts/sha256/"
#define CLI_STATIC_KEYS "keys.json"
#define CLI_STATIC_ROTATIONS "keys/rotations.json"

/* 1 when c->server is a static mirror tree (it serves almanac-mirror.json at its
 * root; asked once per server), 0 otherwise. Against one the CLI resolves locally
 * from the snapshot the tree holds. */
int cli_server_is_static(struct cli *c);

/* Free the connection state (called by cli_release). */
void cli_http_free(struct cli_http *h);

#endif
