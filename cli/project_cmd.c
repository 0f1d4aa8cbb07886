/* cli/project_cmd.c: the commands that work on a worker project: `lock` (write
 * almanac.lock), `upgrade` (diff to a newer date, rewrite the config), `check` (a
 * CI gate on end of support) and `init` (a new project that runs at once). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/fs.h"
#include "app/hash.h"
#include "app/mem.h"
#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/lockfile.h"
#include "cli/locks.h"

#define CONFIG_TEXT_MAX (1024 * 1024)
#define CHECK_WARN_DAYS_DEFAULT 180
#define CHECK_WARN_DAYS_MAX 36500

/* wrangler's order of config files in a directory. */
static const char *const config_names[] = {"wrangler.json", "wrangler.jsonc", "wrangler.toml"};

/* The config a project command works on: the argument (a file, or a directory to
 * look in), --config, or one of config_names in the current directory. */
static int
project_config(struct cli_inputs *in, const char *arg, char **owned, struct app_err *err)
{
    struct stat st;
    const char *dir = ".";

    *owned = NULL;
    if (arg && in->config)
        return app_fail(err, APP_EINVAL, "give the config once (argument or --config)");
    if (!arg)
        arg = in->config;
    if (arg && stat(arg, &st) == 0 && !S_ISDIR(st.st_mode)) {
        in->config = arg;
        return 0;
    }
    if (arg && stat(arg, &st) < 0)
        return app_fail(err, APP_EINVAL, "cannot open '%s': %s", arg, strerror(errno));
    if (arg)
        dir = arg;
    for (size_t i = 0; i < sizeof(config_names) / sizeof(config_names[0]); i++) {
        char *p = xasprintf("%s/%s", dir, config_names[i]);

        if (access(p, F_OK) == 0) {
            *owned = p;
            in->config = p;
            return 0;
        }
        free(p);
    }
    return app_fail(err, APP_EINVAL,
                    "no wrangler.toml, wrangler.json or wrangler.jsonc in '%s' (give the config, "
                    "or 'almanac init')",
                    dir);
}

/* Today as the server says (it may be pinned), else the local UTC date. */
static void
today(struct cli *c, char out[APP_DATE_LEN], int *from_server)
{
    struct app_err err = {0};
    cJSON *h = NULL;
    const cJSON *t;

    *from_server = 0;
    if (cli_request(c, "GET", "/v1/health", NULL, &h, NULL, &err) == 0) {
        t = cJSON_GetObjectItemCaseSensitive(h, "today");
        if (cJSON_IsString(t) && date_parse(t->valuestring, &(int){0}) == 0) {
            snprintf(out, APP_DATE_LEN, "%s", t->valuestring);
            *from_server = 1;
        }
    }
    if (!*from_server)
        date_format(date_today(), out);
    cJSON_Delete(h);
    app_err_release(&err);
}

/* ---- lock ------------------------------------------------------------------------- */

/* The end of every command's option loop: k from cli_opts_next (< 0: a usage error,
 * already printed), --help, and at most one positional argument (the project
 * directory or config). 0 when the command goes on; -1 with *rc the exit code. */
static int
opts_end(int k, const struct cli_opts *o, const char *cmd, int *rc)
{
    *rc = CLI_EUSAGE;
    if (k < 0)
        return -1;
    if (o->help) {
        *rc = cli_usage(cmd);
        return -1;
    }
    if (o->n_pos > 1) {
        *rc = cli_usage_error(cmd, "unexpected argument '%s'", o->pos[1]);
        return -1;
    }
    return 0;
}

