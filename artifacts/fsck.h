/* artifacts/fsck.h: check the artifact store against the artifacts table and return
 * what was found (`almanacd fsck`; server/fsck_cmd.c prints it).
 *
 * Nothing here prints or picks an exit code: the walk fills a struct art_fsck_report
 * with counts and one typed finding per problem, note or repair, in the order they
 * were found. Database failures while repairing are logged through app/log and
 * counted (db_errors); a report with db_errors is not a clean one.
 */
#ifndef ARTIFACTS_FSCK_H
#define ARTIFACTS_FSCK_H

#include <stddef.h>
#include <stdint.h>

#include "app/err.h"

enum art_fsck_finding_kind {
    /* The file does not decompress to its digest (detail: why). A problem. */
    ART_FINDING_CORRUPT,
    /* A file in the store that is neither an artifact nor a temp file (detail). */
    ART_FINDING_STRAY,
    /* A stale temp file, removed (detail). */
    ART_FINDING_TEMP_REMOVED,
    /* Marked damaged while serving; re-verified by this walk, the mark cleared. */
    ART_FINDING_SUSPECT,
    /* A stored file without a stored row (an interrupted upload). A note. */
    ART_FINDING_UNRECORDED,
    /* The row's size differs from the file's (db_size, file_size). A problem. */
    ART_FINDING_SIZE_MISMATCH,
    /* The row's stored size or digests differ from the file (a re-upload). A problem
     * unless repaired. */
    ART_FINDING_STALE,
    /* A row says stored and there is no file. A problem unless repaired. */
    ART_FINDING_MISSING,
    /* A row a restore without artifacts recorded as missing (detail: since when). A
     * note, never a failure. */
    ART_FINDING_NOT_RESTORED,
    /* --repair: the file's row was written (unrecorded or stale). */
    ART_FINDING_REPAIRED_RECORDED,
    /* --repair: a corrupt file was moved to quarantine (detail); its row is now not
     * stored. */
    ART_FINDING_REPAIRED_QUARANTINED,
    /* --repair: a missing file's row is now not stored. */
    ART_FINDING_REPAIRED_UNSTORED,
};

struct art_fsck_finding {
    enum art_fsck_finding_kind kind;
    char *name;                   /* the digest, or the file name of a stray or temp file */
    char *detail;                 /* what is wrong, or NULL */
    long long db_size;            /* ART_FINDING_SIZE_MISMATCH: the row's size */
    unsigned long long file_size; /* ART_FINDING_SIZE_MISMATCH: the file's size */
};

struct art_fsck_report {
    int repair; /* the walk repaired what it could */
    unsigned long checked, corrupt, quarantined, stray, temps, suspects;
    unsigned long missing, mismatched, unrecorded, not_restored, repaired;
    unsigned long db_errors; /* failed repairs or row reads (logged) */
    struct art_fsck_finding *findings;
    size_t n_findings;
};

/* Decompress and hash every stored artifact of data_dir and cross-check the
 * artifacts table: corrupt files, rows marked stored whose file is missing, sizes and
 * digests that disagree, files stored but not recorded (a crash between the rename
 * and the commit: a note, not a problem). Changes nothing except removing stale temp
 * files, unless repair: then corrupt files move to DATA/artifacts/quarantine/ and
 * their rows become not stored (upload the bytes again), missing files' rows become
 * not stored, unrecorded and stale files are recorded. The caller holds the data
 * directory's lock when repairing.
 *
 * Fills *rep (initialized here; release it with art_fsck_report_release even on
 * failure). Returns 0 when the walk completed, whatever it found; -1 with err when
 * the database or the store cannot be opened or read, and then *rep holds what was
 * found before the failure. */
int art_fsck_run(const char *data_dir, int repair, struct art_fsck_report *rep,
                 struct app_err *err);

enum art_fsck_verdict {
    ART_FSCK_CLEAN,    /* nothing wrong, or everything found was repaired */
    ART_FSCK_PROBLEMS, /* a corrupt, missing or mismatched artifact remains */
    ART_FSCK_FAILED,   /* repairs or row reads failed (db_errors) */
};

/* What a completed report says; the command layer turns it into an exit code. */
enum art_fsck_verdict art_fsck_verdict(const struct art_fsck_report *rep);

/* Free the findings; NULL does nothing. */
void art_fsck_report_release(struct art_fsck_report *rep);

#endif
