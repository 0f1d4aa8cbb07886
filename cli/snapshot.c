/* cli/snapshot.c: fetch, verify, keep and use the signed catalog snapshot. Every
 * refusal names the attack it stops (rollback, freeze, endless data) so a user who
 * meets one knows what a mirror tried. */
#include "cli/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "app/buf.h"
#include "app/date.h"
#include "app/fs.h"
#include "app/hash.h"
#include "app/mem.h"
#include "artifacts/minisign.h"
#include "cli/client.h"
#include "cli/trust.h"

#define STATE_FILE "snapshot_versions"
#define STATE_MAX (1024 * 1024)
#define SIG_MAX 16384
/* A document and its signature read across a re-issue disagree: read both again. */
#define SYNC_ATTEMPTS 3
/* Frames for HTTP keep their window at 8 MiB (DESIGN §8; RFC 9659's zstd content
 * coding): a larger one is refused rather than given the memory it asks for. */
#define ZSTD_HTTP_WINDOW_LOG 23
/* Decompressed bytes per step: on the stack, a few steps per snapshot. */
#define UNZSTD_CHUNK 65536

void
cli_snapshot_free(struct cli_snapshot *s)
{
    if (!s)
        return;
    snap_free(s->snap);
    free(s->source);
    free(s);
}

char *
cli_config_path(const char *name)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

    if (xdg && *xdg)
        return xasprintf("%s/almanac/%s", xdg, name);
    return xasprintf("%s/.config/almanac/%s", home && *home ? home : ".", name);
}

static char *
cache_path(const char *name)
{
    const char *env = getenv("ALMANAC_CACHE"), *home = getenv("HOME");

    if (env && *env)
        return xasprintf("%s/catalog/%s", env, name);
    return xasprintf("%s/.cache/almanac/catalog/%s", home && *home ? home : ".", name);
}

