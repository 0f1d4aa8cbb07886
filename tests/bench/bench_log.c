/* tests/bench/bench_log.c: what one access line costs the thread that logs it.
 *
 * bench_log FILE [THREADS] [LINES]: THREADS threads each log LINES access lines
 * (the fields of a cached resolve) to FILE, first with one write(2) per line, then
 * through the writer thread (app_log_start_writer), and print the CPU time per line
 * of the whole process (the writer's included). Between two lines each thread
 * spends BENCH_WORK_NS of CPU, as a cached resolve would (so lines arrive at a
 * server's pace, not as fast as a loop can log them); that work is measured and
 * taken out. The number a request pays is this CPU time: on a saturated server
 * every microsecond here is a microsecond not spent answering. A benchmark: it
 * fails only when FILE cannot be opened.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/log.h"

#define BENCH_THREADS_MAX 16
/* CPU a thread spends between two lines: about a cached resolve on this machine. */
#define BENCH_WORK_NS 10000

static unsigned long n_lines = 200000;
static double work_total; /* seconds of CPU spent in work(), all threads */
static pthread_mutex_t work_mu = PTHREAD_MUTEX_INITIALIZER;

static double
secs(clockid_t c)
{
    struct timespec ts;

    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spin BENCH_WORK_NS of this thread's CPU; the CPU it took. */
static double
work(void)
{
    double t0 = secs(CLOCK_THREAD_CPUTIME_ID), t;

    do
        t = secs(CLOCK_THREAD_CPUTIME_ID);
    while (t - t0 < BENCH_WORK_NS / 1e9);
    return t - t0;
}

static void *
worker(void *arg)
{
    struct app_log_access a = {
        .request_id = "54b802e6-00000002",
        .client = "127.0.0.1",
        .method = "GET",
        .path = "/v1/resolve",
        .route = "/v1/resolve",
        .status = 200,
        .bytes = 5311,
        .seconds = 0.00042,
        .principal = NULL,
    };

    double spent = 0;

    (void)arg;
    for (unsigned long i = 0; i < n_lines; i++) {
        spent += work();
        app_log_access(&a);
    }
    pthread_mutex_lock(&work_mu);
    work_total += spent;
    pthread_mutex_unlock(&work_mu);
    return NULL;
}

/* The CPU per line of the harness alone (no line logged), taken out of the others. */
static double base_us;

/* One round; returns its CPU per line (microseconds). */
static double
round_(const char *name, unsigned threads)
{
    pthread_t th[BENCH_THREADS_MAX];
    double w0 = secs(CLOCK_MONOTONIC), c0 = secs(CLOCK_PROCESS_CPUTIME_ID), w1, c1;
    double total = (double)threads * (double)n_lines, us;

    work_total = 0;
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0)
            abort();
    for (unsigned i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    app_log_flush();
    w1 = secs(CLOCK_MONOTONIC);
    c1 = secs(CLOCK_PROCESS_CPUTIME_ID);
    us = 1e6 * (c1 - c0 - work_total) / total;
    if (name)
        printf("%-24s %u threads x %lu lines, %.0f us of work between lines: %.3f us CPU per "
               "line (%.1f s wall)\n",
               name, threads, n_lines, BENCH_WORK_NS / 1e3, us - base_us, w1 - w0);
    return us;
}

int
main(int argc, char **argv)
{
    unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_log FILE [THREADS] [LINES]\n");
        return 2;
    }
    if (argc > 3)
        n_lines = strtoul(argv[3], NULL, 10);
    if (threads < 1 || threads > BENCH_THREADS_MAX)
        threads = 2;
    app_log_init("bench", APP_LOG_INFO);
    app_log_set_format(APP_LOG_TEXT);
    if (app_log_open_file(argv[1]) < 0) {
        perror(argv[1]);
        return 1;
    }
    /* The harness's own cost per line: the same loop with access lines off. */
    app_log_init("bench", APP_LOG_WARN);
    base_us = round_(NULL, threads);
    app_log_init("bench", APP_LOG_INFO);
    round_("one write(2) per line", threads);
    if (app_log_start_writer() < 0) {
        perror("writer thread");
        return 1;
    }
    round_("writer thread", threads);
    return 0;
}
