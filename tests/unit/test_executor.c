/* tests/unit/test_executor.c: the executor's pure phases (executor/): the role to
 * file name table and a lock's layout, a lock's files, the snapshot key, the host's
 * request and config, and the stale-snapshot retry (its decision, and the loop run
 * against a stand-in for node). Everything happens in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app/fs.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"
#include "executor/cache.h"
#include "executor/layout.h"
#include "executor/lockfiles.h"
#include "executor/run.h"
#include "executor/snapkey.h"
#include "tests/lib/unit.h"

static char tmp_root[] = "/tmp/almanac-test-executor-XXXXXX";

static void
setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void
teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", tmp_root);

    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    memcpy(tmp_root + strlen(tmp_root) - 6, "XXXXXX", 6);
}

/* Write text to tmp_root/rel, making its directories. */
static char *
put(const char *rel, const char *text)
{
    char *p = xasprintf("%s/%s", tmp_root, rel), *dir = xstrdup(p);
    FILE *f;

    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(fs_mkdir_p(dir), 0);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    free(dir);
    return p;
}

static char *
read_text(const char *path)
{
    char *text = NULL;
    size_t len = 0;

    ck_assert_int_eq(file_read_all(path, &text, &len, 1u << 20, NULL), 0);
    return text;
}

static char *
path_of(const char *rel)
{
    return xasprintf("%s/%s", tmp_root, rel);
}

START_TEST(test_core_names)
{
    ck_assert_str_eq(exe_core_name("core-wasm", "x.wasm"), "pyodide.asm.wasm");
    ck_assert_str_eq(exe_core_name("loader", "x.mjs"), "pyodide.mjs");
    ck_assert_str_eq(exe_core_name("stdlib", "x.zip"), "python_stdlib.zip");
    /* The JS core keeps its own name: pyodide.asm.js before 0.28, .mjs after. */
    ck_assert_str_eq(exe_core_name("core-js", "pyodide.asm.js"), "pyodide.asm.js");
    ck_assert_str_eq(exe_core_name("core-js", "pyodide.asm.mjs"), "pyodide.asm.mjs");
    /* The shipped lock and unknown roles are not laid out under a core name. */
    ck_assert_ptr_null(exe_core_name("lock", "pyodide-lock.json"));
    ck_assert_ptr_null(exe_core_name("core", "a"));
    ck_assert_ptr_null(exe_core_name("", "a"));
}
END_TEST

static const char *const HEX_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *const HEX_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static cJSON *
lock_with(const char *artifacts, const char *packages)
{
    char *text = xasprintf("{\"artifacts\": %s, \"packages\": %s}", artifacts, packages);
    cJSON *lock = cJSON_Parse(text);

    ck_assert_ptr_nonnull(lock);
    free(text);
    return lock;
}

