/* server/backup.c: backup to and restore from one ustar file. */
#include "server/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <sqlite3.h>

#include <cjson/cJSON.h>

#include "app/date.h"
#include "app/err.h"
#include "app/fs.h"
#include "app/json.h"
#include "app/log.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "db/db.h"
#include "db/events.h"
#include "server/api.h"
#include "server/datalock.h"

#define TAR_BLOCK 512
#define TAR_NAME_MAX 99
#define COPY_CHUNK (256 * 1024)
#define MANIFEST "almanac-backup.json"
#define BACKUP_FORMAT 1
/* Pages copied per sqlite3_backup_step: small steps let a running server write. */
#define BACKUP_PAGES 256
/* How long the backup's read connection waits for a running server's write lock,
 * and how long it pauses between steps the server kept busy: a server holds the
 * lock for one transaction (milliseconds), so both are generous. */
#define BACKUP_BUSY_MS 5000
#define BACKUP_RETRY_MS 10
#define MANIFEST_MAX (64 * 1024)

struct tar_hdr {
    char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag,
        linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8],
        prefix[155], pad[12];
};

static int
write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = write(fd, c, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
tar_header(int fd, const char *name, uint64_t size, unsigned mode)
{
    struct tar_hdr h;
    unsigned sum = 0;

    if (strlen(name) > TAR_NAME_MAX)
        return -1;
    memset(&h, 0, sizeof(h));
    memcpy(h.name, name, strlen(name));
    snprintf(h.mode, sizeof(h.mode), "%07o", mode & 0777);
    snprintf(h.uid, sizeof(h.uid), "%07o", 0);
    snprintf(h.gid, sizeof(h.gid), "%07o", 0);
    snprintf(h.size, sizeof(h.size), "%011llo", (unsigned long long)size);
    snprintf(h.mtime, sizeof(h.mtime), "%011llo", (unsigned long long)time(NULL));
    h.typeflag = '0';
    memcpy(h.magic, "ustar", 6);
    memcpy(h.version, "00", 2);
    memset(h.chksum, ' ', sizeof(h.chksum));
    for (size_t i = 0; i < sizeof(h); i++)
        sum += ((unsigned char *)&h)[i];
    snprintf(h.chksum, sizeof(h.chksum), "%06o", sum & 0777777);
    return write_all(fd, &h, sizeof(h));
}

static int
tar_pad(int fd, uint64_t size)
{
    static const char zero[TAR_BLOCK];
    size_t rest = (size_t)(size % TAR_BLOCK);

    return rest ? write_all(fd, zero, TAR_BLOCK - rest) : 0;
}

static int
tar_bytes(int fd, const char *name, const char *p, size_t n, unsigned mode)
{
    if (tar_header(fd, name, n, mode) < 0 || write_all(fd, p, n) < 0 || tar_pad(fd, n) < 0)
        return -1;
    return 0;
}

/* Add the file at path as name. */
static int
tar_file(int fd, const char *name, const char *path)
{
    char *buf = NULL;
    struct stat st;
    uint64_t left;
    int in = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

    if (in < 0 || fstat(in, &st) < 0)
        goto out;
    if (tar_header(fd, name, (uint64_t)st.st_size, (unsigned)st.st_mode) < 0)
        goto out;
    buf = xmalloc(COPY_CHUNK);
    for (left = (uint64_t)st.st_size; left;) {
        ssize_t n = read(in, buf, left < COPY_CHUNK ? (size_t)left : COPY_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || write_all(fd, buf, (size_t)n) < 0)
            goto out; /* a file that shrank under us is an error, not a short entry */
        left -= (uint64_t)n;
    }
    ret = tar_pad(fd, (uint64_t)st.st_size);
out:
    free(buf);
    if (in >= 0)
        close(in);
    return ret;
}

/* Add every regular file of data/sub (one level of subdirectories for artifacts)
 * whose name does not start with '.', skipping the quarantine. */
static int
tar_tree(int fd, const char *data, const char *sub, int depth, unsigned long *n)
{
    char *dir = xasprintf("%s/%s", data, sub);
    DIR *d = opendir(dir);
    struct dirent *e;
    int ret = 0;

    if (!d) {
        free(dir);
        return errno == ENOENT ? 0 : -1;
    }
    while (ret == 0 && (e = readdir(d)) != NULL) {
        char *name, *path;
        struct stat st;

        if (e->d_name[0] == '.' || strcmp(e->d_name, "quarantine") == 0)
            continue;
        name = xasprintf("%s/%s", sub, e->d_name);
        path = xasprintf("%s/%s", data, name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth > 0)
            ret = tar_tree(fd, data, name, depth - 1, n);
        else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            ret = tar_file(fd, name, path);
            (*n)++;
        }
        free(name);
        free(path);
    }
    closedir(d);
    free(dir);
    return ret;
}