static int
cmd_lock(struct cli *c, int argc, char **argv)
{
    struct cli_inputs in;
    struct cli_opts o;
    struct cli_lock lock = {0};
    struct app_err err = {0};
    cJSON *body = NULL, *inputs = NULL;
    char *owned = NULL, *path = NULL;
    int rc;

    cli_inputs_init(&in);
    if (cli_inputs_parse(c, argc, argv, &in, &o, &rc) < 0 || opts_end(0, &o, argv[0], &rc) < 0)
        goto out;
    if (in.lock_mode == CLI_LOCK_FROZEN || c->offline) {
        rc = cli_usage_error(argv[0], "lock asks the server; --frozen and --offline do not apply");
        goto out;
    }
    if (project_config(&in, o.n_pos ? o.pos[0] : NULL, &owned, &err) < 0 ||
        cli_inputs_load(&in, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    body = cli_inputs_body(&in);
    path = cli_lockfile_path(in.config);
    if (in.lock_mode == CLI_LOCK_LOCKED) {
        /* Like `uv lock --locked`: check, write nothing. */
        if (cli_lockfile_resolve(c, &in, body, &lock, &err) < 0) {
            rc = cli_report_release(&err);
            goto out;
        }
    } else {
        if (cli_lock_resolve(c, body, &lock, &err) < 0) {
            rc = cli_report_release(&err);
            goto out;
        }
        inputs = cli_lockfile_inputs(body);
        if (cli_lockfile_write(path, &lock, inputs, &err) < 0) {
            rc = cli_report_release(&err);
            goto out;
        }
        cli_note(c, "wrote %s (%s)", path, lock.id);
    }
    if (c->json) {
        cJSON *d = cli_lockfile_doc(&lock);

        xjson(cJSON_AddStringToObject(d, "path", path));
        cli_print_json(d);
        cJSON_Delete(d);
    } else {
        printf("%s\n", lock.id);
    }
    rc = CLI_OK;
out:
    cli_lock_release(&lock);
    cJSON_Delete(body);
    cJSON_Delete(inputs);
    free(path);
    free(owned);
    app_err_release(&err);
    cli_inputs_release(&in);
    return rc;
}

/* ---- upgrade ---------------------------------------------------------------------- */

/* The major version: the digits before the first '.' ("3.11.13" -> 3). */
static long
major(const char *v)
{
    char *end = NULL;
    long m;

    if (!v)
        return -1;
    errno = 0;
    m = strtol(v, &end, 10);
    return errno || end == v ? -1 : m;
}

static void
print_names(const char *label, const cJSON *arr)
{
    const cJSON *x;
    int first = 1;

    printf("%-12s", label);
    cJSON_ArrayForEach (x, arr)
        if (cJSON_IsString(x)) {
            printf("%s%s", first ? "" : ", ", x->valuestring);
            first = 0;
        }
    printf("%s\n", first ? "-" : "");
}

/* Mark package changes that cross a major version. */
static void
mark_majors(cJSON *diff)
{
    cJSON *p;

    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(diff, "packages"), "changed")) {
        long a = major(cli_str(p, "from")), b = major(cli_str(p, "to"));

        cJSON_DeleteItemFromObjectCaseSensitive(p, "major");
        xjson(cJSON_AddBoolToObject(p, "major", a >= 0 && b >= 0 && a != b));
    }
}

