/* cli/catalog_cmd.c: read commands: resolve, diff, flags, runtimes, package-sets,
 * python, lock show, health. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/mem.h"
#include "app/strv.h"
#include "catalog/req.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/lockfile.h"
#include "cli/locks.h"

/* GET path and print it with fn (or as JSON with --json). */
static int
get_and_print(struct cli *c, const char *path, void (*fn)(const cJSON *doc))
{
    struct app_err err = {0};
    cJSON *doc = NULL;

    if (cli_request(c, "GET", path, NULL, &doc, NULL, &err) < 0)
        return cli_report_release(&err);
    if (c->json)
        cli_print_json(doc);
    else
        fn(doc);
    cJSON_Delete(doc);
    return CLI_OK;
}

/* Run a command that takes no arguments and shows GET path with fn. */
static int
show_cmd(struct cli *c, int argc, char **argv, const char *path, void (*fn)(const cJSON *doc))
{
    int rc;

    if (cli_no_args(c, argc, argv, &rc) < 0)
        return rc;
    return get_and_print(c, path, fn);
}

/* ---- resolve -------------------------------------------------------------------- */

static int
cmd_resolve(struct cli *c, int argc, char **argv)
{
    struct cli_inputs in;
    struct cli_opts o;
    struct cli_lock lock = {0};
    struct app_err err = {0};
    cJSON *body = NULL;
    int rc;

    cli_inputs_init(&in);
    if (cli_inputs_parse(c, argc, argv, &in, &o, &rc) < 0)
        goto out;
    rc = CLI_EUSAGE;
    if (o.n_pos > 1) {
        rc = cli_usage_error(argv[0], "unexpected argument '%s'", o.pos[1]);
        goto out;
    }
    if (o.n_pos == 1 && cli_inputs_config(&in, argv[0], o.pos[0]) < 0)
        goto out;
    if (cli_inputs_load(&in, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (!in.date) {
        rc = cli_usage_error(argv[0], "give --date YYYY-MM-DD or a wrangler.toml");
        goto out;
    }
    body = cli_inputs_body(&in);
    if (cli_lockfile_resolve(c, &in, body, &lock, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (c->json && lock.response) {
        cli_print_json(lock.response);
    } else if (c->json) {
        cJSON *doc = cli_lockfile_doc(&lock);

        cli_print_json(doc);
        cJSON_Delete(doc);
    } else
        cli_lock_print(&lock);
    rc = CLI_OK;
out:
    cli_lock_release(&lock);
    cJSON_Delete(body);
    app_err_release(&err);
    cli_inputs_release(&in);
    return rc;
}

/* ---- diff ----------------------------------------------------------------------- */

static void
print_side(const char *label, const cJSON *s)
{
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(s, "runtime");
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(s, "policy");

    printf("%-5s %s  %s", label, cli_str(s, "compatibility_date"),
           cJSON_IsObject(rt) ? cli_str(rt, "id") : "no runtime");
    if (cJSON_IsObject(rt))
        printf(" (Python %s)  %s", cli_str(rt, "python"), cli_str(s, "package_set"));
    if (cJSON_IsObject(pol))
        printf("  %s", cli_str(pol, "status"));
    printf("\n");
}

static void
print_names(const char *label, const cJSON *arr)
{
    const cJSON *x;
    int first = 1;

    printf("%-12s", label);
    cJSON_ArrayForEach (x, arr) {
        printf("%s%s", first ? "" : ", ", cJSON_IsString(x) ? x->valuestring : "?");
        first = 0;
    }
    printf("%s\n", first ? "-" : "");
}

#define DIFF_LIST_MAX 20

static void
print_pkg_list(const char *label, const cJSON *arr, int all)
{
    const cJSON *p;
    int n = cJSON_GetArraySize(arr), i = 0;

    if (n == 0)
        return;
    printf("  %s (%d):\n", label, n);
    cJSON_ArrayForEach (p, arr) {
        if (!all && i == DIFF_LIST_MAX) {
            printf("    ... %d more (--json lists all)\n", n - i);
            break;
        }
        if (cJSON_GetObjectItemCaseSensitive(p, "from"))
            printf("    %-28s %s -> %s\n", cli_str(p, "name"), cli_str(p, "from"),
                   cli_str(p, "to"));
        else
            printf("    %-28s %s\n", cli_str(p, "name"), cli_str(p, "version"));
        i++;
    }
}

static void
print_diff(const cJSON *d)
{
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(d, "flags");
    const cJSON *pk = cJSON_GetObjectItemCaseSensitive(d, "packages");
    const char *scope = cli_str(d, "packages_scope");
    int all = strcmp(scope, "requirements") == 0;
    const char *const changes[] = {"runtime", "python", "package_set"};
    const cJSON *w;

    print_side("from", cJSON_GetObjectItemCaseSensitive(d, "from"));
    print_side("to", cJSON_GetObjectItemCaseSensitive(d, "to"));
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(d, changes[i]);

        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ch, "changed")))
            printf("%-12s%s -> %s\n", changes[i], cli_str(ch, "from"), cli_str(ch, "to"));
    }
    print_names("flags on", cJSON_GetObjectItemCaseSensitive(flags, "turned_on"));
    print_names("flags off", cJSON_GetObjectItemCaseSensitive(flags, "turned_off"));
    if (cJSON_IsObject(pk)) {
        printf("packages (%s): %d added, %d removed, %d changed\n", scope,
               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pk, "added")),
               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pk, "removed")),
               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pk, "changed")));
        print_pkg_list("changed", cJSON_GetObjectItemCaseSensitive(pk, "changed"), all);
        print_pkg_list("added", cJSON_GetObjectItemCaseSensitive(pk, "added"), all);
        print_pkg_list("removed", cJSON_GetObjectItemCaseSensitive(pk, "removed"), all);
    }
    cJSON_ArrayForEach (w, cJSON_GetObjectItemCaseSensitive(d, "warnings"))
        fprintf(stderr, "almanac: warning: %s\n", cli_str(w, "message"));
}

