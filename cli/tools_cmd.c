/* cli/tools_cmd.c: the local commands that need no server: `cache dir|list|prune|
 * clean` (what the artifact cache holds and removing what nothing needs), and
 * `completion bash|zsh|fish` and `manpage`, both generated from the command table
 * and help text (cli/help.c) so they cannot drift from `almanac help`. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/hash.h"
#include "app/mem.h"
#include "cli/cli.h"
#include "cli/help.h"
#include "cli/lockfiles.h"
#include "cli/lockfile.h"
#include "executor/cache.h"

#define PRUNE_DAYS_DEFAULT 30
#define PRUNE_DAYS_MAX 36500
#define LOCKFILE_SCAN_DEPTH 8
#define SECONDS_PER_DAY 86400

/* The parts of the cache the CLI owns; anything else under the root (the seed's
 * pyodide/ and npm/ downloads) is shown but never removed here. */
static const char *const owned_dirs[] = {"blobs", "workers", "snapshots"};

/* ---- sizes -------------------------------------------------------------------- */

struct du {
    unsigned long long bytes, files;
    /* Hard links (layouts link blobs) are counted once per walk. */
    dev_t *devs;
    ino_t *inos;
    size_t n, cap;
};

static struct du *du_cur;

static int
du_seen(struct du *d, const struct stat *st)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->inos[i] == st->st_ino && d->devs[i] == st->st_dev)
            return 1;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->inos = xrealloc(d->inos, d->cap * sizeof(*d->inos));
        d->devs = xrealloc(d->devs, d->cap * sizeof(*d->devs));
    }
    d->inos[d->n] = st->st_ino;
    d->devs[d->n++] = st->st_dev;
    return 0;
}

static int
du_visit(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)path;
    (void)f;
    if (type == FTW_F && (st->st_nlink < 2 || !du_seen(du_cur, st))) {
        du_cur->bytes += (unsigned long long)st->st_size;
        du_cur->files++;
    }
    return 0;
}

static void
du_walk(const char *path, struct du *d)
{
    du_cur = d;
    nftw(path, du_visit, 16, FTW_PHYS);
    du_cur = NULL;
}

static void
du_release(struct du *d)
{
    free(d->inos);
    free(d->devs);
    memset(d, 0, sizeof(*d));
}

