/* server/artifacts_cmd.h: the artifact commands of almanacd, `fsck` and `key rotate`
 * (wired in server/main.c): run the artifacts layer and print its reports.
 *
 * Each returns the process exit code; reports go to stdout, diagnostics to the log
 * (stderr). */
#ifndef SERVER_ARTIFACTS_CMD_H
#define SERVER_ARTIFACTS_CMD_H

/* `almanacd fsck [--repair] --data DIR`: print one line per finding of
 * art_fsck_run and a closing "fsck: N artifacts checked: ..." line. Exit 0 when
 * nothing is wrong (or, with repair, everything found was repaired), 1 when something
 * is, 2 when the check could not run or a repair failed. The caller holds the data
 * directory's lock when repairing. */
int srv_cmd_fsck(const char *data_dir, int repair);

/* `almanacd key rotate --data DIR`: make a new signing key, retire the current one
 * (its signatures keep verifying). Prints the new key id on stdout. A running server
 * switches to the new key on its next signature. Exit 0, or 1 on failure. */
int srv_cmd_key_rotate(const char *data_dir);

#endif
