/* executor/layout.c: per-worker directories of hard links, and their Pyodide lock. */
#include "executor/layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/buf.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/fs.h"
#include "app/mem.h"

#define LAYOUT_MANIFEST ".almanac-layout"
#define LAYOUT_LOCK "pyodide-lock.json"
#define SHIPPED_LOCK_MAX (64 * 1024 * 1024)

/* For file systems without RENAME_EXCHANGE: dir aside, tmp in, the old one back at
 * tmp (there is a moment with no dir). */
static int
layout_swap_two_steps(const char *tmp, const char *dir)
{
    char *aside = xasprintf("%s.old", tmp);
    int ret = -1;

    if (rename(dir, aside) < 0)
        goto out;
    if (rename(tmp, dir) < 0) {
        rename(aside, dir);
        goto out;
    }
    ret = rename(aside, tmp);
out:
    free(aside);
    return ret;
}

static int
name_valid(const char *s)
{
    return fs_name_check(s, NULL) == 0 && strcmp(s, LAYOUT_MANIFEST) != 0 &&
           strcmp(s, LAYOUT_LOCK) != 0;
}

static char *
manifest_of(const struct exe_layout_file *files, size_t n, const char *lock_text)
{
    struct buf b;
    char h[APP_SHA256_HEX];

    buf_init(&b, 0);
    sha256_hex(lock_text, strlen(lock_text), h);
    if (buf_printf(&b, "almanac-layout 1\nlock %s\n", h) < 0)
        abort();
    for (size_t i = 0; i < n; i++)
        if (buf_printf(&b, "%s %s\n", files[i].hex, files[i].name) < 0)
            abort();
    return buf_detach(&b, NULL);
}

/* 1 when dir already holds this manifest and every link is its blob. */
static int
layout_current(struct exe_cache *c, const char *dir, const struct exe_layout_file *files, size_t n,
               const char *manifest)
{
    char *path = xasprintf("%s/%s", dir, LAYOUT_MANIFEST), *text = NULL;
    size_t len;
    int ok = 0;

    if (file_read_all(path, &text, &len, 1024 * 1024, NULL) < 0 || strcmp(text, manifest) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char *blob = exe_cache_blob_path(c, files[i].hex);
        char *link_path = xasprintf("%s/%s", dir, files[i].name);
        struct stat a, b;
        int same = stat(blob, &a) == 0 && stat(link_path, &b) == 0 && a.st_ino == b.st_ino &&
                   a.st_dev == b.st_dev;

        free(blob);
        free(link_path);
        if (!same)
            goto out;
    }
    ok = 1;
out:
    free(text);
    free(path);
    return ok;
}

static int
write_file(const char *path, const char *text, struct app_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(text), off = 0;

    if (fd < 0)
        return app_fail(err, APP_EINTERNAL, "cannot create '%s': %s", path, strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            close(fd);
            return app_fail(err, APP_EINTERNAL, "cannot write '%s': %s", path, strerror(errno));
        }
        off += (size_t)w;
    }
    close(fd);
    return 0;
}