/* The requirement lines of text joined by ',' (the query form of /v1/diff). */
int
cli_requirements_query(const char *text, struct buf *out, struct app_err *err)
{
    char **lines = NULL;
    size_t n = 0;
    int first = 1;

    if (req_split_text(text, strlen(text), &lines, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char *l = lines[i], *hash = strstr(l, " #");
        size_t len;

        while (*l == ' ' || *l == '\t')
            l++;
        if (*l == '#' || *l == '\0')
            continue;
        if (hash)
            *hash = '\0';
        len = strlen(l);
        while (len > 0 && (l[len - 1] == ' ' || l[len - 1] == '\t'))
            l[--len] = '\0';
        if (buf_printf(out, "%s%s", first ? "" : ",", l) < 0)
            abort();
        first = 0;
    }
    strv_free(lines, n);
    return 0;
}

static int
cmd_diff(struct cli *c, int argc, char **argv)
{
    struct cli_inputs in;
    struct cli_opts o;
    struct app_err err = {0};
    struct buf q, reqs;
    int rc;

    cli_inputs_init(&in);
    buf_init(&q, 0);
    buf_init(&reqs, 0);
    if (cli_inputs_parse(c, argc, argv, &in, &o, &rc) < 0)
        goto out;
    rc = CLI_EUSAGE;
    if (o.n_pos != 2 || in.date) {
        rc = cli_usage_error(argv[0], "give two dates: FROM TO");
        goto out;
    }
    if (cli_inputs_load(&in, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    {
        char *f = cli_escape(o.pos[0]), *t = cli_escape(o.pos[1]);

        if (buf_printf(&q, "/v1/diff?from=%s&to=%s", f, t) < 0)
            abort();
        free(f);
        free(t);
    }
    if (in.n_flags) {
        struct buf fl;
        char *e;

        buf_init(&fl, 0);
        for (size_t i = 0; i < in.n_flags; i++)
            if (buf_printf(&fl, "%s%s", i ? "," : "", in.flags[i]) < 0)
                abort();
        e = cli_escape(fl.data);
        if (buf_printf(&q, "&flags=%s", e) < 0)
            abort();
        free(e);
        buf_release(&fl);
    }
    if (in.req_text) {
        if (cli_requirements_query(in.req_text, &reqs, &err) < 0) {
            rc = cli_report(&err);
            goto out;
        }
        if (reqs.len) {
            char *e = cli_escape(reqs.data);

            if (buf_printf(&q, "&requirements=%s", e) < 0)
                abort();
            free(e);
        }
    }
    if (in.as_of) {
        char *e = cli_escape(in.as_of);

        if (buf_printf(&q, "&as_of=%s", e) < 0)
            abort();
        free(e);
    }
    if (in.allow_experimental && buf_puts(&q, "&allow_experimental=true") < 0)
        abort();
    rc = get_and_print(c, q.data, print_diff);
out:
    buf_release(&q);
    buf_release(&reqs);
    app_err_release(&err);
    cli_inputs_release(&in);
    return rc;
}

/* ---- lists ---------------------------------------------------------------------- */

static void
print_flags(const cJSON *doc)
{
    static const char *const h[] = {"FLAG", "DEFAULT", "DISABLE", "BUNDLE", "STATE"};
    struct cli_table *t = cli_table_new(5, h);
    const cJSON *f;

    cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive(doc, "flags")) {
        const cJSON *ed = cJSON_GetObjectItemCaseSensitive(f, "enable_date");
        const cJSON *imp = cJSON_GetObjectItemCaseSensitive(f, "implied_by"), *i;
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(f, "bundle");
        struct buf def, bundle, name;
        const char *row[5];

        buf_init(&def, 0);
        buf_init(&bundle, 0);
        buf_init(&name, 0);
        if (buf_printf(&name, "%s%s", cli_str(f, "name"),
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "experimental"))
                           ? " (experimental)"
                           : "") < 0)
            abort();
        if (cJSON_IsString(ed) && buf_printf(&def, "on since %s", ed->valuestring) < 0)
            abort();
        cJSON_ArrayForEach (i, imp) {
            if (buf_printf(&def, "%s%s after %s", def.len ? "; " : "", cli_str(i, "flag"),
                           cli_str(i, "after")) < 0)
                abort();
        }
        if (def.len == 0 && buf_puts(&def, "opt-in") < 0)
            abort();
        if (cJSON_IsObject(b) &&
            buf_printf(&bundle, "%s #%d", cli_str(b, "runtime"),
                       cJSON_GetObjectItemCaseSensitive(b, "order")
                           ? cJSON_GetObjectItemCaseSensitive(b, "order")->valueint
                       : cJSON_GetObjectItemCaseSensitive(f, "order")
                           ? cJSON_GetObjectItemCaseSensitive(f, "order")->valueint
                           : 0) < 0)
            abort();
        row[0] = name.data;
        row[1] = def.data;
        row[2] = cli_str(f, "disable_flag");
        row[3] = bundle.len ? bundle.data : "-";
        row[4] = cli_str(f, "state");
        cli_table_add(t, row);
        buf_release(&def);
        buf_release(&bundle);
        buf_release(&name);
    }
    cli_table_print(t);
}

