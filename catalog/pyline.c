/* catalog/pyline.c: Python lines, parsed in one place (see catalog/pyline.h). */
#include "catalog/pyline.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

/* One decimal part: at least one digit; the value stops growing at INT_MAX / 10 so a
 * long run of digits cannot overflow (the length limit keeps it small anyway). */
static const char *
part(const char *p, int *out)
{
    int v = 0;
    const char *start = p;

    while (*p >= '0' && *p <= '9') {
        if (v < INT_MAX / 10)
            v = v * 10 + (*p - '0');
        p++;
    }
    *out = v;
    return p == start ? NULL : p;
}

int
cat_pyline_parse(const char *s, int *major, int *minor)
{
    const char *p;
    int a, b;

    if (!s || !*s || strlen(s) > CAT_PYLINE_MAX)
        return -1;
    p = part(s, &a);
    if (!p || *p != '.')
        return -1;
    p = part(p + 1, &b);
    if (!p || *p)
        return -1;
    if (major)
        *major = a;
    if (minor)
        *minor = b;
    return 0;
}

int
cat_pyline_valid(const char *s)
{
    return cat_pyline_parse(s, NULL, NULL) == 0;
}

int
cat_pyline_rank(const char *s)
{
    int a, b;

    if (cat_pyline_parse(s, &a, &b) < 0 || a > CAT_PYLINE_PART_MAX || b > CAT_PYLINE_PART_MAX)
        return -1;
    return a * (CAT_PYLINE_PART_MAX + 1) + b;
}

char *
cat_pyline_of(const char *v)
{
    const char *first = v ? strchr(v, '.') : NULL;
    const char *second;
    char *line;

    if (!first)
        return NULL;
    second = strchr(first + 1, '.');
    line = second ? xstrndup(v, (size_t)(second - v)) : xstrdup(v);
    if (!cat_pyline_valid(line)) {
        free(line);
        return NULL;
    }
    return line;
}

const char *
cat_support_status(int eos, int as_of)
{
    if (as_of >= eos)
        return "ended";
    if (as_of >= eos - CAT_WARNING_DAYS)
        return "ending";
    return "supported";
}
