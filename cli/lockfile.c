/* cli/lockfile.c: almanac.lock read, verified, compared and written; the resolve
 * hook of run/dev/deploy/resolve (modes in cli/lockfile.h). */
#include "cli/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "cli/lockfiles.h"
#include "cli/output.h"
#include "cli/trust.h"
#include "executor/cache.h"

char *
cli_lockfile_path(const char *config)
{
    const char *slash = strrchr(config, '/');

    if (!slash)
        return xstrdup(CLI_LOCKFILE_NAME);
    return xasprintf("%.*s/%s", (int)(slash - config), config, CLI_LOCKFILE_NAME);
}

cJSON *
cli_lockfile_inputs(const cJSON *body)
{
    cJSON *in = xjson(cJSON_Duplicate(body, 1));

    cJSON_DeleteItemFromObjectCaseSensitive(in, "as_of");
    return in;
}

int
cli_file_replace(const char *path, const char *data, size_t len, struct app_err *err)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    struct stat st;
    mode_t mode = 0644;
    int fd, ret = -1;
    size_t off = 0;

    if (stat(path, &st) == 0)
        mode = st.st_mode & 07777;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0) {
        app_fail(err, APP_EINTERNAL, "cannot sync '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        app_fail(err, APP_EINTERNAL, "cannot replace '%s': %s", path, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (ret < 0)
        unlink(tmp);
    free(tmp);
    return ret;
}

/* The part of a lock a reviewer reads in a diff: runtime, Python, package set, the
 * enabled flags and "name version" per package. Derived from the signed lock, and
 * checked against it on every read, so it cannot say something the lock does not. */
static cJSON *
lock_summary(const cJSON *lock)
{
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(lock, "runtime"), *p;
    cJSON *s = xjson(cJSON_CreateObject()), *pk;

    xjson(cJSON_AddStringToObject(s, "runtime", cli_str(rt, "id")));
    xjson(cJSON_AddStringToObject(s, "python", cli_str(rt, "python")));
    xjson(cJSON_AddStringToObject(s, "package_set", cli_str(lock, "package_set")));
    cJSON_AddItemToObject(
        s, "enabled_flags",
        xjson(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(lock, "enabled_flags"), 1)));
    pk = xjson(cJSON_AddArrayToObject(s, "packages"));
    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(lock, "packages")) {
        char *line = xasprintf("%s %s", cli_str(p, "name"), cli_str(p, "version"));

        cJSON_AddItemToArray(pk, xjson(cJSON_CreateString(line)));
        free(line);
    }
    return s;
}

/* Written last, alone on its line: "lock" holds the signed bytes verbatim. */
#define LOCK_KEY_LINE "\n  \"lock\": "
#define LOCK_TAIL "\n}\n"

int
cli_lockfile_write(const char *path, const struct cli_lock *l, const cJSON *inputs,
                   struct app_err *err)
{
    cJSON *doc = xjson(cJSON_CreateObject());
    char *text, *raw = xstrndup(l->bytes, l->len);
    int ret;

    xjson(cJSON_AddStringToObject(doc, "//",
                                  "written by `almanac lock`: commit it; the lock is signed by "
                                  "the server's key, so edits are refused"));
    xjson(cJSON_AddNumberToObject(doc, "almanac_lock", CLI_LOCKFILE_VERSION));
    cJSON_AddItemToObject(doc, "inputs", xjson(cJSON_Duplicate(inputs, 1)));
    xjson(cJSON_AddStringToObject(doc, "lock_id", l->id));
    xjson(cJSON_AddStringToObject(doc, "signature", l->signature ? l->signature : ""));
    cJSON_AddItemToObject(doc, "summary", lock_summary(l->lock));
    /* The lock's canonical bytes as the server signed them, not re-serialized:
     * `sha256sum` of this value is the lock id. */
    cJSON_AddItemToObject(doc, "lock", xjson(cJSON_CreateRaw(raw)));
    free(raw);
    text = xjson(cJSON_Print(doc));
    {
        /* Two-space indentation reads better in a review than cJSON's tabs. */
        struct buf b;

        buf_init(&b, 0);
        for (const char *p = text; *p; p++) {
            int ok = *p != '\t'                 ? buf_append(&b, p, 1)
                     : p > text && p[-1] == ':' ? buf_puts(&b, " ")
                                                : buf_puts(&b, "  ");

            if (ok < 0)
                abort();
        }
        if (buf_puts(&b, "\n") < 0)
            abort();
        free(text);
        text = buf_detach(&b, NULL);
    }
    ret = cli_file_replace(path, text, strlen(text), err);
    free(text);
    cJSON_Delete(doc);
    return ret;
}

