/* catalog/eol.c: end-of-support planning and applying over the workers registry.
 *
 * See eol.h for the policy. Cost: one res_resolve per distinct (inputs, date), one
 * lock parse and package diff per distinct (inputs, current lock); per worker only a
 * hash lookup when planning and four prepared statements when applying.
 */
#include "catalog/eol.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/hooks.h"
#include "catalog/lines.h"
#include "catalog/locks.h"
#include "catalog/pyline.h"
#include "db/events.h"

#define EOL_MAX_LINES 64
#define EOL_APPLY_CACHE_KIB (-131072) /* PRAGMA cache_size: negative means KiB */

/* An open-addressing map from owned string keys to indexes. */
struct eol_map {
    char **keys;
    size_t *vals;
    size_t slots, n;
};

static uint64_t
fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static struct eol_map *
map_new(void)
{
    struct eol_map *m = xcalloc(1, sizeof(*m));

    m->slots = 64;
    m->keys = xcalloc(m->slots, sizeof(*m->keys));
    m->vals = xcalloc(m->slots, sizeof(*m->vals));
    return m;
}

static void
map_free(struct eol_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->slots; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    free(m);
}

static size_t
map_slot(const struct eol_map *m, const char *key)
{
    size_t i = (size_t)(fnv1a(key) & (m->slots - 1));

    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->slots - 1);
    return i;
}

static int
map_get(const struct eol_map *m, const char *key, size_t *val)
{
    size_t i = map_slot(m, key);

    if (!m->keys[i])
        return 0;
    *val = m->vals[i];
    return 1;
}

/* Takes ownership of key, which must not be present yet. */
static void
map_put(struct eol_map *m, char *key, size_t val)
{
    size_t i;

    if ((m->n + 1) * 2 > m->slots) {
        struct eol_map big = {xcalloc(m->slots * 2, sizeof(char *)),
                              xcalloc(m->slots * 2, sizeof(size_t)), m->slots * 2, m->n};

        for (size_t j = 0; j < m->slots; j++) {
            if (m->keys[j]) {
                size_t k = map_slot(&big, m->keys[j]);

                big.keys[k] = m->keys[j];
                big.vals[k] = m->vals[j];
            }
        }
        free(m->keys);
        free(m->vals);
        *m = big;
    }
    i = map_slot(m, key);
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}

static const char *
str_item(const cJSON *obj, const char *key)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

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

