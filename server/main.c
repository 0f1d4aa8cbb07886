/* server/main.c: almanacd's commands: serve, seed, token create, fsck, key rotate.
 *
 * Messages go to stderr; stdout carries only a command's result (the token), so
 * scripts can capture it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/log.h"
#include "app/mem.h"
#include "catalog/seed.h"
#include "catalog/snapload.h"
#include "db/tokens.h"
#include "server/api.h"
#include "server/resolve_api.h"
#include "server/workers_api.h"
#include "server/artifacts_api.h"
#include "artifacts/artdb.h"
#include "artifacts/commands.h"
#include "artifacts/store.h"

#define DEFAULT_LISTEN "127.0.0.1:8700"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: almanacd serve --data DIR [--listen HOST:PORT] [--threads N]\n"
               "                      [--json-limit BYTES] [--upload-limit BYTES]\n"
               "                      [--sweep-interval SECONDS] [--no-sweep]\n"
               "       almanacd seed --data DIR          load the seed catalog (idempotent)\n"
               "       almanacd token create --data DIR  print a new admin token on stdout\n"
               "       almanacd fsck --data DIR [--repair] re-verify every stored artifact\n"
               "       almanacd key rotate --data DIR    make a new signing key\n"
               "environment: ALMANAC_TODAY=YYYY-MM-DD replaces today's date;\n"
               "             ALMANAC_CACHE (default ~/.cache/almanac) holds Pyodide downloads;\n"
               "             ALMANAC_ZSTD_LEVEL (1-22, default 19) is the store's zstd level\n");
}

struct opts {
    const char *data;
    const char *listen;
    long long threads, json_limit, upload_limit;
    long long sweep_interval; /* 0: the default (daily) */
    int no_sweep;
    int repair; /* fsck only */
};

static int
parse_opts(int argc, char **argv, int first, int allow_repair, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->data = getenv("ALMANAC_DATA");
    o->listen = DEFAULT_LISTEN;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--no-sweep")) {
            o->no_sweep = 1;
            continue;
        }
        if (!strcmp(a, "--repair") && allow_repair) {
            o->repair = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "almanacd: option '%s' needs a value or is unknown\n", a);
            return -1;
        }
        if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--listen")) {
            o->listen = v;
        } else if (!strcmp(a, "--threads")) {
            if (srv_parse_int(v, 1, 256, &o->threads) < 0)
                goto bad;
        } else if (!strcmp(a, "--json-limit")) {
            if (srv_parse_int(v, 1024, 1LL << 30, &o->json_limit) < 0)
                goto bad;
        } else if (!strcmp(a, "--sweep-interval")) {
            if (srv_parse_int(v, 1, 366LL * 86400, &o->sweep_interval) < 0)
                goto bad;
        } else if (!strcmp(a, "--upload-limit")) {
            if (srv_parse_int(v, 1024, 1LL << 40, &o->upload_limit) < 0)
                goto bad;
        } else {
            fprintf(stderr, "almanacd: unknown option '%s'\n", a);
            return -1;
        }
        i++;
        continue;
    bad:
        fprintf(stderr, "almanacd: invalid value '%s' for %s\n", v, a);
        return -1;
    }
    if (!o->data) {
        fprintf(stderr, "almanacd: --data DIR is required (or set ALMANAC_DATA)\n");
        return -1;
    }
    return 0;
}

static char *
cache_dir(void)
{
    const char *c = getenv("ALMANAC_CACHE");
    const char *home = getenv("HOME");

    if (c && *c)
        return xstrdup(c);
    return xasprintf("%s/.cache/almanac", home && *home ? home : "/tmp");
}

static int
parse_listen(const char *s, struct srv_config *cfg)
{
    const char *colon = strrchr(s, ':');
    long long port;

    if (!colon || (size_t)(colon - s) >= sizeof(cfg->host) || colon == s)
        return -1;
    if (srv_parse_int(colon + 1, 0, 65535, &port) < 0)
        return -1;
    memcpy(cfg->host, s, (size_t)(colon - s));
    cfg->host[colon - s] = '\0';
    cfg->port = (uint16_t)port;
    return 0;
}

/* ALMANAC_ZSTD_LEVEL overrides the store's level (tests seed faster at level 1). */
static int
zstd_level(void)
{
    const char *e = getenv("ALMANAC_ZSTD_LEVEL");
    long long v;

    if (e && srv_parse_int(e, 1, 22, &v) == 0)
        return (int)v;
    return 0;
}

static void
log_today(void)
{
    char today[APP_DATE_LEN];

    if (date_today_overridden()) {
        date_format(date_today(), today);
        fprintf(stderr, "almanacd: ALMANAC_TODAY is set: today is %s\n", today);
    }
}

