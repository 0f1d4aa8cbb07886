/* server/webhooks.c: sends queued webhook deliveries with libcurl (multi interface),
 * signs them, records every attempt and schedules retries. See webhooks.h. */
#include "server/webhooks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "app/hash.h"
#include "app/log.h"
#include "app/mem.h"
#include "app/netcheck.h"
#include "db/db.h"
#include "catalog/hooks.h"
#include "server/api.h"
#include "server/metrics.h"

/* How long one curl_multi_poll waits: short, so a stop request is seen quickly. */
#define WH_POLL_MS 100
/* A receiver's answer body is discarded; one longer than this aborts the transfer
 * (the attempt fails), so a receiver cannot keep the thread reading. */
#define WH_RESPONSE_MAX (64 * 1024)

static int allow_private;

void
wh_set_allow_private(int on)
{
    allow_private = on;
}

int
wh_url_allowed(const char *url, struct app_err *err)
{
    CURLU *u = curl_url();
    char *host = NULL;
    int refused = 0;

    if (!u)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        refused = !allow_private && net_literal_refused(host);
    curl_free(host);
    curl_url_cleanup(u);
    if (refused)
        return app_fail(err, APP_EINVAL,
                        "webhook url names a private, loopback, link-local or metadata address; "
                        "the server refuses those targets (an operator can allow them with "
                        "--webhook-allow-private)");
    return 0;
}

char *
wh_url_redacted(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *out;

    if (!u)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        out = xstrdup("");
    else if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
        out = xasprintf("%s://%s:%s/", scheme, host, port);
    else
        out = xasprintf("%s://%s/", scheme, host);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

struct wh_sender {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop, kicked;
    struct db *c;
};

void
wh_sign(const char *secret, const char *body, size_t len, char out[WH_SIG_LEN])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    hex_encode(mac, sizeof(mac), out + 7);
    sodium_memzero(&st, sizeof(st));
}

static int64_t
backoff_base(void)
{
    const char *e = getenv("ALMANAC_WEBHOOK_BACKOFF_MS");
    long long v;

    if (e && srv_parse_int(e, 1, WH_BACKOFF_MS_MAX, &v) == 0)
        return v;
    return WH_BACKOFF_MS_DEFAULT;
}

int64_t
wh_backoff_ms(int attempts)
{
    int64_t d = backoff_base();

    for (int i = 1; i < attempts && d < INT64_MAX / 4; i++)
        d *= 2;
    return d;
}

/* One delivery in flight. */
struct flight {
    struct cat_delivery d;
    CURL *easy;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    size_t received;
    int64_t started_ms;
    int done;
    char refused[INET6_ADDRSTRLEN + 8]; /* an address the open-socket check refused */
};

/* libcurl's open-socket callback: every connection of every attempt comes here
 * with the address it is about to connect to (after DNS, after any happy-eyeballs
 * choice), so this is where the private-range rule holds (app/netcheck.h). */
