/* server/inputs.c: resolution inputs from JSON bodies and queries (see
 * server/inputs.h). */
#include "server/inputs.h"

#include <stdlib.h>
#include <string.h>

#include "app/json.h"
#include "app/mem.h"
#include "app/strv.h"
#include "catalog/req.h"

void
srv_inputs_release(struct srv_inputs *x)
{
    strv_free(x->flags_own, x->n_flags_own);
    strv_free(x->reqs_own, x->n_reqs_own);
    free(x->flags_ptr);
    free(x->reqs_ptr);
    memset(x, 0, sizeof(*x));
}

static int
is_op_char(char ch)
{
    return ch == '<' || ch == '>' || ch == '=' || ch == '!' || ch == '~';
}

/* requirements=a,b>=1,<2 : a piece that starts with an operator continues the one
 * before it ("b>=1,<2"). */
static char **
split_requirements(const char *s, size_t *n)
{
    size_t m = 0, k = 0;
    char **v = strv_split(s, ',', &m);

    for (size_t i = 0; i < m; i++) {
        if (k > 0 && is_op_char(v[i][0])) {
            char *joined = xasprintf("%s,%s", v[k - 1], v[i]);

            free(v[k - 1]);
            free(v[i]);
            v[k - 1] = joined;
        } else {
            v[k++] = v[i];
        }
    }
    v[k] = NULL;
    *n = k;
    return v;
}

static int
parse_bool(const char *s, int *out)
{
    if (!s)
        return 0;
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no") || !*s)
        *out = 0;
    else
        return -1;
    return 0;
}

/* "main": an entry point ending in .py is a Python worker. */
static int
is_python_entry(const char *main_file)
{
    size_t n = main_file ? strlen(main_file) : 0;

    return n > 3 && strcmp(main_file + n - 3, ".py") == 0;
}

int
srv_inputs_from_json(const cJSON *body, int flags, struct srv_inputs *x, struct app_err *err)
{
    const cJSON *flag_arr = NULL, *req_arr = NULL, *reqv;
    const char *main_file = NULL;

    if (!cJSON_IsObject(body))
        return app_fail(err, APP_EINVAL, "request body must be a JSON object");
    if (json_string(body, "compatibility_date", 1, &x->in.date, err) < 0 ||
        json_string_array(body, "compatibility_flags", 0, &flag_arr, err) < 0 ||
        ((flags & SRV_INPUTS_AS_OF) && json_string(body, "as_of", 0, &x->in.as_of, err) < 0) ||
        json_bool(body, "allow_experimental", 0, &x->in.allow_experimental, err) < 0 ||
        json_string(body, "main", 0, &main_file, err) < 0)
        return -1;
    x->in.python_entry = is_python_entry(main_file);
    reqv = cJSON_GetObjectItemCaseSensitive(body, "requirements");
    if (cJSON_IsString(reqv)) {
        /* A whole requirements.txt text is accepted as well as a list of lines. */
        if (req_split_text(reqv->valuestring, strlen(reqv->valuestring), &x->reqs_own,
                           &x->n_reqs_own, err) < 0)
            return -1;
        x->reqs_ptr = xcalloc(x->n_reqs_own + 1, sizeof(*x->reqs_ptr));
        for (size_t i = 0; i < x->n_reqs_own; i++)
            x->reqs_ptr[i] = x->reqs_own[i];
        x->in.n_requirements = x->n_reqs_own;
    } else {
        if (json_string_array(body, "requirements", 0, &req_arr, err) < 0)
            return app_fail(err, APP_EINVAL,
                            "field 'requirements' must be an array of strings or a "
                            "requirements.txt text");
        x->reqs_ptr = strv_borrow_json(req_arr, &x->in.n_requirements);
    }
    x->in.requirements = x->reqs_ptr;
    x->flags_ptr = strv_borrow_json(flag_arr, &x->in.n_flags);
    x->in.flags = x->flags_ptr;
    return 0;
}

int
srv_inputs_from_query(struct srv_req *r, const char *date_key, struct srv_inputs *x)
{
    const char *flags = srv_query(r, "flags"), *reqs = srv_query(r, "requirements");

    x->in.date = srv_query(r, date_key);
    if (!x->in.date)
        return app_fail(&r->err, APP_EINVAL, "query parameter '%s' is required (YYYY-MM-DD)",
                        date_key);
    x->in.as_of = srv_query(r, "as_of");
    if (x->in.as_of && !*x->in.as_of)
        x->in.as_of = NULL;
    if (parse_bool(srv_query(r, "allow_experimental"), &x->in.allow_experimental) < 0)
        return app_fail(&r->err, APP_EINVAL, "query 'allow_experimental' must be true or false");
    if (flags) {
        x->flags_own = strv_split(flags, ',', &x->n_flags_own);
        x->in.flags = (const char *const *)x->flags_own;
        x->in.n_flags = x->n_flags_own;
    }
    if (reqs) {
        x->reqs_own = split_requirements(reqs, &x->n_reqs_own);
        x->in.requirements = (const char *const *)x->reqs_own;
        x->in.n_requirements = x->n_reqs_own;
    }
    return 0;
}