START_TEST(test_lock_files)
{
    char *arts = xasprintf("[{\"role\": \"core-wasm\", \"sha256\": \"%s\", \"size\": 10, "
                           "\"file_name\": \"pyodide.asm.wasm\"},"
                           "{\"sha256\": \"%s\", \"file_name\": \"odd.bin\"}]",
                           HEX_A, HEX_B);
    char *pkgs = xasprintf("[{\"name\": \"six\", \"sha256\": \"%s\", \"size\": 7, "
                           "\"file_name\": \"six-1.whl\"}]",
                           HEX_B);
    cJSON *lock = lock_with(arts, pkgs);
    struct exe_lock_file *fs = NULL;
    struct app_err err = {0};
    size_t n = 0;

    ck_assert_int_eq(exe_lock_files(lock, &fs, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(fs[0].role, "core-wasm");
    ck_assert_str_eq(fs[0].blob.hex, HEX_A);
    ck_assert_uint_eq(fs[0].blob.size, 10);
    ck_assert_str_eq(fs[1].role, "core"); /* an artifact with no role */
    ck_assert_uint_eq(fs[1].blob.size, EXE_SIZE_UNKNOWN);
    ck_assert_ptr_null(fs[2].role); /* a package */
    ck_assert_str_eq(fs[2].blob.name, "six-1.whl");
    ck_assert_uint_eq(fs[2].blob.size, 7);
    free(fs);
    cJSON_Delete(lock);
    free(arts);
    free(pkgs);

    /* A malformed lock is refused, naming the entry, and gives nothing back. */
    lock = lock_with("[]", "[{\"name\": \"six\", \"sha256\": \"xyz\", \"file_name\": \"a.whl\"}]");
    fs = (struct exe_lock_file *)1;
    ck_assert_int_eq(exe_lock_files(lock, &fs, &n, &err), -1);
    ck_assert_ptr_null(fs);
    ck_assert_int_eq(err.code, APP_EUNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err.msg, "six"));
    cJSON_Delete(lock);
    pkgs =
        xasprintf("[{\"name\": \"six\", \"sha256\": \"%s\", \"file_name\": \"../x.whl\"}]", HEX_A);
    lock = lock_with("[]", pkgs);
    ck_assert_int_eq(exe_lock_files(lock, &fs, &n, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "file_name"));
    cJSON_Delete(lock);
    free(pkgs);
    app_err_release(&err);
}
END_TEST

/* Put text into the cache as the blob of its own SHA-256; its hex into hex. */
static void
put_blob(struct exe_cache *c, const char *text, char hex[APP_SHA256_HEX])
{
    char *p, *dir;
    FILE *f;

    sha256_hex(text, strlen(text), hex);
    p = exe_cache_blob_path(c, hex);
    dir = xstrdup(p);
    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(fs_mkdir_p(dir), 0);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    free(dir);
    free(p);
}

static int
same_file(const char *a, const char *b)
{
    struct stat x, y;

    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_ino == y.st_ino && x.st_dev == y.st_dev;
}

START_TEST(test_layout_lock)
{
    char *root = path_of("cache");
    struct exe_cache *c = exe_cache_open(root, NULL);
    char wasm[APP_SHA256_HEX], js[APP_SHA256_HEX], shipped[APP_SHA256_HEX], whl[APP_SHA256_HEX];
    struct exe_lock_file *fs = NULL;
    struct app_err err = {0};
    char *arts, *pkgs, *dir = NULL, *p, *blob, *text;
    cJSON *lock, *names = NULL, *pl;
    size_t n = 0;
    int reused = -1;

    ck_assert_ptr_nonnull(c);
    put_blob(c, "wasm bytes", wasm);
    put_blob(c, "js bytes", js);
    put_blob(c, "{\"info\": {\"version\": \"9.9.9\", \"arch\": \"wasm32\"}, \"packages\": {}}",
             shipped);
    put_blob(c, "wheel bytes", whl);
    arts =
        xasprintf("[{\"role\": \"core-wasm\", \"sha256\": \"%s\", \"file_name\": \"w.wasm\"},"
                  "{\"role\": \"core-js\", \"sha256\": \"%s\", \"file_name\": \"pyodide.asm.mjs\"},"
                  "{\"role\": \"lock\", \"sha256\": \"%s\", \"file_name\": \"pyodide-lock.json\"}]",
                  wasm, js, shipped);
    pkgs = xasprintf("[{\"name\": \"six\", \"version\": \"1\", \"sha256\": \"%s\", "
                     "\"file_name\": \"six-1-py3-none-any.whl\"}]",
                     whl);
    lock = lock_with(arts, pkgs);
    ck_assert_int_eq(exe_lock_files(lock, &fs, &n, &err), 0);
    ck_assert_int_eq(exe_layout_lock(c, lock, fs, n, "/w/worker.py", &dir, &names, &reused, &err),
                     0);
    ck_assert_int_eq(reused, 0);
    ck_assert_ptr_nonnull(strstr(dir, "/workers/"));

    /* Core files under Pyodide's names, packages under theirs, all links to blobs. */
    p = xasprintf("%s/pyodide.asm.wasm", dir);
    blob = exe_cache_blob_path(c, wasm);
    ck_assert(same_file(p, blob));
    free(p);
    free(blob);
    p = xasprintf("%s/pyodide.asm.mjs", dir);
    blob = exe_cache_blob_path(c, js);
    ck_assert(same_file(p, blob));
    free(p);
    free(blob);
    p = xasprintf("%s/six-1-py3-none-any.whl", dir);
    blob = exe_cache_blob_path(c, whl);
    ck_assert(same_file(p, blob));
    free(p);
    free(blob);
    p = xasprintf("%s/w.wasm", dir); /* not under the artifact's own file name */
    ck_assert_int_ne(access(p, F_OK), 0);
    free(p);

    /* The lock written for Pyodide: this lock's packages, the shipped lock's info. */
    p = xasprintf("%s/pyodide-lock.json", dir);
    text = read_text(p);
    pl = cJSON_Parse(text);
    ck_assert_ptr_nonnull(pl);
    ck_assert_str_eq(json_str_item(cJSON_GetObjectItem(pl, "info"), "version"), "9.9.9");
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(pl, "packages"), "six"));
    blob = exe_cache_blob_path(c, shipped); /* written for this lock, not a link */
    ck_assert(!same_file(p, blob));
    free(blob);
    cJSON_Delete(pl);
    free(text);
    free(p);

    ck_assert_int_eq(cJSON_GetArraySize(names), 1);
    ck_assert_str_eq(cJSON_GetArrayItem(names, 0)->valuestring, "six");

    /* The same lock again: the directory is reused as it is. */
    free(dir);
    cJSON_Delete(names);
    ck_assert_int_eq(exe_layout_lock(c, lock, fs, n, "/w/worker.py", &dir, &names, &reused, &err),
                     0);
    ck_assert_int_eq(reused, 1);
    {
        /* Another worker gets a directory of its own. */
        char *dir2 = NULL;
        cJSON *names2 = NULL;

        ck_assert_int_eq(
            exe_layout_lock(c, lock, fs, n, "/w/other.py", &dir2, &names2, &reused, &err), 0);
        ck_assert_str_ne(dir, dir2);
        free(dir2);
        cJSON_Delete(names2);
    }
    free(dir);
    cJSON_Delete(names);
    free(fs);
    cJSON_Delete(lock);
    free(arts);
    free(pkgs);
    free(root);
    exe_cache_free(c);
    app_err_release(&err);
}
END_TEST

