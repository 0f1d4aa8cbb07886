/* artifacts/commands.c: `almanacd fsck` and `almanacd key rotate`. */
#include "artifacts/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/log.h"
#include "app/mem.h"
#include "artifacts/artdb.h"
#include "artifacts/keys.h"
#include "artifacts/store.h"
#include "artifacts/wasm.h"
#include "db/db.h"

#define FSCK_CHUNK (256 * 1024)

struct fsck_ctx {
    struct db *c;
    struct art_store *s;
    int repair;
    char **seen; /* digests that have a file (good or corrupt) */
    size_t n_seen;
    unsigned long unrecorded, mismatched, missing, repaired, db_errors;
};

static void
seen_add(struct fsck_ctx *x, const char *hex)
{
    x->seen = xrealloc(x->seen, (x->n_seen + 1) * sizeof(*x->seen));
    x->seen[x->n_seen++] = xstrdup(hex);
}

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

static void
record(struct fsck_ctx *x, const struct art_info *info)
{
    struct app_err err = {0};
    cJSON *facts = wasm_facts(x->s, info->sha256);

    if (artdb_record(x->c, info, NULL, NULL, facts, NULL, &err) == 0) {
        printf("  repaired: recorded %s\n", info->sha256);
        x->repaired++;
    } else {
        app_log(APP_LOG_ERROR, "fsck: cannot record %s: %s", info->sha256, err.msg);
        x->db_errors++;
    }
    cJSON_Delete(facts);
    app_err_release(&err);
}

static void
check_row(struct fsck_ctx *x, const struct art_info *info)
{
    struct app_err err = {0};
    struct art_row row;

    if (artdb_get(x->c, info->sha256, &row, &err) < 0 && err.code != APP_ENOTFOUND) {
        app_log(APP_LOG_ERROR, "fsck: %s", err.msg);
        x->db_errors++;
        app_err_release(&err);
        return;
    }
    if (err.code == APP_ENOTFOUND || !row.stored) {
        printf("unrecorded %s: stored file is not recorded in the database (an "
               "interrupted upload; upload again or run fsck --repair)\n",
               info->sha256);
        x->unrecorded++;
        if (x->repair)
            record(x, info);
        app_err_release(&err);
        art_row_release(&row);
        return;
    }
    if (row.size >= 0 && (uint64_t)row.size != info->size) {
        printf("mismatch %s: database says %lld bytes, the file holds %llu\n", info->sha256,
               (long long)row.size, (unsigned long long)info->size);
        x->mismatched++;
    } else if (row.stored_size != (int64_t)info->stored_size || !row.blake2b[0] ||
               strcmp(row.stored_sha256, info->stored_sha256) != 0) {
        /* The file was replaced (a corrupt copy re-uploaded): refresh the facts. */
        printf("stale %s: recorded stored size or digests differ from the file\n", info->sha256);
        x->mismatched++;
        if (x->repair) {
            record(x, info);
            x->mismatched--;
        }
    }
    art_row_release(&row);
}

