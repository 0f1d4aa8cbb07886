/* catalog/eol_json.c: the end-of-support documents: plan, applied, upcoming, and
 * the pieces events carry; the plan renderer writes canonical JSON directly for
 * large registries. */
#include "catalog/eol_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "catalog/pyline.h"

cJSON *
eol_side_json(const char *runtime, const char *line, const char *lock_id)
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
char *
eol_event_prefix(cJSON *obj)
{
    size_t len;
    char *s = json_canonical(obj, &len);

    cJSON_Delete(obj);
    s[len - 1] = '\0';
    return s;
}

/* Data for an event: prefix (see prefix_of) + the worker's name. */
char *
eol_event_data(const char *prefix, const char *worker)
{
    cJSON *name = xjson(cJSON_CreateString(worker));
    char *quoted = xjson(cJSON_PrintUnformatted(name));
    char *s = xasprintf("%s,\"worker\":%s}", prefix, quoted);

    cJSON_Delete(name);
    cJSON_free(quoted);
    return s;
}

cJSON *
eol_upcoming_entry(const struct eol_plan *p, const struct eol_entry *e, int with_notified)
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
        cJSON_AddItemToObject(o, "target", eol_side_json(g->to_runtime, g->to_line, g->to_lock_id));
        xjson(cJSON_AddNullToObject(o, "blocked"));
    } else {
        xjson(cJSON_AddNullToObject(o, "target"));
        cJSON_AddItemToObject(o, "blocked", xjson(cJSON_Duplicate(g->blocked, 1)));
    }
    if (with_notified)
        xjson(cJSON_AddBoolToObject(o, "notified", e->unchanged));
    return o;
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
            const char *code = l == 0 ? NULL : json_str_item(g->blocked, "code");
            const cJSON *bto = l == 0 ? NULL : cJSON_GetObjectItem(g->blocked, "to");
            const char *to_rt = l == 0 ? g->to_runtime : json_str_item(bto, "runtime");
            const char *to_line = l == 0 ? g->to_line : json_str_item(bto, "python_line");
            cJSON *x, *hit = NULL;

            cJSON_ArrayForEach (x, arr) {
                const cJSON *from = cJSON_GetObjectItem(x, "from"),
                            *to = cJSON_GetObjectItem(x, "to");
                const char *xc = json_str_item(x, "code");

                if (strcmp(json_str_item(x, "outcome"), outcome) == 0 &&
                    strcmp(json_str_item(from, "runtime"), g->runtime) == 0 &&
                    ((!to_rt && cJSON_IsNull(to)) ||
                     (to_rt && json_str_item(to, "runtime") &&
                      strcmp(json_str_item(to, "runtime"), to_rt) == 0)) &&
                    ((!code && !xc) || (code && xc && strcmp(code, xc) == 0))) {
                    hit = x;
                    break;
                }
            }
            if (!hit) {
                hit = xjson(cJSON_CreateObject());
                xjson(cJSON_AddStringToObject(hit, "outcome", outcome));
                cJSON_AddItemToObject(hit, "from", eol_side_json(g->runtime, g->python_line, NULL));
                if (to_rt)
                    cJSON_AddItemToObject(hit, "to", eol_side_json(to_rt, to_line, NULL));
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

    cJSON_AddItemToObject(m, "from", eol_side_json(g->runtime, g->python_line, g->lock_id));
    cJSON_AddItemToObject(m, "to", eol_side_json(g->to_runtime, g->to_line, g->to_lock_id));
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
                prefix[g] = eol_event_prefix(move_body(&p->groups[g]));
            entry = eol_event_data(prefix[g], p->rows[p->moves[i].row].name);
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
            cJSON_AddItemToObject(b, "from", eol_side_json(g->runtime, g->python_line, g->lock_id));
            cJSON_AddItemToObject(b, "to",
                                  xjson(cJSON_Duplicate(cJSON_GetObjectItem(g->blocked, "to"), 1)));
            xjson(cJSON_AddStringToObject(b, "code", json_str_item(g->blocked, "code")));
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

        cJSON_AddItemToArray(arr, eol_upcoming_entry(p, &p->upcoming[i], 1));
        cJSON_ArrayForEach (x, by_line) {
            if (strcmp(json_str_item(x, "python_line"), g->python_line) == 0) {
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
