/* cli/output.c: error reports and exit codes, notes, JSON and tables (see
 * cli/output.h). */
#include "cli/output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>
#include <zstd.h>

#include "app/mem.h"

#ifndef ALMANAC_GIT_COMMIT
#define ALMANAC_GIT_COMMIT "unknown"
#endif

/* COLUMNS beyond this is a mistake, not a terminal: ignored. */
#define TERM_COLS_MAX 10000

int cli_json_errors;
static int color_on; /* for the helpers that have no struct cli (tables) */

int
cli_exit_code(enum app_code code)
{
    switch (code) {
    case APP_OK: return CLI_OK;
    case APP_EINVAL: return CLI_EUSAGE;
    case APP_EAUTH:
    case APP_EFORBIDDEN:
    case APP_ENOTFOUND:
    case APP_ECONFLICT:
    case APP_EMETHOD:
    case APP_ETOOLARGE:
    case APP_EMEDIA:
    case APP_ERANGE:
    case APP_EURI:
    case APP_ENOTIMPL:
    case APP_EUNPROCESSABLE: return CLI_EREFUSED;
    case APP_EINTERNAL:
    case APP_ERATE:
    case APP_EUNAVAILABLE: return CLI_ENET;
    case APP_EVERIFY: return CLI_EVERIFY;
    }
    return CLI_ENET;
}

int
cli_wrap(struct app_err *err, enum app_code code, const char *fmt, ...)
{
    char old[APP_ERR_MSG_MAX], prefix[APP_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return -1;
    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    return app_fail(err, code, "%s: %s", prefix, old);
}

/* Under --json, err as an RFC 9457 problem document on stdout (the server's own
 * items kept), so a script reads one format for every failure. A local failure
 * takes the class a server would give it; a verification failure is a conflict
 * (what was received conflicts with its signature). */
static void
print_problem(enum app_code code, const char *detail, const cJSON *errors)
{
    cJSON *p;
    char *type;

    if (!cli_json_errors)
        return;
    if (code == APP_OK)
        code = APP_EINVAL;
    if (code == APP_EVERIFY)
        code = APP_ECONFLICT;
    p = xjson(cJSON_CreateObject());
    type = xasprintf("urn:almanac:problem:%s", app_err_slug(code));
    xjson(cJSON_AddStringToObject(p, "type", type));
    xjson(cJSON_AddStringToObject(p, "title", app_err_title(code)));
    xjson(cJSON_AddNumberToObject(p, "status", app_err_status(code)));
    xjson(cJSON_AddStringToObject(p, "detail", detail && *detail ? detail : "failed"));
    cJSON_AddItemToObject(p, "errors",
                          errors ? xjson(cJSON_Duplicate(errors, 1)) : xjson(cJSON_CreateArray()));
    cli_print_json(p);
    fflush(stdout);
    free(type);
    cJSON_Delete(p);
}

int
cli_fail_usage(const char *fmt, ...)
{
    char msg[APP_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "almanac: %s\n", msg);
    print_problem(APP_EINVAL, msg, NULL);
    return CLI_EUSAGE;
}

int
cli_set_color(struct cli *c, const char *when)
{
    const char *nc = getenv("NO_COLOR");

    if (!strcmp(when, "always"))
        c->color = 1;
    else if (!strcmp(when, "never"))
        c->color = 0;
    else if (!strcmp(when, "auto"))
        c->color = isatty(STDOUT_FILENO) && !(nc && *nc) && !cli_dumb_term();
    else
        return -1;
    color_on = c->color;
    return 0;
}

const char *
cli_sgr(const struct cli *c, const char *code)
{
    static char seq[16];

    if (!c->color)
        return "";
    if (!code)
        return "\033[0m";
    snprintf(seq, sizeof(seq), "\033[%sm", code);
    return seq;
}

void
cli_print_version(const struct cli *c)
{
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

    if (c->json) {
        cJSON *v = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(v, "version", ALMANAC_CLI_VERSION));
        xjson(cJSON_AddStringToObject(v, "commit", ALMANAC_GIT_COMMIT));
        xjson(cJSON_AddStringToObject(v, "built", __DATE__ " " __TIME__));
        xjson(cJSON_AddStringToObject(v, "compiler", __VERSION__));
        xjson(cJSON_AddStringToObject(v, "libcurl", cv->version));
        xjson(cJSON_AddStringToObject(v, "libsodium", sodium_version_string()));
        xjson(cJSON_AddStringToObject(v, "libcjson", cJSON_Version()));
        xjson(cJSON_AddStringToObject(v, "zstd", ZSTD_versionString()));
        cli_print_json(v);
        cJSON_Delete(v);
        return;
    }
    printf("almanac %s (commit %s, built %s %s)\ncompiler %s\nlibcurl %s, libsodium %s, "
           "cJSON %s, zstd %s\n",
           ALMANAC_CLI_VERSION, ALMANAC_GIT_COMMIT, __DATE__, __TIME__, __VERSION__, cv->version,
           sodium_version_string(), cJSON_Version(), ZSTD_versionString());
}

int
cli_report(const struct app_err *err)
{
    const cJSON *e;

    print_problem(err->code, err->msg, err->errors);
    fprintf(stderr, "almanac: %s\n", err->msg[0] ? err->msg : "failed");
    cJSON_ArrayForEach (e, err->errors) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");

        if (cJSON_IsString(msg))
            fprintf(stderr, "  %s: %s\n", cJSON_IsString(code) ? code->valuestring : "error",
                    msg->valuestring);
    }
    return cli_exit_code(err->code);
}

int
cli_report_release(struct app_err *err)
{
    int rc = cli_report(err);

    app_err_release(err);
    return rc;
}

