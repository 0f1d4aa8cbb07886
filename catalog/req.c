/* catalog/req.c: requirements lines and PEP 440 version order (see catalog/req.h).
 *
 * The line parser reads one token at a time with a cursor and never looks past the
 * NUL; every refusal names the reason. Version numbers are compared as digit strings
 * (leading zeros dropped, then length, then bytes), so no component can overflow.
 */
#include "catalog/req.h"

#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/mem.h"

/* ---- versions ---------------------------------------------------------------- */

/* A decimal number as digits without leading zeros (n == 0 is zero). */
struct num {
    const char *p;
    size_t n;
};

enum { PRE_A = 0, PRE_B, PRE_RC, PRE_NONE };

struct ver {
    struct num epoch;
    struct num rel[REQ_VERSION_MAX_PARTS];
    size_t n_rel;
    int pre; /* PRE_A, PRE_B, PRE_RC or PRE_NONE */
    struct num pre_n;
    int has_post;
    struct num post_n;
    int has_dev;
    struct num dev_n;
    const char *local; /* after the '+', or NULL */
    size_t local_len;
};

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_alnum(char c)
{
    return is_digit(c) || is_alpha(c);
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int
is_sep(char c)
{
    return c == '-' || c == '_' || c == '.';
}

/* Read digits at *s; 0 and no move when there are none. */
static int
read_num(const char **s, struct num *out)
{
    const char *p = *s;

    if (!is_digit(*p))
        return 0;
    while (*p == '0' && is_digit(p[1]))
        p++;
    out->p = p;
    while (is_digit(*p))
        p++;
    out->n = (size_t)(p - out->p);
    if (out->n == 1 && *out->p == '0')
        out->n = 0;
    *s = p;
    return 1;
}

/* The first of labels that s starts with (case-insensitive): its index, or -1. */
static int
read_label(const char **s, const char *const *labels, size_t n_labels)
{
    for (size_t i = 0; i < n_labels; i++) {
        size_t len = strlen(labels[i]), k;

        for (k = 0; k < len && lower((*s)[k]) == labels[i][k]; k++)
            ;
        if (k == len) {
            *s += len;
            return (int)i;
        }
    }
    return -1;
}

/* After a pre/post/dev label: an optional separator and number; implicit 0. */
static void
read_label_num(const char **s, struct num *out)
{
    const char *p = *s;

    out->p = "";
    out->n = 0;
    if (is_sep(*p) && is_digit(p[1]))
        p++;
    read_num(&p, out);
    *s = p;
}

/* Parse a whole PEP 440 version; 0 on success, -1 when s is not one. */
static int
ver_parse(const char *s, struct ver *v)
{
    static const char *const pre_labels[] = {"alpha",   "a",   "beta", "b",
                                             "preview", "pre", "c",    "rc"};
    static const int pre_kind[] = {PRE_A, PRE_A, PRE_B, PRE_B, PRE_RC, PRE_RC, PRE_RC, PRE_RC};
    static const char *const post_labels[] = {"post", "rev", "r"};
    static const char *const dev_labels[] = {"dev"};
    const char *p = s, *q;
    struct num n;
    int k;

    memset(v, 0, sizeof(*v));
    v->pre = PRE_NONE;
    v->epoch.p = "";
    if (*p == 'v' || *p == 'V')
        p++;
    q = p;
    if (read_num(&q, &n) && *q == '!') {
        v->epoch = n;
        p = q + 1;
    }
    for (;;) {
        if (v->n_rel == REQ_VERSION_MAX_PARTS || !read_num(&p, &v->rel[v->n_rel]))
            return -1;
        v->n_rel++;
        if (*p != '.' || !is_digit(p[1]))
            break;
        p++;
    }

    q = p + is_sep(*p);
    if ((k = read_label(&q, pre_labels, sizeof(pre_labels) / sizeof(*pre_labels))) >= 0) {
        v->pre = pre_kind[k];
        read_label_num(&q, &v->pre_n);
        p = q;
    }

    if (*p == '-' && is_digit(p[1])) { /* "1.0-1" is 1.0.post1 */
        p++;
        read_num(&p, &v->post_n);
        v->has_post = 1;
    } else {
        q = p + is_sep(*p);
        if (read_label(&q, post_labels, sizeof(post_labels) / sizeof(*post_labels)) >= 0) {
            read_label_num(&q, &v->post_n);
            v->has_post = 1;
            p = q;
        }
    }

    q = p + is_sep(*p);
    if (read_label(&q, dev_labels, 1) >= 0) {
        read_label_num(&q, &v->dev_n);
        v->has_dev = 1;
        p = q;
    }

    if (*p == '+') {
        /* local: alphanumeric segments joined by single separators */
        v->local = ++p;
        for (;;) {
            if (!is_alnum(*p))
                return -1;
            while (is_alnum(*p))
                p++;
            if (!is_sep(*p))
                break;
            p++;
        }
        v->local_len = (size_t)(p - v->local);
    }
    return *p == '\0' ? 0 : -1;
}

static int
sign(int c)
{
    return (c > 0) - (c < 0);
}

static int
num_cmp(struct num a, struct num b)
{
    if (a.n != b.n)
        return a.n < b.n ? -1 : 1;
    return a.n ? sign(memcmp(a.p, b.p, a.n)) : 0;
}

/* The number spelled by the digits [s, e). */
static struct num
num_of(const char *s, const char *e)
{
    while (s < e && *s == '0')
        s++;
    return (struct num){s, (size_t)(e - s)};
}

static int
all_digits(const char *s, const char *e)
{
    for (; s < e; s++)
        if (!is_digit(*s))
            return 0;
    return 1;
}

/* PEP 440 local labels, segment by segment: numbers compare as numbers and beat
 * words, words compare case-insensitively, and a label that is a prefix of the other
 * sorts first. Labels are valid (ver_parse): no empty segments. */
static int
local_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    const char *ea = a + la, *eb = b + lb;

    while (a < ea && b < eb) {
        const char *sa = a, *sb = b;
        int na, nb, c = 0;

        while (a < ea && !is_sep(*a))
            a++;
        while (b < eb && !is_sep(*b))
            b++;
        na = all_digits(sa, a);
        nb = all_digits(sb, b);
        if (na != nb)
            return na ? 1 : -1;
        if (na) {
            c = num_cmp(num_of(sa, a), num_of(sb, b));
        } else {
            for (; !c && sa < a && sb < b; sa++, sb++)
                c = sign(lower(*sa) - lower(*sb));
            if (!c)
                c = (sa < a) - (sb < b);
        }
        if (c)
            return c;
        a += a < ea; /* the separator */
        b += b < eb;
    }
    return (a < ea) - (b < eb);
}

