/* catalog/eol_plan.c: the end-of-support plan over a snapshot and registry rows
 * (DESIGN §5, §11): which workers move, which are blocked, which come up soon. No
 * SQL: rows come in, stored locks through a callback.
 *
 * Cost: one resolution per distinct (inputs, date), one lock parse and package diff
 * per distinct (inputs, current lock); per worker only a hash lookup.
 */
#include "catalog/eol_plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "app/strmap.h"
#include "catalog/pyline.h"

/* Strings of a JSON array text, borrowed from *tree (caller deletes it). */
static const char **
json_strings(const char *text, cJSON **tree, size_t *n)
{
    const cJSON *x;
    const char **v;
    size_t i = 0;

    *tree = text ? cJSON_Parse(text) : NULL;
    *n = cJSON_IsArray(*tree) ? (size_t)cJSON_GetArraySize(*tree) : 0;
    v = xcalloc(*n + 1, sizeof(*v));
    if (*n)
        cJSON_ArrayForEach (x, *tree)
            v[i++] = cJSON_IsString(x) ? x->valuestring : "";
    return v;
}

static void
add_unique_sorted(cJSON *arr, const char *name)
{
    cJSON *x;
    int at = 0;

    cJSON_ArrayForEach (x, arr) {
        int c = strcmp(x->valuestring, name);

        if (c == 0)
            return;
        if (c > 0) {
            cJSON_InsertItemInArray(arr, at, xjson(cJSON_CreateString(name)));
            return;
        }
        at++;
    }
    cJSON_AddItemToArray(arr, xjson(cJSON_CreateString(name)));
}

/* {code, message, packages, to} from a resolution's typed problems: the packages
 * that block it (missing from the target set, unsupported, unsatisfied), sorted
 * and unique, and the runtime an upgrade would have gone to. */
static cJSON *
blocked_from(const struct snap *s, const struct res_issues *is, const char *message)
{
    cJSON *b = xjson(cJSON_CreateObject());
    cJSON *pk = xjson(cJSON_CreateArray());
    const char *to = NULL;
    const struct snap_runtime *rt;

    xjson(cJSON_AddStringToObject(b, "code", is->n ? is->v[0].code : "unresolvable"));
    xjson(cJSON_AddStringToObject(b, "message", message));
    for (size_t i = 0; i < is->n; i++) {
        const struct res_issue *x = &is->v[i];

        for (size_t j = 0; j < x->n_packages; j++)
            add_unique_sorted(pk, x->packages[j]);
        if (x->name && (x->kind == RES_UNSUPPORTED || x->kind == RES_NOT_SATISFIED))
            add_unique_sorted(pk, x->name);
        if (!to && x->kind == RES_UPGRADE_BLOCKED)
            to = x->to;
    }
    cJSON_AddItemToObject(b, "packages", pk);
    if (to) {
        cJSON *t = xjson(cJSON_AddObjectToObject(b, "to"));

        rt = snap_runtime(s, to);
        xjson(cJSON_AddStringToObject(t, "runtime", to));
        json_add_str_or_null(t, "python_line", rt ? rt->line : NULL);
    } else {
        xjson(cJSON_AddNullToObject(b, "to"));
    }
    return b;
}

/* The comparable part of a blocked reason (the message may name dates). */
static char *
blocked_key(const cJSON *b)
{
    cJSON *k = xjson(cJSON_CreateObject());
    char *s;

    xjson(cJSON_AddStringToObject(k, "code", json_str_item(b, "code")));
    cJSON_AddItemToObject(k, "packages",
                          xjson(cJSON_Duplicate(cJSON_GetObjectItem(b, "packages"), 1)));
    cJSON_AddItemToObject(k, "to", xjson(cJSON_Duplicate(cJSON_GetObjectItem(b, "to"), 1)));
    s = json_canonical(k, NULL);
    cJSON_Delete(k);
    return s;
}

