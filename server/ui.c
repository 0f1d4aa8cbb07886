/* server/ui.c: the dashboard's static files, held in memory (see ui.h). */
#include "server/ui.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/hash.h"
#include "app/mem.h"

#define UI_ETAG_LEN 24 /* "\"" + 16 hex + "-gz\"" + NUL, rounded up */
#define UI_IMMUTABLE "public, max-age=31536000, immutable"
/* index.html and the other unhashed names are revalidated every time (ETag). */
#define UI_REVALIDATE "no-cache"
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct ui_file {
    char *name; /* relative to the UI directory: "index.html", "assets/app-HASH.js" */
    char *data, *gz;
    size_t len, gz_len;
    char etag[UI_ETAG_LEN], etag_gz[UI_ETAG_LEN];
    const char *type;
    int immutable;
};

struct ui_files {
    char *dir;
    struct ui_file f[UI_FILES_MAX];
    size_t n;
};

static const char *
media_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".png", "image/png"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Read one file (and its .gz sibling when there is one) into u. */
static int
load_file(struct ui_files *u, const char *rel, struct app_err *err)
{
    struct ui_file *f;
    char *path, *gzpath;
    char hex[APP_SHA256_HEX];
    int ret = -1;

    if (u->n == UI_FILES_MAX)
        return app_fail(err, APP_EINVAL, "%s: more than %d files", u->dir, UI_FILES_MAX);
    f = &u->f[u->n];
    memset(f, 0, sizeof(*f));
    path = xasprintf("%s/%s", u->dir, rel);
    gzpath = xasprintf("%s.gz", path);
    if (file_read_all(path, &f->data, &f->len, UI_FILE_MAX, err) < 0)
        goto out;
    if (access(gzpath, R_OK) == 0 &&
        file_read_all(gzpath, &f->gz, &f->gz_len, UI_FILE_MAX, err) < 0)
        goto out;
    /* Strong validators: the content's hash, and another one for the gzip bytes. */
    sha256_hex(f->data, f->len, hex);
    snprintf(f->etag, sizeof(f->etag), "\"%.16s\"", hex);
    snprintf(f->etag_gz, sizeof(f->etag_gz), "\"%.16s-gz\"", hex);
    f->name = xstrdup(rel);
    f->type = media_type(rel);
    /* The build names everything under assets/ by its content hash. */
    f->immutable = strncmp(rel, "assets/", 7) == 0;
    u->n++;
    ret = 0;
out:
    if (ret < 0) {
        free(f->data);
        free(f->gz);
        memset(f, 0, sizeof(*f));
    }
    free(path);
    free(gzpath);
    return ret;
}

/* Load the regular files of dir/sub (sub "" or "assets"), .gz siblings aside. */
static int
load_dir(struct ui_files *u, const char *sub, struct app_err *err)
{
    char *path = *sub ? xasprintf("%s/%s", u->dir, sub) : xstrdup(u->dir);
    DIR *d = opendir(path);
    struct dirent *e;
    int ret = -1;

    if (!d) {
        ret = *sub ? 0 : app_fail(err, APP_ENOTFOUND, "cannot read UI directory %s", path);
        goto out;
    }
    while ((e = readdir(d)) != NULL) {
        char *rel;
        struct stat stt;
        char *full;
        int is_file;

        if (e->d_name[0] == '.' || ends_with(e->d_name, ".gz"))
            continue;
        rel = *sub ? xasprintf("%s/%s", sub, e->d_name) : xstrdup(e->d_name);
        full = xasprintf("%s/%s", u->dir, rel);
        is_file = stat(full, &stt) == 0 && S_ISREG(stt.st_mode);
        free(full);
        if (is_file && strlen(rel) < UI_PATH_MAX && load_file(u, rel, err) < 0) {
            free(rel);
            goto out;
        }
        free(rel);
    }
    ret = 0;
out:
    if (d)
        closedir(d);
    free(path);
    return ret;
}

static const struct ui_file *
find_file(const struct ui_files *u, const char *name)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->f[i].name, name) == 0)
            return &u->f[i];
    return NULL;
}

/* The first candidate directory next to the binary that holds an index.html. */
static char *
find_next_to_binary(void)
{
    static const char *const rel[] = {"ui", "../ui", "../share/almanac/ui"};
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        char *dir = xasprintf("%s/%s", exe, rel[i]);
        char *index = xasprintf("%s/index.html", dir);
        int ok = access(index, R_OK) == 0;

        free(index);
        if (ok)
            return dir;
        free(dir);
    }
    return NULL;
}