static void
on_report(void *ctx, enum art_fsck_kind kind, const char *name, const struct art_info *info,
          const char *detail)
{
    struct fsck_ctx *x = ctx;
    struct app_err err = {0};

    switch (kind) {
    case ART_FSCK_OK:
        seen_add(x, name);
        check_row(x, info);
        break;
    case ART_FSCK_CORRUPT:
        seen_add(x, name);
        printf("corrupt %s: %s\n", name, detail);
        break;
    case ART_FSCK_QUARANTINE:
        printf("  repaired: %s %s; its row is now not stored\n", name, detail);
        if (artdb_mark_unstored(x->c, name, &err) < 0) {
            app_log(APP_LOG_ERROR, "fsck: %s", err.msg);
            x->db_errors++;
        } else {
            x->repaired++;
        }
        break;
    case ART_FSCK_STRAY: printf("stray %s: %s\n", name, detail); break;
    case ART_FSCK_TEMP: printf("removed %s: %s\n", name, detail); break;
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
    m->list = xrealloc(m->list, (m->n + 1) * sizeof(*m->list));
    m->list[m->n++] = xstrdup(hex);
    return 0;
}

/* Rows a restore without artifacts recorded as missing: listed, never a failure
 * (their bytes were left out of the backup on purpose). */
static int
report_restored_missing(struct fsck_ctx *x, struct app_err *err)
{
    sqlite3_stmt *st = NULL;
    unsigned long n = 0;
    int rc;

    if (db_prepare(x->c, &st,
                   "SELECT sha256, missing_since FROM artifacts WHERE stored = 0 AND "
                   "missing_since IS NOT NULL ORDER BY sha256",
                   err) < 0)
        return -1;
    while ((rc = db_next(st, err)) > 0) {
        printf("not restored %s: left out of the backup (restored %s); upload its bytes again\n",
               db_col_text(st, 0), db_col_text(st, 1));
        n++;
    }
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    if (n)
        printf("fsck: %lu artifacts recorded as not restored (not a failure)\n", n);
    return 0;
}

static int
fsck_run(const char *data_dir, int repair)
{
    struct app_err err = {0};
    struct fsck_ctx x = {0};
    struct art_fsck f = {0};
    struct missing m = {0};
    int ret = 2;

    x.repair = repair;
    x.c = db_open(data_dir, &err);
    if (!x.c)
        goto out;
    x.s = art_store_open(data_dir, 0, &err);
    if (!x.s)
        goto out;
    f.report = on_report;
    f.ctx = &x;
    f.repair = repair;
    if (art_store_fsck(x.s, &f, &err) < 0)
        goto out;
    if (x.n_seen)
        qsort(x.seen, x.n_seen, sizeof(*x.seen), str_cmp);
    m.x = &x;
    if (artdb_each_stored(x.c, on_stored_row, &m, &err) < 0)
        goto out;
    for (size_t i = 0; i < m.n; i++) {
        printf("missing %s: the database says stored, there is no file\n", m.list[i]);
        x.missing++;
        if (repair) {
            struct app_err e2 = {0};

            if (artdb_mark_unstored(x.c, m.list[i], &e2) == 0) {
                printf("  repaired: %s is now not stored\n", m.list[i]);
                x.repaired++;
            } else {
                x.db_errors++;
            }
            app_err_release(&e2);
        }
    }
    if (report_restored_missing(&x, &err) < 0)
        goto out;
    printf("fsck: %lu artifacts checked: %lu corrupt, %lu missing, %lu mismatched, "
           "%lu unrecorded, %lu stray, %lu temp files removed, %lu repaired\n",
           f.checked, f.corrupt, x.missing, x.mismatched, x.unrecorded, f.stray, f.temps,
           x.repaired);
    if (x.db_errors)
        goto out;
    if (repair)
        ret = f.corrupt == f.quarantined && x.mismatched == 0 ? 0 : 1;
    else
        ret = f.corrupt || x.missing || x.mismatched ? 1 : 0;
out:
    if (err.code != APP_OK)
        app_log(APP_LOG_ERROR, "fsck: %s", err.msg);
    for (size_t i = 0; i < m.n; i++)
        free(m.list[i]);
    free(m.list);
    for (size_t i = 0; i < x.n_seen; i++)
        free(x.seen[i]);
    free(x.seen);
    art_store_free(x.s);
    db_close(x.c);
    app_err_release(&err);
    return ret;
}

int
art_cmd_fsck(const char *data_dir)
{
    return fsck_run(data_dir, 0);
}

int
art_cmd_fsck_repair(const char *data_dir)
{
    return fsck_run(data_dir, 1);
}

int
art_cmd_key_rotate(const char *data_dir)
{
    struct app_err err = {0};
    struct art_keys *k = art_keys_open(data_dir, &err);
    char old[ART_KEY_ID_LEN], id[ART_KEY_ID_LEN];
    int ret = 1;

    if (!k || art_keys_current(k, old, &err) < 0 || art_keys_rotate(k, id, &err) < 0) {
        app_log(APP_LOG_ERROR, "key rotate: %s", err.msg);
        goto out;
    }
    printf("%s\n", id);
    app_log(APP_LOG_INFO, "new signing key %s; key %s is retired and keeps verifying", id, old);
    ret = 0;
out:
    art_keys_free(k);
    app_err_release(&err);
    return ret;
}
