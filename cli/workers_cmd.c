/* cli/workers_cmd.c: the workers registry and end-of-support enforcement (DESIGN §11):
 * workers deploy|show|list|delete, eol plan|apply|upcoming. Writes need
 * ALMANAC_TOKEN. Tables for people, the server's documents with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/mem.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/lockfile.h"
#include "cli/locks.h"

/* Longest list printed in a table before "... N more (--json lists all)". */
#define WK_TABLE_MAX 200

enum {
    OPT_LINE = 1,
    OPT_RUNTIME,
    OPT_STATUS,
    OPT_ENDS_BEFORE,
    OPT_LIMIT,
    OPT_CURSOR,
    OPT_ALL,
    OPT_AS_OF,
    OPT_SUMMARY,
    OPT_NOTIFY,
    OPT_YES,
};

static const char *
str_or(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static int
num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsNumber(v) ? v->valueint : 0;
}

/* "pyodide-0.28.3 (3.13)" or "-". */
static void
side(char *out, size_t n, const cJSON *s)
{
    if (!cJSON_IsObject(s) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s, "runtime")))
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%s (%s)", cli_str(s, "runtime"), cli_str(s, "python_line"));
}

/* Append "&key=<escaped value>" (or "?key=" first) to b. */
static void
query_add(struct buf *b, const char *key, const char *value)
{
    char *e;

    if (!value)
        return;
    e = cli_escape(value);
    if (buf_printf(b, "%c%s=%s", strchr(b->data ? b->data : "", '?') ? '&' : '?', key, e) < 0)
        abort();
    free(e);
}

/* Percent-encoded /v1/<what>/<name>; the caller frees. */
static char *
item_path(const char *what, const char *name)
{
    char *e = cli_escape(name), *p = xasprintf("/v1/%s/%s", what, e);

    free(e);
    return p;
}

/* ---- workers deploy ------------------------------------------------------------- */

