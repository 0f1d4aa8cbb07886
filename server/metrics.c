/* server/metrics.c: request counters, latency histograms and the /metrics text. */
#include "server/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

/* Methods with their own label value; anything else counts as "other". */
static const char *const methods[] = {"GET",    "HEAD",  "PUT",     "POST",
                                      "DELETE", "PATCH", "OPTIONS", "other"};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

/* Every status the server emits has its own slot; an unexpected one is counted
 * under the first status of its class (e.g. 418 under 400). */
static const unsigned statuses[] = {200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403,
                                    404, 405, 406, 409, 410, 412, 413, 414, 415, 416, 422,
                                    428, 429, 431, 500, 501, 502, 503, 504, 505};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* Latency buckets, seconds: from a cached resolve (tens of microseconds) to a
 * large download. */
static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct route_hist {
    uint64_t le[N_BUCKETS + 1]; /* non-cumulative; the last is +Inf */
    uint64_t count;
    uint64_t sum_ns;
};

static size_t n_routes;          /* + 1 for "unmatched", the last index */
static uint64_t *req_counts;     /* [route][method][status] */
static struct route_hist *hists; /* [route][method] */
static const char **route_names;

static uint64_t cache_hits, cache_misses;
static uint64_t bytes_identity, bytes_zstd, bytes_other;
static uint64_t webhook_failures;

enum { EOL_API, EOL_SWEEP, EOL_ORIGINS };
struct eol_counts {
    uint64_t runs, failures, moved, blocked, unblocked;
};
static struct eol_counts eol[EOL_ORIGINS];