int
cli_lockfile_read(struct cli *c, const char *path, struct cli_lock *out, cJSON **inputs,
                  struct app_err *err)
{
    char *text = NULL, hex[APP_SHA256_HEX];
    size_t len = 0;
    cJSON *doc = NULL;
    const cJSON *ver, *id, *sig, *lock, *in;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    *inputs = NULL;
    if (access(path, F_OK) < 0)
        return app_fail(err, APP_ENOTFOUND, "no %s (run 'almanac lock')", path);
    if (file_read_all(path, &text, &len, CLI_LOCKFILE_MAX, err) < 0)
        return cli_wrap(err, APP_EINVAL, "cannot read '%s'", path);
    doc = cJSON_ParseWithLength(text, len);
    ver = cJSON_GetObjectItemCaseSensitive(doc, "almanac_lock");
    id = cJSON_GetObjectItemCaseSensitive(doc, "lock_id");
    sig = cJSON_GetObjectItemCaseSensitive(doc, "signature");
    lock = cJSON_GetObjectItemCaseSensitive(doc, "lock");
    in = cJSON_GetObjectItemCaseSensitive(doc, "inputs");
    if (!cJSON_IsObject(doc) || !cJSON_IsNumber(ver) || !cJSON_IsString(id) ||
        !cJSON_IsString(sig) || !cJSON_IsObject(lock) || !cJSON_IsObject(in)) {
        app_fail(err, APP_EINVAL, "'%s' is not an almanac.lock (run 'almanac lock' again)", path);
        goto out;
    }
    if (ver->valuedouble != CLI_LOCKFILE_VERSION) {
        app_fail(err, APP_EINVAL, "'%s' is version %g; this almanac reads version %d", path,
                 ver->valuedouble, CLI_LOCKFILE_VERSION);
        goto out;
    }
    if (strncmp(id->valuestring, "sha256:", 7) != 0 || !sha256_hex_valid(id->valuestring + 7)) {
        app_fail(err, APP_EINVAL, "'%s': lock_id is not 'sha256:' and 64 hex digits", path);
        goto out;
    }
    snprintf(out->id, sizeof(out->id), "%s", id->valuestring);
    /* The signed bytes: verbatim where cli_lockfile_write put them; in a file
     * reformatted since, the lock's canonical JSON (what the server signs). */
    {
        const char *k = NULL;

        for (const char *p = text;
             (p = memmem(p, len - (size_t)(p - text), LOCK_KEY_LINE, sizeof(LOCK_KEY_LINE) - 1));
             p++)
            k = p;
        if (k && len >= sizeof(LOCK_TAIL) - 1 &&
            !memcmp(text + len - (sizeof(LOCK_TAIL) - 1), LOCK_TAIL, sizeof(LOCK_TAIL) - 1)) {
            const char *b = k + sizeof(LOCK_KEY_LINE) - 1;
            size_t n = (size_t)(text + len - (sizeof(LOCK_TAIL) - 1) - b);

            sha256_hex(b, n, hex);
            if (!strcmp(hex, out->id + 7)) {
                out->bytes = xstrndup(b, n);
                out->len = n;
            }
        }
    }
    if (!out->bytes)
        out->bytes = json_canonical(lock, &out->len);
    sha256_hex(out->bytes, out->len, hex);
    if (strcmp(hex, out->id + 7) != 0) {
        app_fail(err, APP_EVERIFY, "'%s': the lock was changed (it hashes to sha256:%s, not %s)",
                 path, hex, out->id);
        goto out;
    }
    if (cli_trust_verify(c, out->bytes, out->len, sig->valuestring, "lock", out->id + 7, err) < 0) {
        cli_wrap(err, err->code, "'%s'", path);
        goto out;
    }
    out->lock = xjson(cJSON_Duplicate(lock, 1));
    {
        cJSON *want = lock_summary(out->lock);
        int same = cJSON_Compare(want, cJSON_GetObjectItemCaseSensitive(doc, "summary"), 1);

        cJSON_Delete(want);
        if (!same) {
            app_fail(err, APP_EVERIFY, "'%s': its summary does not match the signed lock", path);
            goto out;
        }
    }
    out->signature = xstrdup(sig->valuestring);
    *inputs = xjson(cJSON_Duplicate(in, 1));
    ret = 0;
out:
    if (ret < 0)
        cli_lock_release(out);
    cJSON_Delete(doc);
    free(text);
    return ret;
}

/* A short text for an input value: strings as they are, requirements by line
 * count, the rest as compact JSON (caller frees). */
