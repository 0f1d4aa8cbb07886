/* app/date.h: strict calendar dates as day numbers.
 *
 * Dates are YYYY-MM-DD, a real Gregorian date, year 2000-2999 (DESIGN §3.1). Internally
 * a date is an int: days since 1970-01-01, so comparisons and "+5 years" are cheap.
 */
#ifndef APP_DATE_H
#define APP_DATE_H

#include <stddef.h>

#define APP_DATE_LEN 11 /* "YYYY-MM-DD" + NUL */
#define APP_TIME_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

/* Parse a strict date; returns 0 and sets *days, or -1 when s is not a real
 * YYYY-MM-DD date in 2000-2999 (no spaces, no other separators). */
int date_parse(const char *s, int *days);

/* Format days as YYYY-MM-DD into out (APP_DATE_LEN bytes). */
void date_format(int days, char out[APP_DATE_LEN]);

/* Days for a civil date (any year, proleptic Gregorian); no validation. */
int date_from_civil(int y, int m, int d);
void date_to_civil(int days, int *y, int *m, int *d);

/* The same month and day `years` later; Feb 29 becomes Feb 28 when needed. */
int date_add_years(int days, int years);

/* Today's UTC date, or ALMANAC_TODAY when that is set to a valid date. */
int date_today(void);

/* 1 when ALMANAC_TODAY is set and valid (the server logs it). */
int date_today_overridden(void);

/* The current UTC time as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (wall clock, not
 * ALMANAC_TODAY: timestamps record when something happened). */
void date_now_rfc3339(char out[APP_TIME_LEN]);

/* Format seconds since the epoch as RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ". */
void date_time_rfc3339(long long t, char out[APP_TIME_LEN]);

/* Parse exactly "YYYY-MM-DDTHH:MM:SSZ" (what date_time_rfc3339 writes) into seconds
 * since the epoch; -1 when s is anything else. */
int date_parse_rfc3339(const char *s, long long *t);

#endif
