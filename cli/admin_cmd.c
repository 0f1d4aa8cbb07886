/* cli/admin_cmd.c: admin commands over the admin API (ALMANAC_TOKEN): import a
 * Pyodide distribution, upload artifacts, publish, and how to get a token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/hash.h"
#include "app/mem.h"
#include "artifacts/pyodide.h"
#include "cli/cli.h"
#include "cli/client.h"

#define UPLOAD_MAX (1024u * 1024 * 1024)

static const char *
media_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".wasm", "application/wasm"}, {".so", "application/wasm"},   {".whl", "application/zip"},
        {".zip", "application/zip"},   {".json", "application/json"}, {".mjs", "text/javascript"},
        {".js", "text/javascript"},    {".tar", "application/x-tar"},
    };
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t k = strlen(types[i].ext);

        if (n > k && strcmp(name + n - k, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

/* PUT the file at path as the artifact it hashes to; *row (optional) is the
 * server's answer. *created is 1 when the bytes were new. */
static int
upload_file(struct cli *c, const char *path, const char *file_name, cJSON **row, int *created,
            char hex[APP_SHA256_HEX], struct app_err *err)
{
    struct cli_response resp;
    char *bytes = NULL, *esc = NULL, *url = NULL;
    size_t len = 0;
    uint64_t size = 0;
    int ret = -1;

    if (row)
        *row = NULL;
    if (sha256_file(path, hex, &size, err) < 0 ||
        file_read_all(path, &bytes, &len, UPLOAD_MAX, err) < 0)
        return cli_wrap(err, APP_EINVAL, "cannot read '%s'", path);
    esc = cli_escape(file_name);
    url = xasprintf("/v1/artifacts/sha256/%s?file_name=%s", hex, esc);
    if (cli_request_raw(c, "PUT", url, NULL, media_type(file_name), bytes, len, CLI_JSON_MAX, &resp,
                        err) < 0)
        goto out;
    if (resp.status != 200 && resp.status != 201) {
        cli_problem(c, &resp, err);
        cli_response_release(&resp);
        goto out;
    }
    *created = resp.status == 201;
    if (row && resp.body.len)
        *row = cJSON_ParseWithLength(resp.body.data, resp.body.len);
    cli_response_release(&resp);
    ret = 0;
out:
    free(url);
    free(esc);
    free(bytes);
    return ret;
}

enum { OPT_RELEASE_DATE = 1, OPT_PUBLISH, OPT_FILE_NAME, OPT_NOTES };

static const char *
base_name(const char *p)
{
    const char *s = strrchr(p, '/');

    return s ? s + 1 : p;
}

static int
cmd_upload(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"file-name", 0, 1, OPT_FILE_NAME}, {NULL, 0, 0, 0}};
    struct cli_opts o;
    struct app_err err = {0};
    const char *file_name = NULL;
    cJSON *all = NULL;
    int k, rc = CLI_OK;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0)
        file_name = o.arg;
    if (k < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    if (o.n_pos == 0)
        return cli_usage_error(argv[0], "give the files to upload");
    if (file_name && o.n_pos > 1)
        return cli_usage_error(argv[0], "--file-name names one file");
    all = xjson(cJSON_CreateArray());
    for (int i = 0; i < o.n_pos; i++) {
        char hex[APP_SHA256_HEX];
        cJSON *row = NULL;
        int created = 0;

        if (upload_file(c, o.pos[i], file_name ? file_name : base_name(o.pos[i]), &row, &created,
                        hex, &err) < 0) {
            rc = cli_report(&err);
            app_err_release(&err);
            break;
        }
        if (c->json)
            cJSON_AddItemToArray(all, row ? row : xjson(cJSON_CreateObject()));
        else {
            printf("%s  %s  %s\n", hex, o.pos[i], created ? "uploaded" : "already stored");
            cJSON_Delete(row);
        }
    }
    if (c->json && rc == CLI_OK)
        cli_print_json(all);
    cJSON_Delete(all);
    return rc;
}