/* The key of packaging's Version._key: pre-release position for a version with no
 * pre and no post but a dev part sorts before every pre-release of it. */
static int
pre_rank(const struct ver *v)
{
    if (v->pre == PRE_NONE && !v->has_post && v->has_dev)
        return -1;
    return v->pre == PRE_NONE ? 3 : v->pre;
}

static int
ver_cmp(const struct ver *a, const struct ver *b, int ignore_local)
{
    static const struct num zero = {"", 0};
    size_t n = a->n_rel > b->n_rel ? a->n_rel : b->n_rel;
    int c;

    if ((c = num_cmp(a->epoch, b->epoch)))
        return c;
    for (size_t i = 0; i < n; i++)
        if ((c = num_cmp(i < a->n_rel ? a->rel[i] : zero, i < b->n_rel ? b->rel[i] : zero)))
            return c;
    if ((c = pre_rank(a) - pre_rank(b)))
        return sign(c);
    if (a->pre != PRE_NONE && (c = num_cmp(a->pre_n, b->pre_n)))
        return c;
    if (a->has_post != b->has_post)
        return a->has_post ? 1 : -1;
    if ((c = num_cmp(a->post_n, b->post_n)))
        return c;
    if (a->has_dev != b->has_dev)
        return a->has_dev ? -1 : 1;
    if ((c = num_cmp(a->dev_n, b->dev_n)))
        return c;
    if (ignore_local)
        return 0;
    if (!a->local != !b->local)
        return a->local ? 1 : -1;
    return a->local ? local_cmp(a->local, a->local_len, b->local, b->local_len) : 0;
}