static int
cmd_deploy(struct cli *c, int argc, char **argv)
{
    struct cli_inputs in;
    struct cli_opts o;
    struct app_err err = {0};
    cJSON *body = NULL, *doc = NULL, *w;
    char *path = NULL, *found = NULL, expect[80] = "";
    const char *name = NULL;
    long status = 0;
    int rc;

    cli_inputs_init(&in);
    if (cli_inputs_parse(c, argc, argv, &in, &o, &rc) < 0)
        goto out;
    rc = CLI_EUSAGE;
    if (o.n_pos > 2) {
        rc = cli_usage_error(argv[0], "give the worker's name and/or its wrangler config");
        goto out;
    }
    /* NAME CONFIG, CONFIG (the name is the config's), NAME (--date, --flag), or
     * nothing: the config of the current directory, found in wrangler's order. */
    if (o.n_pos == 2 && cli_inputs_config(&in, argv[0], o.pos[1]) < 0)
        goto out;
    if (o.n_pos == 1 && cli_is_toml(o.pos[0]) && cli_inputs_config(&in, argv[0], o.pos[0]) < 0)
        goto out;
    if (o.n_pos == 0 && !in.config) {
        found = cli_wrangler_find(".");
        if (!found) {
            rc = cli_usage_error(argv[0], "give the worker's name, or run it where its "
                                          "wrangler.json, wrangler.jsonc or wrangler.toml is");
            goto out;
        }
        in.config = found;
    }
    if (in.as_of) {
        rc = cli_usage_error(argv[0],
                             "a deploy resolves as of today; --as-of is for resolve and eol");
        goto out;
    }
    if (cli_inputs_load(&in, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    if (!in.date) {
        rc = cli_usage_error(argv[0], "give --date YYYY-MM-DD or a wrangler.toml");
        goto out;
    }
    name = o.n_pos == 2 || (o.n_pos == 1 && !cli_is_toml(o.pos[0])) ? o.pos[0] : NULL;
    if (!name && in.have_wrangler) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(in.wr.json, "name");

        name = cJSON_IsString(n) ? n->valuestring : NULL;
        if (!name || !*name || strchr(name, '<')) {
            rc = cli_usage_error(argv[0], "%s has no worker name (\"name\"): give it", in.config);
            goto out;
        }
    }
    body = cli_inputs_body(&in);
    if (cli_lockfile_before_deploy(c, &in, body, expect, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    path = item_path("workers", name);
    if (cli_request(c, "PUT", path, body, &doc, &status, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    if (expect[0] && strcmp(cli_str(doc, "lock_id"), expect) != 0)
        fprintf(stderr, "almanac: warning: the server pinned %s, not %s's %s\n",
                cli_str(doc, "lock_id"), CLI_LOCKFILE_NAME, expect);
    if (c->json) {
        cli_print_json(doc);
    } else {
        const cJSON *warn;

        w = doc;
        printf("%s %s: %s, python %s, lock %s\n", cli_str(w, "name"),
               status == 201                                                  ? "registered"
               : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "changed")) ? "redeployed"
                                                                              : "unchanged",
               str_or(w, "runtime", "no python runtime"), str_or(w, "python_line", "-"),
               cli_str(w, "lock_id"));
        cJSON_ArrayForEach (warn, cJSON_GetObjectItemCaseSensitive(w, "warnings"))
            fprintf(stderr, "almanac: warning: %s\n", cli_str(warn, "message"));
    }
    rc = CLI_OK;
out:
    free(path);
    free(found);
    cJSON_Delete(doc);
    cJSON_Delete(body);
    app_err_release(&err);
    cli_inputs_release(&in);
    return rc;
}

/* ---- workers show / delete ------------------------------------------------------ */

/* Parse a command with exactly one positional argument and no options. */
static int
one_arg(struct cli *c, int argc, char **argv, const char *what, const char **arg, int *rc)
{
    static const struct cli_opt opts[] = {{NULL, 0, 0, 0}};
    struct cli_opts o;
    int k;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0)
        ;
    if (k < 0) {
        *rc = CLI_EUSAGE;
        return -1;
    }
    if (o.help) {
        *rc = cli_usage(argv[0]);
        return -1;
    }
    if (o.n_pos != 1) {
        *rc = cli_usage_error(argv[0], "give the %s", what);
        return -1;
    }
    *arg = o.pos[0];
    return 0;
}

static void
print_worker(const cJSON *w)
{
    static const char *const h[] = {"#", "KIND", "RUNTIME", "PYTHON", "AT", "LOCK", "REASON"};
    const cJSON *support = cJSON_GetObjectItemCaseSensitive(w, "support");
    const cJSON *blocked = cJSON_GetObjectItemCaseSensitive(w, "blocked");
    const cJSON *x;
    struct buf flags, reqs;
    struct cli_table *t;

    buf_init(&flags, 0);
    buf_init(&reqs, 0);
    cJSON_ArrayForEach (x, cJSON_GetObjectItemCaseSensitive(w, "compatibility_flags"))
        if (buf_printf(&flags, "%s%s", flags.len ? " " : "", x->valuestring) < 0)
            abort();
    cJSON_ArrayForEach (x, cJSON_GetObjectItemCaseSensitive(w, "requirements"))
        if (buf_printf(&reqs, "%s%s", reqs.len ? ", " : "", x->valuestring) < 0)
            abort();
    printf("worker        %s\n", cli_str(w, "name"));
    printf("date          %s\n", cli_str(w, "compatibility_date"));
    printf("flags         %s\n", flags.len ? flags.data : "-");
    printf("requirements  %s\n", reqs.len ? reqs.data : "-");
    printf("runtime       %s (python %s)\n", str_or(w, "runtime", "none"),
           str_or(w, "python_line", "-"));
    printf("support       %s, ends %s\n", cli_str(support, "status"),
           cli_str(support, "end_of_support"));
    printf("status        %s\n", cli_str(w, "status"));
    if (cJSON_IsObject(blocked))
        printf("blocked       since %s: %s\n", cli_str(blocked, "since"),
               cli_str(blocked, "message"));
    printf("lock          %s\n", cli_str(w, "lock_id"));
    buf_release(&flags);
    buf_release(&reqs);
    printf("history:\n");
    t = cli_table_new(7, h);
    cJSON_ArrayForEach (x, cJSON_GetObjectItemCaseSensitive(w, "history")) {
        char seq[16], lock[24];
        const char *row[7];

        snprintf(seq, sizeof(seq), "%d", num(x, "seq"));
        snprintf(lock, sizeof(lock), "%.19s", cli_str(x, "lock_id"));
        row[0] = seq;
        row[1] = cli_str(x, "kind");
        row[2] = cli_str(x, "runtime");
        row[3] = cli_str(x, "python_line");
        row[4] = cli_str(x, "at");
        row[5] = lock;
        row[6] = cli_str(x, "reason");
        cli_table_add(t, row);
    }
    cli_table_print(t);
}

static int
cmd_show(struct cli *c, int argc, char **argv)
{
    struct app_err err = {0};
    const char *name;
    cJSON *doc = NULL;
    char *path;
    int rc;

    if (one_arg(c, argc, argv, "worker's name", &name, &rc) < 0)
        return rc;
    path = item_path("workers", name);
    rc = cli_request(c, "GET", path, NULL, &doc, NULL, &err);
    free(path);
    if (rc < 0)
        return cli_report_release(&err);
    if (c->json)
        cli_print_json(doc);
    else
        print_worker(doc);
    cJSON_Delete(doc);
    return CLI_OK;
}

static int
cmd_delete(struct cli *c, int argc, char **argv)
{
    struct app_err err = {0};
    const char *name;
    char *path;
    int rc;

    if (one_arg(c, argc, argv, "worker's name", &name, &rc) < 0)
        return rc;
    path = item_path("workers", name);
    rc = cli_request(c, "DELETE", path, NULL, NULL, NULL, &err);
    free(path);
    if (rc < 0)
        return cli_report_release(&err);
    if (!c->quiet && !c->json)
        printf("deleted worker %s\n", name);
    return CLI_OK;
}

/* ---- workers list --------------------------------------------------------------- */

static void
worker_row(struct cli_table *t, const cJSON *w)
{
    const cJSON *support = cJSON_GetObjectItemCaseSensitive(w, "support");
    char ends[40];
    const char *row[6];

    snprintf(ends, sizeof(ends), "%s (%s)", cli_str(support, "end_of_support"),
             cli_str(support, "status"));
    row[0] = cli_str(w, "name");
    row[1] = cli_str(w, "compatibility_date");
    row[2] = cli_str(w, "runtime");
    row[3] = cli_str(w, "python_line");
    row[4] = cli_str(w, "status");
    row[5] =
        cJSON_IsString(cJSON_GetObjectItemCaseSensitive(support, "end_of_support")) ? ends : "-";
    cli_table_add(t, row);
}

static int
cmd_list(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"python-line", 0, 1, OPT_LINE}, {"runtime", 0, 1, OPT_RUNTIME},
        {"status", 0, 1, OPT_STATUS},    {"ends-before", 0, 1, OPT_ENDS_BEFORE},
        {"limit", 'n', 1, OPT_LIMIT},    {"cursor", 0, 1, OPT_CURSOR},
        {"all", 'a', 0, OPT_ALL},        {NULL, 0, 0, 0},
    };
    static const char *const h[] = {"WORKER", "DATE",   "RUNTIME",
                                    "PYTHON", "STATUS", "END OF SUPPORT"};
    const char *line = NULL, *runtime = NULL, *status = NULL, *ends = NULL, *limit = NULL;
    const char *cursor = NULL;
    struct cli_opts o;
    struct app_err err = {0};
    cJSON *all, *list;
    char *next = NULL;
    int k, every = 0, rc = CLI_OK;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0) {
        switch (k) {
        case OPT_LINE: line = o.arg; break;
        case OPT_RUNTIME: runtime = o.arg; break;
        case OPT_STATUS: status = o.arg; break;
        case OPT_ENDS_BEFORE: ends = o.arg; break;
        case OPT_LIMIT: limit = o.arg; break;
        case OPT_CURSOR: cursor = o.arg; break;
        case OPT_ALL: every = 1; break;
        }
    }
    if (cli_opts_end(&o, k, argv[0], &rc) < 0)
        return rc;
    all = xjson(cJSON_CreateObject());
    list = xjson(cJSON_AddArrayToObject(all, "workers"));
    do {
        struct buf path;
        cJSON *doc = NULL, *w;
        const cJSON *nc;

        buf_init(&path, 0);
        if (buf_puts(&path, "/v1/workers") < 0)
            abort();
        query_add(&path, "python_line", line);
        query_add(&path, "runtime", runtime);
        query_add(&path, "status", status);
        query_add(&path, "ends_before", ends);
        query_add(&path, "limit", limit);
        query_add(&path, "cursor", next ? next : cursor);
        k = cli_request(c, "GET", path.data, NULL, &doc, NULL, &err);
        buf_release(&path);
        if (k < 0) {
            rc = cli_report_release(&err);
            break;
        }
        cJSON_ArrayForEach (w, cJSON_GetObjectItemCaseSensitive(doc, "workers"))
            cJSON_AddItemToArray(list, xjson(cJSON_Duplicate(w, 1)));
        nc = cJSON_GetObjectItemCaseSensitive(doc, "next_cursor");
        free(next);
        next = cJSON_IsString(nc) ? xstrdup(nc->valuestring) : NULL;
        cJSON_Delete(doc);
    } while (every && next);
    if (rc == CLI_OK && c->json) {
        if (next)
            xjson(cJSON_AddStringToObject(all, "next_cursor", next));
        else
            xjson(cJSON_AddNullToObject(all, "next_cursor"));
        cli_print_json(all);
    } else if (rc == CLI_OK) {
        struct cli_table *t = cli_table_new(6, h);
        const cJSON *w;

        cJSON_ArrayForEach (w, list)
            worker_row(t, w);
        cli_table_print(t);
        if (next)
            cli_note(c, "more workers: --cursor %s (or --all)", next);
    }
    cJSON_Delete(all);
    free(next);
    return rc;
}

