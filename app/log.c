/* app/log.c: levelled, one-write-per-line logging to stderr or a file (see app/log.h). */
#include "app/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/mem.h"

/* The destination. app_log_open_file is called before any thread starts; a reopen
 * dup2()s the new file onto the same descriptor number, which the kernel does
 * atomically, so writers never take a lock and never see a closed descriptor. */
static int log_fd = STDERR_FILENO;
static char *log_path;
static pthread_mutex_t reopen_mu = PTHREAD_MUTEX_INITIALIZER;
static enum app_log_level log_level_min = APP_LOG_INFO;
static enum app_log_format log_fmt = APP_LOG_PLAIN;
static const char *log_prog = "almanac";
static app_log_sink log_sink;
static void *log_sink_arg;

/* A line under construction, cut at APP_LOG_LINE_MAX (one byte spare for the newline). */
struct line {
    char s[APP_LOG_LINE_MAX + 1];
    size_t n;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
app_log_parse_level(const char *s, enum app_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum app_log_level)i;
            return 0;
        }
    }
    return -1;
}

int
app_log_parse_format(const char *s, enum app_log_format *out)
{
    if (s && strcmp(s, "text") == 0)
        *out = APP_LOG_TEXT;
    else if (s && strcmp(s, "json") == 0)
        *out = APP_LOG_JSON;
    else
        return -1;
    return 0;
}

void
app_log_init(const char *prog, enum app_log_level min_level)
{
    log_prog = prog ? prog : "almanac";
    log_level_min = min_level;
}

void
app_log_set_sink(app_log_sink sink, void *arg)
{
    log_sink = sink;
    log_sink_arg = arg;
}

void
app_log_set_format(enum app_log_format f)
{
    log_fmt = f;
}

int
app_log_enabled(enum app_log_level lv)
{
    return lv >= log_level_min;
}

static int
open_path(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
app_log_open_file(const char *path)
{
    int fd = open_path(path);

    if (fd < 0)
        return -1;
    pthread_mutex_lock(&reopen_mu);
    if (log_fd == STDERR_FILENO) {
        log_fd = fd;
    } else {
        dup2(fd, log_fd);
        close(fd);
    }
    free(log_path);
    log_path = xstrdup(path);
    pthread_mutex_unlock(&reopen_mu);
    return 0;
}

int
app_log_reopen(void)
{
    int fd, ret = 0;

    /* Lines logged before the signal belong to the old file. */
    app_log_flush();
    pthread_mutex_lock(&reopen_mu);
    if (log_path) {
        fd = open_path(log_path);
        if (fd < 0) {
            ret = -1;
        } else {
            dup2(fd, log_fd);
            close(fd);
        }
    }
    pthread_mutex_unlock(&reopen_mu);
    return ret;
}

/* write(2) all of p, retrying short writes and EINTR; gives up on other errors
 * (a log that cannot be written must not stop the server). */
static void
write_all(const char *p, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = write(log_fd, p + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
}

/* The writer thread (app_log_start_writer). Request threads append whole lines to
 * the active half of a double buffer under wq.mu; the writer swaps the halves and
 * writes the full one with one write(2), outside the lock. Asleep, it wakes as soon
 * as a line arrives; after a write it naps APP_LOG_GATHER_NS, so under load the
 * lines of that moment go out together. "queued" and "written" count bytes ever
 * queued and written, so a flush waits only for lines queued before it. */
/* How long the writer lets lines gather after a write: the most a line waits
 * behind the previous write, and under load the lines per write(2). 0.5 ms woke
 * the writer often enough to cost about as much as the writes it saved. */
#define APP_LOG_GATHER_NS (1000 * 1000)

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the writer: lines were queued */
    pthread_cond_t done; /* flushers: a write finished */
    char *half[2];
    size_t len; /* bytes in half[cur] */
    int cur;
    int on, sleeping, registered;
    uint64_t queued, written;
    pthread_t th;
} wq = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
        .done = PTHREAD_COND_INITIALIZER};