/* Write path atomically (temp file, fsync, rename), creating its directory. */
static int
save_file(const char *path, const char *data, size_t len, mode_t mode, struct app_err *err)
{
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = -1, ret = -1;

    if (slash) {
        *slash = '\0';
        if (fs_mkdir_p(dir) < 0) {
            app_fail(err, APP_EINTERNAL, "cannot create '%s': %s", dir, strerror(errno));
            goto out;
        }
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        goto fail;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail;
    ret = 0;
    goto out;
fail:
    app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (ret < 0)
        unlink(tmp);
    free(tmp);
    free(dir);
    return ret;
}

/* ---- the highest verified version per key (config directory) */

struct seen {
    long long version, issued_at;
    int found;
};

/* Find key_id's line in the state text: "<KEYID> <version> <issued_at> <digest>". */
static void
seen_find(const char *text, const char *key_id, struct seen *s)
{
    const char *p = text;

    memset(s, 0, sizeof(*s));
    while (p && *p) {
        char id[32], ia[32], dg[80];
        long long v;

        if (sscanf(p, "%31s %lld %31s %79s", id, &v, ia, dg) == 4 && strcmp(id, key_id) == 0 &&
            date_parse_rfc3339(ia, &s->issued_at) == 0) {
            s->version = v;
            s->found = 1;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
}

static int
state_read(char **text, struct app_err *err)
{
    char *path = cli_config_path(STATE_FILE);
    size_t len;
    int ret = 0;

    *text = NULL;
    if (access(path, F_OK) != 0)
        *text = xstrdup("");
    else
        ret = file_read_all(path, text, &len, STATE_MAX, err);
    free(path);
    return ret;
}

/* Replace key_id's line with the accepted snapshot's facts. */
static int
state_record(const struct cli_snapshot *s, struct app_err *err)
{
    char *text = NULL, *path = cli_config_path(STATE_FILE);
    char ia[APP_TIME_LEN];
    struct buf b;
    const char *p;
    int ret = -1;

    buf_init(&b, 0);
    if (state_read(&text, err) < 0)
        goto out;
    for (p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        size_t kl = strlen(s->key_id);

        if (n && !(n > kl && strncmp(p, s->key_id, kl) == 0 && p[kl] == ' '))
            if (buf_append(&b, p, n) < 0 || buf_append(&b, "\n", 1) < 0)
                abort();
        p = nl ? nl + 1 : NULL;
    }
    date_time_rfc3339(s->meta.issued_at, ia);
    if (buf_printf(&b, "%s %lld %s %s\n", s->key_id, s->meta.version, ia, s->digest) < 0)
        abort();
    ret = save_file(path, b.data ? b.data : "", b.len, 0600, err);
out:
    buf_release(&b);
    free(text);
    free(path);
    return ret;
}

/* ---- checks */

/* Verify sig over bytes, parse, check freeze and rollback. *out on success. */
static int
accept_doc(struct cli *c, const char *source, const char *bytes, size_t len, const char *sig,
           struct cli_snapshot **out, struct app_err *err)
{
    struct cli_snapshot *s = xcalloc(1, sizeof(*s));
    char hex[APP_SHA256_HEX], now_s[APP_TIME_LEN], ex[APP_TIME_LEN], *state = NULL;
    struct seen seen;
    long long now = (long long)time(NULL);
    int ret = -1;

    s->source = xstrdup(source);
    sha256_hex(bytes, len, hex);
    snprintf(s->digest, sizeof(s->digest), "sha256:%s", hex);
    if (art_sig_key_id(sig, s->key_id, err) < 0) {
        cli_wrap(err, APP_EVERIFY, "catalog snapshot from %s", source);
        goto out;
    }
    if (cli_trust_verify(c, bytes, len, sig, "snapshot", hex, err) < 0) {
        cli_wrap(err, APP_EVERIFY, "catalog snapshot from %s is not signed by a pinned key",
                 source);
        goto out;
    }
    s->snap = snap_parse(bytes, len, &s->meta, err);
    if (!s->snap) {
        cli_wrap(err, APP_EVERIFY, "catalog snapshot from %s", source);
        goto out;
    }
    /* Freeze: the real clock, never ALMANAC_TODAY. */
    if (now >= s->meta.expires) {
        date_time_rfc3339(now, now_s);
        date_time_rfc3339(s->meta.expires, ex);
        app_fail(err, APP_EVERIFY,
                 "catalog snapshot version %lld from %s expired at %s (it is %s): refusing a "
                 "frozen catalog (freeze attack or a stale mirror)",
                 s->meta.version, source, ex, now_s);
        goto out;
    }
    if (state_read(&state, err) < 0)
        goto out;
    seen_find(state, s->key_id, &seen);
    if (seen.found && (s->meta.version < seen.version ||
                       (s->meta.version == seen.version && s->meta.issued_at < seen.issued_at))) {
        app_fail(err, APP_EVERIFY,
                 "catalog snapshot from %s is version %lld, older than version %lld already "
                 "verified for key %s: refusing a rollback",
                 source, s->meta.version, seen.version, s->key_id);
        goto out;
    }
    *out = s;
    s = NULL;
    ret = 0;
out:
    free(state);
    cli_snapshot_free(s);
    return ret;
}

/* Decompress a zstd body, refusing output over limit (endless data). */
static int
unzstd(const char *in, size_t len, size_t limit, struct buf *outb, struct app_err *err)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    ZSTD_inBuffer ib = {in, len, 0};
    char chunk[UNZSTD_CHUNK];
    size_t rc = 1;
    int ret = -1;

    if (!ds)
        abort();
    ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, ZSTD_HTTP_WINDOW_LOG);
    while (ib.pos < ib.size || rc != 0) {
        ZSTD_outBuffer ob = {chunk, sizeof(chunk), 0};

        rc = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(rc)) {
            app_fail(err, APP_EVERIFY, "catalog snapshot: bad zstd data: %s",
                     ZSTD_getErrorName(rc));
            goto out;
        }
        if (outb->len + ob.pos > limit) {
            app_fail(err, APP_EVERIFY,
                     "catalog snapshot is larger than %zu bytes: stopped reading (endless data)",
                     limit);
            goto out;
        }
        if (buf_append(outb, chunk, ob.pos) < 0)
            abort();
        if (ob.pos == 0 && ib.pos == ib.size && rc != 0) {
            app_fail(err, APP_EVERIFY, "catalog snapshot: truncated zstd data");
            goto out;
        }
    }
    ret = 0;
out:
    ZSTD_freeDStream(ds);
    return ret;
}

