/* artifacts/artdb.h: the artifacts' rows in the catalog database, and uploads that
 * put bytes in the store and record them there.
 *
 * An artifact row (table artifacts, migration 0001) is either *stored* (bytes in the
 * store) or *external* (digest known from a package set, bytes not uploaded yet).
 * Stored rows also have an artifact_facts row (migration 0002): BLAKE2b-512 of the
 * bytes for signing, SHA-256 of the zstd file, and the Wasm facts of a module.
 *
 * Order of an upload: bytes are streamed through the store writer and, when they
 * are a Wasm module (magic "\0asm", or a name ending in .wasm/.so, or media type
 * application/wasm), through the Wasm reader; on commit a malformed module is
 * refused (422) before anything is visible, then the file is published, then the
 * row is written. A crash between the last two leaves a stored file without a row,
 * which a re-upload or `almanacd fsck` records.
 */
#ifndef ARTIFACTS_ARTDB_H
#define ARTIFACTS_ARTDB_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/date.h"
#include "app/err.h"
#include "artifacts/store.h"
#include "db/db.h"

#define ART_MEDIA_TYPE_MAX 127
#define ART_MEDIA_DEFAULT "application/octet-stream"

struct art_row {
    char sha256[APP_SHA256_HEX];
    int64_t size;        /* -1 when unknown (external) */
    int64_t stored_size; /* -1 when not stored */
    char *media_type;
    char *file_name; /* NULL when unknown */
    int stored;
    char created_at[APP_TIME_LEN];
    /* From artifact_facts; empty strings / NULL when the row is not stored. */
    char blake2b[ART_BLAKE2B_HEX];
    char stored_sha256[APP_SHA256_HEX];
    char *wasm; /* JSON text of the Wasm facts, or NULL */
};

void art_row_release(struct art_row *row);

/* The row of hex (a valid digest). APP_ENOTFOUND when almanac does not know it. */
int artdb_get(struct db *c, const char *hex, struct art_row *row, struct app_err *err);

/* Mark hex stored with what the store reported (one transaction, with an
 * "artifact.stored" event when it was not stored before). media_type and file_name
 * may be NULL: an existing value is kept, otherwise the type is guessed from the
 * name. wasm (borrowed, may be NULL) are the module's facts. *created (optional) is
 * 1 when the bytes were not stored before. A known size that differs fails with
 * APP_ECONFLICT. */
int artdb_record(struct db *c, const struct art_info *info, const char *media_type,
                 const char *file_name, const cJSON *wasm, int *created, struct app_err *err);

/* Note a digest a catalog object refers to (an external artifact until its bytes are
 * uploaded): insert it, or fill a size or file name still unknown. */
int artdb_note_known(struct db *c, const char *sha256, long long size, const char *file_name,
                     struct app_err *err);

/* The store lost the bytes of hex (fsck): stored = 0, facts dropped. */
int artdb_mark_unstored(struct db *c, const char *hex, struct app_err *err);

/* A restore without artifacts: every row marked stored becomes not stored, missing
 * since `since` (RFC 3339; fsck lists such rows as not restored), each with an
 * "artifact.lost" event. One transaction; *n receives how many rows changed. */
int artdb_mark_all_missing(struct db *c, const char *since, long long *n, struct app_err *err);

/* Call fn for every row marked stored (fsck cross-check); stops when fn returns
 * non-zero. */
int artdb_each_stored(struct db *c, int (*fn)(void *ctx, const char *hex), void *ctx,
                      struct app_err *err);

/* The media type for a file name by its extension, or NULL when unknown. */
const char *art_media_type_for(const char *file_name);

/* 0 when s is an acceptable media type ("type/subtype", optional parameters,
 * printable ASCII, at most ART_MEDIA_TYPE_MAX bytes); else -1 with err (400). File
 * names are checked by fs_name_check (app/fs.h). */
int art_check_media_type(const char *s, struct app_err *err);

struct art_upload;

/* Start an upload into s. expect_hex / expect_size as for art_writer_new;
 * file_name and media_type (borrowed, may be NULL) are checked here (400). */
struct art_upload *art_upload_new(struct art_store *s, const char *expect_hex, uint64_t expect_size,
                                  const char *file_name, const char *media_type,
                                  struct app_err *err);

/* The next chunk of bytes. A Wasm module that is already malformed fails here
 * (422); other failures as art_writer_write. */
int art_upload_write(struct art_upload *u, const void *p, size_t n, struct app_err *err);

/* The body in its stored form instead: one zstd frame (another almanacd's artifact
 * file, fetched by a mirror with Accept-Encoding: zstd). It is decoded to check and
 * hash the identity bytes and stored as it came, not compressed again. An upload
 * takes either identity or zstd bytes, not both. */
int art_upload_write_zstd(struct art_upload *u, const void *p, size_t n, struct app_err *err);

/* End the bytes and check them (size, digest, the frame read back) without
 * publishing: info gets the digests, so a caller can verify a signature over the
 * identity bytes before art_upload_commit. Commit finishes too when this was not
 * called. */
int art_upload_finish(struct art_upload *u, struct art_info *info, struct app_err *err);

/* Finish: check the module (422 with the reason), the digest (409), publish the
 * bytes and record the row in c. out (optional) gets the row as now stored
 * (release it), *created (optional) is 1 when the bytes were new. */
int art_upload_commit(struct art_upload *u, struct db *c, struct art_row *out, int *created,
                      struct app_err *err);

/* Free; an uncommitted upload leaves nothing behind. */
void art_upload_free(struct art_upload *u);

/* Upload a whole file (imports, seeding): the same checks as over HTTP. */
int art_upload_file(struct art_store *s, struct db *c, const char *path, const char *file_name,
                    const char *media_type, const char *expect_hex, struct art_row *out,
                    int *created, struct app_err *err);

/* The row as the API shows it: {sha256, size, stored_size, media_type, file_name,
 * stored, created_at} plus, when with_wasm, "wasm": facts | null. */
cJSON *art_row_json(const struct art_row *row, int with_wasm);

#endif