void
cli_note(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    if (c->quiet)
        return;
    fputs("almanac: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
cli_dumb_term(void)
{
    const char *t = getenv("TERM");

    return t && !strcmp(t, "dumb");
}

/* Indented JSON with two spaces, like most tools print it (cJSON_Print uses tabs). */
static void
print_json_at(const cJSON *v, int depth)
{
    const cJSON *x;

    if ((cJSON_IsArray(v) || cJSON_IsObject(v)) && v->child) {
        int obj = cJSON_IsObject(v);

        fputc(obj ? '{' : '[', stdout);
        for (x = v->child; x; x = x->next) {
            printf("\n%*s", 2 * (depth + 1), "");
            if (obj) {
                cJSON *key = xjson(cJSON_CreateString(x->string ? x->string : ""));
                char *ks = cJSON_PrintUnformatted(key);

                if (!ks)
                    abort();
                printf("%s: ", ks);
                free(ks);
                cJSON_Delete(key);
            }
            print_json_at(x, depth + 1);
            if (x->next)
                fputc(',', stdout);
        }
        printf("\n%*s%c", 2 * depth, "", obj ? '}' : ']');
        return;
    }
    {
        char *s = cJSON_PrintUnformatted(v);

        if (!s)
            abort();
        fputs(s, stdout);
        free(s);
    }
}

void
cli_print_json(const cJSON *v)
{
    print_json_at(v, 0);
    fputc('\n', stdout);
}

const char *
cli_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : "-";
}

struct cli_table {
    size_t n_cols, n_rows, cap;
    char **cells; /* row-major, the header row first */
};

struct cli_table *
cli_table_new(size_t n_cols, const char *const *headers)
{
    struct cli_table *t = xcalloc(1, sizeof(*t));

    t->n_cols = n_cols;
    cli_table_add(t, headers);
    return t;
}

void
cli_table_add(struct cli_table *t, const char *const *cells)
{
    if (t->n_rows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->cells = xrealloc(t->cells, t->cap * t->n_cols * sizeof(*t->cells));
    }
    for (size_t i = 0; i < t->n_cols; i++)
        t->cells[t->n_rows * t->n_cols + i] = xstrdup(cells[i] ? cells[i] : "-");
    t->n_rows++;
}

/* The width tables fit: the terminal's, else COLUMNS, else unlimited (0). */
static size_t
term_width(void)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");
    long n;

    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (cols && (n = strtol(cols, NULL, 10)) > 0 && n < TERM_COLS_MAX)
        return (size_t)n;
    return 0;
}

/* The next piece of s that fits in w columns, broken at a space or comma when it
 * can be; *len is its length, the return value where the rest starts. */
static const char *
wrap_piece(const char *s, size_t w, size_t *len)
{
    size_t n = strlen(s), cut;

    if (n <= w) {
        *len = n;
        return s + n;
    }
    cut = w;
    while (cut > w / 2 && s[cut] != ' ' && s[cut - 1] != ',')
        cut--;
    if (cut <= w / 2)
        cut = w;
    *len = cut;
    s += cut;
    while (*s == ' ')
        s++;
    return s;
}

#define TABLE_GAP 2
#define TABLE_MIN_COL 12

void
cli_table_print(struct cli_table *t)
{
    size_t *w = xcalloc(t->n_cols, sizeof(*w)), limit = term_width(), total = 0;
    int cards = 0;

    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t i = 0; i < t->n_cols; i++) {
            size_t n = strlen(t->cells[r * t->n_cols + i]);

            if (n > w[i])
                w[i] = n;
        }
    for (size_t i = 0; i < t->n_cols; i++)
        total += w[i] + (i + 1 < t->n_cols ? TABLE_GAP : 0);
    /* Too wide: narrow the widest of the other columns (their cells wrap); when that leaves a
     * column too narrow to read, print each row as a card instead. */
    while (limit && total > limit) {
        size_t widest = t->n_cols > 1 ? 1 : 0; /* the first column names the row: kept whole */

        for (size_t i = 2; i < t->n_cols; i++)
            if (w[i] > w[widest])
                widest = i;
        if (w[widest] <= TABLE_MIN_COL) {
            cards = 1;
            break;
        }
        w[widest]--;
        total--;
    }
    if (cards) {
        for (size_t r = 1; r < t->n_rows; r++) {
            for (size_t i = 0; i < t->n_cols; i++)
                printf("%s: %s\n", t->cells[i], t->cells[r * t->n_cols + i]);
            if (r + 1 < t->n_rows)
                printf("\n");
        }
    } else {
        for (size_t r = 0; r < t->n_rows; r++) {
            const char **rest = xcalloc(t->n_cols, sizeof(*rest));
            int more = 1;

            for (size_t i = 0; i < t->n_cols; i++)
                rest[i] = t->cells[r * t->n_cols + i];
            while (more) {
                more = 0;
                for (size_t i = 0; i < t->n_cols; i++) {
                    size_t len;
                    const char *next = wrap_piece(rest[i], w[i], &len);

                    const char *on = r == 0 && color_on ? "\033[1m" : "";
                    const char *off = *on ? "\033[0m" : "";

                    if (i + 1 == t->n_cols)
                        printf("%s%.*s%s\n", on, (int)len, rest[i], off);
                    else
                        printf("%s%-*.*s%s%*s", on, (int)len, (int)len, rest[i], off,
                               (int)(w[i] - len + TABLE_GAP), "");
                    rest[i] = next;
                    if (*next)
                        more = 1;
                }
            }
            free(rest);
        }
    }
    for (size_t k = 0; k < t->n_rows * t->n_cols; k++)
        free(t->cells[k]);
    free(t->cells);
    free(t);
    free(w);
}
