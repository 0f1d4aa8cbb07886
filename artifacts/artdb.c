/* artifacts/artdb.c: artifact rows in the catalog, and uploads (store + Wasm check
 * + row) as one operation for the API and for importers. */
#include "artifacts/artdb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "app/date.h"
#include "app/fs.h"
#include "app/json.h"
#include "app/mem.h"
#include "artifacts/wasm.h"
#include "db/events.h"

#define UPLOAD_FILE_CHUNK (256 * 1024)

#define SQL_GET                                                                                    \
    "SELECT a.size, a.stored_size, a.media_type, a.file_name, a.stored, a.created_at,"             \
    " f.blake2b, f.stored_sha256, f.wasm FROM artifacts a"                                         \
    " LEFT JOIN artifact_facts f ON f.sha256 = a.sha256 WHERE a.sha256 = ?"
#define SQL_OLD "SELECT size, media_type, file_name, stored FROM artifacts WHERE sha256 = ?"
#define SQL_INSERT                                                                                 \
    "INSERT INTO artifacts(sha256, size, stored_size, media_type, file_name, stored,"              \
    " created_at) VALUES(?1, ?2, ?3, ?4, ?5, 1, ?6)"
#define SQL_UPDATE                                                                                 \
    "UPDATE artifacts SET size = ?2, stored_size = ?3, media_type = ?4, file_name = ?5,"           \
    " stored = 1 WHERE sha256 = ?1"
#define SQL_FACTS                                                                                  \
    "INSERT OR REPLACE INTO artifact_facts(sha256, blake2b, stored_sha256, wasm)"                  \
    " VALUES(?, ?, ?, ?)"
#define SQL_UNSTORE "UPDATE artifacts SET stored = 0, stored_size = NULL WHERE sha256 = ?"
#define SQL_UNFACT "DELETE FROM artifact_facts WHERE sha256 = ?"
#define SQL_STORED "SELECT sha256 FROM artifacts WHERE stored = 1 ORDER BY sha256"

void
art_row_release(struct art_row *row)
{
    if (!row)
        return;
    free(row->media_type);
    free(row->file_name);
    free(row->wasm);
    memset(row, 0, sizeof(*row));
}

static void
copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const char *s = db_col_text(st, col);

    dst[0] = '\0';
    if (s && strlen(s) < cap)
        memcpy(dst, s, strlen(s) + 1);
}