/* POST .../publish for kind and id. */
static int
publish(struct cli *c, const char *kind, const char *id, struct app_err *err)
{
    char *path;
    cJSON *out = NULL;
    int rc;

    /* Package set ids hold a '/' that the route expects as is. */
    if (strcmp(kind, "package-sets") == 0) {
        path = xasprintf("/v1/%s/%s/publish", kind, id);
    } else {
        char *e = cli_escape(id);

        path = xasprintf("/v1/%s/%s/publish", kind, e);
        free(e);
    }
    rc = cli_request(c, "POST", path, NULL, &out, NULL, err);
    free(path);
    cJSON_Delete(out);
    return rc;
}

static int
id_ok(const char *id)
{
    for (const char *p = id; *p; p++)
        if (*p == '?' || *p == '#' || *p == '%' || *p == ' ' || (unsigned char)*p < 0x20)
            return 0;
    return *id != '\0';
}

static int
cmd_publish(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{NULL, 0, 0, 0}};
    static const struct {
        const char *word, *kind;
    } kinds[] = {{"runtime", "runtimes"}, {"package-set", "package-sets"}, {"flag", "flags"}};
    struct cli_opts o;
    struct app_err err = {0};
    const char *kind = NULL;
    int k, rc;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0)
        ;
    if (k < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    if (o.n_pos != 2)
        return cli_usage_error(argv[0], "give what to publish and its id");
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(o.pos[0], kinds[i].word))
            kind = kinds[i].kind;
    if (!kind)
        return cli_usage_error(argv[0], "'%s' is not runtime, package-set or flag", o.pos[0]);
    if (!id_ok(o.pos[1]))
        return cli_usage_error(argv[0], "'%s' is not an id", o.pos[1]);
    if (publish(c, kind, o.pos[1], &err) < 0) {
        rc = cli_report(&err);
        app_err_release(&err);
        return rc;
    }
    if (!c->quiet)
        printf("published %s %s\n", o.pos[0], o.pos[1]);
    return CLI_OK;
}

/* PUT body to path; *created tells 201 from 200. */
static int
put_json(struct cli *c, const char *path, const cJSON *body, struct app_err *err)
{
    cJSON *out = NULL;
    int rc = cli_request(c, "PUT", path, body, &out, NULL, err);

    cJSON_Delete(out);
    return rc;
}

/* 1 when the package set exists and is published. */
static int
set_published(struct cli *c, const char *set_id)
{
    char *path = xasprintf("/v1/package-sets/%s", set_id);
    cJSON *doc = NULL;
    int yes = 0;

    if (cli_request(c, "GET", path, NULL, &doc, NULL, NULL) == 0)
        yes = strcmp(cli_str(doc, "state"), "published") == 0;
    cJSON_Delete(doc);
    free(path);
    return yes;
}