static void
human(unsigned long long n, char *out, size_t len)
{
    static const char *const u[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    size_t i = 0;

    while (v >= 1024 && i + 1 < sizeof(u) / sizeof(u[0])) {
        v /= 1024;
        i++;
    }
    snprintf(out, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static int
cache_open(struct exe_cache **cache, int *rc)
{
    struct app_err err = {0};

    *cache = exe_cache_open(NULL, &err);
    if (!*cache) {
        *rc = cli_report_release(&err);
        return -1;
    }
    return 0;
}

static int
cmd_cache_dir(struct cli *c, int argc, char **argv)
{
    struct exe_cache *cache = NULL;
    int rc;

    if (cli_no_args(c, argc, argv, &rc) < 0 || cache_open(&cache, &rc) < 0)
        return rc;
    if (c->json) {
        cJSON *d = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(d, "dir", exe_cache_root(cache)));
        cli_print_json(d);
        cJSON_Delete(d);
    } else {
        printf("%s\n", exe_cache_root(cache));
    }
    exe_cache_free(cache);
    return CLI_OK;
}

static int
cmd_cache_list(struct cli *c, int argc, char **argv)
{
    static const char *const h[] = {"PART", "FILES", "SIZE", "WHAT"};
    struct exe_cache *cache = NULL;
    struct cli_table *t = NULL;
    cJSON *doc = NULL, *parts;
    DIR *d;
    struct dirent *e;
    struct du total = {0};
    int rc;

    if (cli_no_args(c, argc, argv, &rc) < 0 || cache_open(&cache, &rc) < 0)
        return rc;
    doc = xjson(cJSON_CreateObject());
    xjson(cJSON_AddStringToObject(doc, "dir", exe_cache_root(cache)));
    parts = xjson(cJSON_AddArrayToObject(doc, "parts"));
    if (!c->json)
        t = cli_table_new(4, h);
    d = opendir(exe_cache_root(cache));
    while (d && (e = readdir(d))) {
        char *p, size[32], files[32];
        struct du u = {0};
        const char *what = "not the CLI's (left alone)";
        cJSON *row;

        if (e->d_name[0] == '.')
            continue;
        p = xasprintf("%s/%s", exe_cache_root(cache), e->d_name);
        du_walk(p, &u);
        du_walk(p, &total);
        for (size_t i = 0; i < sizeof(owned_dirs) / sizeof(owned_dirs[0]); i++)
            if (!strcmp(e->d_name, owned_dirs[i]))
                what = i == 0   ? "verified artifacts (content-addressed)"
                       : i == 1 ? "per-worker layouts (hard links into blobs)"
                                : "Pyodide memory snapshots";
        human(u.bytes, size, sizeof(size));
        snprintf(files, sizeof(files), "%llu", u.files);
        if (t) {
            const char *cells[] = {e->d_name, files, size, what};

            cli_table_add(t, cells);
        }
        row = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(row, "name", e->d_name));
        xjson(cJSON_AddNumberToObject(row, "files", (double)u.files));
        xjson(cJSON_AddNumberToObject(row, "bytes", (double)u.bytes));
        xjson(cJSON_AddStringToObject(row, "what", what));
        cJSON_AddItemToArray(parts, row);
        du_release(&u);
        free(p);
    }
    if (d)
        closedir(d);
    xjson(cJSON_AddNumberToObject(doc, "bytes", (double)total.bytes));
    if (c->json) {
        cli_print_json(doc);
    } else {
        char size[32];

        human(total.bytes, size, sizeof(size));
        printf("%s: %s\n", exe_cache_root(cache), size);
        cli_table_print(t);
        t = NULL;
    }
    du_release(&total);
    cJSON_Delete(doc);
    exe_cache_free(cache);
    return CLI_OK;
}

/* ---- removal ------------------------------------------------------------------ */

static int
rm_visit(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    if (type == FTW_DP)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf path; blobs are read-only files but their directories are writable. */
static int
rm_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    return nftw(path, rm_visit, 16, FTW_DEPTH | FTW_PHYS);
}

static int
cmd_cache_clean(struct cli *c, int argc, char **argv)
{
    struct exe_cache *cache = NULL;
    struct du u = {0};
    char size[32];
    int rc = CLI_OK;

    if (cli_no_args(c, argc, argv, &rc) < 0 || cache_open(&cache, &rc) < 0)
        return rc;
    for (size_t i = 0; i < sizeof(owned_dirs) / sizeof(owned_dirs[0]); i++) {
        char *p = xasprintf("%s/%s", exe_cache_root(cache), owned_dirs[i]);

        du_walk(p, &u);
        if (rm_tree(p) < 0) {
            fprintf(stderr, "almanac: cannot remove '%s': %s\n", p, strerror(errno));
            rc = CLI_ENET;
        }
        free(p);
    }
    human(u.bytes, size, sizeof(size));
    if (c->json) {
        cJSON *d = xjson(cJSON_CreateObject());

        xjson(cJSON_AddNumberToObject(d, "removed_files", (double)u.files));
        xjson(cJSON_AddNumberToObject(d, "removed_bytes", (double)u.bytes));
        cli_print_json(d);
        cJSON_Delete(d);
    } else {
        printf("removed %llu files (%s) from %s\n", u.files, size, exe_cache_root(cache));
    }
    du_release(&u);
    exe_cache_free(cache);
    return rc;
}

/* What prune keeps: blob digests (and lock ids, for snapshots) from lock files. */
struct keep {
    char **hex;
    size_t n, cap;
    char **locks;
    size_t n_locks, cap_locks;
    size_t n_files;
};

static struct keep *keep_cur;

static void
push(char ***arr, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *arr = xrealloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[(*n)++] = xstrdup(s);
}

static int
keeps(const struct keep *k, const char *hex)
{
    for (size_t i = 0; i < k->n; i++)
        if (!strcmp(k->hex[i], hex))
            return 1;
    return 0;
}

/* Read one almanac.lock for its digests. It is not verified: a file read only to
 * decide what to keep can at worst keep too much. */
static void
keep_lockfile(struct keep *k, const char *path)
{
    struct exe_lock_file *files = NULL;
    struct app_err err = {0};
    char *text = NULL;
    size_t len = 0, n = 0;
    cJSON *doc;

    if (file_read_all(path, &text, &len, CLI_LOCKFILE_MAX, &err) < 0) {
        app_err_release(&err);
        return;
    }
    doc = cJSON_ParseWithLength(text, len);
    free(text);
    if (exe_lock_files(cJSON_GetObjectItemCaseSensitive(doc, "lock"), &files, &n, &err) == 0) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "lock_id");

        for (size_t i = 0; i < n; i++)
            push(&k->hex, &k->n, &k->cap, files[i].blob.hex);
        if (cJSON_IsString(id))
            push(&k->locks, &k->n_locks, &k->cap_locks, id->valuestring);
        k->n_files++;
    }
    app_err_release(&err);
    free(files);
    cJSON_Delete(doc);
}

