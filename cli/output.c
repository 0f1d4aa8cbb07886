/* cli/output.c: error reports and exit codes, notes, JSON and tables (see
 * cli/output.h). */
#include "cli/output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

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
    case APP_EUNPROCESSABLE: return CLI_EREFUSED;
    case APP_EINTERNAL:
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

int
cli_report(const struct app_err *err)
{
    const cJSON *e;

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

void
cli_table_print(struct cli_table *t)
{
    size_t *w = xcalloc(t->n_cols, sizeof(*w));

    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t i = 0; i < t->n_cols; i++) {
            size_t n = strlen(t->cells[r * t->n_cols + i]);

            if (n > w[i])
                w[i] = n;
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < t->n_cols; i++) {
            const char *s = t->cells[r * t->n_cols + i];

            if (i + 1 == t->n_cols)
                printf("%s\n", s);
            else
                printf("%-*s  ", (int)w[i], s);
        }
    }
    for (size_t k = 0; k < t->n_rows * t->n_cols; k++)
        free(t->cells[k]);
    free(t->cells);
    free(t);
    free(w);
}
