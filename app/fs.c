/* app/fs.c: `mkdir -p`. */
#include "app/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

int
fs_name_check(const char *s, struct app_err *err)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > APP_FILE_NAME_MAX)
        return app_fail(err, APP_EINVAL, "file name must be 1 to %d bytes", APP_FILE_NAME_MAX);
    /* '?' and '#' would end a URL's path where the name is put into one (issue 9). */
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strpbrk(s, "/\\?#"))
        return app_fail(err, APP_EINVAL,
                        "file name '%.100s' is not a plain file name (no '/', '\\', '?', '#', "
                        "'.' or '..')",
                        s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return app_fail(err, APP_EINVAL, "file name has a control character");
    return 0;
}