static int
scan_visit(const char *path, const struct stat *st, int type, struct FTW *f)
{
    const char *base = path + f->base;

    (void)st;
    if (type == FTW_D &&
        (f->level > LOCKFILE_SCAN_DEPTH || !strcmp(base, ".git") || !strcmp(base, "node_modules")))
        return FTW_SKIP_SUBTREE;
    if (type == FTW_F && !strcmp(base, CLI_LOCKFILE_NAME))
        keep_lockfile(keep_cur, path);
    return FTW_CONTINUE;
}

/* The latest use of a file: its access time (Node reads blobs through the
 * layouts' hard links, so the shared inode's atime moves; relatime keeps it within
 * a day) or its modification. */
static time_t
last_use(const struct stat *st)
{
    return st->st_atime > st->st_mtime ? st->st_atime : st->st_mtime;
}

struct prune_stats {
    unsigned long long bytes;
    size_t blobs, layouts, snapshots, kept;
};

static int
cmd_cache_prune(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"older-than", 0, 1, 1}, {NULL, 0, 0, 0}};
    struct cli_opts o;
    struct exe_cache *cache = NULL;
    struct keep k = {0};
    struct prune_stats ps = {0};
    long days = PRUNE_DAYS_DEFAULT;
    time_t cutoff;
    char *p = NULL;
    DIR *d = NULL;
    struct dirent *e;
    int rc = CLI_EUSAGE, key;

    cli_opts_init(&o, argc, argv);
    while ((key = cli_opts_next(c, &o, opts)) > 0) {
        char *end = NULL;

        errno = 0;
        days = strtol(o.arg, &end, 10);
        if (errno || !end || *end || end == o.arg || days < 0 || days > PRUNE_DAYS_MAX)
            return cli_usage_error(argv[0], "--older-than '%s' is not a number of days (0-%d)",
                                   o.arg, PRUNE_DAYS_MAX);
    }
    if (key < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    if (cache_open(&cache, &rc) < 0)
        return rc;
    keep_cur = &k;
    if (o.n_pos == 0)
        nftw(".", scan_visit, 16, FTW_PHYS | FTW_ACTIONRETVAL);
    for (int i = 0; i < o.n_pos; i++)
        if (nftw(o.pos[i], scan_visit, 16, FTW_PHYS | FTW_ACTIONRETVAL) < 0) {
            fprintf(stderr, "almanac: cannot read '%s': %s\n", o.pos[i], strerror(errno));
            rc = CLI_EUSAGE;
            goto out;
        }
    keep_cur = NULL;
    cutoff = time(NULL) - (time_t)days * SECONDS_PER_DAY;
    /* Blobs: blobs/sha256/<ab>/<hex> with .sig and .ok beside them. */
    p = xasprintf("%s/blobs/sha256", exe_cache_root(cache));
    d = opendir(p);
    while (d && (e = readdir(d))) {
        char *sub;
        DIR *sd;
        struct dirent *b;

        if (e->d_name[0] == '.')
            continue;
        sub = xasprintf("%s/%s", p, e->d_name);
        sd = opendir(sub);
        while (sd && (b = readdir(sd))) {
            char *bp;
            struct stat st;

            if (strlen(b->d_name) != APP_SHA256_HEX - 1 || !sha256_hex_valid(b->d_name))
                continue;
            bp = xasprintf("%s/%s", sub, b->d_name);
            if (stat(bp, &st) == 0) {
                if (keeps(&k, b->d_name) || last_use(&st) >= cutoff) {
                    ps.kept++;
                } else {
                    struct app_err err = {0};

                    if (exe_cache_remove(cache, b->d_name, &err) == 0) {
                        ps.blobs++;
                        ps.bytes += (unsigned long long)st.st_size;
                    }
                    app_err_release(&err);
                }
            }
            free(bp);
        }
        if (sd)
            closedir(sd);
        free(sub);
    }
    if (d)
        closedir(d);
    d = NULL;
    /* Layouts (rebuilt on the next run) and snapshots (remade) unused since the
     * cutoff; a snapshot of a lock some lock file pins stays. */
    for (int part = 0; part < 2; part++) {
        free(p);
        p = xasprintf("%s/%s", exe_cache_root(cache), part ? "snapshots" : "workers");
        d = opendir(p);
        while (d && (e = readdir(d))) {
            char *ep;
            struct stat st;
            int keep = 0;

            if (e->d_name[0] == '.')
                continue;
            ep = xasprintf("%s/%s", p, e->d_name);
            if (part)
                for (size_t i = 0; i < k.n_locks; i++)
                    if (strlen(k.locks[i]) > 7 && !strncmp(e->d_name, k.locks[i] + 7, 32))
                        keep = 1;
            if (lstat(ep, &st) == 0 && !keep && last_use(&st) < cutoff) {
                struct du u = {0};

                du_walk(ep, &u);
                if (rm_tree(ep) == 0) {
                    ps.bytes += part ? u.bytes : 0; /* a layout's bytes are the blobs' */
                    if (part)
                        ps.snapshots++;
                    else
                        ps.layouts++;
                }
                du_release(&u);
            }
            free(ep);
        }
        if (d)
            closedir(d);
        d = NULL;
    }
    if (c->json) {
        cJSON *j = xjson(cJSON_CreateObject());

        xjson(cJSON_AddNumberToObject(j, "lock_files", (double)k.n_files));
        xjson(cJSON_AddNumberToObject(j, "removed_blobs", (double)ps.blobs));
        xjson(cJSON_AddNumberToObject(j, "removed_layouts", (double)ps.layouts));
        xjson(cJSON_AddNumberToObject(j, "removed_snapshots", (double)ps.snapshots));
        xjson(cJSON_AddNumberToObject(j, "removed_bytes", (double)ps.bytes));
        xjson(cJSON_AddNumberToObject(j, "kept_blobs", (double)ps.kept));
        cli_print_json(j);
        cJSON_Delete(j);
    } else {
        char size[32];

        human(ps.bytes, size, sizeof(size));
        printf("removed %zu blobs, %zu layouts, %zu snapshots (%s); kept %zu blobs (%zu lock "
               "file(s) found, or used in the last %ld days)\n",
               ps.blobs, ps.layouts, ps.snapshots, size, ps.kept, k.n_files, days);
    }
    rc = CLI_OK;
out:
    keep_cur = NULL;
    for (size_t i = 0; i < k.n; i++)
        free(k.hex[i]);
    for (size_t i = 0; i < k.n_locks; i++)
        free(k.locks[i]);
    free(k.hex);
    free(k.locks);
    free(p);
    exe_cache_free(cache);
    return rc;
}