/* Remove a layout directory (plain files only, as this module makes them). */
static void
remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char *p;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        p = xasprintf("%s/%s", dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

int
exe_layout_build(struct exe_cache *c, const char *dir, const struct exe_layout_file *files,
                 size_t n, const char *lock_text, int *reused, struct app_err *err)
{
    char *manifest = manifest_of(files, n, lock_text);
    char *tmp = xasprintf("%s.tmp.%ld", dir, (long)getpid());
    char *p = NULL;
    int ret = -1, had_old = 0;

    *reused = 0;
    for (size_t i = 0; i < n; i++)
        if (!name_valid(files[i].name)) {
            app_fail(err, APP_EINVAL, "file name '%s' cannot be laid out",
                     files[i].name ? files[i].name : "");
            goto out;
        }
    if (layout_current(c, dir, files, n, manifest)) {
        *reused = 1;
        ret = 0;
        goto out;
    }
    {
        /* The parents only: dir itself arrives by rename. A failure shows below. */
        char *parent = xstrdup(dir);
        char *slash = strrchr(parent, '/');

        if (slash && slash != parent) {
            *slash = '\0';
            fs_mkdir_p(parent);
        }
        free(parent);
    }
    remove_tree(tmp);
    if (mkdir(tmp, 0755) < 0) {
        app_fail(err, APP_EINTERNAL, "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char *blob = exe_cache_blob_path(c, files[i].hex);

        free(p);
        p = xasprintf("%s/%s", tmp, files[i].name);
        if (link(blob, p) < 0 && errno != EEXIST) {
            app_fail(err, APP_EINTERNAL, "cannot link '%s' to '%s': %s", p, blob, strerror(errno));
            free(blob);
            goto out;
        }
        free(blob);
        /* Linking changed the blob's ctime: it is the same verified file. */
        exe_cache_restamp(c, files[i].hex);
    }
    free(p);
    p = xasprintf("%s/%s", tmp, LAYOUT_LOCK);
    if (write_file(p, lock_text, err) < 0)
        goto out;
    free(p);
    p = xasprintf("%s/%s", tmp, LAYOUT_MANIFEST);
    if (write_file(p, manifest, err) < 0)
        goto out;
    /* An existing directory is exchanged with the new one in one step
     * (RENAME_EXCHANGE), so a reader sees the old or the new directory and never no
     * directory; the old one, now at tmp, is removed after. The first layout is a
     * plain rename (nothing to exchange with). */
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
        had_old = 1;
    } else if (errno == ENOENT && rename(tmp, dir) == 0) {
        had_old = 0;
    } else if ((errno == EINVAL || errno == ENOSYS) && layout_swap_two_steps(tmp, dir) == 0) {
        had_old = 1; /* a file system without RENAME_EXCHANGE: the old way */
    } else {
        app_fail(err, APP_EINTERNAL, "cannot move '%s' into place at '%s': %s", tmp, dir,
                 strerror(errno));
        goto out;
    }
    if (had_old)
        remove_tree(tmp);
    ret = 0;
out:
    if (ret < 0)
        remove_tree(tmp);
    free(p);
    free(manifest);
    free(tmp);
    return ret;
}

/* info for Pyodide's lock: {abi_version, arch, platform, python, version}. */
static cJSON *
derived_info(const cJSON *lock)
{
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(lock, "runtime");
    const cJSON *abi = cJSON_GetObjectItemCaseSensitive(rt, "abi");
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(rt, "emscripten");
    const cJSON *py = cJSON_GetObjectItemCaseSensitive(rt, "python");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(rt, "pyodide");
    cJSON *info = xjson(cJSON_CreateObject());

    if (cJSON_IsString(abi)) {
        const char *a = abi->valuestring;

        if (strncmp(a, "pyodide_", 8) == 0)
            a += 8;
        xjson(cJSON_AddStringToObject(info, "abi_version", a));
    }
    xjson(cJSON_AddStringToObject(info, "arch", "wasm32"));
    if (cJSON_IsString(em)) {
        char *plat = xasprintf("emscripten_%s", em->valuestring);

        for (char *q = plat; *q; q++)
            if (*q == '.')
                *q = '_';
        xjson(cJSON_AddStringToObject(info, "platform", plat));
        free(plat);
    }
    if (cJSON_IsString(py))
        xjson(cJSON_AddStringToObject(info, "python", py->valuestring));
    if (cJSON_IsString(ver))
        xjson(cJSON_AddStringToObject(info, "version", ver->valuestring));
    return info;
}

char *
exe_pyodide_lock(const cJSON *lock, const char *shipped_path)
{
    cJSON *out = xjson(cJSON_CreateObject()), *pkgs, *info = NULL, *shipped = NULL;
    const cJSON *p;
    char *text = NULL;
    size_t len;

    if (shipped_path && file_read_all(shipped_path, &text, &len, SHIPPED_LOCK_MAX, NULL) == 0) {
        shipped = cJSON_ParseWithLength(text, len);
        info = cJSON_DetachItemFromObjectCaseSensitive(shipped, "info");
        if (info && !cJSON_IsObject(info)) {
            cJSON_Delete(info);
            info = NULL;
        }
    }
    free(text);
    cJSON_Delete(shipped);
    cJSON_AddItemToObject(out, "info", info ? info : derived_info(lock));
    pkgs = xjson(cJSON_AddObjectToObject(out, "packages"));
    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(lock, "packages")) {
        static const char *const copy[] = {"name",   "version",      "file_name", "install_dir",
                                           "sha256", "package_type", "imports",   "depends"};
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "package_type");
        cJSON *e;

        if (!cJSON_IsString(name))
            continue;
        e = xjson(cJSON_CreateObject());
        for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, copy[i]);

            if (v && !cJSON_IsNull(v))
                cJSON_AddItemToObject(e, copy[i], xjson(cJSON_Duplicate(v, 1)));
        }
        if (!cJSON_GetObjectItemCaseSensitive(e, "imports"))
            xjson(cJSON_AddArrayToObject(e, "imports"));
        if (!cJSON_GetObjectItemCaseSensitive(e, "depends"))
            xjson(cJSON_AddArrayToObject(e, "depends"));
        xjson(cJSON_AddBoolToObject(e, "shared_library",
                                    cJSON_IsString(type) &&
                                        strcmp(type->valuestring, "shared_library") == 0));
        xjson(cJSON_AddBoolToObject(e, "unvendored_tests", 0));
        cJSON_AddItemToObject(pkgs, name->valuestring, e);
    }
    text = json_canonical(out, NULL);
    cJSON_Delete(out);
    return text;
}