static void
print_upgrade(const struct cli *c, const cJSON *d, const char *from, const char *to)
{
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(d, "runtime");
    const cJSON *py = cJSON_GetObjectItemCaseSensitive(d, "python");
    const cJSON *ln = cJSON_GetObjectItemCaseSensitive(d, "python_line");
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(d, "flags");
    const cJSON *pk = cJSON_GetObjectItemCaseSensitive(d, "packages"), *p;
    int n_major = 0;

    printf("upgrade %s -> %s\n", from, to);
    printf("%-12s%s -> %s%s\n", "runtime", cli_str(rt, "from"), cli_str(rt, "to"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rt, "changed")) ? "" : " (unchanged)");
    printf("%-12s%s -> %s\n", "python", cli_str(py, "from"), cli_str(py, "to"));
    printf("%-12s%s -> %s\n", "python line", cli_str(ln, "from"), cli_str(ln, "to"));
    print_names("flags on", cJSON_GetObjectItemCaseSensitive(fl, "turned_on"));
    print_names("flags off", cJSON_GetObjectItemCaseSensitive(fl, "turned_off"));
    printf("packages (%s): %d added, %d removed, %d changed\n", cli_str(d, "packages_scope"),
           cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pk, "added")),
           cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pk, "removed")),
           cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pk, "changed")));
    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(pk, "changed"))
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "major"))) {
            if (!n_major++)
                printf("major version changes:\n");
            printf("  %-28s %s -> %s  %s(major)%s\n", cli_str(p, "name"), cli_str(p, "from"),
                   cli_str(p, "to"), cli_sgr(c, "33"), cli_sgr(c, NULL));
        }
    if (!strcmp(cli_str(d, "packages_scope"), "requirements")) {
        cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(pk, "changed"))
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "major")))
                printf("  %-28s %s -> %s\n", cli_str(p, "name"), cli_str(p, "from"),
                       cli_str(p, "to"));
        cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(pk, "added"))
            printf("  %-28s + %s\n", cli_str(p, "name"), cli_str(p, "version"));
        cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(pk, "removed"))
            printf("  %-28s - %s\n", cli_str(p, "name"), cli_str(p, "version"));
    }
}

/* Skip blanks and (JSONC) comments from i; returns the new index. */
static size_t
json_skip(const char *t, size_t len, size_t i)
{
    while (i < len) {
        if (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r') {
            i++;
        } else if (t[i] == '/' && i + 1 < len && t[i + 1] == '/') {
            while (i < len && t[i] != '\n')
                i++;
        } else if (t[i] == '/' && i + 1 < len && t[i + 1] == '*') {
            const char *e = memmem(t + i + 2, len - i - 2, "*/", 2);

            i = e ? (size_t)(e - t) + 2 : len;
        } else {
            break;
        }
    }
    return i;
}

/* The end of the JSON string starting at t[i] == '"' (index after the quote). */
static size_t
json_string_end(const char *t, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
    }
    return len;
}

/* Where the value of the top-level "compatibility_date" string is in a JSON(C)
 * text: [*start, *end) is the string's content between its quotes. 1 found, 0 not
 * found (*start is then where a new key can go: after the opening brace), -1
 * when the value is not a string. */
static int
json_find_date(const char *t, size_t len, size_t *start, size_t *end)
{
    size_t i = json_skip(t, len, 0);
    int depth = 0;

    if (i >= len || t[i] != '{')
        return -1;
    *start = i + 1;
    for (; i < len; i = json_skip(t, len, i)) {
        char ch = t[i];

        if (ch == '"') {
            size_t e = json_string_end(t, len, i);

            if (depth == 1 && e - i == sizeof("\"compatibility_date\"") - 1 &&
                memcmp(t + i, "\"compatibility_date\"", e - i) == 0) {
                size_t j = json_skip(t, len, e);

                if (j < len && t[j] == ':') {
                    j = json_skip(t, len, j + 1);
                    if (j >= len || t[j] != '"')
                        return -1;
                    *start = j + 1;
                    *end = json_string_end(t, len, j) - 1;
                    return 1;
                }
            }
            i = e;
            continue;
        }
        if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']')
            depth--;
        i++;
    }
    return 0;
}

/* The same for TOML: a top-level `compatibility_date = "..."`, '...' or a bare
 * date, before the first table header. Not found: *start is where a new line can
 * go (before the first table, or the end). */
