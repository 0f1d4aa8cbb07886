/* artifacts/commands.h: the artifact commands of almanacd (wired in server/main.c).
 *
 * Each returns a process exit code and prints its report on stdout, diagnostics on
 * stderr. */
#ifndef ARTIFACTS_COMMANDS_H
#define ARTIFACTS_COMMANDS_H

/* `almanacd fsck --data DIR`: decompress and hash every stored artifact, and
 * cross-check the artifacts table: files that are corrupt, rows marked stored whose
 * file is missing, sizes that disagree. Changes nothing except removing stale temp
 * files. Files stored but not yet recorded (a crash between rename and the database
 * commit) are reported as a note, not a problem. Exit 0 when nothing is wrong, 1
 * when something is, 2 when the check could not run. */
int art_cmd_fsck(const char *data_dir);

/* `almanacd fsck --repair --data DIR`: the same check, then repairs what can be:
 * corrupt files move to DATA/artifacts/quarantine/ and their rows become
 * not-stored (upload the bytes again), missing files' rows become not-stored,
 * unrecorded files are recorded. Exit 0 when everything found was repaired. */
int art_cmd_fsck_repair(const char *data_dir);

/* `almanacd key rotate --data DIR`: make a new signing key, retire the current
 * one (its signatures keep verifying). Prints the new key id on stdout. A running
 * server switches to the new key on its next signature. Exit 0, or 1 on failure. */
int art_cmd_key_rotate(const char *data_dir);

#endif
