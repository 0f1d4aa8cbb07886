/* cli/wrangler.c: a bounded reader for the wrangler.toml subset in wrangler.h.
 *
 * One pass over the text with a cursor; every value is read by a function that
 * stops at the first byte it does not understand and says which line it was on.
 */
#include "cli/wrangler.h"
#include "cli/toml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/hash.h"
#include "app/mem.h"

#define TOML_DEPTH_MAX 16
#define TOML_ARRAY_MAX 4096

struct toml {
    const char *path;
    const char *p, *end;
    int line;
    struct app_err *err;
};

enum tval_kind { TV_STRING, TV_ARRAY, TV_OTHER };

struct tval {
    enum tval_kind kind;
    char *s;      /* TV_STRING; bare scalars too (dates) */
    char **items; /* TV_ARRAY of strings */
    size_t n;
    int all_strings;
};

static void
tval_release(struct tval *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        free(v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

__attribute__((format(printf, 2, 3))) static int
tfail(struct toml *t, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return app_fail(t->err, APP_EINVAL, "%s:%d: %s", t->path, t->line, msg);
}

static int
at_end(const struct toml *t)
{
    return t->p >= t->end;
}

static void
skip_ws(struct toml *t)
{
    while (!at_end(t) && (*t->p == ' ' || *t->p == '\t'))
        t->p++;
}

static void
skip_comment(struct toml *t)
{
    if (!at_end(t) && *t->p == '#')
        while (!at_end(t) && *t->p != '\n')
            t->p++;
}

/* Whitespace, comments and newlines (inside arrays, between statements). */
static void
skip_all(struct toml *t)
{
    for (;;) {
        skip_ws(t);
        skip_comment(t);
        if (!at_end(t) && *t->p == '\r')
            t->p++;
        if (!at_end(t) && *t->p == '\n') {
            t->p++;
            t->line++;
            continue;
        }
        return;
    }
}

/* After a statement: spaces, a comment, then a newline or the end. */
static int
end_of_line(struct toml *t)
{
    skip_ws(t);
    skip_comment(t);
    if (!at_end(t) && *t->p == '\r')
        t->p++;
    if (at_end(t))
        return 0;
    if (*t->p != '\n')
        return tfail(t, "unexpected '%c' after the value", *t->p);
    t->p++;
    t->line++;
    return 0;
}

static int
put_utf8(struct buf *b, unsigned long cp)
{
    char u[4];
    size_t n;

    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, u, n);
}

/* A basic ("...") or literal ('...') string, single- or triple-quoted. */
static int
read_string(struct toml *t, char **out)
{
    char q = *t->p;
    int triple = t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q;
    struct buf b;

    buf_init(&b, WRANGLER_MAX);
    t->p += triple ? 3 : 1;
    if (triple && !at_end(t) && *t->p == '\n') {
        t->p++;
        t->line++;
    }
    for (;;) {
        char c;

        if (at_end(t)) {
            buf_release(&b);
            return tfail(t, "unterminated string");
        }
        c = *t->p;
        if (c == q && (!triple || (t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q))) {
            t->p += triple ? 3 : 1;
            break;
        }
        if (c == '\n') {
            if (!triple) {
                buf_release(&b);
                return tfail(t, "newline inside a string");
            }
            t->line++;
        }
        if (c == '\\' && q == '"') {
            char e = t->end - t->p >= 2 ? t->p[1] : '\0';
            static const char esc[] = "\"\\btnfr", repl[] = "\"\\\b\t\n\f\r";
            const char *simple = e ? strchr(esc, e) : NULL;

            if (e && simple) {
                if (buf_append(&b, &repl[simple - esc], 1) < 0)
                    goto big;
                t->p += 2;
                continue;
            }
            if (e == 'u' || e == 'U') {
                int digits = e == 'u' ? 4 : 8;
                unsigned long cp = 0;

                if (t->end - t->p < 2 + digits) {
                    buf_release(&b);
                    return tfail(t, "bad \\%c escape", e);
                }
                for (int i = 0; i < digits; i++) {
                    int h = hex_nibble(t->p[2 + i]);

                    if (h < 0) {
                        buf_release(&b);
                        return tfail(t, "bad \\%c escape", e);
                    }
                    cp = cp << 4 | (unsigned long)h;
                }
                if (put_utf8(&b, cp) < 0) {
                    buf_release(&b);
                    return tfail(t, "bad \\%c escape", e);
                }
                t->p += 2 + digits;
                continue;
            }
            buf_release(&b);
            return tfail(t, "unknown escape '\\%c'", e ? e : ' ');
        }
        if ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            buf_release(&b);
            return tfail(t, "control character in a string");
        }
        if (buf_append(&b, &c, 1) < 0)
            goto big;
        t->p++;
    }
    *out = buf_detach(&b, NULL);
    if (!*out)
        *out = xstrdup("");
    return 0;
big:
    buf_release(&b);
    return tfail(t, "string too long");
}

