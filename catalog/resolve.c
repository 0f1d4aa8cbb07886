/* catalog/resolve.c: compile flags, choose the bundle, apply the support policy,
 * close the requirements over `depends`, and build the canonical lock. */
#include "catalog/resolve.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/pyline.h"
#include "catalog/req.h"

/* Resolution error kinds after the flag ones, in reporting order. */
enum res_kind {
    RES_PYTHON_REQUIRED = 100,
    RES_INVALID_REQUIREMENT,
    RES_UNSUPPORTED,
    RES_NOT_SATISFIED,
    RES_UPGRADE_BLOCKED,
    RES_NO_RUNTIME,
};

struct res_ctx {
    const struct snap *s;
    const struct res_input *in;
    struct app_err *err;
    struct flag_result fr;
    struct req *reqs;
    size_t n_reqs;
    const struct flag_def *bundle; /* the bundle in force after the policy */
    const struct snap_runtime *rt;
    const struct snap_set *set;
    int as_of;
    cJSON *warnings;
    cJSON *upgrade;
};

static cJSON *
issue_json(const struct flag_issue *is)
{
    cJSON *o = xjson(cJSON_CreateObject());

    xjson(cJSON_AddStringToObject(o, "code", is->code));
    xjson(cJSON_AddStringToObject(o, "message", is->message));
    xjson(cJSON_AddStringToObject(o, is->kind <= FLAG_DATE_IN_FUTURE ? "date" : "flag", is->name));
    if (is->suggestion)
        xjson(cJSON_AddStringToObject(o, "suggestion", is->suggestion));
    return o;
}