static int
fetch_once(struct cli *c, struct buf *doc, char **sig, struct app_err *err)
{
    struct cli_response r1, r2;
    int ret = -1;

    memset(&r2, 0, sizeof(r2));
    int st = cli_server_is_static(c);
    /* A static tree has no content negotiation: the CLI names the .zst sibling. */
    const char *doc_path = st ? "/" CLI_STATIC_SNAPSHOT ".zst" : "/v1/catalog/snapshot";
    const char *sig_path =
        st ? "/" CLI_STATIC_SNAPSHOT ".minisig" : "/v1/catalog/snapshot/signature";

    if (cli_request_raw(c, "GET", doc_path, (const char *const[]){"Accept-Encoding: zstd", NULL},
                        NULL, NULL, 0, SNAPJSON_MAX, &r1, err) < 0) {
        if (strstr(err->msg, "larger than"))
            cli_wrap(err, APP_EVERIFY, "catalog snapshot: stopped reading (endless data)");
        goto out;
    }
    if (r1.status != 200) {
        cli_problem(c, &r1, err);
        cli_wrap(err, err->code, "cannot fetch the catalog snapshot of %s", c->server);
        goto out;
    }
    if (st || (r1.content_encoding && strcasecmp(r1.content_encoding, "zstd") == 0)) {
        if (unzstd(r1.body.data, r1.body.len, SNAPJSON_MAX, doc, err) < 0)
            goto out;
    } else if (r1.content_encoding && strcasecmp(r1.content_encoding, "identity") != 0) {
        app_fail(err, APP_EUNAVAILABLE, "catalog snapshot of %s has content coding '%s'", c->server,
                 r1.content_encoding);
        goto out;
    } else {
        if (buf_append(doc, r1.body.data, r1.body.len) < 0)
            abort();
    }
    if (cli_request_raw(c, "GET", sig_path, NULL, NULL, NULL, 0, SIG_MAX, &r2, err) < 0)
        goto out;
    if (r2.status != 200) {
        cli_problem(c, &r2, err);
        cli_wrap(err, err->code, "cannot fetch the catalog snapshot signature of %s", c->server);
        goto out;
    }
    *sig = xstrndup(r2.body.data ? r2.body.data : "", r2.body.len);
    ret = 0;
out:
    cli_response_release(&r1);
    cli_response_release(&r2);
    return ret;
}

static int
save_cache(const struct cli_snapshot *s, const struct buf *doc, const char *sig, const char *server,
           struct app_err *err)
{
    char *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = cache_path("latest"), name[64],
         hex[APP_SHA256_HEX];
    int ret = -1;

    snprintf(name, sizeof(name), "%s.json", s->key_id);
    p1 = cache_path(name);
    snprintf(name, sizeof(name), "%s.json.minisig", s->key_id);
    p2 = cache_path(name);
    sha256_hex(server, strlen(server), hex);
    snprintf(name, sizeof(name), "server-%.16s", hex);
    p3 = cache_path(name);
    /* The signature last: a reader that finds a pair that disagrees re-syncs. */
    if (save_file(p1, doc->data, doc->len, 0644, err) < 0 ||
        save_file(p2, sig, strlen(sig), 0644, err) < 0 ||
        save_file(p3, s->key_id, strlen(s->key_id), 0644, err) < 0 ||
        save_file(p4, s->key_id, strlen(s->key_id), 0644, err) < 0)
        goto out;
    ret = 0;
out:
    free(p1);
    free(p2);
    free(p3);
    free(p4);
    return ret;
}