/* Resolve the inputs of w as of as_of, once per distinct inputs and date. */
static int
res_for(struct eol_plan *p, const struct snap *s, const struct cat_worker *w, int as_of, int today,
        size_t *out, struct app_err *err)
{
    char *key = xasprintf("%s\x1f%s\x1f%s\x1f%d\x1f%d", w->date, w->flags, w->requirements,
                          w->allow_experimental, as_of);
    struct eol_res *r;
    struct res_input in = {0};
    struct app_err e = {0};
    struct res_issues issues = {0};
    cJSON *ft = NULL, *rt = NULL;
    const char **flags, **reqs;
    char as_of_s[APP_DATE_LEN];
    int ret = -1;

    if (strmap_get(p->res_map, key, out)) {
        free(key);
        return 0;
    }
    if (p->n_res == p->cap_res) {
        p->cap_res = p->cap_res ? p->cap_res * 2 : 16;
        p->res = xrealloc(p->res, p->cap_res * sizeof(*p->res));
    }
    r = &p->res[p->n_res];
    memset(r, 0, sizeof(*r));
    flags = json_strings(w->flags, &ft, &in.n_flags);
    reqs = json_strings(w->requirements, &rt, &in.n_requirements);
    date_format(as_of, as_of_s);
    in.date = w->date;
    in.flags = flags;
    in.requirements = reqs;
    in.as_of = as_of_s;
    in.allow_experimental = w->allow_experimental;
    in.today = today;
    if (res_resolve_issues(s, &in, &r->out, &issues, &e) == 0) {
        r->ok = 1;
    } else if (e.code == APP_EUNPROCESSABLE && issues.n > 0) {
        r->blocked = blocked_from(s, &issues, e.msg);
    } else {
        app_fail(err, e.code == APP_OK ? APP_EINTERNAL : e.code, "cannot evaluate worker '%s': %s",
                 w->name, e.msg);
        goto out;
    }
    r->key = xstrdup(key);
    strmap_put(p->res_map, key, p->n_res);
    key = NULL;
    *out = p->n_res++;
    ret = 0;
out:
    free(key);
    free(flags);
    free(reqs);
    cJSON_Delete(ft);
    cJSON_Delete(rt);
    app_err_release(&e);
    res_issues_release(&issues);
    return ret;
}

/* name -> version of a lock's packages, as a JSON object. */
static cJSON *
lock_versions(const cJSON *lock)
{
    cJSON *o = xjson(cJSON_CreateObject());
    const cJSON *p;

    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(lock, "packages")) {
        const char *name = json_str_item(p, "name"), *version = json_str_item(p, "version");

        if (name && !cJSON_GetObjectItemCaseSensitive(o, name))
            xjson(cJSON_AddStringToObject(o, name, version ? version : ""));
    }
    return o;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* [{name, from, to, change}] by name: changed versions, added and removed packages. */
static cJSON *
package_changes(const cJSON *old_lock, const cJSON *new_lock)
{
    cJSON *a = lock_versions(old_lock), *b = lock_versions(new_lock);
    cJSON *out = xjson(cJSON_CreateArray()), *x;
    size_t n = 0, k = 0;
    const char **names;

    n = (size_t)cJSON_GetArraySize(a) + (size_t)cJSON_GetArraySize(b);
    names = xcalloc(n + 1, sizeof(*names));
    cJSON_ArrayForEach (x, a)
        names[k++] = x->string;
    cJSON_ArrayForEach (x, b) {
        if (!cJSON_GetObjectItemCaseSensitive(a, x->string))
            names[k++] = x->string;
    }
    qsort(names, k, sizeof(*names), cmp_str);
    for (size_t i = 0; i < k; i++) {
        const char *from = json_str_item(a, names[i]), *to = json_str_item(b, names[i]);
        cJSON *c;

        if (from && to && strcmp(from, to) == 0)
            continue;
        c = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(c, "name", names[i]));
        json_add_str_or_null(c, "from", from);
        json_add_str_or_null(c, "to", to);
        xjson(cJSON_AddStringToObject(c, "change", !from ? "added" : !to ? "removed" : "changed"));
        cJSON_AddItemToArray(out, c);
    }
    free(names);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return out;
}

