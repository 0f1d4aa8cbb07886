/* app/date.c: civil-date arithmetic (Howard Hinnant's days_from_civil algorithm). */
#include "app/date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
date_from_civil(int y, int m, int d)
{
    int era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
date_to_civil(int z, int *y, int *m, int *d)
{
    int era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

static int
digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int
date_parse(const char *s, int *days)
{
    int y, m, d;

    if (!s)
        return -1;
    for (int i = 0; i < 10; i++)
        if (!s[i])
            return -1;
    if (s[10] != '\0' || s[4] != '-' || s[7] != '-')
        return -1;
    if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &m) < 0 || digits(s + 8, 2, &d) < 0)
        return -1;
    if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *days = date_from_civil(y, m, d);
    return 0;
}

void
date_format(int days, char out[APP_DATE_LEN])
{
    int y, m, d;

    date_to_civil(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 0;
    snprintf(out, APP_DATE_LEN, "%04d-%02d-%02d", y, (m % 13 + 13) % 13, (d % 32 + 32) % 32);
}

int
date_add_years(int days, int years)
{
    int y, m, d;

    date_to_civil(days, &y, &m, &d);
    y += years;
    if (d > days_in_month(y, m))
        d = days_in_month(y, m);
    return date_from_civil(y, m, d);
}

int
date_today_overridden(void)
{
    int days;
    const char *e = getenv("ALMANAC_TODAY");

    return e && date_parse(e, &days) == 0;
}

int
date_today(void)
{
    const char *e = getenv("ALMANAC_TODAY");
    struct tm tm;
    time_t now;
    int days;

    if (e && date_parse(e, &days) == 0)
        return days;
    now = time(NULL);
    gmtime_r(&now, &tm);
    return date_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

void
date_now_rfc3339(char out[APP_TIME_LEN])
{
    struct tm tm;
    time_t t = time(NULL);

    gmtime_r(&t, &tm);
    strftime(out, APP_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
date_time_rfc3339(long long t, char out[APP_TIME_LEN])
{
    struct tm tm;
    time_t tt = (time_t)t;

    gmtime_r(&tt, &tm);
    strftime(out, APP_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
date_parse_rfc3339(const char *s, long long *t)
{
    int days, h, m, sec;
    char date[APP_DATE_LEN];

    /* Fixed width: digits exactly where the format has them, nothing after the Z. */
    if (!s || strlen(s) != APP_TIME_LEN - 1 || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != 'Z')
        return -1;
    for (int i = 11; i < 19; i++)
        if (i != 13 && i != 16 && (s[i] < '0' || s[i] > '9'))
            return -1;
    memcpy(date, s, APP_DATE_LEN - 1);
    date[APP_DATE_LEN - 1] = '\0';
    if (date_parse(date, &days) < 0)
        return -1;
    h = (s[11] - '0') * 10 + (s[12] - '0');
    m = (s[14] - '0') * 10 + (s[15] - '0');
    sec = (s[17] - '0') * 10 + (s[18] - '0');
    if (h > 23 || m > 59 || sec > 59)
        return -1;
    *t = (long long)days * 86400 + h * 3600 + m * 60 + sec;
    return 0;
}