/* The key of the project under tmp_root/proj for lock id, worker module and config. */
static void
key_of(const char *lock_id, const char *module, const cJSON *config, const cJSON *flags,
       char key[EXE_SNAPKEY_LEN])
{
    char *worker = xasprintf("%s/proj/src/%s", tmp_root, module);
    char *proj = path_of("proj");
    struct app_err err = {0};

    ck_assert_int_eq(exe_snapshot_key(lock_id, worker, proj, config, flags, key, &err), 0);
    ck_assert_uint_eq(strlen(key), EXE_SNAPKEY_LEN - 1);
    free(worker);
    free(proj);
    app_err_release(&err);
}

/* A lock id as the server makes it: "sha256:" and the digest of the canonical lock. */
static char *
lock_id_of(const char *lock_json)
{
    cJSON *lock = cJSON_Parse(lock_json);
    char *text = json_canonical(lock, NULL), hex[APP_SHA256_HEX];

    sha256_hex(text, strlen(text), hex);
    free(text);
    cJSON_Delete(lock);
    return xasprintf("sha256:%s", hex);
}

/* Rewrite tmp_root/rel with text and say whether the key moved from *key (which is
 * updated to the new key). */
static int
key_moves(const char *rel, const char *text, const char *lock_id, char key[EXE_SNAPKEY_LEN])
{
    char now[EXE_SNAPKEY_LEN];
    int moved;

    if (rel)
        free(put(rel, text));
    key_of(lock_id, "worker.py", NULL, NULL, now);
    moved = strcmp(now, key) != 0;
    memcpy(key, now, EXE_SNAPKEY_LEN);
    return moved;
}