static void warn(struct res_ctx *x, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
warn(struct res_ctx *x, const char *code, const char *fmt, ...)
{
    char msg[APP_ERR_MSG_MAX];
    cJSON *o = xjson(cJSON_CreateObject());
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xjson(cJSON_AddStringToObject(o, "code", code));
    xjson(cJSON_AddStringToObject(o, "message", msg));
    cJSON_AddItemToArray(x->warnings, o);
}

/* The closest package name of the set, for "did you mean". */
static const char *
suggest_pkg(const struct snap_set *set, const char *name)
{
    size_t best = (size_t)-1, len = strlen(name);
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    const char *out = NULL;

    for (size_t i = 0; i < set->n_pkgs; i++) {
        size_t d = flag_edit_distance(name, set->pkgs[i].name);

        if (d < best) {
            best = d;
            out = set->pkgs[i].name;
        }
    }
    return best <= limit ? out : NULL;
}

/* Requirements missing from set; names sorted (reqs are sorted already). */
static cJSON *
missing_in(const struct res_ctx *x, const struct snap_set *set)
{
    cJSON *arr = xjson(cJSON_CreateArray());

    for (size_t i = 0; i < x->n_reqs; i++)
        if (!snap_pkg(set, x->reqs[i].name))
            cJSON_AddItemToArray(arr, xjson(cJSON_CreateString(x->reqs[i].name)));
    return arr;
}

static int
cmp_req(const void *a, const void *b)
{
    return strcmp(((const struct req *)a)->name, ((const struct req *)b)->name);
}

static int
has_error(const struct res_ctx *x)
{
    return x->err->errors && cJSON_GetArraySize(x->err->errors) > 0;
}

/* DESIGN §5: move an ended worker to the oldest newer line that is still supported
 * as of as_of and has a published, non-experimental bundle (lowest order). */
static void
apply_policy(struct res_ctx *x, cJSON *policy)
{
    const struct snap_line *line = snap_line(x->s, x->rt->line);
    const struct snap_line *target_line = NULL;
    const struct flag_def *target = NULL;
    char eos_s[APP_DATE_LEN], as_of_s[APP_DATE_LEN];
    const char *status;

    date_format(x->as_of, as_of_s);
    xjson(cJSON_AddStringToObject(policy, "python_line", x->rt->line));
    if (!line) {
        /* A runtime whose line is unknown has no end date: treat as supported. */
        xjson(cJSON_AddNullToObject(policy, "end_of_support"));
        xjson(cJSON_AddStringToObject(policy, "status", "supported"));
        return;
    }
    date_format(line->end_of_support, eos_s);
    xjson(cJSON_AddStringToObject(policy, "end_of_support", eos_s));
    status = cat_support_status(line->end_of_support, x->as_of);
    xjson(cJSON_AddStringToObject(policy, "status", status));
    if (strcmp(status, "supported") == 0)
        return;
    for (size_t i = 0; i < x->s->n_lines && !target; i++) {
        const struct snap_line *l = &x->s->lines[i];

        if (l->major < line->major || (l->major == line->major && l->minor <= line->minor))
            continue;
        if (x->as_of >= l->end_of_support)
            continue;
        for (size_t j = 0; j < x->s->n_flags; j++) {
            const struct flag_def *f = &x->s->flags[j];
            const struct snap_runtime *rt;

            if (f->bundle_order <= 0 || f->experimental)
                continue;
            rt = snap_runtime(x->s, f->bundle_runtime);
            if (!rt || !snap_set(x->s, f->bundle_package_set) || strcmp(rt->line, l->line) != 0)
                continue;
            if (!target || f->bundle_order < target->bundle_order)
                target = f;
        }
        if (target)
            target_line = l;
    }
    if (strcmp(status, "ending") == 0) {
        if (target)
            warn(x, "support_ending",
                 "python %s reaches end of support on %s; workers on it will move to python %s "
                 "(%s, flag '%s')",
                 line->line, eos_s, target_line->line, target->bundle_runtime, target->name);
        else
            warn(x, "support_ending",
                 "python %s reaches end of support on %s and no newer supported line has a "
                 "bundle yet",
                 line->line, eos_s);
        return;
    }
    if (!target) {
        cJSON *e = app_err_add(x->err, "no_supported_runtime",
                               "python %s reached end of support on %s and no newer line is "
                               "supported as of %s",
                               line->line, eos_s, as_of_s);

        xjson(cJSON_AddStringToObject(e, "python_line", line->line));
        xjson(cJSON_AddNumberToObject(e, "kind_order", RES_NO_RUNTIME));
        return;
    }
    {
        const struct snap_set *tset = snap_set(x->s, target->bundle_package_set);
        cJSON *missing = missing_in(x, tset);

        if (cJSON_GetArraySize(missing) > 0) {
            char *names = json_canonical(missing, NULL);
            cJSON *e = app_err_add(x->err, "upgrade_blocked",
                                   "python %s reached end of support on %s; the move to %s is "
                                   "blocked: %s not in package set '%s'",
                                   line->line, eos_s, target->bundle_runtime, names, tset->id);

            cJSON_AddItemToObject(e, "packages", missing);
            xjson(cJSON_AddStringToObject(e, "from", x->rt->id));
            xjson(cJSON_AddStringToObject(e, "to", target->bundle_runtime));
            xjson(cJSON_AddNumberToObject(e, "kind_order", RES_UPGRADE_BLOCKED));
            free(names);
            return;
        }
        cJSON_Delete(missing);
        x->upgrade = xjson(cJSON_CreateObject());
        {
            cJSON *from = xjson(cJSON_AddObjectToObject(x->upgrade, "from"));
            cJSON *to = xjson(cJSON_AddObjectToObject(x->upgrade, "to"));
            char *reason = xasprintf("python %s reached end of support on %s; moved to the oldest "
                                     "supported line, python %s",
                                     line->line, eos_s, target_line->line);

            xjson(cJSON_AddStringToObject(from, "runtime", x->rt->id));
            xjson(cJSON_AddStringToObject(from, "python_line", x->rt->line));
            xjson(cJSON_AddStringToObject(from, "bundle_flag", x->bundle->name));
            xjson(cJSON_AddStringToObject(from, "package_set", x->set->id));
            xjson(cJSON_AddStringToObject(to, "runtime", target->bundle_runtime));
            xjson(cJSON_AddStringToObject(to, "python_line", target_line->line));
            xjson(cJSON_AddStringToObject(to, "bundle_flag", target->name));
            xjson(cJSON_AddStringToObject(to, "package_set", target->bundle_package_set));
            xjson(cJSON_AddStringToObject(x->upgrade, "reason", reason));
            free(reason);
        }
        x->bundle = target;
        x->rt = snap_runtime(x->s, target->bundle_runtime);
        x->set = tset;
    }
}

struct closure {
    const struct snap_pkg **order;
    size_t n;
    unsigned char *mark; /* 0 new, 1 visiting, 2 done */
};

static void
visit(const struct snap_set *set, struct closure *cl, const struct snap_pkg *p)
{
    size_t i = (size_t)(p - set->pkgs);

    if (cl->mark[i])
        return; /* done, or a cycle: already on the stack */
    cl->mark[i] = 1;
    for (size_t d = 0; d < p->n_depends; d++) {
        const struct snap_pkg *q = snap_pkg(set, p->depends[d]);

        if (q)
            visit(set, cl, q);
    }
    cl->mark[i] = 2;
    cl->order[cl->n++] = p;
}

static cJSON *
artifact_json(const char *name, const char *version, const char *file_name, const char *sha,
              long long size, int stored)
{
    cJSON *o = xjson(cJSON_CreateObject());
    char *url = xasprintf("/v1/artifacts/sha256/%s", sha);

    xjson(cJSON_AddStringToObject(o, "name", name));
    if (version)
        xjson(cJSON_AddStringToObject(o, "version", version));
    xjson(cJSON_AddStringToObject(o, "file_name", file_name));
    xjson(cJSON_AddStringToObject(o, "sha256", sha));
    if (size >= 0)
        xjson(cJSON_AddNumberToObject(o, "size", (double)size));
    else
        xjson(cJSON_AddNullToObject(o, "size"));
    xjson(cJSON_AddStringToObject(o, "url", url));
    xjson(cJSON_AddBoolToObject(o, "stored", stored));
    free(url);
    return o;
}

static cJSON *
string_array(char *const *v, size_t n)
{
    cJSON *a = xjson(cJSON_CreateArray());

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, xjson(cJSON_CreateString(v[i])));
    return a;
}

