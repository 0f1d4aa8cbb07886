/* artifacts/store.h: the content-addressed artifact store (DESIGN §8).
 *
 * Layout: DATA/artifacts/<first two hex digits>/<sha256 hex>.zst, one file per
 * digest of the *identity* bytes. Each file is one zstd frame with a window of at
 * most 8 MiB (windowLog ART_ZSTD_WINDOW_LOG), the content checksum, and the content
 * size when it was known up front, so the file is a valid `Content-Encoding: zstd`
 * body as it is.
 *
 * Invariant: a file under its digest name holds exactly the bytes of that digest.
 * Writers stream into DATA/artifacts/.tmp-XXXXXX (locked with flock while the
 * writer lives), hash while streaming, end the frame, fsync, read the file back
 * and check that it decompresses to the same digest, and only then rename it into
 * place and fsync the directory. A crash leaves at most an unlocked temp file,
 * which art_store_open and art_store_fsck remove. Uploading bytes that are already
 * stored drops the temp file (dedupe); when the stored file turns out corrupt it is
 * replaced instead.
 *
 * A struct art_store is shared by all server threads: it holds only the paths and
 * the level; writers and readers are per request.
 */
#ifndef ARTIFACTS_STORE_H
#define ARTIFACTS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "app/err.h"
#include "app/hash.h"

/* Level 19, measured on pyodide.asm.wasm 0.26.4 (10,088,051 bytes) with this
 * writer (window 8 MiB, read-back verify included), 2-core machine:
 *   level  3: 3,161,374 bytes, ratio 3.19, 48 MB/s
 *   level  9: 2,814,058 bytes, ratio 3.58, 26 MB/s
 *   level 15: 2,776,642 bytes, ratio 3.63, 6.7 MB/s
 *   level 19: 2,440,377 bytes, ratio 4.13, 2.9 MB/s (3.5 s), ~89 MB encoder memory
 * decompression 730-950 MB/s at every level. An artifact is compressed once and
 * downloaded by every mirror and executor, so 13 % fewer bytes than level 9 on
 * every download are worth 3.5 s once per upload of the largest module. The level
 * is configurable (ALMANAC_ZSTD_LEVEL, into srv_config.zstd_level) for hosts that
 * upload a lot. */
#define ART_ZSTD_LEVEL_DEFAULT 19
#define ART_ZSTD_WINDOW_LOG 23 /* 8 MiB: the HTTP zstd content-coding limit */
#define ART_SIZE_UNKNOWN UINT64_MAX
#define ART_BLAKE2B_LEN 64
#define ART_BLAKE2B_HEX (2 * ART_BLAKE2B_LEN + 1)

struct art_store;
struct art_writer;
struct art_reader;

/* What a writer or a verification learned about an artifact. */
struct art_info {
    char sha256[APP_SHA256_HEX];        /* of the identity bytes: the name */
    char blake2b[ART_BLAKE2B_HEX];      /* BLAKE2b-512 of the identity bytes */
    char stored_sha256[APP_SHA256_HEX]; /* of the zstd file */
    uint64_t size;                      /* identity bytes */
    uint64_t stored_size;               /* zstd file bytes */
    int existed;                        /* commit found it already stored */
};

/* Open (creating) DATA/artifacts and remove temp files no live writer holds.
 * level: zstd level 1..ZSTD_maxCLevel() (22; 0: ART_ZSTD_LEVEL_DEFAULT), else 400. */
struct art_store *art_store_open(const char *data_dir, int level, struct app_err *err);
void art_store_free(struct art_store *s);
int art_store_level(const struct art_store *s);

/* The path of the stored file for hex (caller frees); hex must be valid. */
char *art_store_path(const struct art_store *s, const char *hex);

/* 1 when hex is stored (its file exists), else 0. */
int art_store_has(const struct art_store *s, const char *hex);

/* Start writing an artifact. expect_hex (may be NULL) is the digest the bytes
 * must have; expect_size (ART_SIZE_UNKNOWN when not known) becomes the frame's
 * content size and is enforced. Returns NULL with err on I/O failure. */
struct art_writer *art_writer_new(struct art_store *s, const char *expect_hex, uint64_t expect_size,
                                  struct app_err *err);

/* Hash, compress and write n more bytes. Fails with APP_ECONFLICT when the bytes
 * exceed expect_size, APP_EINTERNAL on I/O errors. */
int art_writer_write(struct art_writer *w, const void *p, size_t n, struct app_err *err);