START_TEST(test_snapshot_key)
{
    char *id = lock_id_of("{\"runtime\": {\"id\": \"pyodide-0.28.3\"}, \"enabled_flags\": "
                          "[\"python_workers\"], \"packages\": []}");
    char *id_flags = lock_id_of("{\"runtime\": {\"id\": \"pyodide-0.28.3\"}, \"enabled_flags\": "
                                "[\"python_workers\", \"python_dedicated_snapshot\"], "
                                "\"packages\": []}");
    char *id_runtime = lock_id_of("{\"runtime\": {\"id\": \"pyodide-0.27.7\"}, "
                                  "\"enabled_flags\": [\"python_workers\"], \"packages\": []}");
    char key[EXE_SNAPKEY_LEN], other[EXE_SNAPKEY_LEN];
    struct app_err err = {0};
    char *worker, *proj, *target, *link_path;

    free(put("proj/src/worker.py", "from helper import x\n"));
    free(put("proj/src/helper.py", "x = 1\n"));
    free(put("proj/src/pkg/__init__.py", ""));
    free(put("proj/src/pkg/sub/mod.py", "y = 2\n"));
    free(put("proj/src/notpkg/data.py", "z = 3\n"));
    free(put("proj/python_modules/lib/a.py", "a = 1\n"));
    key_of(id, "worker.py", NULL, NULL, key);

    /* Stable: the same inputs, and anything the host does not copy. */
    ck_assert(!key_moves(NULL, NULL, id, key));
    ck_assert(!key_moves("proj/src/notpkg/data.py", "z = 4\n", id, key));    /* no __init__.py */
    ck_assert(!key_moves("proj/src/.hidden.py", "h = 1\n", id, key));        /* hidden */
    ck_assert(!key_moves("proj/src/__pycache__/x.pyc", "pyc", id, key));     /* caches */
    ck_assert(!key_moves("proj/src/pkg/__pycache__/m.pyc", "pyc", id, key)); /* caches */
    ck_assert(!key_moves("proj/src/pkg/sub/old.pyc", "pyc", id, key));       /* *.pyc */
    ck_assert(!key_moves("proj/src/node_modules/x.py", "n", id, key));
    ck_assert(!key_moves("proj/src/README.md", "docs", id, key)); /* not a .py module */
    ck_assert(!key_moves("proj/vendor/v.py", "v", id, key));      /* vendor/ without a rule */

    /* Moves: every file the host copies, by content and by name. */
    ck_assert(key_moves("proj/src/worker.py", "from helper import x  # edited\n", id, key));
    ck_assert(key_moves("proj/src/helper.py", "x = 2\n", id, key));
    ck_assert(key_moves("proj/src/new_sibling.py", "", id, key));
    ck_assert(key_moves("proj/src/pkg/sub/mod.py", "y = 3\n", id, key)); /* a sibling package */
    ck_assert(key_moves("proj/src/pkg/data.json", "{}", id, key));       /* copied whole */
    ck_assert(key_moves("proj/src/notpkg/__init__.py", "", id, key));    /* now a package */
    ck_assert(key_moves("proj/python_modules/lib/a.py", "a = 2\n", id, key));
    ck_assert(key_moves("proj/python_modules/b.py", "b = 1\n", id, key));

    /* The lock id: another runtime or other flags are another lock. */
    key_of(id_flags, "worker.py", NULL, NULL, other);
    ck_assert_str_ne(other, key);
    key_of(id_runtime, "worker.py", NULL, NULL, other);
    ck_assert_str_ne(other, key);
    /* Another main module in the same directory. */
    key_of(id, "helper.py", NULL, NULL, other);
    ck_assert_str_ne(other, key);

    /* File boundaries count: mod.py and mod2.py both empty, then mod.py holding
     * "pkg/sub/mod2.py\0" alone, read alike as names and bytes run together. */
    free(put("proj/src/pkg/sub/mod.py", ""));
    free(put("proj/src/pkg/sub/mod2.py", ""));
    key_of(id, "worker.py", NULL, NULL, key);
    {
        static const char bytes[] = "pkg/sub/mod2.py";
        char *p = path_of("proj/src/pkg/sub/mod.py");
        FILE *f = fopen(p, "w");

        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(bytes, 1, sizeof(bytes), f), sizeof(bytes)); /* with its NUL */
        ck_assert_int_eq(fclose(f), 0);
        free(p);
        p = path_of("proj/src/pkg/sub/mod2.py");
        ck_assert_int_eq(unlink(p), 0);
        free(p);
    }
    key_of(id, "worker.py", NULL, NULL, other);
    ck_assert_str_ne(other, key);

    /* A symbolic link beside the worker is not copied by the host: not in the key. */
    key_of(id, "worker.py", NULL, NULL, key);
    target = path_of("proj/src/helper.py");
    link_path = path_of("proj/src/linked.py");
    ck_assert_int_eq(symlink(target, link_path), 0);
    key_of(id, "worker.py", NULL, NULL, other);
    ck_assert_str_eq(other, key);
    free(target);
    free(link_path);

    /* vendor/ beside the worker counts when a rule copies it and no flag forces the
     * new vendor path. */
    {
        cJSON *config = cJSON_Parse("{\"rules\": [{\"type\": \"Data\", \"globs\": "
                                    "[\"vendor/**/*.py\"]}]}");
        cJSON *forced = cJSON_Parse("[\"python_workers_force_new_vendor_path\"]");
        char ruled[EXE_SNAPKEY_LEN], ruled2[EXE_SNAPKEY_LEN], f1[EXE_SNAPKEY_LEN],
            f2[EXE_SNAPKEY_LEN];

        free(put("proj/src/vendor/lib.py", "v = 1\n"));
        key_of(id, "worker.py", config, NULL, ruled);
        key_of(id, "worker.py", config, forced, f1);
        free(put("proj/src/vendor/lib.py", "v = 2\n"));
        key_of(id, "worker.py", config, NULL, ruled2);
        key_of(id, "worker.py", config, forced, f2);
        ck_assert_str_ne(ruled, ruled2);
        ck_assert_str_eq(f1, f2);
        key_of(id, "worker.py", NULL, NULL, key);
        ck_assert_str_eq(f2, key); /* forced: as if there were no rule */
        cJSON_Delete(config);
        cJSON_Delete(forced);
    }

    /* Refused: a lock id that is not one, a worker directory that cannot be listed. */
    worker = path_of("proj/src/worker.py");
    proj = path_of("proj");
    ck_assert_int_eq(exe_snapshot_key("sha256:xyz", worker, proj, NULL, NULL, key, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    free(worker);
    worker = path_of("gone/worker.py");
    ck_assert_int_eq(exe_snapshot_key(id, worker, proj, NULL, NULL, key, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    free(worker);
    free(proj);
    free(id);
    free(id_flags);
    free(id_runtime);
    app_err_release(&err);
}
END_TEST

static const char *const LOCK_JSON =
    "{\"runtime\": {\"id\": \"pyodide-0.28.3\", \"pyodide\": \"0.28.3\", \"python\": \"3.13.2\"}, "
    "\"enabled_flags\": [\"python_workers\", \"python_no_global_handlers\"], "
    "\"artifacts\": [], \"packages\": []}";

static cJSON *
request_of(const char *line, const char *const *headers, size_t n, const char *data,
           struct app_err *err)
{
    struct exe_plan plan = {0};
    struct exe_run r;
    cJSON *req = NULL;

    plan.request = line;
    plan.headers = headers;
    plan.n_headers = n;
    plan.data = data;
    exe_run_init(&r, &plan);
    if (exe_run_request(&r, err) == 0) {
        req = r.request;
        r.request = NULL;
    }
    exe_run_release(&r);
    return req;
}

START_TEST(test_request)
{
    static const char *const hs[] = {"X-One:  a b ", "x-two:\tc"};
    struct app_err err = {0};
    cJSON *req, *h;
    char *file;

    req = request_of(NULL, NULL, 0, NULL, &err);
    ck_assert_str_eq(json_str_item(req, "method"), "GET");
    ck_assert_str_eq(json_str_item(req, "url"), "http://localhost/");
    ck_assert_ptr_null(cJSON_GetObjectItem(req, "body"));
    cJSON_Delete(req);

    req = request_of("post  /items?q=1", hs, 2, "hello", &err);
    ck_assert_str_eq(json_str_item(req, "method"), "POST");
    ck_assert_str_eq(json_str_item(req, "url"), "http://localhost/items?q=1");
    ck_assert_str_eq(json_str_item(req, "body"), "hello");
    ck_assert_ptr_null(cJSON_GetObjectItem(req, "body_encoding"));
    h = cJSON_GetObjectItem(req, "headers");
    ck_assert_int_eq(cJSON_GetArraySize(h), 2);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(h, 0), 0)->valuestring, "X-One");
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(h, 0), 1)->valuestring, "a b ");
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(h, 1), 1)->valuestring, "c");
    cJSON_Delete(req);

    /* A path alone with a body is a POST; a full URL is kept. */
    req = request_of("https://example.com/x", NULL, 0, NULL, &err);
    ck_assert_str_eq(json_str_item(req, "method"), "GET");
    ck_assert_str_eq(json_str_item(req, "url"), "https://example.com/x");
    cJSON_Delete(req);
    req = request_of("/submit", NULL, 0, "b", &err);
    ck_assert_str_eq(json_str_item(req, "method"), "POST");
    cJSON_Delete(req);

    /* @FILE: read whole, base64 (it may be binary). */
    file = put("body.bin", "hi!");
    {
        char *at = xasprintf("@%s", file);

        req = request_of("PUT /", NULL, 0, at, &err);
        ck_assert_str_eq(json_str_item(req, "body"), "aGkh");
        ck_assert_str_eq(json_str_item(req, "body_encoding"), "base64");
        cJSON_Delete(req);
        free(at);
        at = xasprintf("@%s.missing", file);
        ck_assert_ptr_null(request_of("PUT /", NULL, 0, at, &err));
        ck_assert_int_eq(err.code, APP_EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "--data file"));
        free(at);
    }
    free(file);

    /* Refused: no path or URL, a header without a colon. */
    ck_assert_ptr_null(request_of("GET items", NULL, 0, NULL, &err));
    ck_assert_int_eq(err.code, APP_EINVAL);
    {
        static const char *const bad[] = {"no colon"};

        ck_assert_ptr_null(request_of("GET /", bad, 1, NULL, &err));
        ck_assert_int_eq(err.code, APP_EINVAL);
    }
    app_err_release(&err);
}
END_TEST

