/* cli/fetch_cmd.c: `almanac fetch` (a lock's artifacts into the cache, verified)
 * and `almanac verify` (re-check the cache, or one lock's files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/mem.h"
#include "cli/cli.h"
#include "cli/lockfiles.h"
#include "cli/locks.h"
#include "cli/trust.h"

enum { OPT_LOCK = 1, OPT_REPAIR };

/* Parse the options shared by fetch and verify; fills in and *lock_id. Returns
 * -1 with *rc set when the command should stop. */
static int
lock_args(struct cli *c, int argc, char **argv, struct cli_inputs *in, const char **lock_id,
          int *repair, int *rc)
{
    static const struct cli_opt opts[] = {CLI_RESOLVE_OPTS,
                                          {"lock", 'l', 1, OPT_LOCK},
                                          {"repair", 0, 0, OPT_REPAIR},
                                          {NULL, 0, 0, 0}};
    struct cli_opts o;
    struct app_err err = {0};
    int k;

    *rc = CLI_EUSAGE;
    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, opts)) > 0) {
        if (k == OPT_LOCK)
            *lock_id = o.arg;
        else if (k == OPT_REPAIR && repair)
            *repair = 1;
        else if (k == OPT_REPAIR)
            return cli_usage_error(argv[0], "--repair is an option of 'almanac verify'"), -1;
        else if (cli_inputs_opt(in, argv[0], k, o.arg) < 0)
            return -1;
    }
    if (k < 0)
        return -1;
    if (o.help) {
        *rc = cli_usage(argv[0]);
        return -1;
    }
    for (int i = 0; i < o.n_pos; i++) {
        if (cli_is_toml(o.pos[i]) && !in->config)
            in->config = o.pos[i];
        else if (strncmp(o.pos[i], "sha256:", 7) == 0 && !*lock_id)
            *lock_id = o.pos[i];
        else {
            cli_usage_error(argv[0], "unexpected argument '%s'", o.pos[i]);
            return -1;
        }
    }
    if (*lock_id && (in->date || in->config || in->n_flags)) {
        cli_usage_error(argv[0], "give either a lock id or what to resolve, not both");
        return -1;
    }
    if (cli_inputs_load(in, &err) < 0) {
        *rc = cli_report_release(&err);
        return -1;
    }
    return 0;
}

/* The verified lock named by the arguments (by id, or resolved), its files and
 * the local cache they belong in: what fetch and verify both start from. The
 * caller releases *lock, frees *files and *cache, also on failure. */
static int
lock_and_cache(struct cli *c, struct cli_inputs *in, const char *lock_id, struct cli_lock *lock,
               struct exe_lock_file **files, size_t *n, struct exe_cache **cache,
               struct app_err *err)
{
    cJSON *body;
    int rc;

    if (lock_id) {
        rc = cli_lock_get(c, lock_id, lock, err);
    } else {
        body = cli_inputs_body(in);
        rc = cli_lock_resolve(c, body, lock, err);
        cJSON_Delete(body);
    }
    if (rc < 0 || exe_lock_files(lock->lock, files, n, err) < 0)
        return -1;
    *cache = exe_cache_open(NULL, err);
    return *cache ? 0 : -1;
}

