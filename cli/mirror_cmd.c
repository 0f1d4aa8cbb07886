/* cli/mirror_cmd.c: `almanac sync` and `almanac verify-lock`: the signed catalog
 * snapshot that lets the CLI resolve by itself and check any lock a server or a
 * mirror hands it (issue 14). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/mem.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/snapshot.h"

#define LOCK_FILE_MAX (64u * 1024 * 1024)

static void
print_snapshot(const struct cli *c, const struct cli_snapshot *s)
{
    char ia[APP_TIME_LEN], ex[APP_TIME_LEN];

    date_time_rfc3339(s->meta.issued_at, ia);
    date_time_rfc3339(s->meta.expires, ex);
    if (c->json) {
        cJSON *o = xjson(cJSON_CreateObject());

        xjson(cJSON_AddNumberToObject(o, "version", (double)s->meta.version));
        xjson(cJSON_AddStringToObject(o, "issued_at", ia));
        xjson(cJSON_AddStringToObject(o, "expires", ex));
        xjson(cJSON_AddStringToObject(o, "digest", s->digest));
        xjson(cJSON_AddStringToObject(o, "key", s->key_id));
        xjson(cJSON_AddStringToObject(o, "source", s->source));
        cli_print_json(o);
        cJSON_Delete(o);
        return;
    }
    printf("catalog snapshot version %lld from %s\n", s->meta.version, s->source);
    printf("issued   %s\nexpires  %s\nkey      %s\ndigest   %s\n", ia, ex, s->key_id, s->digest);
}

static int
cmd_sync(struct cli *c, int argc, char **argv)
{
    struct app_err err = {0};
    struct cli_snapshot *s = NULL;
    int rc;

    if (cli_no_args(c, argc, argv, &rc) < 0)
        return rc;
    if ((c->offline ? cli_snapshot_cached(c, &s, &err) : cli_snapshot_sync(c, &s, &err)) < 0)
        return cli_report_release(&err);
    print_snapshot(c, s);
    cli_snapshot_free(s);
    return CLI_OK;
}

/* The bytes of LOCK: a file, or a lock id fetched from the server (unverified here:
 * the comparison below is the check). */
static int
lock_bytes(struct cli *c, const char *arg, char **bytes, size_t *len, struct app_err *err)
{
    if (strncmp(arg, "sha256:", 7) == 0 && sha256_hex_valid(arg + 7)) {
        struct cli_response r;
        char *esc = cli_escape(arg), *path = xasprintf("/v1/locks/%s", esc);
        int ret = -1;

        free(esc);
        if (c->offline) {
            free(path);
            return app_fail(err, APP_EINVAL, "lock %s: give a lock file with --offline", arg);
        }
        if (cli_request_raw(c, "GET", path, NULL, NULL, NULL, 0, LOCK_FILE_MAX, &r, err) == 0) {
            if (r.status != 200) {
                cli_problem(c, &r, err);
            } else {
                *len = r.body.len;
                *bytes = xstrndup(r.body.data ? r.body.data : "", r.body.len);
                ret = 0;
            }
            cli_response_release(&r);
        }
        free(path);
        return ret;
    }
    if (file_read_all(arg, bytes, len, LOCK_FILE_MAX, err) < 0)
        return cli_wrap(err, APP_EINVAL, "cannot read lock '%s'", arg);
    /* A lock saved with a final newline is still that lock. */
    if (*len && (*bytes)[*len - 1] == '\n')
        (*bytes)[--*len] = '\0';
    return 0;
}

static int
cmd_verify_lock(struct cli *c, int argc, char **argv)
{
    struct app_err err = {0};
    struct cli_snapshot *s = NULL;
    struct cli_opts o;
    cJSON *results = NULL;
    int k, rc = CLI_OK;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, NULL)) > 0)
        ;
    if (k < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    if (o.n_pos < 1)
        return cli_usage_error(argv[0], "give a lock file or a lock id (sha256:...)");
    if (cli_snapshot_get(c, c->offline, &s, &err) < 0)
        return cli_report_release(&err);
    results = xjson(cJSON_CreateArray());
    for (int i = 0; i < o.n_pos; i++) {
        char *bytes = NULL, hex[APP_SHA256_HEX];
        size_t len = 0;
        int one;
        cJSON *r = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(r, "lock", o.pos[i]));
        if (lock_bytes(c, o.pos[i], &bytes, &len, &err) < 0 ||
            cli_snapshot_check_lock(s, bytes, len, &err) < 0) {
            one = cli_report(&err);
            xjson(cJSON_AddStringToObject(r, "error", err.msg));
            app_err_release(&err);
            if (rc == CLI_OK || one == CLI_EVERIFY)
                rc = one;
        } else {
            sha256_hex(bytes, len, hex);
            if (!c->json)
                printf("lock sha256:%s matches catalog snapshot version %lld\n", hex,
                       s->meta.version);
            xjson(cJSON_AddBoolToObject(r, "ok", 1));
            xjson(cJSON_AddNumberToObject(r, "snapshot_version", (double)s->meta.version));
        }
        cJSON_AddItemToArray(results, r);
        free(bytes);
    }
    if (c->json)
        cli_print_json(results);
    cJSON_Delete(results);
    cli_snapshot_free(s);
    return rc;
}

const struct cli_cmd cli_cmds_mirror[] = {
    {"sync", "",
     "fetch and verify the newest signed catalog snapshot (--offline: show the cached one)",
     cmd_sync},
    {"verify-lock", "LOCK...",
     "recompute locks (files or sha256: ids) from the signed catalog snapshot and compare bytes",
     cmd_verify_lock},
    {NULL, NULL, NULL, NULL},
};