/* `flags NAME`: one flag with every field in full. */
static int
flag_one(struct cli *c, const char *name)
{
    struct app_err err = {0};
    cJSON *doc = NULL;
    const cJSON *f, *found = NULL, *v;

    if (cli_request(c, "GET", "/v1/flags", NULL, &doc, NULL, &err) < 0)
        return cli_report_release(&err);
    cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive(doc, "flags"))
        if (!strcmp(cli_str(f, "name"), name) || !strcmp(cli_str(f, "disable_flag"), name))
            found = f;
    if (!found) {
        cJSON_Delete(doc);
        app_fail(&err, APP_ENOTFOUND, "no flag '%s' (see 'almanac flags')", name);
        return cli_report_release(&err);
    }
    if (c->json) {
        cli_print_json(found);
    } else {
        cJSON_ArrayForEach (v, found) {
            char *text = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);

            printf("%-20s %s\n", v->string, text ? text : v->valuestring);
            free(text);
        }
    }
    cJSON_Delete(doc);
    return CLI_OK;
}

static int
cmd_flags(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    int k, rc;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, NULL)) > 0)
        ;
    if (k < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    if (o.n_pos > 1)
        return cli_usage_error(argv[0], "unexpected argument '%s'", o.pos[1]);
    if (o.n_pos == 1)
        return flag_one(c, o.pos[0]);
    rc = get_and_print(c, "/v1/flags", print_flags);
    return rc;
}

static void
print_runtimes(const cJSON *doc)
{
    static const char *const h[] = {"RUNTIME", "PYODIDE",  "PYTHON", "EMSCRIPTEN",
                                    "ABI",     "RELEASED", "STATE",  "STORED"};
    struct cli_table *t = cli_table_new(8, h);
    const cJSON *r;

    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive(doc, "runtimes")) {
        const cJSON *arts = cJSON_GetObjectItemCaseSensitive(r, "artifacts"), *a;
        int n = 0, stored = 0;
        char st[32];
        const char *row[8];

        cJSON_ArrayForEach (a, arts) {
            n++;
            stored += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "stored"));
        }
        snprintf(st, sizeof(st), "%d/%d", stored, n);
        row[0] = cli_str(r, "id");
        row[1] = cli_str(r, "pyodide");
        row[2] = cli_str(r, "python");
        row[3] = cli_str(r, "emscripten");
        row[4] = cli_str(r, "abi");
        row[5] = cli_str(r, "release_date");
        row[6] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "deprecated"))
                     ? "deprecated"
                     : cli_str(r, "state");
        row[7] = st;
        cli_table_add(t, row);
    }
    cli_table_print(t);
}

