/* server/main.c: almanacd's commands: serve, init, seed, token, fsck, key rotate.
 *
 * Messages go to stderr; stdout carries only a command's result (the token), so
 * scripts can capture it.
 */
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <sodium.h>

#include "app/date.h"
#include "app/fs.h"
#include "app/hash.h"
#include "app/log.h"
#include "app/lrucache.h"
#include "app/mem.h"
#include "app/ratelimit.h"
#include "catalog/seed.h"
#include "catalog/snapissue.h"
#include "catalog/snapload.h"
#include "db/events.h"
#include "db/tokens.h"
#include "server/api.h"
#include "server/backup.h"
#include "server/cors.h"
#include "server/datalock.h"
#include "server/metrics.h"
#include "server/net.h"
#include "server/ui.h"
#include "server/export.h"
#include "server/follow.h"
#include "server/mirror.h"
#include "artifacts/idcache.h"
#include "server/resolve_api.h"
#include "server/sweep.h"
#include "server/workers_api.h"
#include "server/artifacts_api.h"
#include "artifacts/artdb.h"
#include "server/artifacts_cmd.h"
#include "artifacts/store.h"

#define DEFAULT_LISTEN "127.0.0.1:8700"
/* How often the drain loop looks at the in-flight count. */
#define DRAIN_POLL_US 20000
#define CONFIG_LINE_MAX 1024
/* Bounds of the numeric options: wide enough for any real deployment, narrow enough
 * that a slip (a unit mistaken, a digit too many) is refused rather than obeyed. */
#define OPT_THREADS_MAX 256
#define OPT_BODY_LIMIT_MIN 1024 /* below this ordinary requests would be refused */
#define OPT_JSON_LIMIT_MAX (1LL << 30)
#define OPT_BYTES_MAX (1LL << 40)       /* uploads and caches: 1 TiB */
#define OPT_SECONDS_MAX (366LL * 86400) /* sweep interval, snapshot lifetime: a year */
#define OPT_CONNS_MAX 65536             /* file descriptors, in practice */
#define OPT_CONNS_MIN 16                /* the reaper's reserve must leave some to serve */
#define OPT_TIMEOUT_MAX 3600            /* idle and drain timeouts: an hour */
#define OPT_SIZE_MAX (1LL << 50)        /* parse_bytes: a PiB, beyond any cache */
/* A number with its unit; anything longer is no number srv_parse_int takes. */
#define OPT_NUM_LEN 32

/* Every serve option, its value name and its default, for --help and --config. */
struct opt_doc {
    const char *name, *arg, *def, *help;
};

static const struct opt_doc serve_opts[] = {
    {"--data", "DIR", "$ALMANAC_DATA", "data directory (made by almanacd init or seed)"},
    {"--config", "FILE", "none", "read options from FILE (key = value lines, INI or TOML)"},
    {"--listen", "ADDR", DEFAULT_LISTEN, "HOST:PORT, [IPV6]:PORT or :PORT (every interface)"},
    {"--reuse-port", NULL, "off", "set SO_REUSEPORT (share the port with other servers)"},
    {"--threads", "N", "number of CPUs", "worker threads"},
    {"--json-limit", "BYTES", "1048576", "largest JSON request body"},
    {"--upload-limit", "BYTES", "536870912", "largest artifact upload"},
    {"--sweep-interval", "SECONDS", "86400", "seconds between end-of-support sweeps"},
    {"--no-sweep", NULL, "off", "no end-of-support sweep"},
    {"--drain-timeout", "SECONDS", "10", "on SIGTERM/SIGINT, time in-flight requests get"},
    {"--log-format", "text|json", "text", "log line format"},
    {"--log-level", "LEVEL", "info", "debug, info, warn or error"},
    {"--log-file", "FILE", "stderr", "append log lines to FILE (SIGHUP reopens it)"},
    {"--access-log", "on|off", "on", "one access line per request"},
    {"--public-url", "URL", "none", "base of absolute URLs in exports (else server-relative)"},
    {"--private-reads", NULL, "off", "registry, events, webhooks and /metrics need a read token"},
    {"--metrics-listen", "ADDR", "none", "also serve GET /metrics (only) on ADDR"},
    {"--trusted-proxy", "CIDR", "none", "trust Forwarded/X-Forwarded-For from CIDR (repeatable)"},
    {"--tls-cert", "FILE", "none", "serve HTTPS with this PEM certificate (chain)"},
    {"--tls-key", "FILE", "none", "the PEM private key of --tls-cert"},
    {"--ui-dir", "DIR", "ui next to the binary", "the dashboard's files, served at /ui/"},
    {"--cors-origin", "ORIGIN", "none",
     "let pages of ORIGIN call the API; * for public reads (repeatable)"},
    {"--resolve-cache", "BYTES", "67108864",
     "LRU cache of resolve answers and unkept locks (0: none)"},
    {"--rate-limit", "N/s[,BURST]", "off",
     "per-client token bucket on cache misses, diffs, writes"},
    {"--max-conns-per-ip", "N", "64", "connections one address may hold"},
    {"--max-conns", "N", "1024", "connections in total"},
    {"--idle-timeout", "SECONDS", "15", "close a connection silent this long"},
    {"--webhook-allow-private", NULL, "off", "webhooks may target private/loopback addresses"},
    {"--identity-cache", "BYTES", "1G",
     "decompressed hot artifacts kept for identity downloads (0: off)"},
    {"--snapshot-ttl", "SECONDS", "604800", "lifetime of the signed catalog snapshot"},
};
#define N_SERVE_OPTS (sizeof(serve_opts) / sizeof(serve_opts[0]))

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: almanacd serve --data DIR [options]   (almanacd serve --help lists them)\n"
            "       almanacd init --data DIR          create an empty data directory (idempotent)\n"
            "       almanacd seed --data DIR          load the seed catalog (idempotent)\n"
            "       almanacd token create --data DIR [--name NAME] [--scope admin|publish|read]\n"
            "                             [--expires YYYY-MM-DD]   print a new token on stdout\n"
            "       almanacd token list --data DIR    names, scopes, created, last used\n"
            "       almanacd token revoke NAME --data DIR\n"
            "       almanacd fsck --data DIR [--repair] re-verify every stored artifact\n"
            "       almanacd key rotate --data DIR    make a new signing key (with a rotation\n"
            "                                         statement signed by the old one)\n"
            "       almanacd export-static --data DIR --to OUT [--expires 7d]\n"
            "                                         a static mirror tree for any web server\n"
            "       almanacd mirror --upstream URL --data DIR [serve options]\n"
            "                                         a read-only mirror of URL (--upstream-key\n"
            "                                         FILE, --poll-interval S, --snapshot-poll S)\n"
            "       almanacd mirror --upstream URL --static OUT [--data DIR] [--once]\n"
            "                                         keep a static mirror tree up to date\n"
            "       almanacd backup --data DIR --to FILE [--no-artifacts]\n"
            "       almanacd restore --from FILE --data NEWDIR\n"
            "       almanacd --version\n"
            "environment: ALMANAC_TODAY=YYYY-MM-DD replaces today's date (invalid: fatal);\n"
            "             ALMANAC_DATA is the default --data;\n"
            "             ALMANAC_CACHE (default ~/.cache/almanac) holds Pyodide downloads;\n"
            "             ALMANAC_ZSTD_LEVEL (1-22, default 19) is the store's zstd level\n");
}