/* A plan for the project tmp_root/proj with its worker src/worker.py. */
struct fixture {
    cJSON *lock, *config;
    char *worker, *proj;
    struct exe_plan plan;
    struct exe_run r;
};

static void
fixture_init(struct fixture *f, const char *config_json)
{
    memset(f, 0, sizeof(*f));
    free(put("proj/src/worker.py", "def on_fetch(r): pass\n"));
    f->lock = cJSON_Parse(LOCK_JSON);
    f->config = config_json ? cJSON_Parse(config_json) : NULL;
    f->worker = path_of("proj/src/worker.py");
    f->proj = path_of("proj");
    f->plan.lock = f->lock;
    f->plan.lock_id = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    f->plan.worker = f->worker;
    f->plan.project_dir = f->proj;
    f->plan.config = f->config;
    exe_run_init(&f->r, &f->plan);
    f->r.dir = path_of("layout");
    f->r.packages = cJSON_Parse("[\"six\"]");
}

static void
fixture_release(struct fixture *f)
{
    exe_run_release(&f->r);
    cJSON_Delete(f->lock);
    cJSON_Delete(f->config);
    free(f->worker);
    free(f->proj);
}

START_TEST(test_host_config)
{
    static const char *const vars[] = {"B=from --var", "EMPTY="};
    struct app_err err = {0};
    struct fixture f;
    const cJSON *cfg, *env, *sn;
    char *want;

    fixture_init(&f, "{\"name\": \"w\", \"vars\": {\"A\": \"config\", \"B\": \"config\", "
                     "\"N\": 3, \"C\": \"config\"}}");
    free(put("proj/.dev.vars", "# secrets\nexport C = \"dev vars\" \nD='quoted # kept'\n"
                               "E=plain # comment\n"));
    f.plan.vars = vars;
    f.plan.n_vars = 2;
    f.plan.timeout_ms = 1500;
    f.plan.status = 1;
    ck_assert_int_eq(exe_run_request(&f.r, &err), 0);
    ck_assert_int_eq(exe_run_host_config(&f.r, &err), 0);
    cfg = f.r.config;
    ck_assert_ptr_null(f.r.request); /* moved into the config */
    ck_assert_str_eq(json_str_item(cfg, "dir"), f.r.dir);
    want = xasprintf("%s/pyodide-lock.json", f.r.dir);
    ck_assert_str_eq(json_str_item(cfg, "lock_file"), want);
    free(want);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(cfg, "packages"), 0)->valuestring,
                     "six");
    ck_assert_str_eq(json_str_item(cfg, "worker"), f.worker);
    ck_assert_str_eq(json_str_item(cJSON_GetObjectItem(cfg, "request"), "url"),
                     "http://localhost/");
    /* env: the config's vars, then .dev.vars, then --var, each later one winning. */
    env = cJSON_GetObjectItem(cfg, "env");
    ck_assert_str_eq(json_str_item(env, "A"), "config");
    ck_assert_str_eq(json_str_item(env, "B"), "from --var");
    ck_assert_str_eq(json_str_item(env, "C"), "dev vars");
    ck_assert_str_eq(json_str_item(env, "D"), "quoted # kept");
    ck_assert_str_eq(json_str_item(env, "E"), "plain");
    ck_assert_str_eq(json_str_item(env, "EMPTY"), "");
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(env, "N"))); /* vars keep their JSON type */
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cfg, "flags")), 2);
    ck_assert_str_eq(json_str_item(cJSON_GetObjectItem(cfg, "config"), "name"), "w");
    ck_assert_str_eq(json_str_item(cfg, "project_dir"), f.proj);
    want = xasprintf("%s/.almanac/state", f.proj);
    ck_assert_str_eq(json_str_item(cfg, "state_dir"), want);
    free(want);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cfg, "fresh")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cfg, "allow_net")));
    ck_assert_ptr_null(cJSON_GetObjectItem(cfg, "event"));
    sn = cJSON_GetObjectItem(cfg, "snapshot");
    ck_assert_str_eq(json_str_item(sn, "mode"), "none");
    ck_assert_ptr_null(cJSON_GetObjectItem(sn, "path"));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cfg, "timings")));
    ck_assert_ptr_null(cJSON_GetObjectItem(cfg, "serve"));
    ck_assert_str_eq(json_str_item(cfg, "status"), "Pyodide 0.28.3 / Python 3.13.2");
    ck_assert_int_eq(cJSON_GetObjectItem(cfg, "timeout_ms")->valueint, 1500);
    want = xasprintf("%s.run.%ld.json", f.r.dir, (long)getpid());
    ck_assert_str_eq(f.r.config_path, want);
    free(want);
    fixture_release(&f);

    /* dev: serve and no timings; a scheduled event; --env NAME's .dev.vars.NAME;
     * --persist-to; a snapshot; a bare .py (no config). */
    fixture_init(&f, NULL);
    free(put("proj/.dev.vars.staging", "C=staging\n"));
    f.plan.env_name = "staging";
    f.plan.state_dir = "/somewhere/state";
    f.plan.serve_port = 9000;
    f.plan.cron = "*/5 * * * *";
    f.plan.fresh = 1;
    f.plan.allow_net = 1;
    f.r.snap_mode = "make";
    f.r.snap_path = xstrdup("/cache/snapshots/k.snap");
    ck_assert_int_eq(exe_run_host_config(&f.r, &err), 0);
    cfg = f.r.config;
    ck_assert_str_eq(json_str_item(cJSON_GetObjectItem(cfg, "env"), "C"), "staging");
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "env"), "D"));
    ck_assert_ptr_null(cJSON_GetObjectItem(cfg, "config"));
    ck_assert_ptr_null(cJSON_GetObjectItem(cfg, "request"));
    ck_assert_str_eq(json_str_item(cfg, "state_dir"), "/somewhere/state");
    ck_assert_str_eq(json_str_item(cfg, "event"), "scheduled");
    ck_assert_str_eq(json_str_item(cfg, "cron"), "*/5 * * * *");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cfg, "fresh")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cfg, "allow_net")));
    sn = cJSON_GetObjectItem(cfg, "snapshot");
    ck_assert_str_eq(json_str_item(sn, "mode"), "make");
    ck_assert_str_eq(json_str_item(sn, "path"), "/cache/snapshots/k.snap");
    ck_assert_ptr_null(cJSON_GetObjectItem(cfg, "timings"));
    ck_assert_ptr_null(cJSON_GetObjectItem(cfg, "status"));
    ck_assert_ptr_null(cJSON_GetObjectItem(cfg, "timeout_ms"));
    ck_assert_str_eq(json_str_item(cJSON_GetObjectItem(cfg, "serve"), "ip"), "127.0.0.1");
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "serve"), "port")->valueint,
                     9000);
    fixture_release(&f);

    /* A .dev.vars line that is not NAME=value is refused, naming the file. */
    fixture_init(&f, NULL);
    free(put("proj/.dev.vars", "GOOD=1\nnot a pair\n"));
    ck_assert_int_eq(exe_run_host_config(&f.r, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, ".dev.vars"));
    ck_assert_ptr_null(f.r.config);
    fixture_release(&f);
    app_err_release(&err);
}
END_TEST