/* ---- eol plan / apply / upcoming ------------------------------------------------ */

static void
print_groups(const cJSON *doc)
{
    static const char *const h[] = {"OUTCOME", "FROM", "TO", "WORKERS", "CODE"};
    struct cli_table *t = cli_table_new(5, h);
    const cJSON *g;

    cJSON_ArrayForEach (g, cJSON_GetObjectItemCaseSensitive(doc, "groups")) {
        char from[64], to[64], n[16];
        const char *row[5];

        side(from, sizeof(from), cJSON_GetObjectItemCaseSensitive(g, "from"));
        side(to, sizeof(to), cJSON_GetObjectItemCaseSensitive(g, "to"));
        snprintf(n, sizeof(n), "%d", num(g, "workers"));
        row[0] = cli_str(g, "outcome");
        row[1] = from;
        row[2] = to;
        row[3] = n;
        row[4] = cli_str(g, "code");
        cli_table_add(t, row);
    }
    cli_table_print(t);
}

/* "numpy 1.26.4->2.2.5, +foo 1.0, -bar 2.0" (at most a few, then "..."). */
static void
changes_text(struct buf *b, const cJSON *changes)
{
    const cJSON *ch;
    int n = 0, total = cJSON_GetArraySize(changes);

    cJSON_ArrayForEach (ch, changes) {
        const char *kind = cli_str(ch, "change");
        int rc;

        if (n == 4) {
            rc = buf_printf(b, ", ... %d more", total - n);
            if (rc < 0)
                abort();
            break;
        }
        if (!strcmp(kind, "added"))
            rc = buf_printf(b, "%s+%s %s", n ? ", " : "", cli_str(ch, "name"), cli_str(ch, "to"));
        else if (!strcmp(kind, "removed"))
            rc = buf_printf(b, "%s-%s %s", n ? ", " : "", cli_str(ch, "name"), cli_str(ch, "from"));
        else
            rc = buf_printf(b, "%s%s %s->%s", n ? ", " : "", cli_str(ch, "name"),
                            cli_str(ch, "from"), cli_str(ch, "to"));
        if (rc < 0)
            abort();
        n++;
    }
    if (!n && buf_puts(b, "-") < 0)
        abort();
}