static int
bare_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int read_value(struct toml *t, struct tval *v, int depth);

static int
read_key(struct toml *t, char **out)
{
    struct buf b;

    buf_init(&b, 1024);
    for (;;) {
        skip_ws(t);
        if (!at_end(t) && (*t->p == '"' || *t->p == '\'')) {
            char *s = NULL;

            if (read_string(t, &s) < 0) {
                buf_release(&b);
                return -1;
            }
            if (buf_puts(&b, s) < 0) {
                free(s);
                buf_release(&b);
                return tfail(t, "key too long");
            }
            free(s);
        } else {
            const char *s = t->p;

            while (!at_end(t) && bare_char(*t->p))
                t->p++;
            if (t->p == s) {
                buf_release(&b);
                return at_end(t) ? tfail(t, "expected a key")
                                 : tfail(t, "unexpected '%c' where a key was expected", *t->p);
            }
            if (buf_append(&b, s, (size_t)(t->p - s)) < 0) {
                buf_release(&b);
                return tfail(t, "key too long");
            }
        }
        skip_ws(t);
        if (!at_end(t) && *t->p == '.') {
            t->p++;
            if (buf_puts(&b, ".") < 0) {
                buf_release(&b);
                return tfail(t, "key too long");
            }
            continue;
        }
        break;
    }
    *out = buf_detach(&b, NULL);
    return 0;
}

static int
read_array(struct toml *t, struct tval *v, int depth)
{
    v->kind = TV_ARRAY;
    v->all_strings = 1;
    t->p++;
    for (;;) {
        struct tval item = {0};

        skip_all(t);
        if (at_end(t))
            return tfail(t, "unterminated array");
        if (*t->p == ']') {
            t->p++;
            return 0;
        }
        if (read_value(t, &item, depth + 1) < 0) {
            tval_release(&item); /* a nested array may hold items already */
            return -1;
        }
        if (item.kind == TV_STRING && v->n < TOML_ARRAY_MAX) {
            v->items = xrealloc(v->items, (v->n + 1) * sizeof(*v->items));
            v->items[v->n++] = item.s;
            item.s = NULL;
        } else {
            v->all_strings = 0;
        }
        tval_release(&item);
        skip_all(t);
        if (at_end(t))
            return tfail(t, "unterminated array");
        if (*t->p == ',') {
            t->p++;
            continue;
        }
        skip_all(t);
        if (!at_end(t) && *t->p == ']') {
            t->p++;
            return 0;
        }
        return tfail(t, "expected ',' or ']' in an array");
    }
}

static int
read_inline_table(struct toml *t, int depth)
{
    t->p++;
    skip_ws(t);
    if (!at_end(t) && *t->p == '}') {
        t->p++;
        return 0;
    }
    for (;;) {
        struct tval item = {0};
        char *key = NULL;

        if (read_key(t, &key) < 0)
            return -1;
        free(key);
        skip_ws(t);
        if (at_end(t) || *t->p != '=')
            return tfail(t, "expected '=' in an inline table");
        t->p++;
        skip_ws(t);
        if (read_value(t, &item, depth + 1) < 0) {
            tval_release(&item);
            return -1;
        }
        tval_release(&item);
        skip_ws(t);
        if (!at_end(t) && *t->p == ',') {
            t->p++;
            continue;
        }
        if (!at_end(t) && *t->p == '}') {
            t->p++;
            return 0;
        }
        return tfail(t, "expected ',' or '}' in an inline table");
    }
}

