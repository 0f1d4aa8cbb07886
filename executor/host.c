/* executor/host.c: spawn node on host.mjs and collect its result line. */
#include "executor/host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/json.h"
#include "app/mem.h"

extern char **environ;

/* The result line carries the response body; workers answer with more than a few
 * bytes sometimes, but not with more than this. */
#define RUN_OUTPUT_MAX (256u * 1024 * 1024)

const char *
exe_node(void)
{
    const char *n = getenv("ALMANAC_NODE");

    return n && *n ? n : "node";
}

char *
exe_find_host(struct app_err *err)
{
    const char *env = getenv("ALMANAC_EXECUTOR_DIR");
    static const char *const rel[] = {"../executor", "../../executor", "../share/almanac/executor"};
    char self[PATH_MAX];
    ssize_t n;
    char *bin_dir, *slash, *p;

    if (env && *env) {
        p = xasprintf("%s/host.mjs", env);
        if (access(p, R_OK) == 0)
            return p;
        app_fail(err, APP_EINVAL, "ALMANAC_EXECUTOR_DIR has no host.mjs ('%s')", p);
        free(p);
        return NULL;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        app_fail(err, APP_EINVAL, "cannot find host.mjs: set ALMANAC_EXECUTOR_DIR");
        return NULL;
    }
    self[n] = '\0';
    bin_dir = xstrdup(self);
    slash = strrchr(bin_dir, '/');
    if (slash)
        *slash = '\0';
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        p = xasprintf("%s/%s/host.mjs", bin_dir, rel[i]);
        if (access(p, R_OK) == 0) {
            char *real = realpath(p, NULL);

            free(p);
            free(bin_dir);
            return real ? real : xstrdup("host.mjs");
        }
        free(p);
    }
    app_fail(err, APP_EINVAL,
             "cannot find executor/host.mjs near %s; set ALMANAC_EXECUTOR_DIR to the "
             "directory that holds it",
             self);
    free(bin_dir);
    return NULL;
}

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The last non-empty line of out, parsed. */
static cJSON *
last_json_line(const struct buf *out)
{
    size_t end = out->len;

    while (end > 0 && (out->data[end - 1] == '\n' || out->data[end - 1] == '\r'))
        end--;
    if (end == 0)
        return NULL;
    {
        size_t start = end;

        while (start > 0 && out->data[start - 1] != '\n')
            start--;
        return cJSON_ParseWithLength(out->data + start, end - start);
    }
}

int
exe_run_host(const char *host, const cJSON *config, const char *config_path, cJSON **result,
             double *node_ms, struct app_err *err)
{
    char *text = json_canonical(config, NULL);
    posix_spawn_file_actions_t fa;
    int fds[2] = {-1, -1}, status = 0, ret = -1, fa_init = 0;
    const char *node = exe_node();
    char *argv[4] = {NULL, NULL, NULL, NULL};
    struct buf out;
    double t0;
    pid_t pid = -1;
    FILE *f;

    *result = NULL;
    buf_init(&out, RUN_OUTPUT_MAX);
    f = fopen(config_path, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", config_path, strerror(errno));
        goto out;
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create a pipe: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    fa_init = 1;
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    argv[0] = xstrdup(node);
    argv[1] = xstrdup(host);
    argv[2] = xstrdup(config_path);
    argv[3] = NULL;
    t0 = now_ms();
    errno = posix_spawnp(&pid, node, &fa, NULL, argv, environ);
    if (errno != 0) {
        app_fail(err, APP_EINTERNAL,
                 "cannot start '%s' (Node.js): %s; install nodejs or set "
                 "ALMANAC_NODE",
                 node, strerror(errno));
        pid = -1;
        goto out;
    }
    close(fds[1]);
    fds[1] = -1;
    for (;;) {
        char chunk[65536];
        ssize_t n = read(fds[0], chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf_append(&out, chunk, (size_t)n) < 0) {
            app_fail(err, APP_EINTERNAL, "the executor's output is larger than %u bytes",
                     RUN_OUTPUT_MAX);
            kill(pid, SIGKILL);
            goto out;
        }
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    *node_ms = now_ms() - t0;
    *result = last_json_line(&out);
    if (!*result || !cJSON_IsObject(*result)) {
        cJSON_Delete(*result);
        *result = NULL;
        if (WIFSIGNALED(status))
            app_fail(err, APP_EINTERNAL, "the executor (node) was killed by signal %d",
                     WTERMSIG(status));
        else
            app_fail(err, APP_EINTERNAL,
                     "the executor (node %s) exited with status %d and no result", host,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto out;
    }
    ret = 0;
out:
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (fa_init)
        posix_spawn_file_actions_destroy(&fa);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    buf_release(&out);
    free(text);
    for (size_t i = 0; i < 3; i++)
        free(argv[i]);
    return ret;
}

/* The serving host, for the signal handler: SIGINT/SIGTERM sent to us (Ctrl-C in a
 * terminal reaches both of us; `kill` reaches only us) are passed on to it. */
static volatile sig_atomic_t serve_child;

static void
forward_signal(int sig)
{
    if (serve_child > 0)
        kill((pid_t)serve_child, sig);
}

int
exe_serve_host(const char *host, const cJSON *config, const char *config_path, int *exit_code,
               struct app_err *err)
{
    char *text = json_canonical(config, NULL);
    const char *node = exe_node();
    char *argv[5] = {NULL, NULL, NULL, NULL, NULL};
    struct sigaction fwd, old_int, old_term;
    int status = 0, ret = -1;
    pid_t pid = -1;
    FILE *f = fopen(config_path, "w");

    *exit_code = 0;
    if (!f) {
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", config_path, strerror(errno));
        free(text);
        return -1;
    }
    if (fputs(text, f) == EOF) {
        fclose(f);
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", config_path, strerror(errno));
        free(text);
        return -1;
    }
    if (fclose(f) != 0) {
        app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", config_path, strerror(errno));
        free(text);
        return -1;
    }
    argv[0] = xstrdup(node);
    argv[1] = xstrdup(host);
    argv[2] = xstrdup("--serve");
    argv[3] = xstrdup(config_path);
    memset(&fwd, 0, sizeof(fwd));
    fwd.sa_handler = forward_signal;
    sigemptyset(&fwd.sa_mask);
    sigaction(SIGINT, &fwd, &old_int);
    sigaction(SIGTERM, &fwd, &old_term);
    {
        /* The host gets the default dispositions back: only we ignore the signals. */
        posix_spawnattr_t at;
        sigset_t def;

        posix_spawnattr_init(&at);
        sigemptyset(&def);
        sigaddset(&def, SIGINT);
        sigaddset(&def, SIGTERM);
        posix_spawnattr_setsigdefault(&at, &def);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
        errno = posix_spawnp(&pid, node, NULL, &at, argv, environ);
        posix_spawnattr_destroy(&at);
    }
    if (errno != 0) {
        app_fail(err, APP_EINTERNAL,
                 "cannot start '%s' (Node.js): %s; install nodejs or set ALMANAC_NODE", node,
                 strerror(errno));
        goto out;
    }
    serve_child = pid;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            app_fail(err, APP_EINTERNAL, "waiting for the host: %s", strerror(errno));
            goto out;
        }
    }
    if (WIFEXITED(status))
        *exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM))
        *exit_code = 0;
    else
        *exit_code = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    ret = 0;
out:
    serve_child = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    for (size_t i = 0; i < 4; i++)
        free(argv[i]);
    free(text);
    return ret;
}