static void
serve_usage(FILE *f)
{
    fprintf(f, "usage: almanacd serve --data DIR [options]\n"
               "       almanacd mirror --upstream URL (--data DIR | --static OUT) [options]\n"
               "options (default in brackets):\n");
    for (size_t i = 0; i < N_SERVE_OPTS; i++) {
        char left[48];

        snprintf(left, sizeof(left), "%s%s%s", serve_opts[i].name, serve_opts[i].arg ? " " : "",
                 serve_opts[i].arg ? serve_opts[i].arg : "");
        fprintf(f, "  %-30s %s [%s]\n", left, serve_opts[i].help, serve_opts[i].def);
    }
    fprintf(f, "signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reopens --log-file\n"
               "almanacd mirror takes the same options (writes are refused) and:\n"
               "  --upstream URL                 the almanacd to follow (required)\n"
               "  --upstream-key FILE            pin its minisign public key [trust on first use]\n"
               "  --poll-interval SECONDS        how often its events are read [2]\n"
               "  --snapshot-poll SECONDS        how often its snapshot is re-read [60]\n"
               "  --static OUT                   keep a static tree at OUT instead of serving\n"
               "                                 (--data defaults to OUT.mirror-data)\n"
               "  --once                         with --static: sync once and exit\n");
}

struct opts {
    const char *data;
    const char *listen;
    long long threads, json_limit, upload_limit;
    long long sweep_interval; /* 0: the default (daily) */
    long long drain_timeout;
    int no_sweep, reuse_port, private_reads, access_log, repair, no_artifacts;
    long long resolve_cache; /* -1: the default */
    double rate, rate_burst;
    long long max_conns_per_ip, max_conns, idle_timeout;
    int webhook_allow_private;
    const char *to, *from; /* backup, restore */
    const char *log_format, *log_level, *log_file, *public_url, *metrics_listen;
    const char *tls_cert, *tls_key;
    const char *trusted[SRV_MAX_TRUSTED_PROXIES];
    size_t n_trusted;
    const char *ui_dir;
    const char *cors[SRV_CORS_MAX];
    size_t n_cors;
    /* token commands */
    long long snapshot_ttl;   /* 0: the default (7 days) */
    long long identity_cache; /* -1: the default (1 GiB) */
    /* token commands; export-static --expires (a duration) */
    const char *name, *scope, *expires;
    /* mirror */
    const char *upstream, *static_out, *upstream_key;
    long long poll_interval, snapshot_poll;
    int once;
    /* strings read from --config, freed at exit */
    char *owned[2 * N_SERVE_OPTS + 8];
    size_t n_owned;
};

/* A unit letter and what one of it is worth. */
struct unit {
    char c;
    long long mult;
};

/* A number with an optional unit suffix from units (none: 1), as a value in
 * [min, max] after multiplying; -1 otherwise. */
static int
parse_with_unit(const char *s, const struct unit *units, size_t n_units, long long min,
                long long max, long long *out)
{
    size_t n = strlen(s);
    long long mult = 1, v;
    char num[OPT_NUM_LEN];

    if (n == 0 || n >= sizeof(num))
        return -1;
    memcpy(num, s, n + 1);
    for (size_t i = 0; i < n_units; i++) {
        if (num[n - 1] == units[i].c) {
            mult = units[i].mult;
            num[n - 1] = '\0';
            break;
        }
    }
    if (srv_parse_int(num, 0, max / mult, &v) < 0 || v * mult < min)
        return -1;
    *out = v * mult;
    return 0;
}

/* BYTES, or a number with a binary unit: 512M, 1G (0 is allowed: off). */
static int
parse_bytes(const char *s, long long *out)
{
    static const struct unit units[] = {{'K', 1LL << 10}, {'M', 1LL << 20}, {'G', 1LL << 30}};

    return parse_with_unit(s, units, sizeof(units) / sizeof(units[0]), 0, OPT_SIZE_MAX, out);
}

/* SECONDS, or a number with a unit: 90m, 12h, 7d. */
static int
parse_duration(const char *s, long long *out)
{
    static const struct unit units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};

    return parse_with_unit(s, units, sizeof(units) / sizeof(units[0]), CAT_SNAPSHOT_TTL_MIN,
                           OPT_SECONDS_MAX, out);
}