/* Check requirements against the set and build packages[] in dependency order. */
static cJSON *
close_packages(struct res_ctx *x)
{
    struct closure cl = {0};
    cJSON *arr = xjson(cJSON_CreateArray());

    if (!x->set)
        return arr;
    cl.order = xcalloc(x->set->n_pkgs, sizeof(*cl.order));
    cl.mark = xcalloc(x->set->n_pkgs, 1);
    for (size_t i = 0; i < x->n_reqs; i++) {
        const struct req *r = &x->reqs[i];
        const struct snap_pkg *p = snap_pkg(x->set, r->name);
        const struct req_spec *failed = NULL;

        if (!p) {
            const char *sug = suggest_pkg(x->set, r->name);
            cJSON *e =
                app_err_add(x->err, "unsupported_package",
                            "package '%s' is not in package set '%s'%s%s%s", r->name, x->set->id,
                            sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");

            xjson(cJSON_AddStringToObject(e, "name", r->name));
            if (sug)
                xjson(cJSON_AddStringToObject(e, "suggestion", sug));
            xjson(cJSON_AddNumberToObject(e, "kind_order", RES_UNSUPPORTED));
            continue;
        }
        if (!req_check(r, p->version, &failed)) {
            cJSON *e = app_err_add(x->err, "requirement_not_satisfied",
                                   "requirement '%s' is not satisfied: package set '%s' has %s %s",
                                   r->line, x->set->id, p->name, p->version);

            xjson(cJSON_AddStringToObject(e, "name", r->name));
            xjson(cJSON_AddStringToObject(e, "requirement", r->line));
            xjson(cJSON_AddStringToObject(e, "resolved_version", p->version));
            xjson(cJSON_AddNumberToObject(e, "kind_order", RES_NOT_SATISFIED));
        }
        visit(x->set, &cl, p);
    }
    for (size_t i = 0; i < cl.n; i++) {
        const struct snap_pkg *p = cl.order[i];
        cJSON *o = artifact_json(p->name, p->version, p->file_name, p->sha256, p->size, p->stored);

        xjson(cJSON_AddStringToObject(o, "package_type", p->package_type));
        xjson(cJSON_AddStringToObject(o, "install_dir", p->install_dir));
        cJSON_AddItemToObject(o, "depends", string_array(p->depends, p->n_depends));
        cJSON_AddItemToObject(o, "imports", string_array(p->imports, p->n_imports));
        cJSON_AddItemToArray(arr, o);
    }
    free(cl.order);
    free(cl.mark);
    return arr;
}

static cJSON *
cstring_array(const char *const *v, size_t n)
{
    cJSON *a = xjson(cJSON_CreateArray());

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, xjson(cJSON_CreateString(v[i])));
    return a;
}

