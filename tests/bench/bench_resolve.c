/* tests/bench/bench_resolve.c: uncached resolution cost, in process.
 *
 * Loads the catalog snapshot of a seeded data dir once, then resolves the same
 * worker N times through res_resolve (no cache, no HTTP) and reports the mean and
 * the closure size, so the figure is the resolver's own cost. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app/date.h"
#include "catalog/resolve.h"
#include "catalog/snapload.h"

static double
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
    static const char *const flags[] = {"python_workers"};
    static const char *const reqs[] = {"aiohttp", "pydantic", "pandas", "requests"};
    struct app_err err = {0};
    struct res_input in = {0};
    struct res_output out;
    struct db *c;
    struct snap *s;
    int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 2000;
    size_t closure = 0;
    double t0, t1;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_resolve DATA_DIR [N]\n");
        return 2;
    }
    c = db_open(argv[1], &err);
    if (!c || !(s = snap_load(c, &err))) {
        fprintf(stderr, "bench_resolve: %s\n", err.msg);
        return 1;
    }
    in.date = "2024-04-01";
    in.flags = flags;
    in.n_flags = 1;
    in.requirements = reqs;
    in.n_requirements = 4;
    in.today = date_today();
    t0 = now_us();
    for (int i = 0; i < n; i++) {
        if (res_resolve(s, &in, &out, &err) < 0) {
            fprintf(stderr, "bench_resolve: %s\n", err.msg);
            return 1;
        }
        closure = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(out.lock, "packages"));
        res_output_release(&out);
    }
    t1 = now_us();
    printf("uncached resolve: %zu-package closure, %d runs, %.1f us per resolution\n", closure, n,
           (t1 - t0) / n);
    snap_free(s);
    db_close(c);
    return 0;
}
