/* app/fs.c: `mkdir -p`. */
#include "app/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "app/mem.h"

int
fs_mkdir_p(const char *path)
{
    char *p = xstrdup(path);
    int ret = 0;

    for (char *q = p + 1; *q && ret == 0; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            ret = -1;
        *q = '/';
    }
    if (ret == 0 && mkdir(p, 0755) < 0 && errno != EEXIST)
        ret = -1;
    free(p);
    return ret;
}