static cJSON *
runtime_json(const struct snap_runtime *rt)
{
    cJSON *o = xjson(cJSON_CreateObject());

    xjson(cJSON_AddStringToObject(o, "id", rt->id));
    xjson(cJSON_AddStringToObject(o, "pyodide", rt->pyodide));
    xjson(cJSON_AddStringToObject(o, "python", rt->python));
    xjson(cJSON_AddStringToObject(o, "python_line", rt->line));
    xjson(cJSON_AddStringToObject(o, "emscripten", rt->emscripten));
    xjson(cJSON_AddStringToObject(o, "abi", rt->abi));
    return o;
}

static cJSON *
build_lock(struct res_ctx *x, cJSON *packages)
{
    const struct res_input *in = x->in;
    cJSON *lock = xjson(cJSON_CreateObject());
    cJSON *arts = xjson(cJSON_CreateArray());
    cJSON *reqs = xjson(cJSON_CreateArray());
    char date_s[APP_DATE_LEN];

    date_format(x->fr.date, date_s);
    xjson(cJSON_AddNumberToObject(lock, "format", RES_LOCK_FORMAT));
    xjson(cJSON_AddStringToObject(lock, "compatibility_date", date_s));
    cJSON_AddItemToObject(lock, "compatibility_flags", cstring_array(in->flags, in->n_flags));
    cJSON_AddItemToObject(lock, "enabled_flags", string_array(x->fr.enabled, x->fr.n_enabled));
    for (size_t i = 0; i < x->n_reqs; i++)
        cJSON_AddItemToArray(reqs, xjson(cJSON_CreateString(x->reqs[i].line)));
    cJSON_AddItemToObject(lock, "requirements", reqs);
    if (x->rt) {
        cJSON_AddItemToObject(lock, "runtime", runtime_json(x->rt));
        xjson(cJSON_AddStringToObject(lock, "bundle_flag", x->bundle->name));
        xjson(cJSON_AddStringToObject(lock, "package_set", x->set->id));
        for (size_t i = 0; i < x->rt->n_arts; i++) {
            const struct snap_artifact *a = &x->rt->arts[i];
            cJSON *o =
                artifact_json(a->file_name, NULL, a->file_name, a->sha256, a->size, a->stored);

            xjson(cJSON_AddStringToObject(o, "role", a->role));
            cJSON_AddItemToArray(arts, o);
        }
    } else {
        xjson(cJSON_AddNullToObject(lock, "runtime"));
        xjson(cJSON_AddNullToObject(lock, "bundle_flag"));
        xjson(cJSON_AddNullToObject(lock, "package_set"));
    }
    cJSON_AddItemToObject(lock, "artifacts", arts);
    cJSON_AddItemToObject(lock, "packages", packages);
    if (x->upgrade)
        cJSON_AddItemToObject(lock, "upgraded_from",
                              xjson(cJSON_Duplicate(cJSON_GetObjectItem(x->upgrade, "from"), 1)));
    else
        xjson(cJSON_AddNullToObject(lock, "upgraded_from"));
    return lock;
}

static int
cmp_err(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int kx = cJSON_GetObjectItem(x, "kind_order")->valueint;
    int ky = cJSON_GetObjectItem(y, "kind_order")->valueint;
    const cJSON *nx = cJSON_GetObjectItem(x, "name"), *ny = cJSON_GetObjectItem(y, "name");

    if (kx != ky)
        return kx < ky ? -1 : 1;
    if (cJSON_IsString(nx) && cJSON_IsString(ny))
        return strcmp(nx->valuestring, ny->valuestring);
    return 0;
}