static int
cmd_runtimes(struct cli *c, int argc, char **argv)
{
    return show_cmd(c, argc, argv, "/v1/runtimes", print_runtimes);
}

static void
print_sets(const cJSON *doc)
{
    static const char *const h[] = {"PACKAGE SET", "RUNTIME", "PACKAGES", "STATE"};
    struct cli_table *t = cli_table_new(4, h);
    const cJSON *s;

    cJSON_ArrayForEach (s, cJSON_GetObjectItemCaseSensitive(doc, "package_sets")) {
        char n[32];
        const cJSON *pc = cJSON_GetObjectItemCaseSensitive(s, "package_count");
        const char *row[4];

        snprintf(n, sizeof(n), "%d", cJSON_IsNumber(pc) ? pc->valueint : 0);
        row[0] = cli_str(s, "id");
        row[1] = cli_str(s, "runtime");
        row[2] = n;
        row[3] = cli_str(s, "state");
        cli_table_add(t, row);
    }
    cli_table_print(t);
}

static int
cmd_sets(struct cli *c, int argc, char **argv)
{
    return show_cmd(c, argc, argv, "/v1/package-sets", print_sets);
}

static void
print_lines(const cJSON *doc)
{
    static const char *const h[] = {"PYTHON", "FIRST RELEASE", "END OF SUPPORT", "STATUS"};
    struct cli_table *t = cli_table_new(4, h);
    const cJSON *l;

    cJSON_ArrayForEach (l, cJSON_GetObjectItemCaseSensitive(doc, "lines")) {
        const char *row[4] = {cli_str(l, "line"), cli_str(l, "first_release"),
                              cli_str(l, "end_of_support"), cli_str(l, "status")};

        cli_table_add(t, row);
    }
    cli_table_print(t);
}

static int
cmd_python(struct cli *c, int argc, char **argv)
{
    return show_cmd(c, argc, argv, "/v1/python", print_lines);
}

static void
print_health(const cJSON *doc)
{
    printf("status %s, version %s, today %s%s\n", cli_str(doc, "status"), cli_str(doc, "version"),
           cli_str(doc, "today"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "today_overridden"))
               ? " (ALMANAC_TODAY)"
               : "");
}

static int
cmd_health(struct cli *c, int argc, char **argv)
{
    return show_cmd(c, argc, argv, "/v1/health", print_health);
}

/* ---- lock show ------------------------------------------------------------------ */

enum { OPT_RAW = 1 };

static int
cmd_lock_show(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"raw", 0, 0, OPT_RAW}, {NULL, 0, 0, 0}};
    struct cli_opts o;
    struct cli_lock lock = {0};
    struct app_err err = {0};
    int k, raw = 0;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0)
        raw = 1;
    if (k < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    if (o.n_pos != 1)
        return cli_usage_error(argv[0], "give one lock id (sha256:...)");
    if (cli_lock_get(c, o.pos[0], &lock, &err) < 0)
        return cli_report_release(&err);
    if (raw) {
        fwrite(lock.bytes, 1, lock.len, stdout);
        fputc('\n', stdout);
    } else if (c->json) {
        cli_print_json(lock.lock);
    } else {
        cli_lock_print(&lock);
    }
    cli_lock_release(&lock);
    return CLI_OK;
}

const struct cli_cmd cli_cmds_catalog[] = {
    {"resolve",
     "[wrangler.toml] [--date D] [--flag F]... [-r requirements.txt] [--as-of D] "
     "[--allow-experimental] [--config wrangler.toml]",
     "resolve a compatibility date and flags to a signed lock", cmd_resolve},
    {"diff", "FROM TO [--flag F]... [-r requirements.txt] [--as-of D]",
     "what changes between two compatibility dates", cmd_diff},
    {"flags", "[NAME]", "list the compatibility flags, or show one in full", cmd_flags},
    {"runtimes", "", "list the Pyodide runtimes", cmd_runtimes},
    {"package-sets", "", "list the package sets", cmd_sets},
    {"python", "", "list the Python lines and their support dates", cmd_python},
    {"health", "", "check the server", cmd_health},
    {"lock show", "ID [--raw]", "show a lock issued by the server (verified)", cmd_lock_show},
    {NULL, NULL, NULL, NULL},
};
