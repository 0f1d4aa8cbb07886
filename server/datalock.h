/* server/datalock.h: one writer process per data directory.
 *
 * serve, seed, fsck --repair and restore (into the new directory) take an exclusive
 * flock(2) on DATA/lock and write their pid into it; a second one is refused with
 * the holder's pid. The kernel drops the lock when the process dies, so a crash
 * never leaves a stale lock behind. Commands that only use SQLite's own locking
 * (init, token, fsck without --repair, key, backup, export-static) do not take it.
 */
#ifndef SERVER_DATALOCK_H
#define SERVER_DATALOCK_H

#include "app/err.h"

struct data_lock;

/* Take the lock on data_dir/lock (created if needed). NULL with err filled ("data
 * directory 'X' is in use by almanacd pid N") when another process holds it. */
struct data_lock *data_lock_take(const char *data_dir, struct app_err *err);

/* Release and free; NULL does nothing. */
void data_lock_release(struct data_lock *l);

#endif