static char *
value_text(const char *key, const cJSON *v)
{
    if (!v)
        return xstrdup("(none)");
    if (cJSON_IsString(v) && strcmp(key, "requirements") == 0) {
        char hex[APP_SHA256_HEX];

        sha256_hex(v->valuestring, strlen(v->valuestring), hex);
        return xasprintf("requirements sha256 %.12s", hex);
    }
    if (cJSON_IsString(v))
        return xstrdup(v->valuestring);
    return xjson(cJSON_PrintUnformatted(v));
}

static void
diff_key(FILE *f, const char *key, const cJSON *a, const cJSON *b, int *n)
{
    char *ta, *tb;

    if (a && b && cJSON_Compare(a, b, 1))
        return;
    ta = value_text(key, a);
    tb = value_text(key, b);
    if (strcmp(key, "requirements") == 0 && a && b)
        fprintf(f, "  requirements changed\n");
    else
        fprintf(f, "  %s: %s -> %s\n", key, ta, tb);
    free(ta);
    free(tb);
    (*n)++;
}

int
cli_lockfile_print_diff(FILE *f, const cJSON *was, const cJSON *now)
{
    const cJSON *e;
    int n = 0;

    cJSON_ArrayForEach (e, was)
        diff_key(f, e->string, e, cJSON_GetObjectItemCaseSensitive(now, e->string), &n);
    cJSON_ArrayForEach (e, now)
        if (!cJSON_GetObjectItemCaseSensitive(was, e->string))
            diff_key(f, e->string, NULL, e, &n);
    return n;
}