static void
print_plan_as(const cJSON *doc, int applied)
{
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(doc, "totals");
    const cJSON *moves = cJSON_GetObjectItemCaseSensitive(doc, "moves");
    const cJSON *blocked = cJSON_GetObjectItemCaseSensitive(doc, "blocked");
    const cJSON *x;
    int i;

    printf("as of %s: %d registered, %d %s, %d blocked (%d new)", cli_str(doc, "as_of"),
           num(totals, "registered"), num(totals, "moves"), applied ? "moved" : "to move",
           num(totals, "blocked"), num(totals, "newly_blocked"));
    if (num(totals, "unblocked"))
        printf(", %d unblocked", num(totals, "unblocked"));
    printf("\n");
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "groups")) == 0)
        return;
    print_groups(doc);
    if (cJSON_GetArraySize(moves) > 0) {
        static const char *const h[] = {"WORKER", "FROM", "TO", "PACKAGE CHANGES"};
        struct cli_table *t = cli_table_new(4, h);

        printf(applied ? "\nmoved:\n" : "\nmoves:\n");
        i = 0;
        cJSON_ArrayForEach (x, moves) {
            char from[64], to[64];
            struct buf ch;
            const char *row[4];

            if (i++ == WK_TABLE_MAX)
                break;
            buf_init(&ch, 0);
            side(from, sizeof(from), cJSON_GetObjectItemCaseSensitive(x, "from"));
            side(to, sizeof(to), cJSON_GetObjectItemCaseSensitive(x, "to"));
            changes_text(&ch, cJSON_GetObjectItemCaseSensitive(x, "package_changes"));
            row[0] = cli_str(x, "worker");
            row[1] = from;
            row[2] = to;
            row[3] = ch.data;
            cli_table_add(t, row);
            buf_release(&ch);
        }
        cli_table_print(t);
        if (cJSON_GetArraySize(moves) > WK_TABLE_MAX)
            printf("... %d more (--json lists all)\n", cJSON_GetArraySize(moves) - WK_TABLE_MAX);
    }
    if (cJSON_GetArraySize(blocked) > 0) {
        static const char *const h[] = {"WORKER", "ON", "CODE", "PACKAGES", "SINCE"};
        struct cli_table *t = cli_table_new(5, h);

        printf("\nblocked:\n");
        i = 0;
        cJSON_ArrayForEach (x, blocked) {
            char from[64];
            struct buf pk;
            const cJSON *p;
            const char *row[5];

            if (i++ == WK_TABLE_MAX)
                break;
            buf_init(&pk, 0);
            cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(x, "packages"))
                if (buf_printf(&pk, "%s%s", pk.len ? ", " : "", p->valuestring) < 0)
                    abort();
            side(from, sizeof(from), cJSON_GetObjectItemCaseSensitive(x, "from"));
            row[0] = cli_str(x, "worker");
            row[1] = from;
            row[2] = cli_str(x, "code");
            row[3] = pk.len ? pk.data : "-";
            row[4] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "new")) ? "new"
                                                                              : cli_str(x, "since");
            cli_table_add(t, row);
            buf_release(&pk);
        }
        cli_table_print(t);
        if (cJSON_GetArraySize(blocked) > WK_TABLE_MAX)
            printf("... %d more (--json lists all)\n", cJSON_GetArraySize(blocked) - WK_TABLE_MAX);
    }
}