int
cli_snapshot_sync(struct cli *c, struct cli_snapshot **out, struct app_err *err)
{
    struct buf doc;
    char *sig = NULL;
    struct cli_snapshot *s = NULL;
    int ret = -1;

    buf_init(&doc, 0);
    for (int attempt = 0; attempt < SYNC_ATTEMPTS; attempt++) {
        struct app_err e = {0};
        char hex[APP_SHA256_HEX];

        buf_release(&doc);
        buf_init(&doc, 0);
        free(sig);
        sig = NULL;
        if (fetch_once(c, &doc, &sig, err) < 0)
            goto out;
        /* A signature for another document: re-issued in between, read again. */
        sha256_hex(doc.data ? doc.data : "", doc.len, hex);
        if (!strstr(sig, hex) && attempt + 1 < SYNC_ATTEMPTS)
            continue;
        if (accept_doc(c, c->server, doc.data ? doc.data : "", doc.len, sig, &s, &e) < 0) {
            app_err_release(err);
            *err = e;
            goto out;
        }
        break;
    }
    if (state_record(s, err) < 0 || save_cache(s, &doc, sig, c->server, err) < 0)
        goto out;
    *out = s;
    s = NULL;
    ret = 0;
out:
    cli_snapshot_free(s);
    buf_release(&doc);
    free(sig);
    return ret;
}

/* The cached document's path for c->server: its server pointer. */
static int
cached_key(struct cli *c, char key_id[ART_KEY_ID_LEN], struct app_err *err)
{
    char name[64], hex[APP_SHA256_HEX], *p, *text = NULL;
    size_t len;
    int ret = -1;

    sha256_hex(c->server, strlen(c->server), hex);
    snprintf(name, sizeof(name), "server-%.16s", hex);
    p = cache_path(name);
    if (access(p, F_OK) != 0) {
        /* Not synced through this URL: the last snapshot synced through any. */
        free(p);
        p = cache_path("latest");
    }
    if (access(p, F_OK) != 0) {
        app_fail(err, APP_EINVAL,
                 "no verified catalog snapshot of %s in the cache: run 'almanac sync' first",
                 c->server);
        goto out;
    }
    if (file_read_all(p, &text, &len, 64, err) < 0)
        goto out;
    if (len != 16) {
        app_fail(err, APP_EINVAL, "damaged snapshot pointer '%s': run 'almanac sync'", p);
        goto out;
    }
    memcpy(key_id, text, 16);
    key_id[ART_KEY_ID_LEN - 1] = '\0';
    ret = 0;
out:
    free(text);
    free(p);
    return ret;
}

int
cli_snapshot_cached(struct cli *c, struct cli_snapshot **out, struct app_err *err)
{
    char key_id[ART_KEY_ID_LEN], name[64], *p1 = NULL, *p2 = NULL, *doc = NULL, *sig = NULL;
    size_t dlen, slen;
    int ret = -1;

    if (cached_key(c, key_id, err) < 0)
        return -1;
    snprintf(name, sizeof(name), "%s.json", key_id);
    p1 = cache_path(name);
    snprintf(name, sizeof(name), "%s.json.minisig", key_id);
    p2 = cache_path(name);
    if (file_read_all(p1, &doc, &dlen, SNAPJSON_MAX, err) < 0 ||
        file_read_all(p2, &sig, &slen, SIG_MAX, err) < 0) {
        cli_wrap(err, APP_EINVAL, "cannot read the cached catalog snapshot (run 'almanac sync')");
        goto out;
    }
    ret = accept_doc(c, "the cache", doc, dlen, sig, out, err);
out:
    free(p1);
    free(p2);
    free(doc);
    free(sig);
    return ret;
}

int
cli_snapshot_get(struct cli *c, int offline, struct cli_snapshot **out, struct app_err *err)
{
    struct app_err e = {0};
    long long now = (long long)time(NULL);

    if (offline)
        return cli_snapshot_cached(c, out, err);
    if (cli_snapshot_cached(c, out, &e) == 0) {
        if (now - (*out)->meta.issued_at < CLI_SNAPSHOT_FRESH_S)
            return 0;
        cli_snapshot_free(*out);
        *out = NULL;
    }
    app_err_release(&e);
    return cli_snapshot_sync(c, out, err);
}

int
cli_snapshot_resolve(const struct cli_snapshot *s, const struct res_input *in,
                     struct res_output *out, struct app_err *err)
{
    return res_resolve(s->snap, in, out, err);
}

/* Resolve the lock's own inputs as of as_of; 1 identical, 0 different, -1 error.
 * *other (optional, caller frees) is the id of what the snapshot gives. */