START_TEST(test_snapshot_retry_decision)
{
    static const char *const retried[] = {"snapshot_stale", "snapshot_invalid", "snapshot_missing"};
    cJSON *ok = cJSON_Parse("{\"ok\": true, \"status\": 200}");

    for (size_t i = 0; i < sizeof(retried) / sizeof(retried[0]); i++) {
        char *text = xasprintf("{\"ok\": false, \"error\": {\"type\": \"ExecutorError\", "
                               "\"code\": \"%s\", \"message\": \"m\"}}",
                               retried[i]);
        cJSON *res = cJSON_Parse(text);

        ck_assert_int_eq(exe_snapshot_retry("load", res), 1);
        /* Only a loaded snapshot is remade: one being made, or none, is not. */
        ck_assert_int_eq(exe_snapshot_retry("make", res), 0);
        ck_assert_int_eq(exe_snapshot_retry("none", res), 0);
        cJSON_Delete(res);
        free(text);
    }
    {
        /* Other failures are the worker's or the platform's: not retried. */
        cJSON *other = cJSON_Parse("{\"ok\": false, \"error\": {\"type\": \"ExecutorError\", "
                                   "\"code\": \"snapshot_unsupported\", \"message\": \"m\"}}");
        cJSON *python = cJSON_Parse("{\"ok\": false, \"error\": {\"type\": \"PythonError\", "
                                    "\"message\": \"snapshot_stale\"}}");

        ck_assert_int_eq(exe_snapshot_retry("load", other), 0);
        ck_assert_int_eq(exe_snapshot_retry("load", python), 0);
        cJSON_Delete(other);
        cJSON_Delete(python);
    }
    ck_assert_int_eq(exe_snapshot_retry("load", ok), 0);
    ck_assert_int_eq(exe_snapshot_retry("load", NULL), 0);
    cJSON_Delete(ok);
}
END_TEST