/* SQLite's online backup: a consistent copy while a server keeps writing. */
static int
db_snapshot(const char *data, const char *to, struct app_err *err)
{
    char *src_path = xasprintf("%s/almanac.db", data);
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b;
    int rc, ret = -1;

    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open(to, &dst) != SQLITE_OK) {
        app_fail(err, APP_EINTERNAL, "cannot open the database for backup");
        goto out;
    }
    sqlite3_busy_timeout(src, BACKUP_BUSY_MS);
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        app_fail(err, APP_EINTERNAL, "cannot back up: %s", sqlite3_errmsg(dst));
        goto out;
    }
    do {
        rc = sqlite3_backup_step(b, BACKUP_PAGES);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(BACKUP_RETRY_MS);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        app_fail(err, APP_EINTERNAL, "database backup failed: %s", sqlite3_errstr(rc));
        goto out;
    }
    /* One file, no WAL beside it: the archive holds the whole database. */
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        app_fail(err, APP_EINTERNAL, "cannot finish the database copy");
        goto out;
    }
    ret = 0;
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    free(src_path);
    return ret;
}

int
srv_backup(const char *data, const char *path, int no_artifacts)
{
    struct app_err err = {0};
    char *tmp = xasprintf("%s.partial", path), *dbtmp = xasprintf("%s.db.partial", path);
    char now[APP_TIME_LEN], *manifest = NULL;
    cJSON *m = NULL;
    unsigned long keys = 0, arts = 0;
    struct stat st;
    int fd = -1, ret = 1;

    if (stat(path, &st) == 0) {
        app_log(APP_LOG_ERROR, "backup: '%s' exists; choose a new file", path);
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        app_log(APP_LOG_ERROR, "backup: cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    unlink(dbtmp);
    if (db_snapshot(data, dbtmp, &err) < 0) {
        app_log(APP_LOG_ERROR, "backup: %s", err.msg);
        goto out;
    }
    date_now_rfc3339(now);
    m = xjson(cJSON_CreateObject());
    xjson(cJSON_AddNumberToObject(m, "format", BACKUP_FORMAT));
    xjson(cJSON_AddStringToObject(m, "version", ALMANAC_VERSION));
    xjson(cJSON_AddStringToObject(m, "created_at", now));
    xjson(cJSON_AddBoolToObject(m, "artifacts", !no_artifacts));
    manifest = json_canonical(m, NULL);
    if (tar_bytes(fd, MANIFEST, manifest, strlen(manifest), 0644) < 0 ||
        tar_file(fd, "almanac.db", dbtmp) < 0 || tar_tree(fd, data, "keys", 0, &keys) < 0 ||
        (!no_artifacts && tar_tree(fd, data, "artifacts", 1, &arts) < 0)) {
        app_log(APP_LOG_ERROR, "backup: cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    {
        static const char end[2 * TAR_BLOCK];

        if (write_all(fd, end, sizeof(end)) < 0 || fsync(fd) < 0) {
            app_log(APP_LOG_ERROR, "backup: cannot write '%s': %s", tmp, strerror(errno));
            goto out;
        }
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) < 0) {
        app_log(APP_LOG_ERROR, "backup: cannot rename to '%s': %s", path, strerror(errno));
        goto out;
    }
    app_log(APP_LOG_INFO, "backup of %s written to %s (database, %lu key files, %s)", data, path,
            keys, no_artifacts ? "no artifacts" : "artifacts");
    if (!no_artifacts)
        app_log(APP_LOG_INFO, "%lu artifact files", arts);
    app_log(APP_LOG_INFO, "the backup holds the signing keys: keep it as safe as the keys");
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (ret != 0)
        unlink(tmp);
    unlink(dbtmp);
    free(tmp);
    free(dbtmp);
    free(manifest);
    cJSON_Delete(m);
    app_err_release(&err);
    return ret;
}

/* ------------------------------------------------------------------ restore */

static int
dir_empty_or_absent(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int empty = 1;

    if (!d)
        return errno == ENOENT;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    return empty;
}

/* Only the names a backup writes: no "..", no absolute paths, no surprises. */
static int
name_allowed(const char *n)
{
    if (strstr(n, "..") || n[0] == '/' || strchr(n, '\\'))
        return 0;
    if (!strcmp(n, MANIFEST) || !strcmp(n, "almanac.db"))
        return 1;
    if (!strncmp(n, "keys/", 5))
        return strchr(n + 5, '/') == NULL && n[5] && n[5] != '.';
    if (!strncmp(n, "artifacts/", 10)) {
        const char *slash = strchr(n + 10, '/');

        return slash && slash - (n + 10) == 2 && !strchr(slash + 1, '/') && slash[1] &&
               slash[1] != '.';
    }
    return 0;
}

static int
read_full(int fd, void *p, size_t n)
{
    char *c = p;

    while (n) {
        ssize_t r = read(fd, c, n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int
parse_octal(const char *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    while (i < n && f[i] == ' ')
        i++;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(f[i] - '0');
    if (i < n && f[i] != '\0' && f[i] != ' ')
        return -1;
    *out = v;
    return 0;
}

/* One entry's bytes to data/name (parents made), or into *mem for the manifest. */
static int
extract(int fd, const char *data, const char *name, uint64_t size, char **mem)
{
    char *path = NULL, *buf = xmalloc(COPY_CHUNK), *slash;
    uint64_t left = size, padded = (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
    size_t off = 0;
    int out = -1, ret = -1;

    if (mem) {
        if (size > MANIFEST_MAX)
            goto done;
        *mem = xmalloc((size_t)size + 1);
    } else {
        path = xasprintf("%s/%s", data, name);
        slash = strrchr(path, '/');
        *slash = '\0';
        if (fs_mkdir_p(path) < 0)
            goto done;
        *slash = '/';
        out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                   !strncmp(name, "keys/", 5) ? 0600 : 0644);
        if (out < 0)
            goto done;
    }
    while (left) {
        size_t n = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;

        if (read_full(fd, buf, n) < 0)
            goto done;
        if (mem) {
            memcpy(*mem + off, buf, n);
            off += n;
        } else if (write_all(out, buf, n) < 0) {
            goto done;
        }
        left -= n;
    }
    if (mem)
        (*mem)[off] = '\0';
    if (padded > size && read_full(fd, buf, (size_t)(padded - size)) < 0)
        goto done;
    if (out >= 0 && fsync(out) < 0)
        goto done;
    ret = 0;
done:
    if (out >= 0)
        close(out);
    free(path);
    free(buf);
    return ret;
}

/* Every current signing key recorded in the database must have come back. */
static int
keys_present(struct db *c, const char *data)
{
    sqlite3_stmt *st = NULL;
    int ok = 1, rc;

    if (db_prepare(c, &st, "SELECT id FROM keys WHERE retired_at IS NULL", NULL) < 0)
        return 0;
    while ((rc = db_next(st, NULL)) > 0) {
        char *p = xasprintf("%s/keys/%s.key", data, db_col_text(st, 0));

        if (access(p, R_OK) != 0) {
            app_log(APP_LOG_ERROR, "restore: the backup lacks the signing key %s",
                    db_col_text(st, 0));
            ok = 0;
        }
        free(p);
    }
    sqlite3_finalize(st);
    /* A key table that cannot be read proves nothing came back. */
    return rc < 0 ? 0 : ok;
}

static int
mark_missing(struct db *c, long long *n, struct app_err *err)
{
    char now[APP_TIME_LEN];

    date_now_rfc3339(now);
    db_event_set_principal("cli");
    return artdb_mark_all_missing(c, now, n, err);
}

int
srv_restore(const char *path, const char *data)
{
    struct app_err err = {0};
    struct data_lock *lock = NULL;
    struct tar_hdr h;
    struct db *c = NULL;
    char *manifest = NULL;
    cJSON *m = NULL, *arts;
    int fd = -1, ret = 1, have_db = 0;
    unsigned long files = 0;

    if (!dir_empty_or_absent(data)) {
        app_log(APP_LOG_ERROR,
                "restore: '%s' exists and is not empty; restore into a new "
                "directory",
                data);
        return 1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        app_log(APP_LOG_ERROR, "restore: cannot open '%s': %s", path, strerror(errno));
        return 1;
    }
    if (fs_mkdir_p(data) < 0) {
        app_log(APP_LOG_ERROR, "restore: cannot create '%s': %s", data, strerror(errno));
        goto out;
    }
    lock = data_lock_take(data, &err);
    if (!lock) {
        app_log(APP_LOG_ERROR, "%s", err.msg);
        goto out;
    }
    for (;;) {
        char name[TAR_NAME_MAX + 2];
        uint64_t size, sum_want;
        unsigned sum = 0;

        if (read_full(fd, &h, sizeof(h)) < 0) {
            app_log(APP_LOG_ERROR, "restore: '%s' ends early (not a complete backup)", path);
            goto out;
        }
        if (h.name[0] == '\0')
            break; /* the end-of-archive block */
        if (parse_octal(h.chksum, sizeof(h.chksum), &sum_want) < 0)
            goto bad;
        memset(h.chksum, ' ', sizeof(h.chksum));
        for (size_t i = 0; i < sizeof(h); i++)
            sum += ((unsigned char *)&h)[i];
        if (sum != sum_want || parse_octal(h.size, sizeof(h.size), &size) < 0 ||
            (h.typeflag != '0' && h.typeflag != '\0'))
            goto bad;
        memcpy(name, h.name, sizeof(h.name));
        name[sizeof(h.name)] = '\0';
        if (!name_allowed(name)) {
            app_log(APP_LOG_ERROR, "restore: unexpected entry '%.100s' in '%s'", name, path);
            goto out;
        }
        if (extract(fd, data, name, size, !strcmp(name, MANIFEST) ? &manifest : NULL) < 0) {
            app_log(APP_LOG_ERROR, "restore: cannot restore '%s': %s", name,
                    errno ? strerror(errno) : "short archive");
            goto out;
        }
        have_db |= !strcmp(name, "almanac.db");
        files++;
    }
    if (!manifest || !have_db || !(m = cJSON_Parse(manifest)) ||
        !cJSON_IsBool(arts = cJSON_GetObjectItemCaseSensitive(m, "artifacts"))) {
        app_log(APP_LOG_ERROR, "restore: '%s' is not an almanacd backup", path);
        goto out;
    }
    c = db_open(data, &err); /* applies newer migrations to an older backup */
    if (!c) {
        app_log(APP_LOG_ERROR, "restore: %s", err.msg);
        goto out;
    }
    if (!keys_present(c, data)) {
        app_log(APP_LOG_ERROR,
                "restore: refusing a backup without its signing keys: a "
                "server would sign with a new key and published signatures would not "
                "verify");
        goto out;
    }
    if (cJSON_IsFalse(arts)) {
        long long n = 0;

        if (mark_missing(c, &n, &err) < 0) {
            app_log(APP_LOG_ERROR, "restore: %s", err.msg);
            goto out;
        }
        app_log(APP_LOG_INFO,
                "the backup has no artifacts: %lld recorded as missing (fsck lists "
                "them; upload their bytes again)",
                n);
    }
    app_log(APP_LOG_INFO, "restored %lu files from %s into %s; run 'almanacd fsck --data %s'",
            files, path, data, data);
    ret = 0;
    goto out;
bad:
    app_log(APP_LOG_ERROR, "restore: '%s' is not a valid backup (bad tar header)", path);
out:
    cJSON_Delete(m);
    free(manifest);
    db_close(c);
    data_lock_release(lock);
    if (fd >= 0)
        close(fd);
    app_err_release(&err);
    return ret;
}
