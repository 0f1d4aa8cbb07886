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
#include "app/strv.h"
#include "catalog/pyline.h"
#include "catalog/req.h"

struct res_ctx {
    const struct snap *s;
    const struct res_input *in;
    struct res_issues errors;
    struct res_issues warnings;
    struct flag_result fr;
    struct req *reqs;
    size_t n_reqs;
    const struct flag_def *bundle; /* the bundle in force after the policy */
    const struct snap_runtime *rt;
    const struct snap_set *set;
    int as_of;
    cJSON *upgrade;
    cJSON *stored; /* {sha256: bool}: beside the lock, never in its bytes */
};

static char *
dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static struct res_issue *issue_add(struct res_issues *v, int kind, const char *code,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Append an issue with its code and message; the caller sets subject fields. */
static struct res_issue *
issue_add(struct res_issues *v, int kind, const char *code, const char *fmt, ...)
{
    char msg[APP_ERR_MSG_MAX];
    struct res_issue *is;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->v = xrealloc(v->v, (v->n + 1) * sizeof(*v->v));
    is = &v->v[v->n++];
    memset(is, 0, sizeof(*is));
    is->kind = kind;
    is->code = xstrdup(code);
    is->message = xstrdup(msg);
    return is;
}

/* A flag compiler issue: its name is a date or a flag by kind. */
static void
issue_from_flag(struct res_issues *v, const struct flag_issue *fi, int is_error)
{
    struct res_issue *is = issue_add(v, (int)fi->kind, fi->code, "%s", fi->message);
    int about_date = fi->kind <= FLAG_DATE_IN_FUTURE;

    if (about_date)
        is->date = xstrdup(fi->name);
    else
        is->flag = xstrdup(fi->name);
    is->suggestion = dup_or_null(fi->suggestion);
    if (is_error && about_date)
        is->field = xstrdup("compatibility_date");
}

static void
issue_release(struct res_issue *is)
{
    free(is->code), free(is->message), free(is->name), free(is->flag), free(is->date);
    free(is->field), free(is->suggestion), free(is->line), free(is->requirement);
    free(is->resolved_version), free(is->python_line), free(is->from), free(is->to);
    strv_free(is->packages, is->n_packages);
}

void
res_issues_release(struct res_issues *is)
{
    if (!is)
        return;
    for (size_t i = 0; i < is->n; i++)
        issue_release(&is->v[i]);
    free(is->v);
    is->v = NULL;
    is->n = 0;
}

static void
add_opt(cJSON *o, const char *key, const char *v)
{
    if (v)
        xjson(cJSON_AddStringToObject(o, key, v));
}

void
res_issues_render(const struct res_issues *is, cJSON **arr)
{
    if (!*arr)
        *arr = xjson(cJSON_CreateArray());
    for (size_t i = 0; i < is->n; i++) {
        const struct res_issue *x = &is->v[i];
        cJSON *o = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(o, "code", x->code));
        xjson(cJSON_AddStringToObject(o, "message", x->message));
        add_opt(o, "name", x->name);
        add_opt(o, "flag", x->flag);
        add_opt(o, "date", x->date);
        add_opt(o, "field", x->field);
        add_opt(o, "suggestion", x->suggestion);
        add_opt(o, "line", x->line);
        add_opt(o, "requirement", x->requirement);
        add_opt(o, "resolved_version", x->resolved_version);
        add_opt(o, "python_line", x->python_line);
        add_opt(o, "from", x->from);
        add_opt(o, "to", x->to);
        if (x->packages) {
            cJSON *p = xjson(cJSON_AddArrayToObject(o, "packages"));

            for (size_t j = 0; j < x->n_packages; j++)
                cJSON_AddItemToArray(p, xjson(cJSON_CreateString(x->packages[j])));
        }
        cJSON_AddItemToArray(*arr, o);
    }
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
static char **
missing_in(const struct res_ctx *x, const struct snap_set *set, size_t *n)
{
    char **v = NULL;

    *n = 0;
    for (size_t i = 0; i < x->n_reqs; i++)
        if (!snap_pkg(set, x->reqs[i].name))
            strv_push(&v, n, x->reqs[i].name);
    return v;
}

static int
cmp_req(const void *a, const void *b)
{
    return strcmp(((const struct req *)a)->name, ((const struct req *)b)->name);
}

static int
has_error(const struct res_ctx *x)
{
    return x->errors.n > 0;
}

/* The oldest line newer than line, still supported as of as_of, with a published,
 * non-experimental bundle (the lowest order on that line); NULL when none. */
static const struct flag_def *
successor_bundle(const struct res_ctx *x, const struct snap_line *line,
                 const struct snap_line **target_line)
{
    const struct flag_def *target = NULL;

    *target_line = NULL;
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
            *target_line = l;
    }
    return target;
}