static void
print_plan(const cJSON *doc)
{
    print_plan_as(doc, 0);
}

/* Options of the eol commands: --as-of D, and --summary / --notify-upcoming where
 * allowed; fills the query of path. */
static int
eol_opts(struct cli *c, int argc, char **argv, int allow_summary, int allow_notify,
         struct buf *path, const char **as_of, int *yes, int *rc)
{
    static const struct cli_opt opts[] = {{"as-of", 0, 1, OPT_AS_OF},
                                          {"summary", 's', 0, OPT_SUMMARY},
                                          {"notify-upcoming", 0, 0, OPT_NOTIFY},
                                          {"yes", 'y', 0, OPT_YES},
                                          {NULL, 0, 0, 0}};
    struct cli_opts o;
    int k;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0) {
        if (k == OPT_AS_OF) {
            query_add(path, "as_of", o.arg);
            *as_of = o.arg;
        } else if (k == OPT_YES && allow_notify) {
            *yes = 1;
        } else if (k == OPT_SUMMARY && allow_summary) {
            query_add(path, "summary", "true");
        } else if (k == OPT_NOTIFY && allow_notify) {
            query_add(path, "notify_upcoming", "true");
        } else {
            *rc = cli_usage_error(argv[0], "option '%s' does not apply here",
                                  k == OPT_SUMMARY ? "--summary"
                                  : k == OPT_YES   ? "--yes"
                                                   : "--notify-upcoming");
            return -1;
        }
    }
    return cli_opts_end(&o, k, argv[0], rc);
}