static int
cmd_import(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"release-date", 0, 1, OPT_RELEASE_DATE}, {"publish", 0, 0, OPT_PUBLISH}, {NULL, 0, 0, 0}};
    struct cli_opts o;
    struct pyo_dist d;
    struct app_err err = {0};
    const char *release_date = NULL;
    char *path = NULL, *set_id = NULL;
    int k, do_publish = 0, rc = CLI_EUSAGE, have_dist = 0, was_published = 0;
    size_t n_wheels = 0;

    memset(&d, 0, sizeof(d));
    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0) {
        if (k == OPT_RELEASE_DATE)
            release_date = o.arg;
        else
            do_publish = 1;
    }
    if (k < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    if (o.n_pos != 1)
        return cli_usage_error(argv[0], "give the Pyodide distribution directory");
    if (pyo_read(o.pos[0], release_date, &d, &err) < 0) {
        cli_wrap(&err, APP_EINVAL, "cannot import '%s'", o.pos[0]);
        rc = cli_report(&err);
        goto out;
    }
    have_dist = 1;
    for (size_t i = 0; i < d.n_core; i++) {
        char hex[APP_SHA256_HEX];
        int created = 0;

        if (upload_file(c, d.core[i].path, d.core[i].file_name, NULL, &created, hex, &err) < 0) {
            rc = cli_report(&err);
            goto out;
        }
        cli_note(c, "%s %s (%s)", created ? "uploaded" : "already stored", d.core[i].file_name,
                 d.core[i].role);
    }
    {
        char *e = cli_escape(d.id);

        path = xasprintf("/v1/runtimes/%s", e);
        free(e);
    }
    if (put_json(c, path, d.runtime, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    {
        const cJSON *rd = cJSON_GetObjectItemCaseSensitive(d.runtime, "release_date");

        if (!cJSON_IsString(rd)) {
            fprintf(stderr, "almanac: the runtime of '%s' has no release date\n", o.pos[0]);
            rc = CLI_EUSAGE;
            goto out;
        }
        set_id = xasprintf("%s/%s", d.id, rd->valuestring);
    }
    free(path);
    path = xasprintf("/v1/package-sets/%s", set_id);
    if (put_json(c, path, d.lock, &err) < 0) {
        /* Re-importing a published release only adds the bytes: the set stays. */
        if (!set_published(c, set_id)) {
            rc = cli_report(&err);
            goto out;
        }
        cli_note(c, "package set %s is already published; left as it is", set_id);
        was_published = 1;
        app_err_release(&err);
    }
    /* Wheels that ship in the directory (a full Pyodide release) go up too. */
    {
        const cJSON *pkgs = cJSON_GetObjectItemCaseSensitive(d.lock, "packages"), *p;

        cJSON_ArrayForEach (p, pkgs) {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(p, "file_name");
            char hex[APP_SHA256_HEX], *wp;
            struct stat sb;
            int created;

            if (!cJSON_IsString(fn) || strchr(fn->valuestring, '/'))
                continue;
            wp = xasprintf("%s/%s", o.pos[0], fn->valuestring);
            if (stat(wp, &sb) == 0 && S_ISREG(sb.st_mode)) {
                if (upload_file(c, wp, fn->valuestring, NULL, &created, hex, &err) < 0) {
                    free(wp);
                    rc = cli_report(&err);
                    goto out;
                }
                n_wheels++;
            }
            free(wp);
        }
    }
    if (do_publish && !was_published &&
        (publish(c, "runtimes", d.id, &err) < 0 || publish(c, "package-sets", set_id, &err) < 0)) {
        rc = cli_report(&err);
        goto out;
    }
    if (c->json) {
        cJSON *j = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(j, "runtime", d.id));
        xjson(cJSON_AddStringToObject(j, "package_set", set_id));
        xjson(cJSON_AddNumberToObject(j, "core_artifacts", (double)d.n_core));
        xjson(cJSON_AddNumberToObject(j, "wheels_uploaded", (double)n_wheels));
        xjson(cJSON_AddBoolToObject(j, "published", do_publish));
        cli_print_json(j);
        cJSON_Delete(j);
    } else {
        printf("imported runtime %s and package set %s (%zu core artifacts, %zu wheels "
               "uploaded)%s\n",
               d.id, set_id, d.n_core, n_wheels,
               was_published ? ""
               : do_publish  ? ", published"
                             : " as drafts (publish them with --publish)");
    }
    rc = CLI_OK;
out:
    free(path);
    free(set_id);
    if (have_dist)
        pyo_release(&d);
    app_err_release(&err);
    return rc;
}

static int
cmd_token(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{NULL, 0, 0, 0}};
    struct cli_opts o;
    int k;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0)
        ;
    if (k < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    printf("Admin tokens are made on the server host, never over the API:\n"
           "  almanacd token create --data DIR\n"
           "then give the token to almanac:\n"
           "  export ALMANAC_TOKEN=<token>\n"
           "ALMANAC_TOKEN is %s in this environment.\n",
           c->token ? "set" : "not set");
    return CLI_OK;
}

const struct cli_cmd cli_cmds_admin[] = {
    {"import pyodide", "DIR [--release-date YYYY-MM-DD] [--publish]",
     "admin: upload a Pyodide distribution and create its runtime and package set", cmd_import},
    {"upload", "FILE... [--file-name NAME]", "admin: upload artifacts (PUT by digest)", cmd_upload},
    {"publish", "runtime|package-set|flag ID", "admin: publish a draft", cmd_publish},
    {"token", "", "how to get an admin token", cmd_token},
    {NULL, NULL, NULL, NULL},
};