static void *
writer_main(void *arg)
{
    struct timespec nap = {0, 0};

    (void)arg;
    pthread_mutex_lock(&wq.mu);
    for (;;) {
        char *p;
        size_t n;

        while (!wq.len) {
            wq.sleeping = 1;
            pthread_cond_wait(&wq.wake, &wq.mu);
            wq.sleeping = 0;
        }
        p = wq.half[wq.cur];
        n = wq.len;
        wq.cur ^= 1;
        wq.len = 0;
        pthread_mutex_unlock(&wq.mu);
        write_all(p, n);
        pthread_mutex_lock(&wq.mu);
        wq.written += n;
        pthread_cond_broadcast(&wq.done);
        pthread_mutex_unlock(&wq.mu);
        /* Let the lines of the next moment gather: a writer that went back to
         * sleep at once would be woken (a futex call and a context switch) for
         * nearly every line under load, which costs more than the write it saves.
         * When idle, the next line finds it asleep and wakes it at once. */
        nap.tv_nsec = APP_LOG_GATHER_NS;
        nanosleep(&nap, NULL);
        pthread_mutex_lock(&wq.mu);
    }
    return NULL;
}

/* Queue p; 0 when the writer will write it, -1 when the caller must (no writer, or
 * the buffer is full: the line is written directly rather than dropped or waited
 * for). */
static int
enqueue(const char *p, size_t n)
{
    int ret = -1;

    if (!__atomic_load_n(&wq.on, __ATOMIC_ACQUIRE))
        return -1;
    pthread_mutex_lock(&wq.mu);
    if (wq.on && n <= APP_LOG_QUEUE_BYTES - wq.len) {
        memcpy(wq.half[wq.cur] + wq.len, p, n);
        wq.len += n;
        wq.queued += n;
        if (wq.sleeping)
            pthread_cond_signal(&wq.wake);
        ret = 0;
    }
    pthread_mutex_unlock(&wq.mu);
    return ret;
}

void
app_log_flush(void)
{
    uint64_t target;

    if (!__atomic_load_n(&wq.on, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&wq.mu);
    target = wq.queued;
    while (wq.written < target)
        pthread_cond_wait(&wq.done, &wq.mu);
    pthread_mutex_unlock(&wq.mu);
}

/* A forked child has no writer thread: it writes its own lines. */
static void
atfork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

    wq.mu = fresh;
    wq.on = 0;
    wq.len = 0;
    wq.sleeping = 0;
    wq.written = wq.queued; /* what the parent had queued is its own to write */
}

int
app_log_start_writer(void)
{
    sigset_t all, old;
    int rc;

    if (wq.on || log_sink)
        return 0;
    /* A forked child that starts its own writer reuses the parent's buffers. */
    if (!wq.half[0]) {
        wq.half[0] = xmalloc(APP_LOG_QUEUE_BYTES);
        wq.half[1] = xmalloc(APP_LOG_QUEUE_BYTES);
    }
    /* The writer takes no signal: the program's own thread waits for them. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&wq.th, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(wq.half[0]);
        free(wq.half[1]);
        wq.half[0] = wq.half[1] = NULL;
        errno = rc;
        return -1;
    }
    pthread_detach(wq.th);
    if (!wq.registered) {
        wq.registered = 1;
        pthread_atfork(NULL, NULL, atfork_child);
        /* exit() (a return from main included) writes what is still queued. */
        atexit(app_log_flush);
    }
    __atomic_store_n(&wq.on, 1, __ATOMIC_RELEASE);
    return 0;
}

/* Write l with its newline (l->s has the spare byte): through the writer thread
 * when it runs, else with one write(2), so lines never interleave. */
static void
write_line(struct line *l)
{
    l->s[l->n] = '\n';
    if (enqueue(l->s, l->n + 1) == 0)
        return;
    write_all(l->s, l->n + 1);
}