/* eol apply with an --as-of after today moves real workers ahead of their end of
 * support: ask on a terminal, and demand --yes anywhere else. 0 to go on. */
static int
confirm_future(struct cli *c, const char *as_of, int *rc)
{
    struct app_err err = {0};
    cJSON *h = NULL;
    char line[16];
    int a_days, t_days, ret = -1;
    const char *today;

    if (date_parse(as_of, &a_days) < 0)
        return 0; /* the server refuses it with its own problem */
    if (cli_request(c, "GET", "/v1/health", NULL, &h, NULL, &err) < 0) {
        *rc = cli_report_release(&err);
        return -1;
    }
    today = cli_str(h, "today");
    if (date_parse(today, &t_days) < 0 || a_days <= t_days) {
        ret = 0;
        goto out;
    }
    if (!isatty(STDIN_FILENO)) {
        *rc = cli_fail_usage("--as-of %s is %d days after today (%s): apply would move real "
                             "workers now; give --yes to apply",
                             as_of, a_days - t_days, today);
        goto out;
    }
    fprintf(stderr,
            "almanac: --as-of %s is %d days after today (%s); apply moves the workers it plans "
            "for now, and they stay moved. Apply? [y/N] ",
            as_of, a_days - t_days, today);
    if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y')) {
        *rc = cli_fail_usage("not applied");
        goto out;
    }
    ret = 0;
out:
    cJSON_Delete(h);
    return ret;
}

static int
eol_run(struct cli *c, int argc, char **argv, const char *method, const char *base,
        int allow_summary, int allow_notify, void (*print)(const cJSON *doc))
{
    struct app_err err = {0};
    struct buf path;
    cJSON *doc = NULL;
    const char *as_of = NULL;
    int rc = CLI_OK, yes = 0;

    buf_init(&path, 0);
    if (buf_puts(&path, base) < 0)
        abort();
    if (eol_opts(c, argc, argv, allow_summary, allow_notify, &path, &as_of, &yes, &rc) < 0)
        goto out;
    if (!strcmp(method, "POST") && as_of && !yes && confirm_future(c, as_of, &rc) < 0)
        goto out;
    if (cli_request(c, method, path.data, NULL, &doc, NULL, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    if (c->json)
        cli_print_json(doc);
    else
        print(doc);
out:
    cJSON_Delete(doc);
    buf_release(&path);
    return rc;
}

static int
cmd_plan(struct cli *c, int argc, char **argv)
{
    return eol_run(c, argc, argv, "GET", "/v1/eol/plan", 1, 0, print_plan);
}

static void
print_applied(const cJSON *doc)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, "applied");

    printf("applied as of %s: %d moved, %d newly blocked, %d unblocked, %d upcoming notices; "
           "%d events, %d webhook deliveries queued\n",
           cli_str(doc, "as_of"), num(a, "moved"), num(a, "blocked"), num(a, "unblocked"),
           num(a, "upcoming_notified"), num(a, "events"), num(a, "deliveries"));
    print_plan_as(doc, 1);
}