int
req_version_valid(const char *v)
{
    struct ver x;

    return v && ver_parse(v, &x) == 0;
}

int
req_version_cmp(const char *a, const char *b)
{
    struct ver x, y;
    int va = ver_parse(a, &x) == 0, vb = ver_parse(b, &y) == 0;

    if (va && vb)
        return ver_cmp(&x, &y, 0);
    if (va != vb)
        return va ? -1 : 1;
    return sign(strcmp(a, b));
}

const char *
req_op_str(enum req_op op)
{
    switch (op) {
    case REQ_EQ: return "==";
    case REQ_NE: return "!=";
    case REQ_LT: return "<";
    case REQ_LE: return "<=";
    case REQ_GT: return ">";
    case REQ_GE: return ">=";
    }
    return "?";
}

static int
op_holds(enum req_op op, int c)
{
    switch (op) {
    case REQ_EQ: return c == 0;
    case REQ_NE: return c != 0;
    case REQ_LT: return c < 0;
    case REQ_LE: return c <= 0;
    case REQ_GT: return c > 0;
    case REQ_GE: return c >= 0;
    }
    return 0;
}

int
req_check(const struct req *r, const char *version, const struct req_spec **failed)
{
    struct ver v, s;
    int valid = version && ver_parse(version, &v) == 0;

    for (size_t i = 0; i < r->n_specs; i++) {
        const struct req_spec *sp = &r->specs[i];
        int ok;

        if (ver_parse(sp->version, &s) < 0)
            ok = 0; /* cannot happen for parsed reqs: their versions are validated */
        else if (!valid)
            ok = sp->op == REQ_NE && (!version || strcmp(version, sp->version) != 0);
        else
            ok = op_holds(sp->op, ver_cmp(&v, &s, s.local == NULL));
        if (!ok) {
            if (failed)
                *failed = sp;
            return 0;
        }
    }
    return 1;
}

/* ---- names ------------------------------------------------------------------- */

char *
req_normalize(const char *name)
{
    size_t len = strlen(name), k = 0;
    char *out = xmalloc(len + 1);

    for (size_t i = 0; i < len; i++) {
        if (is_sep(name[i])) {
            if (i == 0 || !is_sep(name[i - 1]))
                out[k++] = '-';
        } else {
            out[k++] = lower(name[i]);
        }
    }
    out[k] = '\0';
    return out;
}

/* ---- lines ------------------------------------------------------------------- */

int
req_split_text(const char *text, size_t len, char ***lines, size_t *n, struct app_err *err)
{
    char **v = NULL;
    size_t cnt = 0, cap = 0, start = 0;

    *lines = NULL;
    *n = 0;
    if (len && memchr(text, '\0', len))
        return app_fail(err, APP_EINVAL, "requirements text contains a NUL byte");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        start = 3;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len, stop = end;

        if (stop > start && text[stop - 1] == '\r')
            stop--;
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[cnt++] = xstrndup(text + start, stop - start);
        start = end + 1;
    }
    *lines = v;
    *n = cnt;
    return 0;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void
skip_ws(const char **p)
{
    while (is_space(**p))
        (*p)++;
}

/* The line without its comment and surrounding whitespace; the caller frees it. */
static char *
strip_line(const char *raw)
{
    const char *b = raw, *e;

    for (e = raw; *e; e++)
        if (*e == '#' && (e == raw || is_space(e[-1])))
            break;
    while (b < e && is_space(*b))
        b++;
    while (e > b && is_space(e[-1]))
        e--;
    return xstrndup(b, (size_t)(e - b));
}

/* A PEP 508 name at *p: alphanumeric at both ends, '-', '_', '.' inside. */
static int
read_name(const char **p, const char **start, size_t *len)
{
    const char *s = *p, *e = s;

    while (is_alnum(*e) || is_sep(*e))
        e++;
    if (e == s || !is_alnum(*s) || !is_alnum(e[-1]))
        return -1;
    *start = s;
    *len = (size_t)(e - s);
    *p = e;
    return 0;
}