struct notes {
    int n;
    char last[512];
};

static void
take_note(void *ctx, const char *text)
{
    struct notes *ns = ctx;

    ns->n++;
    snprintf(ns->last, sizeof(ns->last), "%s", text);
}

/* A stand-in for node: counts its runs in HOST.count and answers stale while the
 * config loads a snapshot (always, when HOST.always exists), else ok. */
static const char *const FAKE_NODE =
    "#!/bin/sh\n"
    "n=$(cat \"$1.count\" 2>/dev/null || echo 0); echo $((n + 1)) > \"$1.count\"\n"
    "if grep -q '\"load\"' \"$2\" || [ -e \"$1.always\" ]; then\n"
    "  echo 'almanac host: some stderr-ish line'\n"
    "  echo '{\"ok\":false,\"error\":{\"type\":\"ExecutorError\",\"code\":\"snapshot_stale\","
    "\"message\":\"the worker changed\"}}'\n"
    "else\n"
    "  echo '{\"ok\":true,\"status\":200,\"headers\":[],\"body\":\"hi\"}'\n"
    "fi\n";

static int
runs_of(const char *host)
{
    char *p = xasprintf("%s.count", host), *text = read_text(p);
    int n = (int)strtol(text, NULL, 10);

    unlink(p);
    free(p);
    free(text);
    return n;
}