static int
cmd_apply(struct cli *c, int argc, char **argv)
{
    return eol_run(c, argc, argv, "POST", "/v1/eol/apply", 1, 1, print_applied);
}

static void
print_upcoming(const cJSON *doc)
{
    static const char *const h[] = {"WORKER", "ON", "ENDS", "DAYS", "MOVES TO", "NOTIFIED"};
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(doc, "totals"), *x;
    const cJSON *workers = cJSON_GetObjectItemCaseSensitive(doc, "workers");
    struct cli_table *t;
    int i = 0;

    printf("as of %s: %d workers on a line that ends within %d days\n", cli_str(doc, "as_of"),
           num(totals, "workers"), num(doc, "window_days"));
    cJSON_ArrayForEach (x, cJSON_GetObjectItemCaseSensitive(totals, "by_line"))
        printf("  python %s ends %s: %d workers\n", cli_str(x, "python_line"),
               cli_str(x, "end_of_support"), num(x, "workers"));
    if (cJSON_GetArraySize(workers) == 0)
        return;
    t = cli_table_new(6, h);
    cJSON_ArrayForEach (x, workers) {
        const cJSON *blocked = cJSON_GetObjectItemCaseSensitive(x, "blocked");
        char on[64], to[96], days[16];
        const char *row[6];

        if (i++ == WK_TABLE_MAX)
            break;
        snprintf(on, sizeof(on), "%s (%s)", cli_str(x, "runtime"), cli_str(x, "python_line"));
        if (cJSON_IsObject(blocked))
            snprintf(to, sizeof(to), "blocked: %s", cli_str(blocked, "code"));
        else
            side(to, sizeof(to), cJSON_GetObjectItemCaseSensitive(x, "target"));
        snprintf(days, sizeof(days), "%d", num(x, "days_left"));
        row[0] = cli_str(x, "worker");
        row[1] = on;
        row[2] = cli_str(x, "end_of_support");
        row[3] = days;
        row[4] = to;
        row[5] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "notified")) ? "yes" : "no";
        cli_table_add(t, row);
    }
    cli_table_print(t);
    if (cJSON_GetArraySize(workers) > WK_TABLE_MAX)
        printf("... %d more (--json lists all)\n", cJSON_GetArraySize(workers) - WK_TABLE_MAX);
}

static int
cmd_upcoming(struct cli *c, int argc, char **argv)
{
    return eol_run(c, argc, argv, "GET", "/v1/eol/upcoming", 0, 0, print_upcoming);
}

const struct cli_cmd cli_cmds_workers[] = {
    {"workers deploy",
     "[NAME] [wrangler.json|wrangler.jsonc|wrangler.toml] [--date D] [--flag F]... "
     "[-r requirements.txt] [--allow-experimental] (with no config: the one in the current "
     "directory; the name, date, flags and requirements come from it)",
     "admin: register or redeploy a worker, pinned to the lock it resolves to today", cmd_deploy},
    {"workers show", "NAME", "a worker: its pinned lock, support status and history", cmd_show},
    {"workers list",
     "[--python-line L] [--runtime R] [--status active|blocked] [--ends-before D] "
     "[--limit N] [--cursor C] [--all]",
     "registered workers, with filters", cmd_list},
    {"workers delete", "NAME", "admin: unregister a worker", cmd_delete},
    {"eol plan", "[--as-of D] [--summary]",
     "which workers the end-of-support policy moves on a date, and where (changes nothing)",
     cmd_plan},
    {"eol apply", "[--as-of D] [--summary] [--notify-upcoming] [--yes]",
     "admin: carry out the end-of-support plan for a date", cmd_apply},
    {"eol upcoming", "[--as-of D]", "workers whose Python line ends within 180 days", cmd_upcoming},
    {NULL, NULL, NULL, NULL},
};