static int
cmd_serve(const struct opts *o)
{
    struct srv s;
    struct app_err err = {0};
    struct db *c;
    int ret = 1;

    memset(&s, 0, sizeof(s));
    s.cfg.data_dir = o->data;
    s.cfg.json_limit = o->json_limit ? (size_t)o->json_limit : SRV_JSON_LIMIT_DEFAULT;
    s.cfg.upload_limit = o->upload_limit ? (uint64_t)o->upload_limit : SRV_UPLOAD_LIMIT_DEFAULT;
    s.cfg.threads = o->threads ? (unsigned)o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (s.cfg.threads < 1)
        s.cfg.threads = 1;
    if (parse_listen(o->listen, &s.cfg) < 0) {
        fprintf(stderr, "almanacd: --listen '%s' is not HOST:PORT\n", o->listen);
        return 2;
    }
    log_today();
    /* Open once up front so a bad data dir or a newer schema fails at start. */
    c = db_open(o->data, &err);
    if (!c) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        return 1;
    }
    db_close(c);
    s.snaps = snapcache_new();
    s.cfg.sweep_enabled = !o->no_sweep;
    s.cfg.sweep_interval =
        o->sweep_interval ? (unsigned)o->sweep_interval : SRV_SWEEP_INTERVAL_DEFAULT;
    s.cfg.zstd_level = zstd_level();
    /* Modules first, so the first request finds them ready. */
    if (srv_artifacts_init(&s, &err) < 0 || srv_jobs_start(&s, &err) < 0) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    if (srv_start(&s, &err) < 0) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    fprintf(stderr, "almanacd: serving on http://%s:%u (data %s)\n", s.cfg.host,
            (unsigned)s.cfg.port, o->data);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    while (!stop_requested)
        pause();
    fprintf(stderr, "almanacd: stopping\n");
    srv_stop(&s);
    ret = 0;
out:
    srv_jobs_stop(&s);
    srv_artifacts_fini(&s);
    srv_resolve_fini();
    snapcache_free(s.snaps);
    app_err_release(&err);
    return ret;
}

struct seed_store {
    struct art_store *store;
    struct db *cat;
};

/* Store a core file's bytes while seeding, so the seed runtimes are fully stored. */
static int
seed_store_file(void *ctx, const char *path, const char *file_name, struct app_err *err)
{
    struct seed_store *ss = ctx;
    struct art_row row;
    char hex[APP_SHA256_HEX];
    int stored;

    /* Hashing is cheap, compressing is not: a second seed skips stored bytes. */
    if (sha256_file(path, hex, NULL, err) < 0)
        return -1;
    memset(&row, 0, sizeof(row));
    stored =
        art_store_has(ss->store, hex) && artdb_get(ss->cat, hex, &row, NULL) == 0 && row.stored;
    art_row_release(&row);
    if (stored)
        return 0;
    return art_upload_file(ss->store, ss->cat, path, file_name, NULL, hex, NULL, NULL, err);
}

static int
cmd_seed(const struct opts *o)
{
    struct app_err err = {0};
    struct db *c = db_open(o->data, &err);
    struct seed_store ss = {0};
    char *cache = cache_dir();
    int ret = 1;

    log_today();
    if (!c) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    ss.cat = c;
    ss.store = art_store_open(o->data, zstd_level(), &err);
    if (!ss.store) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    if (seed_run(c, cache, seed_store_file, &ss, &err) < 0) {
        fprintf(stderr, "almanacd: seed failed: %s\n", err.msg);
        goto out;
    }
    fprintf(stderr, "almanacd: seed catalog loaded into %s\n", o->data);
    ret = 0;
out:
    art_store_free(ss.store);
    free(cache);
    db_close(c);
    app_err_release(&err);
    return ret;
}

static int
cmd_token(const struct opts *o)
{
    struct app_err err = {0};
    struct db *c = db_open(o->data, &err);
    char *token = NULL;
    int ret = 1;

    if (!c) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    if (db_token_create(c, &token, &err) < 0) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    printf("%s\n", token);
    fprintf(stderr, "almanacd: created an admin token; it is shown once, store it safely\n");
    sodium_memzero(token, strlen(token));
    ret = 0;
out:
    free(token);
    db_close(c);
    app_err_release(&err);
    return ret;
}

int
main(int argc, char **argv)
{
    struct opts o;

    app_log_init("almanacd", APP_LOG_INFO);
    if (sodium_init() < 0) {
        fprintf(stderr, "almanacd: cannot initialise libsodium\n");
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "serve"))
        return parse_opts(argc, argv, 2, 0, &o) < 0 ? 2 : cmd_serve(&o);
    if (!strcmp(argv[1], "seed"))
        return parse_opts(argc, argv, 2, 0, &o) < 0 ? 2 : cmd_seed(&o);
    if (!strcmp(argv[1], "token")) {
        if (argc < 3 || strcmp(argv[2], "create") != 0) {
            fprintf(stderr, "almanacd: usage: almanacd token create --data DIR\n");
            return 2;
        }
        return parse_opts(argc, argv, 3, 0, &o) < 0 ? 2 : cmd_token(&o);
    }
    if (!strcmp(argv[1], "fsck")) {
        /* --repair may come anywhere among the options, as documented. */
        if (parse_opts(argc, argv, 2, 1, &o) < 0)
            return 2;
        return o.repair ? art_cmd_fsck_repair(o.data) : art_cmd_fsck(o.data);
    }
    if (!strcmp(argv[1], "key")) {
        if (argc < 3 || strcmp(argv[2], "rotate") != 0) {
            fprintf(stderr, "almanacd: usage: almanacd key rotate --data DIR\n");
            return 2;
        }
        return parse_opts(argc, argv, 3, 0, &o) < 0 ? 2 : art_cmd_key_rotate(o.data);
    }
    fprintf(stderr, "almanacd: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
