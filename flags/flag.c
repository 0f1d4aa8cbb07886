/* flags/flag.c: the date+flags compiler of DESIGN §3.
 *
 * Names the caller may give (every enable and disable name) are looked up in one
 * sorted index, so a request with many flags costs O(n log n), not O(n * defs).
 * Implications are applied until nothing changes: a flag only ever goes from off to
 * on, so there are at most n_defs + 1 passes, cycles included. The policy decisions
 * (what a contradictory or invalid input still enables, how redundancy is judged)
 * are written down in flags/flag.h.
 */
#include "flags/flag.h"

#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/mem.h"

#define NO_DEF ((size_t)-1)

/* One name a caller may give: a def's enable or its disable name. */
struct name_ref {
    const char *name;
    size_t def;
    int disable;
};

/* A growing list of issues (errors or warnings). */
struct issue_list {
    struct flag_issue *v;
    size_t n;
    size_t cap;
};

/* What the compiler knows about each def while it works. */
struct state {
    const struct flag_def *defs;
    size_t n_defs;
    struct name_ref *index; /* every enable and disable name, sorted */
    size_t n_index;
    size_t *imp_off; /* def i's implications are imp_def[imp_off[i]..imp_off[i+1]) */
    size_t *imp_def; /* the implying def, or NO_DEF when it is not defined */
    unsigned char *named_on;
    unsigned char *named_off;
    unsigned char *on;
};

const char *
flag_kind_code(enum flag_issue_kind kind)
{
    switch (kind) {
    case FLAG_INVALID_DATE: return "invalid_date";
    case FLAG_DATE_IN_FUTURE: return "date_in_future";
    case FLAG_UNKNOWN: return "unknown_flag";
    case FLAG_DUPLICATE: return "duplicate_flag";
    case FLAG_CONTRADICTORY: return "contradictory_flags";
    case FLAG_EXPERIMENTAL: return "experimental_flag";
    case FLAG_REDUNDANT: return "redundant_flag";
    }
    return "unknown_issue";
}

/* Takes ownership of message. */
static void
issue_add(struct issue_list *l, enum flag_issue_kind kind, const char *name, char *message,
          const char *suggestion)
{
    struct flag_issue *is;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    is = &l->v[l->n++];
    is->kind = kind;
    is->code = xstrdup(flag_kind_code(kind));
    is->name = xstrdup(name);
    is->message = message;
    is->suggestion = xstrdup(suggestion);
}

static int
issue_cmp(const void *a, const void *b)
{
    const struct flag_issue *x = a, *y = b;
    int c;

    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if ((c = strcmp(x->name, y->name)) != 0)
        return c;
    return strcmp(x->message, y->message);
}

static void
issues_free(struct flag_issue *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].code);
        free(v[i].name);
        free(v[i].message);
        free(v[i].suggestion);
    }
    free(v);
}

static int
name_ref_cmp(const void *a, const void *b)
{
    const struct name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    if (x->def != y->def)
        return x->def < y->def ? -1 : 1;
    return x->disable - y->disable;
}

