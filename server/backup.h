/* server/backup.h: `almanacd backup` and `almanacd restore`.
 *
 * A backup is one POSIX tar (ustar) file: almanac-backup.json (format, version,
 * created_at, artifacts: true/false), almanac.db (an SQLite online backup, consistent
 * while a server writes), keys/ (the signing keys: without them a restored server
 * would sign with a new key, and every published signature would stop verifying)
 * and, unless --no-artifacts, artifacts/XX/<sha256>.zst. The archive holds secrets
 * (the signing keys): store it like the keys themselves.
 */
#ifndef SERVER_BACKUP_H
#define SERVER_BACKUP_H

/* Write the backup of data_dir to path (refused when path exists). Exit status. */
int srv_backup(const char *data_dir, const char *path, int no_artifacts);

/* Restore path into data_dir, which must not exist or be empty. A backup made
 * without artifacts leaves their rows recorded as missing. Exit status. */
int srv_restore(const char *path, const char *data_dir);

#endif