START_TEST(test_snapshot_retry_run)
{
    char *node = put("fake-node", FAKE_NODE), *host = path_of("host.mjs"), *always;
    struct app_err err = {0};
    struct notes ns = {0};
    struct fixture f;
    cJSON *res = NULL;

    ck_assert_int_eq(chmod(node, 0755), 0);
    setenv("ALMANAC_NODE", node, 1);

    /* A stale snapshot is remade once: two runs, the second making it, one note. */
    fixture_init(&f, NULL);
    f.plan.note = take_note;
    f.plan.note_ctx = &ns;
    f.r.host = xstrdup(host);
    f.r.snap_mode = "load";
    f.r.snap_path = xstrdup("/cache/snapshots/k.snap");
    ck_assert_int_eq(exe_run_host_config(&f.r, &err), 0);
    ck_assert_int_eq(exe_run_worker(&f.r, &res, &err), 0);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(res, "ok")));
    ck_assert_int_eq(runs_of(host), 2);
    ck_assert_str_eq(f.r.snap_mode, "make");
    ck_assert_str_eq(json_str_item(cJSON_GetObjectItem(f.r.config, "snapshot"), "mode"), "make");
    ck_assert_int_eq(ns.n, 1);
    ck_assert_ptr_nonnull(strstr(ns.last, "/cache/snapshots/k.snap is stale"));
    ck_assert_ptr_nonnull(strstr(ns.last, "the worker changed"));
    ck_assert_int_ne(access(f.r.config_path, F_OK), 0); /* the config file is gone */
    cJSON_Delete(res);
    fixture_release(&f);

    /* Still stale after a remake: not tried a third time; the result says why. */
    always = put("host.mjs.always", "");
    fixture_init(&f, NULL);
    f.r.host = xstrdup(host);
    f.r.snap_mode = "load";
    f.r.snap_path = xstrdup("/cache/snapshots/k.snap");
    ck_assert_int_eq(exe_run_host_config(&f.r, &err), 0);
    ck_assert_int_eq(exe_run_worker(&f.r, &res, &err), 0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(res, "ok")));
    ck_assert_int_eq(runs_of(host), 2);
    cJSON_Delete(res);
    fixture_release(&f);

    /* A snapshot being made, or none: one run whatever it answers. */
    fixture_init(&f, NULL);
    f.r.host = xstrdup(host);
    f.r.snap_mode = "make";
    f.r.snap_path = xstrdup("/cache/snapshots/k.snap");
    ck_assert_int_eq(exe_run_host_config(&f.r, &err), 0);
    ck_assert_int_eq(exe_run_worker(&f.r, &res, &err), 0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(res, "ok")));
    ck_assert_int_eq(runs_of(host), 1);
    cJSON_Delete(res);
    fixture_release(&f);
    unlink(always);
    free(always);

    /* No node at all: an error, not a result. */
    setenv("ALMANAC_NODE", "/nonexistent/node", 1);
    fixture_init(&f, NULL);
    f.r.host = xstrdup(host);
    ck_assert_int_eq(exe_run_host_config(&f.r, &err), 0);
    ck_assert_int_eq(exe_run_worker(&f.r, &res, &err), -1);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(err.code, APP_EINTERNAL);
    fixture_release(&f);
    unsetenv("ALMANAC_NODE");
    free(node);
    free(host);
    app_err_release(&err);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("executor");
    TCase *tc = tcase_create("executor");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_core_names);
    tcase_add_test(tc, test_lock_files);
    tcase_add_test(tc, test_layout_lock);
    tcase_add_test(tc, test_snapshot_key);
    tcase_add_test(tc, test_request);
    tcase_add_test(tc, test_host_config);
    tcase_add_test(tc, test_snapshot_retry_decision);
    tcase_add_test(tc, test_snapshot_retry_run);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