static int
read_value(struct toml *t, struct tval *v, int depth)
{
    memset(v, 0, sizeof(*v));
    if (depth > TOML_DEPTH_MAX)
        return tfail(t, "values nested too deeply");
    skip_ws(t);
    if (at_end(t))
        return tfail(t, "expected a value");
    if (*t->p == '"' || *t->p == '\'') {
        v->kind = TV_STRING;
        return read_string(t, &v->s);
    }
    if (*t->p == '[')
        return read_array(t, v, depth);
    if (*t->p == '{') {
        v->kind = TV_OTHER;
        return read_inline_table(t, depth);
    }
    {
        /* Numbers, booleans, dates and times: a bare token. */
        const char *s = t->p;

        while (!at_end(t) && (bare_char(*t->p) || *t->p == ':' || *t->p == '+' || *t->p == '.'))
            t->p++;
        if (t->p == s)
            return tfail(t, "unexpected '%c' where a value was expected", *t->p);
        v->kind = TV_OTHER;
        v->s = xstrndup(s, (size_t)(t->p - s));
        return 0;
    }
}

static void
strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void
cli_wrangler_release(struct cli_wrangler *w)
{
    if (!w)
        return;
    free(w->path);
    free(w->dir);
    free(w->main);
    free(w->date);
    strv_free(w->flags, w->n_flags);
    strv_free(w->var_names, w->n_vars);
    strv_free(w->var_values, w->n_vars);
    cJSON_Delete(w->json);
    strv_free(w->deps, w->n_deps);
    memset(w, 0, sizeof(*w));
}

/* Apply key = v in table (NULL for the top level); takes what it keeps from v. */
static int
assign(struct toml *t, struct cli_wrangler *w, const char *table, const char *key, struct tval *v)
{
    if (!table) {
        if (strcmp(key, "main") == 0) {
            if (v->kind != TV_STRING)
                return tfail(t, "'main' must be a string");
            free(w->main);
            w->main = v->s;
            v->s = NULL;
        } else if (strcmp(key, "compatibility_date") == 0) {
            if (!v->s || v->kind == TV_ARRAY)
                return tfail(t, "'compatibility_date' must be a date like \"2025-01-01\"");
            free(w->date);
            w->date = v->s;
            v->s = NULL;
        } else if (strcmp(key, "compatibility_flags") == 0) {
            if (v->kind != TV_ARRAY || !v->all_strings)
                return tfail(t, "'compatibility_flags' must be an array of strings");
            strv_free(w->flags, w->n_flags);
            w->flags = v->items;
            w->n_flags = v->n;
            w->has_flags = 1;
            v->items = NULL;
            v->n = 0;
        }
        return 0;
    }
    if (strcmp(table, "project") == 0 && strcmp(key, "dependencies") == 0) {
        if (v->kind != TV_ARRAY || !v->all_strings)
            return tfail(t, "[project] dependencies must be an array of strings");
        strv_free(w->deps, w->n_deps);
        w->deps = v->items;
        w->n_deps = v->n;
        v->items = NULL;
        v->n = 0;
        return 0;
    }
    if (strcmp(table, "vars") == 0 && v->kind == TV_STRING && !strchr(key, '.')) {
        w->var_names = xrealloc(w->var_names, (w->n_vars + 1) * sizeof(char *));
        w->var_values = xrealloc(w->var_values, (w->n_vars + 1) * sizeof(char *));
        w->var_names[w->n_vars] = xstrdup(key);
        w->var_values[w->n_vars] = v->s;
        w->n_vars++;
        v->s = NULL;
    }
    return 0;
}

/* ---- the TOML file as JSON (w->json): tables, arrays of tables, and values that are
 * strings, numbers, booleans, dates (as strings) or arrays of strings. Inline tables
 * and arrays of other values are read but not kept. */

