/* app/fs.h: small file-system helpers shared by the seed, the cache and the layout,
 * and the one check of a file name taken from input. */
#ifndef APP_FS_H
#define APP_FS_H

#include "app/err.h"

#define APP_FILE_NAME_MAX 255 /* NAME_MAX on the file systems we write to */

/* 0 when s is a plain file name: 1 to APP_FILE_NAME_MAX bytes, not "." or "..", no
 * '/', '\\', '?' or '#' (they would end a URL path), no control character (so it is
 * used, and prints on one line). Otherwise -1 with APP_EINVAL (err may be NULL). */
int fs_name_check(const char *s, struct app_err *err);

/* Create path and its missing parents (mode 0755), like `mkdir -p`. Returns 0 when
 * the directory exists afterwards, -1 (errno set) otherwise. */
int fs_mkdir_p(const char *path);

#endif