static void
opts_release(struct opts *o)
{
    for (size_t i = 0; i < o->n_owned; i++)
        free(o->owned[i]);
    o->n_owned = 0;
}

/* The options that take no value (on the command line; "true"/"false" in a config
 * file), by name without "--": one list for both. */
static const char *const switch_opts[] = {
    "no-sweep", "reuse-port", "private-reads", "repair", "no-artifacts", "webhook-allow-private",
    "once",
};

static int
is_switch(const char *k)
{
    for (size_t i = 0; i < sizeof(switch_opts) / sizeof(switch_opts[0]); i++)
        if (!strcmp(k, switch_opts[i]))
            return 1;
    return 0;
}

/* Set one option by name (without "--"); v NULL for a switch. 0, or -1 after a
 * one-line message. from is "option" or "FILE:LINE" for the message. */
static int
set_opt(struct opts *o, const char *k, const char *v, const char *from)
{
    if (is_switch(k)) {
        int on = 1;

        if (v && !strcmp(v, "false"))
            on = 0;
        else if (v && strcmp(v, "true") != 0)
            goto bad;
        if (!strcmp(k, "no-sweep"))
            o->no_sweep = on;
        else if (!strcmp(k, "reuse-port"))
            o->reuse_port = on;
        else if (!strcmp(k, "private-reads"))
            o->private_reads = on;
        else if (!strcmp(k, "no-artifacts"))
            o->no_artifacts = on;
        else if (!strcmp(k, "webhook-allow-private"))
            o->webhook_allow_private = on;
        else if (!strcmp(k, "once"))
            o->once = on;
        else
            o->repair = on;
        return 0;
    }
    if (!v) {
        fprintf(stderr, "almanacd: %s: option '--%s' needs a value or is unknown\n", from, k);
        return -1;
    }
    if (!strcmp(k, "data")) {
        o->data = v;
    } else if (!strcmp(k, "listen")) {
        if (srv_listen_check(v) < 0)
            goto bad;
        o->listen = v;
    } else if (!strcmp(k, "threads")) {
        if (srv_parse_int(v, 1, OPT_THREADS_MAX, &o->threads) < 0)
            goto bad;
    } else if (!strcmp(k, "json-limit")) {
        if (srv_parse_int(v, OPT_BODY_LIMIT_MIN, OPT_JSON_LIMIT_MAX, &o->json_limit) < 0)
            goto bad;
    } else if (!strcmp(k, "sweep-interval")) {
        if (srv_parse_int(v, 1, OPT_SECONDS_MAX, &o->sweep_interval) < 0)
            goto bad;
    } else if (!strcmp(k, "upload-limit")) {
        if (srv_parse_int(v, OPT_BODY_LIMIT_MIN, OPT_BYTES_MAX, &o->upload_limit) < 0)
            goto bad;
    } else if (!strcmp(k, "resolve-cache")) {
        if (srv_parse_int(v, 0, OPT_BYTES_MAX, &o->resolve_cache) < 0 ||
            (o->resolve_cache > 0 && o->resolve_cache < LCACHE_MIN_BYTES))
            goto bad;
    } else if (!strcmp(k, "rate-limit")) {
        if (rl_parse(v, &o->rate, &o->rate_burst) < 0)
            goto bad;
    } else if (!strcmp(k, "max-conns-per-ip")) {
        if (srv_parse_int(v, 1, OPT_CONNS_MAX, &o->max_conns_per_ip) < 0)
            goto bad;
    } else if (!strcmp(k, "max-conns")) {
        if (srv_parse_int(v, OPT_CONNS_MIN, OPT_CONNS_MAX, &o->max_conns) < 0)
            goto bad;
    } else if (!strcmp(k, "idle-timeout")) {
        if (srv_parse_int(v, 1, OPT_TIMEOUT_MAX, &o->idle_timeout) < 0)
            goto bad;
    } else if (!strcmp(k, "drain-timeout")) {
        if (srv_parse_int(v, 0, OPT_TIMEOUT_MAX, &o->drain_timeout) < 0)
            goto bad;
    } else if (!strcmp(k, "log-format")) {
        enum app_log_format f;

        if (app_log_parse_format(v, &f) < 0)
            goto bad;
        o->log_format = v;
    } else if (!strcmp(k, "log-level")) {
        enum app_log_level l;

        if (app_log_parse_level(v, &l) < 0)
            goto bad;
        o->log_level = v;
    } else if (!strcmp(k, "log-file")) {
        o->log_file = v;
    } else if (!strcmp(k, "access-log")) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            goto bad;
        o->access_log = !strcmp(v, "on");
    } else if (!strcmp(k, "public-url")) {
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            goto bad;
        o->public_url = v;
    } else if (!strcmp(k, "metrics-listen")) {
        if (srv_listen_check(v) < 0)
            goto bad;
        o->metrics_listen = v;
    } else if (!strcmp(k, "trusted-proxy")) {
        struct srv_cidr cidr;

        if (srv_cidr_parse(v, &cidr) < 0 || o->n_trusted == SRV_MAX_TRUSTED_PROXIES)
            goto bad;
        o->trusted[o->n_trusted++] = v;
    } else if (!strcmp(k, "ui-dir")) {
        o->ui_dir = v;
    } else if (!strcmp(k, "cors-origin")) {
        if (o->n_cors == SRV_CORS_MAX)
            goto bad;
        o->cors[o->n_cors++] = v;
    } else if (!strcmp(k, "tls-cert")) {
        o->tls_cert = v;
    } else if (!strcmp(k, "tls-key")) {
        o->tls_key = v;
    } else if (!strcmp(k, "identity-cache")) {
        if (parse_bytes(v, &o->identity_cache) < 0)
            goto bad;
    } else if (!strcmp(k, "snapshot-ttl")) {
        if (parse_duration(v, &o->snapshot_ttl) < 0)
            goto bad;
    } else if (!strcmp(k, "name")) {
        o->name = v;
    } else if (!strcmp(k, "scope")) {
        o->scope = v;
    } else if (!strcmp(k, "expires")) {
        o->expires = v;
    } else if (!strcmp(k, "upstream")) {
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            goto bad;
        o->upstream = v;
    } else if (!strcmp(k, "static")) {
        o->static_out = v;
    } else if (!strcmp(k, "upstream-key")) {
        o->upstream_key = v;
    } else if (!strcmp(k, "poll-interval")) {
        if (srv_parse_int(v, 1, 3600, &o->poll_interval) < 0)
            goto bad;
    } else if (!strcmp(k, "snapshot-poll")) {
        if (srv_parse_int(v, 1, 86400, &o->snapshot_poll) < 0)
            goto bad;
    } else if (!strcmp(k, "to")) {
        o->to = v;
    } else if (!strcmp(k, "from")) {
        o->from = v;
    } else {
        fprintf(stderr, "almanacd: %s: unknown option '--%s'\n", from, k);
        return -1;
    }
    return 0;