static int
toml_find_date(const char *t, size_t len, size_t *start, size_t *end)
{
    size_t i = 0;

    *start = len;
    while (i < len) {
        size_t line = i, j = i, eol;
        const char *nl = memchr(t + i, '\n', len - i);

        eol = nl ? (size_t)(nl - t) : len;
        while (j < eol && (t[j] == ' ' || t[j] == '\t'))
            j++;
        if (j < eol && t[j] == '[') {
            *start = line;
            return 0;
        }
        if ((eol - j > 18 && memcmp(t + j, "compatibility_date", 18) == 0) ||
            (eol - j > 20 && (t[j] == '"' || t[j] == '\'') &&
             memcmp(t + j + 1, "compatibility_date", 18) == 0 && t[j + 19] == t[j])) {
            size_t k = j + (t[j] == '"' || t[j] == '\'' ? 20 : 18);

            while (k < eol && (t[k] == ' ' || t[k] == '\t'))
                k++;
            if (k < eol && t[k] == '=') {
                k++;
                while (k < eol && (t[k] == ' ' || t[k] == '\t'))
                    k++;
                if (k < eol && (t[k] == '"' || t[k] == '\'')) {
                    const char *q = memchr(t + k + 1, t[k], eol - k - 1);

                    if (!q)
                        return -1;
                    *start = k + 1;
                    *end = (size_t)(q - t);
                    return 1;
                }
                if (eol - k >= 10) {
                    *start = k;
                    *end = k + 10;
                    return 1;
                }
                return -1;
            }
        }
        i = eol + 1;
    }
    return 0;
}

/* Rewrite compatibility_date in the config text; everything else (formatting,
 * comments, key order) is kept byte for byte. */
static int
rewrite_date(const char *path, const char *text, size_t len, const char *date, char **out,
             struct app_err *err)
{
    size_t n = strlen(path), s = 0, e = 0;
    int json =
        (n >= 5 && !strcmp(path + n - 5, ".json")) || (n >= 6 && !strcmp(path + n - 6, ".jsonc"));
    int r = json ? json_find_date(text, len, &s, &e) : toml_find_date(text, len, &s, &e);

    if (r < 0)
        return app_fail(err, APP_EINVAL, "%s: compatibility_date is not a date string", path);
    if (r == 1) {
        *out = xasprintf("%.*s%s%.*s", (int)s, text, date, (int)(len - e), text + e);
        return 0;
    }
    if (json)
        *out = xasprintf("%.*s\n  \"compatibility_date\": \"%s\",%.*s", (int)s, text, date,
                         (int)(len - s), text + s);
    else
        *out = xasprintf("%.*s%scompatibility_date = \"%s\"\n%.*s", (int)s, text,
                         s > 0 && text[s - 1] != '\n' ? "\n" : "", date, (int)(len - s), text + s);
    return 0;
}

static int
write_config_date(const char *path, const char *date, struct app_err *err)
{
    char *text = NULL, *out = NULL;
    size_t len = 0;
    int ret = -1;

    if (file_read_all(path, &text, &len, CONFIG_TEXT_MAX, err) < 0) {
        cli_wrap(err, APP_EINVAL, "cannot read '%s'", path);
        goto out;
    }
    /* The rewrite copies text as C strings: a NUL would cut the file short. */
    if (memchr(text, '\0', len)) {
        app_fail(err, APP_EINVAL, "'%s' holds a NUL byte; not rewriting it", path);
        goto out;
    }
    if (rewrite_date(path, text, len, date, &out, err) < 0)
        goto out;
    ret = cli_file_replace(path, out, strlen(out), err);
out:
    free(text);
    free(out);
    return ret;
}

static int
diff_query(const struct cli_inputs *in, const char *from, const char *to, struct buf *q,
           struct app_err *err)
{
    char *f = cli_escape(from), *t = cli_escape(to);
    int ret = -1;

    if (buf_printf(q, "/v1/diff?from=%s&to=%s", f, t) < 0)
        abort();
    if (in->n_flags) {
        struct buf fl;
        char *e;

        buf_init(&fl, 0);
        for (size_t i = 0; i < in->n_flags; i++)
            if (buf_printf(&fl, "%s%s", i ? "," : "", in->flags[i]) < 0)
                abort();
        e = cli_escape(fl.data);
        if (buf_printf(q, "&flags=%s", e) < 0)
            abort();
        free(e);
        buf_release(&fl);
    }
    if (in->req_text) {
        struct buf reqs;

        buf_init(&reqs, 0);
        if (cli_requirements_query(in->req_text, &reqs, err) < 0) {
            buf_release(&reqs);
            goto out;
        }
        if (reqs.len) {
            char *e = cli_escape(reqs.data);

            if (buf_printf(q, "&requirements=%s", e) < 0)
                abort();
            free(e);
        }
        buf_release(&reqs);
    }
    if (in->allow_experimental && buf_puts(q, "&allow_experimental=true") < 0)
        abort();
    ret = 0;
out:
    free(f);
    free(t);
    return ret;
}