int
ui_open(const char *dir, struct ui_files **out, struct app_err *err)
{
    struct ui_files *u;
    char *found = dir ? xstrdup(dir) : find_next_to_binary();
    int ret = -1;

    *out = NULL;
    if (!found)
        return 0;
    u = xcalloc(1, sizeof(*u));
    u->dir = found;
    if (load_dir(u, "", err) < 0 || load_dir(u, "assets", err) < 0)
        goto out;
    if (!find_file(u, "index.html")) {
        app_fail(err, APP_ENOTFOUND, "UI directory %s has no index.html", u->dir);
        goto out;
    }
    *out = u;
    u = NULL;
    ret = 0;
out:
    ui_free(u);
    return ret;
}

void
ui_free(struct ui_files *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n; i++) {
        free(u->f[i].name);
        free(u->f[i].data);
        free(u->f[i].gz);
    }
    free(u->dir);
    free(u);
}

const char *
ui_dir(const struct ui_files *u)
{
    return u ? u->dir : NULL;
}

/* 1 when Accept-Encoding lists gzip (or *) without q=0. */
static int
accepts_gzip(const char *ae)
{
    const char *p = ae;

    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *q;

        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if ((n >= 4 && strncasecmp(p, "gzip", 4) == 0 && (n == 4 || p[4] == ';' || p[4] == ' ')) ||
            (n >= 1 && p[0] == '*' && (n == 1 || p[1] == ';' || p[1] == ' '))) {
            q = memmem(p, n, "q=", 2);
            /* q=0, q=0.0, q=0.000 refuse; any other weight accepts. */
            if (!q || strspn(q + 2, "0.") < (size_t)(p + n - (q + 2)))
                return 1;
            return 0;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* 1 when If-None-Match names etag (or is "*"). */
static int
etag_matches(const char *inm, const char *etag)
{
    return inm && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0);
}

static int
ui_handle(struct srv_req *r)
{
    const struct ui_files *u = r->srv->ui;
    const struct ui_file *f;
    const char *path = r->path ? r->path : "/";
    const char *name, *last, *etag;
    struct MHD_Response *resp;
    int gz;

    if (strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0) {
        srv_reply_empty(r, 302);
        srv_add_header(r, MHD_HTTP_HEADER_LOCATION, "/ui/");
        return 0;
    }
    if (!u)
        return app_fail(&r->err, APP_ENOTFOUND,
                        "the dashboard is not installed: build it with 'make ui' or start "
                        "almanacd with --ui-dir DIR");
    name = strcmp(path, "/favicon.ico") == 0 ? "favicon.ico" : path + strlen("/ui/");
    if (!*name)
        name = "index.html";
    f = find_file(u, name);
    last = strrchr(name, '/');
    last = last ? last + 1 : name;
    /* Any other path without a file extension is a page of the dashboard. */
    if (!f && strncmp(name, "assets/", 7) != 0 && !strchr(last, '.'))
        f = find_file(u, "index.html");
    if (!f)
        return app_fail(&r->err, APP_ENOTFOUND, "no such file '%s' in the dashboard", path);
    gz = f->gz && accepts_gzip(srv_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    etag = gz ? f->etag_gz : f->etag;
    if (etag_matches(srv_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
        srv_reply_empty(r, 304);
    } else {
        resp = MHD_create_response_from_buffer(gz ? f->gz_len : f->len, gz ? f->gz : f->data,
                                               MHD_RESPMEM_PERSISTENT);
        if (!resp)
            abort();
        srv_reply_response(r, 200, resp);
        srv_add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
        if (gz)
            srv_add_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        srv_add_header(r, "X-Content-Type-Options", "nosniff");
        if (strncmp(f->type, "text/html", 9) == 0) {
            srv_add_header(r, "Content-Security-Policy", UI_CSP);
            srv_add_header(r, "Referrer-Policy", "no-referrer");
        }
    }
    srv_add_header(r, MHD_HTTP_HEADER_ETAG, etag);
    srv_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, f->immutable ? UI_IMMUTABLE : UI_REVALIDATE);
    if (f->gz)
        srv_add_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    return 0;
}

static const struct srv_route ui_the_route = {"GET", "/ui/", 0, ui_handle, NULL};

const struct srv_route *
ui_route(const char *url)
{
    if (strcmp(url, "/") == 0 || strcmp(url, "/ui") == 0 || strncmp(url, "/ui/", 4) == 0 ||
        strcmp(url, "/favicon.ico") == 0)
        return &ui_the_route;
    return NULL;
}