bad:
    /* A flag's own message needs no "option:" prefix; a config file's names its line. */
    if (!strcmp(from, "option"))
        fprintf(stderr, "almanacd: invalid value '%s' for --%s\n", v ? v : "", k);
    else
        fprintf(stderr, "almanacd: %s: invalid value '%s' for --%s\n", from, v ? v : "", k);
    return -1;
}

static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* --config FILE: "key = value" lines (INI, or the flat subset of TOML: quoted
 * strings, true/false, numbers), '#' or ';' comments, [sections] ignored. Keys are
 * the long option names without "--", '_' allowed for '-'. */
static int
load_config(struct opts *o, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[CONFIG_LINE_MAX], from[CONFIG_LINE_MAX + 16];
    int n = 0, ret = -1;

    if (!f) {
        fprintf(stderr, "almanacd: cannot read config '%s': %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *l = trim(line), *eq, *k, *v;
        size_t vl;

        n++;
        snprintf(from, sizeof(from), "%s:%d", path, n);
        if (!*l || *l == '#' || *l == ';' || *l == '[')
            continue;
        eq = strchr(l, '=');
        if (!eq) {
            fprintf(stderr, "almanacd: %s: expected 'key = value'\n", from);
            goto out;
        }
        *eq = '\0';
        k = trim(l);
        v = trim(eq + 1);
        for (char *p = k; *p; p++)
            if (*p == '_')
                *p = '-';
        vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        } else {
            char *hash = strchr(v, '#');

            if (hash) {
                *hash = '\0';
                v = trim(v);
            }
        }
        if (o->n_owned == sizeof(o->owned) / sizeof(o->owned[0])) {
            fprintf(stderr, "almanacd: %s: too many settings\n", from);
            goto out;
        }
        o->owned[o->n_owned] = xstrdup(v);
        if (set_opt(o, k, o->owned[o->n_owned++], from) < 0)
            goto out;
    }
    ret = 0;
out:
    fclose(f);
    return ret;
}

static int
parse_opts(int argc, char **argv, int first, struct opts *o, int serve)
{
    memset(o, 0, sizeof(*o));
    o->identity_cache = -1;
    o->data = getenv("ALMANAC_DATA");
    o->listen = DEFAULT_LISTEN;
    o->access_log = 1;
    o->drain_timeout = -1;
    o->resolve_cache = -1;
    /* The config file first, so flags override it wherever they stand. */
    for (int i = first; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config") && load_config(o, argv[i + 1]) < 0)
            return -1;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            if (serve)
                serve_usage(stdout);
            else
                usage(stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "almanacd: unexpected argument '%s'\n", a);
            return -1;
        }
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (is_switch(a + 2)) {
            set_opt(o, a + 2, NULL, "option");
            continue;
        }
        if (!v) {
            fprintf(stderr, "almanacd: option '%s' needs a value or is unknown\n", a);
            return -1;
        }
        if (set_opt(o, a + 2, v, "option") < 0)
            return -1;
        i++;
    }
    /* A static mirror keeps its state next to its tree unless told otherwise. */
    if (!o->data && o->static_out && o->n_owned < sizeof(o->owned) / sizeof(o->owned[0])) {
        o->owned[o->n_owned] = xasprintf("%s.mirror-data", o->static_out);
        o->data = o->owned[o->n_owned++];
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
        app_log(APP_LOG_INFO, "ALMANAC_TODAY is set: today is %s", today);
    }
}

/* serve, token, fsck and key work on an existing database only: a mistyped --data
 * must not silently become a new, empty catalog. */
static int
require_db(const char *data)
{
    char *db = xasprintf("%s/almanac.db", data);
    struct stat st;
    int ok = stat(db, &st) == 0 && S_ISREG(st.st_mode);

    free(db);
    if (ok)
        return 0;
    fprintf(stderr,
            "almanacd: no almanac database in '%s'; create one with 'almanacd init --data %s'\n",
            data, data);
    return -1;
}

static int
setup_logging(const struct opts *o)
{
    enum app_log_format f = APP_LOG_TEXT;
    enum app_log_level l = APP_LOG_INFO;

    /* The server's lines carry a time and a level; commands keep "almanacd: ...". */
    if (o->log_format)
        app_log_parse_format(o->log_format, &f);
    if (o->log_level)
        app_log_parse_level(o->log_level, &l);
    app_log_set_format(f);
    app_log_init("almanacd", l);
    if (o->log_file && app_log_open_file(o->log_file) < 0) {
        fprintf(stderr, "almanacd: cannot open log file '%s': %s\n", o->log_file, strerror(errno));
        return -1;
    }
    return 0;
}

