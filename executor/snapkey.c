/* executor/snapkey.c: a memory snapshot's key from the lock and the worker's files. */
#include "executor/snapkey.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "app/fs.h"
#include "app/hash.h"
#include "app/mem.h"

/* The host refuses a worker larger than this (MAX_WORKER_BYTES in host.mjs): a file
 * past it cannot be part of a snapshot, so it is not read for the key either. */
#define SNAPKEY_FILE_MAX (64u * 1024 * 1024)
/* How deep the key follows nested directories (the host has no limit; a package
 * nested deeper than this is an accident, or a loop through a bind mount). */
#define SNAPKEY_DEPTH_MAX 32
#define SNAPKEY_VENDOR_FLAG "python_workers_force_new_vendor_path"

/* Names the host skips when it copies a directory (collectWorkerFiles's skip). */
static int
skipped(const char *nm)
{
    return nm[0] == '.' || strcmp(nm, "__pycache__") == 0 || strcmp(nm, "node_modules") == 0;
}

static int
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* One file: its name, its length and its bytes, so that no two different sets of
 * files hash alike. An unreadable file counts as its name alone (the host fails on
 * it, which no key can avoid). */
static void
hash_file(crypto_hash_sha256_state *st, const char *rel, const char *path)
{
    char *text = NULL;
    size_t tl = 0;
    unsigned char len[8];

    crypto_hash_sha256_update(st, (const unsigned char *)rel, strlen(rel) + 1);
    if (file_read_all(path, &text, &tl, SNAPKEY_FILE_MAX, NULL) == 0) {
        for (int i = 0; i < 8; i++)
            len[i] = (unsigned char)((uint64_t)tl >> (8 * i));
        crypto_hash_sha256_update(st, len, sizeof(len));
        crypto_hash_sha256_update(st, (const unsigned char *)text, tl);
    }
    free(text);
}

/* Every file under dir (names sorted, skipped names and *.pyc left out), named
 * rel/... The host copies a package directory whole this way (addPackageDir). */
static void
hash_tree(crypto_hash_sha256_state *st, const char *rel, const char *dir, int depth)
{
    struct dirent **names = NULL;
    int n;

    if (depth > SNAPKEY_DEPTH_MAX || (n = scandir(dir, &names, NULL, alphasort)) < 0)
        return;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char *p = xasprintf("%s/%s", dir, nm), *r = xasprintf("%s/%s", rel, nm);
        struct stat sb;

        if (!skipped(nm) && lstat(p, &sb) == 0) {
            if (S_ISDIR(sb.st_mode))
                hash_tree(st, r, p, depth + 1);
            else if (S_ISREG(sb.st_mode) && !has_suffix(nm, ".pyc"))
                hash_file(st, r, p);
        }
        free(p);
        free(r);
        free(names[i]);
    }
    free(names);
}

/* 1 when the host copies vendor/ beside the worker (vendorDirs in host.mjs): the
 * config's rules name vendor/ and the new vendor path is not forced by a flag. */
static int
vendor_copied(const cJSON *config, const cJSON *flags)
{
    const cJSON *r, *g, *f;
    int ruled = 0;

    cJSON_ArrayForEach (f, flags)
        if (cJSON_IsString(f) && strcmp(f->valuestring, SNAPKEY_VENDOR_FLAG) == 0)
            return 0;
    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive(config, "rules"))
        cJSON_ArrayForEach (g, cJSON_GetObjectItemCaseSensitive(r, "globs"))
            if (cJSON_IsString(g) && strncmp(g->valuestring, "vendor/", 7) == 0)
                ruled = 1;
    return ruled;
}

int
exe_snapshot_key(const char *lock_id, const char *worker, const char *project_dir,
                 const cJSON *config, const cJSON *flags, char key[EXE_SNAPKEY_LEN],
                 struct app_err *err)
{
    char *dir = xstrdup(worker), *slash = strrchr(dir, '/'), *p = NULL;
    const char *module = slash ? slash + 1 : worker;
    crypto_hash_sha256_state st;
    struct dirent **names = NULL;
    unsigned char d[APP_SHA256_LEN];
    char hex[APP_SHA256_HEX];
    int n = -1, ret = -1;

    if (strncmp(lock_id, "sha256:", 7) != 0 || !sha256_hex_valid(lock_id + 7)) {
        app_fail(err, APP_EINVAL, "'%s' is not a lock id", lock_id);
        goto out;
    }
    if (!slash || slash == dir) {
        app_fail(err, APP_EINVAL, "worker '%s' is not an absolute path in a directory", worker);
        goto out;
    }
    *slash = '\0';
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)"module", sizeof("module"));
    crypto_hash_sha256_update(&st, (const unsigned char *)module, strlen(module) + 1);
    n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        app_fail(err, APP_EINVAL, "cannot list '%s': %s", dir, strerror(errno));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char *init;
        struct stat sb;

        free(p);
        p = xasprintf("%s/%s", dir, nm);
        if (skipped(nm) || lstat(p, &sb) < 0)
            continue;
        init = xasprintf("%s/__init__.py", p);
        if (S_ISREG(sb.st_mode) && has_suffix(nm, ".py"))
            hash_file(&st, nm, p);
        else if (S_ISDIR(sb.st_mode) && access(init, F_OK) == 0)
            hash_tree(&st, nm, p, 0);
        free(init);
    }
    free(p);
    p = xasprintf("%s/python_modules", project_dir);
    hash_tree(&st, "python_modules", p, 0);
    if (vendor_copied(config, flags)) {
        free(p);
        p = xasprintf("%s/vendor", dir);
        hash_tree(&st, "vendor", p, 0);
    }
    crypto_hash_sha256_final(&st, d);
    hex_encode(d, sizeof(d), hex);
    if (snprintf(key, EXE_SNAPKEY_LEN, "%.32s-%.32s", lock_id + 7, hex) != EXE_SNAPKEY_LEN - 1) {
        app_fail(err, APP_EINTERNAL, "snapshot key truncated");
        goto out;
    }
    ret = 0;
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(p);
    free(dir);
    return ret;
}