/* The object for a dotted table path, created as needed; the last element when a
 * part is an array of tables. */
static cJSON *
json_path(cJSON *root, const char *dotted)
{
    char *copy = xstrdup(dotted), *save = NULL, *part;
    cJSON *cur = root;

    for (part = strtok_r(copy, ".", &save); part && cur; part = strtok_r(NULL, ".", &save)) {
        cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, part);

        if (!next)
            next = cJSON_AddObjectToObject(cur, part);
        if (cJSON_IsArray(next))
            next = cJSON_GetArrayItem(next, cJSON_GetArraySize(next) - 1);
        cur = cJSON_IsObject(next) ? next : NULL;
    }
    free(copy);
    return cur;
}

/* A [table] or [[array.of.tables]] header. */
static void
json_header(cJSON *root, const char *name, int arr)
{
    const char *dot = strrchr(name, '.');
    char *parent = dot ? xstrndup(name, (size_t)(dot - name)) : NULL;
    const char *last = dot ? dot + 1 : name;
    cJSON *p, *a;

    if (!arr) {
        json_path(root, name);
        free(parent);
        return;
    }
    p = parent ? json_path(root, parent) : root;
    free(parent);
    if (!p)
        return;
    a = cJSON_GetObjectItemCaseSensitive(p, last);
    if (!a)
        a = cJSON_AddArrayToObject(p, last);
    if (cJSON_IsArray(a))
        cJSON_AddItemToArray(a, xjson(cJSON_CreateObject()));
}

static cJSON *
json_of_tval(const struct tval *v)
{
    if (v->kind == TV_STRING)
        return xjson(cJSON_CreateString(v->s));
    if (v->kind == TV_ARRAY) {
        cJSON *a;

        if (!v->all_strings)
            return NULL;
        a = xjson(cJSON_CreateArray());
        for (size_t i = 0; i < v->n; i++)
            cJSON_AddItemToArray(a, xjson(cJSON_CreateString(v->items[i])));
        return a;
    }
    if (!v->s)
        return NULL; /* an inline table */
    if (strcmp(v->s, "true") == 0 || strcmp(v->s, "false") == 0)
        return xjson(cJSON_CreateBool(v->s[0] == 't'));
    {
        char *num = xstrdup(v->s), *o = num, *end = NULL;
        double d;
        cJSON *r = NULL;

        for (const char *i = v->s; *i; i++)
            if (*i != '_')
                *o++ = *i;
        *o = '\0';
        d = strtod(num, &end);
        if (end && *end == '\0' && end != num) /* a date stops at its first '-' */
            r = xjson(cJSON_CreateNumber(d));
        free(num);
        return r ? r : xjson(cJSON_CreateString(v->s)); /* dates and times */
    }
}

/* key = v in table (NULL: the top level), as JSON. */
static void
json_assign(cJSON *root, const char *table, const char *key, const struct tval *v)
{
    cJSON *t = table ? json_path(root, table) : root, *val;
    const char *dot = strrchr(key, '.');

    if (t && dot) { /* a dotted key: its parents are tables */
        char *parent = xstrndup(key, (size_t)(dot - key));

        t = json_path(t, parent);
        free(parent);
        key = dot + 1;
    }
    if (!t || !(val = json_of_tval(v)))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(t, key);
    cJSON_AddItemToObject(t, key, val);
}

int
cli_wrangler_parse(const char *path, const char *text, size_t len, struct cli_wrangler *w,
                   struct app_err *err)
{
    struct toml t = {path, text, text + len, 1, err};
    char *table = NULL;
    const char *slash;
    int ret = -1;