/* --offline: every file of the lock must be in the cache already. */
static int
check_cached(const struct cli_lock *l, struct app_err *err)
{
    struct exe_lock_file *files = NULL;
    struct exe_cache *cache = NULL;
    size_t n = 0, missing = 0;
    const char *first = NULL;
    int ret = -1;

    if (exe_lock_files(l->lock, &files, &n, err) < 0 || !(cache = exe_cache_open(NULL, err)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct app_err e = {0};

        if (exe_cache_check(cache, files[i].blob.hex, files[i].blob.size, 0, &e) != 1) {
            if (!first)
                first = files[i].blob.name;
            missing++;
        }
        app_err_release(&e);
    }
    if (missing) {
        app_fail(err, APP_EUNAVAILABLE,
                 "--offline: %zu file(s) of lock %s are not in the cache (first: %s); run "
                 "'almanac fetch' while the server is reachable",
                 missing, l->id, first);
        goto out;
    }
    ret = 0;
out:
    exe_cache_free(cache);
    free(files);
    return ret;
}

static int
lockfile_exists(const char *config)
{
    char *path = cli_lockfile_path(config);
    int have = access(path, F_OK) == 0;

    free(path);
    return have;
}

static const char *
mode_name(int mode)
{
    switch (mode) {
    case CLI_LOCK_LOCKED: return "--locked";
    case CLI_LOCK_FROZEN: return "--frozen";
    case CLI_LOCK_OFFLINE: return "--offline";
    }
    return "";
}

int
cli_lockfile_mode(const struct cli *c, int mode, struct app_err *err)
{
    if (!c->offline)
        return mode;
    if (mode == CLI_LOCK_LOCKED)
        return app_fail(err, APP_EINVAL,
                        "--locked asks the server; it cannot be combined with --offline");
    return CLI_LOCK_OFFLINE;
}

int
cli_lockfile_resolve(struct cli *c, const struct cli_inputs *in, const cJSON *body,
                     struct cli_lock *out, struct app_err *err)
{
    return cli_lockfile_resolve_mode(c, in, in->lock_mode, body, out, err);
}

cJSON *
cli_lockfile_doc(const struct cli_lock *l)
{
    cJSON *d = xjson(cJSON_CreateObject());

    xjson(cJSON_AddStringToObject(d, "lock_id", l->id));
    cJSON_AddItemToObject(d, "lock", xjson(cJSON_Duplicate(l->lock, 1)));
    xjson(cJSON_AddStringToObject(d, "signature", l->signature ? l->signature : ""));
    return d;
}

int
cli_lockfile_before_deploy(struct cli *c, const struct cli_inputs *in, const cJSON *body,
                           char expect[80], struct app_err *err)
{
    struct cli_lock l = {0};
    char *path;
    int mode = in->lock_mode, have;

    expect[0] = '\0';
    if (c->offline)
        return app_fail(err, APP_EINVAL, "a deploy needs the server; --offline cannot deploy");
    if (mode == CLI_LOCK_FROZEN)
        mode = CLI_LOCK_LOCKED; /* the server resolves a deploy: check it matches the file */
    path = in->config ? cli_lockfile_path(in->config) : NULL;
    have = path && access(path, F_OK) == 0;
    free(path);
    if (!have && mode == CLI_LOCK_AUTO)
        return 0; /* no file: the deploy is what it always was */
    if (cli_lockfile_resolve_mode(c, in, mode, body, &l, err) < 0)
        return -1;
    snprintf(expect, 80, "%s", l.id);
    cli_note(c, "deploying with %s (%s)", CLI_LOCKFILE_NAME, l.id);
    cli_lock_release(&l);
    return 0;
}

int
cli_lockfile_resolve_mode(struct cli *c, const struct cli_inputs *in, int mode, const cJSON *body,
                          struct cli_lock *out, struct app_err *err)
{
    struct cli_lock fresh = {0};
    cJSON *was = NULL, *now = NULL;
    char *path = NULL;
    int ret = -1, same;

    memset(out, 0, sizeof(*out));
    if ((mode = cli_lockfile_mode(c, mode, err)) < 0)
        return -1;
    /* --offline with no lock file: the last verified catalog snapshot resolves
     * (cli_lock_resolve never touches the network under c->offline). */
    if (mode == CLI_LOCK_OFFLINE && (!in->config || !lockfile_exists(in->config)))
        return cli_lock_resolve(c, body, out, err);
    if (!in->config) {
        if (mode != CLI_LOCK_AUTO)
            return app_fail(err, APP_EINVAL,
                            "%s needs a config with an %s beside it (give the wrangler.toml)",
                            mode_name(mode), CLI_LOCKFILE_NAME);
        return cli_lock_resolve(c, body, out, err);
    }
    path = cli_lockfile_path(in->config);
    if (access(path, F_OK) < 0) {
        if (mode != CLI_LOCK_AUTO) {
            app_fail(err, APP_EINVAL, "%s: no %s (run 'almanac lock %s')", mode_name(mode), path,
                     in->config);
            goto out;
        }
        ret = cli_lock_resolve(c, body, out, err);
        goto out;
    }
    if (cli_lockfile_read(c, path, out, &was, err) < 0)
        goto out;
    now = cli_lockfile_inputs(body);
    same = cJSON_Compare(was, now, 1);
    switch (mode) {
    case CLI_LOCK_FROZEN:
    case CLI_LOCK_OFFLINE:
        if (mode == CLI_LOCK_OFFLINE && check_cached(out, err) < 0)
            goto out;
        if (!same && !c->quiet) {
            fprintf(stderr,
                    "almanac: %s: the config changed since %s was written; using the "
                    "lock anyway:\n",
                    mode_name(mode), path);
            cli_lockfile_print_diff(stderr, was, now);
        }
        cli_note(c, "using %s (%s) without asking the server", path, out->id);
        break;
    case CLI_LOCK_LOCKED:
        if (cli_lock_resolve(c, body, &fresh, err) < 0)
            goto out;
        if (!same || strcmp(fresh.id, out->id) != 0) {
            fprintf(stderr, "almanac: --locked: %s is out of date:\n", path);
            cli_lockfile_print_diff(stderr, was, now);
            if (strcmp(fresh.id, out->id) != 0)
                fprintf(stderr, "  lock: %s -> %s\n", out->id, fresh.id);
            app_fail(err, APP_EINVAL,
                     "the config no longer resolves to %s (run 'almanac lock' to update it)", path);
            goto out;
        }
        cli_lock_release(out);
        *out = fresh;
        memset(&fresh, 0, sizeof(fresh));
        cli_note(c, "using %s (%s): the config still resolves to it", path, out->id);
        break;
    default:
        if (same) {
            cli_note(c, "using %s (%s)", path, out->id);
            break;
        }
        if (cli_lock_resolve(c, body, &fresh, err) < 0)
            goto out;
        if (cli_lockfile_write(path, &fresh, now, err) < 0)
            goto out;
        if (!c->quiet) {
            fprintf(stderr, "almanac: the config changed since %s was written:\n", path);
            cli_lockfile_print_diff(stderr, was, now);
            fprintf(stderr, "almanac: re-locked %s: %s -> %s\n", path, out->id, fresh.id);
        }
        cli_lock_release(out);
        *out = fresh;
        memset(&fresh, 0, sizeof(fresh));
    }
    ret = 0;
out:
    if (ret < 0)
        cli_lock_release(out);
    cli_lock_release(&fresh);
    cJSON_Delete(was);
    cJSON_Delete(now);
    free(path);
    return ret;
}
