/* server/artifacts_cmd.c: `almanacd fsck` and `almanacd key rotate`: the artifacts
 * layer does the work, this file prints what it returns. The text of the fsck lines
 * is what operators and the tests read: change it only together with them. */
#include "server/artifacts_cmd.h"

#include <stdio.h>

#include "app/err.h"
#include "app/log.h"
#include "artifacts/fsck.h"
#include "artifacts/keys.h"

static void
print_finding(const struct art_fsck_finding *f)
{
    const char *n = f->name, *d = f->detail ? f->detail : "";

    switch (f->kind) {
    case ART_FINDING_CORRUPT: printf("corrupt %s: %s\n", n, d); break;
    case ART_FINDING_STRAY: printf("stray %s: %s\n", n, d); break;
    case ART_FINDING_TEMP_REMOVED: printf("removed %s: %s\n", n, d); break;
    case ART_FINDING_SUSPECT: printf("suspect %s: %s\n", n, d); break;
    case ART_FINDING_UNRECORDED:
        printf("unrecorded %s: stored file is not recorded in the database (an "
               "interrupted upload; upload again or run fsck --repair)\n",
               n);
        break;
    case ART_FINDING_SIZE_MISMATCH:
        printf("mismatch %s: database says %lld bytes, the file holds %llu\n", n, f->db_size,
               f->file_size);
        break;
    case ART_FINDING_STALE:
        printf("stale %s: recorded stored size or digests differ from the file\n", n);
        break;
    case ART_FINDING_MISSING:
        printf("missing %s: the database says stored, there is no file\n", n);
        break;
    case ART_FINDING_NOT_RESTORED:
        printf("not restored %s: left out of the backup (restored %s); upload its bytes again\n", n,
               d);
        break;
    case ART_FINDING_REPAIRED_RECORDED: printf("  repaired: recorded %s\n", n); break;
    case ART_FINDING_REPAIRED_QUARANTINED:
        printf("  repaired: %s %s; its row is now not stored\n", n, d);
        break;
    case ART_FINDING_REPAIRED_UNSTORED: printf("  repaired: %s is now not stored\n", n); break;
    }
}

int
srv_cmd_fsck(const char *data_dir, int repair)
{
    struct app_err err = {0};
    struct art_fsck_report rep;
    int ret = 2;
    int rc = art_fsck_run(data_dir, repair, &rep, &err);

    for (size_t i = 0; i < rep.n_findings; i++)
        print_finding(&rep.findings[i]);
    if (rc < 0) {
        app_log(APP_LOG_ERROR, "fsck: %s", err.msg);
        goto out;
    }
    if (rep.not_restored)
        printf("fsck: %lu artifacts recorded as not restored (not a failure)\n", rep.not_restored);
    printf("fsck: %lu artifacts checked: %lu corrupt, %lu missing, %lu mismatched, "
           "%lu unrecorded, %lu stray, %lu temp files removed, %lu repaired\n",
           rep.checked, rep.corrupt, rep.missing, rep.mismatched, rep.unrecorded, rep.stray,
           rep.temps, rep.repaired);
    switch (art_fsck_verdict(&rep)) {
    case ART_FSCK_CLEAN: ret = 0; break;
    case ART_FSCK_PROBLEMS: ret = 1; break;
    case ART_FSCK_FAILED: ret = 2; break;
    }
out:
    art_fsck_report_release(&rep);
    app_err_release(&err);
    return ret;
}

int
srv_cmd_key_rotate(const char *data_dir)
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