/* Errors in a stable order: by kind, then subject; the sort key is dropped. */
static void
order_errors(struct app_err *err)
{
    size_t n = (size_t)cJSON_GetArraySize(err->errors), i = 0;
    cJSON **v = xcalloc(n, sizeof(*v));
    cJSON *arr;

    while (err->errors->child)
        v[i++] = cJSON_DetachItemViaPointer(err->errors, err->errors->child);
    qsort(v, n, sizeof(*v), cmp_err);
    arr = err->errors;
    for (i = 0; i < n; i++) {
        cJSON_DeleteItemFromObject(v[i], "kind_order");
        cJSON_AddItemToArray(arr, v[i]);
    }
    free(v);
}

static void
tag_kind(cJSON *e, int kind)
{
    xjson(cJSON_AddNumberToObject(e, "kind_order", kind));
}

int
res_resolve(const struct snap *s, const struct res_input *in, struct res_output *out,
            struct app_err *err)
{
    struct res_ctx x = {0};
    struct flag_input fi = {0};
    cJSON *policy = NULL, *packages = NULL;
    int python_on, ret = -1;
    char as_of_s[APP_DATE_LEN];

    memset(out, 0, sizeof(*out));
    x.s = s;
    x.in = in;
    x.err = err;
    x.warnings = xjson(cJSON_CreateArray());
    err->code = APP_OK;
    if (!err->errors)
        err->errors = xjson(cJSON_CreateArray());
    if (in->n_flags > RES_MAX_FLAGS || in->n_requirements > RES_MAX_REQUIREMENTS) {
        app_fail(err, APP_ETOOLARGE, "too many flags or requirements (limits %d and %d)",
                 RES_MAX_FLAGS, RES_MAX_REQUIREMENTS);
        goto out;
    }
    x.as_of = in->today;
    if (in->as_of && date_parse(in->as_of, &x.as_of) < 0) {
        cJSON *e = app_err_add(err, "invalid_date",
                               "as_of '%s' is not a valid date (YYYY-MM-DD, a real calendar date)",
                               in->as_of);

        xjson(cJSON_AddStringToObject(e, "date", in->as_of));
        xjson(cJSON_AddStringToObject(e, "field", "as_of"));
        tag_kind(e, FLAG_INVALID_DATE);
    }
    fi.date = in->date ? in->date : "";
    fi.flags = in->flags;
    fi.n_flags = in->n_flags;
    fi.allow_experimental = in->allow_experimental;
    fi.today = in->today;
    flag_compile(s->flags, s->n_flags, &fi, &x.fr);
    for (size_t i = 0; i < x.fr.n_errors; i++) {
        cJSON *e = issue_json(&x.fr.errors[i]);

        if (x.fr.errors[i].kind <= FLAG_DATE_IN_FUTURE)
            xjson(cJSON_AddStringToObject(e, "field", "compatibility_date"));
        tag_kind(e, (int)x.fr.errors[i].kind);
        cJSON_AddItemToArray(err->errors, e);
    }
    for (size_t i = 0; i < x.fr.n_warnings; i++)
        cJSON_AddItemToArray(x.warnings, issue_json(&x.fr.warnings[i]));
    {
        struct app_err rerr = {0};

        if (req_parse_lines(in->requirements, in->n_requirements, &x.reqs, &x.n_reqs, &rerr) < 0) {
            cJSON *e;

            while (rerr.errors && (e = cJSON_DetachItemFromArray(rerr.errors, 0))) {
                tag_kind(e, RES_INVALID_REQUIREMENT);
                cJSON_AddItemToArray(err->errors, e);
            }
        }
        app_err_release(&rerr);
    }
    if (x.n_reqs > 1)
        qsort(x.reqs, x.n_reqs, sizeof(*x.reqs), cmp_req);
    python_on = flag_result_has(&x.fr, "python_workers");
    if ((x.n_reqs > 0 || in->python_entry) && !python_on) {
        cJSON *e = app_err_add(err, "python_workers_required",
                               "%s need the 'python_workers' compatibility flag",
                               x.n_reqs ? "python requirements" : "a python entry point");

        xjson(cJSON_AddStringToObject(e, "flag", "python_workers"));
        tag_kind(e, RES_PYTHON_REQUIRED);
    }
    if (has_error(&x))
        goto fail;
    x.bundle = x.fr.bundle;
    if (x.bundle) {
        x.rt = snap_runtime(s, x.bundle->bundle_runtime);
        x.set = snap_set(s, x.bundle->bundle_package_set);
        if (!x.rt || !x.set) {
            app_fail(err, APP_EINTERNAL, "bundle flag '%s' names an unpublished runtime",
                     x.bundle->name);
            goto out;
        }
    }
    policy = xjson(cJSON_CreateObject());
    date_format(x.as_of, as_of_s);
    xjson(cJSON_AddStringToObject(policy, "as_of", as_of_s));
    if (x.rt) {
        apply_policy(&x, policy);
    } else {
        xjson(cJSON_AddNullToObject(policy, "python_line"));
        xjson(cJSON_AddNullToObject(policy, "end_of_support"));
        xjson(cJSON_AddStringToObject(policy, "status", "supported"));
    }
    if (has_error(&x))
        goto fail;
    packages = close_packages(&x);
    if (has_error(&x))
        goto fail;
    out->lock = build_lock(&x, packages);
    packages = NULL;
    cJSON_AddItemToObject(policy, "upgrade", x.upgrade ? x.upgrade : xjson(cJSON_CreateNull()));
    x.upgrade = NULL;
    out->lock_bytes = json_canonical(out->lock, &out->lock_len);
    {
        char hex[APP_SHA256_HEX];

        sha256_hex(out->lock_bytes, out->lock_len, hex);
        snprintf(out->lock_id, sizeof(out->lock_id), "sha256:%s", hex);
    }
    out->policy = policy;
    policy = NULL;
    out->warnings = x.warnings;
    x.warnings = NULL;
    out->as_of = x.as_of;
    cJSON_Delete(err->errors);
    err->errors = NULL;
    ret = 0;
    goto out;
fail:
    order_errors(err);
    {
        int n = cJSON_GetArraySize(err->errors);
        const cJSON *first = cJSON_GetArrayItem(err->errors, 0);

        if (n == 1)
            app_fail(err, APP_EUNPROCESSABLE, "%s",
                     cJSON_GetObjectItem(first, "message")->valuestring);
        else
            app_fail(err, APP_EUNPROCESSABLE, "the worker does not resolve: %d problems, first: %s",
                     n, cJSON_GetObjectItem(first, "message")->valuestring);
    }
out:
    if (ret < 0 && err->code != APP_EUNPROCESSABLE && err->errors &&
        cJSON_GetArraySize(err->errors) == 0) {
        cJSON_Delete(err->errors);
        err->errors = NULL;
    }
    cJSON_Delete(policy);
    cJSON_Delete(packages);
    cJSON_Delete(x.warnings);
    cJSON_Delete(x.upgrade);
    flag_result_release(&x.fr);
    req_free_all(x.reqs, x.n_reqs);
    return ret;
}

void
res_output_release(struct res_output *out)
{
    if (!out)
        return;
    cJSON_Delete(out->lock);
    free(out->lock_bytes);
    cJSON_Delete(out->policy);
    cJSON_Delete(out->warnings);
    memset(out, 0, sizeof(*out));
}

cJSON *
res_response(const struct res_output *out)
{
    cJSON *o = xjson(cJSON_CreateObject());

    xjson(cJSON_AddStringToObject(o, "lock_id", out->lock_id));
    cJSON_AddItemToObject(o, "lock", xjson(cJSON_Duplicate(out->lock, 1)));
    cJSON_AddItemToObject(o, "policy", xjson(cJSON_Duplicate(out->policy, 1)));
    cJSON_AddItemToObject(o, "warnings", xjson(cJSON_Duplicate(out->warnings, 1)));
    return o;
}