/* Geometric growth: a line of many assertions must not cost quadratic copying. */
static void
spec_push(struct req *r, enum req_op op, const char *v, size_t n)
{
    if (r->n_specs == r->cap_specs) {
        r->cap_specs = r->cap_specs ? 2 * r->cap_specs : 4;
        r->specs = xrealloc(r->specs, r->cap_specs * sizeof(*r->specs));
    }
    r->specs[r->n_specs].op = op;
    r->specs[r->n_specs].version = xstrndup(v, n);
    r->n_specs++;
}

static void
req_release(struct req *r)
{
    free(r->name);
    free(r->line);
    for (size_t i = 0; i < r->n_specs; i++)
        free(r->specs[i].version);
    free(r->specs);
    for (size_t i = 0; i < r->n_extras; i++)
        free(r->extras[i]);
    free(r->extras);
    memset(r, 0, sizeof(*r));
}

/* Read 'op version {, op version}' at p into r; NULL or the reason it failed
 * (allocated). */
static char *
parse_specs(const char *p, struct req *r)
{
    static const struct {
        const char *text;
        enum req_op op;
    } ops[] = {{"==", REQ_EQ}, {"!=", REQ_NE}, {"<=", REQ_LE},
               {">=", REQ_GE}, {"<", REQ_LT},  {">", REQ_GT}};

    for (;;) {
        const char *v;
        char *ver;
        size_t i, n;
        int bad;

        skip_ws(&p);
        if (strncmp(p, "===", 3) == 0)
            return xstrdup("'===' (arbitrary equality) is not supported");
        if (strncmp(p, "~=", 2) == 0)
            return xstrdup("'~=' (compatible release) is not supported");
        for (i = 0; i < sizeof(ops) / sizeof(*ops); i++)
            if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0)
                break;
        if (i == sizeof(ops) / sizeof(*ops))
            return xasprintf("expected ==, !=, <, <=, > or >= at '%s'", p);
        if (r->n_specs == REQ_MAX_SPECS)
            return xasprintf("it has more than %d version assertions", REQ_MAX_SPECS);
        p += strlen(ops[i].text);
        skip_ws(&p);
        for (v = p; *p && !is_space(*p) && *p != ','; p++)
            ;
        if ((n = (size_t)(p - v)) == 0)
            return xasprintf("'%s' has no version", ops[i].text);
        ver = xstrndup(v, n);
        if (strchr(ver, '*'))
            bad = 1;
        else
            bad = req_version_valid(ver) ? 0 : 2;
        if (bad) {
            char *why = bad == 1
                            ? xasprintf("wildcard versions such as '%s' are not supported", ver)
                            : xasprintf("'%s' is not a valid version", ver);

            free(ver);
            return why;
        }
        spec_push(r, ops[i].op, v, n);
        free(ver);
        skip_ws(&p);
        if (*p == '\0')
            return NULL;
        if (*p != ',')
            return xasprintf("unexpected '%s' after the version", p);
        p++;
        skip_ws(&p);
        if (*p == '\0')
            return xstrdup("a ',' is not followed by an assertion");
    }
}