/* The first index entry called name (lowest def, enable before disable), or NULL. */
static const struct name_ref *
index_find(const struct state *st, const char *name)
{
    size_t lo = 0, hi = st->n_index;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(st->index[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < st->n_index && strcmp(st->index[lo].name, name) == 0)
        return &st->index[lo];
    return NULL;
}

/* The def whose enable name is name, searching the index (not defs) for speed. */
static size_t
index_find_enable(const struct state *st, const char *name)
{
    const struct name_ref *r = index_find(st, name);

    for (; r && r < st->index + st->n_index && strcmp(r->name, name) == 0; r++)
        if (!r->disable)
            return r->def;
    return NO_DEF;
}

static void
state_init(struct state *st, const struct flag_def *defs, size_t n_defs)
{
    size_t n_imp = 0, k = 0;

    memset(st, 0, sizeof(*st));
    st->defs = defs;
    st->n_defs = n_defs;
    st->index = xcalloc(2 * n_defs, sizeof(*st->index));
    for (size_t i = 0; i < n_defs; i++) {
        st->index[st->n_index++] = (struct name_ref){defs[i].name, i, 0};
        if (defs[i].disable)
            st->index[st->n_index++] = (struct name_ref){defs[i].disable, i, 1};
        n_imp += defs[i].n_implied;
    }
    qsort(st->index, st->n_index, sizeof(*st->index), name_ref_cmp);

    st->imp_off = xcalloc(n_defs + 1, sizeof(*st->imp_off));
    st->imp_def = xcalloc(n_imp, sizeof(*st->imp_def));
    for (size_t i = 0; i < n_defs; i++) {
        st->imp_off[i] = k;
        for (size_t j = 0; j < defs[i].n_implied; j++)
            st->imp_def[k++] = index_find_enable(st, defs[i].implied[j].flag);
    }
    st->imp_off[n_defs] = k;

    st->named_on = xcalloc(n_defs, 1);
    st->named_off = xcalloc(n_defs, 1);
    st->on = xcalloc(n_defs, 1);
}

static void
state_release(struct state *st)
{
    free(st->index);
    free(st->imp_off);
    free(st->imp_def);
    free(st->named_on);
    free(st->named_off);
    free(st->on);
}

/* The first implication of def i that holds in on[] at date, or NULL. */
static const struct flag_implied *
implied_by_on(const struct state *st, size_t i, const unsigned char *on, int date)
{
    for (size_t k = st->imp_off[i]; k < st->imp_off[i + 1]; k++) {
        size_t j = st->imp_def[k];
        const struct flag_implied *imp = &st->defs[i].implied[k - st->imp_off[i]];

        if (j != NO_DEF && on[j] && date >= imp->after)
            return imp;
    }
    return NULL;
}

/* DESIGN §3.3: named, else by date unless disabled, then implications to a fixpoint. */
static void
compute_on(const struct state *st, const unsigned char *named_on, int date, unsigned char *on)
{
    int changed;

    for (size_t i = 0; i < st->n_defs; i++) {
        const struct flag_def *d = &st->defs[i];

        on[i] = named_on[i] || (!st->named_off[i] && d->has_enable_date && d->enable_date <= date);
    }
    do {
        changed = 0;
        for (size_t i = 0; i < st->n_defs; i++) {
            if (on[i] || st->named_off[i])
                continue;
            if (implied_by_on(st, i, on, date)) {
                on[i] = 1;
                changed = 1;
            }
        }
    } while (changed);
}

/* Sort the given names (with their position as tie-break) so duplicates sit together
 * and each distinct name is looked up once. */
struct given {
    const char *name;
    size_t pos;
};

static int
given_cmp(const void *a, const void *b)
{
    const struct given *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void
check_names(struct state *st, const struct flag_input *in, struct issue_list *errs)
{
    struct given *g = xcalloc(in->n_flags, sizeof(*g));

    for (size_t i = 0; i < in->n_flags; i++)
        g[i] = (struct given){in->flags[i] ? in->flags[i] : "", i};
    qsort(g, in->n_flags, sizeof(*g), given_cmp);

    for (size_t i = 0, run; i < in->n_flags; i += run) {
        const char *name = g[i].name;
        const struct name_ref *r;

        for (run = 1; i + run < in->n_flags && strcmp(g[i + run].name, name) == 0; run++)
            ;
        if (run > 1)
            issue_add(errs, FLAG_DUPLICATE, name,
                      xasprintf("flag '%s' is given more than once", name), NULL);
        if (!(r = index_find(st, name))) {
            const char *s = flag_suggest(st->defs, st->n_defs, name);

            issue_add(errs, FLAG_UNKNOWN, name,
                      s ? xasprintf("unknown flag '%s', did you mean '%s'?", name, s)
                        : xasprintf("unknown flag '%s'", name),
                      s);
            continue;
        }
        if (r->disable)
            st->named_off[r->def] = 1;
        else
            st->named_on[r->def] = 1;
    }
    free(g);

    for (size_t i = 0; i < st->n_defs; i++) {
        const struct flag_def *d = &st->defs[i];

        if (st->named_on[i] && st->named_off[i])
            issue_add(
                errs, FLAG_CONTRADICTORY, d->name,
                xasprintf("flag '%s' is both enabled and disabled (as '%s')", d->name, d->disable),
                NULL);
        if (st->named_on[i] && d->experimental && !in->allow_experimental)
            issue_add(errs, FLAG_EXPERIMENTAL, d->name,
                      xasprintf("flag '%s' is experimental and needs allow_experimental", d->name),
                      NULL);
    }
}

/* DESIGN §3.4. A named flag is redundant when it would be on without its name: by
 * its own enable_date, or through an implication from other flags that are on (named
 * or by date). Flags are judged in name order and each one found redundant is taken
 * out before the next is judged, so dropping every warned name together still gives
 * the same enabled set (in a cycle a<->b with both named, only 'a' is warned). */
static void
check_redundant(struct state *st, const struct flag_input *in, int date, struct issue_list *warns)
{
    unsigned char *named = xmalloc(st->n_defs ? st->n_defs : 1);
    unsigned char *tmp = xmalloc(st->n_defs ? st->n_defs : 1);
    char when[APP_DATE_LEN];

    if (st->n_defs)
        memcpy(named, st->named_on, st->n_defs);
    for (size_t k = 0; k < st->n_index; k++) {
        size_t i = st->index[k].def;
        const struct flag_def *d = &st->defs[i];
        const struct flag_implied *imp;

        if (st->index[k].disable || !named[i] || st->named_off[i] ||
            (d->experimental && !in->allow_experimental))
            continue;
        if (d->has_enable_date && d->enable_date <= date) {
            date_format(d->enable_date, when);
            issue_add(
                warns, FLAG_REDUNDANT, d->name,
                xasprintf("flag '%s' is on by default since %s, no need to name it", d->name, when),
                NULL);
            named[i] = 0;
            continue;
        }
        named[i] = 0;
        compute_on(st, named, date, tmp);
        if (tmp[i] && (imp = implied_by_on(st, i, tmp, date))) {
            date_format(imp->after, when);
            issue_add(warns, FLAG_REDUNDANT, d->name,
                      xasprintf("flag '%s' is implied by '%s' since %s, no need to name it",
                                d->name, imp->flag, when),
                      NULL);
        } else {
            named[i] = 1;
        }
    }
    free(named);
    free(tmp);
}

static int
str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
flag_compile(const struct flag_def *defs, size_t n_defs, const struct flag_input *in,
             struct flag_result *out)
{
    struct issue_list errs = {0}, warns = {0};
    struct state st;
    int has_date = 0, date = 0;

    memset(out, 0, sizeof(*out));
    state_init(&st, defs, n_defs);

    if (!in->date) {
        issue_add(&errs, FLAG_INVALID_DATE, "", xstrdup("compatibility date is missing"), NULL);
    } else if (date_parse(in->date, &date) < 0) {
        issue_add(&errs, FLAG_INVALID_DATE, in->date,
                  xasprintf("compatibility date '%s' is not a real YYYY-MM-DD date "
                            "in 2000-2999",
                            in->date),
                  NULL);
    } else {
        has_date = 1;
        if (date > in->today) {
            char today[APP_DATE_LEN];

            date_format(in->today, today);
            issue_add(&errs, FLAG_DATE_IN_FUTURE, in->date,
                      xasprintf("compatibility date '%s' is in the future (today is %s UTC)",
                                in->date, today),
                      NULL);
        }
    }

    check_names(&st, in, &errs);

    /* Without a date only the names given can be on: nothing is on by date. */
    if (has_date) {
        compute_on(&st, st.named_on, date, st.on);
        check_redundant(&st, in, date, &warns);
    } else if (n_defs) {
        memcpy(st.on, st.named_on, n_defs);
    }

    out->date = has_date ? date : 0;
    out->enabled = xcalloc(n_defs, sizeof(*out->enabled));
    for (size_t i = 0; i < n_defs; i++) {
        const struct flag_def *d = &defs[i];

        if (!st.on[i])
            continue;
        out->enabled[out->n_enabled++] = xstrdup(d->name);
        /* Highest order wins; equal orders (a catalog mistake) go to the lower name. */
        if (d->bundle_order > 0 && (!out->bundle || d->bundle_order > out->bundle->bundle_order ||
                                    (d->bundle_order == out->bundle->bundle_order &&
                                     strcmp(d->name, out->bundle->name) < 0)))
            out->bundle = d;
    }
    qsort(out->enabled, out->n_enabled, sizeof(*out->enabled), str_ptr_cmp);

    if (errs.n)
        qsort(errs.v, errs.n, sizeof(*errs.v), issue_cmp);
    if (warns.n)
        qsort(warns.v, warns.n, sizeof(*warns.v), issue_cmp);
    out->errors = errs.v;
    out->n_errors = errs.n;
    out->warnings = warns.v;
    out->n_warnings = warns.n;

    state_release(&st);
    return out->n_errors ? -1 : 0;
}

void
flag_result_release(struct flag_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_enabled; i++)
        free(r->enabled[i]);
    free(r->enabled);
    issues_free(r->errors, r->n_errors);
    issues_free(r->warnings, r->n_warnings);
    memset(r, 0, sizeof(*r));
}

int
flag_result_has(const struct flag_result *r, const char *name)
{
    return r->n_enabled &&
           bsearch(&name, r->enabled, r->n_enabled, sizeof(*r->enabled), str_ptr_cmp);
}

size_t
flag_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), d;
    size_t *prev = xcalloc(lb + 1, sizeof(*prev));
    size_t *cur = xcalloc(lb + 1, sizeof(*cur));

    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *t;

        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);

            cur[j] = del < ins ? del : ins;
            if (sub < cur[j])
                cur[j] = sub;
        }
        t = prev;
        prev = cur;
        cur = t;
    }
    d = prev[lb];
    free(prev);
    free(cur);
    return d;
}

/* The distance is at least the difference in length, so names whose lengths are
 * too far apart are skipped without filling a table (a huge unknown name is cheap). */
static int
lengths_close(const char *cand, size_t len, size_t limit)
{
    size_t lc = strlen(cand);

    return (lc > len ? lc - len : len - lc) <= limit;
}

const char *
flag_suggest(const struct flag_def *defs, size_t n_defs, const char *name)
{
    size_t len = strlen(name), limit = len / 3 > 2 ? len / 3 : 2;
    size_t best_d = limit + 1;
    const char *best = NULL;

    for (size_t i = 0; i < n_defs; i++) {
        const char *cand[2] = {defs[i].name, defs[i].disable};

        for (int k = 0; k < 2; k++) {
            size_t d;

            if (!cand[k] || !lengths_close(cand[k], len, limit))
                continue;
            d = flag_edit_distance(name, cand[k]);
            if (d < best_d) {
                best_d = d;
                best = cand[k];
            }
        }
    }
    return best;
}

const struct flag_def *
flag_find(const struct flag_def *defs, size_t n_defs, const char *name)
{
    for (size_t i = 0; i < n_defs; i++)
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}