static int
try_as_of(const struct cli_snapshot *s, const cJSON *lock, const char *bytes, size_t len, int as_of,
          char **other, struct app_err *err)
{
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(lock, "compatibility_flags");
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(lock, "requirements");
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(lock, "compatibility_date");
    const char **fv = NULL, **rv = NULL;
    size_t nf = 0, nr = 0;
    struct res_input in;
    struct res_output out;
    char as_of_s[APP_DATE_LEN];
    const cJSON *e;
    int d, ret = -1;

    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    if (!cJSON_IsString(date) || date_parse(date->valuestring, &d) < 0 || !cJSON_IsArray(flags) ||
        !cJSON_IsArray(reqs)) {
        app_fail(err, APP_EINVAL, "lock has no valid compatibility_date, flags or requirements");
        return -1;
    }
    fv = xcalloc((size_t)cJSON_GetArraySize(flags) + 1, sizeof(*fv));
    rv = xcalloc((size_t)cJSON_GetArraySize(reqs) + 1, sizeof(*rv));
    cJSON_ArrayForEach (e, flags)
        if (cJSON_IsString(e))
            fv[nf++] = e->valuestring;
    cJSON_ArrayForEach (e, reqs)
        if (cJSON_IsString(e))
            rv[nr++] = e->valuestring;
    date_format(as_of, as_of_s);
    in.date = date->valuestring;
    in.flags = fv, in.n_flags = nf;
    in.requirements = rv, in.n_requirements = nr;
    in.as_of = as_of_s;
    /* A lock may name experimental flags: that was the issuer's gate, not ours. */
    in.allow_experimental = 1;
    /* The issuer's today was at least the lock's date, whatever our clock says. */
    in.today = date_today() > d ? date_today() : d;
    if (res_resolve(s->snap, &in, &out, err) < 0) {
        /* The lock's inputs do not resolve at this date: not this candidate. */
        app_err_release(err);
        ret = 0;
        goto out;
    }
    ret = out.lock_len == len && memcmp(out.lock_bytes, bytes, len) == 0;
    if (!ret && other && !*other)
        *other = xstrdup(out.lock_id);
out:
    res_output_release(&out);
    free(fv);
    free(rv);
    return ret;
}

int
cli_snapshot_check_lock(const struct cli_snapshot *s, const char *bytes, size_t len,
                        struct app_err *err)
{
    cJSON *lock = cJSON_ParseWithLength(bytes, len);
    const cJSON *date, *from;
    char hex[APP_SHA256_HEX], *other = NULL;
    int d, rc = 0, ret = -1;

    sha256_hex(bytes, len, hex);
    date = cJSON_GetObjectItemCaseSensitive(lock, "compatibility_date");
    from = cJSON_GetObjectItemCaseSensitive(lock, "upgraded_from");
    if (!cJSON_IsObject(lock) || !cJSON_IsString(date) || date_parse(date->valuestring, &d) < 0) {
        app_fail(err, APP_EINVAL, "lock sha256:%.16s is not a lock document", hex);
        goto out;
    }
    if (!cJSON_IsObject(from)) {
        /* Not moved: any as_of before its line ends gives it; its own date does. */
        rc = try_as_of(s, lock, bytes, len, d, &other, err);
    } else {
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(from, "python_line");
        const struct snap_line *l = cJSON_IsString(fl) ? snap_line(s->snap, fl->valuestring) : NULL;

        /* Moved: the target depends on which lines are still supported as of the
         * move, which changes only at an end of support: try each from the old
         * line's on. */
        for (size_t i = 0; l && rc == 0 && i < s->snap->n_lines; i++)
            if (s->snap->lines[i].end_of_support >= l->end_of_support)
                rc = try_as_of(s, lock, bytes, len, s->snap->lines[i].end_of_support, &other, err);
    }
    if (rc < 0)
        goto out;
    if (rc == 0) {
        app_fail(err, APP_EVERIFY,
                 "lock sha256:%s differs from this client's resolution of its inputs from the "
                 "signed catalog snapshot version %lld%s%s%s: refusing it",
                 hex, s->meta.version, other ? " (which gives " : "", other ? other : "",
                 other ? ")" : "");
        goto out;
    }
    ret = 0;
out:
    free(other);
    cJSON_Delete(lock);
    return ret;
}