static int
cmd_fetch(struct cli *c, int argc, char **argv)
{
    struct cli_inputs in;
    struct cli_lock lock = {0};
    struct exe_lock_file *files = NULL;
    struct exe_cache *cache = NULL;
    struct exe_fetch st;
    struct app_err err = {0};
    const char *lock_id = NULL;
    size_t n = 0;
    int rc;

    cli_inputs_init(&in);
    if (lock_args(c, argc, argv, &in, &lock_id, NULL, &rc) < 0)
        goto out;
    if (!lock_id && !in.date) {
        rc = cli_usage_error(argv[0], "give a lock id, --date D or a wrangler.toml");
        goto out;
    }
    if (lock_and_cache(c, &in, lock_id, &lock, &files, &n, &cache, &err) < 0 ||
        cli_fetch_lock(c, cache, files, n, &st, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (c->json) {
        cJSON *o = xjson(cJSON_CreateObject()), *arr;

        xjson(cJSON_AddStringToObject(o, "lock_id", lock.id));
        xjson(cJSON_AddStringToObject(o, "cache", exe_cache_root(cache)));
        xjson(cJSON_AddNumberToObject(o, "downloaded", (double)st.n_downloaded));
        xjson(cJSON_AddNumberToObject(o, "cached", (double)st.n_cached));
        xjson(cJSON_AddNumberToObject(o, "bytes", (double)st.bytes_identity));
        xjson(cJSON_AddNumberToObject(o, "wire_bytes", (double)st.bytes_wire));
        arr = xjson(cJSON_AddArrayToObject(o, "files"));
        for (size_t i = 0; i < n; i++) {
            cJSON *f = xjson(cJSON_CreateObject());
            char *path = exe_cache_blob_path(cache, files[i].blob.hex);

            xjson(cJSON_AddStringToObject(f, "file_name", files[i].blob.name));
            xjson(cJSON_AddStringToObject(f, "sha256", files[i].blob.hex));
            if (files[i].role)
                xjson(cJSON_AddStringToObject(f, "role", files[i].role));
            xjson(cJSON_AddStringToObject(f, "path", path));
            xjson(cJSON_AddBoolToObject(f, "downloaded", files[i].blob.downloaded));
            cJSON_AddItemToArray(arr, f);
            free(path);
        }
        cli_print_json(o);
        cJSON_Delete(o);
    } else {
        printf("lock %s: %zu files verified in %s\n", lock.id, n, exe_cache_root(cache));
        printf("  %zu downloaded (%.1f MB, %.1f MB on the wire), %zu already cached\n",
               st.n_downloaded, (double)st.bytes_identity / 1e6, (double)st.bytes_wire / 1e6,
               st.n_cached);
    }
    rc = CLI_OK;
out:
    free(files);
    exe_cache_free(cache);
    cli_lock_release(&lock);
    app_err_release(&err);
    cli_inputs_release(&in);
    return rc;
}

struct walk_ctx {
    struct cli *c;
    struct exe_cache *cache;
    cJSON *bad; /* [{sha256, message}] */
    size_t sig_bad;
};

static void
on_blob(void *ctx, const char *hex, uint64_t size, int rc, const struct app_err *e)
{
    struct walk_ctx *w = ctx;
    struct app_err se = {0};
    const char *msg = NULL;

    (void)size;
    if (rc < 0) {
        msg = e->msg;
    } else {
        /* A blob with no signature file was not put there by almanac fetch. */
        if (cli_verify_signature(w->c, w->cache, hex, &se) < 0) {
            msg = se.msg;
            w->sig_bad++;
        }
    }
    if (msg) {
        cJSON *b = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(b, "sha256", hex));
        xjson(cJSON_AddStringToObject(b, "message", msg));
        cJSON_AddItemToArray(w->bad, b);
        if (!w->c->json)
            fprintf(stderr, "almanac: %s\n", msg);
    }
    app_err_release(&se);
}

static int
verify_cache(struct cli *c, int repair)
{
    struct exe_cache *cache;
    struct exe_cache_walk walk = {0};
    struct walk_ctx w;
    struct app_err err = {0};
    int rc;

    cache = exe_cache_open(NULL, &err);
    if (!cache) {
        rc = cli_report(&err);
        app_err_release(&err);
        return rc;
    }
    /* Pinned keys are needed for every stored signature: fail once, up front. */
    if (cli_trust_load(c, &err) < 0) {
        rc = cli_report(&err);
        exe_cache_free(cache);
        app_err_release(&err);
        return rc;
    }
    w.c = c;
    w.cache = cache;
    w.bad = xjson(cJSON_CreateArray());
    w.sig_bad = 0;
    walk.fn = on_blob;
    walk.ctx = &w;
    walk.repair = repair;
    if (exe_cache_verify_all(cache, &walk, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    /* Blobs with a bad signature are found after the hash walk: remove them too. */
    if (repair && w.sig_bad) {
        const cJSON *b;

        cJSON_ArrayForEach (b, w.bad) {
            const char *hex = cli_str(b, "sha256");
            char *path = exe_cache_blob_path(cache, hex);

            if (access(path, F_OK) == 0 && exe_cache_remove(cache, hex, NULL) == 0)
                walk.removed++;
            free(path);
        }
    }
    {
        size_t bad = (size_t)cJSON_GetArraySize(w.bad);

        if (c->json) {
            cJSON *o = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(o, "cache", exe_cache_root(cache)));
            xjson(cJSON_AddNumberToObject(o, "checked", (double)walk.checked));
            xjson(cJSON_AddNumberToObject(o, "removed", (double)walk.removed));
            cJSON_AddItemToObject(o, "bad", w.bad);
            w.bad = NULL;
            cli_print_json(o);
            cJSON_Delete(o);
        } else {
            printf("checked %zu cached files in %s: %zu bad", walk.checked, exe_cache_root(cache),
                   bad);
            if (repair)
                printf(", %zu removed", walk.removed);
            printf("\n");
        }
        rc = bad == 0 || (repair && walk.removed == bad) ? CLI_OK : CLI_EVERIFY;
    }
out:
    cJSON_Delete(w.bad);
    exe_cache_free(cache);
    app_err_release(&err);
    return rc;
}

static int
cmd_verify(struct cli *c, int argc, char **argv)
{
    struct cli_inputs in;
    struct cli_lock lock = {0};
    struct exe_lock_file *files = NULL;
    struct exe_cache *cache = NULL;
    struct app_err err = {0};
    const char *lock_id = NULL;
    size_t n = 0, bad = 0;
    int repair = 0, rc;

    cli_inputs_init(&in);
    if (lock_args(c, argc, argv, &in, &lock_id, &repair, &rc) < 0)
        goto out;
    if (!lock_id && !in.date) {
        rc = verify_cache(c, repair);
        goto out;
    }
    if (lock_and_cache(c, &in, lock_id, &lock, &files, &n, &cache, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct app_err e = {0};

        if (cli_verify_blob(c, cache, files[i].blob.hex, files[i].blob.size, &e) < 0) {
            fprintf(stderr, "almanac: %s: %s\n", files[i].blob.name, e.msg);
            bad++;
            if (repair)
                exe_cache_remove(cache, files[i].blob.hex, NULL);
        } else if (!c->json) {
            printf("ok  %s  %s\n", files[i].blob.hex, files[i].blob.name);
        }
        app_err_release(&e);
    }
    if (c->json) {
        cJSON *o = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(o, "lock_id", lock.id));
        xjson(cJSON_AddBoolToObject(o, "lock_signature_ok", 1));
        xjson(cJSON_AddNumberToObject(o, "files", (double)n));
        xjson(cJSON_AddNumberToObject(o, "bad", (double)bad));
        cli_print_json(o);
        cJSON_Delete(o);
    } else {
        printf("lock %s: signature ok; %zu of %zu files verified\n", lock.id, n - bad, n);
    }
    rc = bad ? CLI_EVERIFY : CLI_OK;
out:
    free(files);
    exe_cache_free(cache);
    cli_lock_release(&lock);
    app_err_release(&err);
    cli_inputs_release(&in);
    return rc;
}

const struct cli_cmd cli_cmds_fetch[] = {
    {"fetch", "[ID | --lock ID | wrangler.toml | --date D [--flag F]... [-r requirements.txt]]",
     "download a lock's artifacts into the cache, each verified", cmd_fetch},
    {"verify", "[--repair] [ID | --lock ID | wrangler.toml | --date D [--flag F]... [-r FILE]]",
     "re-check the cache (every file), or the files of one lock", cmd_verify},
    {NULL, NULL, NULL, NULL},
};