/* Take the stored form as it comes (another almanacd's zstd file, fetched by a
 * mirror) instead of compressing again at this store's level: call before any
 * write; art_writer_write_stored then writes the frame's bytes to the file as they
 * are, and art_writer_write only hashes and counts the identity bytes the caller
 * decoded from them. finish checks the frame header (window, checksum) and reads
 * the file back as for any writer, so a frame that does not decode to the digest is
 * never stored. */
void art_writer_keep_stored(struct art_writer *w);
int art_writer_write_stored(struct art_writer *w, const void *p, size_t n, struct app_err *err);

/* End the frame, fsync, and verify: the digest against expect_hex (APP_ECONFLICT
 * "... hashes to X, not Y"), the size against expect_size, and the file read back
 * against the digest. Nothing is visible yet; info is filled. */
int art_writer_finish(struct art_writer *w, struct art_info *info, struct app_err *err);

/* Publish: rename into place and fsync the directory, or drop the temp file when
 * the digest is already stored (info->existed = 1). Calls art_writer_finish when
 * that was not done. */
int art_writer_commit(struct art_writer *w, struct art_info *info, struct app_err *err);

/* Free the writer; an uncommitted temp file is removed (this is the abort). */
void art_writer_free(struct art_writer *w);

/* The stored zstd file of hex, opened read-only: *fd (caller closes) and its size.
 * APP_ENOTFOUND when not stored. */
int art_store_open_stored(const struct art_store *s, const char *hex, int *fd,
                          uint64_t *stored_size, struct app_err *err);

/* A stream of the identity bytes of hex from `offset` on (the bytes before it are
 * decompressed and dropped: Range requests). APP_ENOTFOUND when not stored. */
struct art_reader *art_reader_open(const struct art_store *s, const char *hex, uint64_t offset,
                                   struct app_err *err);

/* Up to n identity bytes into buf: the count, 0 at the end, -1 with err when the
 * file is unreadable or corrupt (bad frame, checksum, or truncated). */
ssize_t art_reader_read(struct art_reader *r, void *buf, size_t n, struct app_err *err);
void art_reader_free(struct art_reader *r);

/* Decompress the rest of the stream (dropping the bytes) to its end, which checks
 * every frame's content checksum. A Range response calls this before it hands out
 * its last bytes: zstd checks a checksum only at a frame's end, so without it a
 * damaged frame would serve a 206 of wrong bytes that looks complete. -1 with err
 * when the rest is corrupt. */
int art_reader_verify_rest(struct art_reader *r, struct app_err *err);

/* Remember that hex failed a check while being served (DATA/artifacts/suspect/hex),
 * for the operator and for fsck, which re-verifies it and clears the mark. */
void art_store_mark_suspect(const struct art_store *s, const char *hex);

/* Read the stored file of hex back in full: decompress, hash, and fill info.
 * APP_ENOTFOUND when not stored; APP_EINTERNAL "... is corrupt: ..." when it does
 * not decompress or hashes to another digest. */
int art_store_verify(const struct art_store *s, const char *hex, struct art_info *info,
                     struct app_err *err);

/* Compress n bytes in memory the way the store does (tests, small artifacts);
 * the caller frees *out. */
int art_zstd_compress(const void *p, size_t n, int level, void **out, size_t *out_len,
                      struct app_err *err);

/* fsck: walk the store and verify every file. */
enum art_fsck_kind {
    ART_FSCK_OK,         /* verified; info is filled */
    ART_FSCK_CORRUPT,    /* does not decompress to its digest */
    ART_FSCK_STRAY,      /* a file that is neither an artifact nor a temp file */
    ART_FSCK_TEMP,       /* a stale temp file, removed */
    ART_FSCK_QUARANTINE, /* a corrupt file moved to DATA/artifacts/quarantine/ */
    ART_FSCK_SUSPECT     /* marked while serving; re-verified in this walk, mark cleared */
};

struct art_fsck {
    /* Called for every file; name is the digest (or the file name for strays);
     * info is set for ART_FSCK_OK, detail says what is wrong otherwise. */
    void (*report)(void *ctx, enum art_fsck_kind kind, const char *name,
                   const struct art_info *info, const char *detail);
    void *ctx;
    int repair; /* move corrupt files to quarantine (so they can be re-uploaded) */
    /* Totals, filled by art_store_fsck; temps includes those art_store_open
     * removed. */
    unsigned long checked, corrupt, stray, temps, quarantined, suspects;
};

/* Verify every stored artifact. Returns 0 when the walk completed (problems are
 * counted in f, not failures), -1 with err when the store cannot be read. */
int art_store_fsck(const struct art_store *s, struct art_fsck *f, struct app_err *err);

#endif
