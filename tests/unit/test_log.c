/* tests/unit/test_log.c: app/log.c's writer thread (whole lines, none lost, a flush
 * waits for what was logged before it, a reopen keeps earlier lines in the old file,
 * exit writes what is queued) and the access line's cut marker. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/log.h"
#include "app/mem.h"
#include "tests/lib/unit.h"

#define N_THREADS 4
#define N_LINES 5000
#define FILE_MAX (16 * 1024 * 1024)

static char *
tmp_path(const char *name)
{
    const char *dir = getenv("TMPDIR");

    return xasprintf("%s/almanac-test-log-%ld-%s", dir && *dir ? dir : "/tmp", (long)getpid(),
                     name);
}

/* The file's bytes (NUL-terminated), or NULL. */
static char *
slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    char *b = xmalloc(FILE_MAX + 1);
    size_t n = 0;
    ssize_t r;

    ck_assert_int_ge(fd, 0);
    while ((r = read(fd, b + n, FILE_MAX - n)) > 0)
        n += (size_t)r;
    close(fd);
    b[n] = '\0';
    *len = n;
    return b;
}

static size_t
count_lines(const char *s, const char *needle)
{
    size_t n = 0;

    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void
access_line(const char *id, const char *cut)
{
    struct app_log_access a = {
        .request_id = id,
        .client = "127.0.0.1",
        .method = "GET",
        .path = "/v1/resolve",
        .route = "/v1/resolve",
        .status = 200,
        .bytes = 5311,
        .seconds = 0.00042,
        .cut = cut,
    };

    app_log_access(&a);
}

static void *
logger(void *arg)
{
    char id[32];

    for (int i = 0; i < N_LINES; i++) {
        snprintf(id, sizeof(id), "t%d-%d", (int)(intptr_t)arg, i);
        access_line(id, NULL);
    }
    return NULL;
}

static void
setup(const char *path)
{
    app_log_init("test", APP_LOG_INFO);
    app_log_set_format(APP_LOG_TEXT);
    unlink(path);
    ck_assert_int_eq(app_log_open_file(path), 0);
}

/* Lines from several threads through the writer: every one arrives whole. */
START_TEST(test_writer_whole_lines)
{
    char *path = tmp_path("whole"), *s;
    pthread_t th[N_THREADS];
    size_t len, lines = 0;

    setup(path);
    ck_assert_int_eq(app_log_start_writer(), 0);
    for (int i = 0; i < N_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, logger, (void *)(intptr_t)i), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    app_log_flush();
    s = slurp(path, &len);
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(s[len - 1], '\n');
    for (char *line = s, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = '\0';
        /* "TIME info access ID 127.0.0.1 GET /v1/resolve 200 5311B 0.4ms -" */
        ck_assert_msg(strstr(line, " info access t") == line + 24, "line: %s", line);
        ck_assert_msg(strcmp(nl - strlen(" 127.0.0.1 GET /v1/resolve 200 5311B 0.4ms -"),
                             " 127.0.0.1 GET /v1/resolve 200 5311B 0.4ms -") == 0,
                      "line: %s", line);
        lines++;
    }
    ck_assert_uint_eq(lines, (size_t)N_THREADS * N_LINES);
    free(s); /* cut into lines above: read it again to search it */
    s = slurp(path, &len);
    for (int t = 0; t < N_THREADS; t++) {
        char id[32];

        snprintf(id, sizeof(id), " t%d-%d ", t, N_LINES - 1);
        ck_assert_msg(strstr(s, id), "the last line of thread %d", t);
    }
    free(s);
    unlink(path);
    free(path);
}
END_TEST

/* A reopen (SIGHUP after a rotation) first writes what was logged before it. */
START_TEST(test_writer_reopen)
{
    char *path = tmp_path("reopen"), *old = tmp_path("reopen.1"), *s;
    size_t len;

    setup(path);
    ck_assert_int_eq(app_log_start_writer(), 0);
    for (int i = 0; i < 1000; i++)
        access_line("before", NULL);
    ck_assert_int_eq(rename(path, old), 0);
    ck_assert_int_eq(app_log_reopen(), 0);
    access_line("after", NULL);
    app_log_flush();
    s = slurp(old, &len);
    ck_assert_uint_eq(count_lines(s, " before "), 1000);
    ck_assert_uint_eq(count_lines(s, " after "), 0);
    free(s);
    s = slurp(path, &len);
    ck_assert_uint_eq(count_lines(s, " before "), 0);
    ck_assert_uint_eq(count_lines(s, " after "), 1);
    free(s);
    unlink(path);
    unlink(old);
    free(path);
    free(old);
}
END_TEST

/* exit() writes what is still queued: a child logs and exits at once. */
START_TEST(test_writer_exit_flushes)
{
    char *path = tmp_path("exit"), *s;
    size_t len;
    int status = 0;
    pid_t pid;

    unlink(path);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setup(path);
        free(path); /* exit() below: nothing of the test's own may be left */
        if (app_log_start_writer() < 0)
            _exit(3);
        for (int i = 0; i < 20000; i++)
            access_line("at-exit", NULL);
        exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    s = slurp(path, &len);
    ck_assert_uint_eq(count_lines(s, " at-exit "), 20000);
    free(s);
    unlink(path);
    free(path);
}
END_TEST

/* A cut response says so: " cut=REASON" at the end of a text line, "completed" and
 * "cut" in JSON. */
START_TEST(test_access_cut)
{
    char *path = tmp_path("cut"), *s;
    size_t len;

    setup(path);
    access_line("whole", NULL);
    access_line("cut-one", "client_closed");
    app_log_set_format(APP_LOG_JSON);
    access_line("whole-json", NULL);
    access_line("cut-json", "shutdown");
    app_log_flush();
    s = slurp(path, &len);
    ck_assert_ptr_nonnull(strstr(s, " whole 127.0.0.1 GET /v1/resolve 200 5311B 0.4ms -\n"));
    ck_assert_ptr_nonnull(
        strstr(s, " cut-one 127.0.0.1 GET /v1/resolve 200 5311B 0.4ms - cut=client_closed\n"));
    ck_assert_ptr_nonnull(strstr(s, "\"request_id\":\"whole-json\""));
    ck_assert_ptr_nonnull(strstr(s, "\"principal\":\"-\",\"completed\":true}\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "\"principal\":\"-\",\"completed\":false,\"cut\":\"shutdown\"}\n"));
    free(s);
    unlink(path);
    free(path);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_writer_whole_lines);
    tcase_add_test(tc, test_writer_reopen);
    tcase_add_test(tc, test_writer_exit_flushes);
    tcase_add_test(tc, test_access_cut);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