enum { OPT_TO = 1, OPT_WRITE, OPT_FAIL_ON, OPT_WARN_BEFORE };

static int
cmd_upgrade(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        CLI_RESOLVE_OPTS,
        {"to", 0, 1, OPT_TO},
        {"write", 'w', 0, OPT_WRITE},
        {NULL, 0, 0, 0},
    };
    struct cli_inputs in;
    struct cli_opts o;
    struct cli_lock lock = {0};
    struct app_err err = {0};
    struct buf q;
    cJSON *diff = NULL, *body = NULL, *inputs = NULL;
    char *owned = NULL, *lpath = NULL, to[APP_DATE_LEN], from[APP_DATE_LEN];
    const char *to_arg = "today";
    int rc = CLI_EUSAGE, k, write = 0, srv;

    cli_inputs_init(&in);
    buf_init(&q, 0);
    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0) {
        if (k == OPT_TO)
            to_arg = o.arg;
        else if (k == OPT_WRITE)
            write = 1;
        else if (cli_inputs_opt(&in, argv[0], k, o.arg) < 0)
            goto out;
    }
    if (opts_end(k, &o, argv[0], &rc) < 0)
        goto out;
    if (in.date) {
        rc = cli_usage_error(argv[0], "upgrade starts from the config's date; give --to DATE");
        goto out;
    }
    if (strcmp(to_arg, "today") != 0 && date_parse(to_arg, &(int){0}) < 0) {
        rc = cli_usage_error(argv[0], "--to '%s' is not 'today' or YYYY-MM-DD", to_arg);
        goto out;
    }
    if (project_config(&in, o.n_pos ? o.pos[0] : NULL, &owned, &err) < 0 ||
        cli_inputs_load(&in, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    snprintf(from, sizeof(from), "%s", in.date);
    if (!strcmp(to_arg, "today"))
        today(c, to, &srv);
    else
        snprintf(to, sizeof(to), "%s", to_arg);
    if (diff_query(&in, from, to, &q, &err) < 0 ||
        cli_request(c, "GET", q.data, NULL, &diff, NULL, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    mark_majors(diff);
    if (c->json) {
        xjson(cJSON_AddStringToObject(diff, "config", in.config));
        xjson(cJSON_AddBoolToObject(diff, "written", write && strcmp(from, to) != 0));
        cli_print_json(diff);
    } else {
        print_upgrade(c, diff, from, to);
    }
    if (!write) {
        if (strcmp(from, to) != 0)
            cli_note(c, "run with --write to move %s to %s", in.config, to);
        rc = CLI_OK;
        goto out;
    }
    if (strcmp(from, to) == 0) {
        cli_note(c, "%s is already at %s", in.config, to);
        rc = CLI_OK;
        goto out;
    }
    /* Resolve at the new date first: a config is only rewritten to a date that
     * resolves, and then the lock file follows it. */
    in.date = to;
    body = cli_inputs_body(&in);
    if (cli_lock_resolve(c, body, &lock, &err) < 0 || write_config_date(in.config, to, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    inputs = cli_lockfile_inputs(body);
    lpath = cli_lockfile_path(in.config);
    if (cli_lockfile_write(lpath, &lock, inputs, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    cli_note(c, "wrote compatibility_date = %s to %s and %s (%s)", to, in.config, lpath, lock.id);
    rc = CLI_OK;
out:
    cli_lock_release(&lock);
    cJSON_Delete(diff);
    cJSON_Delete(body);
    cJSON_Delete(inputs);
    buf_release(&q);
    free(owned);
    free(lpath);
    app_err_release(&err);
    cli_inputs_release(&in);
    return rc;
}

/* ---- check ------------------------------------------------------------------------ */

static int
cmd_check(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        CLI_RESOLVE_OPTS,
        {"fail-on", 0, 1, OPT_FAIL_ON},
        {"warn-before", 0, 1, OPT_WARN_BEFORE},
        {NULL, 0, 0, 0},
    };
    struct cli_inputs in;
    struct cli_opts o;
    struct cli_lock lock = {0}, later = {0};
    struct app_err err = {0};
    cJSON *body = NULL, *out_doc = NULL;
    char *owned = NULL, eol_next[APP_DATE_LEN] = "";
    const char *fail_on = "ended", *status, *eol, *verdict;
    const cJSON *pol, *up = NULL;
    long warn_days = CHECK_WARN_DAYS_DEFAULT;
    int rc = CLI_EUSAGE, k, as_of_days, eol_days = 0, left = 0, fail;

    cli_inputs_init(&in);
    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0) {
        if (k == OPT_FAIL_ON) {
            if (strcmp(o.arg, "ending") != 0 && strcmp(o.arg, "ended") != 0) {
                rc = cli_usage_error(argv[0], "--fail-on '%s' is not 'ending' or 'ended'", o.arg);
                goto out;
            }
            fail_on = o.arg;
        } else if (k == OPT_WARN_BEFORE) {
            char *end = NULL;

            errno = 0;
            warn_days = strtol(o.arg, &end, 10);
            if (errno || !end || *end || end == o.arg || warn_days < 0 ||
                warn_days > CHECK_WARN_DAYS_MAX) {
                rc = cli_usage_error(argv[0], "--warn-before '%s' is not a number of days (0-%d)",
                                     o.arg, CHECK_WARN_DAYS_MAX);
                goto out;
            }
        } else if (cli_inputs_opt(&in, argv[0], k, o.arg) < 0) {
            goto out;
        }
    }
    if (opts_end(k, &o, argv[0], &rc) < 0)
        goto out;
    if (in.lock_mode == CLI_LOCK_FROZEN || c->offline) {
        rc = cli_usage_error(argv[0], "check asks the server for the support policy; --frozen "
                                      "and --offline do not apply");
        goto out;
    }
    if (project_config(&in, o.n_pos ? o.pos[0] : NULL, &owned, &err) < 0 ||
        cli_inputs_load(&in, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    body = cli_inputs_body(&in);
    /* --locked: the project's lock must still be what the config resolves to. */
    if (in.lock_mode == CLI_LOCK_LOCKED) {
        if (cli_lockfile_resolve(c, &in, body, &lock, &err) < 0) {
            rc = cli_report_release(&err);
            goto out;
        }
        cli_lock_release(&lock);
    }
    if (cli_lock_resolve(c, body, &lock, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    pol = cJSON_GetObjectItemCaseSensitive(lock.response, "policy");
    status = cli_str(pol, "status");
    eol = cli_str(pol, "end_of_support");
    if (date_parse(cli_str(pol, "as_of"), &as_of_days) == 0 && date_parse(eol, &eol_days) == 0)
        left = eol_days - as_of_days;
    /* The move that end of support makes: resolve as of the day after it. */
    if (eol_days && strcmp(status, "ended") != 0) {
        cJSON *b2 = xjson(cJSON_Duplicate(body, 1));

        date_format(eol_days + 1, eol_next);
        cJSON_DeleteItemFromObjectCaseSensitive(b2, "as_of");
        xjson(cJSON_AddStringToObject(b2, "as_of", eol_next));
        if (cli_lock_resolve(c, b2, &later, &err) == 0)
            up = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(later.response, "policy"), "upgrade");
        app_err_release(&err);
        cJSON_Delete(b2);
    } else {
        up = cJSON_GetObjectItemCaseSensitive(pol, "upgrade");
    }
    /* Before the end, the window is the user's (--warn-before), not the server's. */
    if (strcmp(status, "ended") != 0 && eol_days)
        status = left <= warn_days ? "ending" : "supported";
    fail = !strcmp(status, "ended") || (!strcmp(fail_on, "ending") && !strcmp(status, "ending"));
    verdict = fail ? "fail" : !strcmp(status, "supported") ? "ok" : "warn";
    if (c->json) {
        out_doc = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(out_doc, "config", in.config));
        xjson(cJSON_AddStringToObject(out_doc, "result", verdict));
        xjson(cJSON_AddStringToObject(out_doc, "status", status));
        xjson(cJSON_AddStringToObject(out_doc, "python_line", cli_str(pol, "python_line")));
        xjson(cJSON_AddStringToObject(out_doc, "end_of_support", eol));
        xjson(cJSON_AddNumberToObject(out_doc, "days_left", left));
        xjson(cJSON_AddStringToObject(out_doc, "lock_id", lock.id));
        cJSON_AddItemToObject(out_doc, "move",
                              cJSON_IsObject(up) ? xjson(cJSON_Duplicate(up, 1))
                                                 : xjson(cJSON_CreateNull()));
        cli_print_json(out_doc);
    } else {
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(lock.lock, "runtime");

        printf("%s%s%s: %s, Python %s (%s): %s",
               cli_sgr(c, fail                       ? "1;31"
                          : !strcmp(verdict, "warn") ? "1;33"
                                                     : "1;32"),
               verdict, cli_sgr(c, NULL), in.config, cli_str(pol, "python_line"), cli_str(rt, "id"),
               status);
        if (eol_days && left > 0)
            printf(", end of support %s (in %d days)", eol, left);
        else if (eol_days)
            printf(", end of support %s (%d days ago)", eol, -left);
        printf("\n");
        if (cJSON_IsObject(up)) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(up, "from");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(up, "to");

            printf("%s %s (Python %s) -> %s (Python %s)\n",
                   strcmp(cli_str(pol, "status"), "ended") ? "move after end of support:"
                                                           : "moved at end of support:",
                   cli_str(f, "runtime"), cli_str(f, "python_line"), cli_str(t, "runtime"),
                   cli_str(t, "python_line"));
        } else if (eol_days && strcmp(status, "supported") != 0) {
            printf("move: none found; set a newer compatibility_date (almanac upgrade)\n");
        }
    }
    rc = fail ? CLI_ECHECK : CLI_OK;
out:
    cJSON_Delete(out_doc);
    cli_lock_release(&lock);
    cli_lock_release(&later);
    cJSON_Delete(body);
    free(owned);
    app_err_release(&err);
    cli_inputs_release(&in);
    return rc;
}

/* ---- init ------------------------------------------------------------------------- */

static const char init_worker[] = "from workers import Response, WorkerEntrypoint\n"
                                  "\n"
                                  "\n"
                                  "class Default(WorkerEntrypoint):\n"
                                  "    async def fetch(self, request):\n"
                                  "        return Response(\"Hello world!\")\n";

static const char init_gitignore[] = "# almanac: per-project state and caches\n"
                                     ".almanac/\n"
                                     ".wrangler/\n"
                                     "__pycache__/\n"
                                     ".dev.vars\n";

static int
write_new(const char *dir, const char *name, const char *text, struct app_err *err)
{
    char *p = xasprintf("%s/%s", dir, name);
    int ret = -1;

    if (access(p, F_OK) == 0) {
        app_fail(err, APP_EINVAL, "'%s' exists; init changes nothing in a project", p);
        goto out;
    }
    ret = cli_file_replace(p, text, strlen(text), err);
out:
    free(p);
    return ret;
}

static int
cmd_init(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"name", 'n', 1, 1}, {NULL, 0, 0, 0}};
    struct cli_opts o;
    struct app_err err = {0};
    char date[APP_DATE_LEN], *config = NULL, *name = NULL;
    const char *dir = ".", *given_name = NULL;
    int rc = CLI_EUSAGE, k, srv;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0)
        given_name = o.arg;
    if (opts_end(k, &o, argv[0], &rc) < 0)
        goto out;
    if (o.n_pos)
        dir = o.pos[0];
    for (size_t i = 0; i < sizeof(config_names) / sizeof(config_names[0]); i++) {
        char *p = xasprintf("%s/%s", dir, config_names[i]);
        int there = access(p, F_OK) == 0;

        free(p);
        if (there) {
            fprintf(stderr, "almanac: '%s' already has a %s\n", dir, config_names[i]);
            rc = CLI_EUSAGE;
            goto out;
        }
    }
    if (fs_mkdir_p(dir) < 0) {
        fprintf(stderr, "almanac: cannot create '%s': %s\n", dir, strerror(errno));
        rc = CLI_ENET;
        goto out;
    }
    today(c, date, &srv);
    if (given_name) {
        name = xstrdup(given_name);
    } else {
        char *abs = realpath(dir, NULL);
        const char *base = abs ? strrchr(abs, '/') : NULL;

        name = xstrdup(base && base[1] ? base + 1 : "worker");
        free(abs);
    }
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : '-';
    config =
        xasprintf("# A Python worker; `almanac run wrangler.toml` runs it, `almanac lock` pins "
                  "its runtime.\n"
                  "name = \"%s\"\n"
                  "main = \"src/entry.py\"\n"
                  "compatibility_date = \"%s\"\n"
                  "# disable_python_external_sdk: the workers SDK comes with the runtime\n"
                  "compatibility_flags = [\"python_workers\", "
                  "\"disable_python_external_sdk\"]\n",
                  name, date);
    {
        char *src = xasprintf("%s/src", dir);
        int mk = fs_mkdir_p(src);

        free(src);
        if (mk < 0) {
            fprintf(stderr, "almanac: cannot create '%s/src': %s\n", dir, strerror(errno));
            rc = CLI_ENET;
            goto out;
        }
    }
    if (write_new(dir, "src/entry.py", init_worker, &err) < 0 ||
        write_new(dir, "wrangler.toml", config, &err) < 0 ||
        write_new(dir, ".gitignore", init_gitignore, &err) < 0) {
        rc = cli_report_release(&err);
        goto out;
    }
    cli_note(c, "compatibility_date %s (%s)", date,
             srv ? "the server's today" : "no server answered: the local UTC date");
    if (c->json) {
        cJSON *d = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(d, "dir", dir));
        xjson(cJSON_AddStringToObject(d, "name", name));
        xjson(cJSON_AddStringToObject(d, "compatibility_date", date));
        xjson(cJSON_AddStringToObject(d, "date_source", srv ? "server" : "local"));
        cli_print_json(d);
        cJSON_Delete(d);
    } else {
        printf("created %s/wrangler.toml, %s/src/entry.py, %s/.gitignore\n"
               "run it:  almanac run %s/wrangler.toml\n",
               dir, dir, dir, dir);
    }
    rc = CLI_OK;
out:
    free(config);
    free(name);
    app_err_release(&err);
    return rc;
}

const struct cli_cmd cli_cmds_project[] = {
    {"lock", "[CONFIG|DIR] [--locked] [--date D] [--flag F]... [-r FILE]",
     "write almanac.lock beside the worker's config (the signed lock, for review and --frozen)",
     cmd_lock},
    {"upgrade", "[CONFIG|DIR] [--to today|DATE] [--write] [-r FILE]",
     "what moving the worker to a newer date changes; --write rewrites the config and the lock",
     cmd_upgrade},
    {"check", "[CONFIG|DIR] [--fail-on ending|ended] [--warn-before DAYS] [--as-of D]",
     "a CI gate: exit 6 when the worker's Python line has ended (or ends soon)", cmd_check},
    {"init", "[DIR] [--name NAME]", "a new Python worker project that runs at once", cmd_init},
    {NULL, NULL, NULL, NULL},
};