static void
add(uint64_t *p, uint64_t n)
{
    __atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void
srv_metrics_init(const char *const *names, size_t n)
{
    if (req_counts)
        return;
    n_routes = n;
    req_counts = xcalloc((n_routes + 1) * N_METHODS * N_STATUSES, sizeof(*req_counts));
    hists = xcalloc((n_routes + 1) * N_METHODS, sizeof(*hists));
    route_names = xcalloc(n_routes + 1, sizeof(*route_names));
    for (size_t k = 0; k < n; k++)
        route_names[k] = names[k];
    route_names[n_routes] = "unmatched";
}

void
srv_metrics_fini(void)
{
    free(req_counts);
    free(hists);
    free(route_names);
    req_counts = NULL;
    hists = NULL;
    route_names = NULL;
}

static size_t
method_index(const char *m)
{
    for (size_t i = 0; m && i + 1 < N_METHODS; i++)
        if (strcmp(m, methods[i]) == 0)
            return i;
    return N_METHODS - 1;
}

static size_t
status_index(unsigned st)
{
    size_t class_first = 0;

    for (size_t i = 0; i < N_STATUSES; i++) {
        if (statuses[i] == st)
            return i;
        if (statuses[i] / 100 == st / 100 && statuses[class_first] / 100 != st / 100)
            class_first = i;
    }
    return class_first;
}

void
srv_metrics_request(size_t route, const char *method, unsigned status, double seconds)
{
    size_t ri = route < n_routes ? route : n_routes, mi = method_index(method), b = 0;
    struct route_hist *h;

    if (!req_counts)
        return;
    add(&req_counts[(ri * N_METHODS + mi) * N_STATUSES + status_index(status)], 1);
    h = &hists[ri * N_METHODS + mi];
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    add(&h->le[b], 1);
    add(&h->count, 1);
    add(&h->sum_ns, (uint64_t)(seconds * 1e9));
}

void
srv_metrics_resolve_cache(int hit)
{
    add(hit ? &cache_hits : &cache_misses, 1);
}

void
srv_metrics_artifact_bytes(const char *enc, uint64_t n)
{
    if (!enc || !*enc || strcmp(enc, "identity") == 0)
        add(&bytes_identity, n);
    else if (strcmp(enc, "zstd") == 0)
        add(&bytes_zstd, n);
    else
        add(&bytes_other, n);
}

void
srv_metrics_eol_apply(const char *origin, int ok, size_t moved, size_t blocked, size_t unblocked)
{
    struct eol_counts *e = &eol[strcmp(origin, "sweep") == 0 ? EOL_SWEEP : EOL_API];

    add(&e->runs, 1);
    if (!ok) {
        add(&e->failures, 1);
        return;
    }
    add(&e->moved, moved);
    add(&e->blocked, blocked);
    add(&e->unblocked, unblocked);
}

void
srv_metrics_webhook_failure(void)
{
    add(&webhook_failures, 1);
}

static void
out(struct buf *b, const char *s)
{
    if (buf_puts(b, s) < 0)
        abort();
}

#define OUTF(b, ...)                                                                               \
    do {                                                                                           \
        if (buf_printf((b), __VA_ARGS__) < 0)                                                      \
            abort();                                                                               \
    } while (0)

static void
help(struct buf *b, const char *name, const char *type, const char *text)
{
    OUTF(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void
label(struct buf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\')
            out(b, "\\\\");
        else if (*v == '"')
            out(b, "\\\"");
        else if (*v == '\n')
            out(b, "\\n");
        else if (buf_append(b, v, 1) < 0)
            abort();
    }
}

static void
render_requests(struct buf *b)
{
    help(b, "almanac_http_requests_total", "counter",
         "HTTP requests by route template, method and status.");
    for (size_t r = 0; r <= n_routes; r++) {
        for (size_t m = 0; m < N_METHODS; m++) {
            for (size_t s = 0; s < N_STATUSES; s++) {
                uint64_t v = get(&req_counts[(r * N_METHODS + m) * N_STATUSES + s]);

                if (!v)
                    continue;
                out(b, "almanac_http_requests_total{route=\"");
                label(b, route_names[r]);
                OUTF(b, "\",method=\"%s\",status=\"%u\"} %llu\n", methods[m], statuses[s],
                     (unsigned long long)v);
            }
        }
    }
    help(b, "almanac_http_request_duration_seconds", "histogram",
         "Time from the first byte of a request to the last byte of its response, by "
         "route template and method.");
    for (size_t r = 0; r <= n_routes; r++) {
        for (size_t m = 0; m < N_METHODS; m++) {
            const struct route_hist *h = &hists[r * N_METHODS + m];
            uint64_t cum = 0, count = get(&h->count);

            if (!count)
                continue;
            for (size_t i = 0; i <= N_BUCKETS; i++) {
                cum += get(&h->le[i]);
                out(b, "almanac_http_request_duration_seconds_bucket{route=\"");
                label(b, route_names[r]);
                OUTF(b, "\",method=\"%s", methods[m]);
                if (i < N_BUCKETS)
                    OUTF(b, "\",le=\"%g\"} %llu\n", buckets[i], (unsigned long long)cum);
                else
                    OUTF(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
            }
            out(b, "almanac_http_request_duration_seconds_sum{route=\"");
            label(b, route_names[r]);
            OUTF(b, "\",method=\"%s\"} %.9f\n", methods[m], (double)get(&h->sum_ns) / 1e9);
            out(b, "almanac_http_request_duration_seconds_count{route=\"");
            label(b, route_names[r]);
            OUTF(b, "\",method=\"%s\"} %llu\n", methods[m], (unsigned long long)cum);
        }
    }
}

static const char *
eol_origin(int o)
{
    return o == EOL_SWEEP ? "sweep" : "api";
}

static void
render_counters(struct buf *b)
{
    help(b, "almanac_resolve_cache_hits_total", "counter",
         "Resolve requests answered from the response cache.");
    OUTF(b, "almanac_resolve_cache_hits_total %llu\n", (unsigned long long)get(&cache_hits));
    help(b, "almanac_resolve_cache_misses_total", "counter",
         "Resolve requests computed from the catalog.");
    OUTF(b, "almanac_resolve_cache_misses_total %llu\n", (unsigned long long)get(&cache_misses));
    help(b, "almanac_artifact_bytes_sent_total", "counter",
         "Artifact body bytes sent, by content encoding.");
    OUTF(b, "almanac_artifact_bytes_sent_total{encoding=\"identity\"} %llu\n",
         (unsigned long long)get(&bytes_identity));
    OUTF(b, "almanac_artifact_bytes_sent_total{encoding=\"zstd\"} %llu\n",
         (unsigned long long)get(&bytes_zstd));
    OUTF(b, "almanac_artifact_bytes_sent_total{encoding=\"other\"} %llu\n",
         (unsigned long long)get(&bytes_other));
    help(b, "almanac_catalog_generation", "gauge",
         "In-process catalog generation; moves on every committed catalog change.");
    OUTF(b, "almanac_catalog_generation %lu\n", db_generation());
    /* Each family's samples follow its own TYPE line, as the format requires. */
    help(b, "almanac_eol_apply_runs_total", "counter",
         "End-of-support applies, by origin (api or sweep).");
    for (int o = 0; o < EOL_ORIGINS; o++)
        OUTF(b, "almanac_eol_apply_runs_total{origin=\"%s\"} %llu\n", eol_origin(o),
             (unsigned long long)get(&eol[o].runs));
    help(b, "almanac_eol_apply_failures_total", "counter", "End-of-support applies that failed.");
    for (int o = 0; o < EOL_ORIGINS; o++)
        OUTF(b, "almanac_eol_apply_failures_total{origin=\"%s\"} %llu\n", eol_origin(o),
             (unsigned long long)get(&eol[o].failures));
    help(b, "almanac_eol_apply_workers_total", "counter",
         "Workers changed by end-of-support applies, by origin and outcome.");
    for (int o = 0; o < EOL_ORIGINS; o++) {
        OUTF(b, "almanac_eol_apply_workers_total{origin=\"%s\",outcome=\"moved\"} %llu\n",
             eol_origin(o), (unsigned long long)get(&eol[o].moved));
        OUTF(b, "almanac_eol_apply_workers_total{origin=\"%s\",outcome=\"blocked\"} %llu\n",
             eol_origin(o), (unsigned long long)get(&eol[o].blocked));
        OUTF(b, "almanac_eol_apply_workers_total{origin=\"%s\",outcome=\"unblocked\"} %llu\n",
             eol_origin(o), (unsigned long long)get(&eol[o].unblocked));
    }
    help(b, "almanac_webhook_delivery_failures_total", "counter",
         "Webhook delivery attempts that failed.");
    OUTF(b, "almanac_webhook_delivery_failures_total %llu\n",
         (unsigned long long)get(&webhook_failures));
}

/* Gauges read from the database at scrape time. */
static void
render_db(struct buf *b, struct db *c)
{
    sqlite3_stmt *st = NULL;

    help(b, "almanac_workers", "gauge", "Registered workers by Python line and status.");
    if (db_prepare(c, &st,
                   "SELECT coalesce(python_line, 'none'), status, count(*) FROM workers "
                   "GROUP BY 1, 2 ORDER BY 1, 2",
                   NULL) == 0) {
        /* A gauge that cannot be read is left out; the scrape still answers. */
        while (db_next(st, NULL) > 0) {
            out(b, "almanac_workers{python_line=\"");
            label(b, db_col_text(st, 0));
            out(b, "\",status=\"");
            label(b, db_col_text(st, 1));
            OUTF(b, "\"} %lld\n", (long long)sqlite3_column_int64(st, 2));
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    help(b, "almanac_webhook_outbox", "gauge", "Webhook deliveries by state.");
    if (db_prepare(c, &st,
                   "SELECT s.state, (SELECT count(*) FROM webhook_deliveries d "
                   "WHERE d.state = s.state) FROM (SELECT 'pending' AS state UNION ALL "
                   "SELECT 'delivered' UNION ALL SELECT 'failed') s",
                   NULL) == 0) {
        while (db_next(st, NULL) > 0) {
            out(b, "almanac_webhook_outbox{state=\"");
            label(b, db_col_text(st, 0));
            OUTF(b, "\"} %lld\n", (long long)sqlite3_column_int64(st, 1));
        }
    }
    sqlite3_finalize(st);
}

void
srv_metrics_render(struct buf *b, struct db *c)
{
    if (!req_counts)
        return;
    render_requests(b);
    render_counters(b);
    if (c)
        render_db(b, c);
}