const char *
exe_core_name(const char *role, const char *file_name)
{
    if (strcmp(role, "core-wasm") == 0)
        return "pyodide.asm.wasm";
    if (strcmp(role, "loader") == 0)
        return "pyodide.mjs";
    if (strcmp(role, "stdlib") == 0)
        return "python_stdlib.zip";
    if (strcmp(role, "core-js") == 0)
        return file_name; /* pyodide.asm.js or pyodide.asm.mjs */
    return NULL;
}

int
exe_layout_lock(struct exe_cache *c, const cJSON *lock, const struct exe_lock_file *files, size_t n,
                const char *worker, char **dir, cJSON **pkgs, int *reused, struct app_err *err)
{
    struct exe_layout_file *lay = xcalloc(n ? n : 1, sizeof(*lay));
    char key[APP_SHA256_HEX];
    char *shipped = NULL, *lock_text = NULL;
    const cJSON *p;
    size_t k = 0;
    int ret = -1;

    *dir = NULL;
    *pkgs = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *name = files[i].blob.name;

        if (files[i].role) {
            /* The runtime's own lock only lends its "info" to the one written here. */
            if (!strcmp(files[i].role, "lock")) {
                free(shipped);
                shipped = exe_cache_blob_path(c, files[i].blob.hex);
                continue;
            }
            name = exe_core_name(files[i].role, files[i].blob.name);
            if (!name)
                continue;
        }
        lay[k].name = name;
        lay[k].hex = files[i].blob.hex;
        k++;
    }
    sha256_hex(worker, strlen(worker), key);
    *dir = xasprintf("%s/workers/%.16s", exe_cache_root(c), key);
    lock_text = exe_pyodide_lock(lock, shipped);
    if (exe_layout_build(c, *dir, lay, k, lock_text, reused, err) < 0)
        goto out;
    *pkgs = xjson(cJSON_CreateArray());
    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(lock, "packages")) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");

        cJSON_AddItemToArray(
            *pkgs, xjson(cJSON_CreateString(cJSON_IsString(name) ? name->valuestring : "-")));
    }
    ret = 0;
out:
    if (ret < 0) {
        free(*dir);
        *dir = NULL;
    }
    free(lock_text);
    free(shipped);
    free(lay);
    return ret;
}