/* ---- completion and manual ---------------------------------------------------- */

static int
cmd_completion(struct cli *c, int argc, char **argv)
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
    if (o.n_pos != 1)
        return cli_usage_error(argv[0], "give a shell: bash, zsh or fish");
    rc = cli_completion_print(stdout, o.pos[0]);
    if (rc < 0)
        return cli_usage_error(argv[0], "no completion for '%s' (bash, zsh or fish)", o.pos[0]);
    return CLI_OK;
}

static int
cmd_manpage(struct cli *c, int argc, char **argv)
{
    int rc;

    if (cli_no_args(c, argc, argv, &rc) < 0)
        return rc;
    cli_manpage_print(stdout, cli_help_tail);
    return CLI_OK;
}

const struct cli_cmd cli_cmds_tools[] = {
    {"cache dir", "", "print the artifact cache's directory", cmd_cache_dir},
    {"cache list", "", "what the cache holds, part by part, with sizes", cmd_cache_list},
    {"cache prune", "[DIR]... [--older-than DAYS]",
     "remove cached files no lock file under DIR needs and no run used lately", cmd_cache_prune},
    {"cache clean", "", "remove every artifact, layout and snapshot from the cache",
     cmd_cache_clean},
    {"completion", "bash|zsh|fish", "print a shell completion script", cmd_completion},
    {"manpage", "", "print the almanac(1) manual page (roff), made from this help", cmd_manpage},
    {NULL, NULL, NULL, NULL},
};
