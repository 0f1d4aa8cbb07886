/* artifacts/fsck.c: `almanacd fsck` as a report: walk the store (art_store_fsck),
 * cross-check the artifacts table, repair on request. Prints nothing. */
#include "artifacts/fsck.h"

#include <stdlib.h>
#include <string.h>

#include "app/log.h"
#include "app/mem.h"
#include "app/strv.h"
#include "artifacts/artdb.h"
#include "artifacts/store.h"
#include "artifacts/wasm.h"
#include "db/db.h"

/* Bytes read at a time when sniffing a file for its Wasm facts: large enough that
 * the module header and most sections come in one read, small enough for the stack
 * of no one (it is heap-allocated once per file). */
#define FSCK_CHUNK (256 * 1024)

struct fsck_ctx {
    struct db *c;
    struct art_store *s;
    struct art_fsck_report *rep;
    char **seen; /* digests that have a file (good or corrupt) */
    size_t n_seen;
};

static void
add_finding(struct art_fsck_report *rep, enum art_fsck_finding_kind kind, const char *name,
            const char *detail)
{
    struct art_fsck_finding *f;

    rep->findings = xrealloc(rep->findings, (rep->n_findings + 1) * sizeof(*rep->findings));
    f = &rep->findings[rep->n_findings++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->name = xstrdup(name);
    f->detail = detail ? xstrdup(detail) : NULL;
}

/* A repair's database step failed: logged (the report has no place for SQL detail)
 * and counted, which makes the report unclean. */
static void
db_error(struct fsck_ctx *x, const struct app_err *err)
{
    app_log(APP_LOG_ERROR, "fsck: %s", err->msg);
    x->rep->db_errors++;
}

/* strcmp, as strv_sort orders: for bsearch over the sorted seen list. */
static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The Wasm facts of a stored artifact, or NULL when it is not a module. */
static cJSON *
wasm_facts(struct art_store *s, const char *hex)
{
    struct app_err err = {0};
    struct art_reader *rd = art_reader_open(s, hex, 0, &err);
    struct art_wasm *w = NULL;
    char *buf = xmalloc(FSCK_CHUNK);
    cJSON *facts = NULL;
    ssize_t n;

    if (!rd)
        goto out;
    n = art_reader_read(rd, buf, FSCK_CHUNK, &err);
    if (n <= 0 || !art_wasm_is_module(buf, (size_t)n))
        goto out;
    w = art_wasm_new();
    do {
        if (art_wasm_feed(w, buf, (size_t)n, &err) < 0)
            goto out;
    } while ((n = art_reader_read(rd, buf, FSCK_CHUNK, &err)) > 0);
    if (n == 0)
        art_wasm_finish(w, &facts, &err);
out:
    art_wasm_free(w);
    art_reader_free(rd);
    free(buf);
    app_err_release(&err);
    return facts;
}

/* Write the row of a verified file; 0 when recorded. */
static int
record(struct fsck_ctx *x, const struct art_info *info)
{
    struct app_err err = {0};
    cJSON *facts = wasm_facts(x->s, info->sha256);
    int ret = -1;

    if (artdb_record(x->c, info, NULL, NULL, facts, NULL, &err) == 0) {
        add_finding(x->rep, ART_FINDING_REPAIRED_RECORDED, info->sha256, NULL);
        x->rep->repaired++;
        ret = 0;
    } else {
        app_log(APP_LOG_ERROR, "fsck: cannot record %s: %s", info->sha256, err.msg);
        x->rep->db_errors++;
    }
    cJSON_Delete(facts);
    app_err_release(&err);
    return ret;
}

static void
check_row(struct fsck_ctx *x, const struct art_info *info)
{
    struct app_err err = {0};
    struct art_row row;

    if (artdb_get(x->c, info->sha256, &row, &err) < 0 && err.code != APP_ENOTFOUND) {
        db_error(x, &err);
        app_err_release(&err);
        return;
    }
    if (err.code == APP_ENOTFOUND || !row.stored) {
        add_finding(x->rep, ART_FINDING_UNRECORDED, info->sha256, NULL);
        x->rep->unrecorded++;
        if (x->rep->repair)
            record(x, info);
        app_err_release(&err);
        art_row_release(&row);
        return;
    }
    if (row.size >= 0 && (uint64_t)row.size != info->size) {
        struct art_fsck_report *rep = x->rep;

        add_finding(rep, ART_FINDING_SIZE_MISMATCH, info->sha256, NULL);
        rep->findings[rep->n_findings - 1].db_size = (long long)row.size;
        rep->findings[rep->n_findings - 1].file_size = (unsigned long long)info->size;
        rep->mismatched++;
    } else if (row.stored_size != (int64_t)info->stored_size || !row.blake2b[0] ||
               strcmp(row.stored_sha256, info->stored_sha256) != 0) {
        /* The file was replaced (a corrupt copy re-uploaded): refresh the facts. */
        add_finding(x->rep, ART_FINDING_STALE, info->sha256, NULL);
        x->rep->mismatched++;
        if (x->rep->repair && record(x, info) == 0)
            x->rep->mismatched--;
    }
    art_row_release(&row);
}

static void
on_walk(void *ctx, enum art_fsck_kind kind, const char *name, const struct art_info *info,
        const char *detail)
{
    struct fsck_ctx *x = ctx;
    struct app_err err = {0};

    switch (kind) {
    case ART_FSCK_OK:
        strv_push(&x->seen, &x->n_seen, name);
        check_row(x, info);
        break;
    case ART_FSCK_CORRUPT:
        strv_push(&x->seen, &x->n_seen, name);
        add_finding(x->rep, ART_FINDING_CORRUPT, name, detail);
        break;
    case ART_FSCK_QUARANTINE:
        add_finding(x->rep, ART_FINDING_REPAIRED_QUARANTINED, name, detail);
        if (artdb_mark_unstored(x->c, name, &err) < 0)
            db_error(x, &err);
        else
            x->rep->repaired++;
        break;
    case ART_FSCK_STRAY: add_finding(x->rep, ART_FINDING_STRAY, name, detail); break;
    case ART_FSCK_TEMP: add_finding(x->rep, ART_FINDING_TEMP_REMOVED, name, detail); break;
    case ART_FSCK_SUSPECT: add_finding(x->rep, ART_FINDING_SUSPECT, name, detail); break;
    }
    app_err_release(&err);
}

struct missing {
    struct fsck_ctx *x;
    char **list;
    size_t n;
};

static int
on_stored_row(void *ctx, const char *hex)
{
    struct missing *m = ctx;
    const char *key = hex;

    if (m->x->n_seen && bsearch(&key, m->x->seen, m->x->n_seen, sizeof(*m->x->seen), str_cmp))
        return 0;
    strv_push(&m->list, &m->n, hex);
    return 0;
}

/* Rows marked stored whose file the walk did not see. */
static int
check_missing(struct fsck_ctx *x, struct app_err *err)
{
    struct missing m = {.x = x};
    int ret = -1;

    if (x->n_seen)
        strv_sort(x->seen, x->n_seen);
    if (artdb_each_stored(x->c, on_stored_row, &m, err) < 0)
        goto out;
    for (size_t i = 0; i < m.n; i++) {
        struct app_err e2 = {0};

        add_finding(x->rep, ART_FINDING_MISSING, m.list[i], NULL);
        x->rep->missing++;
        if (!x->rep->repair)
            continue;
        if (artdb_mark_unstored(x->c, m.list[i], &e2) == 0) {
            add_finding(x->rep, ART_FINDING_REPAIRED_UNSTORED, m.list[i], NULL);
            x->rep->repaired++;
        } else {
            db_error(x, &e2);
        }
        app_err_release(&e2);
    }
    ret = 0;
out:
    strv_free(m.list, m.n);
    return ret;
}

/* Rows a restore without artifacts recorded as missing: listed, never a failure
 * (their bytes were left out of the backup on purpose). */
static int
check_not_restored(struct fsck_ctx *x, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (db_prepare(x->c, &st,
                   "SELECT sha256, missing_since FROM artifacts WHERE stored = 0 AND "
                   "missing_since IS NOT NULL ORDER BY sha256",
                   err) < 0)
        return -1;
    while ((rc = db_next(st, err)) > 0) {
        add_finding(x->rep, ART_FINDING_NOT_RESTORED, db_col_text(st, 0), db_col_text(st, 1));
        x->rep->not_restored++;
    }
    sqlite3_finalize(st);
    return rc < 0 ? -1 : 0;
}

int
art_fsck_run(const char *data_dir, int repair, struct art_fsck_report *rep, struct app_err *err)
{
    struct fsck_ctx x = {0};
    struct art_fsck f = {0};
    int ret = -1;

    memset(rep, 0, sizeof(*rep));
    rep->repair = repair;
    x.rep = rep;
    x.c = db_open(data_dir, err);
    if (!x.c)
        goto out;
    x.s = art_store_open(data_dir, 0, err);
    if (!x.s)
        goto out;
    f.report = on_walk;
    f.ctx = &x;
    f.repair = repair;
    if (art_store_fsck(x.s, &f, err) < 0)
        goto out;
    rep->checked = f.checked;
    rep->corrupt = f.corrupt;
    rep->quarantined = f.quarantined;
    rep->stray = f.stray;
    rep->temps = f.temps;
    rep->suspects = f.suspects;
    if (check_missing(&x, err) < 0 || check_not_restored(&x, err) < 0)
        goto out;
    ret = 0;
out:
    strv_free(x.seen, x.n_seen);
    art_store_free(x.s);
    db_close(x.c);
    return ret;
}

enum art_fsck_verdict
art_fsck_verdict(const struct art_fsck_report *rep)
{
    int clean;

    if (rep->db_errors)
        return ART_FSCK_FAILED;
    /* Repaired: a quarantined corrupt file and a missing file's row are fixed; a
     * size mismatch never is (which of the two is right is not known). */
    if (rep->repair)
        clean = rep->corrupt == rep->quarantined && rep->mismatched == 0;
    else
        clean = !rep->corrupt && !rep->missing && !rep->mismatched;
    return clean ? ART_FSCK_CLEAN : ART_FSCK_PROBLEMS;
}

void
art_fsck_report_release(struct art_fsck_report *rep)
{
    if (!rep)
        return;
    for (size_t i = 0; i < rep->n_findings; i++) {
        free(rep->findings[i].name);
        free(rep->findings[i].detail);
    }
    free(rep->findings);
    rep->findings = NULL;
    rep->n_findings = 0;
}