/* Decide what a group's workers face as of its date. */
static int
group_eval(struct eol_plan *p, struct eol_group *g, int as_of, eol_lock_fn load_lock,
           void *lock_ctx, struct app_err *err)
{
    const struct eol_res *r = &p->res[g->res];
    char as_of_s[APP_DATE_LEN], eos_s[APP_DATE_LEN];
    const cJSON *rt = r->ok ? cJSON_GetObjectItemCaseSensitive(r->out.lock, "runtime") : NULL;
    cJSON *ev;

    date_format(as_of, as_of_s);
    date_format(g->end_of_support, eos_s);
    if (r->ok &&
        cat_pyline_rank(json_str_item(rt, "python_line")) > cat_pyline_rank(g->python_line)) {
        g->outcome = EOL_MOVE;
        g->to_runtime = json_str_item(rt, "id");
        g->to_line = json_str_item(rt, "python_line");
        snprintf(g->to_lock_id, sizeof(g->to_lock_id), "%s", r->out.lock_id);
        g->reason = xasprintf("python %s reached end of support on %s; moved to the oldest "
                              "supported line, python %s (%s)",
                              g->python_line, eos_s, g->to_line, g->to_runtime);
        if (g->upcoming)
            return 0;
        {
            char *bytes = NULL;
            size_t len = 0;
            cJSON *old;

            if (load_lock(lock_ctx, g->lock_id, &bytes, &len, err) < 0)
                return -1;
            old = cJSON_ParseWithLength(bytes, len);
            free(bytes);
            g->package_changes = package_changes(old, r->out.lock);
            cJSON_Delete(old);
        }
        ev = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(ev, "as_of", as_of_s));
        cJSON_AddItemToObject(ev, "from", eol_side_json(g->runtime, g->python_line, NULL));
        xjson(cJSON_AddStringToObject(ev, "new_lock_id", g->to_lock_id));
        xjson(cJSON_AddStringToObject(ev, "old_lock_id", g->lock_id));
        xjson(cJSON_AddStringToObject(ev, "reason", g->reason));
        cJSON_AddItemToObject(ev, "to", eol_side_json(g->to_runtime, g->to_line, NULL));
        g->event_prefix = eol_event_prefix(ev);
        return 0;
    }
    g->outcome = EOL_BLOCK;
    if (r->ok) {
        /* Only when end dates are out of line order: never move backwards. */
        g->blocked = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(g->blocked, "code", "no_supported_runtime"));
        g->reason = xasprintf("python %s reached end of support on %s; the worker resolves to "
                              "python %s (%s) as of %s, which is not a newer line",
                              g->python_line, eos_s, json_str_item(rt, "python_line"),
                              json_str_item(rt, "id"), as_of_s);
        xjson(cJSON_AddStringToObject(g->blocked, "message", g->reason));
        xjson(cJSON_AddArrayToObject(g->blocked, "packages"));
        xjson(cJSON_AddNullToObject(g->blocked, "to"));
    } else {
        g->blocked = xjson(cJSON_Duplicate(r->blocked, 1));
        g->reason = xstrdup(json_str_item(g->blocked, "message"));
    }
    g->blocked_key = blocked_key(g->blocked);
    if (g->upcoming)
        return 0;
    ev = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(ev, "as_of", as_of_s));
    xjson(cJSON_AddStringToObject(ev, "code", json_str_item(g->blocked, "code")));
    cJSON_AddItemToObject(ev, "from", eol_side_json(g->runtime, g->python_line, g->lock_id));
    xjson(cJSON_AddStringToObject(ev, "message", g->reason));
    cJSON_AddItemToObject(ev, "packages",
                          xjson(cJSON_Duplicate(cJSON_GetObjectItem(g->blocked, "packages"), 1)));
    cJSON_AddItemToObject(ev, "to",
                          xjson(cJSON_Duplicate(cJSON_GetObjectItem(g->blocked, "to"), 1)));
    g->event_prefix = eol_event_prefix(ev);
    return 0;
}

/* The group of row w evaluated as of as_of (created and evaluated on first use). */
static int
group_for(struct eol_plan *p, const struct snap *s, const struct cat_worker *w, int eos, int as_of,
          int upcoming, int today, eol_lock_fn load_lock, void *lock_ctx, size_t *out,
          struct app_err *err)
{
    struct eol_group *g;
    size_t r;
    char *key;

    if (res_for(p, s, w, as_of, today, &r, err) < 0)
        return -1;
    key = xasprintf("%zu\x1f%s", r, w->lock_id);
    if (strmap_get(p->group_map, key, out)) {
        free(key);
        p->groups[*out].n_workers++;
        return 0;
    }
    if (p->n_groups == p->cap_groups) {
        p->cap_groups = p->cap_groups ? p->cap_groups * 2 : 16;
        p->groups = xrealloc(p->groups, p->cap_groups * sizeof(*p->groups));
    }
    g = &p->groups[p->n_groups];
    memset(g, 0, sizeof(*g));
    g->res = r;
    g->lock_id = w->lock_id;
    g->runtime = w->runtime;
    g->python_line = w->python_line;
    g->end_of_support = eos;
    g->upcoming = upcoming;
    g->n_workers = 1;
    p->n_groups++;
    strmap_put(p->group_map, key, p->n_groups - 1);
    *out = p->n_groups - 1;
    return group_eval(p, g, as_of, load_lock, lock_ctx, err);
}

