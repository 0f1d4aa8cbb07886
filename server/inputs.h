/* server/inputs.h: resolution inputs read from requests, in one place: the JSON body
 * of POST /v1/resolve and PUT /v1/workers/{name} (a deploy), and the query of
 * GET /v1/resolve and GET /v1/diff.
 *
 * JSON body: {compatibility_date, compatibility_flags?, requirements? (an array of
 * lines or one requirements.txt text), as_of? (resolve only), allow_experimental?,
 * main? (an entry point ending in .py needs python_workers)}.
 * Query: DATE_KEY=YYYY-MM-DD, flags=a,b, requirements=a,b>=1,<2 (a piece that starts
 * with a version operator continues the one before it), as_of, allow_experimental.
 */
#ifndef SERVER_INPUTS_H
#define SERVER_INPUTS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "catalog/resolve.h"
#include "server/http.h"

/* The inputs: in borrows from the request (body or query) and from the lists
 * owned here; release with srv_inputs_release. */
struct srv_inputs {
    struct res_input in;
    char **flags_own, **reqs_own; /* split from a query or a requirements.txt text */
    size_t n_flags_own, n_reqs_own;
    const char **flags_ptr, **reqs_ptr; /* borrowed views of body arrays */
};

enum srv_inputs_flags {
    SRV_INPUTS_AS_OF = 1 << 0, /* read as_of from the body (resolve; a deploy ignores it) */
};

/* Read the inputs from a JSON body (see above). APP_EINVAL naming the field. */
int srv_inputs_from_json(const cJSON *body, int flags, struct srv_inputs *x, struct app_err *err);

/* Read the inputs from r's query, the date from date_key ("date", "from", "to").
 * Fills r->err (APP_EINVAL) on failure. */
int srv_inputs_from_query(struct srv_req *r, const char *date_key, struct srv_inputs *x);

/* Free what x owns; safe on a zeroed struct. */
void srv_inputs_release(struct srv_inputs *x);

#endif