    memset(w, 0, sizeof(*w));
    w->path = xstrdup(path);
    w->json = xjson(cJSON_CreateObject());
    slash = strrchr(path, '/');
    w->dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    if (w->dir[0] == '\0') {
        free(w->dir);
        w->dir = xstrdup("/");
    }
    if (memchr(text, '\0', len)) {
        app_fail(err, APP_EINVAL, "%s: not a text file", path);
        goto out;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        t.p += 3;
    for (;;) {
        skip_all(&t);
        if (at_end(&t))
            break;
        if (*t.p == '[') {
            int arr = t.end - t.p >= 2 && t.p[1] == '[';
            char *name = NULL;

            t.p += arr ? 2 : 1;
            if (read_key(&t, &name) < 0)
                goto out;
            skip_ws(&t);
            if (at_end(&t) || *t.p != ']' || (arr && (t.end - t.p < 2 || t.p[1] != ']'))) {
                free(name);
                tfail(&t, "expected ']' after the table name");
                goto out;
            }
            t.p += arr ? 2 : 1;
            free(table);
            table = name;
            json_header(w->json, name, arr);
            if (end_of_line(&t) < 0)
                goto out;
            continue;
        }
        {
            struct tval v = {0};
            char *key = NULL;
            int rc;

            if (read_key(&t, &key) < 0)
                goto out;
            skip_ws(&t);
            if (at_end(&t) || *t.p != '=') {
                free(key);
                tfail(&t, "expected '=' after the key");
                goto out;
            }
            t.p++;
            rc = read_value(&t, &v, 0);
            if (rc == 0)
                json_assign(w->json, table, key, &v);
            if (rc == 0)
                rc = assign(&t, w, table, key, &v);
            tval_release(&v);
            free(key);
            if (rc < 0 || end_of_line(&t) < 0)
                goto out;
        }
    }
    ret = 0;
out:
    free(table);
    if (ret < 0) {
        cli_wrangler_release(w);
    }
    return ret;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int json_fields(struct cli_wrangler *w, struct app_err *err);

/* pyproject.toml: [project].dependencies from w->json (dependency groups are not
 * the worker's). */
static int
pyproject_fields(struct cli_wrangler *w, struct app_err *err)
{
    const cJSON *project = cJSON_GetObjectItemCaseSensitive(w->json, "project");
    const cJSON *deps = cJSON_GetObjectItemCaseSensitive(project, "dependencies"), *d;

    if (!deps)
        return 0;
    if (!cJSON_IsArray(deps))
        return app_fail(err, APP_EINVAL, "%s: [project].dependencies must be an array", w->path);
    w->deps = xcalloc((size_t)cJSON_GetArraySize(deps) + 1, sizeof(char *));
    cJSON_ArrayForEach (d, deps) {
        if (!cJSON_IsString(d))
            return app_fail(err, APP_EINVAL,
                            "%s: [project].dependencies must be an array of strings", w->path);
        w->deps[w->n_deps++] = xstrdup(d->valuestring);
    }
    return 0;
}

/* A wrangler.toml: the whole document as JSON (cli/toml.c, so the bindings and
 * [env.NAME] reach the executor as wrangler reads them), then the fields from it. */
static int
toml_read(const char *path, const char *text, size_t len, struct cli_wrangler *w,
          struct app_err *err)
{
    const char *slash = strrchr(path, '/');

    memset(w, 0, sizeof(*w));
    w->path = xstrdup(path);
    w->dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    if (w->dir[0] == '\0') {
        free(w->dir);
        w->dir = xstrdup("/");
    }
    w->json = cli_toml_parse(path, text, len, err);
    if (!w->json || json_fields(w, err) < 0 || pyproject_fields(w, err) < 0) {
        cli_wrangler_release(w);
        return -1;
    }
    return 0;
}

int
cli_wrangler_read(const char *path, struct cli_wrangler *w, struct app_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int ret;

    memset(w, 0, sizeof(*w));
    if (file_read_all(path, &text, &len, WRANGLER_MAX, err) < 0) {
        char why[APP_ERR_MSG_MAX];

        memcpy(why, err->msg, sizeof(why));
        return app_fail(err, APP_EINVAL, "cannot read '%s': %s", path, why);
    }
    if (ends_with(path, ".json") || ends_with(path, ".jsonc")) {
        ret = cli_wrangler_parse_json(path, text, len, w, err);
    } else {
        ret = toml_read(path, text, len, w, err);
    }
    free(text);
    return ret;
}

char *
cli_wrangler_find(const char *dir)
{
    static const char *const names[] = {"wrangler.json", "wrangler.jsonc", "wrangler.toml"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *p = xasprintf("%s/%s", dir, names[i]);

        if (access(p, R_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

/* Blank out comments and trailing commas in place (same length, newlines kept, so
 * positions still name the user's line and column). Returns 0, or -1 with *bad at an
 * unterminated comment or string. */
static int
jsonc_strip(char *s, size_t len, size_t *bad)
{
    size_t i = 0;

    while (i < len) {
        char ch = s[i];

        if (ch == '"') {
            size_t start = i++;

            while (i < len && s[i] != '"' && s[i] != '\n') {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                i++;
            }
            if (i >= len || s[i] != '"')
                return *bad = start, -1;
            i++;
        } else if (ch == '/' && i + 1 < len && s[i + 1] == '/') {
            while (i < len && s[i] != '\n')
                s[i++] = ' ';
        } else if (ch == '/' && i + 1 < len && s[i + 1] == '*') {
            size_t start = i;

            s[i++] = ' ';
            s[i++] = ' ';
            while (i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/')) {
                if (s[i] != '\n')
                    s[i] = ' ';
                i++;
            }
            if (i >= len)
                return *bad = start, -1;
            s[i++] = ' ';
            s[i++] = ' ';
        } else if (ch == ',') {
            size_t j = i + 1;

            /* A comma followed only by blanks (comments are blank by now, or are
             * blanked when reached) and a closing bracket is a trailing comma. */
            for (;;) {
                while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
                    j++;
                if (j + 1 < len && s[j] == '/' && s[j + 1] == '/') {
                    while (j < len && s[j] != '\n')
                        j++;
                    continue;
                }
                if (j + 1 < len && s[j] == '/' && s[j + 1] == '*') {
                    j += 2;
                    while (j + 1 < len && !(s[j] == '*' && s[j + 1] == '/'))
                        j++;
                    j += 2;
                    continue;
                }
                break;
            }
            if (j < len && (s[j] == '}' || s[j] == ']'))
                s[i] = ' ';
            i++;
        } else {
            i++;
        }
    }
    return 0;
}

static void
line_col(const char *s, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* main, date, flags and string vars from w->json. */
static int
json_fields(struct cli_wrangler *w, struct app_err *err)
{
    const cJSON *j = w->json, *v;

    free(w->main);
    free(w->date);
    strv_free(w->flags, w->n_flags);
    strv_free(w->var_names, w->n_vars);
    strv_free(w->var_values, w->n_vars);
    w->main = w->date = NULL;
    w->flags = w->var_names = w->var_values = NULL;
    w->n_flags = w->n_vars = 0;
    w->has_flags = 0;
    if (!cJSON_IsObject(j))
        return app_fail(err, APP_EINVAL, "%s: the configuration must be a JSON object", w->path);
    v = cJSON_GetObjectItemCaseSensitive(j, "main");
    if (v && !cJSON_IsString(v))
        return app_fail(err, APP_EINVAL, "%s: \"main\" must be a string", w->path);
    if (v)
        w->main = xstrdup(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(j, "compatibility_date");
    if (v && !cJSON_IsString(v))
        return app_fail(err, APP_EINVAL, "%s: \"compatibility_date\" must be a string", w->path);
    if (v)
        w->date = xstrdup(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(j, "compatibility_flags");
    if (v) {
        const cJSON *f;

        if (!cJSON_IsArray(v))
            return app_fail(err, APP_EINVAL, "%s: \"compatibility_flags\" must be an array",
                            w->path);
        w->flags = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
        cJSON_ArrayForEach (f, v) {
            if (!cJSON_IsString(f))
                return app_fail(err, APP_EINVAL,
                                "%s: \"compatibility_flags\" must be an array of strings", w->path);
            w->flags[w->n_flags++] = xstrdup(f->valuestring);
        }
        w->has_flags = 1;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "vars");
    if (v && !cJSON_IsObject(v))
        return app_fail(err, APP_EINVAL, "%s: \"vars\" must be an object", w->path);
    return 0;
}

int
cli_wrangler_parse_json(const char *path, const char *text, size_t len, struct cli_wrangler *w,
                        struct app_err *err)
{
    char *copy = xmalloc(len + 1);
    const char *end = NULL;
    const char *slash;
    size_t bad = 0;
    int line, col, ret = -1;

    memset(w, 0, sizeof(*w));
    w->path = xstrdup(path);
    slash = strrchr(path, '/');
    w->dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    if (w->dir[0] == '\0') {
        free(w->dir);
        w->dir = xstrdup("/");
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (memchr(text, '\0', len)) {
        app_fail(err, APP_EINVAL, "%s: not a text file", path);
        goto out;
    }
    if (jsonc_strip(copy, len, &bad) < 0) {
        line_col(text, bad, &line, &col);
        app_fail(err, APP_EINVAL, "%s:%d:%d: unterminated %s", path, line, col,
                 text[bad] == '"' ? "string" : "comment");
        goto out;
    }
    w->json = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
    if (!w->json) {
        size_t off = end && end >= copy && end <= copy + len ? (size_t)(end - copy) : 0;

        line_col(text, off, &line, &col);
        app_fail(err, APP_EINVAL, "%s:%d:%d: not valid JSON here", path, line, col);
        goto out;
    }
    while (end && end < copy + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end && end < copy + len) {
        line_col(text, (size_t)(end - copy), &line, &col);
        app_fail(err, APP_EINVAL, "%s:%d:%d: unexpected text after the configuration", path, line,
                 col);
        goto out;
    }
    ret = json_fields(w, err);
out:
    free(copy);
    if (ret < 0)
        cli_wrangler_release(w);
    return ret;
}

int
cli_wrangler_apply_env(struct cli_wrangler *w, const char *name, struct app_err *err)
{
    /* wrangler's non-inheritable keys: an environment has its own or none. */
    static const char *const own[] = {
        "vars",
        "define",
        "durable_objects",
        "kv_namespaces",
        "r2_buckets",
        "d1_databases",
        "services",
        "queues",
        "analytics_engine_datasets",
        "workflows",
        "vectorize",
        "hyperdrive",
        "send_email",
        "browser",
        "ai",
        "version_metadata",
        "tail_consumers",
    };
    cJSON *envs, *e, *item;

    envs = cJSON_GetObjectItemCaseSensitive(w->json, "env");
    e = cJSON_IsObject(envs) ? cJSON_GetObjectItemCaseSensitive(envs, name) : NULL;
    if (!cJSON_IsObject(e))
        return app_fail(err, APP_EINVAL, "%s has no environment '%s' (no [env.%s])", w->path, name,
                        name);
    e = cJSON_DetachItemViaPointer(envs, e);
    cJSON_DeleteItemFromObjectCaseSensitive(w->json, "env");
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(w->json, own[i]);
    while ((item = e->child) != NULL) {
        char *key = xstrdup(item->string);

        item = cJSON_DetachItemViaPointer(e, item);
        cJSON_DeleteItemFromObjectCaseSensitive(w->json, key);
        cJSON_AddItemToObject(w->json, key, item);
        free(key);
    }
    cJSON_Delete(e);
    return json_fields(w, err);
}

int
cli_pyproject_deps(const char *path, char **text, struct app_err *err)
{
    struct cli_wrangler w;
    struct buf b;

    *text = NULL;
    if (cli_wrangler_read(path, &w, err) < 0)
        return -1;
    if (w.n_deps) {
        buf_init(&b, WRANGLER_MAX);
        for (size_t i = 0; i < w.n_deps; i++)
            if (buf_printf(&b, "%s\n", w.deps[i]) < 0) {
                buf_release(&b);
                cli_wrangler_release(&w);
                return app_fail(err, APP_EINVAL, "%s: too many dependencies", path);
            }
        *text = buf_detach(&b, NULL);
    }
    cli_wrangler_release(&w);
    return 0;
}