/* "ending": a warning naming where the worker will go. */
static void
warn_ending(struct res_ctx *x, const struct snap_line *line, const char *eos_s,
            const struct flag_def *target, const struct snap_line *target_line)
{
    if (target)
        issue_add(&x->warnings, 0, "support_ending",
                  "python %s reaches end of support on %s; workers on it will move to python %s "
                  "(%s, flag '%s')",
                  line->line, eos_s, target_line->line, target->bundle_runtime, target->name);
    else
        issue_add(&x->warnings, 0, "support_ending",
                  "python %s reaches end of support on %s and no newer supported line has a "
                  "bundle yet",
                  line->line, eos_s);
}

/* "ended": move to target, unless a requirement is missing from its package set. */
static void
move_to(struct res_ctx *x, const struct snap_line *line, const char *eos_s,
        const struct flag_def *target, const struct snap_line *target_line)
{
    const struct snap_set *tset = snap_set(x->s, target->bundle_package_set);
    size_t n_missing;
    char **missing = missing_in(x, tset, &n_missing);
    cJSON *from, *to;
    char *reason;

    if (n_missing > 0) {
        char *names = strv_to_json((const char *const *)missing, n_missing);
        struct res_issue *is =
            issue_add(&x->errors, RES_UPGRADE_BLOCKED, "upgrade_blocked",
                      "python %s reached end of support on %s; the move to %s is "
                      "blocked: %s not in package set '%s'",
                      line->line, eos_s, target->bundle_runtime, names, tset->id);

        is->packages = missing;
        is->n_packages = n_missing;
        is->from = xstrdup(x->rt->id);
        is->to = xstrdup(target->bundle_runtime);
        free(names);
        return;
    }
    strv_free(missing, n_missing);
    x->upgrade = xjson(cJSON_CreateObject());
    from = xjson(cJSON_AddObjectToObject(x->upgrade, "from"));
    to = xjson(cJSON_AddObjectToObject(x->upgrade, "to"));
    reason = xasprintf("python %s reached end of support on %s; moved to the oldest "
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
    x->bundle = target;
    x->rt = snap_runtime(x->s, target->bundle_runtime);
    x->set = tset;
}

/* DESIGN §5: a supported line stays; an ending one warns; an ended worker moves to
 * the oldest newer line that is still supported as of as_of and has a published,
 * non-experimental bundle (lowest order), or does not resolve. */
static void
apply_policy(struct res_ctx *x, cJSON *policy)
{
    const struct snap_line *line = snap_line(x->s, x->rt->line);
    const struct snap_line *target_line = NULL;
    const struct flag_def *target;
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
    target = successor_bundle(x, line, &target_line);
    if (strcmp(status, "ending") == 0) {
        warn_ending(x, line, eos_s, target, target_line);
        return;
    }
    if (!target) {
        struct res_issue *is = issue_add(&x->errors, RES_NO_RUNTIME, "no_supported_runtime",
                                         "python %s reached end of support on %s and no newer "
                                         "line is supported as of %s",
                                         line->line, eos_s, as_of_s);

        is->python_line = xstrdup(line->line);
        return;
    }
    move_to(x, line, eos_s, target, target_line);
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

/* One artifact entry of a lock. Whether its bytes are stored changes without a
 * catalog change, so it goes to the `stored` map beside the lock, not into it. */
static cJSON *
artifact_json(const char *name, const char *version, const char *file_name, const char *sha,
              long long size, int stored, cJSON *stored_map)
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
    if (!cJSON_GetObjectItemCaseSensitive(stored_map, sha))
        xjson(cJSON_AddBoolToObject(stored_map, sha, stored));
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
            struct res_issue *is =
                issue_add(&x->errors, RES_UNSUPPORTED, "unsupported_package",
                          "package '%s' is not in package set '%s'%s%s%s", r->name, x->set->id,
                          sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");

            is->name = xstrdup(r->name);
            is->suggestion = dup_or_null(sug);
            continue;
        }
        if (!req_check(r, p->version, &failed)) {
            struct res_issue *is =
                issue_add(&x->errors, RES_NOT_SATISFIED, "requirement_not_satisfied",
                          "requirement '%s' is not satisfied: package set '%s' has %s %s", r->line,
                          x->set->id, p->name, p->version);

            is->name = xstrdup(r->name);
            is->requirement = xstrdup(r->line);
            is->resolved_version = xstrdup(p->version);
        }
        visit(x->set, &cl, p);
    }
    for (size_t i = 0; i < cl.n; i++) {
        const struct snap_pkg *p = cl.order[i];
        cJSON *o = artifact_json(p->name, p->version, p->file_name, p->sha256, p->size, p->stored,
                                 x->stored);

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
    /* The canonical form, not the line as sent: the same requirement always gives
     * the same lock, and a lock holds no more than the limits allow (lock format 2). */
    for (size_t i = 0; i < x->n_reqs; i++) {
        char *canon = req_canonical(&x->reqs[i]);

        cJSON_AddItemToArray(reqs, xjson(cJSON_CreateString(canon)));
        free(canon);
    }
    cJSON_AddItemToObject(lock, "requirements", reqs);
    if (x->rt) {
        cJSON_AddItemToObject(lock, "runtime", runtime_json(x->rt));
        xjson(cJSON_AddStringToObject(lock, "bundle_flag", x->bundle->name));
        xjson(cJSON_AddStringToObject(lock, "package_set", x->set->id));
        for (size_t i = 0; i < x->rt->n_arts; i++) {
            const struct snap_artifact *a = &x->rt->arts[i];
            cJSON *o = artifact_json(a->file_name, NULL, a->file_name, a->sha256, a->size,
                                     a->stored, x->stored);

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

/* Problems by kind, then by name (issues without one keep their order). */
static int
cmp_issue(const void *a, const void *b)
{
    const struct res_issue *x = a, *y = b;

    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->name && y->name)
        return strcmp(x->name, y->name);
    return 0;
}

/* Inputs that are checked before any resolution: as_of, the flags (compiled), the
 * requirements (parsed and sorted), and python_workers when Python is asked for. */
static void
check_inputs(struct res_ctx *x)
{
    const struct res_input *in = x->in;
    struct flag_input fi = {0};
    struct app_err rerr = {0};

    x->as_of = in->today;
    if (in->as_of && date_parse(in->as_of, &x->as_of) < 0) {
        struct res_issue *is = issue_add(
            &x->errors, FLAG_INVALID_DATE, "invalid_date",
            "as_of '%s' is not a valid date (YYYY-MM-DD, a real calendar date)", in->as_of);

        is->date = xstrdup(in->as_of);
        is->field = xstrdup("as_of");
    }
    fi.date = in->date ? in->date : "";
    fi.flags = in->flags;
    fi.n_flags = in->n_flags;
    fi.allow_experimental = in->allow_experimental;
    fi.today = in->today;
    flag_compile(x->s->flags, x->s->n_flags, &fi, &x->fr);
    for (size_t i = 0; i < x->fr.n_errors; i++)
        issue_from_flag(&x->errors, &x->fr.errors[i], 1);
    for (size_t i = 0; i < x->fr.n_warnings; i++)
        issue_from_flag(&x->warnings, &x->fr.warnings[i], 0);
    if (req_parse_lines(in->requirements, in->n_requirements, &x->reqs, &x->n_reqs, &rerr) < 0) {
        const cJSON *e;

        cJSON_ArrayForEach (e, rerr.errors) {
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
            const cJSON *line = cJSON_GetObjectItemCaseSensitive(e, "line");
            struct res_issue *is =
                issue_add(&x->errors, RES_INVALID_REQUIREMENT,
                          cJSON_IsString(code) ? code->valuestring : "invalid_requirement", "%s",
                          cJSON_IsString(msg) ? msg->valuestring : "invalid requirement");

            is->line = cJSON_IsString(line) ? xstrdup(line->valuestring) : NULL;
        }
    }
    app_err_release(&rerr);
    if (x->n_reqs > 1)
        qsort(x->reqs, x->n_reqs, sizeof(*x->reqs), cmp_req);
    if ((x->n_reqs > 0 || in->python_entry) && !flag_result_has(&x->fr, "python_workers")) {
        struct res_issue *is =
            issue_add(&x->errors, RES_PYTHON_REQUIRED, "python_workers_required",
                      "%s need the 'python_workers' compatibility flag",
                      x->n_reqs ? "python requirements" : "a python entry point");

        is->flag = xstrdup("python_workers");
    }
}

/* The policy document, after moving the worker when its line ended. */
static cJSON *
policy_of(struct res_ctx *x)
{
    cJSON *policy = xjson(cJSON_CreateObject());
    char as_of_s[APP_DATE_LEN];

    date_format(x->as_of, as_of_s);
    xjson(cJSON_AddStringToObject(policy, "as_of", as_of_s));
    if (x->rt) {
        apply_policy(x, policy);
    } else {
        xjson(cJSON_AddNullToObject(policy, "python_line"));
        xjson(cJSON_AddNullToObject(policy, "end_of_support"));
        xjson(cJSON_AddStringToObject(policy, "status", "supported"));
    }
    return policy;
}

/* The lock, its canonical bytes and id, the policy and the warnings into out. */
static void
finish(struct res_ctx *x, cJSON *packages, cJSON *policy, struct res_output *out)
{
    char hex[APP_SHA256_HEX];

    out->lock = build_lock(x, packages);
    cJSON_AddItemToObject(policy, "upgrade", x->upgrade ? x->upgrade : xjson(cJSON_CreateNull()));
    x->upgrade = NULL;
    out->lock_bytes = json_canonical(out->lock, &out->lock_len);
    sha256_hex(out->lock_bytes, out->lock_len, hex);
    snprintf(out->lock_id, sizeof(out->lock_id), "sha256:%s", hex);
    out->policy = policy;
    out->warnings = NULL;
    res_issues_render(&x->warnings, &out->warnings);
    out->stored = x->stored;
    x->stored = NULL;
    out->as_of = x->as_of;
}

/* The summary message of a failed resolution: its one problem, or a count. */
static int
fail_unresolvable(const struct res_issues *errors, struct app_err *err)
{
    if (errors->n == 1)
        return app_fail(err, APP_EUNPROCESSABLE, "%s", errors->v[0].message);
    return app_fail(err, APP_EUNPROCESSABLE, "the worker does not resolve: %zu problems, first: %s",
                    errors->n, errors->v[0].message);
}

int
res_resolve_issues(const struct snap *s, const struct res_input *in, struct res_output *out,
                   struct res_issues *issues, struct app_err *err)
{
    struct res_ctx x = {0};
    cJSON *policy = NULL, *packages = NULL;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    x.s = s;
    x.in = in;
    x.stored = xjson(cJSON_CreateObject());
    if (in->n_flags > RES_MAX_FLAGS || in->n_requirements > RES_MAX_REQUIREMENTS) {
        app_fail(err, APP_ETOOLARGE, "too many flags or requirements (limits %d and %d)",
                 RES_MAX_FLAGS, RES_MAX_REQUIREMENTS);
        goto out;
    }
    check_inputs(&x);
    if (has_error(&x))
        goto unresolvable;
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
    policy = policy_of(&x);
    if (has_error(&x))
        goto unresolvable;
    packages = close_packages(&x);
    if (has_error(&x))
        goto unresolvable;
    finish(&x, packages, policy, out);
    packages = policy = NULL;
    ret = 0;
    goto out;
unresolvable:
    qsort(x.errors.v, x.errors.n, sizeof(*x.errors.v), cmp_issue);
    fail_unresolvable(&x.errors, err);
    if (issues) {
        *issues = x.errors;
        memset(&x.errors, 0, sizeof(x.errors));
    }
out:
    cJSON_Delete(policy);
    cJSON_Delete(packages);
    cJSON_Delete(x.upgrade);
    cJSON_Delete(x.stored);
    res_issues_release(&x.errors);
    res_issues_release(&x.warnings);
    flag_result_release(&x.fr);
    req_free_all(x.reqs, x.n_reqs);
    return ret;
}

int
res_resolve(const struct snap *s, const struct res_input *in, struct res_output *out,
            struct app_err *err)
{
    struct res_issues issues = {0};
    int ret = res_resolve_issues(s, in, out, &issues, err);

    if (ret < 0 && issues.n)
        res_issues_render(&issues, &err->errors);
    res_issues_release(&issues);
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
    cJSON_Delete(out->stored);
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
    cJSON_AddItemToObject(o, "stored", xjson(cJSON_Duplicate(out->stored, 1)));
    return o;
}
