/* server/datalock.c: flock on DATA/lock with the holder's pid. */
#include "server/datalock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/file.h>

#include "app/mem.h"

#define PID_TEXT_MAX 32

struct data_lock {
    int fd;
};

struct data_lock *
data_lock_take(const char *data_dir, struct app_err *err)
{
    char *path = xasprintf("%s/lock", data_dir);
    char pid[PID_TEXT_MAX];
    struct data_lock *l = NULL;
    int fd, n;

    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        app_fail(err, APP_EINTERNAL, "cannot open lock file '%s': %s", path, strerror(errno));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        ssize_t got = errno == EWOULDBLOCK ? pread(fd, pid, sizeof(pid) - 1, 0) : -1;

        if (got > 0) {
            pid[got] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
        } else {
            snprintf(pid, sizeof(pid), "unknown");
        }
        app_fail(err, APP_ECONFLICT,
                 "data directory '%s' is in use by another almanacd (pid %s, lock %s)", data_dir,
                 pid, path);
        close(fd);
        goto out;
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        app_fail(err, APP_EINTERNAL, "cannot write lock file '%s': %s", path, strerror(errno));
        close(fd);
        goto out;
    }
    l = xcalloc(1, sizeof(*l));
    l->fd = fd;
out:
    free(path);
    return l;
}

void
data_lock_release(struct data_lock *l)
{
    if (!l)
        return;
    /* The pid is left in the file: harmless, and the next holder overwrites it. */
    close(l->fd);
    free(l);
}