/* Parse one stripped, non-empty line into r; NULL or the reason (allocated). */
static char *
parse_line(const char *line, struct req *r)
{
    const char *p = line, *name;
    size_t name_len;

    if (strlen(line) > REQ_LINE_MAX)
        return xasprintf("the line is longer than %d bytes", REQ_LINE_MAX);
    for (const char *c = line; *c; c++)
        if ((unsigned char)*c < 0x20 ? *c != '\t' : *c == 0x7f)
            return xstrdup("the line contains a control character");
    if (*p == '-')
        return xstrdup("options such as '-r', '-e' or '--hash' are not supported");
    if (strstr(line, "://"))
        return xstrdup("URLs are not supported, only package names");
    if (strchr(line, '@'))
        return xstrdup("direct references ('name @ url') are not supported");
    if (strchr(line, ';'))
        return xstrdup("environment markers (';') are not supported");
    if (strchr(line, '\\'))
        return xstrdup("line continuations and paths are not supported");
    if (read_name(&p, &name, &name_len) < 0)
        return xstrdup("it does not start with a valid package name");

    {
        char *raw = xstrndup(name, name_len);

        r->name = req_normalize(raw);
        free(raw);
    }
    skip_ws(&p);
    if (*p == '[') {
        const char *x;
        size_t xl;

        p++;
        skip_ws(&p);
        while (*p != ']') {
            if (read_name(&p, &x, &xl) < 0)
                return xstrdup("its extras ('[...]') are malformed");
            if (r->n_extras == REQ_MAX_EXTRAS)
                return xasprintf("it has more than %d extras", REQ_MAX_EXTRAS);
            {
                char *raw = xstrndup(x, xl);

                if (r->n_extras == 0)
                    r->extras = xcalloc(REQ_MAX_EXTRAS, sizeof(*r->extras));
                r->extras[r->n_extras++] = req_normalize(raw);
                free(raw);
            }
            skip_ws(&p);
            if (*p == ',') {
                p++;
                skip_ws(&p);
                if (*p == ']')
                    return xstrdup("its extras ('[...]') are malformed");
            } else if (*p != ']') {
                return xstrdup("its extras ('[...]') are malformed");
            }
        }
        p++;
        skip_ws(&p);
    }
    if (*p == '\0')
        return NULL;
    return parse_specs(p, r);
}

/* The length of s cut to at most max bytes, on a UTF-8 character boundary. */
static size_t
utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

struct order {
    const char *name;
    size_t pos;
};

static int
order_cmp(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Move dup's extras to r (both hold at most REQ_MAX_EXTRAS; duplicates are dropped
 * later by tidy, so the union is stored first, up to twice the limit). */