static void
entry_add(struct eol_entry **v, size_t *n, size_t row, size_t group, int unchanged)
{
    /* Grow by doubling at powers of two. */
    if ((*n & (*n - 1)) == 0)
        *v = xrealloc(*v, (*n ? *n * 2 : 1) * sizeof(**v));
    (*v)[*n].row = row;
    (*v)[*n].group = group;
    (*v)[*n].unchanged = unchanged;
    (*n)++;
}

/* 1 when w was blocked as of a date on or before as_of (or the date is unknown). */
static int
blocked_on_or_before(const struct cat_worker *w, int as_of)
{
    int since;

    if (!w->blocked_since || date_parse(w->blocked_since, &since) < 0)
        return 1;
    return since <= as_of;
}

int
eol_plan_build(const struct snap *s, struct cat_worker *rows, size_t n_rows, int as_of, int today,
               unsigned want, eol_lock_fn load_lock, void *lock_ctx, struct eol_plan **out,
               struct app_err *err)
{
    struct eol_plan *p = xcalloc(1, sizeof(*p));

    *out = NULL;
    p->as_of = as_of;
    p->want = want;
    p->rows = rows;
    p->n_rows = n_rows;
    p->res_map = strmap_new();
    p->group_map = strmap_new();
    for (size_t i = 0; i < n_rows; i++) {
        const struct cat_worker *w = &rows[i];
        const struct snap_line *l = w->python_line ? snap_line(s, w->python_line) : NULL;
        int blocked = strcmp(w->status, "blocked") == 0;
        size_t g;

        if (!l)
            continue;
        if (as_of >= l->end_of_support) {
            if (!(want & EOL_WANT_MOVES))
                continue;
            if (group_for(p, s, w, l->end_of_support, as_of, 0, today, load_lock, lock_ctx, &g,
                          err) < 0)
                goto fail;
            if (p->groups[g].outcome == EOL_MOVE) {
                entry_add(&p->moves, &p->n_moves, i, g, 0);
            } else {
                int same = blocked && w->blocked_reason && p->groups[g].blocked_key;

                if (same) {
                    cJSON *old = cJSON_Parse(w->blocked_reason);
                    char *k = old ? blocked_key(old) : NULL;

                    same = k && strcmp(k, p->groups[g].blocked_key) == 0;
                    free(k);
                    cJSON_Delete(old);
                }
                entry_add(&p->blocked, &p->n_blocked, i, g, same);
                p->n_newly_blocked += !same;
            }
            continue;
        }
        if ((want & EOL_WANT_MOVES) && blocked && blocked_on_or_before(w, as_of))
            entry_add(&p->unblocked, &p->n_unblocked, i, (size_t)-1, 0);
        if ((want & EOL_WANT_UPCOMING) && as_of >= l->end_of_support - CAT_WARNING_DAYS) {
            if (group_for(p, s, w, l->end_of_support, l->end_of_support, 1, today, load_lock,
                          lock_ctx, &g, err) < 0)
                goto fail;
            entry_add(&p->upcoming, &p->n_upcoming, i, g,
                      w->upcoming_notified && strcmp(w->upcoming_notified, w->python_line) == 0);
        }
    }
    *out = p;
    return 0;
fail:
    eol_plan_free(p);
    return -1;
}

void
eol_plan_free(struct eol_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_groups; i++) {
        struct eol_group *g = &p->groups[i];

        free(g->reason);
        cJSON_Delete(g->package_changes);
        cJSON_Delete(g->blocked);
        free(g->blocked_key);
        free(g->event_prefix);
    }
    for (size_t i = 0; i < p->n_res; i++) {
        free(p->res[i].key);
        res_output_release(&p->res[i].out);
        cJSON_Delete(p->res[i].blocked);
    }
    free(p->groups);
    free(p->res);
    free(p->moves);
    free(p->blocked);
    free(p->unblocked);
    free(p->upcoming);
    strmap_free(p->res_map);
    strmap_free(p->group_map);
    cat_workers_free(p->rows, p->n_rows);
    free(p);
}
