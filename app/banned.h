/* app/banned.h: libc functions almanac does not use, turned into compile errors
 * (after git's banned.h). Every translation unit gets this header first: the
 * Makefile passes `-include app/banned.h`.
 *
 * Why each is banned, and what to use:
 *   sprintf, vsprintf     no bound: snprintf/vsnprintf (check truncation), xasprintf
 *   strcpy, strcat        no bound: memcpy with a known length, xstrdup, struct buf
 *   strncpy, strncat      truncate silently or leave no NUL: same as above
 *   atoi, atol, atoll     no error report: strtol/strtoll with an end check
 *   gmtime, localtime,    shared static result, not thread-safe: gmtime_r,
 *   ctime, asctime        localtime_r, strftime
 *   strtok                hidden static state: strtok_r, strcspn/strspn
 *   gets                  unbounded: fgets
 *   tmpnam, mktemp        race: mkstemp, mkdtemp
 *
 * The system headers that declare them are included first, so a later include of
 * them (guarded) does not meet the macros.
 */
#ifndef APP_BANNED_H
#define APP_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_banned_see_app_banned_h

#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef atoll
#define atoll(x) BANNED(atoll)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#undef tmpnam
#define tmpnam(x) BANNED(tmpnam)
#undef mktemp
#define mktemp(x) BANNED(mktemp)

#endif