static curl_socket_t
open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct flight *f = ctx;

    (void)purpose;
    if (!allow_private && net_addr_refused(&a->addr)) {
        const void *where =
            a->family == AF_INET6
                ? (const void *)&((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr
                : (const void *)&((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;

        if (!inet_ntop(a->family, where, f->refused, sizeof(f->refused)))
            snprintf(f->refused, sizeof(f->refused), "?");
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t
discard(char *p, size_t size, size_t n, void *ctx)
{
    struct flight *f = ctx;

    (void)p;
    f->received += size * n;
    return f->received > WH_RESPONSE_MAX ? 0 : size * n;
}

/* Append "name: value" (value NULL: the line is name as it is). */
static struct curl_slist *
header_add(struct curl_slist *h, const char *name, const char *v)
{
    char *line = v ? xasprintf("%s: %s", name, v) : xstrdup(name);
    struct curl_slist *out = curl_slist_append(h, line);

    free(line);
    if (!out)
        abort();
    return out;
}

static void
flight_setup(struct flight *f)
{
    char sig[WH_SIG_LEN];
    char id[32];

    wh_sign(f->d.secret, f->d.body, f->d.body_len, sig);
    snprintf(id, sizeof(id), "%lld", f->d.id);
    f->headers = header_add(NULL, "Content-Type", "application/json");
    f->headers = header_add(f->headers, "X-Almanac-Event", f->d.kind);
    f->headers = header_add(f->headers, "X-Almanac-Delivery", id);
    f->headers = header_add(f->headers, "X-Almanac-Signature", sig);
    f->headers = header_add(f->headers, "Expect:", NULL);
    f->easy = curl_easy_init();
    if (!f->easy)
        abort();
    curl_easy_setopt(f->easy, CURLOPT_URL, f->d.url);
    curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(f->easy, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an answer */
    curl_easy_setopt(f->easy, CURLOPT_PROXY, "");          /* connect to the target itself */
    curl_easy_setopt(f->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(f->easy, CURLOPT_OPENSOCKETDATA, f);
    curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)WH_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, (long)WH_TIMEOUT_MS);
    curl_easy_setopt(f->easy, CURLOPT_USERAGENT, "almanac-webhook/" ALMANAC_VERSION);
    curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->headers);
    curl_easy_setopt(f->easy, CURLOPT_POSTFIELDS, f->d.body);
    curl_easy_setopt(f->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->d.body_len);
    curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f);
    f->started_ms = cat_now_ms();
}

static void
flight_release(struct flight *f)
{
    if (f->easy)
        curl_easy_cleanup(f->easy);
    curl_slist_free_all(f->headers);
    cat_delivery_release(&f->d);
}

static void
flight_record(struct wh_sender *w, struct flight *f, CURLcode rc)
{
    struct app_err err = {0};
    long status = 0;
    char msg[CURL_ERROR_SIZE + 64];
    const char *error = NULL;
    int ok, attempt = f->d.attempts + 1;
    int64_t now = cat_now_ms(), retry_at;

    if (rc == CURLE_OK) {
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
        ok = status >= 200 && status < 300;
        if (!ok) {
            snprintf(msg, sizeof(msg), "http status %ld", status);
            error = msg;
        }
    } else if (f->refused[0]) {
        ok = 0;
        snprintf(msg, sizeof(msg),
                 "refused: %s is a private, loopback, link-local or metadata address "
                 "(--webhook-allow-private allows it)",
                 f->refused);
        error = msg;
    } else {
        ok = 0;
        snprintf(msg, sizeof(msg), "%s", f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
        error = msg;
    }
    retry_at = ok || attempt >= WH_MAX_ATTEMPTS ? -1 : now + wh_backoff_ms(attempt);
    if (!ok)
        srv_metrics_webhook_failure();
    if (cat_outbox_record(w->c, &f->d, status, error, now - f->started_ms, ok, retry_at, &err) < 0)
        app_log(APP_LOG_ERROR, "webhook delivery %lld: %s", f->d.id, err.msg);
    else if (!ok && retry_at < 0)
        app_log(APP_LOG_ERROR, "webhook '%s' delivery %lld failed after %d attempts: %s",
                f->d.hook_id, f->d.id, attempt, error);
    app_err_release(&err);
}

static int
stopping(struct wh_sender *w)
{
    int s;

    pthread_mutex_lock(&w->mu);
    s = w->stop;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* Send a batch concurrently; returns when all are answered or on stop. */
static void
send_batch(struct wh_sender *w, struct cat_delivery *ds, size_t n)
{
    CURLM *m = curl_multi_init();
    struct flight *fl = xcalloc(n, sizeof(*fl));
    int running = 0;

    if (!m)
        abort();
    for (size_t i = 0; i < n; i++) {
        fl[i].d = ds[i];
        memset(&ds[i], 0, sizeof(ds[i]));
        flight_setup(&fl[i]);
        curl_multi_add_handle(m, fl[i].easy);
    }
    do {
        CURLMsg *msg;
        int left;

        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        while ((msg = curl_multi_info_read(m, &left))) {
            struct flight *f = NULL;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
            flight_record(w, f, msg->data.result);
            f->done = 1;
        }
        if (running && curl_multi_poll(m, NULL, 0, WH_POLL_MS, NULL) != CURLM_OK)
            break;
    } while (running && !stopping(w));
    for (size_t i = 0; i < n; i++) {
        curl_multi_remove_handle(m, fl[i].easy);
        flight_release(&fl[i]);
    }
    free(fl);
    curl_multi_cleanup(m);
}

static void
wait_until(struct wh_sender *w, int64_t until_ms)
{
    pthread_mutex_lock(&w->mu);
    while (!w->stop && !w->kicked) {
        struct timespec ts;
        int64_t now = cat_now_ms();

        if (now >= until_ms)
            break;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)((until_ms - now) / 1000);
        ts.tv_nsec += (long)((until_ms - now) % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&w->cond, &w->mu, &ts) == ETIMEDOUT)
            break;
    }
    w->kicked = 0;
    pthread_mutex_unlock(&w->mu);
}

static void *
sender_main(void *arg)
{
    struct wh_sender *w = arg;

    while (!stopping(w)) {
        struct app_err err = {0};
        struct cat_delivery *ds = NULL;
        size_t n = 0;
        int64_t now = cat_now_ms(), next = INT64_MAX;

        if (cat_outbox_due(w->c, now, WH_BATCH, &ds, &n, &next, &err) < 0) {
            app_log(APP_LOG_ERROR, "webhook outbox: %s", err.msg);
            app_err_release(&err);
            wait_until(w, now + WH_IDLE_MS);
            continue;
        }
        if (n > 0)
            send_batch(w, ds, n);
        else
            wait_until(w, next < now + WH_IDLE_MS ? next : now + WH_IDLE_MS);
        for (size_t i = 0; i < n; i++)
            cat_delivery_release(&ds[i]);
        free(ds);
    }
    return NULL;
}

struct wh_sender *
wh_sender_start(const char *data_dir, struct app_err *err)
{
    struct wh_sender *w = xcalloc(1, sizeof(*w));

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(w);
        app_fail(err, APP_EINTERNAL, "cannot initialise libcurl");
        return NULL;
    }
    w->c = db_open(data_dir, err);
    if (!w->c) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thread, NULL, sender_main, w) != 0) {
        db_close(w->c);
        free(w);
        app_fail(err, APP_EINTERNAL, "cannot start the webhook thread");
        return NULL;
    }
    return w;
}

void
wh_sender_kick(struct wh_sender *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->kicked = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

void
wh_sender_stop(struct wh_sender *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    db_close(w->c);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w);
    curl_global_cleanup();
}
