/* executor/lockfiles.c: which blobs a lock needs, and fetching them into the cache. */
#include "executor/lockfiles.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/fs.h"
#include "app/hash.h"
#include "app/mem.h"

static const char *
entry_name(const cJSON *e)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");

    return cJSON_IsString(n) ? n->valuestring : "-";
}

static int
add_file(const cJSON *e, const char *role, struct exe_lock_file *f, struct app_err *err)
{
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(e, "sha256");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "file_name");

    if (!cJSON_IsString(sha) || !sha256_hex_valid(sha->valuestring))
        return app_fail(err, APP_EUNAVAILABLE, "lock entry '%s' has no valid sha256",
                        entry_name(e));
    if (!cJSON_IsString(name) || fs_name_check(name->valuestring, NULL) < 0)
        return app_fail(err, APP_EUNAVAILABLE, "lock entry %.16s has a bad file_name",
                        sha->valuestring);
    f->blob.hex = sha->valuestring;
    f->blob.name = name->valuestring;
    f->blob.size = cJSON_IsNumber(size) && size->valuedouble >= 0 ? (uint64_t)size->valuedouble
                                                                  : EXE_SIZE_UNKNOWN;
    f->role = role;
    return 0;
}

int
exe_lock_files(const cJSON *lock, struct exe_lock_file **out, size_t *n, struct app_err *err)
{
    const cJSON *arts = cJSON_GetObjectItemCaseSensitive(lock, "artifacts");
    const cJSON *pkgs = cJSON_GetObjectItemCaseSensitive(lock, "packages"), *e;
    size_t cap = (size_t)cJSON_GetArraySize(arts) + (size_t)cJSON_GetArraySize(pkgs);
    struct exe_lock_file *fs = xcalloc(cap ? cap : 1, sizeof(*fs));
    size_t k = 0;

    *out = NULL;
    *n = 0;
    cJSON_ArrayForEach (e, arts) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(e, "role");

        if (add_file(e, cJSON_IsString(role) ? role->valuestring : "core", &fs[k], err) < 0)
            goto fail;
        k++;
    }
    cJSON_ArrayForEach (e, pkgs) {
        if (add_file(e, NULL, &fs[k], err) < 0)
            goto fail;
        k++;
    }
    *out = fs;
    *n = k;
    return 0;
fail:
    free(fs);
    return -1;
}

int
exe_fetch_files(struct exe_cache *cache, struct exe_fetch *f, struct exe_lock_file *files, size_t n,
                struct app_err *err)
{
    struct exe_blob *bs = xcalloc(n ? n : 1, sizeof(*bs));
    int ret = -1;

    for (size_t i = 0; i < n; i++)
        bs[i] = files[i].blob;
    if (exe_cache_fetch(cache, f, bs, n, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        files[i].blob.downloaded = bs[i].downloaded;
        files[i].blob.wire_bytes = bs[i].wire_bytes;
    }
    ret = 0;
out:
    free(bs);
    return ret;
}
