/* app/fs.h: small file-system helpers shared by the seed, the cache and the layout. */
#ifndef APP_FS_H
#define APP_FS_H

/* Create path and its missing parents (mode 0755), like `mkdir -p`. Returns 0 when
 * the directory exists afterwards, -1 (errno set) otherwise. */
int fs_mkdir_p(const char *path);

#endif