int
artdb_get(struct db *c, const char *hex, struct art_row *row, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    memset(row, 0, sizeof(*row));
    if (db_prepare(c, &st, SQL_GET, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        app_fail(err, APP_ENOTFOUND, "no artifact sha256:%s", hex);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        db_sql_fail(c, err, "cannot read artifact");
        goto out;
    }
    memcpy(row->sha256, hex, APP_SHA256_HEX);
    row->size = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    row->stored_size = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
    row->media_type = xstrdup(db_col_text(st, 2) ? db_col_text(st, 2) : ART_MEDIA_DEFAULT);
    row->file_name = xstrdup(db_col_text(st, 3));
    row->stored = sqlite3_column_int(st, 4) != 0;
    copy_col(row->created_at, sizeof(row->created_at), st, 5);
    copy_col(row->blake2b, sizeof(row->blake2b), st, 6);
    copy_col(row->stored_sha256, sizeof(row->stored_sha256), st, 7);
    row->wasm = xstrdup(db_col_text(st, 8));
    ret = 0;
out:
    sqlite3_finalize(st);
    if (ret < 0)
        art_row_release(row);
    return ret;
}

static const struct {
    const char *ext;
    const char *type;
} media_types[] = {
    {".wasm", "application/wasm"}, {".so", "application/wasm"},  {".whl", "application/zip"},
    {".zip", "application/zip"},   {".js", "text/javascript"},   {".mjs", "text/javascript"},
    {".json", "application/json"}, {".map", "application/json"}, {".tar", "application/x-tar"},
    {".gz", "application/gzip"},   {".tgz", "application/gzip"}, {".zst", "application/zstd"},
    {".py", "text/x-python"},      {".txt", "text/plain"},       {".html", "text/html"},
    {".ts", "text/plain"},
};

const char *
art_media_type_for(const char *file_name)
{
    size_t n;

    if (!file_name)
        return NULL;
    n = strlen(file_name);
    for (size_t i = 0; i < sizeof(media_types) / sizeof(media_types[0]); i++) {
        size_t e = strlen(media_types[i].ext);

        if (n > e && strcasecmp(file_name + n - e, media_types[i].ext) == 0)
            return media_types[i].type;
    }
    return NULL;
}

int
art_check_media_type(const char *s, struct app_err *err)
{
    const char *slash = strchr(s, '/');
    size_t n = strlen(s);

    if (n == 0 || n > ART_MEDIA_TYPE_MAX || !slash || slash == s || !slash[1])
        return app_fail(err, APP_EINVAL, "media type '%.140s' is not type/subtype", s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return app_fail(err, APP_EINVAL, "media type has a control or non-ASCII byte");
    return 0;
}

int
artdb_record(struct db *c, const struct art_info *info, const char *media_type,
             const char *file_name, const cJSON *wasm, int *created, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char *old_media = NULL, *old_name = NULL, *wasm_text = NULL;
    const char *media, *name;
    char now[APP_TIME_LEN];
    int exists = 0, was_stored = 0, ret = -1, rc;
    cJSON *ev = NULL;

    if (db_begin(c, err) < 0)
        return -1;
    if (db_prepare(c, &st, SQL_OLD, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, info->sha256, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        exists = 1;
        if (sqlite3_column_type(st, 0) != SQLITE_NULL &&
            (uint64_t)sqlite3_column_int64(st, 0) != info->size) {
            app_fail(err, APP_ECONFLICT,
                     "artifact sha256:%s is known with a size of %lld bytes, not %llu",
                     info->sha256, (long long)sqlite3_column_int64(st, 0),
                     (unsigned long long)info->size);
            goto out;
        }
        old_media = xstrdup(db_col_text(st, 1));
        old_name = xstrdup(db_col_text(st, 2));
        was_stored = sqlite3_column_int(st, 3) != 0;
    } else if (rc != SQLITE_DONE) {
        db_sql_fail(c, err, "cannot read artifact");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Existing values win; the upload fills what is missing. */
    name = old_name ? old_name : file_name;
    if (old_media && strcmp(old_media, ART_MEDIA_DEFAULT) != 0)
        media = old_media;
    else if (media_type)
        media = media_type;
    else if (art_media_type_for(name))
        media = art_media_type_for(name);
    else
        media = ART_MEDIA_DEFAULT;
    date_now_rfc3339(now);
    if (db_prepare(c, &st, exists ? SQL_UPDATE : SQL_INSERT, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, info->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)info->size);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)info->stored_size);
    sqlite3_bind_text(st, 4, media, -1, SQLITE_STATIC);
    if (name)
        sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    if (!exists)
        sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot record artifact") < 0)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (db_prepare(c, &st, SQL_FACTS, err) < 0)
        goto out;
    wasm_text = wasm ? json_canonical(wasm, NULL) : NULL;
    sqlite3_bind_text(st, 1, info->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, info->blake2b, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, info->stored_sha256, -1, SQLITE_STATIC);
    if (wasm_text)
        sqlite3_bind_text(st, 4, wasm_text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    if (db_step_done(st, err, "cannot record artifact facts") < 0)
        goto out;
    if (!was_stored) {
        ev = xjson(cJSON_CreateObject());
        xjson(cJSON_AddNumberToObject(ev, "size", (double)info->size));
        xjson(cJSON_AddNumberToObject(ev, "stored_size", (double)info->stored_size));
        xjson(cJSON_AddStringToObject(ev, "media_type", media));
        json_add_str_or_null(ev, "file_name", name);
        if (db_event_append(c, "artifact.stored", info->sha256, ev, err) < 0)
            goto out;
    }
    if (db_commit_catalog(c, err) < 0)
        goto out;
    if (created)
        *created = !was_stored;
    ret = 0;
out:
    if (ret < 0)
        db_rollback(c);
    sqlite3_finalize(st);
    cJSON_Delete(ev);
    free(wasm_text);
    free(old_media);
    free(old_name);
    return ret;
}

int
artdb_mark_unstored(struct db *c, const char *hex, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;

    if (db_begin(c, err) < 0)
        return -1;
    if (db_prepare(c, &st, SQL_UNSTORE, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot update artifact") < 0)
        goto out;
    sqlite3_finalize(st);
    if (db_prepare(c, &st, SQL_UNFACT, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot update artifact") < 0)
        goto out;
    if (db_event_append(c, "artifact.lost", hex, NULL, err) < 0 || db_commit_catalog(c, err) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0)
        db_rollback(c);
    sqlite3_finalize(st);
    return ret;
}

int
artdb_mark_all_missing(struct db *c, const char *since, long long *n, struct app_err *err)
{
    struct db_event_writer ev = {0};
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    *n = 0;
    if (db_begin(c, err) < 0)
        return -1;
    /* One artifact.lost event per row, as fsck --repair records a lost file: the
     * events move the catalog version, so the next snapshot says not stored. */
    if (db_event_writer_open(c, &ev, err) < 0 || db_prepare(c, &st, SQL_STORED, err) < 0)
        goto out;
    while ((rc = db_next(st, err)) > 0) {
        if (db_event_writer_add(&ev, since, "artifact.lost", db_col_text(st, 0), "{}", NULL, err) <
            0)
            goto out;
    }
    if (rc < 0)
        goto out;
    sqlite3_finalize(st);
    if (db_prepare(c, &st, "UPDATE artifacts SET stored = 0, missing_since = ? WHERE stored = 1",
                   err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot record missing artifacts") < 0)
        goto out;
    *n = sqlite3_changes(c->db);
    db_event_writer_close(&ev);
    if (db_commit_catalog(c, err) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0)
        db_rollback(c);
    db_event_writer_close(&ev);
    sqlite3_finalize(st);
    return ret;
}

int
artdb_each_stored(struct db *c, int (*fn)(void *ctx, const char *hex), void *ctx,
                  struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    if (db_prepare(c, &st, SQL_STORED, err) < 0)
        return -1;
    while ((rc = db_next(st, err)) > 0) {
        const char *hex = db_col_text(st, 0);

        if (hex && fn(ctx, hex) != 0)
            break;
    }
    if (rc < 0)
        goto out;
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

cJSON *
art_row_json(const struct art_row *row, int with_wasm)
{
    cJSON *o = xjson(cJSON_CreateObject());
    char *url = xasprintf("/v1/artifacts/sha256/%s", row->sha256);

    xjson(cJSON_AddStringToObject(o, "sha256", row->sha256));
    if (row->size >= 0)
        xjson(cJSON_AddNumberToObject(o, "size", (double)row->size));
    else
        xjson(cJSON_AddNullToObject(o, "size"));
    if (row->stored && row->stored_size >= 0)
        xjson(cJSON_AddNumberToObject(o, "stored_size", (double)row->stored_size));
    else
        xjson(cJSON_AddNullToObject(o, "stored_size"));
    xjson(cJSON_AddStringToObject(o, "media_type", row->media_type));
    json_add_str_or_null(o, "file_name", row->file_name);
    xjson(cJSON_AddBoolToObject(o, "stored", row->stored));
    xjson(cJSON_AddStringToObject(o, "created_at", row->created_at));
    xjson(cJSON_AddStringToObject(o, "url", url));
    free(url);
    if (with_wasm) {
        cJSON *w = row->wasm ? cJSON_Parse(row->wasm) : NULL;

        if (w)
            cJSON_AddItemToObject(o, "wasm", w);
        else
            xjson(cJSON_AddNullToObject(o, "wasm"));
    }
    return o;
}

struct art_upload {
    struct art_writer *w;
    struct art_wasm *wasm; /* while the bytes may be a module */
    int wasm_required;
    uint8_t head[4];
    size_t head_len;
    char *file_name;
    char *media_type;
    ZSTD_DCtx *dctx; /* the body is the stored form (art_upload_write_zstd) */
    uint8_t *dout;
    size_t dout_cap;
    int frame_end;
};

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

struct art_upload *
art_upload_new(struct art_store *s, const char *expect_hex, uint64_t expect_size,
               const char *file_name, const char *media_type, struct app_err *err)
{
    struct art_upload *u;

    if (file_name && fs_name_check(file_name, err) < 0)
        return NULL;
    if (media_type && art_check_media_type(media_type, err) < 0)
        return NULL;
    u = xcalloc(1, sizeof(*u));
    u->w = art_writer_new(s, expect_hex, expect_size, err);
    if (!u->w) {
        free(u);
        return NULL;
    }
    u->file_name = xstrdup(file_name);
    u->media_type = xstrdup(media_type);
    u->wasm = art_wasm_new();
    u->wasm_required =
        (file_name && (ends_with(file_name, ".wasm") || ends_with(file_name, ".so"))) ||
        (media_type && strncmp(media_type, "application/wasm", 16) == 0);
    return u;
}

/* The identity bytes: sniff a module, feed the checker, hash (and compress). */
static int
identity_write(struct art_upload *u, const void *p, size_t n, struct app_err *err)
{
    if (u->head_len < sizeof(u->head)) {
        size_t k = sizeof(u->head) - u->head_len;

        memcpy(u->head + u->head_len, p, k < n ? k : n);
        u->head_len += k < n ? k : n;
        if (u->head_len == sizeof(u->head)) {
            if (art_wasm_is_module(u->head, u->head_len))
                u->wasm_required = 1;
            else if (!u->wasm_required) {
                art_wasm_free(u->wasm);
                u->wasm = NULL;
            }
        }
    }
    if (u->wasm && art_wasm_feed(u->wasm, p, n, err) < 0)
        return -1;
    return art_writer_write(u->w, p, n, err);
}

int
art_upload_write(struct art_upload *u, const void *p, size_t n, struct app_err *err)
{
    if (u->dctx)
        return app_fail(err, APP_EINTERNAL, "artifact upload: identity bytes to a zstd upload");
    return identity_write(u, p, n, err);
}

int
art_upload_write_zstd(struct art_upload *u, const void *p, size_t n, struct app_err *err)
{
    ZSTD_inBuffer in = {p, n, 0};

    if (!u->dctx) {
        if (u->head_len)
            return app_fail(err, APP_EINTERNAL,
                            "artifact upload: zstd bytes to an identity upload");
        u->dctx = ZSTD_createDCtx();
        if (!u->dctx)
            return app_fail(err, APP_EINTERNAL, "artifact upload: cannot create zstd context");
        ZSTD_DCtx_setParameter(u->dctx, ZSTD_d_windowLogMax, ART_ZSTD_WINDOW_LOG);
        u->dout_cap = ZSTD_DStreamOutSize();
        u->dout = xmalloc(u->dout_cap);
        art_writer_keep_stored(u->w);
    }
    if (art_writer_write_stored(u->w, p, n, err) < 0)
        return -1;
    /* Decode everything this chunk yields, including output the decoder still holds
     * when the buffer filled up exactly. */
    for (;;) {
        ZSTD_outBuffer ob = {u->dout, u->dout_cap, 0};
        size_t r;

        if (u->frame_end && in.pos < in.size)
            return app_fail(err, APP_EINVAL, "the zstd body holds more than one frame");
        if (u->frame_end)
            return 0;
        r = ZSTD_decompressStream(u->dctx, &ob, &in);
        if (ZSTD_isError(r))
            return app_fail(err, APP_EINVAL, "the zstd body is corrupt: %s", ZSTD_getErrorName(r));
        if (ob.pos && identity_write(u, u->dout, ob.pos, err) < 0)
            return -1;
        if (r == 0)
            u->frame_end = 1;
        else if (in.pos == in.size && ob.pos < ob.size)
            return 0;
    }
}

int
art_upload_finish(struct art_upload *u, struct art_info *info, struct app_err *err)
{
    if (u->dctx && !u->frame_end)
        return app_fail(err, APP_EINVAL, "the zstd body ends before its frame does");
    return art_writer_finish(u->w, info, err);
}

int
art_upload_commit(struct art_upload *u, struct db *c, struct art_row *out, int *created,
                  struct app_err *err)
{
    struct art_info info;
    cJSON *facts = NULL;
    const char *media = u->media_type;
    int ret = -1;

    if (art_upload_finish(u, &info, err) < 0)
        return -1;
    /* A module is checked before its bytes become visible. */
    if (u->wasm_required && art_wasm_finish(u->wasm, &facts, err) < 0)
        return -1;
    if (!media && facts)
        media = "application/wasm";
    if (art_writer_commit(u->w, &info, err) < 0)
        goto out;
    if (artdb_record(c, &info, media, u->file_name, facts, created, err) < 0)
        goto out;
    if (out && artdb_get(c, info.sha256, out, err) < 0)
        goto out;
    ret = 0;
out:
    cJSON_Delete(facts);
    return ret;
}

void
art_upload_free(struct art_upload *u)
{
    if (!u)
        return;
    art_writer_free(u->w);
    art_wasm_free(u->wasm);
    ZSTD_freeDCtx(u->dctx);
    free(u->dout);
    free(u->file_name);
    free(u->media_type);
    free(u);
}

int
art_upload_file(struct art_store *s, struct db *c, const char *path, const char *file_name,
                const char *media_type, const char *expect_hex, struct art_row *out, int *created,
                struct app_err *err)
{
    struct art_upload *u = NULL;
    struct stat sb;
    char *chunk = NULL;
    int fd, ret = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return app_fail(err, APP_ENOTFOUND, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        app_fail(err, APP_EINVAL, "'%s' is not a regular file", path);
        goto out;
    }
    if (!file_name) {
        const char *slash = strrchr(path, '/');

        file_name = slash ? slash + 1 : path;
    }
    u = art_upload_new(s, expect_hex, (uint64_t)sb.st_size, file_name, media_type, err);
    if (!u)
        goto out;
    chunk = xmalloc(UPLOAD_FILE_CHUNK);
    for (;;) {
        ssize_t n = read(fd, chunk, UPLOAD_FILE_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            app_fail(err, APP_EINTERNAL, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (art_upload_write(u, chunk, (size_t)n, err) < 0)
            goto out;
    }
    ret = art_upload_commit(u, c, out, created, err);
out:
    art_upload_free(u);
    free(chunk);
    close(fd);
    return ret;
}

int
artdb_note_known(struct db *c, const char *sha256, long long size, const char *file_name,
                 struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    char now[APP_TIME_LEN];
    int ret = -1;

    date_now_rfc3339(now);
    if (db_prepare(c, &st,
                   "INSERT INTO artifacts(sha256, size, file_name, created_at)"
                   " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(sha256) DO UPDATE SET"
                   " size = COALESCE(artifacts.size, ?2),"
                   " file_name = COALESCE(artifacts.file_name, ?3)",
                   err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
    if (size >= 0)
        sqlite3_bind_int64(st, 2, size);
    sqlite3_bind_text(st, 3, file_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    if (db_step_done(st, err, "cannot record artifact") == 0)
        ret = 0;
    sqlite3_finalize(st);
    return ret;
}