/* A PEM file into memory (libmicrohttpd takes the certificate and key as strings). */
#define PEM_MAX (1024 * 1024)
static int
read_pem(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f) {
        fprintf(stderr, "almanacd: cannot read '%s': %s\n", path, strerror(errno));
        return -1;
    }
    buf = xmalloc(PEM_MAX + 1);
    n = fread(buf, 1, PEM_MAX + 1, f);
    fclose(f);
    buf[n > PEM_MAX ? PEM_MAX : n] = '\0';
    if (n == 0 || n > PEM_MAX || !strstr(buf, "-----BEGIN ")) {
        fprintf(stderr, "almanacd: '%s' is not a PEM file\n", path);
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* Wait for in-flight requests (downloads included) up to the drain timeout. */
static void
drain(struct srv *s, unsigned timeout_s)
{
    struct timespec t0, now;
    unsigned long n;

    srv_quiesce(s);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((n = srv_in_flight(s)) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= (time_t)timeout_s) {
            app_log(APP_LOG_WARN, "drain timeout of %us reached with %lu request(s) in flight",
                    timeout_s, n);
            return;
        }
        usleep(DRAIN_POLL_US);
    }
}

static int
cmd_serve(const struct opts *o, const struct follow_cfg *mirror)
{
    struct srv s;
    struct follower *follower = NULL;
    struct app_err err = {0};
    sigset_t sigs;
    struct db *c;
    struct data_lock *lock = NULL;
    char shown[SRV_ADDR_MAX], mshown[SRV_ADDR_MAX];
    int ret = 1;

    memset(&s, 0, sizeof(s));
    s.cfg.listen_fd = -1;
    s.cfg.metrics_fd = -1;
    if (!o->tls_cert != !o->tls_key) {
        fprintf(stderr, "almanacd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (!mirror && require_db(o->data) < 0)
        return 1;
    if (setup_logging(o) < 0)
        return 1;
    s.cfg.data_dir = o->data;
    s.cfg.json_limit = o->json_limit ? (size_t)o->json_limit : SRV_JSON_LIMIT_DEFAULT;
    s.cfg.upload_limit = o->upload_limit ? (uint64_t)o->upload_limit : SRV_UPLOAD_LIMIT_DEFAULT;
    s.cfg.threads = o->threads ? (unsigned)o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (s.cfg.threads < 1)
        s.cfg.threads = 1;
    s.cfg.drain_timeout =
        o->drain_timeout >= 0 ? (unsigned)o->drain_timeout : SRV_DRAIN_TIMEOUT_DEFAULT;
    s.cfg.access_log = o->access_log;
    s.cfg.private_reads = o->private_reads;
    s.cfg.public_url = o->public_url;
    for (size_t i = 0; i < o->n_trusted; i++)
        srv_cidr_parse(o->trusted[i], &s.cfg.trusted[s.cfg.n_trusted++]);
    for (size_t i = 0; i < o->n_cors; i++) {
        if (cors_add_origin(&s.cfg, o->cors[i], &err) < 0) {
            fprintf(stderr, "almanacd: %s\n", err.msg);
            app_err_release(&err);
            return 2;
        }
    }
    s.cfg.ui_dir = o->ui_dir;
    lock = data_lock_take(o->data, &err);
    if (!lock) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    /* Open once up front so a bad data dir or a newer schema fails at start. */
    c = db_open(o->data, &err);
    if (!c) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    if (!mirror) {
        char *up = NULL;
        int rc = follow_dir_upstream(c, &up, &err);

        if (rc != 0) {
            if (rc > 0)
                fprintf(stderr,
                        "almanacd: '%s' is a mirror of %s: run 'almanacd mirror --upstream %s "
                        "--data %s' (a mirror signs nothing)\n",
                        o->data, up, up, o->data);
            else
                fprintf(stderr, "almanacd: %s\n", err.msg);
            free(up);
            db_close(c);
            goto out;
        }
    }
    db_close(c);
    if (mirror && !(follower = follow_open(mirror, &err))) {
        fprintf(stderr, "almanacd: mirror: %s\n", err.msg);
        goto out;
    }
    if (srv_listen_open(o->listen, o->reuse_port, &s.cfg.listen_fd, shown, &err) < 0) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    if (o->metrics_listen &&
        srv_listen_open(o->metrics_listen, 0, &s.cfg.metrics_fd, mshown, &err) < 0) {
        fprintf(stderr, "almanacd: --metrics-listen: %s\n", err.msg);
        goto out;
    }
    if (o->tls_cert && (read_pem(o->tls_cert, &s.cfg.tls_cert_pem) < 0 ||
                        read_pem(o->tls_key, &s.cfg.tls_key_pem) < 0))
        goto out;
    s.snaps = snapcache_new();
    s.cfg.sweep_enabled = !o->no_sweep;
    s.cfg.sweep_interval =
        o->sweep_interval ? (unsigned)o->sweep_interval : SRV_SWEEP_INTERVAL_DEFAULT;
    s.cfg.zstd_level = zstd_level();
    s.cfg.resolve_cache =
        o->resolve_cache >= 0 ? (size_t)o->resolve_cache : (size_t)LCACHE_DEFAULT_BYTES;
    s.cfg.rate = o->rate;
    s.cfg.rate_burst = o->rate_burst;
    s.cfg.max_conns_per_ip =
        o->max_conns_per_ip ? (unsigned)o->max_conns_per_ip : SRV_MAX_CONNS_PER_IP_DEFAULT;
    s.cfg.max_conns = o->max_conns ? (unsigned)o->max_conns : SRV_MAX_CONNS_DEFAULT;
    s.cfg.idle_timeout = o->idle_timeout ? (unsigned)o->idle_timeout : SRV_IDLE_TIMEOUT_DEFAULT;
    s.cfg.webhook_allow_private = o->webhook_allow_private;
    s.lcache = lcache_new(s.cfg.resolve_cache);
    s.limits = rl_new(s.cfg.rate, s.cfg.rate_burst);
    /* SIGINT, SIGTERM and SIGHUP are blocked before any thread starts, so every
     * thread inherits the mask and the main thread alone takes them with sigwait: a
     * signal delivered to a library thread would otherwise never wake the loop. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    s.cfg.snapshot_ttl = o->snapshot_ttl ? o->snapshot_ttl : CAT_SNAPSHOT_TTL_DEFAULT;
    s.cfg.identity_cache =
        o->identity_cache >= 0 ? (uint64_t)o->identity_cache : ART_IDCACHE_DEFAULT;
    if (follower)
        mirror_attach(&s, follower);
    /* Modules first, so the first request finds them ready. A mirror has no jobs
     * (sweeps, webhooks: the upstream's) but its follower. */
    if (srv_artifacts_init(&s, &err) < 0 ||
        (follower ? follow_start(follower, &err) : srv_jobs_start(&s, &err)) < 0) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    if (ui_open(s.cfg.ui_dir, &s.ui, &err) < 0) {
        fprintf(stderr, "almanacd: --ui-dir: %s\n", err.msg);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    /* From here on lines go through a writer thread (app/log.h: held back at most
     * about 1 ms); the start-up errors above are direct writes, in order. */
    if (app_log_start_writer() < 0)
        app_log(APP_LOG_WARN, "no log writer thread (%s): writing lines directly", strerror(errno));
    if (srv_start(&s, &err) < 0) {
        app_log_flush();
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    s.cfg.listen_fd = -1; /* libmicrohttpd owns it now */
    s.cfg.metrics_fd = -1;
    log_today();
    app_log(APP_LOG_INFO, "serving on %s://%s (data %s, pid %ld)", o->tls_cert ? "https" : "http",
            shown, o->data, (long)getpid());
    if (follower)
        app_log(APP_LOG_INFO, "read-only mirror of %s", follow_upstream(follower));
    if (o->metrics_listen)
        app_log(APP_LOG_INFO, "metrics on http://%s/metrics", mshown);
    if (s.ui)
        app_log(APP_LOG_INFO, "dashboard at /ui/ from %s", ui_dir(s.ui));
    else
        app_log(APP_LOG_INFO, "no dashboard files found (make ui, or --ui-dir DIR)");
    for (;;) {
        int sig = 0;

        if (sigwait(&sigs, &sig) != 0 || sig != SIGHUP)
            break;
        if (app_log_reopen() < 0)
            app_log(APP_LOG_ERROR, "cannot reopen log file: %s", strerror(errno));
        else
            app_log(APP_LOG_INFO, "log file reopened (SIGHUP)");
    }
    app_log(APP_LOG_INFO, "stopping: draining in-flight requests (up to %us)", s.cfg.drain_timeout);
    drain(&s, s.cfg.drain_timeout);
    srv_stop(&s);
    app_log(APP_LOG_INFO, "stopped");
    ret = 0;
out:
    if (s.cfg.listen_fd >= 0)
        close(s.cfg.listen_fd);
    if (s.cfg.metrics_fd >= 0)
        close(s.cfg.metrics_fd);
    srv_jobs_stop(&s);
    if (follower)
        follow_stop(follower);
    srv_artifacts_fini(&s);
    srv_resolve_fini();
    lcache_free(s.lcache);
    rl_free(s.limits);
    srv_snapshot_fini();
    snapcache_free(s.snaps);
    srv_metrics_fini();
    ui_free(s.ui);
    free(s.cfg.tls_cert_pem);
    if (s.cfg.tls_key_pem) {
        sodium_memzero(s.cfg.tls_key_pem, strlen(s.cfg.tls_key_pem));
        free(s.cfg.tls_key_pem);
    }
    follow_free(follower);
    data_lock_release(lock);
    app_err_release(&err);
    return ret;
}

/* almanacd mirror --static OUT (server/mirror.c). */
static int
cmd_mirror_static(const struct opts *o, const struct follow_cfg *cfg)
{
    struct app_err err = {0};
    int ret = 0;

    if (setup_logging(o) < 0)
        return 1;
    if (mirror_static_run(cfg, o->static_out, o->once, &err) < 0) {
        fprintf(stderr, "almanacd: mirror: %s\n", err.msg);
        ret = 1;
    }
    app_err_release(&err);
    return ret;
}

static int
cmd_mirror(const struct opts *o)
{
    struct follow_cfg cfg = {0};

    if (!o->upstream) {
        fprintf(stderr, "almanacd: mirror needs --upstream URL (http:// or https://)\n");
        return 2;
    }
    if (fs_mkdir_p(o->data) < 0) {
        fprintf(stderr, "almanacd: cannot create '%s': %s\n", o->data, strerror(errno));
        return 1;
    }
    cfg.upstream = o->upstream;
    cfg.data_dir = o->data;
    cfg.upstream_key = o->upstream_key;
    cfg.poll_s = (unsigned)o->poll_interval;
    cfg.snapshot_poll_s = (unsigned)o->snapshot_poll;
    cfg.zstd_level = zstd_level();
    if (o->static_out)
        return cmd_mirror_static(o, &cfg);
    if (o->once) {
        fprintf(stderr, "almanacd: --once goes with --static OUT\n");
        return 2;
    }
    return cmd_serve(o, &cfg);
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
    struct db *c = NULL;
    struct seed_store ss = {0};
    struct data_lock *lock = NULL;
    char *cache = cache_dir();
    int ret = 1;

    log_today();
    db_event_set_principal("cli");
    if (fs_mkdir_p(o->data) < 0) {
        fprintf(stderr, "almanacd: cannot create '%s': %s\n", o->data, strerror(errno));
        goto out;
    }
    if (!(lock = data_lock_take(o->data, &err)) || !(c = db_open(o->data, &err))) {
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
    data_lock_release(lock);
    app_err_release(&err);
    return ret;
}

/* init: the database (migrated) and the artifact store, nothing else. Idempotent. */
static int
cmd_init(const struct opts *o)
{
    struct app_err err = {0};
    struct db *c = NULL;
    struct art_store *store = NULL;
    int ret = 1;

    if (fs_mkdir_p(o->data) < 0) {
        fprintf(stderr, "almanacd: cannot create '%s': %s\n", o->data, strerror(errno));
        return 1;
    }
    if (!(c = db_open(o->data, &err)) || !(store = art_store_open(o->data, zstd_level(), &err))) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        goto out;
    }
    fprintf(stderr,
            "almanacd: data directory %s is ready (load the catalog with 'almanacd seed')\n",
            o->data);
    ret = 0;
out:
    art_store_free(store);
    db_close(c);
    app_err_release(&err);
    return ret;
}

static int
cmd_token(const char *verb, const char *arg, const struct opts *o)
{
    struct app_err err = {0};
    struct db *c = NULL;
    char *token = NULL, *name = NULL;
    enum db_scope scope = DB_SCOPE_ADMIN;
    cJSON *list = NULL, *t;
    int ret = 1;

    if (require_db(o->data) < 0)
        return 1;
    db_event_set_principal("cli");
    if (o->scope && db_scope_parse(o->scope, &scope) < 0) {
        fprintf(stderr, "almanacd: --scope must be admin, publish or read\n");
        return 2;
    }
    c = db_open(o->data, &err);
    if (!c)
        goto fail;
    if (!strcmp(verb, "create")) {
        if (db_token_create(c, o->name, scope, o->expires, &token, &name, &err) < 0)
            goto fail;
        printf("%s\n", token);
        fflush(stdout);
        fprintf(stderr, "almanacd: created %s token '%s'%s%s; it is shown once, store it safely\n",
                db_scope_name(scope), name, o->expires ? ", expiring " : "",
                o->expires ? o->expires : "");
        sodium_memzero(token, strlen(token));
    } else if (!strcmp(verb, "list")) {
        list = db_token_list(c, &err);
        if (!list)
            goto fail;
        printf("%-24s %-8s %-21s %-21s %-21s %s\n", "NAME", "SCOPE", "CREATED", "LAST USED",
               "EXPIRES", "REVOKED");
        cJSON_ArrayForEach (t, list) {
            const char *k[] = {"name",         "scope",      "created_at",
                               "last_used_at", "expires_at", "revoked_at"};
            const char *v[6];

            for (int i = 0; i < 6; i++) {
                cJSON *f = cJSON_GetObjectItemCaseSensitive(t, k[i]);

                v[i] = cJSON_IsString(f) ? f->valuestring : "-";
            }
            printf("%-24s %-8s %-21s %-21s %-21s %s\n", v[0], v[1], v[2], v[3], v[4], v[5]);
        }
    } else {
        if (db_token_revoke(c, arg, &err) < 0)
            goto fail;
        fprintf(stderr, "almanacd: token '%s' is revoked\n", arg);
    }
    ret = 0;
    goto out;
fail:
    fprintf(stderr, "almanacd: %s\n", err.msg);
    ret = err.code == APP_EINVAL ? 2 : 1;
out:
    cJSON_Delete(list);
    free(token);
    free(name);
    db_close(c);
    app_err_release(&err);
    return ret;
}

static int
cmd_fsck(const struct opts *o)
{
    struct app_err err = {0};
    struct data_lock *lock = NULL;
    int ret;

    if (require_db(o->data) < 0)
        return 1;
    if (!o->repair)
        return srv_cmd_fsck(o->data, 0);
    lock = data_lock_take(o->data, &err);
    if (!lock) {
        fprintf(stderr, "almanacd: %s\n", err.msg);
        app_err_release(&err);
        return 1;
    }
    ret = srv_cmd_fsck(o->data, 1);
    data_lock_release(lock);
    return ret;
}

static int
cmd_backup(const char *verb, const struct opts *o)
{
    if (!strcmp(verb, "backup")) {
        if (!o->to) {
            fprintf(stderr,
                    "almanacd: usage: almanacd backup --data DIR --to FILE [--no-artifacts]\n");
            return 2;
        }
        if (require_db(o->data) < 0)
            return 1;
        return srv_backup(o->data, o->to, o->no_artifacts);
    }
    if (!o->from) {
        fprintf(stderr, "almanacd: usage: almanacd restore --from FILE --data DIR\n");
        return 2;
    }
    return srv_restore(o->from, o->data);
}

/* The options a command takes on its command line, as " key key ", or, starting
 * with "!", those it does not take (serve takes every server option); NULL: every
 * option (commands this table does not know). A config file may hold other keys (it
 * is shared with serve); a flag that the command would ignore is refused, so
 * "backup --repair", "token create --listen" or "serve --upstream" (meant for
 * mirror) does not pass silently. */
static const char *
cmd_flags(int argc, char **argv)
{
    static const struct {
        const char *cmd, *verb, *flags;
    } tab[] = {
        {"serve", NULL,
         "! name scope expires to from repair no-artifacts upstream upstream-key poll-interval "
         "snapshot-poll static once "},
        {"init", NULL, " data config "},
        {"seed", NULL, " data config "},
        {"token", "create", " data config name scope expires "},
        {"token", "list", " data config "},
        {"token", "revoke", " data config "},
        {"fsck", NULL, " data config repair "},
        {"key", "rotate", " data config "},
        {"backup", NULL, " data config to no-artifacts "},
        {"restore", NULL, " data config from "},
        {"export-static", NULL, " data config to expires "},
    };

    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (!strcmp(argv[1], tab[i].cmd) &&
            (!tab[i].verb || (argc > 2 && !strcmp(argv[2], tab[i].verb))))
            return tab[i].flags;
    return NULL;
}

/* -1 (after a one-line message) when a flag is not one the command takes. */
static int
check_flags(int argc, char **argv)
{
    const char *flags = argc > 1 ? cmd_flags(argc, argv) : NULL;
    char key[40];

    if (!flags)
        return 0;
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0 || !strcmp(argv[i], "--help"))
            continue;
        snprintf(key, sizeof(key), " %.36s ", argv[i] + 2);
        if ((flags[0] == '!') == (strstr(flags, key) != NULL)) {
            int verb = !strcmp(argv[1], "token") || !strcmp(argv[1], "key");

            fprintf(stderr, "almanacd: %s%s%s does not take '%s' (almanacd %s--help lists them)\n",
                    argv[1], verb ? " " : "", verb ? argv[2] : "", argv[i],
                    !strcmp(argv[1], "serve") ? "serve " : "");
            return -1;
        }
    }
    return 0;
}

/* An invalid ALMANAC_TODAY would silently mean "today"; refuse it everywhere. */
static int
check_today_env(void)
{
    const char *e = getenv("ALMANAC_TODAY");
    int days;

    if (e && date_parse(e, &days) < 0) {
        fprintf(stderr, "almanacd: ALMANAC_TODAY '%.40s' is not a YYYY-MM-DD date (2000-2999)\n",
                e);
        return -1;
    }
    return 0;
}

/* almanacd export-static: no data-directory lock, so a serving almanacd's data can
 * be exported while it runs (the export only reads, and records its snapshot). */
static int
cmd_export(const struct opts *o)
{
    struct app_err err = {0};
    long long ttl = CAT_SNAPSHOT_TTL_DEFAULT;
    size_t n = 0;

    if (!o->to) {
        fprintf(stderr, "almanacd: export-static needs --to OUT\n");
        return 2;
    }
    if (o->expires && parse_duration(o->expires, &ttl) < 0) {
        fprintf(stderr,
                "almanacd: export-static: --expires '%s' is not a duration (7d, 12h, 3600)\n",
                o->expires);
        return 2;
    }
    if (require_db(o->data) < 0)
        return 1;
    if (srv_export_static(o->data, o->to, ttl, &n, &err) < 0) {
        fprintf(stderr, "almanacd: export-static: %s\n", err.msg);
        app_err_release(&err);
        return 1;
    }
    fprintf(stderr, "almanacd: exported the catalog snapshot and %zu artifacts to %s\n", n, o->to);
    return 0;
}

int
main(int argc, char **argv)
{
    struct opts o;
    int rc;

    app_log_init("almanacd", APP_LOG_INFO);
    /* Before anything else, --version included: every invocation refuses it. */
    if (check_today_env() < 0)
        return 2;
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("almanacd %s\n", ALMANAC_VERSION);
        return 0;
    }
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
    if (check_flags(argc, argv) < 0)
        return 2;
    if (!strcmp(argv[1], "serve"))
        rc = parse_opts(argc, argv, 2, &o, 1) < 0 ? 2 : cmd_serve(&o, NULL);
    else if (!strcmp(argv[1], "mirror"))
        rc = parse_opts(argc, argv, 2, &o, 1) < 0 ? 2 : cmd_mirror(&o);
    else if (!strcmp(argv[1], "seed"))
        rc = parse_opts(argc, argv, 2, &o, 0) < 0 ? 2 : cmd_seed(&o);
    else if (!strcmp(argv[1], "init"))
        rc = parse_opts(argc, argv, 2, &o, 0) < 0 ? 2 : cmd_init(&o);
    else if (!strcmp(argv[1], "token")) {
        const char *verb = argc > 2 ? argv[2] : "";
        int first = 3, last = argc;
        const char *arg = NULL;

        if (strcmp(verb, "create") && strcmp(verb, "list") && strcmp(verb, "revoke")) {
            fprintf(stderr, "almanacd: usage: almanacd token create|list|revoke --data DIR\n");
            return 2;
        }
        if (!strcmp(verb, "revoke")) {
            /* NAME first ("revoke ci --data D") or last ("revoke --data D ci"): every
             * option of token revoke takes a value, so a last word that does not
             * follow an option is the name. */
            if (argc >= 4 && strncmp(argv[3], "--", 2) != 0) {
                arg = argv[3];
                first = 4;
            } else if (argc >= 6 && argv[argc - 1][0] != '-' && argv[argc - 2][0] != '-') {
                arg = argv[argc - 1];
                last = argc - 1;
            } else {
                fprintf(stderr, "almanacd: usage: almanacd token revoke NAME --data DIR\n");
                return 2;
            }
        }
        memset(&o, 0, sizeof(o));
        rc = parse_opts(last, argv, first, &o, 0) < 0 ? 2 : cmd_token(verb, arg, &o);
    } else if (!strcmp(argv[1], "fsck"))
        rc = parse_opts(argc, argv, 2, &o, 0) < 0 ? 2 : cmd_fsck(&o);
    else if (!strcmp(argv[1], "backup") || !strcmp(argv[1], "restore"))
        rc = parse_opts(argc, argv, 2, &o, 0) < 0 ? 2 : cmd_backup(argv[1], &o);
    else if (!strcmp(argv[1], "export-static"))
        rc = parse_opts(argc, argv, 2, &o, 0) < 0 ? 2 : cmd_export(&o);
    else if (!strcmp(argv[1], "key")) {
        if (argc < 3 || strcmp(argv[2], "rotate") != 0) {
            fprintf(stderr, "almanacd: usage: almanacd key rotate --data DIR\n");
            return 2;
        }
        rc = parse_opts(argc, argv, 3, &o, 0) < 0 ? 2
             : require_db(o.data) < 0             ? 1
                                                  : srv_cmd_key_rotate(o.data);
    } else {
        fprintf(stderr, "almanacd: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    opts_release(&o);
    return rc;
}
