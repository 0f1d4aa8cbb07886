/* artifacts/npm.c: fetch a Pyodide release with `npm pack` and unpack it into the
 * cache (ALMANAC_CACHE). npm's own output goes to stderr; stdout stays the command's. */
#include "artifacts/npm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/fs.h"
#include "app/log.h"
#include "app/mem.h"

static int
run_cmd(char *const argv[], const char *cwd, struct app_err *err)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        return app_fail(err, APP_EINTERNAL, "cannot fork: %s", strerror(errno));
    if (pid == 0) {
        if (cwd && chdir(cwd) < 0)
            _exit(127);
        /* npm's chatter belongs on stderr: stdout is for the command's result. */
        dup2(2, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return app_fail(err, APP_EUNAVAILABLE, "'%s %s' failed", argv[0], argv[1]);
    return 0;
}

char *
art_npm_fetch_pyodide(const char *cache_dir, const char *version, struct app_err *err)
{
    char *npm_dir = xasprintf("%s/npm", cache_dir);
    char *tgz = xasprintf("%s/pyodide-%s.tgz", npm_dir, version);
    char *dist = xasprintf("%s/pyodide/%s", cache_dir, version);
    char *pkg = xasprintf("%s/package", dist);
    char *marker = xasprintf("%s/package/pyodide-lock.json", dist);
    char *ret = NULL;

    if (access(marker, R_OK) == 0) {
        ret = pkg;
        pkg = NULL;
        goto out;
    }
    if (fs_mkdir_p(npm_dir) < 0 || fs_mkdir_p(dist) < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create cache directory '%s'", cache_dir);
        goto out;
    }
    if (access(tgz, R_OK) != 0) {
        char *spec = xasprintf("pyodide@%s", version);
        char *argv[] = {"npm", "pack", spec, "--silent", NULL};
        int rc;

        app_log(APP_LOG_INFO, "fetching %s with npm pack into %s", spec, npm_dir);
        rc = run_cmd(argv, npm_dir, err);
        free(spec);
        if (rc < 0) {
            app_fail(err, APP_EUNAVAILABLE,
                     "cannot fetch pyodide %s from the npm registry (npm pack failed); is npm "
                     "installed and the registry reachable?",
                     version);
            goto out;
        }
    }
    {
        char *argv[] = {"tar", "-xzf", tgz, "-C", dist, NULL};

        if (run_cmd(argv, NULL, err) < 0) {
            app_fail(err, APP_EINTERNAL, "cannot unpack '%s'", tgz);
            goto out;
        }
    }
    ret = pkg;
    pkg = NULL;
out:
    free(npm_dir);
    free(tgz);
    free(dist);
    free(pkg);
    free(marker);
    return ret;
}
