/* tests/bench/bench_log.c: what one access line costs the thread that logs it.
 *
 * bench_log FILE [THREADS] [LINES]: THREADS threads each log LINES access lines
 * (the fields of a cached resolve) to FILE, first with one write(2) per line, then
 * through the writer thread (app_log_start_writer), and print the CPU time per line
 * of the whole process (the writer's included) and the wall time. The number a
 * request pays is the CPU time: on a saturated server every microsecond here is a
 * microsecond not spent answering. A benchmark: it fails only when FILE cannot be
 * opened.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/log.h"

#define BENCH_THREADS_MAX 16

static unsigned long n_lines = 200000;

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

    (void)arg;
    for (unsigned long i = 0; i < n_lines; i++)
        app_log_access(&a);
    return NULL;
}

static double
secs(clockid_t c)
{
    struct timespec ts;

    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
round_(const char *name, unsigned threads)
{
    pthread_t th[BENCH_THREADS_MAX];
    double w0 = secs(CLOCK_MONOTONIC), c0 = secs(CLOCK_PROCESS_CPUTIME_ID), w1, c1;
    double total = (double)threads * (double)n_lines;

    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0)
            abort();
    for (unsigned i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    app_log_flush();
    w1 = secs(CLOCK_MONOTONIC);
    c1 = secs(CLOCK_PROCESS_CPUTIME_ID);
    printf("%-28s %u threads x %lu lines: %.3f us CPU per line, %.3f us wall per line\n", name,
           threads, n_lines, 1e6 * (c1 - c0) / total, 1e6 * (w1 - w0) / total);
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
    round_("one write(2) per line", threads);
    if (app_log_start_writer() < 0) {
        perror("writer thread");
        return 1;
    }
    round_("writer thread", threads);
    return 0;
}