/* {code, message, packages, to} from a resolution's problems. */
static cJSON *
blocked_from(const struct snap *s, const struct app_err *e)
{
    cJSON *b = xjson(cJSON_CreateObject());
    cJSON *pk = xjson(cJSON_CreateArray());
    const cJSON *first = cJSON_GetArrayItem(e->errors, 0), *x;
    const char *to = NULL;
    const struct snap_runtime *rt;

    xjson(cJSON_AddStringToObject(
        b, "code", str_item(first, "code") ? str_item(first, "code") : "unresolvable"));
    xjson(cJSON_AddStringToObject(b, "message", e->msg));
    cJSON_ArrayForEach (x, e->errors) {
        const cJSON *pkgs = cJSON_GetObjectItemCaseSensitive(x, "packages"), *p;
        const char *code = str_item(x, "code");

        if (cJSON_IsArray(pkgs))
            cJSON_ArrayForEach (p, pkgs) {
                if (cJSON_IsString(p))
                    add_unique_sorted(pk, p->valuestring);
            }
        else if (code && str_item(x, "name") &&
                 (!strcmp(code, "unsupported_package") ||
                  !strcmp(code, "requirement_not_satisfied")))
            add_unique_sorted(pk, str_item(x, "name"));
        if (!to && code && !strcmp(code, "upgrade_blocked"))
            to = str_item(x, "to");
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

    xjson(cJSON_AddStringToObject(k, "code", str_item(b, "code")));
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
    cJSON *ft = NULL, *rt = NULL;
    const char **flags, **reqs;
    char as_of_s[APP_DATE_LEN];
    int ret = -1;

    if (map_get(p->res_map, key, out)) {
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
    if (res_resolve(s, &in, &r->out, &e) == 0) {
        r->ok = 1;
    } else if (e.code == APP_EUNPROCESSABLE && e.errors && cJSON_GetArraySize(e.errors) > 0) {
        r->blocked = blocked_from(s, &e);
    } else {
        app_fail(err, e.code == APP_OK ? APP_EINTERNAL : e.code, "cannot evaluate worker '%s': %s",
                 w->name, e.msg);
        goto out;
    }
    r->key = xstrdup(key);
    map_put(p->res_map, key, p->n_res);
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
    return ret;
}

/* name -> version of a lock's packages, as a JSON object. */
static cJSON *
lock_versions(const cJSON *lock)
{
    cJSON *o = xjson(cJSON_CreateObject());
    const cJSON *p;

    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(lock, "packages")) {
        const char *name = str_item(p, "name"), *version = str_item(p, "version");

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
        const char *from = str_item(a, names[i]), *to = str_item(b, names[i]);
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

static cJSON *
side_json(const char *runtime, const char *line, const char *lock_id)
{
    cJSON *o = xjson(cJSON_CreateObject());

    json_add_str_or_null(o, "runtime", runtime);
    json_add_str_or_null(o, "python_line", line);
    if (lock_id)
        xjson(cJSON_AddStringToObject(o, "lock_id", lock_id));
    return o;
}

/* The canonical text of obj without its closing brace: an event's data lacking only
 * its last key, "worker", which sorts after every other key. */
static char *
prefix_of(cJSON *obj)
{
    size_t len;
    char *s = json_canonical(obj, &len);

    cJSON_Delete(obj);
    s[len - 1] = '\0';
    return s;
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
    if (r->ok && cat_pyline_rank(str_item(rt, "python_line")) > cat_pyline_rank(g->python_line)) {
        g->outcome = EOL_MOVE;
        g->to_runtime = str_item(rt, "id");
        g->to_line = str_item(rt, "python_line");
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
        cJSON_AddItemToObject(ev, "from", side_json(g->runtime, g->python_line, NULL));
        xjson(cJSON_AddStringToObject(ev, "new_lock_id", g->to_lock_id));
        xjson(cJSON_AddStringToObject(ev, "old_lock_id", g->lock_id));
        xjson(cJSON_AddStringToObject(ev, "reason", g->reason));
        cJSON_AddItemToObject(ev, "to", side_json(g->to_runtime, g->to_line, NULL));
        g->event_prefix = prefix_of(ev);
        return 0;
    }
    g->outcome = EOL_BLOCK;
    if (r->ok) {
        /* Only when end dates are out of line order: never move backwards. */
        g->blocked = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(g->blocked, "code", "no_supported_runtime"));
        g->reason = xasprintf("python %s reached end of support on %s; the worker resolves to "
                              "python %s (%s) as of %s, which is not a newer line",
                              g->python_line, eos_s, str_item(rt, "python_line"),
                              str_item(rt, "id"), as_of_s);
        xjson(cJSON_AddStringToObject(g->blocked, "message", g->reason));
        xjson(cJSON_AddArrayToObject(g->blocked, "packages"));
        xjson(cJSON_AddNullToObject(g->blocked, "to"));
    } else {
        g->blocked = xjson(cJSON_Duplicate(r->blocked, 1));
        g->reason = xstrdup(str_item(g->blocked, "message"));
    }
    g->blocked_key = blocked_key(g->blocked);
    if (g->upcoming)
        return 0;
    ev = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(ev, "as_of", as_of_s));
    xjson(cJSON_AddStringToObject(ev, "code", str_item(g->blocked, "code")));
    cJSON_AddItemToObject(ev, "from", side_json(g->runtime, g->python_line, g->lock_id));
    xjson(cJSON_AddStringToObject(ev, "message", g->reason));
    cJSON_AddItemToObject(ev, "packages",
                          xjson(cJSON_Duplicate(cJSON_GetObjectItem(g->blocked, "packages"), 1)));
    cJSON_AddItemToObject(ev, "to",
                          xjson(cJSON_Duplicate(cJSON_GetObjectItem(g->blocked, "to"), 1)));
    g->event_prefix = prefix_of(ev);
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
    if (map_get(p->group_map, key, out)) {
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
    map_put(p->group_map, key, p->n_groups - 1);
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
    p->res_map = map_new();
    p->group_map = map_new();
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
    map_free(p->res_map);
    map_free(p->group_map);
    cat_workers_free(p->rows, p->n_rows);
    free(p);
}

static int
db_lock(void *ctx, const char *lock_id, char **bytes, size_t *len, struct app_err *err)
{
    return cat_lock_load(ctx, lock_id, bytes, len, err);
}

int
eol_plan(struct db *c, const struct snap *s, int as_of, int today, unsigned want,
         struct eol_plan **out, struct app_err *err)
{
    const char *lines[EOL_MAX_LINES];
    struct cat_worker *rows = NULL;
    size_t n_lines = 0, n_rows = 0;
    long long registered = 0;

    *out = NULL;
    for (size_t i = 0; i < s->n_lines && n_lines < EOL_MAX_LINES; i++) {
        const struct snap_line *l = &s->lines[i];
        int ended = as_of >= l->end_of_support;
        int window = !ended && as_of >= l->end_of_support - CAT_WARNING_DAYS;

        if ((ended && (want & EOL_WANT_MOVES)) || (window && (want & EOL_WANT_UPCOMING)))
            lines[n_lines++] = l->line;
    }
    if (cat_worker_count(c, &registered, err) < 0 ||
        cat_worker_scan(c, lines, n_lines, (want & EOL_WANT_MOVES) != 0, &rows, &n_rows, err) < 0)
        return -1;
    if (eol_plan_build(s, rows, n_rows, as_of, today, want, db_lock, c, out, err) < 0)
        return -1;
    (*out)->registered = registered;
    return 0;
}

/* Data for an event: prefix (see prefix_of) + the worker's name. */
static char *
event_data(const char *prefix, const char *worker)
{
    cJSON *name = xjson(cJSON_CreateString(worker));
    char *quoted = xjson(cJSON_PrintUnformatted(name));
    char *s = xasprintf("%s,\"worker\":%s}", prefix, quoted);

    cJSON_Delete(name);
    cJSON_free(quoted);
    return s;
}

struct apply_ctx {
    struct db *c;
    struct db_event_writer ev;
    char now[APP_TIME_LEN];
    struct eol_applied *res;
};

static int
event_add(struct apply_ctx *a, const char *kind, const char *subject, const char *data,
          long long *seq, struct app_err *err)
{
    if (db_event_writer_add(&a->ev, a->now, kind, subject, data, seq, err) < 0)
        return -1;
    if (!a->res->first_seq)
        a->res->first_seq = *seq;
    a->res->last_seq = *seq;
    a->res->events++;
    return 0;
}

static int
step_done(struct db *c, sqlite3_stmt *st, struct app_err *err)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return db_sql_fail(c, err, "cannot update worker");
    sqlite3_reset(st);
    return 0;
}

static int
apply_moves(struct apply_ctx *a, const struct eol_plan *p, struct cat_outbox *ob,
            struct app_err *err)
{
    sqlite3_stmt *up = NULL;
    struct cat_history_writer hist = {0};
    int ret = -1;

    if (db_prepare(a->c, &up,
                   "UPDATE workers SET lock_id = ?1, runtime = ?2, python_line = ?3,"
                   " status = 'active', blocked_reason = NULL, blocked_since = NULL,"
                   " updated_at = ?4 WHERE name = ?5",
                   err) < 0 ||
        cat_history_open(a->c, &hist, err) < 0)
        goto out;
    for (size_t i = 0; i < p->n_groups; i++) {
        const struct eol_group *g = &p->groups[i];
        const struct res_output *o = &p->res[g->res].out;

        if (!g->upcoming && g->outcome == EOL_MOVE &&
            cat_lock_store(a->c, o->lock_id, o->lock_bytes, o->lock_len, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < p->n_moves; i++) {
        const struct eol_group *g = &p->groups[p->moves[i].group];
        const char *name = p->rows[p->moves[i].row].name;
        char *data = event_data(g->event_prefix, name);
        long long seq;
        int rc = event_add(a, "worker.moved", name, data, &seq, err);

        free(data);
        if (rc < 0)
            goto out;
        sqlite3_bind_text(up, 1, g->to_lock_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 2, g->to_runtime, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 3, g->to_line, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 4, a->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 5, name, -1, SQLITE_STATIC);
        if (step_done(a->c, up, err) < 0)
            goto out;
        {
            struct cat_history_entry e = {
                .name = name,
                .kind = "move",
                .lock_id = g->to_lock_id,
                .runtime = g->to_runtime,
                .line = g->to_line,
                .reason = g->reason,
                .event_seq = seq,
                .at = a->now,
            };

            if (cat_history_add(&hist, &e, err) < 0 ||
                cat_outbox_add(ob, "worker.moved", seq, err) < 0)
                goto out;
        }
        a->res->moved++;
    }
    ret = 0;
out:
    sqlite3_finalize(up);
    cat_history_close(&hist);
    return ret;
}

static int
apply_blocks(struct apply_ctx *a, const struct eol_plan *p, struct cat_outbox *ob,
             struct app_err *err)
{
    sqlite3_stmt *up = NULL, *unb = NULL;
    char as_of_s[APP_DATE_LEN];
    int ret = -1;

    date_format(p->as_of, as_of_s);
    if (db_prepare(a->c, &up,
                   "UPDATE workers SET status = 'blocked', blocked_reason = ?1,"
                   " blocked_since = ?2, updated_at = ?3 WHERE name = ?4",
                   err) < 0 ||
        db_prepare(a->c, &unb,
                   "UPDATE workers SET status = 'active', blocked_reason = NULL,"
                   " blocked_since = NULL, updated_at = ?1 WHERE name = ?2",
                   err) < 0)
        goto out;
    for (size_t i = 0; i < p->n_blocked; i++) {
        const struct eol_group *g = &p->groups[p->blocked[i].group];
        const char *name = p->rows[p->blocked[i].row].name;
        char *data, *reason;
        long long seq;
        int rc;

        if (p->blocked[i].unchanged)
            continue;
        data = event_data(g->event_prefix, name);
        rc = event_add(a, "worker.blocked", name, data, &seq, err);
        free(data);
        if (rc < 0)
            goto out;
        reason = json_canonical(g->blocked, NULL);
        sqlite3_bind_text(up, 1, reason, -1, SQLITE_TRANSIENT);
        free(reason);
        sqlite3_bind_text(up, 2, as_of_s, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 3, a->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 4, name, -1, SQLITE_STATIC);
        if (step_done(a->c, up, err) < 0 || cat_outbox_add(ob, "worker.blocked", seq, err) < 0)
            goto out;
        a->res->blocked++;
    }
    for (size_t i = 0; i < p->n_unblocked; i++) {
        const struct cat_worker *w = &p->rows[p->unblocked[i].row];
        cJSON *ev = xjson(cJSON_CreateObject());
        char *data;
        long long seq;
        int rc;

        xjson(cJSON_AddStringToObject(ev, "as_of", as_of_s));
        json_add_str_or_null(ev, "python_line", w->python_line);
        json_add_str_or_null(ev, "runtime", w->runtime);
        xjson(cJSON_AddStringToObject(ev, "worker", w->name));
        data = json_canonical(ev, NULL);
        cJSON_Delete(ev);
        rc = event_add(a, "worker.unblocked", w->name, data, &seq, err);
        free(data);
        if (rc < 0)
            goto out;
        sqlite3_bind_text(unb, 1, a->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(unb, 2, w->name, -1, SQLITE_STATIC);
        if (step_done(a->c, unb, err) < 0)
            goto out;
        a->res->unblocked++;
    }
    ret = 0;
out:
    sqlite3_finalize(up);
    sqlite3_finalize(unb);
    return ret;
}

static cJSON *
upcoming_entry(const struct eol_plan *p, const struct eol_entry *e, int with_notified)
{
    const struct cat_worker *w = &p->rows[e->row];
    const struct eol_group *g = &p->groups[e->group];
    cJSON *o = xjson(cJSON_CreateObject());
    char eos_s[APP_DATE_LEN];

    date_format(g->end_of_support, eos_s);
    xjson(cJSON_AddStringToObject(o, "worker", w->name));
    json_add_str_or_null(o, "runtime", w->runtime);
    json_add_str_or_null(o, "python_line", w->python_line);
    xjson(cJSON_AddStringToObject(o, "lock_id", w->lock_id));
    xjson(cJSON_AddStringToObject(o, "end_of_support", eos_s));
    xjson(cJSON_AddNumberToObject(o, "days_left", g->end_of_support - p->as_of));
    if (g->outcome == EOL_MOVE) {
        cJSON_AddItemToObject(o, "target", side_json(g->to_runtime, g->to_line, g->to_lock_id));
        xjson(cJSON_AddNullToObject(o, "blocked"));
    } else {
        xjson(cJSON_AddNullToObject(o, "target"));
        cJSON_AddItemToObject(o, "blocked", xjson(cJSON_Duplicate(g->blocked, 1)));
    }
    if (with_notified)
        xjson(cJSON_AddBoolToObject(o, "notified", e->unchanged));
    return o;
}

static int
apply_upcoming(struct apply_ctx *a, const struct eol_plan *p, struct cat_outbox *ob,
               struct app_err *err)
{
    sqlite3_stmt *up = NULL;
    char as_of_s[APP_DATE_LEN];
    int ret = -1;

    date_format(p->as_of, as_of_s);
    if (db_prepare(a->c, &up, "UPDATE workers SET upcoming_notified = ?1 WHERE name = ?2", err) < 0)
        goto out;
    for (size_t i = 0; i < p->n_upcoming; i++) {
        const struct cat_worker *w = &p->rows[p->upcoming[i].row];
        cJSON *ev;
        char *data;
        long long seq;
        int rc;

        if (p->upcoming[i].unchanged)
            continue;
        ev = upcoming_entry(p, &p->upcoming[i], 0);
        xjson(cJSON_AddStringToObject(ev, "as_of", as_of_s));
        data = json_canonical(ev, NULL);
        cJSON_Delete(ev);
        rc = event_add(a, "worker.upcoming", w->name, data, &seq, err);
        free(data);
        if (rc < 0)
            goto out;
        sqlite3_bind_text(up, 1, w->python_line, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 2, w->name, -1, SQLITE_STATIC);
        if (step_done(a->c, up, err) < 0 || cat_outbox_add(ob, "worker.upcoming", seq, err) < 0)
            goto out;
        a->res->upcoming_notified++;
    }
    ret = 0;
out:
    sqlite3_finalize(up);
    return ret;
}

/* The connection's page cache size (PRAGMA cache_size), or 0 when unknown. */
static long long
cache_size(struct db *c)
{
    sqlite3_stmt *st = NULL;
    long long v = 0;

    if (sqlite3_prepare_v2(c->db, "PRAGMA cache_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void
cache_size_set(struct db *c, long long v)
{
    char q[64];

    snprintf(q, sizeof(q), "PRAGMA cache_size = %lld", v);
    sqlite3_exec(c->db, q, NULL, NULL, NULL);
}

int
eol_apply(struct db *c, const struct snap *s, int as_of, int today, unsigned flags,
          struct eol_plan **out, struct eol_applied *res, struct app_err *err)
{
    struct eol_plan *p = NULL;
    struct cat_outbox ob = {0};
    struct apply_ctx a = {0};
    long long old_cache = cache_size(c);
    int ret = -1;

    memset(res, 0, sizeof(*res));
    if (out)
        *out = NULL;
    a.c = c;
    a.res = res;
    date_now_rfc3339(a.now);
    /* A large apply touches most of the registry's pages: with SQLite's small default
     * cache they would be spilled to the WAL and rewritten many times over. */
    if (old_cache)
        cache_size_set(c, EOL_APPLY_CACHE_KIB);
    if (cat_worker_begin(c, err) < 0) {
        if (old_cache)
            cache_size_set(c, old_cache);
        return -1;
    }
    /* The rows are read inside the write transaction: what is planned is applied. */
    if (eol_plan(c, s, as_of, today,
                 EOL_WANT_MOVES | ((flags & EOL_NOTIFY_UPCOMING) ? EOL_WANT_UPCOMING : 0), &p,
                 err) < 0 ||
        cat_outbox_open(c, &ob, err) < 0)
        goto out;
    if (db_event_writer_open(c, &a.ev, err) < 0)
        goto out;
    if (apply_moves(&a, p, &ob, err) < 0 || apply_blocks(&a, p, &ob, err) < 0 ||
        ((flags & EOL_NOTIFY_UPCOMING) && apply_upcoming(&a, p, &ob, err) < 0))
        goto out;
    res->deliveries = ob.queued;
    db_event_writer_close(&a.ev);
    cat_outbox_close(&ob);
    if (cat_worker_commit(c, err) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0) {
        db_rollback(c);
        memset(res, 0, sizeof(*res));
    }
    db_event_writer_close(&a.ev);
    cat_outbox_close(&ob);
    if (old_cache)
        cache_size_set(c, old_cache);
    if (ret == 0 && out)
        *out = p;
    else
        eol_plan_free(p);
    return ret;
}

/* Count of workers per (outcome, from, to, code). */
static cJSON *
groups_json(const struct eol_plan *p)
{
    cJSON *arr = xjson(cJSON_CreateArray());
    const struct eol_entry *lists[2] = {p->moves, p->blocked};
    size_t ns[2] = {p->n_moves, p->n_blocked};

    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < ns[l]; i++) {
            const struct eol_group *g = &p->groups[lists[l][i].group];
            const char *outcome = l == 0 ? "move" : "blocked";
            const char *code = l == 0 ? NULL : str_item(g->blocked, "code");
            const cJSON *bto = l == 0 ? NULL : cJSON_GetObjectItem(g->blocked, "to");
            const char *to_rt = l == 0 ? g->to_runtime : str_item(bto, "runtime");
            const char *to_line = l == 0 ? g->to_line : str_item(bto, "python_line");
            cJSON *x, *hit = NULL;

            cJSON_ArrayForEach (x, arr) {
                const cJSON *from = cJSON_GetObjectItem(x, "from"),
                            *to = cJSON_GetObjectItem(x, "to");
                const char *xc = str_item(x, "code");

                if (strcmp(str_item(x, "outcome"), outcome) == 0 &&
                    strcmp(str_item(from, "runtime"), g->runtime) == 0 &&
                    ((!to_rt && cJSON_IsNull(to)) ||
                     (to_rt && str_item(to, "runtime") &&
                      strcmp(str_item(to, "runtime"), to_rt) == 0)) &&
                    ((!code && !xc) || (code && xc && strcmp(code, xc) == 0))) {
                    hit = x;
                    break;
                }
            }
            if (!hit) {
                hit = xjson(cJSON_CreateObject());
                xjson(cJSON_AddStringToObject(hit, "outcome", outcome));
                cJSON_AddItemToObject(hit, "from", side_json(g->runtime, g->python_line, NULL));
                if (to_rt)
                    cJSON_AddItemToObject(hit, "to", side_json(to_rt, to_line, NULL));
                else
                    xjson(cJSON_AddNullToObject(hit, "to"));
                json_add_str_or_null(hit, "code", code);
                xjson(cJSON_AddNumberToObject(hit, "workers", 0));
                cJSON_AddItemToArray(arr, hit);
            }
            cJSON_SetNumberValue(cJSON_GetObjectItem(hit, "workers"),
                                 cJSON_GetObjectItem(hit, "workers")->valuedouble + 1);
        }
    }
    return arr;
}

/* A move entry without its "worker": {from, package_changes, reason, to}. */
static cJSON *
move_body(const struct eol_group *g)
{
    cJSON *m = xjson(cJSON_CreateObject());

    cJSON_AddItemToObject(m, "from", side_json(g->runtime, g->python_line, g->lock_id));
    cJSON_AddItemToObject(m, "to", side_json(g->to_runtime, g->to_line, g->to_lock_id));
    xjson(cJSON_AddStringToObject(m, "reason", g->reason));
    cJSON_AddItemToObject(m, "package_changes", xjson(cJSON_Duplicate(g->package_changes, 1)));
    return m;
}

static cJSON *plan_json(const struct eol_plan *p, int summary, int with_moves);

cJSON *
eol_plan_json(const struct eol_plan *p, int summary)
{
    return plan_json(p, summary, 1);
}

struct member {
    const char *key;
    char *text;
    size_t len;
};

static int
cmp_member(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->key, ((const struct member *)b)->key);
}

char *
eol_plan_render(const struct eol_plan *p, int summary, const struct eol_applied *applied,
                size_t *len)
{
    cJSON *o = plan_json(p, summary, 0), *x;
    struct member *mem;
    struct buf b;
    size_t n = 0, k = 0;

    if (applied)
        cJSON_AddItemToObject(o, "applied", eol_applied_json(applied));
    n = (size_t)cJSON_GetArraySize(o) + 1;
    mem = xcalloc(n, sizeof(*mem));
    cJSON_ArrayForEach (x, o) {
        mem[k].key = x->string;
        mem[k].text = json_canonical(x, &mem[k].len);
        k++;
    }
    buf_init(&b, 0);
    if (!summary) {
        /* The moves list is most of a big plan: each group's entry is serialized once
         * and only the worker's name (the last key) differs between its workers. */
        char **prefix = xcalloc(p->n_groups + 1, sizeof(*prefix));

        if (buf_puts(&b, "[") < 0)
            abort();
        for (size_t i = 0; i < p->n_moves; i++) {
            size_t g = p->moves[i].group;
            char *entry;

            if (!prefix[g])
                prefix[g] = prefix_of(move_body(&p->groups[g]));
            entry = event_data(prefix[g], p->rows[p->moves[i].row].name);
            if ((i && buf_puts(&b, ",") < 0) || buf_puts(&b, entry) < 0)
                abort();
            free(entry);
        }
        if (buf_puts(&b, "]") < 0)
            abort();
        for (size_t g = 0; g < p->n_groups; g++)
            free(prefix[g]);
        free(prefix);
        mem[k].key = "moves";
        mem[k].text = buf_detach(&b, &mem[k].len);
        k++;
    }
    qsort(mem, k, sizeof(*mem), cmp_member);
    if (buf_puts(&b, "{") < 0)
        abort();
    for (size_t i = 0; i < k; i++) {
        if (buf_printf(&b, "%s\"%s\":", i ? "," : "", mem[i].key) < 0 ||
            buf_append(&b, mem[i].text, mem[i].len) < 0)
            abort();
        free(mem[i].text);
    }
    if (buf_puts(&b, "}") < 0)
        abort();
    free(mem);
    cJSON_Delete(o);
    return buf_detach(&b, len);
}

static cJSON *
plan_json(const struct eol_plan *p, int summary, int with_moves)
{
    cJSON *o = xjson(cJSON_CreateObject());
    cJSON *t = xjson(cJSON_AddObjectToObject(o, "totals"));
    char as_of_s[APP_DATE_LEN];

    date_format(p->as_of, as_of_s);
    xjson(cJSON_AddStringToObject(o, "as_of", as_of_s));
    xjson(cJSON_AddNumberToObject(t, "registered", (double)p->registered));
    xjson(cJSON_AddNumberToObject(t, "evaluated", (double)(p->n_moves + p->n_blocked)));
    xjson(cJSON_AddNumberToObject(t, "moves", (double)p->n_moves));
    xjson(cJSON_AddNumberToObject(t, "blocked", (double)p->n_blocked));
    xjson(cJSON_AddNumberToObject(t, "newly_blocked", (double)p->n_newly_blocked));
    xjson(cJSON_AddNumberToObject(t, "unblocked", (double)p->n_unblocked));
    cJSON_AddItemToObject(o, "groups", groups_json(p));
    if (summary)
        return o;
    if (with_moves) {
        cJSON *moves = xjson(cJSON_AddArrayToObject(o, "moves"));

        for (size_t i = 0; i < p->n_moves; i++) {
            cJSON *m = move_body(&p->groups[p->moves[i].group]);

            xjson(cJSON_AddStringToObject(m, "worker", p->rows[p->moves[i].row].name));
            cJSON_AddItemToArray(moves, m);
        }
    }
    {
        cJSON *blocked = xjson(cJSON_AddArrayToObject(o, "blocked"));

        for (size_t i = 0; i < p->n_blocked; i++) {
            const struct eol_group *g = &p->groups[p->blocked[i].group];
            const struct cat_worker *w = &p->rows[p->blocked[i].row];
            cJSON *b = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(b, "worker", w->name));
            cJSON_AddItemToObject(b, "from", side_json(g->runtime, g->python_line, g->lock_id));
            cJSON_AddItemToObject(b, "to",
                                  xjson(cJSON_Duplicate(cJSON_GetObjectItem(g->blocked, "to"), 1)));
            xjson(cJSON_AddStringToObject(b, "code", str_item(g->blocked, "code")));
            xjson(cJSON_AddStringToObject(b, "reason", g->reason));
            cJSON_AddItemToObject(
                b, "packages",
                xjson(cJSON_Duplicate(cJSON_GetObjectItem(g->blocked, "packages"), 1)));
            json_add_str_or_null(b, "since", p->blocked[i].unchanged ? w->blocked_since : NULL);
            xjson(cJSON_AddBoolToObject(b, "new", !p->blocked[i].unchanged));
            cJSON_AddItemToArray(blocked, b);
        }
    }
    {
        cJSON *unb = xjson(cJSON_AddArrayToObject(o, "unblocked"));

        for (size_t i = 0; i < p->n_unblocked; i++) {
            const struct cat_worker *w = &p->rows[p->unblocked[i].row];
            cJSON *u = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(u, "worker", w->name));
            json_add_str_or_null(u, "runtime", w->runtime);
            json_add_str_or_null(u, "python_line", w->python_line);
            cJSON_AddItemToArray(unb, u);
        }
    }
    return o;
}

cJSON *
eol_upcoming_json(const struct eol_plan *p)
{
    cJSON *o = xjson(cJSON_CreateObject());
    cJSON *t = xjson(cJSON_AddObjectToObject(o, "totals"));
    cJSON *by_line = xjson(cJSON_AddArrayToObject(t, "by_line"));
    cJSON *arr = xjson(cJSON_AddArrayToObject(o, "workers"));
    char as_of_s[APP_DATE_LEN];

    date_format(p->as_of, as_of_s);
    xjson(cJSON_AddStringToObject(o, "as_of", as_of_s));
    xjson(cJSON_AddNumberToObject(o, "window_days", CAT_WARNING_DAYS));
    xjson(cJSON_AddNumberToObject(t, "workers", (double)p->n_upcoming));
    for (size_t i = 0; i < p->n_upcoming; i++) {
        const struct eol_group *g = &p->groups[p->upcoming[i].group];
        cJSON *x, *hit = NULL;

        cJSON_AddItemToArray(arr, upcoming_entry(p, &p->upcoming[i], 1));
        cJSON_ArrayForEach (x, by_line) {
            if (strcmp(str_item(x, "python_line"), g->python_line) == 0) {
                hit = x;
                break;
            }
        }
        if (!hit) {
            char eos_s[APP_DATE_LEN];

            date_format(g->end_of_support, eos_s);
            hit = xjson(cJSON_CreateObject());
            xjson(cJSON_AddStringToObject(hit, "python_line", g->python_line));
            xjson(cJSON_AddStringToObject(hit, "end_of_support", eos_s));
            xjson(cJSON_AddNumberToObject(hit, "workers", 0));
            cJSON_AddItemToArray(by_line, hit);
        }
        cJSON_SetNumberValue(cJSON_GetObjectItem(hit, "workers"),
                             cJSON_GetObjectItem(hit, "workers")->valuedouble + 1);
    }
    return o;
}

cJSON *
eol_applied_json(const struct eol_applied *a)
{
    cJSON *o = xjson(cJSON_CreateObject());

    xjson(cJSON_AddNumberToObject(o, "moved", (double)a->moved));
    xjson(cJSON_AddNumberToObject(o, "blocked", (double)a->blocked));
    xjson(cJSON_AddNumberToObject(o, "unblocked", (double)a->unblocked));
    xjson(cJSON_AddNumberToObject(o, "upcoming_notified", (double)a->upcoming_notified));
    xjson(cJSON_AddNumberToObject(o, "events", (double)a->events));
    xjson(cJSON_AddNumberToObject(o, "deliveries", (double)a->deliveries));
    if (a->first_seq) {
        xjson(cJSON_AddNumberToObject(o, "first_seq", (double)a->first_seq));
        xjson(cJSON_AddNumberToObject(o, "last_seq", (double)a->last_seq));
    } else {
        xjson(cJSON_AddNullToObject(o, "first_seq"));
        xjson(cJSON_AddNullToObject(o, "last_seq"));
    }
    return o;
}