static void
extras_merge(struct req *r, struct req *dup)
{
    if (!dup->n_extras)
        return;
    r->extras = xrealloc(r->extras, (r->n_extras + dup->n_extras) * sizeof(*r->extras));
    memcpy(r->extras + r->n_extras, dup->extras, dup->n_extras * sizeof(*dup->extras));
    r->n_extras += dup->n_extras;
    free(dup->extras);
    dup->extras = NULL;
    dup->n_extras = 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_spec(const void *a, const void *b)
{
    const struct req_spec *x = a, *y = b;
    int c = req_version_cmp(x->version, y->version);

    if (c)
        return c;
    return x->op < y->op ? -1 : x->op > y->op;
}

/* Canonical order and no duplicates for r's extras and assertions; versions lower
 * case (PEP 440 is case-insensitive). */
static void
tidy(struct req *r)
{
    size_t k = 0;

    for (size_t i = 0; i < r->n_specs; i++)
        for (char *c = r->specs[i].version; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    if (r->n_specs > 1)
        qsort(r->specs, r->n_specs, sizeof(*r->specs), cmp_spec);
    for (size_t i = 0; i < r->n_specs; i++) {
        if (k && cmp_spec(&r->specs[k - 1], &r->specs[i]) == 0 &&
            strcmp(r->specs[k - 1].version, r->specs[i].version) == 0)
            free(r->specs[i].version);
        else
            r->specs[k++] = r->specs[i];
    }
    r->n_specs = k;
    if (r->n_extras > 1)
        qsort(r->extras, r->n_extras, sizeof(*r->extras), cmp_str);
    k = 0;
    for (size_t i = 0; i < r->n_extras; i++) {
        if (k && strcmp(r->extras[k - 1], r->extras[i]) == 0)
            free(r->extras[i]);
        else
            r->extras[k++] = r->extras[i];
    }
    r->n_extras = k;
}

char *
req_canonical(const struct req *r)
{
    struct buf b;

    buf_init(&b, 0);
    if (buf_puts(&b, r->name) < 0)
        abort();
    for (size_t i = 0; i < r->n_extras; i++)
        if (buf_puts(&b, i ? "," : "[") < 0 || buf_puts(&b, r->extras[i]) < 0)
            abort();
    if (r->n_extras && buf_puts(&b, "]") < 0)
        abort();
    for (size_t i = 0; i < r->n_specs; i++)
        if ((i && buf_puts(&b, ",") < 0) || buf_puts(&b, req_op_str(r->specs[i].op)) < 0 ||
            buf_puts(&b, r->specs[i].version) < 0)
            abort();
    return buf_detach(&b, NULL);
}

/* Fold each later req of a name into the first one, keeping first-appearance order.
 * Sorting by name first keeps this O(n log n) for long files. */
static void
merge_duplicates(struct req *v, size_t *n)
{
    struct order *o = xcalloc(*n, sizeof(*o));
    unsigned char *gone = xcalloc(*n, 1);
    size_t k = 0;

    for (size_t i = 0; i < *n; i++)
        o[i] = (struct order){v[i].name, i};
    qsort(o, *n, sizeof(*o), order_cmp);
    for (size_t s = 0, e; s < *n; s = e) {
        struct req *first = &v[o[s].pos];
        size_t total = first->n_specs;

        for (e = s + 1; e < *n && strcmp(o[e].name, o[s].name) == 0; e++)
            total += v[o[e].pos].n_specs;
        if (e - s == 1)
            continue;
        if (total > first->cap_specs) {
            first->specs = xrealloc(first->specs, total * sizeof(*first->specs));
            first->cap_specs = total;
        }
        for (size_t i = s + 1; i < e; i++) {
            struct req *dup = &v[o[i].pos];

            if (dup->n_specs)
                memcpy(first->specs + first->n_specs, dup->specs,
                       dup->n_specs * sizeof(*dup->specs));
            first->n_specs += dup->n_specs;
            dup->n_specs = 0;
            extras_merge(first, dup);
            gone[o[i].pos] = 1;
        }
    }
    for (size_t i = 0; i < *n; i++) {
        if (gone[i])
            req_release(&v[i]);
        else
            v[k++] = v[i];
    }
    *n = k;
    free(o);
    free(gone);
}

int
req_parse_lines(const char *const *lines, size_t n, struct req **out, size_t *n_out,
                struct app_err *err)
{
    struct req *v = NULL;
    size_t cnt = 0, bad = 0;
    int ret = -1;

    *out = NULL;
    *n_out = 0;
    if (n)
        v = xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        char *line = strip_line(lines[i] ? lines[i] : "");
        char *why;

        if (*line == '\0') {
            free(line);
            continue;
        }
        if ((why = parse_line(line, &v[cnt]))) {
            if (err) {
                /* Quote a long line only in part: an error must not echo 80 KB. */
                size_t cut = utf8_cut(line, REQ_LINE_MAX);
                char *shown = xstrndup(line, cut);
                cJSON *e = app_err_add(
                    err, "invalid_requirement", "invalid requirement '%.*s%s' (line %zu): %s",
                    (int)utf8_cut(line, 80), line, cut < strlen(line) ? "..." : "", i + 1, why);

                xjson(cJSON_AddStringToObject(e, "line", shown));
                free(shown);
            }
            req_release(&v[cnt]);
            free(why);
            free(line);
            bad++;
            continue;
        }
        v[cnt++].line = line;
    }
    if (bad) {
        app_fail(err, APP_EUNPROCESSABLE, "%zu requirement line%s %s invalid", bad,
                 bad == 1 ? "" : "s", bad == 1 ? "is" : "are");
        goto out;
    }
    merge_duplicates(v, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        tidy(&v[i]);
        if (v[i].n_specs > REQ_MAX_SPECS || v[i].n_extras > REQ_MAX_EXTRAS) {
            if (err) {
                cJSON *e = app_err_add(err, "invalid_requirement",
                                       "invalid requirement '%s': its lines together have more "
                                       "than %d assertions or %d extras",
                                       v[i].name, REQ_MAX_SPECS, REQ_MAX_EXTRAS);

                xjson(cJSON_AddStringToObject(e, "line", v[i].line));
            }
            app_fail(err, APP_EUNPROCESSABLE, "requirement '%s' is over its limits", v[i].name);
            goto out;
        }
    }
    if (cnt) {
        *out = v;
        *n_out = cnt;
        v = NULL;
    }
    cnt = 0;
    ret = 0;
out:
    req_free_all(v, cnt);
    return ret;
}

void
req_free_all(struct req *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        req_release(&r[i]);
    free(r);
}