void
app_log_time(char out[APP_LOG_TIME_LEN])
{
    /* gmtime_r takes glibc's time-zone lock; at tens of thousands of access lines a
     * second that serializes the threads, so each thread formats a second once. */
    static __thread time_t last_sec = -1;
    static __thread char sec[20];
    struct timespec ts;
    struct tm tm;

    int ms;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != last_sec) {
        last_sec = ts.tv_sec;
        gmtime_r(&ts.tv_sec, &tm);
        /* strftime's output is bounded by its format: 19 characters. */
        if (strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
            memcpy(sec, "0000-00-00T00:00:00", 20);
    }
    ms = (int)(ts.tv_nsec / 1000000) % 1000;
    memcpy(out, sec, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

static void
put(struct line *l, const char *s, size_t n)
{
    if (n > APP_LOG_LINE_MAX - l->n)
        n = APP_LOG_LINE_MAX - l->n;
    memcpy(l->s + l->n, s, n);
    l->n += n;
}

static void
puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void putf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(struct line *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(l->s + l->n, APP_LOG_LINE_MAX + 1 - l->n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->n += (size_t)n < APP_LOG_LINE_MAX - l->n ? (size_t)n : APP_LOG_LINE_MAX - l->n;
}

/* A JSON string, quoted; control characters escaped, bytes >= 0x80 passed through. */
static void
put_json_str(struct line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    puts_(l, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};

            put(l, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

            put(l, e, 6);
        } else {
            put(l, (const char *)&c, 1);
        }
    }
    puts_(l, "\"");
}

/* Text values: control characters and spaces would break the one-line, space
 * separated format, so they become '?' / '_' . */
/* Decimal digits of v. */
static void
put_u64(struct line *l, uint64_t v)
{
    char d[20];
    size_t i = sizeof(d);

    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(l, d + i, sizeof(d) - i);
}

static void
put_text_field(struct line *l, const char *s)
{
    size_t clean = 0;

    if (!s || !*s) {
        puts_(l, "-");
        return;
    }
    /* The common case, a field with nothing to replace, is one copy. */
    while (s[clean] && (unsigned char)s[clean] > 0x20 && s[clean] != 0x7f)
        clean++;
    put(l, s, clean);
    for (s += clean; *s; s++) {
        char c = *s;

        if ((unsigned char)c < 0x20 || c == 0x7f)
            c = '?';
        else if (c == ' ')
            c = '_';
        put(l, &c, 1);
    }
}

void
app_log(enum app_log_level lv, const char *fmt, ...)
{
    char msg[APP_LOG_LINE_MAX], t[APP_LOG_TIME_LEN];
    struct line l;
    va_list ap;

    if (!app_log_enabled(lv))
        return;
    va_start(ap, fmt);
    /* Truncation is acceptable for a log line; the sink always gets a string. */
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_sink) {
        log_sink(lv, msg, log_sink_arg);
        return;
    }
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    l.n = 0;
    if (log_fmt == APP_LOG_JSON) {
        app_log_time(t);
        putf(&l, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", t, level_names[lv]);
        put_json_str(&l, msg);
        puts_(&l, "}");
    } else if (log_fmt == APP_LOG_TEXT) {
        app_log_time(t);
        putf(&l, "%s %s %s: %s", t, level_names[lv], log_prog, msg);
    } else {
        putf(&l, "%s: %s", log_prog, msg);
    }
    write_line(&l);
}

void
app_log_access(const struct app_log_access *a)
{
    char t[APP_LOG_TIME_LEN];
    struct line l;

    if (!app_log_enabled(APP_LOG_INFO))
        return;
    app_log_time(t);
    l.n = 0;
    if (log_fmt == APP_LOG_JSON) {
        putf(&l, "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"access\",\"request_id\":", t);
        put_json_str(&l, a->request_id);
        puts_(&l, ",\"client\":");
        put_json_str(&l, a->client);
        puts_(&l, ",\"method\":");
        put_json_str(&l, a->method);
        puts_(&l, ",\"path\":");
        put_json_str(&l, a->path);
        puts_(&l, ",\"route\":");
        put_json_str(&l, a->route);
        putf(&l, ",\"status\":%u,\"bytes\":%llu,\"duration_ms\":%.3f,\"principal\":", a->status,
             (unsigned long long)a->bytes, a->seconds * 1000.0);
        put_json_str(&l, a->principal ? a->principal : "-");
        if (a->cut) {
            puts_(&l, ",\"completed\":false,\"cut\":");
            put_json_str(&l, a->cut);
            puts_(&l, "}");
        } else {
            puts_(&l, ",\"completed\":true}");
        }
    } else {
        /* time level "access" request-id client method path status bytes duration
         * principal [cut=REASON]; hand-formatted, as this runs once per request. */
        uint64_t tenths = (uint64_t)(a->seconds * 10000.0 + 0.5); /* 0.1 ms */

        puts_(&l, t);
        puts_(&l, " info access ");
        put_text_field(&l, a->request_id);
        puts_(&l, " ");
        put_text_field(&l, a->client);
        puts_(&l, " ");
        put_text_field(&l, a->method);
        puts_(&l, " ");
        put_text_field(&l, a->path);
        puts_(&l, " ");
        put_u64(&l, a->status);
        puts_(&l, " ");
        put_u64(&l, a->bytes);
        puts_(&l, "B ");
        put_u64(&l, tenths / 10);
        put(&l, ".", 1);
        put_u64(&l, tenths % 10);
        puts_(&l, "ms ");
        put_text_field(&l, a->principal ? a->principal : "-");
        if (a->cut) {
            puts_(&l, " cut=");
            put_text_field(&l, a->cut);
        }
    }
    write_line(&l);
}
